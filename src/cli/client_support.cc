#include "client_support.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cloister/node/config.h"

namespace cloister::cli {
namespace {

using nlohmann::json;

Result<std::string> RequiredString(const json& object, const char* name, const std::string& where) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string() || it->get<std::string>().empty()) {
    return ParseError(where, ": field '", name, "' missing or not a non-empty string");
  }
  return it->get<std::string>();
}

std::string Absolute(const std::string& base, const std::string& path) {
  const std::filesystem::path p(path);
  return p.is_absolute() ? path : (std::filesystem::path(base) / p).lexically_normal().string();
}

std::string Relative(const std::string& base, const std::string& path) {
  return std::filesystem::path(path).lexically_relative(base).string();
}

}  // namespace

Result<std::unique_ptr<HttpsTransport>> HttpsTransport::Create(const crypto::Certificate& service,
                                                               std::chrono::milliseconds timeout,
                                                               bool keep_alive) {
  node::HttpsClientOptions options;
  options.timeout = timeout;
  options.keep_alive = keep_alive;
  ASSIGN_OR_RETURN(std::unique_ptr<node::HttpsClient> https,
                   node::HttpsClient::Create(node::SignedBy(service), options));
  return std::unique_ptr<HttpsTransport>(new HttpsTransport(std::move(https)));
}

Result<client::Response> HttpsTransport::Request(const std::string& server,
                                                 const std::string& method,
                                                 const std::string& target,
                                                 const std::string& body) {
  ASSIGN_OR_RETURN(node::HostPort address, node::HostPort::Parse(server));
  ASSIGN_OR_RETURN(node::HttpsResult result, https_->Request(address, method, target, body));
  return client::Response{result.status, std::move(result.headers), std::move(result.body)};
}

std::string SandboxLayout::ToJson() const {
  json out;
  out["service_certificate"] = Relative(dir, service_certificate_path);
  out["policy"] = Relative(dir, policy_path);
  json list = json::array();
  for (const SandboxNode& node : nodes) {
    list.push_back({{"name", node.name},
                    {"client_address", node.client_address},
                    {"node_address", node.node_address},
                    {"dir", Relative(dir, node.dir)}});
  }
  out["nodes"] = list;
  return out.dump(2) + "\n";
}

Result<SandboxLayout> SandboxLayout::Load(const std::string& dir) {
  const std::string absolute = std::filesystem::absolute(dir).lexically_normal().string();
  const std::string path = Absolute(absolute, kSandboxFile);
  ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, 1u << 20));
  const json document = json::parse(text, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    return ParseError(path, ": not a JSON object");
  }
  SandboxLayout layout;
  layout.dir = absolute;
  ASSIGN_OR_RETURN(std::string certificate, RequiredString(document, "service_certificate", path));
  ASSIGN_OR_RETURN(std::string policy, RequiredString(document, "policy", path));
  layout.service_certificate_path = Absolute(absolute, certificate);
  layout.policy_path = Absolute(absolute, policy);
  auto nodes = document.find("nodes");
  if (nodes == document.end() || !nodes->is_array() || nodes->empty()) {
    return ParseError(path, ": field 'nodes' missing or not a non-empty array");
  }
  for (const json& node : *nodes) {
    SandboxNode entry;
    ASSIGN_OR_RETURN(entry.name, RequiredString(node, "name", path));
    ASSIGN_OR_RETURN(entry.client_address, RequiredString(node, "client_address", path));
    ASSIGN_OR_RETURN(entry.node_address, RequiredString(node, "node_address", path));
    ASSIGN_OR_RETURN(std::string node_dir, RequiredString(node, "dir", path));
    entry.dir = Absolute(absolute, node_dir);
    layout.nodes.push_back(std::move(entry));
  }
  return layout;
}

void ConnectFlags::AddTo(CLI::App* command) {
  command->add_option("--sandbox", sandbox, "Sandbox directory (instead of the three below)");
  command->add_option("--server", server, "A node's client API, HOST:PORT");
  command->add_option("--service-cert", service_certificate, "Pinned service certificate (PEM)");
  command->add_option("--policy", policy, "Expected attestation policy (JSON or TOML)");
  command->add_option("--timeout", timeout_s, "Seconds per request")->check(CLI::Range(1, 3600));
}

Result<std::string> ReadTextFile(const std::string& path, size_t max_bytes) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return IoError("cannot read '", path, "'");
  std::string text;
  char buffer[65536];
  while (file.read(buffer, sizeof(buffer)) || file.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(file.gcount()));
    if (text.size() > max_bytes)
      return OutOfRangeError("'", path, "' exceeds ", max_bytes, " bytes");
  }
  return text;
}

Status WriteTextFile(const std::string& path, std::string_view text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    if (!file) return IoError("cannot write '", temporary, "'");
    file.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!file) return IoError("cannot write '", temporary, "'");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return IoError("cannot rename '", temporary, "' to '", path, "': ", error.message());
  return OkStatus();
}

Result<tee::Policy> LoadPolicy(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, 1u << 20));
  Result<tee::Policy> policy = std::filesystem::path(path).extension() == ".toml"
                                   ? tee::Policy::FromToml(text)
                                   : tee::Policy::FromJson(text);
  if (!policy.ok()) return Error{policy.error().code, path + ": " + policy.error().message};
  return policy;
}

Result<Connected> Connect(const ConnectFlags& flags, bool attest, bool keep_alive) {
  std::string server = flags.server;
  std::string certificate_path = flags.service_certificate;
  std::string policy_path = flags.policy;
  if (!flags.sandbox.empty()) {
    ASSIGN_OR_RETURN(SandboxLayout layout, SandboxLayout::Load(flags.sandbox));
    if (server.empty()) server = layout.nodes.front().client_address;
    if (certificate_path.empty()) certificate_path = layout.service_certificate_path;
    if (policy_path.empty()) policy_path = layout.policy_path;
  }
  if (server.empty() || certificate_path.empty() || policy_path.empty()) {
    return InvalidArgumentError(
        "give --sandbox D, or all of --server, --service-cert and --policy");
  }
  ASSIGN_OR_RETURN(std::string certificate_text, ReadTextFile(certificate_path, 1u << 20));
  ASSIGN_OR_RETURN(crypto::Certificate certificate,
                   crypto::Certificate::FromDerOrPem(AsBytes(certificate_text)));
  ASSIGN_OR_RETURN(tee::Policy policy, LoadPolicy(policy_path));
  Connected connected;
  ASSIGN_OR_RETURN(
      connected.transport,
      HttpsTransport::Create(certificate, std::chrono::seconds(flags.timeout_s), keep_alive));
  client::ClientOptions options;
  options.retry_interval = std::chrono::milliseconds(200);
  options.max_attempts = std::max(1, flags.timeout_s * 5);
  connected.client = std::make_unique<client::Client>(connected.transport.get(), server,
                                                      std::move(policy), certificate, options);
  if (attest) {
    Result<client::VerifiedService> verified = connected.client->Attest();
    if (!verified.ok()) return verified.error();
  }
  return connected;
}

}  // namespace cloister::cli
