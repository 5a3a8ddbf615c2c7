// `cloister`: the command line for operators, members and clients. Each verb lives in its own
// *_commands.cc (see command_registry.h).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>

#include "command_registry.h"

namespace cloister::cli {
namespace {

std::map<std::string, CommandAdder>& Registry() {
  static std::map<std::string, CommandAdder> registry;
  return registry;
}

}  // namespace

bool RegisterCommands(const std::string& name, CommandAdder adder) {
  Registry().emplace(name, std::move(adder));
  return true;
}

}  // namespace cloister::cli

int main(int argc, char** argv) {
  CLI::App app{"cloister: confidential consensus — verify evidence, ledgers and receipts"};
  app.require_subcommand(1);
  int exit_code = cloister::cli::kExitOk;
  for (auto& [name, adder] : cloister::cli::Registry()) adder(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 reports usage errors by exception; this is the one place we catch them.
    const int code = app.exit(error);
    return code == 0 ? 0 : cloister::cli::kExitUsage;
  }
  return exit_code;
}
