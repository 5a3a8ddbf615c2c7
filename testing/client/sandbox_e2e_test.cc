// Proves the sandbox path end to end with real processes on 127.0.0.1: `cloister sandbox`
// founds a service and has two nodes join it with simulated TEEs, prints `ready`; `cloister tx
// submit --sandbox D` commits private and public events; they read back through the API; the
// receipt is fetched, verifies offline and fails after one changed byte; `cloister nodes` shows
// three verified nodes; `cloister ledger verify` passes on every node's ledger (the joiners' start
// at the snapshot they installed) and refuses a joiner's after one changed byte; the private
// canary never appears in the ledger files or logs; SIGTERM stops the sandbox and its nodes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cloister/base/bytes.h"

namespace cloister {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `args` to completion (at most `timeout`), capturing stdout and stderr.
CommandResult RunCommand(const std::vector<std::string>& args,
                         std::chrono::seconds timeout = std::chrono::seconds(90)) {
  const fs::path dir = fs::temp_directory_path();
  const std::string out_path = (dir / ("e2e-out-" + std::to_string(::getpid()))).string();
  const std::string err_path = (dir / ("e2e-err-" + std::to_string(::getpid()))).string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  CommandResult run;
  int status = 0;
  const auto deadline = SteadyClock::now() + timeout;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (SteadyClock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      run.err = "timed out";
      return run;
    }
    ::usleep(20'000);
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream out(out_path), err(err_path);
  run.out.assign(std::istreambuf_iterator<char>(out), {});
  run.err.assign(std::istreambuf_iterator<char>(err), {});
  fs::remove(out_path);
  fs::remove(err_path);
  return run;
}

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

bool FileContains(const fs::path& path, const std::string& needle) {
  std::ifstream file(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(file)), {});
  return data.find(needle) != std::string::npos;
}

class SandboxE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cloister-e2e-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    StopSandbox();
    std::error_code ignored;
    if (!HasFailure()) fs::remove_all(dir_, ignored);
  }

  // Starts `cloister sandbox` and waits for its `ready` line.
  void StartSandbox(int nodes) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const std::string log = dir_ + ".sandbox.log";
    sandbox_pid_ = ::fork();
    if (sandbox_pid_ == 0) {
      ::dup2(pipe_fds[1], 1);
      const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(err, 2);
      ::close(pipe_fds[0]);
      const std::string count = std::to_string(nodes);
      ::execl(CLOISTER_CLI_PATH, CLOISTER_CLI_PATH, "sandbox", "--nodes", count.c_str(), "--dir",
              (dir_ + "/sb").c_str(), "--cloisterd", CLOISTERD_PATH, "--timeout", "90",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    std::string output;
    const auto deadline = SteadyClock::now() + std::chrono::seconds(150);
    while (output.find("ready") == std::string::npos && SteadyClock::now() < deadline) {
      pollfd fd{pipe_fds[0], POLLIN, 0};
      if (::poll(&fd, 1, 500) <= 0) continue;
      char buffer[512];
      const ssize_t got = ::read(pipe_fds[0], buffer, sizeof(buffer));
      if (got <= 0) break;
      output.append(buffer, static_cast<size_t>(got));
    }
    ::close(pipe_fds[0]);
    std::ifstream err(log);
    ASSERT_NE(output.find("ready"), std::string::npos)
        << "sandbox output: " << output
        << "\nsandbox stderr: " << std::string(std::istreambuf_iterator<char>(err), {});
  }

  void StopSandbox() {
    if (sandbox_pid_ <= 0) return;
    ::kill(sandbox_pid_, SIGTERM);
    int status = 0;
    const auto deadline = SteadyClock::now() + std::chrono::seconds(30);
    while (::waitpid(sandbox_pid_, &status, WNOHANG) == 0) {
      if (SteadyClock::now() > deadline) {
        ::kill(sandbox_pid_, SIGKILL);
        ::waitpid(sandbox_pid_, &status, 0);
        ADD_FAILURE() << "the sandbox did not stop within 30 s of SIGTERM";
        break;
      }
      ::usleep(50'000);
    }
    sandbox_exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    sandbox_pid_ = -1;
  }

  CommandResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), CLOISTER_CLI_PATH);
    return RunCommand(args);
  }

  std::string dir_;
  pid_t sandbox_pid_ = -1;
  int sandbox_exit_ = -1;
};

TEST_F(SandboxE2eTest, ThreeNodesSealedEventsReceiptsAndLedgers) {
  // Proves the whole client path against a real three-node sandbox (see the file comment).
  StartSandbox(3);
  const std::string sandbox = dir_ + "/sb";
  const std::string canary = "E2E-PRIVATE-CANARY-" + std::to_string(::getpid());

  CommandResult submitted =
      Cli({"tx", "submit", "--sandbox", sandbox, "--private", canary, "--key", "secret-key"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string id = Trim(submitted.out);
  ASSERT_NE(id.find('.'), std::string::npos) << id;
  CommandResult public_submit =
      Cli({"tx", "submit", "--sandbox", sandbox, "--public", "hello world", "--key", "greeting"});
  ASSERT_EQ(public_submit.exit_code, 0) << public_submit.err;

  CommandResult status = Cli({"tx", "status", id, "--sandbox", sandbox});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(Trim(status.out), "Committed");

  CommandResult read = Cli({"tx", "get", "secret-key", "--sandbox", sandbox});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_NE(read.out.find(canary), std::string::npos) << read.out;
  CommandResult read_public = Cli({"tx", "get", "greeting", "--public", "--sandbox", sandbox});
  ASSERT_EQ(read_public.exit_code, 0) << read_public.err;
  EXPECT_NE(read_public.out.find("hello world"), std::string::npos) << read_public.out;
  EXPECT_EQ(Cli({"tx", "get", "no-such-key", "--sandbox", sandbox}).exit_code, 1);

  const std::string receipt = dir_ + "/receipt.cbor";
  CommandResult got = Cli({"receipt", "get", id, "-o", receipt, "--sandbox", sandbox});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  const std::string certificate = sandbox + "/service_cert.pem";
  CommandResult verified = Cli({"receipt", "verify", receipt, "--service-cert", certificate});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  {
    std::fstream file(receipt, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(40);
    char byte = 0;
    file.read(&byte, 1);
    file.seekp(40);
    byte = static_cast<char>(byte ^ 1);
    file.write(&byte, 1);
  }
  EXPECT_EQ(Cli({"receipt", "verify", receipt, "--service-cert", certificate}).exit_code, 1);

  CommandResult nodes = Cli({"nodes", "-w", "json", "--sandbox", sandbox});
  ASSERT_EQ(nodes.exit_code, 0) << nodes.err;
  const nlohmann::json listed = nlohmann::json::parse(nodes.out);
  EXPECT_TRUE(listed["verified"].get<bool>());
  ASSERT_EQ(listed["nodes"].size(), 3u);
  for (const nlohmann::json& node : listed["nodes"]) {
    EXPECT_TRUE(node["verified"].get<bool>());
    EXPECT_EQ(node["claims"]["platform"], "virtual");
    EXPECT_EQ(node["raft_role"], "voter");
  }

  // A client expecting other code refuses the service and sends nothing.
  const std::string other_policy = dir_ + "/other_policy.json";
  {
    std::ofstream file(other_policy);
    file << R"({"platforms": {"virtual": {"measurements": [")" << std::string(96, 'a')
         << R"("]}}, "simulated_roots": []})";
  }
  const nlohmann::json layout = nlohmann::json::parse(std::ifstream(sandbox + "/sandbox.json"));
  CommandResult refused =
      Cli({"tx", "submit", "--server", layout["nodes"][0]["client_address"], "--service-cert",
           certificate, "--policy", other_policy, "--private", "must not be sent"});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;

  StopSandbox();
  EXPECT_EQ(sandbox_exit_, 0);
  for (int i = 0; i < 3; ++i) {
    const fs::path node_dir = fs::path(sandbox) / ("node" + std::to_string(i));
    // Every node's ledger verifies: the founding node's from index 1, each joiner's from the
    // snapshot it installed, pinned to the service certificate and without it.
    CommandResult ledger =
        Cli({"ledger", "verify", (node_dir / "data").string(), "--service-cert", certificate});
    EXPECT_EQ(ledger.exit_code, 0) << node_dir << ": " << ledger.out << ledger.err;
    if (i > 0) {
      EXPECT_NE(ledger.out.find("snapshot at index"), std::string::npos) << ledger.out;
    }
    EXPECT_EQ(Cli({"ledger", "verify", (node_dir / "data").string()}).exit_code, 0) << node_dir;
    for (const auto& entry : fs::recursive_directory_iterator(node_dir)) {
      if (!entry.is_regular_file()) continue;
      EXPECT_FALSE(FileContains(entry.path(), canary)) << "canary in " << entry.path();
    }
  }
  // One changed byte in a joiner's snapshot, or in its first segment, is refused.
  const fs::path joiner = fs::path(sandbox) / "node1" / "data";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(joiner)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".snap") || name.ends_with(".seg")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 2u);  // ledger_<first>.seg..., snapshot_<index>.snap
  ASSERT_TRUE(files.front().filename().string().starts_with("ledger_"));
  ASSERT_TRUE(files.back().filename().string().starts_with("snapshot_"));
  for (const fs::path& path : {files.front(), files.back()}) {
    const fs::path copy = fs::path(dir_) / "tampered";
    fs::remove_all(copy);
    fs::copy(joiner, copy);
    const fs::path target = copy / path.filename();
    std::fstream file(target, std::ios::in | std::ios::out | std::ios::binary);
    const auto offset = static_cast<std::streamoff>(fs::file_size(target) / 2);
    file.seekg(offset);
    char byte = 0;
    file.read(&byte, 1);
    file.seekp(offset);
    byte = static_cast<char>(byte ^ 1);
    file.write(&byte, 1);
    file.close();
    CommandResult tampered =
        Cli({"ledger", "verify", copy.string(), "--service-cert", certificate});
    EXPECT_EQ(tampered.exit_code, 1) << path.filename() << ": " << tampered.out << tampered.err;
    EXPECT_NE(tampered.err.find("NOT intact"), std::string::npos) << tampered.err;
  }
}

}  // namespace
}  // namespace cloister
