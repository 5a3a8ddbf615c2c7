// `cloister bench`: a load generator for a Cloister service. C client threads, each with its own
// HTTPS connection(s) and its own HPKE context (one key agreement per thread), submit N sealed
// events of the example application in total and wait for each to commit. Prints committed
// events per second and the commit latency percentiles (p50, p90, p99, max) of the events, as
// text or JSON. Every thread verifies the service's attestation before sending anything.
// Exit 0 when every event committed, 1 when some were refused, 2 for usage or network errors.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "client_support.h"
#include "cloister/crypto/random.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct BenchFlags {
  ConnectFlags connect;
  int events = 1000;
  int connections = 8;
  int value_bytes = 64;
  bool is_public = false;
  bool json = false;
};

struct Totals {
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::vector<std::string> errors;
  std::atomic<int> next{0};
};

std::string BenchEvent(int number, const std::string& run, const std::string& value,
                       bool is_public) {
  nlohmann::json event;
  event["op"] = "put";
  event["key"] = "bench-" + run + "-" + std::to_string(number);
  event["value"] = value;
  if (is_public) event["public"] = true;
  return event.dump();
}

void Worker(const BenchFlags& flags, const std::string& run, Totals* totals) {
  Result<Connected> connected = Connect(flags.connect);
  if (!connected.ok()) {
    std::lock_guard lock(totals->mutex);
    totals->errors.push_back(connected.error().ToString());
    return;
  }
  const std::string value(static_cast<size_t>(flags.value_bytes), 'v');
  std::vector<double> latencies;
  for (int number; (number = totals->next.fetch_add(1)) < flags.events;) {
    const std::string event = BenchEvent(number, run, value, flags.is_public);
    const auto start = SteadyClock::now();
    Result<client::Submitted> submitted = connected->client->Submit(AsBytes(event));
    const std::chrono::duration<double, std::milli> elapsed = SteadyClock::now() - start;
    if (!submitted.ok()) {
      std::lock_guard lock(totals->mutex);
      totals->errors.push_back(submitted.error().ToString());
      continue;
    }
    latencies.push_back(elapsed.count());
  }
  std::lock_guard lock(totals->mutex);
  totals->latencies_ms.insert(totals->latencies_ms.end(), latencies.begin(), latencies.end());
}

double Percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(fraction * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

int RunBench(const BenchFlags& flags) {
  // Fail fast (and send nothing) when the service does not verify.
  Result<Connected> probe = Connect(flags.connect);
  if (!probe.ok()) {
    std::cerr << "cloister bench: " << probe.error().ToString() << "\n";
    return probe.error().code == ErrorCode::kPolicy ||
                   probe.error().code == ErrorCode::kVerification
               ? kExitRejected
               : kExitUsage;
  }
  const std::string run = ToHex(crypto::SecureRandomBytes(4));
  Totals totals;
  const auto start = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < flags.connections; ++i) threads.emplace_back(Worker, flags, run, &totals);
  for (std::thread& thread : threads) thread.join();
  const std::chrono::duration<double> elapsed = SteadyClock::now() - start;
  std::vector<double>& sorted = totals.latencies_ms;
  std::sort(sorted.begin(), sorted.end());
  const double rate = static_cast<double>(sorted.size()) / elapsed.count();
  nlohmann::json out;
  out["events"] = flags.events;
  out["connections"] = flags.connections;
  out["value_bytes"] = flags.value_bytes;
  out["committed"] = sorted.size();
  out["failed"] = totals.errors.size();
  out["seconds"] = elapsed.count();
  out["committed_per_second"] = rate;
  out["latency_ms"] = {{"p50", Percentile(sorted, 0.50)},
                       {"p90", Percentile(sorted, 0.90)},
                       {"p99", Percentile(sorted, 0.99)},
                       {"max", sorted.empty() ? 0.0 : sorted.back()}};
  if (flags.json) {
    std::cout << out.dump() << "\n";
  } else {
    std::printf(
        "%zu/%d events committed over %d connections in %.2f s: %.1f committed events/s; "
        "latency ms p50 %.1f p90 %.1f p99 %.1f max %.1f\n",
        sorted.size(), flags.events, flags.connections, elapsed.count(), rate,
        Percentile(sorted, 0.5), Percentile(sorted, 0.9), Percentile(sorted, 0.99),
        sorted.empty() ? 0.0 : sorted.back());
  }
  if (!totals.errors.empty()) {
    std::cerr << "cloister bench: " << totals.errors.size()
              << " events failed; first error: " << totals.errors.front() << "\n";
    return kExitRejected;
  }
  return kExitOk;
}

void AddBenchCommands(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* bench = app.add_subcommand(
      "bench", "Load generator: sealed events over C connections; events/s and latency");
  flags->connect.AddTo(bench);
  bench->add_option("-n,--events", flags->events, "Events in total")
      ->check(CLI::Range(1, 10'000'000));
  bench->add_option("-c,--connections", flags->connections, "Concurrent client threads")
      ->check(CLI::Range(1, 256));
  bench->add_option("--value-bytes", flags->value_bytes, "Size of each event's value")
      ->check(CLI::Range(0, 200'000));
  bench->add_flag("--public", flags->is_public, "Write the public map instead of the private");
  bench->add_flag("--json", flags->json, "Print one JSON object");
  bench->callback([=] { *exit_code = RunBench(*flags); });
}

const bool kRegistered = RegisterCommands("bench", &AddBenchCommands);

}  // namespace
}  // namespace cloister::cli
