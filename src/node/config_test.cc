// Proves that the node configuration is parsed strictly: every key is read, relative paths are
// resolved against the file's folder, and unknown keys, wrong types, out-of-range values and
// inconsistent combinations are refused with an error naming the key.
#include "cloister/node/config.h"

#include <gtest/gtest.h>

namespace cloister::node {
namespace {

constexpr std::string_view kFull = R"(
[node]
name = "n0"
data_dir = "data/n0"
node_listen = "127.0.0.1:7001"
client_listen = "[::1]:8001"
client_advertise = "n0.example:443"
platform = "virtual"
log_level = "debug"
max_request_body_bytes = 65536
retire_unreachable_after_s = 30
virtual_measurement = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
virtual_debug = true
ready_file = "n0.ready.json"

[raft]
tick_ms = 20
election_ticks = 15
heartbeat_ticks = 3

[ledger]
fsync = false
signature_interval_entries = 50
snapshot_interval_entries = 1000

[genesis]
service_name = "chat"
member_certificates = ["members/m0.pem", "/abs/m1.pem"]
member_encryption_keys = ["members/m0_enc_pubk.b64", "/abs/m1_enc_pubk.b64"]
join_mode = "vote"
policy = "policy.json"
service_certificate_out = "service_cert.pem"
recovery_threshold = 2
)";

// Every key of a full file lands in the right field, with relative paths resolved.
TEST(NodeConfigTest, ParsesEveryKey) {
  Result<NodeConfig> config = ParseNodeConfig(kFull, "net.toml", "/etc/cloister");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->node.name, "n0");
  EXPECT_EQ(config->node.data_dir, "/etc/cloister/data/n0");
  EXPECT_EQ(config->node.node_listen.ToString(), "127.0.0.1:7001");
  EXPECT_EQ(config->node.client_listen.host, "::1");
  EXPECT_EQ(config->node.client_listen.ToString(), "[::1]:8001");
  ASSERT_TRUE(config->node.client_advertise.has_value());
  EXPECT_EQ(config->node.client_advertise->port, 443);
  EXPECT_FALSE(config->node.node_advertise.has_value());
  EXPECT_EQ(config->node.platform, "virtual");
  EXPECT_EQ(config->node.max_request_body_bytes, 65536u);
  EXPECT_EQ(config->node.retire_unreachable_after_s, 30u);
  ASSERT_EQ(config->node.virtual_measurement.size(), 48u);
  EXPECT_EQ(config->node.virtual_measurement[47], 0x2f);
  EXPECT_TRUE(config->node.virtual_debug);
  EXPECT_EQ(config->node.ready_file, "/etc/cloister/n0.ready.json");
  EXPECT_EQ(config->raft.tick_ms, 20u);
  EXPECT_EQ(config->raft.election_ticks, 15u);
  EXPECT_EQ(config->raft.heartbeat_ticks, 3u);
  EXPECT_FALSE(config->ledger.fsync);
  EXPECT_EQ(config->ledger.signature_interval_entries, 50u);
  ASSERT_TRUE(config->genesis.has_value());
  EXPECT_EQ(config->genesis->service_name, "chat");
  ASSERT_EQ(config->genesis->member_certificates.size(), 2u);
  EXPECT_EQ(config->genesis->member_certificates[0], "/etc/cloister/members/m0.pem");
  EXPECT_EQ(config->genesis->member_certificates[1], "/abs/m1.pem");
  EXPECT_EQ(config->genesis->recovery_threshold, 2u);
  ASSERT_EQ(config->genesis->member_encryption_keys.size(), 2u);
  EXPECT_EQ(config->genesis->member_encryption_keys[0], "/etc/cloister/members/m0_enc_pubk.b64");
  EXPECT_EQ(config->genesis->join_mode, "vote");
  EXPECT_FALSE(config->join.has_value());
  EXPECT_TRUE(ValidateNodeConfig(*config).ok());
}

// Defaults apply to absent keys; a join file parses.
TEST(NodeConfigTest, DefaultsAndJoin) {
  Result<NodeConfig> config = ParseNodeConfig(
      "[node]\ndata_dir = \"/d\"\n[join]\ntarget = \"10.0.0.1:7001\"\nservice_certificate = "
      "\"s.pem\"\n",
      "join.toml", "/w");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_TRUE(config->ledger.fsync);
  EXPECT_TRUE(config->node.virtual_measurement.empty());
  EXPECT_FALSE(config->node.virtual_debug);
  EXPECT_TRUE(config->node.ready_file.empty());
  EXPECT_EQ(config->raft.tick_ms, RaftSettings{}.tick_ms);
  ASSERT_TRUE(config->join.has_value());
  EXPECT_EQ(config->join->target.ToString(), "10.0.0.1:7001");
  EXPECT_EQ(config->join->service_certificate, "/w/s.pem");
  EXPECT_TRUE(ValidateNodeConfig(*config).ok());
}

struct BadCase {
  const char* text;
  const char* expected;  // a fragment of the error message
};

// Each malformed file is refused with a message naming what is wrong.
TEST(NodeConfigTest, RefusesBadFiles) {
  const BadCase cases[] = {
      {"[node]\nnmae = \"x\"\n", "unknown key 'nmae' in [node]"},
      {"[nodes]\n", "unknown section [nodes]"},
      {"[raft]\ntick_ms = \"fast\"\n", "[raft] tick_ms must be an integer"},
      {"[raft]\ntick_ms = 0\n", "[raft] tick_ms = 0 is outside"},
      {"[raft]\ntick_ms = -5\n", "outside"},
      {"[ledger]\nfsync = 1\n", "[ledger] fsync must be true or false"},
      {"[node]\nnode_listen = \"localhost\"\n", "is not host:port"},
      {"[node]\nnode_listen = \"h:99999\"\n", "invalid port"},
      {"[node]\nnode_listen = \"::1:80\"\n", "is not host:port"},
      {"[genesis]\nmember_certificates = [1]\n", "member_certificates[0] must be a string"},
      {"[node\n", "c.toml:1"},
      {"node = 3\n", "'node' must be a table"},
      {"[node]\nvirtual_measurement = \"abcd\"\n", "virtual_measurement must be 96 hex"},
      {"[node]\nvirtual_debug = \"yes\"\n", "[node] virtual_debug must be true or false"},
  };
  for (const BadCase& c : cases) {
    Result<NodeConfig> config = ParseNodeConfig(c.text, "c.toml", "/");
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_NE(config.error().message.find(c.expected), std::string::npos)
        << c.text << " -> " << config.error().message;
  }
}

// Cross-field checks refuse combinations that parse but cannot run.
TEST(NodeConfigTest, ValidationRefusesInconsistentSettings) {
  auto check = [](const std::string& text, const char* expected) {
    Result<NodeConfig> config = ParseNodeConfig(text, "v.toml", "/");
    ASSERT_TRUE(config.ok()) << config.error().message;
    Status status = ValidateNodeConfig(*config);
    ASSERT_FALSE(status.ok()) << text;
    EXPECT_NE(status.error().message.find(expected), std::string::npos) << status.error().message;
  };
  check("[node]\nname = \"x\"\n", "data_dir is required");
  check("[node]\ndata_dir = \"d\"\n[raft]\nelection_ticks = 2\nheartbeat_ticks = 2\n",
        "must exceed heartbeat_ticks");
  check("[node]\ndata_dir = \"d\"\nplatform = \"tpm\"\n", "platform 'tpm'");
  check("[node]\ndata_dir = \"d\"\n[genesis]\npolicy = \"p\"\n", "at least one member");
  check(
      "[node]\ndata_dir = \"d\"\n[genesis]\npolicy = \"p\"\nmember_certificates = [\"a\"]\n"
      "recovery_threshold = 2\n",
      "exceeds the 1 members");
  check(
      "[node]\ndata_dir = \"d\"\n[genesis]\npolicy = \"p\"\nmember_certificates = [\"a\", \"b\"]\n"
      "member_encryption_keys = [\"ka\"]\n",
      "give one per member certificate");
  check(
      "[node]\ndata_dir = \"d\"\n[genesis]\npolicy = \"p\"\nmember_certificates = [\"a\"]\n"
      "join_mode = \"open\"\n",
      "join_mode 'open'");
  check("[node]\ndata_dir = \"d\"\n[join]\ntarget = \"h:1\"\n", "service_certificate is required");
  check("[node]\ndata_dir = \"d\"\n[join]\nservice_certificate = \"s\"\n", "target is required");
  check(
      "[node]\ndata_dir = \"d\"\n[join]\ntarget = \"h:1\"\nservice_certificate = \"s\"\n"
      "[genesis]\npolicy = \"p\"\nmember_certificates = [\"a\"]\n",
      "not both");
}

}  // namespace
}  // namespace cloister::node
