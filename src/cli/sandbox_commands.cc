// `cloister sandbox [--nodes 3] [--dir D]`: a local development network of N cloisterd processes
// with simulated TEEs. Node 0 founds the service (genesis); the others join it one after the
// other, each attesting with the simulated TEE. When every node is a trusted voter and the whole
// service verifies against D/policy.json, the sandbox's member (D/member0_*.pem) opens the network
// by vote (a signed open_network proposal and its ballot, docs/governance.md), and one line
// containing `ready` is printed. The sandbox
// then runs until SIGINT or SIGTERM, and stops its nodes (SIGTERM, then SIGKILL after 10 s).
// A node that dies meanwhile is reported and not restarted (tests kill nodes on purpose).
//
// Everything a client needs is written to D (layout in client_support.h), so that
// `cloister tx submit --sandbox D --private TEXT` works from another shell.
//
// The simulated TEE is insecure by design: the policy the sandbox writes names the simulated
// root, so it must never be used to judge a production service.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "client_support.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/x509.h"
#include "cloister/gov/proposals.h"
#include "cloister/gov/request.h"
#include "cloister/tee/attester.h"
#include "cloister/tee/virtual_tee.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

struct SandboxFlags {
  int nodes = 3;
  std::string dir;
  std::string cloisterd;
  int timeout_s = 120;
  std::string log_level = "info";
  bool fsync = false;
};

struct Child {
  std::string name;
  pid_t pid = -1;
  bool running = false;
};

// The cloisterd executable: --cloisterd, $CLOISTERD, next to this program, the build tree, PATH.
Result<std::string> FindCloisterd(const std::string& flag) {
  if (!flag.empty()) return fs::absolute(flag).string();
  if (const char* env = std::getenv("CLOISTERD"); env != nullptr && *env != '\0') {
    return fs::absolute(env).string();
  }
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  std::vector<fs::path> candidates;
  if (!error) {
    const fs::path dir = self.parent_path();
    candidates = {dir / "cloisterd", dir / ".." / "node" / "cloisterd",
                  dir / ".." / "apps" / "cloisterd"};
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::string entries = path;
    for (size_t start = 0, end = 0; start <= entries.size(); start = end + 1) {
      end = entries.find(':', start);
      if (end == std::string::npos) end = entries.size();
      if (end > start)
        candidates.push_back(fs::path(entries.substr(start, end - start)) / "cloisterd");
    }
  }
  for (const fs::path& candidate : candidates) {
    if (::access(candidate.c_str(), X_OK) == 0) return fs::canonical(candidate).string();
  }
  return NotFoundError("cloisterd not found (give --cloisterd PATH or set CLOISTERD)");
}

// A TCP port on 127.0.0.1 that is free now (the kernel's choice for port 0).
Result<uint16_t> FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return IoError("socket: ", std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) return IoError("cannot find a free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

Status WriteMember(const std::string& dir) {
  ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  crypto::CertificateRequest request{
      .common_name = "sandbox member 0", .not_before = now - 3600, .not_after = now + 365 * 86400};
  ASSIGN_OR_RETURN(crypto::Certificate certificate,
                   crypto::IssueCertificate(request, key.Public(), key, nullptr));
  RETURN_IF_ERROR(WriteTextFile(dir + "/member0_cert.pem", certificate.Pem()));
  RETURN_IF_ERROR(WriteTextFile(dir + "/member0_key.pem", key.ToPem()));
  ::chmod((dir + "/member0_key.pem").c_str(), 0600);
  return OkStatus();
}

// The policy clients of the sandbox expect: the simulated root and exactly this cloisterd.
Status WritePolicy(const std::string& path, const std::string& cloisterd) {
  ASSIGN_OR_RETURN(Bytes measurement, tee::MeasureExecutable(cloisterd));
  tee::Policy policy;
  policy.simulated_roots.push_back(tee::SimulatedRootFingerprint());
  tee::PlatformRule rule;
  rule.platform = tee::Platform::kVirtual;
  rule.measurements.push_back(measurement);
  policy.platforms.push_back(rule);
  return WriteTextFile(path, policy.ToJson() + "\n");
}

std::string NodeToml(const SandboxFlags& flags, const SandboxNode& node, size_t index,
                     const SandboxLayout& layout) {
  std::string toml = "# Written by `cloister sandbox` (development only: simulated TEE).\n";
  toml += "[node]\nname = \"" + node.name + "\"\ndata_dir = \"data\"\n";
  toml += "node_listen = \"" + node.node_address + "\"\n";
  toml += "client_listen = \"" + node.client_address + "\"\n";
  toml += "platform = \"virtual\"\nlog_level = \"" + flags.log_level + "\"\n";
  toml += "\n[raft]\ntick_ms = 20\nelection_ticks = 10\nheartbeat_ticks = 2\n";
  toml += std::string("\n[ledger]\nfsync = ") + (flags.fsync ? "true" : "false") +
          "\nsignature_interval_ms = 100\n";
  if (index == 0) {
    toml += "\n[genesis]\nservice_name = \"sandbox\"\n";
    toml += "member_certificates = [\"" + layout.dir + "/member0_cert.pem\"]\n";
    toml += "policy = \"" + layout.policy_path + "\"\n";
    toml += "service_certificate_out = \"" + layout.service_certificate_path + "\"\n";
  } else {
    toml += "\n[join]\ntarget = \"" + layout.nodes.front().client_address + "\"\n";
    toml += "service_certificate = \"" + layout.service_certificate_path + "\"\n";
  }
  return toml;
}

Result<pid_t> Spawn(const std::string& cloisterd, const std::string& verb,
                    const SandboxNode& node) {
  const std::string config = node.dir + "/node.toml";
  const std::string log = node.dir + "/cloisterd.log";
  const pid_t pid = ::fork();
  if (pid < 0) return IoError("fork: ", std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    // The node stops if the sandbox dies without stopping it (e.g. SIGKILL).
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    if (::chdir(node.dir.c_str()) != 0) ::_exit(127);
    ::execl(cloisterd.c_str(), cloisterd.c_str(), verb.c_str(), "--config", config.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

class Sandbox {
 public:
  Sandbox(SandboxFlags flags, sigset_t signals) : flags_(std::move(flags)), signals_(signals) {}
  ~Sandbox() { StopAll(); }

  Status Prepare();
  Status StartAll();
  // The sandbox's member opens the network as members of any network do: it signs an
  // open_network proposal and its ballot for it (one member: the threshold is one vote).
  Status OpenByVote();
  void RunUntilSignal();
  void StopAll();
  [[nodiscard]] const SandboxLayout& layout() const { return layout_; }

 private:
  // Reaps exited children (reporting them); true when SIGINT/SIGTERM arrived. Waits up to
  // `timeout` for a signal.
  bool PollSignals(std::chrono::milliseconds timeout);
  // Waits until `done` holds, a signal arrives, a child dies, or the timeout passes.
  Status WaitFor(const std::string& what, const std::function<Result<bool>()>& done);
  Result<bool> AllJoined(size_t count);
  Status EnsureClient();

  SandboxFlags flags_;
  sigset_t signals_;
  std::string cloisterd_;
  SandboxLayout layout_;
  std::vector<Child> children_;
  std::unique_ptr<Connected> connected_;
  bool interrupted_ = false;
};

Status Sandbox::Prepare() {
  ASSIGN_OR_RETURN(cloisterd_, FindCloisterd(flags_.cloisterd));
  if (flags_.dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "cloister-sandbox-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return IoError("mkdtemp: ", std::strerror(errno));
    flags_.dir = pattern;
  }
  std::error_code error;
  fs::create_directories(flags_.dir, error);
  if (error) return IoError("cannot create '", flags_.dir, "': ", error.message());
  layout_.dir = fs::canonical(flags_.dir).string();
  if (fs::exists(layout_.dir + "/" + kSandboxFile)) {
    return AlreadyExistsError(layout_.dir, " already holds a sandbox: use an empty directory");
  }
  layout_.service_certificate_path = layout_.dir + "/service_cert.pem";
  layout_.policy_path = layout_.dir + "/policy.json";
  RETURN_IF_ERROR(WriteMember(layout_.dir));
  RETURN_IF_ERROR(WritePolicy(layout_.policy_path, cloisterd_));
  std::set<uint16_t> used;
  auto fresh_port = [&used]() -> Result<uint16_t> {
    for (int attempt = 0; attempt < 64; ++attempt) {
      ASSIGN_OR_RETURN(uint16_t port, FreePort());
      if (used.insert(port).second) return port;
    }
    return IoError("no distinct free ports on 127.0.0.1");
  };
  for (int i = 0; i < flags_.nodes; ++i) {
    SandboxNode node;
    node.name = "node" + std::to_string(i);
    node.dir = layout_.dir + "/" + node.name;
    ASSIGN_OR_RETURN(uint16_t node_port, fresh_port());
    ASSIGN_OR_RETURN(uint16_t client_port, fresh_port());
    node.node_address = "127.0.0.1:" + std::to_string(node_port);
    node.client_address = "127.0.0.1:" + std::to_string(client_port);
    fs::create_directories(node.dir + "/data", error);
    if (error) return IoError("cannot create '", node.dir, "': ", error.message());
    layout_.nodes.push_back(std::move(node));
  }
  for (size_t i = 0; i < layout_.nodes.size(); ++i) {
    RETURN_IF_ERROR(WriteTextFile(layout_.nodes[i].dir + "/node.toml",
                                  NodeToml(flags_, layout_.nodes[i], i, layout_)));
  }
  return WriteTextFile(layout_.dir + "/" + kSandboxFile, layout_.ToJson());
}

bool Sandbox::PollSignals(std::chrono::milliseconds timeout) {
  timespec wait{static_cast<time_t>(timeout.count() / 1000),
                static_cast<long>((timeout.count() % 1000) * 1'000'000)};
  const int signal = ::sigtimedwait(&signals_, nullptr, &wait);
  if (signal == SIGINT || signal == SIGTERM) interrupted_ = true;
  int status = 0;
  for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
    for (Child& child : children_) {
      if (child.pid != pid) continue;
      child.running = false;
      std::cerr << "sandbox: " << child.name << " (pid " << pid << ") exited with "
                << (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                      : "signal " + std::to_string(WTERMSIG(status)))
                << "; its log is " << layout_.dir << "/" << child.name << "/cloisterd.log\n";
    }
  }
  return interrupted_;
}

Status Sandbox::WaitFor(const std::string& what, const std::function<Result<bool>()>& done) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(flags_.timeout_s);
  std::string last_error;
  while (SteadyClock::now() < deadline) {
    if (PollSignals(std::chrono::milliseconds(250))) return UnavailableError("interrupted");
    for (const Child& child : children_) {
      if (!child.running) return UnavailableError(child.name, " exited while waiting for ", what);
    }
    Result<bool> result = done();
    if (result.ok() && *result) return OkStatus();
    if (!result.ok()) last_error = result.error().ToString();
  }
  return TimeoutError("no ", what, " after ", flags_.timeout_s, " s",
                      last_error.empty() ? "" : " (last error: " + last_error + ")");
}

Status Sandbox::EnsureClient() {
  if (connected_) return OkStatus();
  ConnectFlags connect;
  connect.sandbox = layout_.dir;
  connect.timeout_s = 5;
  ASSIGN_OR_RETURN(Connected connected, Connect(connect, /*attest=*/false));
  connected_ = std::make_unique<Connected>(std::move(connected));
  return OkStatus();
}

// True when the first `count` nodes are trusted voters of the committed state and the whole
// service verifies against the sandbox policy.
Result<bool> Sandbox::AllJoined(size_t count) {
  if (!fs::exists(layout_.service_certificate_path)) return false;
  RETURN_IF_ERROR(EnsureClient());
  ASSIGN_OR_RETURN(client::Response response, connected_->client->Get("/node/attestation"));
  ASSIGN_OR_RETURN(client::ServiceView view, client::ParseServiceView(response.body));
  for (size_t i = 0; i < count; ++i) {
    bool joined = false;
    for (const client::NodeView& node : view.nodes) {
      joined |= node.client_address == layout_.nodes[i].client_address &&
                node.status == "trusted" && node.raft_role == "voter";
    }
    if (!joined) return false;
  }
  Result<client::VerifiedService> verified = connected_->client->Attest();
  if (!verified.ok()) return verified.error();
  return true;
}

Status Sandbox::StartAll() {
  for (size_t i = 0; i < layout_.nodes.size(); ++i) {
    const SandboxNode& node = layout_.nodes[i];
    ASSIGN_OR_RETURN(pid_t pid, Spawn(cloisterd_, i == 0 ? "start" : "join", node));
    children_.push_back({node.name, pid, true});
    std::cerr << "sandbox: started " << node.name << " (pid " << pid << ", client "
              << node.client_address << ")\n";
    RETURN_IF_ERROR(WaitFor(node.name + (i == 0 ? " genesis" : " join"),
                            [this, i] { return AllJoined(i + 1); }));
  }
  return OkStatus();
}

Status Sandbox::OpenByVote() {
  RETURN_IF_ERROR(EnsureClient());
  ASSIGN_OR_RETURN(std::string key_pem, ReadTextFile(layout_.dir + "/member0_key.pem"));
  ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::FromPem(key_pem));
  ASSIGN_OR_RETURN(std::string member_pem, ReadTextFile(layout_.dir + "/member0_cert.pem"));
  ASSIGN_OR_RETURN(crypto::Certificate member, crypto::Certificate::FromPem(member_pem));
  ASSIGN_OR_RETURN(std::string service_pem, ReadTextFile(layout_.service_certificate_path));
  ASSIGN_OR_RETURN(crypto::Certificate service, crypto::Certificate::FromPem(service_pem));
  auto submit = [&](gov::RequestType type, const std::string& proposal_id,
                    std::string_view payload) -> Result<nlohmann::json> {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    gov::RequestHeaders headers{type, now, proposal_id, crypto::SecureRandomBytes(16),
                                gov::ServiceIdOf(service)};
    ASSIGN_OR_RETURN(Bytes request, gov::SignRequest(key, member, headers, AsBytes(payload)));
    ASSIGN_OR_RETURN(client::Response answer,
                     connected_->client->Post("/gov/requests", ToString(request)));
    nlohmann::json body = nlohmann::json::parse(answer.body, nullptr, false);
    if (!body.is_object() || !body.contains("proposal_id") || !body["proposal_id"].is_string() ||
        !body.contains("state") || !body["state"].is_string()) {
      return ParseError("governance answer without proposal_id and state: ",
                        answer.body.substr(0, 200));
    }
    return body;
  };
  ASSIGN_OR_RETURN(std::string proposal, gov::MakeProposal("open_network", "{}"));
  ASSIGN_OR_RETURN(nlohmann::json proposed, submit(gov::RequestType::kProposal, "", proposal));
  const std::string id = proposed["proposal_id"].get<std::string>();
  std::cerr << "sandbox: member0 proposed open_network (proposal " << id.substr(0, 16) << "..., "
            << proposed["state"].get<std::string>() << ")\n";
  ASSIGN_OR_RETURN(nlohmann::json voted,
                   submit(gov::RequestType::kBallot, id, R"({"vote":"for"})"));
  const std::string state = voted["state"].get<std::string>();
  std::cerr << "sandbox: member0 voted for it: proposal " << state << " in transaction "
            << voted.value("transaction_id", std::string("?")) << "\n";
  if (state != "accepted") {
    return FailedPreconditionError("the open_network proposal is ", state, ", not accepted");
  }
  return OkStatus();
}

void Sandbox::RunUntilSignal() {
  while (!PollSignals(std::chrono::milliseconds(1000))) {
  }
}

void Sandbox::StopAll() {
  for (const Child& child : children_) {
    if (child.running) ::kill(child.pid, SIGTERM);
  }
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  for (Child& child : children_) {
    while (child.running) {
      int status = 0;
      const pid_t done = ::waitpid(child.pid, &status, WNOHANG);
      if (done == child.pid || done < 0) {
        child.running = false;
      } else if (SteadyClock::now() > deadline) {
        ::kill(child.pid, SIGKILL);
        ::waitpid(child.pid, &status, 0);
        child.running = false;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
}

int RunSandbox(const SandboxFlags& flags) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  Sandbox sandbox(flags, signals);
  if (Status prepared = sandbox.Prepare(); !prepared.ok()) {
    std::cerr << "cloister sandbox: " << prepared.error().ToString() << "\n";
    return kExitUsage;
  }
  Status started = sandbox.StartAll();
  if (started.ok()) started = sandbox.OpenByVote();
  if (!started.ok()) {
    std::cerr << "cloister sandbox: " << started.error().ToString() << "\n";
    return started.error().code == ErrorCode::kVerification ||
                   started.error().code == ErrorCode::kPolicy
               ? kExitRejected
               : kExitUsage;
  }
  std::cout << "sandbox ready: " << flags.nodes << " nodes, dir " << sandbox.layout().dir
            << ", service certificate " << sandbox.layout().service_certificate_path
            << ", client API " << sandbox.layout().nodes.front().client_address << std::endl;
  sandbox.RunUntilSignal();
  std::cerr << "sandbox: stopping " << flags.nodes << " nodes\n";
  sandbox.StopAll();
  return kExitOk;
}

void AddSandboxCommands(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<SandboxFlags>();
  CLI::App* sandbox = app.add_subcommand(
      "sandbox", "Run a local network of cloisterd processes with simulated TEEs");
  sandbox->add_option("--nodes", flags->nodes, "Number of nodes")->check(CLI::Range(1, 9));
  sandbox->add_option("--dir", flags->dir, "Directory for configs, ledgers and logs (empty)");
  sandbox->add_option("--cloisterd", flags->cloisterd, "Path of the cloisterd executable");
  sandbox->add_option("--timeout", flags->timeout_s, "Seconds allowed for each node to join")
      ->check(CLI::Range(5, 3600));
  sandbox->add_option("--log-level", flags->log_level, "cloisterd log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  sandbox->add_flag(
      "--fsync", flags->fsync,
      "Sync the ledgers to disk before acknowledging (as in production; default off)");
  sandbox->callback([=] { *exit_code = RunSandbox(*flags); });
}

const bool kRegistered = RegisterCommands("sandbox", &AddSandboxCommands);

}  // namespace
}  // namespace cloister::cli
