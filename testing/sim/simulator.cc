#include "simulator.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <utility>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/rng.h"
#include "cloister/raft/codec.h"
#include "cloister/raft/raft.h"
#include "linearizability.h"

namespace cloister::sim {
namespace {

using raft::Entry;
using raft::EntryType;
using raft::Message;
using raft::MessageType;
using raft::NodeId;
using raft::Role;

constexpr uint64_t kTickBaseMs = 8;
constexpr uint64_t kClients = 3;
constexpr uint64_t kKeys = 3;
constexpr uint64_t kOpTimeoutMs = 150;
constexpr uint8_t kProbeOp = 4;

uint64_t Fnv(ByteSpan bytes, uint64_t h = 0xcbf29ce484222325ULL) {
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ULL;
  return h;
}

uint64_t EntryHash(const Entry& e) {
  const uint8_t type = static_cast<uint8_t>(e.type);
  return Fnv(e.data, Fnv(ByteSpan(&type, 1)));
}

struct EncodedOp {
  uint8_t kind = 0;
  uint64_t op_id = 0;
  uint64_t key = 0;
  uint64_t value = 0;
  uint64_t expected = 0;
};

Bytes EncodeOp(const EncodedOp& op) {
  Bytes out;
  ByteWriter w(&out);
  w.U8(op.kind);
  w.U64Le(op.op_id);
  w.U64Le(op.key);
  w.U64Le(op.value);
  w.U64Le(op.expected);
  return out;
}

Result<EncodedOp> DecodeOp(ByteSpan data) {
  ByteReader r(data, "op");
  EncodedOp op;
  ASSIGN_OR_RETURN(op.kind, r.U8("kind"));
  ASSIGN_OR_RETURN(op.op_id, r.U64Le("op id"));
  ASSIGN_OR_RETURN(op.key, r.U64Le("key"));
  ASSIGN_OR_RETURN(op.value, r.U64Le("value"));
  ASSIGN_OR_RETURN(op.expected, r.U64Le("expected"));
  return op;
}

struct Disk {
  raft::HardState hard_state;
  uint64_t last_index = 0;
};

struct SimNode {
  NodeId id = 0;
  uint64_t key = 0;     // the per-launch identity key its channel messages carry
  bool genuine = true;  // false: a rolled-back copy restarted under an old id
  bool alive = true;
  std::unique_ptr<DeterministicRng> rng;
  std::unique_ptr<raft::Raft> raft;
  uint64_t tick_period_ms = 10;
  uint64_t slow_until = 0;  // host attack: the clock runs slow (slow_period_ms per tick) until then
  uint64_t slow_period_ms = 0;
  uint64_t paused_until = 0;
  Disk disk;
  std::map<uint64_t, uint64_t> kv;
  std::set<uint64_t> applied_ops;
  uint64_t applied_index = 0;
  uint64_t last_commit = 0;
  Role last_role = Role::kFollower;
  uint64_t last_term = 0;
  std::vector<raft::ReadState> ready_reads;
  uint64_t compact_every = 20;
};

struct Flight {
  Bytes bytes;
  NodeId to = 0;
  NodeId from = 0;
  uint64_t sender_key = 0;
};

enum class EventKind : uint8_t { kDeliver, kTick, kClient, kOperator, kFault };

struct Event {
  uint64_t time;
  uint64_t seq;
  EventKind kind;
  uint64_t arg;
  uint64_t generation;
  bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

struct Client {
  bool busy = false;
  uint64_t generation = 0;
  size_t history_index = 0;
  uint64_t op_id = 0;
  NodeId node = 0;
  NodeId preferred = 0;  // clients stick to the node that last served them while it leads
};

struct CommittedInfo {
  uint64_t term = 0;  // the entry's term (0: not known committed yet)
  uint64_t hash = 0;
  uint64_t commit_term = 0;  // term of the leader that committed it (or an upper bound)
};

struct FaultRates {
  double drop = 0;
  double duplicate = 0;
  double long_delay = 0.05;
  bool partitions = false;
  bool crashes = false;
  bool hostile = false;  // replay, rollback restart, clock jumps, pauses
  bool transfers = false;
};

FaultRates RatesFor(FaultProfile profile) {
  FaultRates r;
  switch (profile) {
    case FaultProfile::kNone:
      break;
    case FaultProfile::kNetwork:
      r = {.drop = 0.08, .duplicate = 0.05, .long_delay = 0.15};
      break;
    case FaultProfile::kPartition:
      r = {.drop = 0.02, .duplicate = 0.01, .long_delay = 0.05, .partitions = true};
      break;
    case FaultProfile::kCrash:
      r = {.drop = 0.02, .long_delay = 0.05, .crashes = true, .transfers = true};
      break;
    case FaultProfile::kHostile:
      r = {.drop = 0.03, .duplicate = 0.05, .long_delay = 0.1, .crashes = true, .hostile = true};
      break;
    case FaultProfile::kAll:
      r = {.drop = 0.05,
           .duplicate = 0.05,
           .long_delay = 0.1,
           .partitions = true,
           .crashes = true,
           .hostile = true,
           .transfers = true};
      break;
  }
  return r;
}

class Simulator {
 public:
  explicit Simulator(const SimOptions& options)
      : options_(options), rng_(options.seed), rates_(RatesFor(options.profile)) {}

  SimResult Run();

 private:
  // Setup and scheduling.
  size_t AddNode(NodeId id, raft::Configuration bootstrap, bool genuine);
  void Schedule(uint64_t at, EventKind kind, uint64_t arg, uint64_t generation = 0) {
    queue_.push(Event{at, next_seq_++, kind, arg, generation});
  }
  SimNode* Genuine(NodeId id) {
    auto it = genuine_.find(id);
    return it == genuine_.end() ? nullptr : nodes_[it->second].get();
  }
  SimNode* Leader();
  void Fail(const std::string& what);

  // Event handlers.
  void HandleEvent(const Event& e);
  void Deliver(uint64_t flight);
  void TickNode(size_t index);
  void ClientStep(uint64_t client, uint64_t generation);
  void OperatorStep();
  void FaultStep();
  void Heal();

  // Node output.
  void ProcessReady(SimNode& node);
  void Send(SimNode& node, const Message& m);
  void Transmit(uint64_t flight, bool allow_duplicate);
  void CheckSendRule(const SimNode& node, const Message& m);
  void CheckNewEntries(const SimNode& node, const std::vector<Entry>& entries);
  void Apply(SimNode& node, const Entry& e);
  void InstallSnapshot(SimNode& node, const raft::Snapshot& snapshot);
  void ServeReads(SimNode& node);
  void CheckNode(SimNode& node);
  void CheckLeaderCompleteness(const SimNode& node);
  void RecordDigest(uint64_t index, uint64_t digest);
  void RecordCommitTerm(uint64_t index, uint64_t term);
  uint64_t Digest(const SimNode& node) const;
  Bytes EncodeState(const SimNode& node) const;
  void CompleteOp(uint64_t client, uint64_t value, bool cas_ok);

  // Faults.
  void Crash(SimNode& node);
  void Partition();
  bool Blocked(NodeId from, NodeId to) const { return blocked_.count({from, to}) != 0; }

  SimOptions options_;
  DeterministicRng rng_;
  FaultRates rates_;
  SimResult result_;
  uint64_t now_ = 0;
  uint64_t next_seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::map<NodeId, size_t> genuine_;
  std::map<NodeId, size_t> rogue_;
  std::map<NodeId, uint64_t> pinned_key_;
  std::vector<Flight> flights_;
  std::vector<uint64_t> recorded_;  // flights eligible for replay (reservoir)
  uint64_t sent_count_ = 0;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  bool healed_ = false;

  // Checker state.
  std::map<uint64_t, NodeId> leaders_;  // term -> leader
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> entries_;  // (i,t)->(h,pt)
  std::vector<CommittedInfo> committed_;                                            // by index
  std::vector<uint64_t> digests_;  // state digest after index
  uint64_t max_committed_ = 0;

  // Membership operations.
  NodeId next_id_ = 0;
  std::set<NodeId> dead_;
  NodeId pending_learner_ = 0;

  // Workload.
  std::vector<Client> clients_;
  std::vector<KvOp> history_;
  std::vector<bool> history_dropped_;
  std::map<uint64_t, uint64_t> op_client_;  // op id -> client (while pending)
  uint64_t next_op_id_ = 1;
  uint64_t next_value_ = 1;
  uint64_t probe_op_ = 0;
  uint64_t heal_committed_ = 0;
  bool converged_ = false;
  bool live_ = false;
};

// ---------------------------------------------------------------------------------------------

void Simulator::Fail(const std::string& what) {
  if (!result_.ok) return;
  result_.ok = false;
  result_.failure = "t=" + std::to_string(now_) + "ms: " + what;
}

size_t Simulator::AddNode(NodeId id, raft::Configuration bootstrap, bool genuine) {
  auto node = std::make_unique<SimNode>();
  node->id = id;
  node->genuine = genuine;
  node->key = rng_.Next() | 1;
  node->rng = std::make_unique<DeterministicRng>(rng_.Fork());
  raft::RaftOptions o;
  o.id = id;
  o.bootstrap = std::move(bootstrap);
  o.election_ticks = 10;
  o.heartbeat_ticks = 2;
  o.max_inflight_messages = 1 + rng_.Uniform(8);
  o.max_message_bytes = 64 + rng_.Uniform(512);
  node->raft = std::make_unique<raft::Raft>(o, *node->rng);
  node->tick_period_ms = kTickBaseMs + rng_.Uniform(6);  // skewed clocks: 8..13 ms per tick
  node->compact_every = 3 + rng_.Uniform(40);
  node->applied_index = node->raft->log().applied();
  node->last_commit = node->raft->log().committed();
  node->disk.last_index = node->raft->log().LastIndex();  // the genesis image
  const size_t index = nodes_.size();
  nodes_.push_back(std::move(node));
  if (genuine) {
    genuine_[id] = index;
    pinned_key_[id] = nodes_[index]->key;
  } else {
    rogue_[id] = index;
  }
  Schedule(now_ + 1 + rng_.Uniform(kTickBaseMs), EventKind::kTick, index);
  return index;
}

SimNode* Simulator::Leader() {
  SimNode* best = nullptr;
  for (auto& [id, index] : genuine_) {
    SimNode* n = nodes_[index].get();
    if (!n->alive || n->paused_until > now_ || n->raft->role() != Role::kLeader) continue;
    if (best == nullptr || n->raft->term() > best->raft->term()) best = n;
  }
  return best;
}

SimResult Simulator::Run() {
  raft::Configuration config;
  for (int i = 1; i <= options_.nodes; ++i) config.voters.insert(static_cast<NodeId>(i));
  next_id_ = static_cast<NodeId>(options_.nodes) + 1;
  for (NodeId id : config.voters) AddNode(id, config, true);
  RecordDigest(1, Digest(*nodes_[0]));
  clients_.resize(kClients);
  for (uint64_t c = 0; c < kClients; ++c) Schedule(rng_.Uniform(50), EventKind::kClient, c);
  Schedule(50, EventKind::kOperator, 0);
  Schedule(100 + rng_.Uniform(100), EventKind::kFault, 0);
  const uint64_t heal_at = options_.fault_phase_ms;
  const uint64_t end_at = heal_at + options_.liveness_bound_ms;
  while (!queue_.empty() && result_.ok && !live_) {
    const Event e = queue_.top();
    queue_.pop();
    now_ = e.time;
    if (now_ >= end_at) break;
    if (!healed_ && now_ >= heal_at) Heal();
    ++result_.stats.events;
    HandleEvent(e);
  }
  if (result_.ok && !live_) {
    std::string states;
    for (const auto& n : nodes_) {
      const raft::Raft& r = *n->raft;
      states += "\n    node " + std::to_string(n->id) + (n->genuine ? "" : " (rolled-back copy)") +
                (n->alive ? "" : " dead") + ": " + std::string(raft::RoleName(r.role())) +
                " term " + std::to_string(r.term()) + " leader " + std::to_string(r.leader()) +
                " commit " + std::to_string(r.log().committed()) + " last " +
                std::to_string(r.log().LastIndex()) + " " + r.config().ToString();
    }
    Fail("liveness: no progress within " + std::to_string(options_.liveness_bound_ms) +
         "ms after the faults healed; pending learner " + std::to_string(pending_learner_) +
         states);
  }
  if (result_.ok) {
    std::vector<KvOp> history;
    for (size_t i = 0; i < history_.size(); ++i) {
      if (!history_dropped_[i]) history.push_back(history_[i]);
      if (history_[i].response_time == KvOp::kNoResponse && !history_dropped_[i]) {
        ++result_.stats.client_ops_unknown;
      }
    }
    LinearizabilityResult lin = CheckLinearizable(history);
    if (!lin.ok) Fail("linearizability: " + lin.explanation);
  }
  result_.stats.committed = max_committed_;
  return result_;
}

void Simulator::HandleEvent(const Event& e) {
  switch (e.kind) {
    case EventKind::kDeliver:
      Deliver(e.arg);
      break;
    case EventKind::kTick:
      TickNode(e.arg);
      break;
    case EventKind::kClient:
      ClientStep(e.arg, e.generation);
      break;
    case EventKind::kOperator:
      OperatorStep();
      Schedule(now_ + 20 + rng_.Uniform(40), EventKind::kOperator, 0);
      break;
    case EventKind::kFault:
      if (!healed_) {
        FaultStep();
        Schedule(now_ + 10 + rng_.Uniform(60), EventKind::kFault, 0);
      }
      break;
  }
}

void Simulator::Heal() {
  healed_ = true;
  heal_committed_ = max_committed_;
  blocked_.clear();
  rates_.drop = 0;
  rates_.duplicate = 0;
  for (auto& n : nodes_) {
    n->paused_until = std::min(n->paused_until, now_);
    n->slow_until = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Network

void Simulator::Send(SimNode& node, const Message& m) {
  const uint64_t flight = flights_.size();
  flights_.push_back(Flight{raft::EncodeMessage(m), m.to, node.id, node.key});
  ++sent_count_;
  if (recorded_.size() < 256) {
    recorded_.push_back(flight);
  } else if (rng_.Uniform(sent_count_) < 256) {
    recorded_[rng_.Uniform(256)] = flight;
  }
  Transmit(flight, true);
}

void Simulator::Transmit(uint64_t flight, bool allow_duplicate) {
  const Flight& f = flights_[flight];
  if (Blocked(f.from, f.to) || rng_.Chance(rates_.drop)) {
    ++result_.stats.messages_dropped;
    return;
  }
  uint64_t delay = 1 + rng_.Uniform(4);
  if (rng_.Chance(rates_.long_delay)) delay += 5 + rng_.Uniform(60);
  Schedule(now_ + delay, EventKind::kDeliver, flight);
  if (allow_duplicate && rng_.Chance(rates_.duplicate)) Transmit(flight, false);
}

void Simulator::Deliver(uint64_t flight) {
  const Flight& f = flights_[flight];
  SimNode* to = Genuine(f.to);
  if (to == nullptr || !to->alive) {
    // The host may hand traffic for a dead member to a rolled-back copy under its id.
    auto it = rogue_.find(f.to);
    to = it == rogue_.end() ? nullptr : nodes_[it->second].get();
  }
  if (to == nullptr || !to->alive) return;
  if (to->paused_until > now_) {
    Schedule(to->paused_until + rng_.Uniform(40), EventKind::kDeliver, flight);
    return;
  }
  // Channel authentication (node layer): the sender's key must be the one pinned for its id.
  auto pinned = pinned_key_.find(f.from);
  if (pinned == pinned_key_.end() || pinned->second != f.sender_key) {
    ++result_.stats.messages_refused;
    return;
  }
  auto m = raft::DecodeMessage(f.bytes);
  if (!m) {
    Fail("codec: our own message failed to decode: " + m.error().ToString());
    return;
  }
  ++result_.stats.messages_delivered;
  // An error here is a replay sent to the wrong node: refused by the core, which is the point.
  (void)to->raft->Step(*m);
  ProcessReady(*to);
}

// ---------------------------------------------------------------------------------------------
// Nodes

void Simulator::TickNode(size_t index) {
  SimNode& node = *nodes_[index];
  if (!node.alive) return;
  if (node.paused_until > now_) {
    Schedule(node.paused_until, EventKind::kTick, index);
    return;
  }
  node.raft->Tick();
  ProcessReady(node);
  const bool slow = node.slow_until > now_;
  Schedule(now_ + (slow ? node.slow_period_ms : node.tick_period_ms), EventKind::kTick, index);
}

void Simulator::ProcessReady(SimNode& node) {
  for (int guard = 0; guard < 100 && node.raft->HasReady(); ++guard) {
    raft::Ready rd = node.raft->TakeReady();
    // Rule 1: persist hard state, snapshot, entries.
    if (rd.hard_state) node.disk.hard_state = *rd.hard_state;
    if (rd.snapshot) node.disk.last_index = rd.snapshot->index;
    if (!rd.entries.empty()) {
      if (node.genuine) CheckNewEntries(node, rd.entries);
      node.disk.last_index = rd.entries.back().index;
    }
    // Rule 2: send.
    for (const Message& m : rd.messages) {
      if (node.genuine) CheckSendRule(node, m);
      Send(node, m);
    }
    // Rule 3: apply.
    if (rd.snapshot) InstallSnapshot(node, *rd.snapshot);
    for (const Entry& e : rd.committed_entries) Apply(node, e);
    for (const raft::ReadState& r : rd.read_states) node.ready_reads.push_back(r);
    node.raft->Advance();
    ServeReads(node);
    if (node.applied_index >= node.raft->log().snapshot().index + node.compact_every) {
      Status s = node.raft->Compact(node.applied_index, EncodeState(node));
      if (!s.ok()) Fail("compact: " + s.error().ToString());
    }
  }
  if (node.genuine) CheckNode(node);
}

void Simulator::CheckSendRule(const SimNode& node, const Message& m) {
  const raft::HardState& hs = node.disk.hard_state;
  const bool future_term =
      m.type == MessageType::kPreVote || (m.type == MessageType::kPreVoteResponse && !m.reject);
  if (!future_term && m.term > hs.term) {
    Fail("ready rule: node " + std::to_string(node.id) + " sent " + raft::DescribeMessage(m) +
         " before persisting term " + std::to_string(m.term));
  }
  if (m.type == MessageType::kVoteResponse && !m.reject && (hs.vote != m.to || hs.term != m.term)) {
    Fail("ready rule: node " + std::to_string(node.id) + " granted a vote before persisting it");
  }
  if (m.type == MessageType::kAppendResponse && !m.reject && m.index > node.disk.last_index) {
    Fail("ready rule: node " + std::to_string(node.id) + " acknowledged index " +
         std::to_string(m.index) + " before persisting it (disk ends at " +
         std::to_string(node.disk.last_index) + ")");
  }
}

void Simulator::CheckNewEntries(const SimNode& node, const std::vector<Entry>& entries) {
  // Log matching: (index, term) always names the same entry with the same predecessor term.
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    uint64_t prev_term = UINT64_MAX;
    if (i > 0) {
      prev_term = entries[i - 1].term;
    } else if (auto t = node.raft->log().Term(e.index - 1)) {
      prev_term = *t;
    }
    const auto key = std::make_pair(e.index, e.term);
    const auto value = std::make_pair(EntryHash(e), prev_term);
    auto [it, inserted] = entries_.emplace(key, value);
    if (inserted) continue;
    if (it->second.first != value.first) {
      Fail("log matching: two different entries " + std::to_string(e.index) + "/" +
           std::to_string(e.term) + " (node " + std::to_string(node.id) + ")");
    } else if (it->second.second == UINT64_MAX) {
      it->second.second = prev_term;
    } else if (prev_term != UINT64_MAX && it->second.second != prev_term) {
      Fail("log matching: entry " + std::to_string(e.index) + "/" + std::to_string(e.term) +
           " follows different terms on different nodes (node " + std::to_string(node.id) + ")");
    }
  }
}

uint64_t Simulator::Digest(const SimNode& node) const {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const auto& [k, v] : node.kv) h = ((h ^ k) * 0x100000001b3ULL ^ v) * 0x100000001b3ULL;
  return h;
}

void Simulator::RecordDigest(uint64_t index, uint64_t digest) {
  if (digests_.size() <= index) digests_.resize(index + 1, 0);
  if (digests_[index] == 0) {
    digests_[index] = digest;
  } else if (digests_[index] != digest) {
    Fail("state machine safety: different states after index " + std::to_string(index));
  }
}

Bytes Simulator::EncodeState(const SimNode& node) const {
  Bytes out;
  ByteWriter w(&out);
  w.U64Le(node.kv.size());
  for (const auto& [k, v] : node.kv) {
    w.U64Le(k);
    w.U64Le(v);
  }
  w.U64Le(node.applied_ops.size());
  for (uint64_t op : node.applied_ops) w.U64Le(op);
  return out;
}

void Simulator::InstallSnapshot(SimNode& node, const raft::Snapshot& snapshot) {
  ++result_.stats.snapshots_installed;
  node.kv.clear();
  node.applied_ops.clear();
  ByteReader r(snapshot.data, "snapshot");
  auto count = snapshot.data.empty() ? Result<uint64_t>(uint64_t{0}) : r.U64Le("kv count");
  for (uint64_t i = 0; count && i < *count; ++i) {
    auto k = r.U64Le("key");
    auto v = r.U64Le("value");
    if (!k || !v) break;
    node.kv[*k] = *v;
  }
  auto ops = snapshot.data.empty() ? Result<uint64_t>(uint64_t{0}) : r.U64Le("op count");
  for (uint64_t i = 0; ops && i < *ops; ++i) {
    auto op = r.U64Le("op");
    if (!op) break;
    node.applied_ops.insert(*op);
  }
  if (!count || !ops || !r.empty()) Fail("snapshot: malformed image");
  node.applied_index = snapshot.index;
  node.ready_reads.clear();
  if (!node.genuine) return;
  if (snapshot.index < committed_.size() && committed_[snapshot.index].term != 0 &&
      committed_[snapshot.index].term != snapshot.term) {
    Fail("state machine safety: snapshot " + std::to_string(snapshot.index) + "/" +
         std::to_string(snapshot.term) + " contradicts the committed log");
  }
  RecordDigest(snapshot.index, Digest(node));
}

void Simulator::Apply(SimNode& node, const Entry& e) {
  if (e.index != node.applied_index + 1) {
    Fail("apply order: node " + std::to_string(node.id) + " applied " + std::to_string(e.index) +
         " after " + std::to_string(node.applied_index));
    return;
  }
  node.applied_index = e.index;
  if (node.genuine) {
    RecordCommitTerm(e.index, node.raft->term());
    CommittedInfo& c = committed_[e.index];
    if (c.term == 0) {
      c.term = e.term;
      c.hash = EntryHash(e);
      max_committed_ = std::max(max_committed_, e.index);
    } else if (c.term != e.term || c.hash != EntryHash(e)) {
      Fail("state machine safety: node " + std::to_string(node.id) + " applied " +
           std::to_string(e.index) + "/" + std::to_string(e.term) + " but " +
           std::to_string(e.index) + "/" + std::to_string(c.term) + " was committed");
    }
  }
  if (e.type == EntryType::kNormal && !e.data.empty()) {
    auto op = DecodeOp(e.data);
    if (!op) {
      Fail("apply: " + op.error().ToString());
      return;
    }
    if (!node.applied_ops.insert(op->op_id).second && node.genuine) {
      Fail("duplicate apply: op " + std::to_string(op->op_id) + " applied twice on node " +
           std::to_string(node.id));
    }
    uint64_t& slot = node.kv[op->key];
    const uint64_t before = slot;
    bool cas_ok = false;
    if (op->kind == static_cast<uint8_t>(OpKind::kPut)) slot = op->value;
    if (op->kind == static_cast<uint8_t>(OpKind::kCas) && slot == op->expected) {
      slot = op->value;
      cas_ok = true;
    }
    if (slot == 0) node.kv.erase(op->key);
    auto pending = op_client_.find(op->op_id);
    if (pending != op_client_.end() && clients_[pending->second].node == node.id && node.genuine) {
      CompleteOp(pending->second, before, cas_ok);
    }
  }
  if (node.genuine) RecordDigest(e.index, Digest(node));
}

void Simulator::ServeReads(SimNode& node) {
  auto it = node.ready_reads.begin();
  while (it != node.ready_reads.end()) {
    if (it->index > node.applied_index) {
      ++it;
      continue;
    }
    auto pending = op_client_.find(it->context);
    if (pending != op_client_.end() && clients_[pending->second].node == node.id && node.genuine) {
      const KvOp& op = history_[clients_[pending->second].history_index];
      auto kv = node.kv.find(op.key);
      CompleteOp(pending->second, kv == node.kv.end() ? 0 : kv->second, false);
    }
    it = node.ready_reads.erase(it);
  }
}

void Simulator::CheckNode(SimNode& node) {
  const raft::Raft& r = *node.raft;
  result_.stats.max_term = std::max(result_.stats.max_term, r.term());
  if (r.log().committed() < node.last_commit) {
    Fail("commit index of node " + std::to_string(node.id) + " went back from " +
         std::to_string(node.last_commit) + " to " + std::to_string(r.log().committed()));
  }
  node.last_commit = r.log().committed();
  if (r.role() == Role::kLeader) {
    RecordCommitTerm(r.log().committed(), r.term());
    auto [it, inserted] = leaders_.emplace(r.term(), node.id);
    if (!inserted && it->second != node.id) {
      Fail("election safety: nodes " + std::to_string(it->second) + " and " +
           std::to_string(node.id) + " both lead term " + std::to_string(r.term()));
    }
    if (node.last_role != Role::kLeader || node.last_term != r.term()) {
      CheckLeaderCompleteness(node);
    }
  }
  node.last_role = r.role();
  node.last_term = r.term();
}

void Simulator::RecordCommitTerm(uint64_t index, uint64_t term) {
  // Entries up to `index` are committed by term `term` at the latest; walk down to the first
  // index already known.
  if (committed_.size() <= index) committed_.resize(index + 1);
  for (uint64_t i = index; i > 0 && committed_[i].commit_term == 0; --i) {
    committed_[i].commit_term = term;
  }
}

void Simulator::CheckLeaderCompleteness(const SimNode& node) {
  // Raft's Leader Completeness: an entry committed in a term below ours is in our log. (An
  // entry committed in a later term need not be: this leader may have been elected by votes
  // that arrived late.)
  const raft::RaftLog& log = node.raft->log();
  const uint64_t term = node.raft->term();
  for (uint64_t i = log.snapshot().index; i < committed_.size(); ++i) {
    const CommittedInfo& c = committed_[i];
    if (c.term == 0 || c.commit_term == 0 || c.commit_term >= term) continue;
    if (i > log.LastIndex()) {
      Fail("leader completeness: node " + std::to_string(node.id) + " leads term " +
           std::to_string(term) + " without entry " + std::to_string(i) + " committed in term " +
           std::to_string(c.commit_term) + " (its log ends at " + std::to_string(log.LastIndex()) +
           ")");
      return;
    }
    const bool same = i == log.snapshot().index ? log.snapshot().term == committed_[i].term
                                                : log.At(i).term == committed_[i].term &&
                                                      EntryHash(log.At(i)) == committed_[i].hash;
    if (!same) {
      Fail("leader completeness: node " + std::to_string(node.id) + " leads term " +
           std::to_string(node.raft->term()) + " with a different entry at committed index " +
           std::to_string(i));
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Clients

void Simulator::CompleteOp(uint64_t client, uint64_t value, bool cas_ok) {
  Client& c = clients_[client];
  KvOp& op = history_[c.history_index];
  op.response_time = now_;
  if (op.kind == OpKind::kGet) op.value = value;
  if (op.kind == OpKind::kCas) op.cas_ok = cas_ok;
  op_client_.erase(c.op_id);
  c.busy = false;
  ++c.generation;
  ++result_.stats.client_ops_ok;
  Schedule(now_ + 1 + rng_.Uniform(20), EventKind::kClient, client, c.generation);
}

void Simulator::ClientStep(uint64_t client, uint64_t generation) {
  Client& c = clients_[client];
  if (generation != c.generation) return;  // an old timer
  if (c.busy) {
    // Timed out: a write's outcome is unknown; a read had no effect and is forgotten.
    c.preferred = 0;
    if (history_[c.history_index].kind == OpKind::kGet) history_dropped_[c.history_index] = true;
    op_client_.erase(c.op_id);
    c.busy = false;
    ++c.generation;
    Schedule(now_ + 1 + rng_.Uniform(10), EventKind::kClient, client, c.generation);
    return;
  }
  if (healed_) return;  // the healed phase checks convergence without new client writes
  SimNode* leader = Genuine(c.preferred);
  if (leader == nullptr || !leader->alive || leader->paused_until > now_ ||
      leader->raft->role() != Role::kLeader) {
    // Leader discovery is not omniscient: any node that believes it leads may be chosen,
    // including a deposed leader that has not noticed yet.
    std::vector<SimNode*> leaders;
    for (auto& [id, index] : genuine_) {
      SimNode* n = nodes_[index].get();
      if (n->alive && n->paused_until <= now_ && n->raft->role() == Role::kLeader) {
        leaders.push_back(n);
      }
    }
    leader = leaders.empty() ? nullptr : leaders[rng_.Uniform(leaders.size())];
    if (leaders.size() > 1) ++result_.stats.stale_leader_choices;
  }
  if (leader == nullptr) {
    Schedule(now_ + 10 + rng_.Uniform(20), EventKind::kClient, client, c.generation);
    return;
  }
  const uint64_t roll = rng_.Uniform(10);
  KvOp op{.client = client,
          .kind = roll < 4 ? OpKind::kGet : (roll < 8 ? OpKind::kPut : OpKind::kCas),
          .key = 1 + rng_.Uniform(kKeys),
          .invoke_time = now_};
  const uint64_t op_id = next_op_id_++;
  Status started = OkStatus();
  if (op.kind == OpKind::kGet) {
    started = leader->raft->ReadIndex(op_id);
  } else {
    op.value = next_value_++;
    if (op.kind == OpKind::kCas) {
      // Expect what the leader's state machine holds now (often current, sometimes stale).
      auto kv = leader->kv.find(op.key);
      op.expected = kv == leader->kv.end() ? 0 : kv->second;
    }
    auto index = leader->raft->Propose(
        EncodeOp({static_cast<uint8_t>(op.kind), op_id, op.key, op.value, op.expected}));
    if (!index) started = index.error();
  }
  if (!started.ok()) {
    Schedule(now_ + 10 + rng_.Uniform(20), EventKind::kClient, client, c.generation);
    return;
  }
  c.busy = true;
  c.op_id = op_id;
  c.node = leader->id;
  c.preferred = 0;  // each operation picks a believed leader afresh
  c.history_index = history_.size();
  history_.push_back(op);
  history_dropped_.push_back(false);
  op_client_[op_id] = client;
  Schedule(now_ + kOpTimeoutMs, EventKind::kClient, client, c.generation);
  ProcessReady(*leader);
}

// ---------------------------------------------------------------------------------------------
// Operator: membership work and, after healing, the liveness probe

void Simulator::OperatorStep() {
  SimNode* leader = Leader();
  if (leader == nullptr) return;
  raft::Raft& r = *leader->raft;
  const raft::Configuration& config = r.config();
  std::optional<raft::ConfChange> change;
  for (NodeId dead : dead_) {
    if (config.IsMember(dead)) {
      change = raft::ConfChange{raft::ConfChangeType::kRemoveNode, dead};
      break;
    }
  }
  if (!change && pending_learner_ != 0) {
    if (!config.IsMember(pending_learner_)) {
      change = raft::ConfChange{raft::ConfChangeType::kAddLearner, pending_learner_};
    } else if (config.IsLearner(pending_learner_)) {
      const raft::Progress* pr = r.ProgressOf(pending_learner_);
      if (pr != nullptr && pr->match >= r.log().committed()) {
        change = raft::ConfChange{raft::ConfChangeType::kPromoteLearner, pending_learner_};
      }
    } else if (r.log().ConfigAt(r.log().committed()).IsVoter(pending_learner_)) {
      pending_learner_ = 0;  // replacement complete
      ++result_.stats.replacements;
    }
  }
  if (change) {
    (void)r.ProposeConfChange(*change);  // refused while another change is pending: retry
    ProcessReady(*leader);
  } else if (!healed_ && rates_.transfers && rng_.Chance(0.05)) {
    const auto& voters = config.voters;
    auto it = voters.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(rng_.Uniform(voters.size())));
    (void)r.TransferLeadership(*it);
    ProcessReady(*leader);
  }
  if (!healed_) return;
  leader = Leader();
  if (leader == nullptr) return;
  if (!converged_) {
    // Liveness, part 1: with no new client writes, every live member catches up with what was
    // committed before the heal (lost Appends must be repaired without fresh traffic).
    const raft::Configuration& members = leader->raft->config();
    for (const std::set<NodeId>* ids : {&members.voters, &members.learners}) {
      for (NodeId id : *ids) {
        SimNode* n = Genuine(id);
        if (n != nullptr && n->alive && n->applied_index < heal_committed_) return;
      }
    }
    converged_ = true;
  }
  // Liveness, part 2: a probe write proposed after healing must reach every live voter.
  if (probe_op_ == 0) {
    probe_op_ = next_op_id_++;
    (void)leader->raft->Propose(EncodeOp({kProbeOp, probe_op_, 0, 0, 0}));
    ProcessReady(*leader);
    return;
  }
  bool everywhere = true;
  bool anywhere = false;
  for (NodeId voter : leader->raft->config().voters) {
    SimNode* n = Genuine(voter);
    if (n == nullptr || !n->alive) continue;
    const bool has = n->applied_ops.count(probe_op_) != 0;
    everywhere = everywhere && has;
    anywhere = anywhere || has;
  }
  if (everywhere) {
    live_ = true;
    result_.stats.liveness_ms = now_ - options_.fault_phase_ms;
  } else if (!anywhere && leader->raft->log().committed() == leader->raft->log().LastIndex()) {
    probe_op_ = 0;  // the probe was lost with an old leader: propose another
  }
}

// ---------------------------------------------------------------------------------------------
// Faults

void Simulator::Crash(SimNode& node) {
  node.alive = false;
  dead_.insert(node.id);
  ++result_.stats.crashes;
  // The machine restarts as a NEW member: fresh id, empty state, joins as a learner.
  pending_learner_ = next_id_++;
  AddNode(pending_learner_, {}, true);
  if (rates_.hostile && rng_.Chance(0.5)) {
    // Host attack: relaunch a rolled-back copy under the OLD id. It cannot hold the old
    // per-launch key, so the best the host can do is start an instance with the old id and the
    // configuration it remembers; its channel messages carry a different key.
    ++result_.stats.rollback_attacks;
    AddNode(node.id, node.raft->log().ConfigAt(node.disk.hard_state.commit), false);
  }
}

void Simulator::Partition() {
  blocked_.clear();
  std::vector<NodeId> ids;
  for (auto& [id, index] : genuine_) {
    if (nodes_[index]->alive) ids.push_back(id);
  }
  if (ids.size() < 2) return;
  const uint64_t mode = rng_.Uniform(3);
  NodeId victim = ids[rng_.Uniform(ids.size())];
  SimNode* leader = Leader();
  if (leader != nullptr && rng_.Chance(0.5)) victim = leader->id;  // the host targets the leader
  if (mode == 0 && (rates_.hostile || rates_.partitions) && rng_.Chance(0.5)) {
    // Isolate the victim and slow its clock: a deposed leader that notices late.
    SimNode& n = *Genuine(victim);
    n.slow_until = now_ + 300 + rng_.Uniform(700);
    n.slow_period_ms = 30 + rng_.Uniform(50);
  }
  for (NodeId a : ids) {
    for (NodeId b : ids) {
      if (a == b) continue;
      if (mode == 0 && (a == victim || b == victim)) blocked_.insert({a, b});        // isolate
      if (mode == 1 && a == victim && rng_.Chance(0.7)) blocked_.insert({a, b});     // one-way
      if (mode == 2 && ((a + b + options_.seed) % 2 == 1)) blocked_.insert({a, b});  // split
    }
  }
}

void Simulator::FaultStep() {
  const uint64_t roll = rng_.Uniform(100);
  if (rates_.partitions && roll < 12) {
    if (blocked_.empty()) {
      Partition();
    } else {
      blocked_.clear();
    }
    return;
  }
  if (rates_.crashes && roll >= 12 && roll < 16 && pending_learner_ == 0) {
    SimNode* leader = Leader();
    if (leader == nullptr) return;
    const raft::Configuration config =
        leader->raft->log().ConfigAt(leader->raft->log().committed());
    // One crash at a time, and only while the survivors keep a quorum (losing a majority is
    // disaster recovery, HOST_ATTACKS H15, outside raft).
    if (config != leader->raft->config() || !config.learners.empty()) return;
    if (config.voters.size() < 3) return;
    for (NodeId v : config.voters) {
      SimNode* n = Genuine(v);
      if (n == nullptr || !n->alive) return;
    }
    auto it = config.voters.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(rng_.Uniform(config.voters.size())));
    if (SimNode* victim = Genuine(*it); victim != nullptr) Crash(*victim);
    return;
  }
  if (!rates_.hostile) return;
  if (roll >= 20 && roll < 60 && !recorded_.empty()) {
    // Replay any earlier message (authentic bytes from a past session) to its addressee.
    ++result_.stats.messages_replayed;
    Transmit(recorded_[rng_.Uniform(recorded_.size())], true);
  } else if (roll >= 60 && roll < 64) {
    SimNode& n = *nodes_[rng_.Uniform(nodes_.size())];
    if (n.alive && n.paused_until <= now_) n.paused_until = now_ + 50 + rng_.Uniform(350);
  } else if (roll >= 64 && roll < 68) {
    // Clock jump: a burst of ticks at once.
    SimNode& n = *nodes_[rng_.Uniform(nodes_.size())];
    if (!n.alive || n.paused_until > now_) return;
    const uint64_t ticks = 3 + rng_.Uniform(15);
    for (uint64_t i = 0; i < ticks && result_.ok; ++i) {
      n.raft->Tick();
      ProcessReady(n);
    }
  } else if (roll >= 68 && roll < 74) {
    // Slow clock (the lease attack of HOST_ATTACKS H8): ticks 2-8x slower for a while.
    SimNode& n = *nodes_[rng_.Uniform(nodes_.size())];
    n.slow_until = now_ + 200 + rng_.Uniform(800);
    n.slow_period_ms = 20 + rng_.Uniform(60);
  }
}

}  // namespace

bool ParseFaultProfile(const std::string& name, FaultProfile* out) {
  static const std::pair<const char*, FaultProfile> kNames[] = {
      {"none", FaultProfile::kNone},           {"network", FaultProfile::kNetwork},
      {"partition", FaultProfile::kPartition}, {"crash", FaultProfile::kCrash},
      {"hostile", FaultProfile::kHostile},     {"all", FaultProfile::kAll}};
  for (const auto& [n, p] : kNames) {
    if (name == n) {
      *out = p;
      return true;
    }
  }
  return false;
}

const char* FaultProfileName(FaultProfile profile) {
  switch (profile) {
    case FaultProfile::kNone:
      return "none";
    case FaultProfile::kNetwork:
      return "network";
    case FaultProfile::kPartition:
      return "partition";
    case FaultProfile::kCrash:
      return "crash";
    case FaultProfile::kHostile:
      return "hostile";
    case FaultProfile::kAll:
      return "all";
  }
  return "unknown";
}

SimResult RunSimulation(const SimOptions& options) { return Simulator(options).Run(); }

}  // namespace cloister::sim
