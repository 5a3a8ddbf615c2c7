// The whole-cluster raft simulator: N raft nodes, a hostile network and host, a KV client
// workload, all on one thread and driven by one seed.
//
// Each run has a fault phase (the profile's faults: message delay, drop, duplication and
// reordering; symmetric and one-way partitions; clock skew, jumps and VM pauses; crashes, each
// followed by replacement with a NEW member id that joins as a learner, is promoted, while the
// dead member is removed; replay of any recorded earlier message; a rolled-back copy of a node
// restarted under its OLD id), then a healed phase in which progress must resume within a bound.
//
// After every event the simulator checks election safety (at most one leader per term), log
// matching (an (index, term) pair names one entry and one predecessor, across all nodes and all
// time), leader completeness (a new leader holds every committed entry), state machine safety
// (every node applies the same entry and reaches the same state digest at each index, no entry
// is applied twice), the monotonic commit index of each node incarnation, and the Ready ordering
// rule (nothing is sent before the state it promises is persisted). At the end the client
// history must be linearizable and the healed cluster must have made progress.
#pragma once

#include <cstdint>
#include <string>

namespace cloister::sim {

enum class FaultProfile : uint8_t { kNone, kNetwork, kPartition, kCrash, kHostile, kAll };

// "none", "network", ...; nullopt-like false on unknown names.
bool ParseFaultProfile(const std::string& name, FaultProfile* out);
const char* FaultProfileName(FaultProfile profile);

struct SimOptions {
  uint64_t seed = 1;
  int nodes = 3;
  FaultProfile profile = FaultProfile::kAll;
  uint64_t fault_phase_ms = 2000;     // simulated time with faults
  uint64_t liveness_bound_ms = 5000;  // after healing, progress must happen within this
};

struct SimStats {
  uint64_t events = 0;
  uint64_t messages_delivered = 0;
  uint64_t messages_dropped = 0;
  uint64_t messages_replayed = 0;
  uint64_t messages_refused = 0;  // from a rolled-back instance under an old id
  uint64_t max_term = 0;
  uint64_t committed = 0;
  uint64_t client_ops_ok = 0;
  uint64_t client_ops_unknown = 0;
  uint64_t crashes = 0;
  uint64_t replacements = 0;
  uint64_t snapshots_installed = 0;
  uint64_t rollback_attacks = 0;
  uint64_t liveness_ms = 0;
  uint64_t stale_leader_choices = 0;  // client ops that saw two nodes claiming leadership
};

struct SimResult {
  bool ok = true;
  std::string failure;  // which check failed, with details
  SimStats stats;
};

SimResult RunSimulation(const SimOptions& options);

}  // namespace cloister::sim
