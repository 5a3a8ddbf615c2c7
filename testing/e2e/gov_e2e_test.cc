// Proves issue 6's governance "Done when" with real cloisterd processes on 127.0.0.1 and three
// members (majority: two votes):
//  - the network is opened by the members' vote: sealed events are refused while it is
//    "opening" and after one vote, and accepted once the second vote passes the proposal;
//  - a node running a measurement the policy does not allow is refused, and is admitted only
//    after an add_measurement proposal passes (one vote is not enough);
//  - a node removed by a remove_node proposal is retired, dropped from the raft configuration
//    and from the others' channel trust: it stops receiving commits and cannot commit anything,
//    while the others go on committing;
//  - in join mode "vote" a compliant joiner waits as "pending" (no secrets, not in raft) until
//    a trust_node proposal passes, then joins;
//  - a passed rotate_service_hpke_key proposal makes every node publish and open under a new
//    service HPKE key: events sealed to the old key are refused (stale_hpke_key), also by the
//    leader elected after the rotating leader is killed; a client::Client that verified the
//    service before the rotation keeps submitting after it (it verifies the new attestation
//    and reseals).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cloister/client/client.h"
#include "cloister/crypto/aead.h"
#include "cloister/crypto/hpke.h"
#include "cloister/node/https_client.h"
#include "cloister/node/sealed_event.h"
#include "cloister/node/tls.h"
#include "cloister/tee/policy.h"
#include "gov_util.h"
#include "process.h"

namespace cloister::e2e {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using node::HostPort;
using node::HttpsResult;

const std::string kGoodMeasurement(96, 'a');
const std::string kNewMeasurement(96, 'c');

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// The client library's transport over the test's HTTPS client (as the command line's).
class HttpsTransport final : public client::Transport {
 public:
  explicit HttpsTransport(node::HttpsClient* https) : https_(https) {}
  Result<client::Response> Request(const std::string& server, const std::string& method,
                                   const std::string& target, const std::string& body) override {
    ASSIGN_OR_RETURN(HostPort address, HostPort::Parse(server));
    ASSIGN_OR_RETURN(HttpsResult result, https_->Request(address, method, target, body));
    return client::Response{result.status, std::move(result.headers), std::move(result.body)};
  }

 private:
  node::HttpsClient* https_;
};

struct NodeProcess {
  std::string name;
  Process process;
  uint64_t id = 0;
  HostPort client;
};

class GovE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cloister_gov_e2e_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    tee::Policy policy = tee::Policy::Development();
    for (tee::PlatformRule& rule : policy.platforms) {
      if (rule.platform == tee::Platform::kVirtual) {
        rule.measurements = {*FromHex(kGoodMeasurement)};
      }
    }
    std::ofstream(dir_ / "policy.json") << policy.ToJson();
    std::string certificates;
    for (int i = 0; i < 3; ++i) {
      const std::string name = "member" + std::to_string(i);
      crypto::PrivateKey key = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
      crypto::Certificate certificate = *node::SelfSignedIdentity(key, name, Now() - 60, 86400);
      std::ofstream(dir_ / (name + ".pem")) << certificate.Pem();
      certificates += std::string(certificates.empty() ? "" : ", ") + "\"" + name + ".pem\"";
      members_.push_back(TestMember{std::move(key), std::move(certificate)});
    }
    member_certificates_ = "[" + certificates + "]";
  }

  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  void WriteConfig(const std::string& name, const std::optional<HostPort>& target) {
    std::ofstream config(dir_ / (name + ".toml"));
    config << "[node]\nname = \"" << name << "\"\ndata_dir = \"" << name
           << "\"\nplatform = \"virtual\"\n"
           << "[raft]\ntick_ms = 20\nelection_ticks = 10\nheartbeat_ticks = 2\n"
           << "[ledger]\nfsync = false\nsignature_interval_ms = 100\n";
    if (target) {
      config << "[join]\ntarget = \"" << target->ToString()
             << "\"\nservice_certificate = \"service.pem\"\n";
    } else {
      config << "[genesis]\nmember_certificates = " << member_certificates_
             << "\npolicy = \"policy.json\"\nservice_certificate_out = \"service.pem\"\n";
    }
  }

  Result<Process> Spawn(const std::string& name, const std::optional<HostPort>& target,
                        const std::string& measurement) {
    WriteConfig(name, target);
    return Process::Spawn(
        {CLOISTERD_PATH, target ? "join" : "start", "--config", (dir_ / (name + ".toml")).string(),
         "--ready-file", (dir_ / (name + ".ready.json")).string(), "--virtual-measurement",
         measurement},
        (dir_ / (name + ".log")).string());
  }

  // Starts cloisterd and waits for its ready file.
  // n0 (genesis), n1 and n2 with the allowed measurement, once all three are voters.
  Result<std::array<NodeProcess*, 3>> LaunchThree() {
    ASSIGN_OR_RETURN(NodeProcess * n0, Launch("n0", std::nullopt, kGoodMeasurement));
    ASSIGN_OR_RETURN(NodeProcess * n1, Launch("n1", n0->client, kGoodMeasurement));
    ASSIGN_OR_RETURN(NodeProcess * n2, Launch("n2", n0->client, kGoodMeasurement));
    if (!Eventually([&] { return NodeStatus(n0->client, 3).second == "voter"; },
                    std::chrono::seconds(60))) {
      return UnavailableError("node 3 did not become a voter within 60 s");
    }
    return std::array<NodeProcess*, 3>{n0, n1, n2};
  }

  Result<NodeProcess*> Launch(const std::string& name, const std::optional<HostPort>& target,
                              const std::string& measurement) {
    ASSIGN_OR_RETURN(Process process, Spawn(name, target, measurement));
    const fs::path ready = dir_ / (name + ".ready.json");
    auto node = std::make_unique<NodeProcess>();
    node->name = name;
    node->process = std::move(process);
    if (!Eventually([&] { return fs::exists(ready) || !node->process.running(); },
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
    return client_->Request(server, method, target, body);
  }

  GovCall Caller() {
    return [this](const HostPort& server, const std::string& method, const std::string& target,
                  const std::string& body) { return Call(server, method, target, body); };
  }

  json Get(const HostPort& server, const std::string& target) {
    Result<HttpsResult> result = Call(server, "GET", target);
    if (!result.ok() || result->status != 200) return json::object();
    return json::parse(result->body, nullptr, false);
  }

  // The record and raft role of node `id` as `via` reports them ("" when absent).
  std::pair<std::string, std::string> NodeStatus(const HostPort& via, uint64_t id) {
    for (const json& item : Get(via, "/node/attestation").value("nodes", json::array())) {
      if (item.value("id", uint64_t{0}) == id) {
        return {item.value("status", std::string()), item.value("raft_role", std::string())};
      }
    }
    return {"", ""};
  }

  uint64_t CommitIndex(const HostPort& via) {
    return Get(via, "/node/state").value("commit_index", uint64_t{0});
  }

  // A sealed event (the messaging app's format) on a fresh stream, posted through `via`,
  // following redirects to the leader; sealed to `hpke_key` (base64) or else to the key `via`
  // publishes.
  Result<HttpsResult> PostEvent(HostPort via, const std::string& text,
                                const std::string& hpke_key = "") {
    ASSIGN_OR_RETURN(std::string envelope, SealEvent(via, text, hpke_key));
    return PostEnvelope(via, envelope);
  }

  // A gov-channel append event sealed to `hpke_key` (base64; the key `via` publishes if empty).
  Result<std::string> SealEvent(HostPort via, const std::string& text,
                                const std::string& hpke_key = "") {
    const std::string published =
        hpke_key.empty() ? Get(via, "/node/attestation").value("hpke_public_key", std::string())
                         : hpke_key;
    ASSIGN_OR_RETURN(Bytes raw, Base64Decode(published));
    ASSIGN_OR_RETURN(crypto::PublicKey key,
                     crypto::hpke::DeserializePublicKey(node::EventSuite().kem, raw));
    crypto::hpke::SenderParams params;
    params.info = AsBytes(node::kEventHpkeInfo);
    ASSIGN_OR_RETURN(crypto::hpke::SenderContext stream,
                     crypto::hpke::SetupSender(node::EventSuite(), key, params));
    const std::string event =
        json({{"op", "append"}, {"channel", "gov"}, {"message", text}, {"public", true}}).dump();
    ASSIGN_OR_RETURN(Bytes secret, stream.Export(node::EventExporterContext(0), 16));
    ASSIGN_OR_RETURN(Bytes ciphertext,
                     crypto::AeadSeal(crypto::AeadAlgorithm::kAes128Gcm, secret, Bytes(12, 0),
                                      node::EventAad(0, {}), AsBytes(event)));
    const std::string envelope = json({{"enc", Base64Encode(stream.enc())},
                                       {"seq", 0},
                                       {"ciphertext", Base64Encode(ciphertext)}})
                                     .dump();
    return envelope;
  }

  // POST /app/events, following up to four redirects to the leader.
  Result<HttpsResult> PostEnvelope(HostPort via, const std::string& envelope) {
    for (int hop = 0; hop < 4; ++hop) {
      ASSIGN_OR_RETURN(HttpsResult result, Call(via, "POST", "/app/events", envelope));
      if (result.status != 307) return result;
      const std::string rest =
          result.Header("location").value_or("").substr(std::string("https://").size());
      ASSIGN_OR_RETURN(via, HostPort::Parse(rest.substr(0, rest.find('/'))));
    }
    return UnavailableError("too many redirects");
  }

  fs::path dir_;
  std::vector<TestMember> members_;
  std::string member_certificates_;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
  std::optional<crypto::Certificate> service_certificate_;
  std::unique_ptr<node::HttpsClient> client_;
};

TEST_F(GovE2eTest, OpenByVoteAdmitNewMeasurementRemoveNode) {
  const auto started = std::chrono::steady_clock::now();
  Result<std::array<NodeProcess*, 3>> founders = LaunchThree();
  ASSERT_TRUE(founders.ok()) << founders.error().message;
  NodeProcess* const n0 = (*founders)[0];
  NodeProcess* const n1 = (*founders)[1];
  NodeProcess* const n2 = (*founders)[2];
  const HostPort genesis = n0->client;
  const json members = Get(genesis, "/gov/members");
  EXPECT_EQ(members["members"].size(), 3u);
  EXPECT_EQ(members["service_status"], "opening");

  // 1. Opening by vote: refused before, and below the threshold; accepted after.
  Result<HttpsResult> early = PostEvent(genesis, "too early");
  ASSERT_TRUE(early.ok()) << early.error().message;
  EXPECT_EQ(early->status, 403u) << early->body;
  EXPECT_NE(early->body.find("not open"), std::string::npos) << early->body;
  const GovCall call = Caller();
  Result<std::string> open =
      Propose(call, genesis, *service_certificate_, members_[0], "open_network");
  ASSERT_TRUE(open.ok()) << open.error().message;
  EXPECT_EQ(*VoteFor(call, n1->client, *service_certificate_, members_[0], *open), "open");
  EXPECT_EQ(PostEvent(genesis, "one vote is not enough")->status, 403u);
  // A replayed ballot is refused and counts nothing.
  const Bytes ballot = SignGovRequest(members_[1], *service_certificate_, gov::RequestType::kBallot,
                                      *open, R"({"vote":"for"})");
  Result<json> voted = SubmitGovRequest(call, genesis, ballot);
  ASSERT_TRUE(voted.ok()) << voted.error().message;
  EXPECT_EQ((*voted)["state"], "accepted");
  Result<json> replayed = SubmitGovRequest(call, genesis, ballot);
  ASSERT_FALSE(replayed.ok());
  EXPECT_NE(replayed.error().message.find("replay"), std::string::npos) << replayed.error().message;
  EXPECT_EQ(Get(genesis, "/gov/proposals/" + *open)["state"], "accepted");
  Result<HttpsResult> accepted = PostEvent(n2->client, "open now");
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ(accepted->status, 200u) << accepted->body;

  // 2. A new measurement: refused, still refused after one vote, admitted once it passes.
  Result<Process> refused = Spawn("n3", genesis, kNewMeasurement);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->Wait(std::chrono::seconds(60)), 1);
  EXPECT_NE(ReadFile(dir_ / "n3.log").find("measurement"), std::string::npos)
      << ReadFile(dir_ / "n3.log");
  const std::string allow =
      json({{"platform", "virtual"}, {"measurement", kNewMeasurement}}).dump();
  Result<std::string> add =
      Propose(call, genesis, *service_certificate_, members_[1], "add_measurement", allow);
  ASSERT_TRUE(add.ok()) << add.error().message;
  EXPECT_EQ(*VoteFor(call, genesis, *service_certificate_, members_[1], *add), "open");
  fs::remove_all(dir_ / "n3");
  Result<Process> still_refused = Spawn("n3", genesis, kNewMeasurement);
  ASSERT_TRUE(still_refused.ok());
  EXPECT_EQ(still_refused->Wait(std::chrono::seconds(60)), 1);
  EXPECT_EQ(*VoteFor(call, genesis, *service_certificate_, members_[2], *add), "accepted");
  fs::remove_all(dir_ / "n3");
  Result<NodeProcess*> n3 = Launch("n3", genesis, kNewMeasurement);
  ASSERT_TRUE(n3.ok()) << n3.error().message;
  const uint64_t new_id = (*n3)->id;
  ASSERT_TRUE(Eventually(
      [&] {
        return NodeStatus(genesis, new_id) ==
               std::pair<std::string, std::string>{"trusted", "voter"};
      },
      std::chrono::seconds(60)));

  // 3. Remove a follower by vote: retired, out of raft, out of channel trust.
  NodeProcess* removed = n1;
  const std::string remove_args = json({{"node_id", removed->id}}).dump();
  ASSERT_TRUE(
      PassProposal(call, genesis, *service_certificate_, members_, "remove_node", remove_args)
          .ok());
  ASSERT_TRUE(Eventually(
      [&] {
        return NodeStatus(genesis, removed->id) ==
               std::pair<std::string, std::string>{"retired", "none"};
      },
      std::chrono::seconds(30)));
  // Let the removal settle, then the removed node's commit index stops while the others go on.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const uint64_t removed_index = CommitIndex(removed->client);
  for (int i = 0; i < 5; ++i) {
    Result<HttpsResult> posted = PostEvent(genesis, "after removal " + std::to_string(i));
    ASSERT_TRUE(posted.ok()) << posted.error().message;
    EXPECT_EQ(posted->status, 200u) << posted->body;
  }
  const uint64_t others_index = CommitIndex(genesis);
  EXPECT_GT(others_index, removed_index + 5);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(CommitIndex(removed->client), removed_index);
  // It cannot commit anything itself: a write through it is not accepted.
  Result<HttpsResult> through_removed = Call(removed->client, "POST", "/app/events", "{}");
  EXPECT_TRUE(!through_removed.ok() || through_removed->status != 200u);
  // The others refuse its channels: their trusted-node gauge no longer counts it, and it logs
  // refused or closed channels.
  Result<HttpsResult> metrics = Call(genesis, "GET", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("cloister_trusted_nodes 3\n"), std::string::npos) << metrics->body;

  // 4. Join mode "vote": the joiner waits as pending until members trust it.
  ASSERT_TRUE(PassProposal(call, genesis, *service_certificate_, members_, "set_join_mode",
                           R"({"mode":"vote"})")
                  .ok());
  Result<Process> joiner = Spawn("n4", genesis, kGoodMeasurement);
  ASSERT_TRUE(joiner.ok());
  uint64_t pending_id = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        for (const json& item : Get(genesis, "/node/attestation").value("nodes", json::array())) {
          if (item.value("status", std::string()) == "pending") {
            pending_id = item.value("id", uint64_t{0});
          }
        }
        return pending_id != 0;
      },
      std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_FALSE(fs::exists(dir_ / "n4.ready.json"));
  EXPECT_TRUE(joiner->running());
  EXPECT_EQ(NodeStatus(genesis, pending_id),
            (std::pair<std::string, std::string>{"pending", "none"}));
  ASSERT_TRUE(PassProposal(call, genesis, *service_certificate_, members_, "trust_node",
                           json({{"node_id", pending_id}}).dump())
                  .ok());
  ASSERT_TRUE(
      Eventually([&] { return fs::exists(dir_ / "n4.ready.json"); }, std::chrono::seconds(30)))
      << ReadFile(dir_ / "n4.log");
  ASSERT_TRUE(Eventually(
      [&] {
        return NodeStatus(genesis, pending_id) ==
               std::pair<std::string, std::string>{"trusted", "voter"};
      },
      std::chrono::seconds(30)));

  // 5. The command line reads the same proposals (cloister gov list / show).
  const std::vector<std::string> connect = {"--server",       genesis.ToString(),
                                            "--service-cert", (dir_ / "service.pem").string(),
                                            "--policy",       (dir_ / "policy.json").string()};
  std::vector<std::string> list = {CLOISTER_PATH, "gov", "list"};
  list.insert(list.end(), connect.begin(), connect.end());
  Result<Process> listed = Process::Spawn(list, (dir_ / "list.out").string());
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->Wait(std::chrono::seconds(60)), 0) << ReadFile(dir_ / "list.out");
  const std::string listing = ReadFile(dir_ / "list.out");
  EXPECT_NE(listing.find(*open + " accepted"), std::string::npos) << listing;
  EXPECT_NE(listing.find("add_measurement"), std::string::npos) << listing;
  std::vector<std::string> show = {CLOISTER_PATH, "gov", "show", *add};
  show.insert(show.end(), connect.begin(), connect.end());
  Result<Process> shown = Process::Spawn(show, (dir_ / "show.out").string());
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->Wait(std::chrono::seconds(60)), 0) << ReadFile(dir_ / "show.out");
  EXPECT_NE(ReadFile(dir_ / "show.out").find(kNewMeasurement), std::string::npos)
      << ReadFile(dir_ / "show.out");

  std::printf("gov e2e: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - started)
                                         .count()));
}

TEST_F(GovE2eTest, RotateServiceHpkeKey) {
  Result<std::array<NodeProcess*, 3>> founders = LaunchThree();
  ASSERT_TRUE(founders.ok()) << founders.error().message;
  NodeProcess* const n0 = (*founders)[0];
  NodeProcess* const n1 = (*founders)[1];
  NodeProcess* const n2 = (*founders)[2];
  const HostPort genesis = n0->client;
  const GovCall call = Caller();
  Status opened = PassProposal(call, genesis, *service_certificate_, members_, "open_network");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  const json before = Get(genesis, "/node/attestation");
  const std::string old_key = before.value("hpke_public_key", std::string());
  const std::string old_id = before.value("hpke_key_id", std::string());
  ASSERT_FALSE(old_key.empty());
  EXPECT_EQ(old_id.size(), 32u);
  Result<std::string> first_envelope = SealEvent(genesis, "before rotation", old_key);
  ASSERT_TRUE(first_envelope.ok()) << first_envelope.error().message;
  Result<HttpsResult> first = PostEnvelope(genesis, *first_envelope);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->status, 200u) << first->body;
  // A client of the library verifies the service (old key) before the rotation.
  Result<tee::Policy> policy = tee::Policy::FromJson(ReadFile(dir_ / "policy.json"));
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  HttpsTransport transport(client_.get());
  client::Client early(&transport, genesis.ToString(), *policy, *service_certificate_);
  Result<client::VerifiedService> attested = early.Attest();
  ASSERT_TRUE(attested.ok()) << attested.error().message;
  const auto client_event = [](const std::string& text) {
    return json({{"op", "append"}, {"channel", "client"}, {"message", text}, {"public", true}})
        .dump();
  };
  Result<client::Submitted> early_first = early.Submit(AsBytes(client_event("early client")));
  ASSERT_TRUE(early_first.ok()) << early_first.error().message;
  EXPECT_FALSE(early_first->resealed);

  Status rotated =
      PassProposal(call, genesis, *service_certificate_, members_, "rotate_service_hpke_key");
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  // Every node publishes the new key once the leader's rotation is committed.
  std::string new_key;
  for (const NodeProcess* node : {n0, n1, n2}) {
    ASSERT_TRUE(Eventually(
        [&] {
          const std::string key =
              Get(node->client, "/node/attestation").value("hpke_public_key", std::string());
          if (key.empty() || key == old_key) return false;
          new_key = key;
          return true;
        },
        std::chrono::seconds(30)))
        << node->name;
  }
  const json after = Get(n2->client, "/node/attestation");
  EXPECT_EQ(after.value("hpke_public_key", std::string()), new_key);
  EXPECT_NE(after.value("hpke_key_id", std::string()), old_id);
  // The new key opens (through a follower's redirect); the old one is refused by name.
  Result<HttpsResult> fresh = PostEvent(n1->client, "after rotation", new_key);
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_EQ(fresh->status, 200u) << fresh->body;
  Result<HttpsResult> stale = PostEvent(n1->client, "old key", old_key);
  ASSERT_TRUE(stale.ok()) << stale.error().message;
  EXPECT_EQ(stale->status, 400u) << stale->body;
  EXPECT_NE(stale->body.find("stale_hpke_key"), std::string::npos) << stale->body;
  // An event that committed under the old key, sent again, is a replay naming its transaction
  // (so a client whose answer was lost learns it committed), not a stale key.
  Result<HttpsResult> again = PostEnvelope(n1->client, *first_envelope);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->status, 409u) << again->body;
  EXPECT_EQ(json::parse(again->body, nullptr, false).value("transaction_id", std::string()),
            json::parse(first->body, nullptr, false).value("transaction_id", std::string()))
      << again->body;
  // The client verified before the rotation is refused once, verifies the new attestation,
  // reseals and commits; its next event goes straight to the new key.
  Result<client::Submitted> resealed = early.Submit(AsBytes(client_event("after rotation")));
  ASSERT_TRUE(resealed.ok()) << resealed.error().message;
  EXPECT_TRUE(resealed->resealed);
  EXPECT_EQ(Base64Encode(early.service()->hpke_public_key.ToRaw()), new_key);
  Result<client::Submitted> next = early.Submit(AsBytes(client_event("and after")));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_FALSE(next->resealed);
  Result<client::Response> read = early.Get("/app/messages?channel=client&public=true");
  ASSERT_TRUE(read.ok()) << read.error().message;
  const json messages = json::parse(read->body, nullptr, false);
  EXPECT_EQ(messages.value("messages", json::array()).size(), 3u) << read->body;

  // Kill the leader: the next leader opens under the new key and refuses the old one.
  const uint64_t leader = Get(genesis, "/node/state").value("leader_id", uint64_t{0});
  NodeProcess* killed = nullptr;
  std::vector<NodeProcess*> survivors;
  for (NodeProcess* node : {n0, n1, n2}) {
    if (node->id == leader) {
      killed = node;
    } else {
      survivors.push_back(node);
    }
  }
  ASSERT_NE(killed, nullptr) << "leader " << leader;
  killed->process.Signal(SIGKILL);
  ASSERT_TRUE(killed->process.Wait(std::chrono::seconds(10)).has_value());
  const HostPort via = survivors[0]->client;
  ASSERT_TRUE(Eventually(
      [&] {
        const uint64_t now = Get(via, "/node/state").value("leader_id", uint64_t{0});
        return now != 0 && now != leader;
      },
      std::chrono::seconds(30)));
  Result<HttpsResult> later = UnavailableError("no attempt yet");
  ASSERT_TRUE(Eventually(
      [&] {
        later = PostEvent(via, "new leader", new_key);
        return later.ok() && later->status == 200u;
      },
      std::chrono::seconds(30)))
      << (later.ok() ? later->body : later.error().message);
  Result<HttpsResult> stale_again = PostEvent(via, "old key again", old_key);
  ASSERT_TRUE(stale_again.ok()) << stale_again.error().message;
  EXPECT_EQ(stale_again->status, 400u) << stale_again->body;
  EXPECT_NE(stale_again->body.find("stale_hpke_key"), std::string::npos) << stale_again->body;
}

}  // namespace
}  // namespace cloister::e2e
