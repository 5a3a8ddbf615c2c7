#include "cloister/node/config.h"

#include <toml++/toml.h>
#include <charconv>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace cloister::node {

namespace {

// Reads the keys of one table, remembering which it consumed so that the rest can be reported as
// unknown. Errors name "origin: [table] key".
class TableReader {
 public:
  TableReader(const toml::table* table, std::string origin, std::string name)
      : table_(table), origin_(std::move(origin)), name_(std::move(name)) {}

  [[nodiscard]] bool present() const { return table_ != nullptr; }

  Status String(const char* key, std::string* out) {
    const toml::node* node = Take(key);
    if (node == nullptr) return OkStatus();
    if (!node->is_string()) return TypeError(key, "a string");
    *out = node->as_string()->get();
    return OkStatus();
  }

  Status Bool(const char* key, bool* out) {
    const toml::node* node = Take(key);
    if (node == nullptr) return OkStatus();
    if (!node->is_boolean()) return TypeError(key, "true or false");
    *out = node->as_boolean()->get();
    return OkStatus();
  }

  template <typename T>
  Status Unsigned(const char* key, T* out, uint64_t min, uint64_t max) {
    const toml::node* node = Take(key);
    if (node == nullptr) return OkStatus();
    if (!node->is_integer()) return TypeError(key, "an integer");
    const int64_t value = node->as_integer()->get();
    if (value < 0 || static_cast<uint64_t>(value) < min || static_cast<uint64_t>(value) > max) {
      return OutOfRangeError(Where(key), " = ", value, " is outside [", min, ", ", max, "]");
    }
    *out = static_cast<T>(value);
    return OkStatus();
  }

  Status Path(const char* key, const std::filesystem::path& base, std::filesystem::path* out) {
    std::string text;
    RETURN_IF_ERROR(String(key, &text));
    if (text.empty()) return OkStatus();
    const std::filesystem::path path(text);
    *out = path.is_absolute() ? path : base / path;
    return OkStatus();
  }

  Status Address(const char* key, HostPort* out) {
    std::string text;
    RETURN_IF_ERROR(String(key, &text));
    if (text.empty()) return OkStatus();
    Result<HostPort> parsed = HostPort::Parse(text);
    if (!parsed.ok()) return InvalidArgumentError(Where(key), ": ", parsed.error().message);
    *out = std::move(parsed).value();
    return OkStatus();
  }

  Status OptionalAddress(const char* key, std::optional<HostPort>* out) {
    if (table_ == nullptr || !table_->contains(key)) return OkStatus();
    HostPort value;
    RETURN_IF_ERROR(Address(key, &value));
    *out = value;
    return OkStatus();
  }

  Status PathList(const char* key, const std::filesystem::path& base,
                  std::vector<std::filesystem::path>* out) {
    const toml::node* node = Take(key);
    if (node == nullptr) return OkStatus();
    const toml::array* array = node->as_array();
    if (array == nullptr) return TypeError(key, "an array of strings");
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node* item = array->get(i);
      if (item == nullptr || !item->is_string()) {
        return InvalidArgumentError(Where(key), "[", i, "] must be a string");
      }
      const std::filesystem::path path(item->as_string()->get());
      out->push_back(path.is_absolute() ? path : base / path);
    }
    return OkStatus();
  }

  // Fails if the table holds a key that no call above consumed.
  Status NoUnknownKeys() const {
    if (table_ == nullptr) return OkStatus();
    for (const auto& [key, value] : *table_) {
      if (!taken_.contains(std::string(key.str()))) {
        return InvalidArgumentError(origin_, ": unknown key '", key.str(), "' in [", name_, "]");
      }
    }
    return OkStatus();
  }

 private:
  const toml::node* Take(const char* key) {
    taken_.insert(key);
    if (table_ == nullptr) return nullptr;
    return table_->get(key);
  }
  [[nodiscard]] std::string Where(const char* key) const {
    return origin_ + ": [" + name_ + "] " + key;
  }
  Status TypeError(const char* key, const char* expected) const {
    return InvalidArgumentError(Where(key), " must be ", expected);
  }

  const toml::table* table_;
  std::string origin_;
  std::string name_;
  std::set<std::string> taken_;
};

Status ReadNode(TableReader& r, const std::filesystem::path& base, NodeSettings* node) {
  RETURN_IF_ERROR(r.String("name", &node->name));
  RETURN_IF_ERROR(r.Path("data_dir", base, &node->data_dir));
  RETURN_IF_ERROR(r.Address("node_listen", &node->node_listen));
  RETURN_IF_ERROR(r.Address("client_listen", &node->client_listen));
  RETURN_IF_ERROR(r.OptionalAddress("node_advertise", &node->node_advertise));
  RETURN_IF_ERROR(r.OptionalAddress("client_advertise", &node->client_advertise));
  RETURN_IF_ERROR(r.String("platform", &node->platform));
  RETURN_IF_ERROR(r.String("log_level", &node->log_level));
  RETURN_IF_ERROR(
      r.Unsigned("max_request_body_bytes", &node->max_request_body_bytes, 1024, 1u << 30));
  RETURN_IF_ERROR(r.Unsigned("max_frame_bytes", &node->max_frame_bytes, 64 * 1024, 1u << 30));
  RETURN_IF_ERROR(
      r.Unsigned("retire_unreachable_after_s", &node->retire_unreachable_after_s, 1, 86400 * 30));
  std::string measurement;
  RETURN_IF_ERROR(r.String("virtual_measurement", &measurement));
  if (!measurement.empty()) {
    Result<Bytes> bytes = FromHex(measurement);
    if (!bytes.ok() || bytes->size() != 48) {
      return InvalidArgumentError("[node] virtual_measurement must be 96 hex digits (48 bytes)");
    }
    node->virtual_measurement = std::move(bytes).value();
  }
  RETURN_IF_ERROR(r.Bool("virtual_debug", &node->virtual_debug));
  RETURN_IF_ERROR(r.Path("ready_file", base, &node->ready_file));
  return r.NoUnknownKeys();
}

Status ReadRaft(TableReader& r, RaftSettings* raft) {
  RETURN_IF_ERROR(r.Unsigned("tick_ms", &raft->tick_ms, 1, 60'000));
  RETURN_IF_ERROR(r.Unsigned("election_ticks", &raft->election_ticks, 2, 10'000));
  RETURN_IF_ERROR(r.Unsigned("heartbeat_ticks", &raft->heartbeat_ticks, 1, 10'000));
  RETURN_IF_ERROR(r.Unsigned("max_inflight_messages", &raft->max_inflight_messages, 1, 100'000));
  RETURN_IF_ERROR(r.Unsigned("max_inflight_bytes", &raft->max_inflight_bytes, 1024, 1ull << 34));
  RETURN_IF_ERROR(r.Unsigned("max_entries_bytes_per_message", &raft->max_entries_bytes_per_message,
                             1024, 1ull << 30));
  return r.NoUnknownKeys();
}

Status ReadLedger(TableReader& r, LedgerSettings* ledger) {
  RETURN_IF_ERROR(r.Bool("fsync", &ledger->fsync));
  RETURN_IF_ERROR(
      r.Unsigned("signature_interval_entries", &ledger->signature_interval_entries, 1, 1'000'000));
  RETURN_IF_ERROR(
      r.Unsigned("signature_interval_ms", &ledger->signature_interval_ms, 1, 3'600'000));
  RETURN_IF_ERROR(
      r.Unsigned("snapshot_interval_entries", &ledger->snapshot_interval_entries, 1, 1ull << 40));
  RETURN_IF_ERROR(r.Unsigned("segment_bytes", &ledger->segment_bytes, 4096, 1ull << 34));
  return r.NoUnknownKeys();
}

Status ReadGenesis(TableReader& r, const std::filesystem::path& base, GenesisSettings* genesis) {
  RETURN_IF_ERROR(r.String("service_name", &genesis->service_name));
  RETURN_IF_ERROR(r.PathList("member_certificates", base, &genesis->member_certificates));
  RETURN_IF_ERROR(r.PathList("member_encryption_keys", base, &genesis->member_encryption_keys));
  RETURN_IF_ERROR(r.String("join_mode", &genesis->join_mode));
  RETURN_IF_ERROR(r.Path("policy", base, &genesis->policy));
  RETURN_IF_ERROR(r.Path("service_certificate_out", base, &genesis->service_certificate_out));
  RETURN_IF_ERROR(r.Unsigned("recovery_threshold", &genesis->recovery_threshold, 1, 255));
  return r.NoUnknownKeys();
}

Status ReadJoin(TableReader& r, const std::filesystem::path& base, JoinSettings* join) {
  RETURN_IF_ERROR(r.Address("target", &join->target));
  RETURN_IF_ERROR(r.Path("service_certificate", base, &join->service_certificate));
  return r.NoUnknownKeys();
}

const toml::table* SubTable(const toml::table& root, const char* name) {
  const toml::node* node = root.get(name);
  return node == nullptr ? nullptr : node->as_table();
}

}  // namespace

std::string HostPort::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<HostPort> HostPort::Parse(std::string_view text) {
  std::string_view host, port;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgumentError("'", text, "' is not [ipv6]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return InvalidArgumentError("'", text, "' is not host:port");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgumentError("'", text, "' has an empty host");
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc() || end != port.data() + port.size() || value > 65535) {
    return InvalidArgumentError("'", text, "' has an invalid port '", port, "'");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

Result<NodeConfig> ParseNodeConfig(std::string_view toml_text, std::string_view origin,
                                   const std::filesystem::path& base_dir) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& error) {
    const toml::source_position begin = error.source().begin;
    return ParseError(origin, ":", begin.line, ":", begin.column, ": ", error.description());
  }
  const std::string where(origin);
  for (const auto& [key, value] : root) {
    static const std::set<std::string, std::less<>> kSections = {"node", "raft", "ledger",
                                                                 "genesis", "join"};
    if (!kSections.contains(key.str())) {
      return InvalidArgumentError(where, ": unknown section [", key.str(), "]");
    }
    if (!value.is_table()) {
      return InvalidArgumentError(where, ": '", key.str(), "' must be a table");
    }
  }
  NodeConfig config;
  TableReader node(SubTable(root, "node"), where, "node");
  RETURN_IF_ERROR(ReadNode(node, base_dir, &config.node));
  TableReader raft(SubTable(root, "raft"), where, "raft");
  RETURN_IF_ERROR(ReadRaft(raft, &config.raft));
  TableReader ledger(SubTable(root, "ledger"), where, "ledger");
  RETURN_IF_ERROR(ReadLedger(ledger, &config.ledger));
  TableReader genesis(SubTable(root, "genesis"), where, "genesis");
  if (genesis.present()) {
    config.genesis.emplace();
    RETURN_IF_ERROR(ReadGenesis(genesis, base_dir, &*config.genesis));
  }
  TableReader join(SubTable(root, "join"), where, "join");
  if (join.present()) {
    config.join.emplace();
    RETURN_IF_ERROR(ReadJoin(join, base_dir, &*config.join));
  }
  return config;
}

Result<NodeConfig> LoadNodeConfig(const std::filesystem::path& path) {
  constexpr uintmax_t kMaxBytes = 1u << 20;
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error) return IoError("cannot read config ", path.string(), ": ", error.message());
  if (size > kMaxBytes) {
    return InvalidArgumentError("config ", path.string(), " is ", size, " bytes; limit ",
                                kMaxBytes);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open config ", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return ParseNodeConfig(text.str(), path.string(), path.parent_path());
}

Status ValidateNodeConfig(const NodeConfig& config) {
  if (config.node.data_dir.empty()) return InvalidArgumentError("[node] data_dir is required");
  if (config.raft.election_ticks <= config.raft.heartbeat_ticks) {
    return InvalidArgumentError("[raft] election_ticks (", config.raft.election_ticks,
                                ") must exceed heartbeat_ticks (", config.raft.heartbeat_ticks,
                                ")");
  }
  static const std::set<std::string, std::less<>> kPlatforms = {"auto", "virtual", "sev-snp",
                                                                "tdx",  "sgx",     "nitro"};
  if (!kPlatforms.contains(config.node.platform)) {
    return InvalidArgumentError("[node] platform '", config.node.platform,
                                "' is not one of auto, virtual, sev-snp, tdx, sgx, nitro");
  }
  static const std::set<std::string, std::less<>> kLevels = {"trace", "debug", "info",
                                                             "warn",  "error", "off"};
  if (!kLevels.contains(config.node.log_level)) {
    return InvalidArgumentError("[node] log_level '", config.node.log_level,
                                "' is not one of trace, debug, info, warn, error, off");
  }
  if (config.genesis && config.join) {
    return InvalidArgumentError("a config has [genesis] or [join], not both");
  }
  if (config.genesis) {
    if (config.genesis->member_certificates.empty()) {
      return InvalidArgumentError("[genesis] member_certificates must name at least one member");
    }
    const GenesisSettings& genesis = *config.genesis;
    if (genesis.recovery_threshold > genesis.member_certificates.size()) {
      return InvalidArgumentError("[genesis] recovery_threshold (", genesis.recovery_threshold,
                                  ") exceeds the ", genesis.member_certificates.size(), " members");
    }
    if (!genesis.member_encryption_keys.empty() &&
        genesis.member_encryption_keys.size() != genesis.member_certificates.size()) {
      return InvalidArgumentError("[genesis] member_encryption_keys names ",
                                  genesis.member_encryption_keys.size(),
                                  " keys; give one per member certificate (",
                                  genesis.member_certificates.size(), ") or none");
    }
    if (!genesis.member_encryption_keys.empty() &&
        genesis.recovery_threshold > genesis.member_encryption_keys.size()) {
      return InvalidArgumentError("[genesis] recovery_threshold (", genesis.recovery_threshold,
                                  ") exceeds the ", genesis.member_encryption_keys.size(),
                                  " members with an encryption key");
    }
    if (genesis.join_mode != "automatic" && genesis.join_mode != "vote") {
      return InvalidArgumentError("[genesis] join_mode '", genesis.join_mode,
                                  "' is not one of automatic, vote");
    }
    if (config.genesis->policy.empty()) {
      return InvalidArgumentError("[genesis] policy is required (the admission policy file)");
    }
  }
  if (config.join && config.join->service_certificate.empty()) {
    return InvalidArgumentError("[join] service_certificate is required");
  }
  if (config.join && (config.join->target.host.empty() || config.join->target.port == 0)) {
    return InvalidArgumentError("[join] target is required (host:port of a node's client API)");
  }
  return OkStatus();
}

}  // namespace cloister::node
