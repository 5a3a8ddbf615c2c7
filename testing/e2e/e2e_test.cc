// Proves the issue-5 scenario with real cloisterd processes on 127.0.0.1: genesis plus two
// attested joins; many sealed events committed and readable on every node; a join with a
// disallowed measurement and one with a replayed challenge are refused and change nothing;
// kill -9 of the leader yields a new leader and loses no committed event; the restarted node
// joins as a new member and the dead one is retired; private canary strings appear in none of
// the bytes the host sees (ledger and snapshot files, logs, metrics, and the node-to-node and
// client traffic captured by recording relays in front of every node) while a public control
// string does; every node's ledger directory verifies, a joiner's from its snapshot.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hpke.h"
#include "cloister/ledger/directory.h"
#include "cloister/ledger/receipt.h"
#include "cloister/node/https_client.h"
#include "cloister/node/posix_storage.h"
#include "cloister/node/sealed_event.h"
#include "cloister/node/service_state.h"
#include "cloister/node/tls.h"
#include "cloister/tee/policy.h"
#include "cloister/tee/virtual_tee.h"
#include "gov_util.h"
#include "process.h"
#include "relay.h"

namespace cloister::e2e {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using node::HostPort;
using node::HttpsResult;

constexpr char kCanary[] = "CANARY-7f3a9c-private";
constexpr char kPublicControl[] = "PUBLIC-CONTROL-51e2";
const std::string kGoodMeasurement(96, 'a');
const std::string kBadMeasurement(96, 'b');

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

struct NodeProcess {
  std::string name;
  Process process;
  uint64_t id = 0;
  HostPort client;
};

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cloister_e2e_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    tee::Policy policy = tee::Policy::Development();
    for (tee::PlatformRule& rule : policy.platforms) {
      if (rule.platform == tee::Platform::kVirtual)
        rule.measurements = {*FromHex(kGoodMeasurement)};
    }
    std::ofstream(dir_ / "policy.json") << policy.ToJson();
    crypto::PrivateKey member = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
    crypto::Certificate certificate =
        *node::SelfSignedIdentity(member, "member0", Now() - 60, 86400);
    std::ofstream(dir_ / "member0.pem") << certificate.Pem();
    member_.emplace(TestMember{std::move(member), std::move(certificate)});
  }

  // The member opens the network by vote (events are refused until then).
  Status OpenNetwork(const HostPort& via) {
    GovCall call = [this](const HostPort& server, const std::string& method,
                          const std::string& target,
                          const std::string& body) { return Call(server, method, target, body); };
    return PassProposal(call, via, *service_certificate_, {*member_}, "open_network");
  }

  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Writes <name>.toml; for a join, `target` is a node's client address. With `relayed`, the
  // node listens on free ports and advertises recording relays in front of them, so that every
  // byte peers and clients exchange with it is captured (the host's view of the network).
  Status WriteConfig(const std::string& name, const std::optional<HostPort>& target, bool relayed) {
    std::ofstream config(dir_ / (name + ".toml"));
    config << "[node]\nname = \"" << name << "\"\ndata_dir = \"" << name
           << "\"\nplatform = \"virtual\"\nretire_unreachable_after_s = 3\n";
    if (relayed) {
      ASSIGN_OR_RETURN(const uint16_t node_port, FreeLocalPort());
      ASSIGN_OR_RETURN(const uint16_t client_port, FreeLocalPort());
      ASSIGN_OR_RETURN(std::unique_ptr<Relay> node_relay, Relay::Start(node_port, {"CANARY"}));
      ASSIGN_OR_RETURN(std::unique_ptr<Relay> client_relay, Relay::Start(client_port, {"CANARY"}));
      config << "node_listen = \"127.0.0.1:" << node_port
             << "\"\nclient_listen = \"127.0.0.1:" << client_port
             << "\"\nnode_advertise = \"127.0.0.1:" << node_relay->port()
             << "\"\nclient_advertise = \"127.0.0.1:" << client_relay->port() << "\"\n";
      node_relays_.push_back(std::move(node_relay));
      client_relays_.push_back(std::move(client_relay));
    }
    config << "[raft]\ntick_ms = 20\nelection_ticks = 10\nheartbeat_ticks = 2\n"
           << "[ledger]\nfsync = false\nsignature_interval_ms = 100\n"
           << "snapshot_interval_entries = 300\n";
    if (target) {
      config << "[join]\ntarget = \"" << target->ToString()
             << "\"\nservice_certificate = \"service.pem\"\n";
    } else {
      config << "[genesis]\nmember_certificates = [\"member0.pem\"]\npolicy = \"policy.json\"\n"
             << "service_certificate_out = \"service.pem\"\n";
    }
    return OkStatus();
  }

  // Writes <name>.toml (relayed) and starts cloisterd.
  Result<NodeProcess*> Launch(const std::string& name, const std::optional<HostPort>& target,
                              const std::string& measurement) {
    RETURN_IF_ERROR(WriteConfig(name, target, /*relayed=*/true));
    const fs::path ready = dir_ / (name + ".ready.json");
    ASSIGN_OR_RETURN(Process process,
                     Process::Spawn({CLOISTERD_PATH, target ? "join" : "start", "--config",
                                     (dir_ / (name + ".toml")).string(), "--ready-file",
                                     ready.string(), "--virtual-measurement", measurement},
                                    (dir_ / (name + ".log")).string()));
    auto node = std::make_unique<NodeProcess>();
    node->name = name;
    node->process = std::move(process);
    if (!Eventually(
            [&] {
              return fs::exists(ready) || !node->process.running() ||
                     node->process.Wait(std::chrono::milliseconds(0)).has_value();
            },
            std::chrono::seconds(60)) ||
        !fs::exists(ready)) {
      return UnavailableError(name, " did not become ready; log:\n",
                              ReadFile(dir_ / (name + ".log")));
    }
    const json info = json::parse(ReadFile(ready));
    node->id = info["node_id"].get<uint64_t>();
    node->client = *HostPort::Parse(info["client_address"].get<std::string>());
    if (!client_) {
      ASSIGN_OR_RETURN(crypto::Certificate service,
                       crypto::Certificate::FromPem(ReadFile(dir_ / "service.pem")));
      service_certificate_ = service;
      ASSIGN_OR_RETURN(client_, node::HttpsClient::Create(node::SignedBy(service)));
    }
    nodes_.push_back(std::move(node));
    return nodes_.back().get();
  }

  Result<HttpsResult> Call(const HostPort& server, const std::string& method,
                           const std::string& target, const std::string& body = "") {
    std::lock_guard<std::mutex> lock(client_mutex_);
    return client_->Request(server, method, target, body);
  }

  json Attestation(const NodeProcess& node) {
    Result<HttpsResult> result = Call(node.client, "GET", "/node/attestation");
    if (!result.ok() || result->status != 200) return json::object();
    return json::parse(result->body, nullptr, false);
  }

  // The node the others call leader, once every running node agrees.
  NodeProcess* Leader() {
    std::set<uint64_t> leaders;
    for (auto& node : nodes_) {
      if (!node->process.running()) continue;
      Result<HttpsResult> state = Call(node->client, "GET", "/node/state");
      if (!state.ok()) return nullptr;
      leaders.insert(json::parse(state->body)["leader_id"].get<uint64_t>());
    }
    if (leaders.size() != 1) return nullptr;
    for (auto& node : nodes_) {
      if (node->id == *leaders.begin() && node->process.running()) return node.get();
    }
    return nullptr;
  }

  size_t VoterCount(const NodeProcess& via) {
    size_t voters = 0;
    const json attestation = Attestation(via);
    for (const json& item : attestation.value("nodes", json::array())) {
      if (item["raft_role"] == "voter" && item["status"] == "trusted") ++voters;
    }
    return voters;
  }

  crypto::hpke::SenderContext NewStream(const NodeProcess& via) {
    const json attestation = Attestation(via);
    Bytes raw = *Base64Decode(attestation["hpke_public_key"].get<std::string>());
    crypto::hpke::SenderParams params;
    params.info = AsBytes(node::kEventHpkeInfo);
    return *crypto::hpke::SetupSender(
        node::EventSuite(), *crypto::hpke::DeserializePublicKey(node::EventSuite().kem, raw),
        params);
  }

  static std::string Seal(const crypto::hpke::SenderContext& stream, uint64_t seq,
                          const json& event) {
    const std::string text = event.dump();
    Bytes key = *stream.Export(node::EventExporterContext(seq), 16);
    Bytes ciphertext = *crypto::AeadSeal(crypto::AeadAlgorithm::kAes128Gcm, key, Bytes(12, 0),
                                         node::EventAad(seq, {}), AsBytes(text));
    return json({{"enc", Base64Encode(stream.enc())},
                 {"seq", seq},
                 {"ciphertext", Base64Encode(ciphertext)}})
        .dump();
  }

  // Posts to `server`, following redirects to the leader; the final answer.
  Result<HttpsResult> Submit(HostPort server, const std::string& envelope) {
    for (int hop = 0; hop < 4; ++hop) {
      ASSIGN_OR_RETURN(HttpsResult result, Call(server, "POST", "/app/events", envelope));
      if (result.status != 307) return result;
      const std::string location = result.Header("location").value_or("");
      const std::string rest = location.substr(std::string("https://").size());
      ASSIGN_OR_RETURN(server, HostPort::Parse(rest.substr(0, rest.find('/'))));
    }
    return UnavailableError("too many redirects");
  }

  // Every message of channel `channel` as `via` sees it (its own committed state: a
  // serializable read, which a follower answers itself instead of redirecting to the leader).
  std::vector<std::string> Messages(const NodeProcess& via, const std::string& channel) {
    std::vector<std::string> out;
    for (int page = 0; page < 100; ++page) {
      Result<HttpsResult> result =
          Call(via.client, "GET",
               "/app/messages?channel=" + channel +
                   "&consistency=serializable&limit=1000&from=" + std::to_string(out.size()));
      if (!result.ok() || result->status != 200) return out;
      const json body = json::parse(result->body);
      if (body["messages"].empty()) return out;
      for (const json& item : body["messages"]) out.push_back(item["message"]);
    }
    return out;
  }

  // Sums the captures of a set of relays.
  static RelayStats Captured(const std::vector<std::unique_ptr<Relay>>& relays) {
    RelayStats sum;
    for (const auto& relay : relays) sum += relay->stats();
    return sum;
  }

  fs::path dir_;
  std::vector<std::unique_ptr<Relay>> node_relays_;  // before nodes_: destroyed after them
  std::vector<std::unique_ptr<Relay>> client_relays_;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
  std::optional<crypto::Certificate> service_certificate_;
  std::optional<TestMember> member_;
  std::unique_ptr<node::HttpsClient> client_;
  std::mutex client_mutex_;
};

size_t EventCount() {
  const char* text = std::getenv("CLOISTER_E2E_EVENTS");
  return text != nullptr ? std::strtoul(text, nullptr, 10) : 1000;
}

// The whole scenario of issue 5's "Done when" on one three-node network.
TEST_F(E2eTest, AttestedNetworkSurvivesLeaderLossAndKeepsSecrets) {
  Result<NodeProcess*> n0 = Launch("n0", std::nullopt, kGoodMeasurement);
  ASSERT_TRUE(n0.ok()) << n0.error().message;
  const HostPort genesis_address = (*n0)->client;
  for (const char* name : {"n1", "n2"}) {
    Result<NodeProcess*> joined = Launch(name, genesis_address, kGoodMeasurement);
    ASSERT_TRUE(joined.ok()) << joined.error().message;
  }
  ASSERT_TRUE(Eventually([&] { return VoterCount(**n0) == 3; }, std::chrono::seconds(60)));
  Status opened = OpenNetwork(genesis_address);
  ASSERT_TRUE(opened.ok()) << opened.error().message;

  // A disallowed measurement: the joiner exits 1 with the reason; membership is unchanged.
  ASSERT_TRUE(WriteConfig("bad", genesis_address, /*relayed=*/false).ok());
  Result<Process> bad =
      Process::Spawn({CLOISTERD_PATH, "join", "--config", (dir_ / "bad.toml").string(),
                      "--virtual-measurement", kBadMeasurement},
                     (dir_ / "bad.log").string());
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->Wait(std::chrono::seconds(60)), 1);
  EXPECT_NE(ReadFile(dir_ / "bad.log").find("measurement"), std::string::npos)
      << ReadFile(dir_ / "bad.log");
  // A challenge answered twice: the second use is refused.
  NodeProcess* leader = Leader();
  ASSERT_NE(leader, nullptr);
  const json challenge =
      json::parse(Call(leader->client, "POST", "/node/join/challenge", "{}")->body);
  const Bytes nonce = *Base64Decode(challenge["challenge"].get<std::string>());
  crypto::PrivateKey key = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  tee::VirtualAttester bad_attester(*FromHex(kBadMeasurement));
  json join;
  join["challenge"] = Base64Encode(nonce);
  join["certificate"] = node::SelfSignedIdentity(key, "x", Now() - 60, 3600)->Pem();
  join["node_address"] = "127.0.0.1:1";
  join["client_address"] = "127.0.0.1:2";
  join["evidence"] = json::parse(
      node::EvidenceToJson(*bad_attester.Attest(node::AttestationReportData(key.Public(), nonce))));
  EXPECT_EQ(Call(leader->client, "POST", "/node/join", join.dump())->status, 403u);
  Result<HttpsResult> replayed = Call(leader->client, "POST", "/node/join", join.dump());
  EXPECT_EQ(replayed->status, 403u);
  EXPECT_NE(replayed->body.find("already used"), std::string::npos) << replayed->body;
  EXPECT_EQ(Attestation(*leader)["nodes"].size(), 3u);

  // Sealed events from four streams in parallel, each posted to a different node.
  const size_t total = EventCount();
  std::vector<std::thread> senders;
  std::atomic<size_t> committed{0};
  std::mutex last_mutex;
  std::string last_tx;
  for (size_t s = 0; s < 4; ++s) {
    senders.emplace_back([&, s] {
      crypto::hpke::SenderContext stream = NewStream(*nodes_[s % 3]);
      for (size_t i = s; i < total; i += 4) {
        const json event = {{"op", "append"},
                            {"channel", "e2e"},
                            {"message", std::string(kCanary) + "-" + std::to_string(i)}};
        Result<HttpsResult> answer = Submit(nodes_[i % 3]->client, Seal(stream, i, event));
        if (answer.ok() && answer->status == 200) {
          ++committed;
          std::lock_guard<std::mutex> lock(last_mutex);
          last_tx = *answer->Header("x-ms-ccf-transaction-id");
        }
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  ASSERT_EQ(committed.load(), total);
  crypto::hpke::SenderContext control = NewStream(*leader);
  ASSERT_EQ(
      Submit(leader->client,
             Seal(control, 0,
                  {{"op", "put"}, {"key", "control"}, {"value", kPublicControl}, {"public", true}}))
          ->status,
      200u);
  for (auto& node : nodes_) {
    ASSERT_TRUE(Eventually([&] { return Messages(*node, "e2e").size() == total; },
                           std::chrono::seconds(30)))
        << node->name;
  }
  Result<HttpsResult> receipt = UnavailableError("no receipt yet");
  ASSERT_TRUE(Eventually(
      [&] {
        receipt = Call(leader->client, "GET", "/receipt?id=" + last_tx);
        return receipt.ok() && receipt->status == 200;
      },
      std::chrono::seconds(10)));
  EXPECT_TRUE(
      ledger::VerifyReceipt(*Base64Decode(json::parse(receipt->body)["receipt"].get<std::string>()),
                            *service_certificate_->SubjectPublicKey())
          .ok());

  // kill -9 of the leader: the survivors elect a new one within a few election timeouts and
  // have every committed event.
  const uint64_t old_leader = leader->id;
  leader->process.Signal(SIGKILL);
  leader->process.Wait(std::chrono::seconds(10));
  const auto killed_at = std::chrono::steady_clock::now();
  NodeProcess* successor = nullptr;
  ASSERT_TRUE(Eventually(
      [&] {
        successor = Leader();
        return successor != nullptr && successor->id != old_leader;
      },
      std::chrono::seconds(20)));
  const auto failover_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - killed_at)
                               .count();
  std::printf("e2e: new leader %llu after %lld ms\n",
              static_cast<unsigned long long>(successor->id), static_cast<long long>(failover_ms));
  EXPECT_EQ(Messages(*successor, "e2e").size(), total);
  crypto::hpke::SenderContext after = NewStream(*successor);
  ASSERT_EQ(Submit(successor->client,
                   Seal(after, 0, {{"op", "append"}, {"channel", "e2e"}, {"message", "after"}}))
                ->status,
            200u);

  // The restarted process is a new member; the dead one is retired.
  Result<NodeProcess*> reborn = Launch("reborn", successor->client, kGoodMeasurement);
  ASSERT_TRUE(reborn.ok()) << reborn.error().message;
  EXPECT_GT((*reborn)->id, 3u);
  ASSERT_TRUE(Eventually(
      [&] {
        const json nodes = Attestation(*successor)["nodes"];
        bool retired = false;
        for (const json& item : nodes) {
          if (item["id"] == old_leader) retired = item["status"] == "retired";
        }
        return retired && VoterCount(*successor) == 3;
      },
      std::chrono::seconds(60)));
  EXPECT_TRUE(Eventually([&] { return Messages(**reborn, "e2e").size() == total + 1; },
                         std::chrono::seconds(30)));

  // The host's view: no private canary in ledger, snapshot or log files, nor in metrics; the
  // public control value is found (so the scan reads the right bytes).
  for (auto& node : nodes_) {
    if (!node->process.running()) continue;
    const std::string metrics = Call(node->client, "GET", "/metrics")->body;
    EXPECT_EQ(metrics.find("CANARY"), std::string::npos) << node->name;
  }
  size_t files = 0;
  bool control_seen = false;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    const std::string bytes = ReadFile(entry.path());
    ++files;
    EXPECT_EQ(bytes.find("CANARY"), std::string::npos) << entry.path();
    control_seen |=
        bytes.find(kPublicControl) != std::string::npos && entry.path().extension() != ".log";
  }
  EXPECT_GT(files, 10u);
  EXPECT_TRUE(control_seen);

  // The network as the host captures it: every byte between nodes and between the test's client
  // and the nodes went through a relay. No canary; and the capture is not vacuous: all of it is
  // TLS records (handshakes, then application data), many kilobytes per committed event.
  const RelayStats peers = Captured(node_relays_);
  const RelayStats clients = Captured(client_relays_);
  std::printf(
      "e2e: captured %llu bytes node-to-node (%llu connections, %llu TLS records of data), "
      "%llu bytes client-to-node (%llu connections)\n",
      static_cast<unsigned long long>(peers.bytes),
      static_cast<unsigned long long>(peers.connections),
      static_cast<unsigned long long>(peers.application_records),
      static_cast<unsigned long long>(clients.bytes),
      static_cast<unsigned long long>(clients.connections));
  for (const RelayStats* capture : {&peers, &clients}) {
    EXPECT_EQ(capture->hits.at("CANARY"), 0u);
    EXPECT_GT(capture->streams, 4u);
    EXPECT_EQ(capture->tls_streams, capture->streams) << "a stream that is not TLS";
    EXPECT_GE(capture->handshake_streams, capture->streams / 2);
    EXPECT_GT(capture->application_records, 100u);
    EXPECT_GT(capture->bytes, total * 200);  // each event crosses in both captures
  }
  // The scan sees clear bytes when there are some: a probe in clear through a client relay is
  // found, and is the one non-TLS stream.
  {
    const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(client_relays_.back()->port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    const std::string text = "GET /CANARY-probe HTTP/1.1\r\n\r\n";
    ASSERT_EQ(::send(probe, text.data(), text.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(text.size()));
    EXPECT_TRUE(Eventually([&] { return Captured(client_relays_).hits.at("CANARY") == 1; },
                           std::chrono::seconds(10)));
    ::close(probe);
    const RelayStats probed = Captured(client_relays_);
    EXPECT_EQ(probed.streams - probed.tls_streams, 1u);
  }

  // Stopped, every node's ledger directory verifies as the auditor reads it (the joiners' from
  // the snapshot they installed), and one changed byte in a joiner's snapshot is refused.
  for (auto& node : nodes_) {
    if (node->process.running()) node->process.Signal(SIGTERM);
  }
  std::vector<fs::path> verified;
  for (auto& node : nodes_) {
    if (!node->process.running()) continue;
    node->process.Wait(std::chrono::seconds(20));
    auto storage = node::PosixStorage::Open((dir_ / node->name).string(), false);
    ASSERT_TRUE(storage.ok()) << storage.error().ToString();
    const crypto::PublicKey service_key = *service_certificate_->SubjectPublicKey();
    Result<ledger::DirectoryReport> report =
        ledger::VerifyDirectory(storage->get(), {.service_key = &service_key});
    ASSERT_TRUE(report.ok()) << node->name << ": " << report.error().ToString();
    EXPECT_GT(report->read.state.signature_count, 0u) << node->name;
    if (report->base_snapshot) verified.push_back(dir_ / node->name);
  }
  ASSERT_FALSE(verified.empty()) << "no node's ledger starts at a snapshot";
  const fs::path copy = dir_ / "tampered";
  fs::copy(verified.front(), copy);
  for (const fs::directory_entry& entry : fs::directory_iterator(copy)) {
    if (entry.path().extension() != ".snap") continue;
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    const auto middle = static_cast<std::streamoff>(entry.file_size() / 2);
    file.seekg(middle);
    const int byte = file.get();
    file.seekp(middle);
    file.put(static_cast<char>(byte ^ 0x01));
    break;
  }
  auto tampered = node::PosixStorage::Open(copy.string(), false);
  ASSERT_TRUE(tampered.ok());
  const crypto::PublicKey service_key = *service_certificate_->SubjectPublicKey();
  EXPECT_FALSE(ledger::VerifyDirectory(tampered->get(), {.service_key = &service_key}).ok());
}

}  // namespace
}  // namespace cloister::e2e
