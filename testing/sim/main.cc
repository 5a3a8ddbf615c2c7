// cloister-sim: runs the raft simulator over a range of seeds.
//
//   cloister-sim --seeds N [--seed S] [--nodes K] [--faults PROFILE] [--verbose]
//
// Runs seeds S..S+N-1 (S defaults to 1) with K nodes (default 3) under PROFILE (none, network,
// partition, crash, hostile, all, or mixed: the profile rotates with the seed). For each failure
// it prints the seed, the check that failed and the exact command that reproduces it; the last
// line is always "N passed, M failed". Exit status: 0 if all passed, 1 on any failure, 2 on a
// usage error.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "simulator.h"

namespace {

constexpr cloister::sim::FaultProfile kRotation[] = {
    cloister::sim::FaultProfile::kNone,      cloister::sim::FaultProfile::kNetwork,
    cloister::sim::FaultProfile::kPartition, cloister::sim::FaultProfile::kCrash,
    cloister::sim::FaultProfile::kHostile,   cloister::sim::FaultProfile::kAll};

bool ParseUint(const char* text, uint64_t* out) {
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || text[0] == '-') return false;
  *out = value;
  return true;
}

int Usage(const char* why) {
  std::fprintf(stderr,
               "cloister-sim: %s\nusage: cloister-sim --seeds N [--seed S] [--nodes K] "
               "[--faults none|network|partition|crash|hostile|all|mixed] [--verbose]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seeds = 0;
  uint64_t first = 1;
  uint64_t nodes = 3;
  std::string faults = "all";
  bool have_seeds = false;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "--verbose") {
      verbose = true;
      continue;
    }
    if (value == nullptr) return Usage(("missing value for " + arg).c_str());
    ++i;
    if (arg == "--seeds") {
      if (!ParseUint(value, &seeds)) return Usage("--seeds takes a number");
      have_seeds = true;
    } else if (arg == "--seed") {
      if (!ParseUint(value, &first)) return Usage("--seed takes a number");
    } else if (arg == "--nodes") {
      if (!ParseUint(value, &nodes) || nodes < 1 || nodes > 9) {
        return Usage("--nodes takes a number from 1 to 9");
      }
    } else if (arg == "--faults") {
      faults = value;
      cloister::sim::FaultProfile p;
      if (faults != "mixed" && !cloister::sim::ParseFaultProfile(faults, &p)) {
        return Usage(("unknown fault profile " + faults).c_str());
      }
    } else {
      return Usage(("unknown argument " + arg).c_str());
    }
  }
  if (!have_seeds) return Usage("--seeds is required");

  const auto start = std::chrono::steady_clock::now();
  uint64_t passed = 0;
  uint64_t failed = 0;
  cloister::sim::SimStats total;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    cloister::sim::SimOptions options;
    options.seed = seed;
    options.nodes = static_cast<int>(nodes);
    if (faults == "mixed") {
      options.profile = kRotation[seed % 6];
    } else {
      cloister::sim::ParseFaultProfile(faults, &options.profile);
    }
    const cloister::sim::SimResult r = cloister::sim::RunSimulation(options);
    total.messages_delivered += r.stats.messages_delivered;
    total.messages_replayed += r.stats.messages_replayed;
    total.messages_refused += r.stats.messages_refused;
    total.crashes += r.stats.crashes;
    total.replacements += r.stats.replacements;
    total.client_ops_ok += r.stats.client_ops_ok;
    total.snapshots_installed += r.stats.snapshots_installed;
    total.rollback_attacks += r.stats.rollback_attacks;
    total.stale_leader_choices += r.stats.stale_leader_choices;
    total.liveness_ms = std::max(total.liveness_ms, r.stats.liveness_ms);
    if (verbose) {
      std::printf(
          "seed %llu %s: %s max_term=%llu committed=%llu ops=%llu/%llu unknown "
          "crashes=%llu replaced=%llu snapshots=%llu refused=%llu live_after=%llums\n",
          static_cast<unsigned long long>(seed), cloister::sim::FaultProfileName(options.profile),
          r.ok ? "ok" : "FAIL", static_cast<unsigned long long>(r.stats.max_term),
          static_cast<unsigned long long>(r.stats.committed),
          static_cast<unsigned long long>(r.stats.client_ops_ok),
          static_cast<unsigned long long>(r.stats.client_ops_unknown),
          static_cast<unsigned long long>(r.stats.crashes),
          static_cast<unsigned long long>(r.stats.replacements),
          static_cast<unsigned long long>(r.stats.snapshots_installed),
          static_cast<unsigned long long>(r.stats.messages_refused),
          static_cast<unsigned long long>(r.stats.liveness_ms));
    }
    if (r.ok) {
      ++passed;
      continue;
    }
    ++failed;
    std::printf(
        "FAIL seed %llu (faults %s, %llu nodes): %s\n  reproduce: cloister-sim --seeds 1 "
        "--seed %llu --nodes %llu --faults %s\n",
        static_cast<unsigned long long>(seed), cloister::sim::FaultProfileName(options.profile),
        static_cast<unsigned long long>(nodes), r.failure.c_str(),
        static_cast<unsigned long long>(seed), static_cast<unsigned long long>(nodes),
        faults.c_str());
    std::fflush(stdout);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "totals: %.1fs, %llu messages, %llu replayed, %llu refused (rolled-back copies), "
      "%llu crashes, %llu replacements, %llu snapshots installed, %llu client ops, "
      "%llu client ops saw two leaders, slowest recovery %llums\n",
      seconds, static_cast<unsigned long long>(total.messages_delivered),
      static_cast<unsigned long long>(total.messages_replayed),
      static_cast<unsigned long long>(total.messages_refused),
      static_cast<unsigned long long>(total.crashes),
      static_cast<unsigned long long>(total.replacements),
      static_cast<unsigned long long>(total.snapshots_installed),
      static_cast<unsigned long long>(total.client_ops_ok),
      static_cast<unsigned long long>(total.stale_leader_choices),
      static_cast<unsigned long long>(total.liveness_ms));
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(passed),
              static_cast<unsigned long long>(failed));
  return failed == 0 ? 0 : 1;
}
