// Committed entries per second through a 3-node raft cluster held in memory: no I/O, no
// encoding, messages handed from one node's Ready straight to the addressee's Step. This measures
// the consensus core alone (log bookkeeping, flow control, commit and apply hand-off), the upper
// bound that persistence and networking in the node layer then lower.
//
// Each iteration proposes `batch` entries of `payload` bytes at the leader and pumps every
// node's Ready (persist = drop, send = Step, apply = count) until all three nodes have applied
// them. The leader's log is compacted as it goes so memory stays bounded.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <vector>

#include "cloister/base/assert.h"
#include "cloister/base/rng.h"
#include "cloister/raft/raft.h"

namespace cloister::raft {
namespace {

class MemoryCluster {
 public:
  MemoryCluster() {
    Configuration config;
    config.voters = {1, 2, 3};
    for (NodeId id : config.voters) {
      Node& node = nodes_[id];
      node.rng = std::make_unique<DeterministicRng>(id);
      RaftOptions o;
      o.id = id;
      o.bootstrap = config;
      node.raft = std::make_unique<Raft>(o, *node.rng);
    }
    nodes_[1].raft->Campaign();
    Pump();
    ASSERT(nodes_[1].raft->role() == Role::kLeader, "node 1 did not win the election");
  }

  Raft& leader() { return *nodes_[1].raft; }

  // Delivers messages and applies entries until no node has anything to do.
  void Pump() {
    for (bool busy = true; busy;) {
      busy = false;
      for (auto& [id, node] : nodes_) {
        while (node.raft->HasReady()) {
          busy = true;
          Ready ready = node.raft->TakeReady();
          for (const Entry& e : ready.committed_entries) node.applied = e.index;
          for (Message& m : ready.messages) outbox_.push_back(std::move(m));
          node.raft->Advance();
        }
      }
      for (Message& m : outbox_) {
        Status s = nodes_[m.to].raft->Step(m);
        ASSERT(s.ok(), "step failed: ", s.error().message);
      }
      busy = busy || !outbox_.empty();
      outbox_.clear();
    }
  }

  uint64_t MinApplied() const {
    uint64_t least = UINT64_MAX;
    for (const auto& [id, node] : nodes_) least = std::min(least, node.applied);
    return least;
  }

  // Keeps the logs short: every node discards what it has applied.
  void CompactAll() {
    for (auto& [id, node] : nodes_) {
      Status s = node.raft->Compact(node.applied, {});
      ASSERT(s.ok(), "compact failed: ", s.error().message);
    }
  }

 private:
  struct Node {
    std::unique_ptr<DeterministicRng> rng;
    std::unique_ptr<Raft> raft;
    uint64_t applied = 0;
  };
  std::map<NodeId, Node> nodes_;
  std::vector<Message> outbox_;
};

// args: payload bytes, entries proposed per round trip.
void BM_CommittedEntries(benchmark::State& state) {
  const auto payload_bytes = static_cast<size_t>(state.range(0));
  const auto batch = static_cast<uint64_t>(state.range(1));
  MemoryCluster cluster;
  const Bytes payload(payload_bytes, 0x5a);
  uint64_t committed = 0;
  uint64_t rounds = 0;
  for (auto _ : state) {
    uint64_t last = 0;
    for (uint64_t i = 0; i < batch; ++i) {
      Result<uint64_t> index = cluster.leader().Propose(payload);
      ASSERT(index.ok(), "propose failed");
      last = *index;
    }
    cluster.Pump();
    ASSERT(cluster.MinApplied() >= last, "entry ", last, " not applied everywhere");
    committed += batch;
    if (++rounds % 64 == 0) cluster.CompactAll();
  }
  state.SetItemsProcessed(static_cast<int64_t>(committed));
  state.SetBytesProcessed(static_cast<int64_t>(committed * payload_bytes));
  state.counters["entries/s"] =
      benchmark::Counter(static_cast<double>(committed), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CommittedEntries)
    ->ArgNames({"payload", "batch"})
    ->Args({64, 1})
    ->Args({64, 64})
    ->Args({1024, 1})
    ->Args({1024, 64})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cloister::raft
