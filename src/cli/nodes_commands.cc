// `cloister nodes -w table|json`: every node of a service with the claims THIS program computed
// from its evidence (never the service's own rendering), after verifying the whole service
// against the expected policy. Exit 0 when every node verifies, 1 when the service is refused
// (the nodes are still listed, with the service's reported claims and the reason), 2 for usage,
// I/O or network errors.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "client_support.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

using nlohmann::json;

json ClaimsJson(const tee::Claims& claims) {
  json out;
  out["platform"] = std::string(tee::PlatformName(claims.platform));
  out["insecure"] = claims.insecure;
  out["debug"] = claims.debug;
  out["product"] = claims.product;
  out["measurement"] = ToHex(claims.measurement);
  out["host_data"] = ToHex(claims.host_data);
  out["report_data"] = ToHex(claims.report_data);
  out["signing_key"] = claims.signing_key;
  out["root_fingerprint"] = ToHex(claims.root_fingerprint);
  json versions = json::object();
  for (const auto& [name, value] : claims.security_versions) versions[name] = value;
  out["security_versions"] = versions;
  return out;
}

void PrintTable(const json& nodes) {
  std::printf("%-4s %-8s %-8s %-22s %-8s %-6s %-8s %s\n", "ID", "STATUS", "ROLE", "CLIENT",
              "PLATFORM", "DEBUG", "VERIFIED", "MEASUREMENT");
  for (const json& node : nodes) {
    const json& claims = node["claims"];
    const std::string measurement = claims.value("measurement", "");
    std::printf("%-4llu %-8s %-8s %-22s %-8s %-6s %-8s %s\n",
                static_cast<unsigned long long>(node["id"].get<uint64_t>()),
                node["status"].get<std::string>().c_str(),
                node["raft_role"].get<std::string>().c_str(),
                node["client_address"].get<std::string>().c_str(),
                claims.value("platform", "?").c_str(), claims.value("debug", false) ? "yes" : "no",
                node["verified"].get<bool>() ? "yes" : "NO", measurement.c_str());
  }
}

int ListNodes(const ConnectFlags& flags, const std::string& format) {
  Result<Connected> connected = Connect(flags, /*attest=*/false);
  Result<client::Response> response = connected.ok() ? connected->client->Get("/node/attestation")
                                                     : Result<client::Response>(connected.error());
  Result<client::ServiceView> view = response.ok() ? client::ParseServiceView(response->body)
                                                   : Result<client::ServiceView>(response.error());
  if (!view.ok()) {
    std::cerr << "cloister nodes: " << view.error().ToString() << "\n";
    return kExitUsage;
  }
  Result<client::VerifiedService> verified = connected->client->Attest();
  json nodes = json::array();
  for (const client::NodeView& node : view->nodes) {
    json entry;
    entry["id"] = node.id;
    entry["status"] = node.status;
    entry["raft_role"] = node.raft_role;
    entry["client_address"] = node.client_address;
    entry["node_address"] = node.node_address;
    entry["verified"] = false;
    entry["claims"] =
        json::parse(node.reported_claims_json.empty() ? "{}" : node.reported_claims_json);
    if (verified.ok()) {
      for (const client::VerifiedNode& good : verified->nodes) {
        if (good.id != node.id) continue;
        entry["verified"] = true;
        entry["claims"] = ClaimsJson(good.claims);
        entry["warnings"] = good.warnings;
      }
    }
    nodes.push_back(std::move(entry));
  }
  if (format == "json") {
    json out;
    out["verified"] = verified.ok();
    if (!verified.ok()) out["reason"] = verified.error().ToString();
    out["leader_id"] = view->leader_id;
    out["nodes"] = nodes;
    std::cout << out.dump(2) << "\n";
  } else {
    PrintTable(nodes);
  }
  if (!verified.ok()) {
    std::cerr << "cloister nodes: the service is REFUSED: " << verified.error().ToString() << "\n";
    return kExitRejected;
  }
  return kExitOk;
}

void AddNodesCommands(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ConnectFlags>();
  auto format = std::make_shared<std::string>("table");
  CLI::App* nodes =
      app.add_subcommand("nodes", "List a service's nodes with their verified TEE claims");
  flags->AddTo(nodes);
  nodes->add_option("-w,--format", *format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  nodes->callback([=] { *exit_code = ListNodes(*flags, *format); });
}

const bool kRegistered = RegisterCommands("nodes", &AddNodesCommands);

}  // namespace
}  // namespace cloister::cli
