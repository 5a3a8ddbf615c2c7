// `cloister platform info [-w json|table]`: which TEE this machine offers, which kernel
// interfaces are present, and what is missing to attest. Always exits 0 (the answer "none" is an
// answer); the simulated root fingerprint is printed so a dev network can name it in its policy.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "cloister/tee/attester.h"
#include "cloister/tee/virtual_tee.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

using Json = nlohmann::json;

int RunInfo(const std::string& format, const std::string& root) {
  const tee::PlatformProbe probe = tee::ProbePlatform(root);
  Json json;
  json["available"] =
      probe.available ? std::string(tee::PlatformName(*probe.available)) : std::string("none");
  json["interfaces"] = Json::array();
  for (const tee::PlatformProbe::Interface& interface : probe.interfaces) {
    json["interfaces"].push_back({{"name", interface.name},
                                  {"path", interface.path},
                                  {"present", interface.present},
                                  {"detail", interface.detail}});
  }
  json["missing"] = probe.missing;
  json["simulated_root_fingerprint"] = ToHex(tee::SimulatedRootFingerprint());
  if (format == "table") {
    std::printf("available TEE: %s\n", json["available"].get<std::string>().c_str());
    for (const tee::PlatformProbe::Interface& interface : probe.interfaces) {
      std::printf("  %-14s %-34s %s\n", interface.name.c_str(), interface.path.c_str(),
                  interface.detail.c_str());
    }
    for (const std::string& hint : probe.missing) std::printf("missing: %s\n", hint.c_str());
    std::printf("simulated root: %s (virtual is insecure; policies must name it)\n",
                json["simulated_root_fingerprint"].get<std::string>().c_str());
  } else {
    std::printf("%s\n", json.dump(2).c_str());
  }
  return kExitOk;
}

void AddPlatform(CLI::App& app, int* exit_code) {
  CLI::App* platform = app.add_subcommand("platform", "What TEE this machine offers");
  platform->require_subcommand(1);
  auto format = std::make_shared<std::string>("table");
  auto root = std::make_shared<std::string>("");
  CLI::App* info = platform->add_subcommand("info", "Probe TEE interfaces and report");
  info->add_option("-w,--format", *format, "Output format")
      ->check(CLI::IsMember({"json", "table"}));
  info->add_option("--root", *root, "Probe a fake tree under this directory (testing)");
  info->callback([format, root, exit_code] { *exit_code = RunInfo(*format, *root); });
}

const bool kRegistered = RegisterCommands("platform", AddPlatform);

}  // namespace
}  // namespace cloister::cli
