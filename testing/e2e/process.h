// Child processes for end-to-end tests: spawn with stdout and stderr appended to a log file,
// signal, wait with a deadline. A Process that is still running when destroyed is killed
// (SIGKILL) and reaped, so a failing test never leaves nodes behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cloister/base/result.h"

namespace cloister::e2e {

class Process {
 public:
  // Starts `argv[0]` with `argv`; output goes to `log_path` (appended).
  static Result<Process> Spawn(const std::vector<std::string>& argv, const std::string& log_path);

  Process() = default;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool running() const { return pid_ > 0 && !status_; }
  void Signal(int signal) const;
  // The exit code (or 128 + signal) once the process ended within `timeout`, else nullopt.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// The whole file (empty when it cannot be read: callers assert on its content).
std::string ReadFile(const std::filesystem::path& path);

// Polls `done` every 50 ms until it holds or `limit` passes; true when it held.
bool Eventually(const std::function<bool()>& done, std::chrono::seconds limit);

}  // namespace cloister::e2e
