// The `cloister` command line is assembled from independent verb files: each *_commands.cc in
// this folder registers a function that adds its subcommands to the CLI11 app.
//
//   static const bool kRegistered = cloister::cli::RegisterCommands("evidence", &AddEvidence);
//
// Registration happens during static initialisation of the executable (never a library, so the
// linker keeps every file); main() then calls each registered function in name order.
//
// Exit codes every verb follows: 0 success; 1 the input was read but is not acceptable (does not
// verify, refused by policy); 2 usage or I/O error. Errors go to stderr with the precise reason.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace cloister::cli {

// Adds `name`'s subcommands to `app`. The function must set callbacks that store the exit code
// in *exit_code.
using CommandAdder = std::function<void(CLI::App& app, int* exit_code)>;

bool RegisterCommands(const std::string& name, CommandAdder adder);

inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;
inline constexpr int kExitUsage = 2;

}  // namespace cloister::cli
