// Raft: the consensus core, a deterministic state machine in the style of etcd-io/raft.
//
// The host drives it with Tick() (a logical clock), Step(message) (network input), Propose /
// ProposeConfChange / ReadIndex / TransferLeadership (client input), and drains its output with
// TakeReady() then Advance(). Nothing here touches a socket, file, clock or thread; randomness
// (election timeouts) comes from the injected Rng, so a run is reproducible from one seed.
//
// Ready ordering rules (the host MUST follow them; the simulator checks them):
//   1. Persist `hard_state`, `snapshot` and `entries` (in that order) before sending any of
//      `messages`: a vote or an acknowledgement is only sent once what it promises is written.
//   2. Send `messages` (any order, any delay: the protocol tolerates loss, duplication and
//      reordering).
//   3. Install `snapshot` in the state machine, then apply `committed_entries` in order.
//   4. Serve `read_states` once the state machine has applied `ReadState::index`.
//   5. Call Advance() before the next TakeReady().
// Persistence is a performance hint in Cloister, never a safety fact: a node never restarts as
// the same member (restart = new identity; see docs/raft.md), so the core has no constructor
// from persisted state.
//
// Membership changes are applied one at a time (single-server changes, Ongaro §4.1): a change
// takes effect on a node as soon as its entry is in that node's log; a leader proposes a change
// only after its own no-op is committed and no other change is uncommitted; each change moves at
// most one voter. New members join as learners (AddLearner), catch up (snapshot + log) and are
// then promoted (PromoteLearner). A leader that removes itself leads until the removal commits,
// without counting itself, then steps down.
//
// Invariants: at most one leader per term (per node: it votes once per term); a leader commits
// only entries of its own term by counting (§5.4.2); the commit index never decreases; a node
// never truncates a committed entry (ASSERTed in RaftLog).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/base/rng.h"
#include "cloister/raft/log.h"
#include "cloister/raft/types.h"

namespace cloister::raft {

struct RaftOptions {
  NodeId id = kNoNode;
  // Founding members all pass the same configuration (the log starts at a base snapshot with
  // index 1, term 1 holding it). A joining member passes an empty one and receives a snapshot.
  Configuration bootstrap;
  uint64_t election_ticks = 10;  // election timeout is uniform in [election, 2*election)
  uint64_t heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t max_message_bytes = uint64_t{1} << 20;  // entry data per Append
  size_t max_inflight_messages = 256;              // per follower, in Replicate state
  uint64_t max_inflight_bytes = uint64_t{8} << 20;
  uint64_t max_apply_bytes = uint64_t{16} << 20;  // committed entry data per Ready
};

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
std::string_view RoleName(Role role);

// What the leader knows of one follower's log (for flow control and for the host's decisions,
// e.g. when to promote a learner).
struct Progress {
  enum class State : uint8_t { kProbe, kReplicate, kSnapshot };
  uint64_t match = 0;
  uint64_t next = 1;
  State state = State::kProbe;
  bool probe_sent = false;        // Probe: one Append outstanding until a response or heartbeat
  uint64_t pending_snapshot = 0;  // Snapshot: index of the snapshot sent
  uint64_t snapshot_ticks = 0;    // Snapshot: ticks since sent (resent after an election timeout)
  bool recent_active = false;     // heard from since the last CheckQuorum round
  std::deque<std::pair<uint64_t, uint64_t>> inflight;  // (last index, bytes) per Append
  uint64_t inflight_bytes = 0;
};

struct Ready {
  std::optional<HardState> hard_state;   // changed since the last Ready
  std::optional<Snapshot> snapshot;      // installed from the leader: persist, then apply
  std::vector<Entry> entries;            // to persist (may overwrite a previous suffix)
  std::vector<Message> messages;         // to send after persisting
  std::vector<Entry> committed_entries;  // to apply in order, after `snapshot`
  std::vector<ReadState> read_states;    // reads to serve once applied
};

class Raft {
 public:
  // `rng` must outlive the Raft. Requires options.id != 0 and election_ticks > heartbeat_ticks.
  Raft(RaftOptions options, Rng& rng);

  // Advances the logical clock by one tick (elections, heartbeats, CheckQuorum).
  void Tick();
  // Starts an election now (as if the election timeout fired), e.g. right after bootstrap.
  // Pre-vote applies when enabled; a non-voter does nothing.
  void Campaign() { Campaign(options_.pre_vote, false); }
  // Feeds one message from the network. Returns an error for a message not addressed to us or
  // from ourselves; stale, duplicated, replayed and non-member messages are ignored (OkStatus).
  Status Step(const Message& message);

  // Leader only: appends `data` and returns its index (Unavailable elsewhere or while
  // transferring leadership). Committed does not mean this index: a new leader may overwrite it.
  Result<uint64_t> Propose(Bytes data);
  // Leader only: one membership change (see the rules above). Returns its index.
  Result<uint64_t> ProposeConfChange(const ConfChange& change);
  // Leader only: a linearizable read point. Once a quorum confirms leadership, a ReadState
  // {index, context} appears in a Ready. Dropped if leadership is lost (the caller times out).
  Status ReadIndex(uint64_t context);
  // Leader only: hands leadership to voter `target` once its log is caught up.
  Status TransferLeadership(NodeId target);
  // Discards entries up to `index` (<= applied), keeping `data` as the snapshot there. At the
  // current snapshot index it only replaces the data (the host supplying the bootstrap image).
  Status Compact(uint64_t index, Bytes data);

  [[nodiscard]] bool HasReady() const;
  // Requires Advance() after the previous TakeReady().
  Ready TakeReady();
  void Advance();

  [[nodiscard]] NodeId id() const { return id_; }
  [[nodiscard]] Role role() const { return role_; }
  [[nodiscard]] uint64_t term() const { return term_; }
  [[nodiscard]] NodeId vote() const { return vote_; }
  [[nodiscard]] NodeId leader() const { return leader_; }
  [[nodiscard]] HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  [[nodiscard]] const RaftLog& log() const { return log_; }
  [[nodiscard]] const Configuration& config() const { return log_.LatestConfig(); }
  [[nodiscard]] NodeId transferee() const { return transferee_; }
  // Leader only: progress of a follower, or nullptr.
  [[nodiscard]] const Progress* ProgressOf(NodeId id) const;

 private:
  struct PendingRead {
    uint64_t index;
    uint64_t context;
    uint64_t round;
    std::set<NodeId> acks;
  };

  // Roles.
  void BecomeFollower(uint64_t term, NodeId leader);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void Campaign(bool pre_vote, bool force);
  void ResetTerm(uint64_t term);
  [[nodiscard]] bool Promotable() const;
  [[nodiscard]] bool InLease() const;

  // Message handling.
  bool FilterAndTerm(const Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleVoteResponse(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);
  void HandleAppendResponse(const Message& m, Progress& pr);
  void HandleHeartbeatResponse(const Message& m, Progress& pr);
  void StepLeader(const Message& m);

  // Leader replication.
  void Send(Message m);
  bool SendAppend(NodeId to, Progress& pr, bool send_if_empty);
  void SendSnapshot(NodeId to, Progress& pr);
  void SendHeartbeat(NodeId to, const Progress& pr, uint64_t context);
  void BroadcastAppend();
  void BroadcastHeartbeat(uint64_t context);
  void SyncProgress();
  bool MaybeCommit();
  void AppendAsLeader(EntryType type, Bytes data);
  [[nodiscard]] bool CommittedInTerm() const;
  void ReleaseReads();
  void StartRead(uint64_t context);
  void TickLeader();
  void CheckQuorumRound();
  void MaybeStepDownRemoved();

  const NodeId id_;
  RaftOptions options_;
  Rng& rng_;
  RaftLog log_;

  uint64_t term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId leader_ = kNoNode;
  Role role_ = Role::kFollower;
  uint64_t election_elapsed_ = 0;
  uint64_t heartbeat_elapsed_ = 0;
  uint64_t randomized_timeout_ = 0;
  std::map<NodeId, bool> votes_;
  std::map<NodeId, Progress> progress_;
  NodeId transferee_ = kNoNode;
  uint64_t transfer_elapsed_ = 0;

  uint64_t read_round_ = 0;
  std::deque<PendingRead> pending_reads_;
  std::vector<uint64_t> reads_awaiting_commit_;
  std::vector<ReadState> read_states_;

  std::vector<Message> messages_;
  HardState last_hard_state_;
  bool awaiting_advance_ = false;
};

}  // namespace cloister::raft
