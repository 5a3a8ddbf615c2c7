// Configuration of a cloisterd process, read from TOML (docs/operations.md lists every key).
//
// The configuration file lives on the host and is therefore chosen by the operator, who is not
// trusted with the network's secrets. Nothing in it can widen what the network admits: the
// admission policy of a running network lives in the replicated state; the file only seeds it
// at genesis, where the genesis transaction records it for members to audit before they vote
// to open. Parsing is strict: an unknown key, a value of the wrong type or out of range is an
// error that names the key and the file, so a typo cannot silently leave a default in place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::node {

struct HostPort {
  std::string host;
  uint16_t port = 0;

  [[nodiscard]] std::string ToString() const;
  // "host:port" or "[v6]:port"; port 0 allowed (bind to any free port).
  static Result<HostPort> Parse(std::string_view text);
};

struct RaftSettings {
  uint32_t tick_ms = 50;
  uint32_t election_ticks = 10;  // randomised in [election, 2*election) ticks by raft
  uint32_t heartbeat_ticks = 2;
  uint32_t max_inflight_messages = 64;
  uint64_t max_inflight_bytes = 16u << 20;
  uint64_t max_entries_bytes_per_message = 1u << 20;
};

struct LedgerSettings {
  bool fsync = true;
  uint32_t signature_interval_entries = 100;  // a signature transaction at least this often
  uint32_t signature_interval_ms = 1000;      // ... or after this long with unsigned entries
  uint64_t snapshot_interval_entries = 10'000;
  uint64_t segment_bytes = 64u << 20;
};

struct NodeSettings {
  std::string name = "node";               // appears in logs and metrics only
  std::filesystem::path data_dir;          // ledger and snapshots (the host's disk: untrusted)
  HostPort node_listen{"127.0.0.1", 0};    // node-to-node TLS channels
  HostPort client_listen{"127.0.0.1", 0};  // client HTTPS API
  // Advertised addresses, when peers and clients must use another address than the bind one.
  std::optional<HostPort> node_advertise;
  std::optional<HostPort> client_advertise;
  std::string platform = "auto";  // auto | virtual | sev-snp | tdx | sgx | nitro
  std::string log_level = "info";
  uint64_t max_request_body_bytes = 1u << 20;
  uint64_t max_frame_bytes = 64u << 20;
  // A trusted node unreachable this long is proposed for removal (a restart is a new node).
  uint32_t retire_unreachable_after_s = 120;
  // Platform `virtual` only: the measurement to report (48 bytes; empty = SHA-384 of the
  // executable) and whether to report a debug TEE. Tests use them to play a wrong enclave.
  Bytes virtual_measurement;
  bool virtual_debug = false;
  // Written atomically once the node serves as a member (node id, pid, bound addresses).
  std::filesystem::path ready_file;
};

// Only for `cloisterd start`: what the genesis transaction records.
struct GenesisSettings {
  std::string service_name = "cloister";
  std::vector<std::filesystem::path> member_certificates;  // PEM; at least one
  // Raw X25519 public keys in base64 (`cloister member keygen`'s NAME_enc_pubk.b64), one per
  // member certificate in the same order, or none: without them the service has no recovery
  // shares (recovery threshold 0).
  std::vector<std::filesystem::path> member_encryption_keys;
  // "automatic": a policy-compliant joiner is admitted; "vote": it waits as pending until a
  // trust_node proposal passes.
  std::string join_mode = "automatic";
  std::filesystem::path policy;                   // admission policy (JSON or TOML)
  std::filesystem::path service_certificate_out;  // written for clients to pin
  uint32_t recovery_threshold = 1;                // shares needed; only with member_encryption_keys
};

// Only for `cloisterd join`.
struct JoinSettings {
  HostPort target;
  std::filesystem::path service_certificate;
};

struct NodeConfig {
  NodeSettings node;
  RaftSettings raft;
  LedgerSettings ledger;
  std::optional<GenesisSettings> genesis;
  std::optional<JoinSettings> join;
};

// Parses TOML text. `origin` names the source in error messages. Relative paths are resolved
// against `base_dir`.
Result<NodeConfig> ParseNodeConfig(std::string_view toml_text, std::string_view origin,
                                   const std::filesystem::path& base_dir);

// Reads and parses a file (at most 1 MiB).
Result<NodeConfig> LoadNodeConfig(const std::filesystem::path& path);

// Cross-field checks: election > heartbeat, data_dir set, genesis members present, ... Run
// after command-line overrides are applied.
Status ValidateNodeConfig(const NodeConfig& config);

}  // namespace cloister::node
