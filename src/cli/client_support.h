// Shared by the client verbs (tx, nodes, receipt get, bench, sandbox): the HTTPS Transport of the
// client library over node::HttpsClient, the sandbox directory layout, and building a verified
// client::Client from command-line flags.
//
// Sandbox directory layout (written by `cloister sandbox`, read by every --sandbox D flag):
//   D/sandbox.json       {"service_certificate": "service_cert.pem", "policy": "policy.json",
//                         "nodes": [{"name", "client_address", "node_address", "dir"}]}
//                        (paths relative to D)
//   D/service_cert.pem   the service certificate written by the genesis node
//   D/policy.json        the attestation policy clients expect (simulated root, cloisterd's hash)
//   D/member0_cert.pem, D/member0_key.pem   the sandbox's only member (development only)
//   D/node<i>/node.toml, D/node<i>/data/, D/node<i>/cloisterd.log
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "cloister/client/client.h"
#include "cloister/client/transport.h"
#include "cloister/crypto/x509.h"
#include "cloister/node/https_client.h"
#include "cloister/tee/policy.h"

namespace cloister::cli {

inline constexpr char kSandboxFile[] = "sandbox.json";

// client::Transport over node::HttpsClient, trusting servers whose certificate the service
// certificate issued.
class HttpsTransport final : public client::Transport {
 public:
  // `keep_alive` false opens a new connection for every request (benchmark comparisons).
  static Result<std::unique_ptr<HttpsTransport>> Create(const crypto::Certificate& service,
                                                        std::chrono::milliseconds timeout,
                                                        bool keep_alive = true);
  Result<client::Response> Request(const std::string& server, const std::string& method,
                                   const std::string& target, const std::string& body) override;

 private:
  explicit HttpsTransport(std::unique_ptr<node::HttpsClient> https) : https_(std::move(https)) {}
  std::unique_ptr<node::HttpsClient> https_;
};

struct SandboxNode {
  std::string name;
  std::string client_address;
  std::string node_address;
  std::string dir;  // absolute
};

struct SandboxLayout {
  std::string dir;  // absolute
  std::string service_certificate_path;
  std::string policy_path;
  std::vector<SandboxNode> nodes;

  [[nodiscard]] std::string ToJson() const;  // paths written relative to dir
  static Result<SandboxLayout> Load(const std::string& dir);
};

// Where a client verb connects and what it expects: either --sandbox D, or --server,
// --service-cert and --policy.
struct ConnectFlags {
  std::string sandbox;
  std::string server;
  std::string service_certificate;
  std::string policy;
  int timeout_s = 30;

  void AddTo(CLI::App* command);
};

// A client that has verified the service (Attest() succeeded), with its transport.
struct Connected {
  std::unique_ptr<HttpsTransport> transport;
  std::unique_ptr<client::Client> client;
};

// Loads the pinned inputs, connects, and verifies the service. `attest` false skips the
// attestation (read-only verbs that send nothing secret, such as tx status). The transport keeps
// its connection alive between requests unless `keep_alive` is false.
Result<Connected> Connect(const ConnectFlags& flags, bool attest = true, bool keep_alive = true);

Result<std::string> ReadTextFile(const std::string& path, size_t max_bytes = 16u << 20);
Status WriteTextFile(const std::string& path, std::string_view text);
// A policy from JSON or TOML (by extension: .toml is TOML, anything else JSON).
Result<tee::Policy> LoadPolicy(const std::string& path);

}  // namespace cloister::cli
