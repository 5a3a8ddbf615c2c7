// Proves the node runtime end to end inside one process: a genesis node serves its attestation,
// opens sealed events, answers after commit with the transaction id, refuses replays and forged
// events, issues receipts that verify offline, exports metrics; a second node joins with fresh
// evidence bound to its key and a challenge, is promoted and replicates; joins with a wrong
// measurement, a debug TEE, a replayed challenge or evidence bound to another key are refused and
// change nothing; in a three-node network, reads are linearizable (batched ReadIndex rounds on
// the leader, redirects on followers) and a leader cut off from its peers serves no stale read.
#include "cloister/node/node.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/random.h"
#include "cloister/gov/proposals.h"
#include "cloister/gov/request.h"
#include "cloister/ledger/receipt.h"
#include "cloister/node/https_client.h"
#include "cloister/node/sealed_event.h"
#include "cloister/node/service_state.h"
#include "cloister/node/tls.h"
#include "cloister/tee/policy.h"
#include "cloister/tee/virtual_tee.h"

namespace cloister::node {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using tcp = boost::asio::ip::tcp;

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

const Bytes kGoodMeasurement(48, 0x11);
const Bytes kBadMeasurement(48, 0x22);

// Stores each event under "last" in a private map and echoes it.
class EchoApp final : public Application {
 public:
  Result<std::string> Execute(kv::Tx& tx, ByteSpan event) override {
    if (AsString(event) == "refuse") return InvalidArgumentError("event refused by the app");
    RETURN_IF_ERROR(tx.rw("test.events")->put("last", AsString(event)));
    return json({{"echo", ToString(event)}}).dump();
  }
  Result<HttpResponse> Read(kv::Tx& tx, const HttpRequest&) override {
    return HttpResponse::Json(
        200, json({{"last", tx.ro("test.events")->get("last").value_or("")}}).dump());
  }
};

// A TCP relay in front of a node's channel port (the node advertises the gate's port, so every
// peer reaches it through the gate). Cut(true) closes every relayed connection and refuses new
// ones: the node no longer receives any raft message, while what it sends still arrives.
class Gate {
 public:
  Gate() : acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Gate() {
    boost::asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      CloseAll();
      io_.stop();
    });
    thread_.join();
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  [[nodiscard]] uint16_t port() const { return port_; }
  void SetTarget(uint16_t port) { target_ = port; }
  void Cut(bool cut) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      cut_ = cut;
      if (cut) CloseAll();
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  using Socket = std::shared_ptr<tcp::socket>;

  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (error) return;
      if (!cut_ && target_ != 0) Connect(std::make_shared<tcp::socket>(std::move(socket)));
      Accept();
    });
  }
  void Connect(Socket client) {
    auto server = std::make_shared<tcp::socket>(io_);
    const tcp::endpoint target(boost::asio::ip::make_address("127.0.0.1"), target_.load());
    server->async_connect(target, [this, client, server](const boost::system::error_code& error) {
      if (error || cut_) return;
      sockets_.push_back(client);
      sockets_.push_back(server);
      Relay(client, server);
      Relay(server, client);
    });
  }
  void Relay(Socket from, Socket to) {
    auto buffer = std::make_shared<std::array<char, 16384>>();
    from->async_read_some(
        boost::asio::buffer(*buffer),
        [this, from, to, buffer](const boost::system::error_code& error, size_t size) {
          if (error) return Close(from, to);
          boost::asio::async_write(
              *to, boost::asio::buffer(*buffer, size),
              [this, from, to, buffer](const boost::system::error_code& write_error, size_t) {
                if (write_error) return Close(from, to);
                Relay(from, to);
              });
        });
  }
  static void Close(const Socket& a, const Socket& b) {
    boost::system::error_code ignored;
    a->close(ignored);
    b->close(ignored);
  }
  void CloseAll() {
    for (const std::weak_ptr<tcp::socket>& weak : sockets_) {
      boost::system::error_code ignored;
      if (Socket socket = weak.lock()) socket->close(ignored);
    }
    sockets_.clear();
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<uint16_t> target_{0};
  bool cut_ = false;  // io_ thread only
  std::vector<std::weak_ptr<tcp::socket>> sockets_;
  std::thread thread_;
};

// One node running on its own io_context thread.
struct RunningNode {
  boost::asio::io_context io;
  std::unique_ptr<Node> node;
  std::thread thread;

  ~RunningNode() {
    if (thread.joinable()) {
      boost::asio::post(io, [this] {
        node->Stop();
        io.stop();
      });
      thread.join();
    }
  }
};

// Seals `plaintext` as event `seq` of the stream set up by `context` (docs/api.md).
std::string SealEvent(const crypto::hpke::SenderContext& context, uint64_t seq,
                      std::string_view plaintext) {
  Result<Bytes> key = context.Export(EventExporterContext(seq), 16);
  EXPECT_TRUE(key.ok());
  Result<Bytes> ciphertext = crypto::AeadSeal(crypto::AeadAlgorithm::kAes128Gcm, *key, Bytes(12, 0),
                                              EventAad(seq, {}), AsBytes(plaintext));
  EXPECT_TRUE(ciphertext.ok());
  json envelope;
  envelope["enc"] = Base64Encode(context.enc());
  envelope["seq"] = seq;
  envelope["ciphertext"] = Base64Encode(*ciphertext);
  return envelope.dump();
}

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cloister_node_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    tee::Policy policy = tee::Policy::Development();
    for (tee::PlatformRule& rule : policy.platforms) {
      if (rule.platform == tee::Platform::kVirtual) rule.measurements = {kGoodMeasurement};
    }
    Write(dir_ / "policy.json", policy.ToJson());
    member_key_ = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
    member_certificate_ = *SelfSignedIdentity(*member_key_, "member0", Now() - 60, 86400);
    Write(dir_ / "member.pem", member_certificate_->Pem());
  }

  // Posts a governance request signed by the member for this service.
  HttpsResult Govern(const RunningNode& node, gov::RequestType type, const std::string& id,
                     std::string_view payload) {
    gov::RequestHeaders headers{type, Now(), id, crypto::SecureRandomBytes(16),
                                gov::ServiceIdOf(*service_certificate_)};
    Result<Bytes> request =
        gov::SignRequest(*member_key_, *member_certificate_, headers, AsBytes(payload));
    EXPECT_TRUE(request.ok());
    return Call(node, "POST", "/gov/requests", ToString(request.value_or(Bytes{})));
  }

  // The only member opens the network: a proposal, then its ballot (threshold one).
  void OpenNetwork(const RunningNode& node) {
    HttpsResult proposed =
        Govern(node, gov::RequestType::kProposal, "", *gov::MakeProposal("open_network", "{}"));
    ASSERT_EQ(proposed.status, 200u) << proposed.body;
    const json proposal = json::parse(proposed.body);
    EXPECT_EQ(proposal["state"], "open");
    HttpsResult voted = Govern(node, gov::RequestType::kBallot,
                               proposal["proposal_id"].get<std::string>(), R"({"vote":"for"})");
    ASSERT_EQ(voted.status, 200u) << voted.body;
    EXPECT_EQ(json::parse(voted.body)["state"], "accepted");
  }
  void TearDown() override {
    nodes_.clear();
    fs::remove_all(dir_);
  }

  static void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

  NodeConfig BaseConfig(const std::string& name) const {
    NodeConfig config;
    config.node.name = name;
    config.node.data_dir = dir_ / name;
    config.node.platform = "virtual";
    config.raft.tick_ms = 10;
    config.raft.election_ticks = 5;
    config.raft.heartbeat_ticks = 1;
    config.ledger.fsync = false;
    config.ledger.signature_interval_ms = 30;
    return config;
  }

  Result<RunningNode*> StartNode(NodeConfig config, Bytes measurement, bool debug = false) {
    auto running = std::make_unique<RunningNode>();
    NodeOptions options;
    options.config = std::move(config);
    options.attester = std::make_unique<tee::VirtualAttester>(measurement, Bytes(32, 0), debug);
    options.app = &app_;
    ASSIGN_OR_RETURN(running->node, Node::Start(running->io, std::move(options)));
    running->thread = std::thread([raw = running.get()] { raw->io.run(); });
    nodes_.push_back(std::move(running));
    return nodes_.back().get();
  }

  // `node_advertise`: the address peers reach this node's channel port at (a Gate).
  Result<RunningNode*> StartGenesis(std::optional<HostPort> node_advertise = std::nullopt) {
    NodeConfig config = BaseConfig("n1");
    config.node.node_advertise = std::move(node_advertise);
    config.genesis.emplace();
    config.genesis->member_certificates = {dir_ / "member.pem"};
    config.genesis->policy = dir_ / "policy.json";
    config.genesis->service_certificate_out = dir_ / "service.pem";
    ASSIGN_OR_RETURN(RunningNode * node, StartNode(std::move(config), kGoodMeasurement));
    std::ifstream in(dir_ / "service.pem");
    std::stringstream pem;
    pem << in.rdbuf();
    ASSIGN_OR_RETURN(crypto::Certificate certificate, crypto::Certificate::FromPem(pem.str()));
    service_certificate_ = certificate;
    ASSIGN_OR_RETURN(client_, HttpsClient::Create(SignedBy(certificate)));
    return node;
  }

  NodeConfig JoinConfig(const std::string& name, const RunningNode& target) const {
    NodeConfig config = BaseConfig(name);
    config.join.emplace();
    config.join->target = HostPort{"127.0.0.1", target.node->client_port()};
    config.join->service_certificate = dir_ / "service.pem";
    return config;
  }

  HttpsResult Call(const RunningNode& node, const std::string& method, const std::string& target,
                   const std::string& body = "") {
    Result<HttpsResult> result =
        client_->Request(HostPort{"127.0.0.1", node.node->client_port()}, method, target, body);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : HttpsResult{};
  }

  // Polls `done` every 20 ms for up to `seconds`.
  static bool Eventually(const std::function<bool()>& done, int seconds = 20) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  }

  json Attestation(const RunningNode& node) {
    HttpsResult result = Call(node, "GET", "/node/attestation");
    EXPECT_EQ(result.status, 200u) << result.body;
    return json::parse(result.body, nullptr, false);
  }

  crypto::hpke::SenderContext EventStream(const RunningNode& node) {
    const json attestation = Attestation(node);
    Bytes raw = *Base64Decode(attestation["hpke_public_key"].get<std::string>());
    crypto::PublicKey key = *crypto::hpke::DeserializePublicKey(EventSuite().kem, raw);
    crypto::hpke::SenderParams params;
    params.info = AsBytes(kEventHpkeInfo);
    return *crypto::hpke::SetupSender(EventSuite(), key, params);
  }

  // Three voters, nodes_[i] behind gates_[i] (its peers reach it only through the gate), with
  // the network open. Empty (after a test failure) when that does not come up.
  std::vector<RunningNode*> StartGatedCluster() {
    for (int i = 0; i < 3; ++i) gates_.push_back(std::make_unique<Gate>());
    auto gated = [&](size_t i) { return HostPort{"127.0.0.1", gates_[i]->port()}; };
    Result<RunningNode*> genesis = StartGenesis(gated(0));
    EXPECT_TRUE(genesis.ok()) << genesis.error().message;
    if (!genesis.ok()) return {};
    std::vector<RunningNode*> nodes = {*genesis};
    gates_[0]->SetTarget(nodes[0]->node->node_port());
    EXPECT_TRUE(Eventually([&] { return Call(*nodes[0], "GET", "/readyz").status == 200; }));
    OpenNetwork(*nodes[0]);
    for (size_t i = 1; i < 3; ++i) {
      NodeConfig config = JoinConfig("n" + std::to_string(i + 1), *nodes[0]);
      config.node.node_advertise = gated(i);
      Result<RunningNode*> joined = StartNode(std::move(config), kGoodMeasurement);
      EXPECT_TRUE(joined.ok()) << joined.error().message;
      if (!joined.ok()) return {};
      // Until now the gate refused the leader's connections: it retries.
      gates_[i]->SetTarget((*joined)->node->node_port());
      nodes.push_back(*joined);
    }
    const bool formed = Eventually(
        [&] {
          const json listed = Attestation(*nodes[0])["nodes"];
          size_t voters = 0;
          for (const json& item : listed) {
            voters += item["raft_role"] == "voter" && item["status"] == "trusted" ? 1u : 0u;
          }
          return voters == 3;
        },
        40);
    EXPECT_TRUE(formed);
    if (!formed) return {};
    return nodes;
  }

  // The node of `nodes` (other than `except`) whose raft role is leader, or nullptr.
  RunningNode* LeaderOf(const std::vector<RunningNode*>& nodes, RunningNode* except = nullptr) {
    for (RunningNode* node : nodes) {
      if (node == except) continue;
      HttpsResult state = Call(*node, "GET", "/node/state");
      if (state.status == 200 && json::parse(state.body)["role"] == "leader") return node;
    }
    return nullptr;
  }

  // The value of sample `name` (with its labels) in a /metrics text.
  static uint64_t Metric(const std::string& text, const std::string& name) {
    const size_t at = text.find("\n" + name + " ");
    EXPECT_NE(at, std::string::npos) << name << " not in\n" << text;
    if (at == std::string::npos) return 0;
    return std::stoull(text.substr(at + name.size() + 2));
  }

  // The "last" value of GET `target` on `node`, or "<status> <body>" when it is not a 200.
  std::string ReadLast(const RunningNode& node, const std::string& target = "/app/read") {
    HttpsResult read = Call(node, "GET", target);
    if (read.status != 200) return std::to_string(read.status) + " " + read.body;
    return json::parse(read.body, nullptr, false).value("last", "<no last>");
  }

  fs::path dir_;
  std::vector<std::unique_ptr<Gate>> gates_;  // destroyed after nodes_ (TearDown clears those)
  EchoApp app_;
  std::vector<std::unique_ptr<RunningNode>> nodes_;
  std::optional<crypto::Certificate> service_certificate_;
  std::optional<crypto::PrivateKey> member_key_;
  std::optional<crypto::Certificate> member_certificate_;
  std::unique_ptr<HttpsClient> client_;
};

// A genesis node: attestation verifies offline, a sealed event commits and is readable, status
// and receipt agree, replays and forgeries are refused, metrics count them.
TEST_F(NodeTest, GenesisServesSealedEventsReceiptsAndMetrics) {
  Result<RunningNode*> started = StartGenesis();
  ASSERT_TRUE(started.ok()) << started.error().message;
  RunningNode& n1 = **started;
  ASSERT_TRUE(Eventually([&] { return Call(n1, "GET", "/readyz").status == 200; }));
  EXPECT_EQ(Call(n1, "GET", "/livez").status, 200u);

  const json attestation = Attestation(n1);
  EXPECT_EQ(attestation["service_certificate"], service_certificate_->Pem());
  ASSERT_EQ(attestation["nodes"].size(), 1u);
  Result<NodeInfo> info = NodeInfo::FromJson(attestation["nodes"][0].dump());
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->attestation_context,
            GenesisAttestationContext(*FromHex(attestation["ledger_id"].get<std::string>())));
  Result<tee::Claims> claims = tee::VerifyEvidence(info->evidence, {.at_unix_seconds = Now()});
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  const crypto::PublicKey node_key =
      *crypto::Certificate::FromPem(info->certificate_pem)->SubjectPublicKey();
  ASSERT_GE(claims->report_data.size(), 32u);
  EXPECT_EQ(Bytes(claims->report_data.begin(), claims->report_data.begin() + 32),
            AttestationReportData(node_key, info->attestation_context));
  EXPECT_EQ(claims->measurement, kGoodMeasurement);

  crypto::hpke::SenderContext stream = EventStream(n1);
  // Until the members open the network, events are refused (and not consumed: the same
  // envelope is accepted after opening).
  const std::string sealed = SealEvent(stream, 7, "hello canary");
  HttpsResult early = Call(n1, "POST", "/app/events", sealed);
  EXPECT_EQ(early.status, 403u) << early.body;
  EXPECT_NE(early.body.find("not open"), std::string::npos) << early.body;
  OpenNetwork(n1);
  HttpsResult posted = Call(n1, "POST", "/app/events", sealed);
  ASSERT_EQ(posted.status, 200u) << posted.body;
  const std::optional<std::string> tx_header = posted.Header("x-ms-ccf-transaction-id");
  ASSERT_TRUE(tx_header.has_value());
  const json answer = json::parse(posted.body);
  EXPECT_EQ(answer["transaction_id"], *tx_header);
  EXPECT_EQ(answer["seq"], 7);
  EXPECT_EQ(answer["result"]["echo"], "hello canary");
  EXPECT_EQ(json::parse(Call(n1, "GET", "/app/read").body)["last"], "hello canary");
  EXPECT_EQ(json::parse(Call(n1, "GET", "/tx/status?id=" + *tx_header).body)["status"],
            "Committed");

  HttpsResult receipt;
  ASSERT_TRUE(Eventually([&] {
    receipt = Call(n1, "GET", "/receipt?id=" + *tx_header);
    return receipt.status == 200;
  })) << receipt.body;
  Bytes cose = *Base64Decode(json::parse(receipt.body)["receipt"].get<std::string>());
  Result<ledger::ReceiptClaims> verified =
      ledger::VerifyReceipt(cose, *service_certificate_->SubjectPublicKey());
  EXPECT_TRUE(verified.ok()) << verified.error().message;

  // The same sealed bytes again: a replay, refused, and the state is unchanged.
  HttpsResult replay = Call(n1, "POST", "/app/events", sealed);
  EXPECT_EQ(replay.status, 409u) << replay.body;
  EXPECT_NE(replay.body.find("replay"), std::string::npos);
  // The refusal names the transaction that carried the event (a client whose first attempt
  // timed out learns it committed).
  EXPECT_EQ(json::parse(replay.body).value("transaction_id", ""), *tx_header) << replay.body;
  // A flipped ciphertext bit does not authenticate; an app refusal is reported.
  json forged = json::parse(SealEvent(stream, 8, "forged"));
  Bytes bytes = *Base64Decode(forged["ciphertext"].get<std::string>());
  bytes[0] ^= 1;
  forged["ciphertext"] = Base64Encode(bytes);
  EXPECT_EQ(Call(n1, "POST", "/app/events", forged.dump()).status, 400u);
  EXPECT_EQ(Call(n1, "POST", "/app/events", SealEvent(stream, 9, "refuse")).status, 400u);
  EXPECT_EQ(Call(n1, "POST", "/app/events", "{\"enc\":1}").status, 400u);
  EXPECT_EQ(json::parse(Call(n1, "GET", "/app/read").body)["last"], "hello canary");
  EXPECT_EQ(json::parse(Call(n1, "GET", "/tx/status?id=9.999").body)["status"], "Unknown");

  const std::string metrics = Call(n1, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("cloister_events_committed_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("cloister_events_refused_total{reason=\"replay\"} 1\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("cloister_events_refused_total{reason=\"invalid\"} 2\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("cloister_events_refused_total{reason=\"not_open\"} 1\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("cloister_raft_is_leader 1\n"), std::string::npos);
  EXPECT_EQ(metrics.find("canary"), std::string::npos);
}

// A second node joins, is promoted to voter and serves the replicated state; bad joiners are
// refused with their reasons and the membership does not change.
TEST_F(NodeTest, JoinAdmitsAttestedNodeAndRefusesBadOnes) {
  Result<RunningNode*> started = StartGenesis();
  ASSERT_TRUE(started.ok()) << started.error().message;
  RunningNode& n1 = **started;
  ASSERT_TRUE(Eventually([&] { return Call(n1, "GET", "/readyz").status == 200; }));
  OpenNetwork(n1);

  Result<RunningNode*> bad = StartNode(JoinConfig("bad", n1), kBadMeasurement);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kPolicy);
  EXPECT_NE(bad.error().message.find("measurement"), std::string::npos) << bad.error().message;
  Result<RunningNode*> debug = StartNode(JoinConfig("debug", n1), kGoodMeasurement, true);
  ASSERT_FALSE(debug.ok());
  EXPECT_NE(debug.error().message.find("debug"), std::string::npos) << debug.error().message;

  // A challenge is single-use: once spent (here by a request bound to another key), a valid
  // request with it is refused.
  const json challenge = json::parse(Call(n1, "POST", "/node/join/challenge", "{}").body);
  const Bytes nonce = *Base64Decode(challenge["challenge"].get<std::string>());
  crypto::PrivateKey key = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  crypto::PrivateKey other = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  tee::VirtualAttester attester(kGoodMeasurement);
  auto join_body = [&](const crypto::PrivateKey& bound_key) {
    json request;
    request["challenge"] = Base64Encode(nonce);
    request["certificate"] = SelfSignedIdentity(key, "fake", Now() - 60, 3600)->Pem();
    request["node_address"] = "127.0.0.1:1";
    request["client_address"] = "127.0.0.1:2";
    Bytes report_data = AttestationReportData(bound_key.Public(), nonce);
    request["evidence"] = json::parse(EvidenceToJson(*attester.Attest(report_data)));
    return request.dump();
  };
  HttpsResult wrong_key = Call(n1, "POST", "/node/join", join_body(other));
  EXPECT_EQ(wrong_key.status, 403u);
  EXPECT_NE(wrong_key.body.find("report_data"), std::string::npos) << wrong_key.body;
  HttpsResult replayed = Call(n1, "POST", "/node/join", join_body(key));
  EXPECT_EQ(replayed.status, 403u);
  EXPECT_NE(replayed.body.find("already used"), std::string::npos) << replayed.body;
  EXPECT_EQ(Attestation(n1)["nodes"].size(), 1u);

  Result<RunningNode*> joined = StartNode(JoinConfig("n2", n1), kGoodMeasurement);
  ASSERT_TRUE(joined.ok()) << joined.error().message;
  RunningNode& n2 = **joined;
  EXPECT_EQ(n2.node->id(), 2u);
  ASSERT_TRUE(Eventually([&] {
    const json nodes = Attestation(n1)["nodes"];
    return nodes.size() == 2 && nodes[1]["raft_role"] == "voter" && nodes[1]["status"] == "trusted";
  }));
  crypto::hpke::SenderContext stream = EventStream(n2);
  HttpsResult posted = Call(n1, "POST", "/app/events", SealEvent(stream, 0, "replicated"));
  ASSERT_EQ(posted.status, 200u) << posted.body;
  // (Served by the follower from its own committed state: a serializable read.)
  ASSERT_TRUE(Eventually([&] {
    return json::parse(Call(n2, "GET", "/app/read?consistency=serializable").body)["last"] ==
           "replicated";
  }));
  // A write sent to the follower is redirected to the leader.
  HttpsResult redirected = Call(n2, "POST", "/app/events", SealEvent(stream, 1, "via n2"));
  EXPECT_EQ(redirected.status, 307u);
  EXPECT_NE(redirected.Header("location").value_or("").find(std::to_string(n1.node->client_port())),
            std::string::npos);
  const std::string metrics = Call(n1, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("cloister_joins_total{result=\"admitted\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("cloister_joins_total{result=\"refused\"} 4\n"), std::string::npos)
      << metrics;
}

// Reads are linearizable by default: a read on the leader sees the write committed just before
// it, a follower redirects a read to the leader but serves a serializable one from its own
// state, an unknown consistency is refused, and concurrent reads on the leader share ReadIndex
// rounds (fewer rounds than reads, counted by the metrics).
TEST_F(NodeTest, LinearizableReadsBatchOnTheLeaderAndRedirectOnFollowers) {
  const std::vector<RunningNode*> nodes = StartGatedCluster();
  ASSERT_EQ(nodes.size(), 3u);
  RunningNode* leader = nullptr;
  ASSERT_TRUE(Eventually([&] { return (leader = LeaderOf(nodes)) != nullptr; }));
  crypto::hpke::SenderContext stream = EventStream(*leader);
  HttpsResult posted = Call(*leader, "POST", "/app/events", SealEvent(stream, 0, "v1"));
  ASSERT_EQ(posted.status, 200u) << posted.body;
  EXPECT_EQ(ReadLast(*leader), "v1");

  RunningNode* follower = nodes[0] == leader ? nodes[1] : nodes[0];
  HttpsResult redirected = Call(*follower, "GET", "/app/read?x=1");
  EXPECT_EQ(redirected.status, 307u) << redirected.body;
  EXPECT_EQ(redirected.Header("location").value_or(""),
            "https://127.0.0.1:" + std::to_string(leader->node->client_port()) + "/app/read?x=1");
  EXPECT_TRUE(Eventually(
      [&] { return ReadLast(*follower, "/app/read?consistency=serializable") == "v1"; }));
  HttpsResult refused = Call(*leader, "GET", "/app/read?consistency=eventual");
  EXPECT_EQ(refused.status, 400u) << refused.body;
  EXPECT_NE(refused.body.find("consistency"), std::string::npos) << refused.body;

  const std::string linearizable = "cloister_reads_total{consistency=\"linearizable\"}";
  const std::string rounds = "cloister_read_index_rounds_total";
  const std::string before = Call(*leader, "GET", "/metrics").body;
  constexpr int kReaders = 16;
  constexpr int kReadsEach = 8;
  std::atomic<int> fresh{0};
  std::vector<std::thread> readers;
  const HostPort address{"127.0.0.1", leader->node->client_port()};
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&] {
      Result<std::unique_ptr<HttpsClient>> client =
          HttpsClient::Create(SignedBy(*service_certificate_));
      if (!client.ok()) return;
      for (int j = 0; j < kReadsEach; ++j) {
        Result<HttpsResult> read = (*client)->Request(address, "GET", "/app/read");
        if (read.ok() && read->status == 200 &&
            json::parse(read->body, nullptr, false).value("last", "") == "v1") {
          ++fresh;
        }
      }
    });
  }
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(fresh.load(), kReaders * kReadsEach);
  const std::string after = Call(*leader, "GET", "/metrics").body;
  const uint64_t reads = Metric(after, linearizable) - Metric(before, linearizable);
  const uint64_t started = Metric(after, rounds) - Metric(before, rounds);
  std::printf("node_test: %llu concurrent linearizable reads in %llu ReadIndex rounds\n",
              static_cast<unsigned long long>(reads), static_cast<unsigned long long>(started));
  EXPECT_EQ(reads, static_cast<uint64_t>(kReaders * kReadsEach));
  EXPECT_GE(started, 1u);
  EXPECT_LT(started * 2, reads) << "reads should share rounds";
}

// A leader cut off from its peers (it receives nothing; what it sends still arrives) answers no
// read with its stale state: a read in flight when it is cut gets a 503 once it loses the
// leadership, and after the others elected a new leader that committed a new value, every
// default read on the old leader is refused, never answered with the old value (which only a
// serializable read, asked for explicitly, returns). Once it hears the others again it catches up.
TEST_F(NodeTest, IsolatedLeaderNeverServesStaleReads) {
  const std::vector<RunningNode*> nodes = StartGatedCluster();
  ASSERT_EQ(nodes.size(), 3u);
  RunningNode* old_leader = nullptr;
  ASSERT_TRUE(Eventually([&] { return (old_leader = LeaderOf(nodes)) != nullptr; }));
  crypto::hpke::SenderContext stream = EventStream(*old_leader);
  HttpsResult posted = Call(*old_leader, "POST", "/app/events", SealEvent(stream, 0, "v1"));
  ASSERT_EQ(posted.status, 200u) << posted.body;
  EXPECT_EQ(ReadLast(*old_leader), "v1");

  const size_t cut =
      static_cast<size_t>(std::find(nodes.begin(), nodes.end(), old_leader) - nodes.begin());
  gates_[cut]->Cut(true);
  const auto cut_at = std::chrono::steady_clock::now();
  HttpsResult during = Call(*old_leader, "GET", "/app/read");
  EXPECT_EQ(during.status, 503u) << during.body;
  EXPECT_EQ(during.body.find("v1"), std::string::npos) << during.body;
  EXPECT_LT(std::chrono::steady_clock::now() - cut_at, std::chrono::seconds(5));

  RunningNode* new_leader = nullptr;
  ASSERT_TRUE(Eventually([&] { return (new_leader = LeaderOf(nodes, old_leader)) != nullptr; }));
  crypto::hpke::SenderContext new_stream = EventStream(*new_leader);
  posted = Call(*new_leader, "POST", "/app/events", SealEvent(new_stream, 0, "v2"));
  ASSERT_EQ(posted.status, 200u) << posted.body;
  EXPECT_EQ(ReadLast(*new_leader), "v2");
  for (int i = 0; i < 5; ++i) {
    HttpsResult stale = Call(*old_leader, "GET", "/app/read");
    EXPECT_EQ(stale.status, 503u) << stale.body;
    EXPECT_EQ(stale.body.find("v1"), std::string::npos) << stale.body;
  }
  EXPECT_EQ(ReadLast(*old_leader, "/app/read?consistency=serializable"), "v1");
  const std::string metrics = Call(*old_leader, "GET", "/metrics").body;
  EXPECT_GE(Metric(metrics, "cloister_reads_unserved_total"), 1u);

  gates_[cut]->Cut(false);
  EXPECT_TRUE(Eventually(
      [&] { return ReadLast(*old_leader, "/app/read?consistency=serializable") == "v2"; }, 30));
}

}  // namespace
}  // namespace cloister::node
