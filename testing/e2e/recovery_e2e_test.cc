// Issue 6's recovery scenario with real processes on 127.0.0.1, following docs/recovery.md:
// three members made with `cloister member keygen` found a service with recovery threshold 2;
// two nodes join; private and public events commit; every node is killed; `cloisterd recover`
// starts a new attested service from the three ledger directories. With one member's share the
// private state stays unreadable (application reads refused, not one private value readable);
// a repeated share does not count; with the second share every committed private event is back
// (read through the API and checked one by one), fresh shares replace the old ones, the new
// service endorses the previous one, and new events commit once members open it by vote. The
// private values appear in no file the host holds.
// Halfway through the events the members rotate the ledger secret by vote: the recovery shares
// are issued again with it, every node's ledger seals the later entries under it (the host sees
// a new secret start in the entry headers), a node that joins after the rotation reads values
// from before and after it, and the recovery, from that late joiner's directory, gets every
// value back from both sides of the rotation.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hpke.h"
#include "cloister/gov/tables.h"
#include "cloister/ledger/entry.h"
#include "cloister/node/https_client.h"
#include "cloister/node/recovery.h"
#include "cloister/node/sealed_event.h"
#include "cloister/node/service_state.h"
#include "cloister/tee/policy.h"
#include "process.h"

namespace cloister::e2e {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using node::HostPort;
using node::HttpsResult;

constexpr char kPrivate[] = "RECOVERY-PRIVATE-5c1d";
constexpr char kPublic[] = "RECOVERY-PUBLIC-88aa";
constexpr size_t kEvents = 40;
const std::string kMeasurement(96, 'c');

struct Running {
  std::string name;
  Process process;
  HostPort client;
};

class RecoveryE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cloister_recovery_e2e_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    tee::Policy policy = tee::Policy::Development();
    for (tee::PlatformRule& rule : policy.platforms) {
      if (rule.platform == tee::Platform::kVirtual) rule.measurements = {*FromHex(kMeasurement)};
    }
    std::ofstream(dir_ / "policy.json") << policy.ToJson();
  }

  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Runs the `cloister` command line to completion; its exit code (output in cli.log).
  int Cli(const std::vector<std::string>& args, std::string* output = nullptr) {
    std::vector<std::string> argv = {CLOISTER_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    const fs::path log = dir_ / ("cli_" + std::to_string(cli_runs_++) + ".log");
    Result<Process> process = Process::Spawn(argv, log.string());
    if (!process.ok()) return -1;
    const int code = process->Wait(std::chrono::seconds(60)).value_or(-1);
    if (output != nullptr) *output = ReadFile(log);
    return code;
  }

  void WriteConfig(const std::string& name, const std::string& role_section) {
    std::ofstream config(dir_ / (name + ".toml"));
    config << "[node]\nname = \"" << name << "\"\ndata_dir = \"" << name
           << "\"\nplatform = \"virtual\"\nretire_unreachable_after_s = 30\n"
           << "[raft]\ntick_ms = 20\nelection_ticks = 10\nheartbeat_ticks = 2\n"
           << "[ledger]\nfsync = false\nsignature_interval_ms = 100\n"
           << "snapshot_interval_entries = 25\n"
           << role_section;
  }

  // Starts cloisterd with `args` after the subcommand and waits for its ready file.
  Result<Running*> Launch(const std::string& name, const std::vector<std::string>& args) {
    const fs::path ready = dir_ / (name + ".ready.json");
    std::vector<std::string> argv = {CLOISTERD_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const std::string& extra :
         {std::string("--config"), (dir_ / (name + ".toml")).string(), std::string("--ready-file"),
          ready.string(), std::string("--virtual-measurement"), kMeasurement}) {
      argv.push_back(extra);
    }
    ASSIGN_OR_RETURN(Process process, Process::Spawn(argv, (dir_ / (name + ".log")).string()));
    auto node = std::make_unique<Running>();
    node->name = name;
    node->process = std::move(process);
    const bool up = Eventually(
        [&] { return fs::exists(ready) || node->process.Wait(std::chrono::milliseconds(0)); },
        std::chrono::seconds(60));
    if (!up || !fs::exists(ready)) {
      return UnavailableError(name, " did not become ready; log:\n",
                              ReadFile(dir_ / (name + ".log")));
    }
    const json info = json::parse(ReadFile(ready));
    node->client = *HostPort::Parse(info["client_address"].get<std::string>());
    nodes_.push_back(std::move(node));
    return nodes_.back().get();
  }

  // Pins `service_pem` for the calls that follow.
  void Pin(const fs::path& service_pem) {
    service_ = *crypto::Certificate::FromPem(ReadFile(service_pem));
    client_ = *node::HttpsClient::Create(node::SignedBy(*service_));
  }

  Result<HttpsResult> Call(const HostPort& server, const std::string& method,
                           const std::string& target, const std::string& body = "") {
    return client_->Request(server, method, target, body);
  }

  json Get(const HostPort& server, const std::string& target) {
    Result<HttpsResult> result = Call(server, "GET", target);
    if (!result.ok()) return json::object();
    json body = json::parse(result->body, nullptr, false);
    return body.is_discarded() ? json::object() : body;
  }

  // Seals `event` to the service `server` belongs to and posts it (following redirects).
  Result<HttpsResult> Submit(HostPort server, const json& event) {
    const json attestation = Get(server, "/node/attestation");
    ASSIGN_OR_RETURN(Bytes raw, Base64Decode(attestation.value("hpke_public_key", "")));
    ASSIGN_OR_RETURN(crypto::PublicKey key,
                     crypto::hpke::DeserializePublicKey(node::EventSuite().kem, raw));
    crypto::hpke::SenderParams params;
    params.info = AsBytes(node::kEventHpkeInfo);
    ASSIGN_OR_RETURN(crypto::hpke::SenderContext stream,
                     crypto::hpke::SetupSender(node::EventSuite(), key, params));
    const std::string text = event.dump();
    ASSIGN_OR_RETURN(Bytes aead_key, stream.Export(node::EventExporterContext(0), 16));
    ASSIGN_OR_RETURN(Bytes ciphertext,
                     crypto::AeadSeal(crypto::AeadAlgorithm::kAes128Gcm, aead_key, Bytes(12, 0),
                                      node::EventAad(0, {}), AsBytes(text)));
    const std::string envelope = json({{"enc", Base64Encode(stream.enc())},
                                       {"seq", 0},
                                       {"ciphertext", Base64Encode(ciphertext)}})
                                     .dump();
    for (int hop = 0; hop < 4; ++hop) {
      ASSIGN_OR_RETURN(HttpsResult result, Call(server, "POST", "/app/events", envelope));
      if (result.status != 307) return result;
      const std::string location = result.Header("location").value_or("");
      const std::string rest = location.substr(std::string("https://").size());
      ASSIGN_OR_RETURN(server, HostPort::Parse(rest.substr(0, rest.find('/'))));
    }
    return UnavailableError("too many redirects");
  }

  std::vector<std::string> MemberFlags(const std::string& member) {
    return {"--encryption-key", (dir_ / (member + "_enc_privk.pem")).string(),
            "--signing-key",    (dir_ / (member + "_privk.pem")).string(),
            "--signing-cert",   (dir_ / (member + "_cert.pem")).string()};
  }

  std::vector<std::string> ConnectFlags(const HostPort& server, const fs::path& service) {
    return {"--server",       server.ToString(), "--service-cert",
            service.string(), "--policy",        (dir_ / "policy.json").string()};
  }

  int SubmitShare(const std::string& member, const HostPort& server, const fs::path& service,
                  std::string* output) {
    std::vector<std::string> args = {"recovery", "submit"};
    for (auto& flag : ConnectFlags(server, service)) args.push_back(flag);
    for (auto& flag : MemberFlags(member)) args.push_back(flag);
    return Cli(args, output);
  }

  // Members m0 and m1 open the service by vote (open_network), as docs/governance.md says.
  Status OpenByVote(const HostPort& server, const fs::path& service) {
    return PassByVote(server, service, "open_network");
  }

  // Member m0 proposes `action` (no arguments) and m0 and m1 vote for it.
  Status PassByVote(const HostPort& server, const fs::path& service, const std::string& action) {
    const std::string tag = std::to_string(cli_runs_);
    auto signing = [&](const std::string& member, const std::string& out) {
      return std::vector<std::string>{"--service-cert", service.string(),
                                      "--signing-cert", (dir_ / (member + "_cert.pem")).string(),
                                      "--signing-key",  (dir_ / (member + "_privk.pem")).string(),
                                      "--out",          (dir_ / out).string()};
    };
    auto post = [&](const std::string& file) -> Result<json> {
      HostPort target = server;
      for (int hop = 0; hop < 4; ++hop) {
        ASSIGN_OR_RETURN(HttpsResult answer,
                         Call(target, "POST", "/gov/requests", ReadFile(dir_ / file)));
        if (answer.status == 200) return json::parse(answer.body);
        if (answer.status != 307) return UnavailableError("POST /gov/requests: ", answer.body);
        const std::string rest =
            answer.Header("location").value_or("").substr(std::string("https://").size());
        ASSIGN_OR_RETURN(target, HostPort::Parse(rest.substr(0, rest.find('/'))));
      }
      return UnavailableError("POST /gov/requests: too many redirects");
    };
    std::vector<std::string> propose = {"gov", "propose", "--action", action};
    for (auto& flag : signing("m0", "open" + tag + ".cose")) propose.push_back(flag);
    std::string output;
    if (Cli(propose, &output) != 0) return UnavailableError("gov propose: ", output);
    ASSIGN_OR_RETURN(json proposal, post("open" + tag + ".cose"));
    const std::string id = proposal.value("proposal_id", "");
    for (const std::string member : {"m0", "m1"}) {
      if (proposal.value("state", "") == "accepted") break;
      std::vector<std::string> vote = {"gov", "vote", "--proposal-id", id, "--for"};
      for (auto& flag : signing(member, "vote" + tag + member + ".cose")) vote.push_back(flag);
      if (Cli(vote, &output) != 0) return UnavailableError("gov vote: ", output);
      ASSIGN_OR_RETURN(proposal, post("vote" + tag + member + ".cose"));
    }
    if (proposal.value("state", "") != "accepted") {
      return UnavailableError(action, " not accepted: ", proposal.dump());
    }
    return OkStatus();
  }

  // The recovery share of `member` as `server` serves it ("" if none).
  std::string ShareOf(const HostPort& server, const std::string& member) {
    const crypto::Certificate certificate =
        *crypto::Certificate::FromPem(ReadFile(dir_ / (member + "_cert.pem")));
    Result<HttpsResult> share =
        Call(server, "GET", "/gov/recovery/share/" + gov::MemberIdOf(certificate));
    return share.ok() && share->status == 200 ? share->body : "";
  }

  // The secret starts in the headers of the entries with a private part in the ledger segments
  // of node `name` (what the host sees of the ledger secrets).
  std::set<uint64_t> SecretStarts(const std::string& name) {
    std::set<uint64_t> starts;
    for (const fs::directory_entry& file : fs::directory_iterator(dir_ / name)) {
      if (!ledger::ParseSegmentFileName(file.path().filename().string())) continue;
      const std::string bytes = ReadFile(file.path());
      ByteSpan rest = AsBytes(bytes);
      if (rest.size() < ledger::kSegmentHeaderSize) continue;
      rest = rest.subspan(ledger::kSegmentHeaderSize);
      while (!rest.empty()) {
        Result<ledger::EntryView> entry = ledger::ParseEntry(rest);
        if (!entry.ok()) break;  // a tail still being written
        if (entry->header.secret_start != 0) starts.insert(entry->header.secret_start);
        rest = rest.subspan(entry->frame_size);
      }
    }
    return starts;
  }

  fs::path dir_;
  std::vector<std::unique_ptr<Running>> nodes_;
  std::optional<crypto::Certificate> service_;
  std::unique_ptr<node::HttpsClient> client_;
  int cli_runs_ = 0;
};

TEST_F(RecoveryE2eTest, MembersRecoverEveryCommittedPrivateEventWithThresholdShares) {
  const auto started = std::chrono::steady_clock::now();
  for (const char* member : {"m0", "m1", "m2"}) {
    ASSERT_EQ(Cli({"member", "keygen", "--name", member, "--dir", dir_.string()}), 0);
  }
  WriteConfig("n0",
              "[genesis]\nmember_certificates = [\"m0_cert.pem\", \"m1_cert.pem\", "
              "\"m2_cert.pem\"]\nmember_encryption_keys = [\"m0_enc_pubk.b64\", "
              "\"m1_enc_pubk.b64\", \"m2_enc_pubk.b64\"]\nrecovery_threshold = 2\n"
              "policy = \"policy.json\"\nservice_certificate_out = \"service.pem\"\n");
  Result<Running*> n0 = Launch("n0", {"start"});
  ASSERT_TRUE(n0.ok()) << n0.error().message;
  Pin(dir_ / "service.pem");
  for (const char* name : {"n1", "n2"}) {
    WriteConfig(name, "[join]\ntarget = \"" + (*n0)->client.ToString() +
                          "\"\nservice_certificate = \"service.pem\"\n");
    Result<Running*> joined = Launch(name, {"join"});
    ASSERT_TRUE(joined.ok()) << joined.error().message;
  }

  Status opened = OpenByVote((*n0)->client, dir_ / "service.pem");
  ASSERT_TRUE(opened.ok()) << opened.error().message;

  // The genesis issued one sealed share per member, threshold 2.
  std::map<std::string, std::string> old_shares;
  for (const char* member : {"m0", "m1", "m2"}) {
    const crypto::Certificate certificate =
        *crypto::Certificate::FromPem(ReadFile(dir_ / (std::string(member) + "_cert.pem")));
    const std::string id = gov::MemberIdOf(certificate);
    Result<HttpsResult> share = Call((*n0)->client, "GET", "/gov/recovery/share/" + id);
    ASSERT_TRUE(share.ok() && share->status == 200) << (share.ok() ? share->body : "");
    old_shares[member] = share->body;
  }

  // Private and public events, committed and covered by a signature; halfway, the members
  // rotate the ledger secret and a fourth node joins.
  std::vector<std::string> expected;
  std::string last_tx;
  for (size_t i = 0; i < kEvents; ++i) {
    if (i == kEvents / 2) {
      const std::string share_before = ShareOf((*n0)->client, "m0");
      Status rotated = PassByVote((*n0)->client, dir_ / "service.pem", "rotate_ledger_secret");
      ASSERT_TRUE(rotated.ok()) << rotated.error().message;
      // The rotation transaction issues the shares again (with the new secret) once it commits.
      ASSERT_TRUE(Eventually(
          [&] {
            const std::string now = ShareOf((*n0)->client, "m0");
            return !now.empty() && now != share_before;
          },
          std::chrono::seconds(30)));
      WriteConfig("n3", "[join]\ntarget = \"" + (*n0)->client.ToString() +
                            "\"\nservice_certificate = \"service.pem\"\n");
      Result<Running*> joined = Launch("n3", {"join"});
      ASSERT_TRUE(joined.ok()) << joined.error().message;
    }
    expected.push_back(std::string(kPrivate) + "-" + std::to_string(i));
    Result<HttpsResult> answer =
        Submit(nodes_[i % nodes_.size()]->client,
               {{"op", "append"}, {"channel", "rec"}, {"message", expected[i]}});
    ASSERT_TRUE(answer.ok() && answer->status == 200) << (answer.ok() ? answer->body : "");
    last_tx = answer->Header("x-ms-ccf-transaction-id").value_or("");
  }
  ASSERT_EQ(Submit((*n0)->client,
                   {{"op", "put"}, {"key", "secret"}, {"value", std::string(kPrivate) + "-kv"}})
                ->status,
            200u);
  Result<HttpsResult> public_put = Submit(
      (*n0)->client, {{"op", "put"}, {"key", "notice"}, {"value", kPublic}, {"public", true}});
  ASSERT_EQ(public_put->status, 200u);
  last_tx = public_put->Header("x-ms-ccf-transaction-id").value_or("");
  ASSERT_TRUE(Eventually(
      [&] {
        Result<HttpsResult> receipt = Call((*n0)->client, "GET", "/receipt?id=" + last_tx);
        return receipt.ok() && receipt->status == 200;
      },
      std::chrono::seconds(20)));
  // Every node, the late joiner too, reads the values from before and after the rotation, and
  // every ledger seals the later entries under the second secret (one more secret start).
  for (const auto& node : nodes_) {
    ASSERT_TRUE(Eventually(
        [&] {
          const json page =
              Get(node->client, "/app/messages?channel=rec&limit=1000&consistency=serializable");
          return page.value("messages", json::array()).size() == kEvents;
        },
        std::chrono::seconds(20)))
        << node->name;
    const json page =
        Get(node->client, "/app/messages?channel=rec&limit=1000&consistency=serializable");
    EXPECT_EQ(page["messages"][0]["message"], expected.front()) << node->name;
    EXPECT_EQ(page["messages"][kEvents - 1]["message"], expected.back()) << node->name;
  }
  const std::set<uint64_t> founder_starts = SecretStarts("n0");
  ASSERT_EQ(founder_starts.size(), 2u);
  EXPECT_EQ(*founder_starts.begin(), 1u);
  for (const auto& node : nodes_) {
    // A joiner's segments start after its snapshot, which may be past the rotation.
    const std::set<uint64_t> starts = SecretStarts(node->name);
    ASSERT_FALSE(starts.empty()) << node->name;
    EXPECT_EQ(*starts.rbegin(), *founder_starts.rbegin()) << node->name;
  }
  // The ledgers end at the same signed entry before the loss (the recovery below uses n3's).
  ASSERT_TRUE(Eventually(
      [&] {
        std::set<uint64_t> indices;
        for (const auto& node : nodes_) {
          indices.insert(Get(node->client, "/node/state").value("commit_index", uint64_t{0}));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        for (const auto& node : nodes_) {
          indices.insert(Get(node->client, "/node/state").value("commit_index", uint64_t{0}));
        }
        return indices.size() == 1;
      },
      std::chrono::seconds(20)));

  // Total loss: every node is killed.
  for (auto& node : nodes_) node->process.Signal(SIGKILL);
  for (auto& node : nodes_) node->process.Wait(std::chrono::seconds(10));

  // A new attested service from the four ledger directories. They end at the same signed
  // entry, so the first one given is used: n3's, that of the node that joined after the
  // rotation, which starts at a snapshot.
  WriteConfig("r0", "");
  Result<Running*> r0 = Launch(
      "r0", {"recover", "--ledger", (dir_ / "n3").string(), "--ledger", (dir_ / "n1").string(),
             "--ledger", (dir_ / "n2").string(), "--ledger", (dir_ / "n0").string(),
             "--service-cert-out", (dir_ / "service2.pem").string()});
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  const HostPort recovered = (*r0)->client;
  const std::string recover_log = ReadFile(dir_ / "r0.log");
  EXPECT_NE(recover_log.find("from " + (dir_ / "n3").string() + " as node"), std::string::npos)
      << recover_log;
  const fs::path service2 = dir_ / "service2.pem";
  Pin(service2);
  EXPECT_NE(ReadFile(service2), ReadFile(dir_ / "service.pem"));

  json state = Get(recovered, "/gov/recovery");
  EXPECT_EQ(state["service_status"], "recovering") << state.dump();
  EXPECT_EQ(state["threshold"], 2);
  EXPECT_EQ(state["submitted"], 0);
  ASSERT_EQ(state["previous_services"].size(), 1u);
  const node::PreviousService previous =
      *node::PreviousService::FromJson(state["previous_services"][0].dump());
  EXPECT_TRUE(node::VerifyPreviousService(previous, *service_).ok());
  EXPECT_EQ(previous.previous_certificate_pem,
            crypto::Certificate::FromPem(ReadFile(dir_ / "service.pem"))->Pem());
  node::PreviousService forged = previous;
  ++forged.previous_last_signed_index;
  EXPECT_FALSE(node::VerifyPreviousService(forged, *service_).ok());
  std::string output;
  {
    std::vector<std::string> args = {"recovery", "status"};
    for (auto& flag : ConnectFlags(recovered, service2)) args.push_back(flag);
    EXPECT_EQ(Cli(args, &output), 0) << output;
  }
  // The old nodes are retired; the new one is the only trusted node.
  size_t trusted = 0;
  const json attestation = Get(recovered, "/node/attestation");
  for (const json& item : attestation.value("nodes", json::array())) {
    if (item["status"] == "trusted") ++trusted;
  }
  EXPECT_EQ(trusted, 1u);

  // Application events and reads wait for the private state.
  Result<HttpsResult> refused = Call(recovered, "GET", "/app/messages?channel=rec");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 503u) << refused->body;
  EXPECT_NE(refused->body.find("recovering"), std::string::npos);
  EXPECT_EQ(Submit(recovered, {{"op", "put"}, {"key", "x"}, {"value", "y"}})->status, 503u);

  // One share (k - 1): still nothing private; the same member again does not count.
  ASSERT_EQ(SubmitShare("m0", recovered, service2, &output), 0) << output;
  EXPECT_NE(output.find("\"submitted\":1"), std::string::npos) << output;
  EXPECT_NE(SubmitShare("m0", recovered, service2, &output), 0) << output;
  EXPECT_NE(output.find("already submitted"), std::string::npos) << output;
  EXPECT_EQ(Get(recovered, "/gov/recovery")["submitted"], 1);
  for (const std::string target :
       {"/app/messages?channel=rec", "/app/kv?key=secret", "/app/kv?key=notice&public=true"}) {
    Result<HttpsResult> read = Call(recovered, "GET", target);
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(read->status, 503u) << target;
    EXPECT_EQ(read->body.find(kPrivate), std::string::npos);
  }
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir_ / "r0")) {
    if (entry.is_regular_file()) {
      EXPECT_EQ(ReadFile(entry.path()).find(kPrivate), std::string::npos) << entry.path();
    }
  }

  // The second share (k): every committed private event is back, one by one.
  ASSERT_EQ(SubmitShare("m2", recovered, service2, &output), 0) << output;
  EXPECT_NE(output.find("restored_keys"), std::string::npos) << output;
  std::vector<std::string> messages;
  const json page = Get(recovered, "/app/messages?channel=rec&limit=1000");
  for (const json& item : page.value("messages", json::array())) {
    messages.push_back(item["message"].get<std::string>());
  }
  ASSERT_EQ(messages.size(), expected.size()) << page.dump();
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(messages[i], expected[i]) << i;
  EXPECT_EQ(Get(recovered, "/app/kv?key=secret")["value"], std::string(kPrivate) + "-kv");
  EXPECT_EQ(Get(recovered, "/app/kv?key=notice&public=true")["value"], kPublic);
  EXPECT_EQ(Get(recovered, "/gov/recovery")["service_status"], "opening");

  // Fresh shares replaced the old ones; a late share is refused.
  for (const char* member : {"m0", "m1", "m2"}) {
    const crypto::Certificate certificate =
        *crypto::Certificate::FromPem(ReadFile(dir_ / (std::string(member) + "_cert.pem")));
    Result<HttpsResult> share =
        Call(recovered, "GET", "/gov/recovery/share/" + gov::MemberIdOf(certificate));
    ASSERT_TRUE(share.ok() && share->status == 200);
    EXPECT_NE(share->body, old_shares[member]) << member;
  }
  EXPECT_NE(SubmitShare("m1", recovered, service2, &output), 0) << output;

  // The recovered service takes new events once its members open it.
  EXPECT_EQ(Submit(recovered, {{"op", "append"}, {"channel", "rec"}, {"message", "early"}})->status,
            403u);
  opened = OpenByVote(recovered, service2);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Result<HttpsResult> after =
      Submit(recovered, {{"op", "append"}, {"channel", "rec"}, {"message", "after"}});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 200u) << after->body;
  EXPECT_EQ(Get(recovered, "/app/messages?channel=rec&limit=1000")["messages"].size(), kEvents + 1);

  // No private value in any file the host holds (old and new ledgers, snapshots, logs).
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    EXPECT_EQ(ReadFile(entry.path()).find(kPrivate), std::string::npos) << entry.path();
  }
  std::printf("recovery e2e: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - started)
                                         .count()));
}

}  // namespace
}  // namespace cloister::e2e
