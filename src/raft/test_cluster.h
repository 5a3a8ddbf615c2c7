// TestCluster: a few raft nodes wired through a lossless in-memory network, for the unit and
// scenario tests. Follows the Ready rules (messages leave only after the Ready is taken, applied
// entries are recorded per node). Test-only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cloister/base/rng.h"
#include "cloister/raft/raft.h"

namespace cloister::raft::testing {

class TestCluster {
 public:
  struct Node {
    std::unique_ptr<DeterministicRng> rng;
    std::unique_ptr<Raft> raft;
    std::vector<Entry> applied;
    std::vector<ReadState> reads;
    std::optional<Snapshot> installed;
  };

  RaftOptions Options(NodeId id) const {
    RaftOptions o;
    o.id = id;
    o.pre_vote = pre_vote;
    o.check_quorum = check_quorum;
    o.election_ticks = 10;
    o.heartbeat_ticks = 1;
    return o;
  }

  // Founders sharing `voters` (ids as given).
  void Found(const std::set<NodeId>& voters) {
    for (NodeId id : voters) {
      RaftOptions o = Options(id);
      o.bootstrap.voters = voters;
      Add(id, o);
    }
  }
  // A joining member with an empty configuration.
  void Join(NodeId id) { Add(id, Options(id)); }

  Raft& operator[](NodeId id) { return *nodes.at(id).raft; }

  // Drops messages from -> to while the pair is in `cut`.
  void Cut(NodeId from, NodeId to) { cut.insert({from, to}); }
  void Isolate(NodeId id) {
    for (auto& [other, node] : nodes) {
      if (other != id) {
        Cut(id, other);
        Cut(other, id);
      }
    }
  }
  void Heal() { cut.clear(); }

  // Drains every node's Ready and delivers messages until nothing is left. Returns the
  // delivered (or dropped, prefixed "DROP ") messages in order, described.
  std::vector<std::string> Stabilize(size_t max_rounds = 1000) {
    std::vector<std::string> trace;
    for (size_t round = 0; round < max_rounds; ++round) {
      std::vector<Message> outbox = Collect();
      if (outbox.empty()) return trace;
      for (const Message& m : outbox) {
        const bool dropped =
            cut.count({m.from, m.to}) != 0 || nodes.count(m.to) == 0 || down.count(m.to) != 0;
        trace.push_back((dropped ? "DROP " : "") + DescribeMessage(m));
        if (!dropped) {
          Status s = nodes.at(m.to).raft->Step(m);
          if (!s.ok()) trace.push_back("error: " + s.error().ToString());
        }
      }
    }
    trace.push_back("not stable after max rounds");
    return trace;
  }

  // Takes every Ready once and returns the messages, applying entries and snapshots.
  std::vector<Message> Collect() {
    std::vector<Message> out;
    for (auto& [id, node] : nodes) {
      if (down.count(id) != 0) continue;
      while (node.raft->HasReady()) {
        Ready ready = node.raft->TakeReady();
        if (ready.snapshot) {
          node.installed = ready.snapshot;
          node.applied.clear();
        }
        for (Entry& e : ready.committed_entries) node.applied.push_back(std::move(e));
        for (ReadState& r : ready.read_states) node.reads.push_back(r);
        for (Message& m : ready.messages) out.push_back(std::move(m));
        node.raft->Advance();
      }
    }
    return out;
  }

  void TickAll(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      for (auto& [id, node] : nodes) {
        if (down.count(id) == 0) node.raft->Tick();
      }
    }
  }

  // The leader among running nodes with the highest term, or 0.
  NodeId Leader() const {
    NodeId best = kNoNode;
    uint64_t term = 0;
    for (const auto& [id, node] : nodes) {
      if (down.count(id) == 0 && node.raft->role() == Role::kLeader && node.raft->term() >= term) {
        best = id;
        term = node.raft->term();
      }
    }
    return best;
  }

  bool pre_vote = true;
  bool check_quorum = true;
  std::map<NodeId, Node> nodes;
  std::set<std::pair<NodeId, NodeId>> cut;
  std::set<NodeId> down;

 private:
  void Add(NodeId id, const RaftOptions& o) {
    Node node;
    node.rng = std::make_unique<DeterministicRng>(id * 7919);
    node.raft = std::make_unique<Raft>(o, *node.rng);
    nodes.emplace(id, std::move(node));
  }
};

}  // namespace cloister::raft::testing
