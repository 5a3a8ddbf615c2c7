// `cloister bench`: one load generator for two targets, so that Cloister and etcd are measured
// by the same code with the same workload (docs/performance.md).
//
//  - Cloister (--sandbox D, or --server/--service-cert/--policy): every client thread verifies the
//    service's attestation, then keeps one HTTPS connection and one HPKE context (one key
//    agreement per client stream). A put is one sealed private write event of the example
//    application, answered once committed (fsynced on a majority); a read is GET /app/kv of a
//    key the thread wrote, linearizable: a follower redirects it to the leader (the client
//    follows), which answers after a ReadIndex round confirms its leadership (docs/api.md
//    "Reads"); --serializable reads the node's local committed state instead.
//  - etcd (--etcd URL[,URL...]): every client thread keeps one plain HTTP connection to one of
//    the URLs (round robin) and drives etcd's JSON gateway: POST /v3/kv/put, and for reads
//    POST /v3/kv/range (linearizable, the gateway's default serializable=false; with
//    --serializable, serializable=true).
//
// C threads run for --duration seconds (or until -n operations in total); connections are set
// up before the clock starts. Reports operations/s and latency mean/p50/p90/p99/max, as text or
// one JSON object (--json). Exit 0 when every operation succeeded, 1 when some failed, 2 for
// usage or set-up errors.
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <latch>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "client_support.h"
#include "cloister/client/load.h"
#include "cloister/crypto/random.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct BenchFlags {
  ConnectFlags connect;
  std::string etcd;  // comma-separated http://host:port
  std::string workload = "put";
  int events = 0;
  double duration_s = 0;
  int connections = 8;
  int value_bytes = 100;
  bool is_public = false;
  bool serializable = false;
  bool no_keep_alive = false;
  bool json = false;
};

struct Totals {
  std::mutex mutex;
  std::vector<double> latencies_ms;
  size_t failed = 0;
  std::vector<std::string> setup_errors;
  std::string first_error;
  std::atomic<int> next{0};
};

// One client stream against one target: Setup() before the clock starts, then Put/Read.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual Status Setup() = 0;
  virtual Status Put(const std::string& key, const std::string& value) = 0;
  virtual Status Read(const std::string& key, const std::string& expect) = 0;
};

class CloisterStream final : public Stream {
 public:
  CloisterStream(const BenchFlags& flags) : flags_(flags) {}

  Status Setup() override {
    ASSIGN_OR_RETURN(connected_, Connect(flags_.connect, true, !flags_.no_keep_alive));
    return OkStatus();
  }
  Status Put(const std::string& key, const std::string& value) override {
    const std::string event = client::CloisterPutEvent(key, value, flags_.is_public);
    Result<client::Submitted> submitted = connected_.client->Submit(AsBytes(event));
    if (!submitted.ok()) return submitted.error();
    return OkStatus();
  }
  Status Read(const std::string& key, const std::string& expect) override {
    std::string target = client::CloisterReadTarget(key, flags_.serializable);
    if (flags_.is_public) target += "&public=true";
    ASSIGN_OR_RETURN(client::Response response, connected_.client->Get(target));
    const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
    if (!body.is_object() || !body.contains("value") || body["value"] != expect) {
      return ConflictError("read of ", key, " did not return the value written");
    }
    return OkStatus();
  }

 private:
  const BenchFlags& flags_;
  Connected connected_;
};

class EtcdStream final : public Stream {
 public:
  EtcdStream(const BenchFlags& flags, node::HostPort server)
      : flags_(flags), server_(std::move(server)) {}

  Status Setup() override {
    node::HttpsClientOptions options;
    options.timeout = std::chrono::seconds(flags_.connect.timeout_s);
    options.keep_alive = !flags_.no_keep_alive;
    http_ = std::make_unique<node::HttpClient>(options);
    // One range to open the connection and check that etcd answers.
    return Call("/v3/kv/range", client::EtcdRangeBody("cloister-bench-probe"), "");
  }
  Status Put(const std::string& key, const std::string& value) override {
    return Call("/v3/kv/put", client::EtcdPutBody(key, value), "");
  }
  Status Read(const std::string& key, const std::string& expect) override {
    return Call("/v3/kv/range", client::EtcdRangeBody(key, flags_.serializable), expect);
  }

 private:
  Status Call(const std::string& target, const std::string& body, const std::string& expect) {
    ASSIGN_OR_RETURN(node::HttpsResult result, http_->Request(server_, "POST", target, body));
    return client::CheckEtcdResponse(result.status, result.body, expect);
  }

  const BenchFlags& flags_;
  node::HostPort server_;
  std::unique_ptr<node::HttpClient> http_;
};

Result<std::vector<node::HostPort>> ParseEtcdUrls(const std::string& list) {
  std::vector<node::HostPort> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const std::string url =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? list.size() + 1 : comma + 1;
    constexpr std::string_view kScheme = "http://";
    if (url.compare(0, kScheme.size(), kScheme) != 0) {
      return InvalidArgumentError("--etcd: '", url, "' is not an http://HOST:PORT URL");
    }
    std::string authority = url.substr(kScheme.size());
    if (!authority.empty() && authority.back() == '/') authority.pop_back();
    Result<node::HostPort> address = node::HostPort::Parse(authority);
    if (!address.ok() || address->port == 0) {
      return InvalidArgumentError("--etcd: '", url, "' is not an http://HOST:PORT URL");
    }
    out.push_back(*address);
  }
  return out;
}

void RecordError(Totals* totals, const Error& error) {
  std::lock_guard lock(totals->mutex);
  ++totals->failed;
  if (totals->first_error.empty()) totals->first_error = error.ToString();
}

void Worker(const BenchFlags& flags, int worker, const std::string& run, Stream* stream,
            std::latch* ready, const std::atomic<bool>* go, SteadyClock::time_point* deadline,
            Totals* totals) {
  Status setup = stream->Setup();
  const std::string value(static_cast<size_t>(flags.value_bytes), 'v');
  const std::string read_key = "bench-" + run + "-r" + std::to_string(worker);
  if (setup.ok() && flags.workload == "read") setup = stream->Put(read_key, value);
  if (!setup.ok()) {
    std::lock_guard lock(totals->mutex);
    totals->setup_errors.push_back(setup.error().ToString());
  }
  ready->count_down();
  while (!go->load()) std::this_thread::yield();
  if (!setup.ok()) return;
  std::vector<double> latencies;
  for (int number = 0;; ++number) {
    if (flags.duration_s > 0) {
      if (SteadyClock::now() >= *deadline) break;
    } else if (totals->next.fetch_add(1) >= flags.events) {
      break;
    }
    const auto start = SteadyClock::now();
    const Status done = flags.workload == "read"
                            ? stream->Read(read_key, value)
                            : stream->Put("bench-" + run + "-" + std::to_string(worker) + "-" +
                                              std::to_string(number),
                                          value);
    const std::chrono::duration<double, std::milli> elapsed = SteadyClock::now() - start;
    if (!done.ok()) {
      RecordError(totals, done.error());
      continue;
    }
    latencies.push_back(elapsed.count());
  }
  std::lock_guard lock(totals->mutex);
  totals->latencies_ms.insert(totals->latencies_ms.end(), latencies.begin(), latencies.end());
}

int RunBench(BenchFlags flags) {
  if (flags.workload != "put" && flags.workload != "read") {
    std::cerr << "cloister bench: --workload must be put or read\n";
    return kExitUsage;
  }
  if (flags.duration_s <= 0 && flags.events <= 0) flags.events = 1000;
  const bool etcd = !flags.etcd.empty();
  std::vector<node::HostPort> etcd_servers;
  if (etcd) {
    if (!flags.connect.sandbox.empty() || !flags.connect.server.empty()) {
      std::cerr << "cloister bench: give either --etcd or a Cloister service, not both\n";
      return kExitUsage;
    }
    Result<std::vector<node::HostPort>> parsed = ParseEtcdUrls(flags.etcd);
    if (!parsed.ok()) {
      std::cerr << "cloister bench: " << parsed.error().message << "\n";
      return kExitUsage;
    }
    etcd_servers = std::move(parsed).value();
  } else {
    // Fail fast (and send nothing) when the service does not verify.
    Result<Connected> probe = Connect(flags.connect);
    if (!probe.ok()) {
      std::cerr << "cloister bench: " << probe.error().ToString() << "\n";
      return probe.error().code == ErrorCode::kPolicy ||
                     probe.error().code == ErrorCode::kVerification
                 ? kExitRejected
                 : kExitUsage;
    }
  }
  const std::string run = ToHex(crypto::SecureRandomBytes(4));
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < flags.connections; ++i) {
    if (etcd) {
      streams.push_back(std::make_unique<EtcdStream>(
          flags, etcd_servers[static_cast<size_t>(i) % etcd_servers.size()]));
    } else {
      streams.push_back(std::make_unique<CloisterStream>(flags));
    }
  }
  Totals totals;
  std::latch ready(flags.connections);
  std::atomic<bool> go{false};
  SteadyClock::time_point deadline;
  std::vector<std::thread> threads;
  for (int i = 0; i < flags.connections; ++i) {
    threads.emplace_back(Worker, std::cref(flags), i, std::cref(run),
                         streams[static_cast<size_t>(i)].get(), &ready, &go, &deadline, &totals);
  }
  ready.wait();
  const auto start = SteadyClock::now();
  deadline = start + std::chrono::duration_cast<SteadyClock::duration>(
                         std::chrono::duration<double>(flags.duration_s));
  go.store(true);
  for (std::thread& thread : threads) thread.join();
  const std::chrono::duration<double> elapsed = SteadyClock::now() - start;
  if (!totals.setup_errors.empty()) {
    std::cerr << "cloister bench: " << totals.setup_errors.size() << " of " << flags.connections
              << " connections failed to set up; first error: " << totals.setup_errors.front()
              << "\n";
    return kExitUsage;
  }
  const client::LatencySummary latency = client::Summarize(std::move(totals.latencies_ms));
  const double rate = static_cast<double>(latency.count) / elapsed.count();
  nlohmann::json out;
  out["target"] = etcd ? "etcd" : "cloister";
  out["workload"] = flags.workload;
  out["connections"] = flags.connections;
  out["value_bytes"] = flags.value_bytes;
  out["keep_alive"] = !flags.no_keep_alive;
  out["seconds"] = elapsed.count();
  out["ops"] = latency.count;
  out["failed"] = totals.failed;
  out["ops_per_second"] = rate;
  out["latency_ms"] = {{"mean", latency.mean},
                       {"p50", latency.p50},
                       {"p90", latency.p90},
                       {"p99", latency.p99},
                       {"max", latency.max}};
  if (flags.json) {
    std::cout << out.dump() << "\n";
  } else {
    std::printf(
        "%s %s, %d connections, %d-byte values: %zu ops in %.2f s = %.1f ops/s; "
        "latency ms mean %.2f p50 %.2f p90 %.2f p99 %.2f max %.2f; %zu failed\n",
        etcd ? "etcd" : "cloister", flags.workload.c_str(), flags.connections, flags.value_bytes,
        latency.count, elapsed.count(), rate, latency.mean, latency.p50, latency.p90, latency.p99,
        latency.max, totals.failed);
  }
  if (totals.failed > 0) {
    std::cerr << "cloister bench: " << totals.failed
              << " operations failed; first error: " << totals.first_error << "\n";
    return kExitRejected;
  }
  return kExitOk;
}

void AddBenchCommands(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* bench = app.add_subcommand(
      "bench", "Load generator for a Cloister service or etcd: ops/s and latency");
  flags->connect.AddTo(bench);
  bench->add_option("--etcd", flags->etcd,
                    "Drive etcd's JSON gateway instead: http://HOST:PORT[,http://HOST:PORT...]");
  bench->add_option("-w,--workload", flags->workload, "put (sealed private writes) or read")
      ->check(CLI::IsMember({"put", "read"}));
  bench->add_option("--duration", flags->duration_s, "Run for S seconds (instead of -n)")
      ->check(CLI::Range(0.1, 86400.0));
  bench->add_option("-n,--events", flags->events, "Operations in total (default 1000)")
      ->check(CLI::Range(1, 10'000'000));
  bench->add_option("-c,--connections", flags->connections, "Concurrent client connections")
      ->check(CLI::Range(1, 256));
  bench->add_option("--value-bytes", flags->value_bytes, "Size of each value (default 100)")
      ->check(CLI::Range(1, 200'000));
  bench->add_flag("--public", flags->is_public, "Cloister: write the public map instead");
  bench->add_flag("--serializable", flags->serializable,
                  "Reads from the node's local committed state, without a ReadIndex round "
                  "(etcd: serializable=true)");
  bench->add_flag("--no-keep-alive", flags->no_keep_alive,
                  "Open a new connection for every request (for comparison)");
  bench->add_flag("--json", flags->json, "Print one JSON object");
  bench->callback([=] { *exit_code = RunBench(*flags); });
}

const bool kRegistered = RegisterCommands("bench", &AddBenchCommands);

}  // namespace
}  // namespace cloister::cli
