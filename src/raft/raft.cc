#include "cloister/raft/raft.h"

#include <algorithm>

#include "cloister/base/assert.h"
#include "cloister/raft/codec.h"

namespace cloister::raft {
namespace {

bool IsLeaderMessage(MessageType type) {
  return type == MessageType::kAppend || type == MessageType::kHeartbeat ||
         type == MessageType::kSnapshot || type == MessageType::kTimeoutNow;
}

bool IsVoteRequest(MessageType type) {
  return type == MessageType::kVote || type == MessageType::kPreVote;
}

Snapshot BaseSnapshot(const Configuration& bootstrap) {
  // Founders share a base image at index 1, term 1 holding the membership; a joining member
  // starts empty at index 0 and must receive a snapshot before any entry.
  if (bootstrap.empty()) return Snapshot{};
  return Snapshot{.index = 1, .term = 1, .config = bootstrap, .data = {}};
}

// Why `m` cannot have come from a correct peer, or OkStatus(). The codec checks encodings; this
// checks what a well-formed message may say, so that no input reaches an ASSERT of RaftLog.
Status ValidateShape(const Message& m) {
  if (!m.entries.empty() && m.type != MessageType::kAppend) {
    return InvalidArgumentError(MessageTypeName(m.type), " message carries entries");
  }
  if (m.snapshot.has_value() != (m.type == MessageType::kSnapshot)) {
    return InvalidArgumentError(MessageTypeName(m.type), " message ",
                                m.snapshot ? "carries" : "lacks", " a snapshot");
  }
  if (m.snapshot && (m.snapshot->index == 0 || m.snapshot->term == 0 || m.snapshot->term > m.term ||
                     m.snapshot->config.voters.empty())) {
    return InvalidArgumentError("snapshot ", m.snapshot->index, "/", m.snapshot->term,
                                " in a message of term ", m.term, " (or without voters)");
  }
  if (m.type != MessageType::kAppend) return OkStatus();
  if (m.log_term > m.term) {
    return InvalidArgumentError("Append of term ", m.term, " follows an entry of term ",
                                m.log_term);
  }
  if (m.entries.size() > UINT64_MAX - m.index) {
    return InvalidArgumentError("Append entries overflow the index after ", m.index);
  }
  uint64_t term = m.log_term;
  for (size_t i = 0; i < m.entries.size(); ++i) {
    const Entry& e = m.entries[i];
    if (e.index != m.index + 1 + i) {
      return InvalidArgumentError("Append entry ", i, " has index ", e.index, ", expected ",
                                  m.index + 1 + i);
    }
    if (e.term < term || e.term > m.term || e.term == 0) {
      return InvalidArgumentError("Append entry ", e.index, " has term ", e.term, " outside [",
                                  term, ", ", m.term, "]");
    }
    term = e.term;
  }
  return OkStatus();
}

// Largest index acknowledged by a majority of `voters`.
uint64_t QuorumIndex(std::vector<uint64_t> matches) {
  if (matches.empty()) return 0;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  return matches[matches.size() / 2];
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

Raft::Raft(RaftOptions options, Rng& rng)
    : id_(options.id),
      options_(std::move(options)),
      rng_(rng),
      log_(BaseSnapshot(options_.bootstrap)) {
  ASSERT(id_ != kNoNode, "raft node id 0");
  ASSERT(options_.election_ticks > options_.heartbeat_ticks && options_.heartbeat_ticks > 0,
         "election_ticks must exceed heartbeat_ticks > 0");
  ASSERT(options_.max_inflight_messages > 0, "max_inflight_messages 0");
  log_.MarkStable(log_.LastIndex());
  ResetTerm(0);
}

// ---------------------------------------------------------------------------------------------
// Roles

void Raft::ResetTerm(uint64_t term) {
  if (term != term_) {
    term_ = term;
    vote_ = kNoNode;
  }
  leader_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomized_timeout_ = options_.election_ticks + rng_.Uniform(options_.election_ticks);
  votes_.clear();
  progress_.clear();
  transferee_ = kNoNode;
  transfer_elapsed_ = 0;
  pending_reads_.clear();
  reads_awaiting_commit_.clear();
}

void Raft::BecomeFollower(uint64_t term, NodeId leader) {
  ResetTerm(term);
  role_ = Role::kFollower;
  leader_ = leader;
}

void Raft::BecomePreCandidate() {
  // Term and vote stay: a pre-vote round changes nothing another node could observe as ours.
  const uint64_t term = term_;
  const NodeId vote = vote_;
  ResetTerm(term);
  vote_ = vote;
  role_ = Role::kPreCandidate;
}

void Raft::BecomeCandidate() {
  ResetTerm(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  ResetTerm(term_);
  role_ = Role::kLeader;
  leader_ = id_;
  SyncProgress();
  for (auto& [peer, pr] : progress_) pr.recent_active = true;
  // A no-op of the new term: committing it commits every earlier entry (§5.4.2), and it is
  // what ReadIndex and ProposeConfChange wait for.
  AppendAsLeader(EntryType::kNormal, {});
}

bool Raft::Promotable() const { return log_.LatestConfig().IsVoter(id_); }

bool Raft::InLease() const {
  return options_.check_quorum && leader_ != kNoNode && election_elapsed_ < options_.election_ticks;
}

void Raft::Campaign(bool pre_vote, bool force) {
  if (!Promotable()) return;
  if (pre_vote) {
    BecomePreCandidate();
  } else {
    BecomeCandidate();
  }
  const uint64_t vote_term = pre_vote ? term_ + 1 : term_;
  votes_[id_] = true;
  const Configuration& config = log_.LatestConfig();
  if (config.voters.size() == 1) {
    if (pre_vote) {
      Campaign(false, force);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (NodeId voter : config.voters) {
    if (voter == id_) continue;
    Send(Message{.type = pre_vote ? MessageType::kPreVote : MessageType::kVote,
                 .to = voter,
                 .term = vote_term,
                 .log_term = log_.LastTerm(),
                 .index = log_.LastIndex(),
                 .force = force});
  }
}

// ---------------------------------------------------------------------------------------------
// Clock

void Raft::Tick() {
  if (role_ == Role::kLeader) {
    TickLeader();
    return;
  }
  ++election_elapsed_;
  if (Promotable() && election_elapsed_ >= randomized_timeout_) {
    election_elapsed_ = 0;
    Campaign(options_.pre_vote, false);
  }
}

void Raft::TickLeader() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= options_.election_ticks) {
    election_elapsed_ = 0;
    if (options_.check_quorum) CheckQuorumRound();
    if (role_ != Role::kLeader) return;
    if (transferee_ != kNoNode) transferee_ = kNoNode;  // the transfer timed out
  }
  for (auto& [peer, pr] : progress_) {
    if (pr.state == Progress::State::kSnapshot && ++pr.snapshot_ticks >= options_.election_ticks) {
      // The snapshot (or its answer) was lost: probe again, which resends it if still needed.
      pr.state = Progress::State::kProbe;
      pr.next = pr.match + 1;
      pr.probe_sent = false;
    }
  }
  if (heartbeat_elapsed_ >= options_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat(pending_reads_.empty() ? 0 : pending_reads_.back().round);
  }
}

void Raft::CheckQuorumRound() {
  const Configuration& config = log_.LatestConfig();
  size_t active = config.IsVoter(id_) ? 1 : 0;
  for (auto& [peer, pr] : progress_) {
    if (config.IsVoter(peer) && pr.recent_active) ++active;
    pr.recent_active = false;
  }
  if (active <= config.voters.size() / 2) BecomeFollower(term_, kNoNode);
}

// ---------------------------------------------------------------------------------------------
// Input

Status Raft::Step(const Message& m) {
  if (m.to != id_)
    return InvalidArgumentError("message for node ", m.to, " stepped into node ", id_);
  if (m.from == id_ || m.from == kNoNode) {
    return InvalidArgumentError("message from node ", m.from, " stepped into node ", id_);
  }
  RETURN_IF_ERROR(ValidateShape(m));
  if (!FilterAndTerm(m)) return OkStatus();
  switch (m.type) {
    case MessageType::kPreVote:
    case MessageType::kVote:
      HandleVoteRequest(m);
      return OkStatus();
    default:
      break;
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      break;
    case Role::kPreCandidate:
    case Role::kCandidate:
      if (m.type == MessageType::kPreVoteResponse || m.type == MessageType::kVoteResponse) {
        HandleVoteResponse(m);
        break;
      }
      if (IsLeaderMessage(m.type) && m.term == term_) {
        // Someone won this term: follow it, then handle the message as a follower.
        BecomeFollower(term_, m.from);
        return Step(m);
      }
      break;
    case Role::kFollower:
      if (IsLeaderMessage(m.type)) {
        leader_ = m.from;
        election_elapsed_ = 0;
      }
      if (m.type == MessageType::kAppend) HandleAppend(m);
      if (m.type == MessageType::kHeartbeat) HandleHeartbeat(m);
      if (m.type == MessageType::kSnapshot) HandleSnapshot(m);
      if (m.type == MessageType::kTimeoutNow) Campaign(false, true);
      break;
  }
  return OkStatus();
}

// Membership filter and term rules. Returns false when the message is to be dropped.
bool Raft::FilterAndTerm(const Message& m) {
  const Configuration& config = log_.LatestConfig();
  // Leader messages pass even from a sender our (possibly lagging) log does not know yet: the
  // term check below is what makes them safe, and a lagging member could not catch up
  // otherwise. Vote requests count only from voters we know (or see below), responses only
  // from members.
  if (!IsLeaderMessage(m.type)) {
    bool known = IsVoteRequest(m.type) ? config.IsVoter(m.from) : config.IsMember(m.from);
    // Our configuration lags when the candidate holds entries we lack (possibly the one that
    // made it a voter): without this, a lagging voter and a newly promoted one can deadlock.
    // A removed member cannot use it to disrupt: its log stops growing at its removal.
    const bool ahead = m.log_term > log_.LastTerm() ||
                       (m.log_term == log_.LastTerm() && m.index > log_.LastIndex());
    if (!known && IsVoteRequest(m.type) && ahead && !m.force) known = true;
    if (!known) return false;
  } else if (m.type == MessageType::kTimeoutNow && !config.IsMember(m.from)) {
    return false;
  }
  if (m.term > term_) {
    if (IsVoteRequest(m.type) && !m.force && InLease()) return false;  // leader is alive
    if (m.type == MessageType::kPreVote) return true;
    if (m.type == MessageType::kPreVoteResponse && !m.reject) return true;
    BecomeFollower(m.term, IsLeaderMessage(m.type) ? m.from : kNoNode);
    return true;
  }
  if (m.term < term_) {
    if ((options_.check_quorum || options_.pre_vote) &&
        (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat)) {
      // Tell a stale leader our term so it steps down (it may be cut off from everyone else).
      Send(Message{.type = MessageType::kAppendResponse, .to = m.from, .term = term_});
    } else if (m.type == MessageType::kPreVote) {
      Send(Message{
          .type = MessageType::kPreVoteResponse, .to = m.from, .term = term_, .reject = true});
    }
    return false;
  }
  return true;
}

void Raft::HandleVoteRequest(const Message& m) {
  const bool pre = m.type == MessageType::kPreVote;
  const bool can_vote =
      vote_ == m.from || (vote_ == kNoNode && leader_ == kNoNode) || (pre && m.term > term_);
#ifdef CLOISTER_RAFT_BUG_VOTE_WITHOUT_LOG_CHECK
  const bool grant = can_vote;  // deliberately broken variant for the simulator's self-test
#else
  const bool grant = can_vote && log_.IsUpToDate(m.index, m.log_term);
#endif
  const MessageType reply = pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  if (grant && !pre) {
    vote_ = m.from;
    election_elapsed_ = 0;
  }
  // A granted pre-vote answers in the candidate's future term so the candidate counts it.
  Send(Message{
      .type = reply, .to = m.from, .term = grant && pre ? m.term : term_, .reject = !grant});
}

void Raft::HandleVoteResponse(const Message& m) {
  const bool pre = role_ == Role::kPreCandidate;
  if (pre != (m.type == MessageType::kPreVoteResponse)) return;
  if (pre && !m.reject && m.term != term_ + 1) return;
  if (!pre && m.term != term_) return;
  votes_.emplace(m.from, !m.reject);
  const Configuration& config = log_.LatestConfig();
  size_t granted = 0;
  size_t rejected = 0;
  for (const auto& [voter, yes] : votes_) {
    if (!config.IsVoter(voter)) continue;
    (yes ? granted : rejected) += 1;
  }
  const size_t quorum = config.voters.size() / 2 + 1;
  if (granted >= quorum) {
    if (pre) {
      Campaign(false, false);
    } else {
      BecomeLeader();
    }
  } else if (rejected >= quorum) {
    BecomeFollower(term_, kNoNode);
  }
}

void Raft::HandleAppend(const Message& m) {
  Message reply{.type = MessageType::kAppendResponse, .to = m.from, .term = term_};
  if (m.index < log_.committed()) {
    reply.index = log_.committed();  // everything up to our commit matches already
    Send(std::move(reply));
    return;
  }
  if (auto last = log_.MaybeAppend(m.index, m.log_term, m.entries)) {
    log_.CommitTo(std::min(m.commit, *last));
    reply.index = *last;
  } else {
    reply.index = m.index;
    reply.reject = true;
    reply.reject_hint = std::min(m.index, log_.LastIndex());
  }
  Send(std::move(reply));
}

void Raft::HandleHeartbeat(const Message& m) {
  // The leader sends min(its commit, our match), so this never exceeds what we hold.
  if (m.commit <= log_.LastIndex()) log_.CommitTo(m.commit);
  Send(Message{
      .type = MessageType::kHeartbeatResponse, .to = m.from, .term = term_, .context = m.context});
}

void Raft::HandleSnapshot(const Message& m) {
  Message reply{.type = MessageType::kAppendResponse, .to = m.from, .term = term_};
  if (!m.snapshot || m.snapshot->index <= log_.committed()) {
    reply.index = log_.committed();
  } else if (log_.MatchTerm(m.snapshot->index, m.snapshot->term)) {
    log_.CommitTo(m.snapshot->index);  // we hold that prefix already
    reply.index = log_.committed();
  } else {
    log_.Restore(*m.snapshot);
    reply.index = log_.LastIndex();
  }
  Send(std::move(reply));
}

void Raft::StepLeader(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  if (m.type == MessageType::kAppendResponse) HandleAppendResponse(m, pr);
  if (m.type == MessageType::kHeartbeatResponse) HandleHeartbeatResponse(m, pr);
}

void Raft::HandleAppendResponse(const Message& m, Progress& pr) {
  using State = Progress::State;
  if (m.reject) {
    // Stale rejections (for something we already know matches) are ignored.
    const bool stale = pr.state == State::kReplicate ? m.index <= pr.match : m.index != pr.next - 1;
    if (stale || pr.state == State::kSnapshot) return;
    pr.next = std::max(std::min(m.index, m.reject_hint + 1), pr.match + 1);
    pr.state = State::kProbe;
    pr.probe_sent = false;
    pr.inflight.clear();
    pr.inflight_bytes = 0;
    SendAppend(m.from, pr, true);
    return;
  }
  if (m.index > log_.LastIndex()) return;  // acknowledges entries we never had: ignore
  const bool advanced = m.index > pr.match;
  if (advanced) pr.match = m.index;
  pr.next = std::max(pr.next, m.index + 1);
  while (!pr.inflight.empty() && pr.inflight.front().first <= m.index) {
    pr.inflight_bytes -= pr.inflight.front().second;
    pr.inflight.pop_front();
  }
  if (pr.state == State::kProbe) {
    pr.state = State::kReplicate;
    pr.next = pr.match + 1;
  } else if (pr.state == State::kSnapshot && pr.match >= pr.pending_snapshot) {
    pr.state = State::kProbe;
    pr.next = pr.match + 1;
    pr.probe_sent = false;
  }
  if (advanced && MaybeCommit()) {
    BroadcastAppend();
  } else {
    while (SendAppend(m.from, pr, false)) {
    }
  }
  if (role_ == Role::kLeader && m.from == transferee_ && pr.match == log_.LastIndex()) {
    Send(Message{.type = MessageType::kTimeoutNow, .to = m.from, .term = term_});
  }
}

void Raft::HandleHeartbeatResponse(const Message& m, Progress& pr) {
  pr.probe_sent = false;
  if (pr.state == Progress::State::kReplicate && !pr.inflight.empty() &&
      (pr.inflight.size() >= options_.max_inflight_messages ||
       pr.inflight_bytes >= options_.max_inflight_bytes)) {
    // Full window: free one slot so a lost Append cannot stall replication forever.
    pr.inflight_bytes -= pr.inflight.front().second;
    pr.inflight.pop_front();
  }
  // A follower behind us may have lost Appends sent optimistically (Replicate): an empty
  // Append at next-1 makes it reject, which sends us back to probing from what it holds.
  if (pr.match < log_.LastIndex()) SendAppend(m.from, pr, true);
  if (m.context == 0 || !log_.LatestConfig().IsVoter(m.from)) return;
  for (PendingRead& read : pending_reads_) {
    if (read.round <= m.context) read.acks.insert(m.from);
  }
  ReleaseReads();
}

// ---------------------------------------------------------------------------------------------
// Leader replication

void Raft::Send(Message m) {
  m.from = id_;
  messages_.push_back(std::move(m));
}

void Raft::SyncProgress() {
  // Track exactly the members of the latest configuration (other than us).
  const Configuration& config = log_.LatestConfig();
  for (auto it = progress_.begin(); it != progress_.end();) {
    it = config.IsMember(it->first) ? std::next(it) : progress_.erase(it);
  }
  for (NodeId id : config.voters) {
    if (id != id_) progress_.try_emplace(id, Progress{.next = log_.LastIndex() + 1});
  }
  for (NodeId id : config.learners) {
    if (id != id_) progress_.try_emplace(id, Progress{.next = log_.LastIndex() + 1});
  }
}

bool Raft::SendAppend(NodeId to, Progress& pr, bool send_if_empty) {
  using State = Progress::State;
  if (pr.state == State::kSnapshot) return false;
  if (pr.state == State::kProbe && pr.probe_sent) return false;
  if (pr.state == State::kReplicate && (pr.inflight.size() >= options_.max_inflight_messages ||
                                        pr.inflight_bytes >= options_.max_inflight_bytes)) {
    return false;
  }
  const uint64_t prev = pr.next - 1;
  const auto prev_term = log_.Term(prev);
  if (!prev_term || pr.next < log_.FirstIndex()) {
    SendSnapshot(to, pr);
    return false;
  }
  std::vector<Entry> entries;
  if (pr.next <= log_.LastIndex()) {
    entries = log_.Slice(pr.next, log_.LastIndex() + 1, options_.max_message_bytes);
  }
  if (entries.empty() && !send_if_empty) return false;
  uint64_t bytes = 0;
  for (const Entry& e : entries) bytes += e.data.size();
  const uint64_t last = entries.empty() ? prev : entries.back().index;
  if (pr.state == State::kReplicate && !entries.empty()) {
    pr.next = last + 1;
    pr.inflight.emplace_back(last, bytes);
    pr.inflight_bytes += bytes;
  } else if (pr.state == State::kProbe) {
    pr.probe_sent = true;
  }
  Send(Message{.type = MessageType::kAppend,
               .to = to,
               .term = term_,
               .log_term = *prev_term,
               .index = prev,
               .commit = log_.committed(),
               .entries = std::move(entries)});
  return pr.state == State::kReplicate && !pr.inflight.empty() && pr.next <= log_.LastIndex();
}

void Raft::SendSnapshot(NodeId to, Progress& pr) {
  pr.state = Progress::State::kSnapshot;
  pr.pending_snapshot = log_.snapshot().index;
  pr.snapshot_ticks = 0;
  pr.inflight.clear();
  pr.inflight_bytes = 0;
  Send(Message{
      .type = MessageType::kSnapshot, .to = to, .term = term_, .snapshot = log_.snapshot()});
}

void Raft::SendHeartbeat(NodeId to, const Progress& pr, uint64_t context) {
  Send(Message{.type = MessageType::kHeartbeat,
               .to = to,
               .term = term_,
               .commit = std::min(pr.match, log_.committed()),
               .context = context});
}

void Raft::BroadcastAppend() {
  for (auto& [peer, pr] : progress_) {
    while (SendAppend(peer, pr, true)) {
    }
  }
}

void Raft::BroadcastHeartbeat(uint64_t context) {
  for (auto& [peer, pr] : progress_) {
    if (pr.state == Progress::State::kProbe) pr.probe_sent = false;
    SendHeartbeat(peer, pr, context);
  }
}

bool Raft::MaybeCommit() {
  const Configuration& config = log_.LatestConfig();
  std::vector<uint64_t> matches;
  for (NodeId voter : config.voters) {
    if (voter == id_) {
      matches.push_back(log_.LastIndex());
    } else if (auto it = progress_.find(voter); it != progress_.end()) {
      matches.push_back(it->second.match);
    } else {
      matches.push_back(0);
    }
  }
  const uint64_t index = QuorumIndex(std::move(matches));
  // §5.4.2: only an entry of the current term is committed by counting replicas.
#ifdef CLOISTER_RAFT_BUG_COMMIT_PREVIOUS_TERM
  if (index <= log_.committed()) return false;  // deliberately broken: no term check
#else
  if (index <= log_.committed() || log_.Term(index) != term_) return false;
#endif
  log_.CommitTo(index);
  for (uint64_t context : reads_awaiting_commit_) StartRead(context);
  reads_awaiting_commit_.clear();
  MaybeStepDownRemoved();
  return true;
}

void Raft::MaybeStepDownRemoved() {
  // The configuration that removes us is committed: we are no longer a voter.
  if (role_ == Role::kLeader && log_.LastConfIndex() <= log_.committed() && !Promotable()) {
    BecomeFollower(term_, kNoNode);
  }
}

void Raft::AppendAsLeader(EntryType type, Bytes data) {
  const uint64_t index = log_.LastIndex() + 1;
  log_.Append({Entry{.term = term_, .index = index, .type = type, .data = std::move(data)}});
  if (type == EntryType::kConfChange) SyncProgress();
  MaybeCommit();  // a single voter commits at once
  BroadcastAppend();
}

bool Raft::CommittedInTerm() const { return log_.Term(log_.committed()) == term_; }

// ---------------------------------------------------------------------------------------------
// Client input

Result<uint64_t> Raft::Propose(Bytes data) {
  if (role_ != Role::kLeader) return UnavailableError("node ", id_, " is not the leader");
  if (transferee_ != kNoNode) {
    return UnavailableError("leadership is moving to node ", transferee_);
  }
  AppendAsLeader(EntryType::kNormal, std::move(data));
  return log_.LastIndex();
}

Result<uint64_t> Raft::ProposeConfChange(const ConfChange& change) {
  if (role_ != Role::kLeader) return UnavailableError("node ", id_, " is not the leader");
  if (transferee_ != kNoNode) {
    return UnavailableError("leadership is moving to node ", transferee_);
  }
  if (!CommittedInTerm()) {
    return UnavailableError("the leader has not committed an entry of term ", term_, " yet");
  }
  if (log_.LastConfIndex() > log_.committed()) {
    return FailedPreconditionError("membership change at index ", log_.LastConfIndex(),
                                   " is not committed yet");
  }
  RETURN_IF_ERROR(ValidateConfChange(log_.LatestConfig(), change));
  AppendAsLeader(EntryType::kConfChange, EncodeConfChange(change));
  return log_.LastIndex();
}

Status Raft::ReadIndex(uint64_t context) {
  if (role_ != Role::kLeader) return UnavailableError("node ", id_, " is not the leader");
  if (!CommittedInTerm()) {
    reads_awaiting_commit_.push_back(context);  // our commit index may still be behind
    return OkStatus();
  }
  StartRead(context);
  return OkStatus();
}

void Raft::StartRead(uint64_t context) {
  PendingRead read{
      .index = log_.committed(), .context = context, .round = ++read_round_, .acks = {}};
#ifdef CLOISTER_RAFT_BUG_READ_WITHOUT_QUORUM
  // Deliberately broken variant: answer at once, as if our leadership were still certain.
  read_states_.push_back({read.index, read.context});
  return;
#endif
  if (log_.LatestConfig().IsVoter(id_)) read.acks.insert(id_);
  pending_reads_.push_back(std::move(read));
  ReleaseReads();
  if (!pending_reads_.empty()) BroadcastHeartbeat(read_round_);
}

void Raft::ReleaseReads() {
  const Configuration& config = log_.LatestConfig();
  const size_t quorum = config.voters.size() / 2 + 1;
  // A later round confirmed by a quorum confirms every earlier one too.
  size_t release = 0;
  for (size_t i = 0; i < pending_reads_.size(); ++i) {
    size_t acks = 0;
    for (NodeId id : pending_reads_[i].acks) acks += config.IsVoter(id) ? 1u : 0u;
    if (acks >= quorum) release = i + 1;
  }
  for (size_t i = 0; i < release; ++i) {
    read_states_.push_back({pending_reads_.front().index, pending_reads_.front().context});
    pending_reads_.pop_front();
  }
}

Status Raft::TransferLeadership(NodeId target) {
  if (role_ != Role::kLeader) return UnavailableError("node ", id_, " is not the leader");
  if (target == id_) return OkStatus();
  if (!log_.LatestConfig().IsVoter(target)) {
    return InvalidArgumentError("node ", target, " is not a voter");
  }
  transferee_ = target;
  election_elapsed_ = 0;  // the transfer is abandoned after one election timeout
  Progress& pr = progress_.at(target);
  if (pr.match == log_.LastIndex()) {
    Send(Message{.type = MessageType::kTimeoutNow, .to = target, .term = term_});
  } else {
    SendAppend(target, pr, true);
  }
  return OkStatus();
}

Status Raft::Compact(uint64_t index, Bytes data) {
  if (index > log_.applied()) {
    return OutOfRangeError("compact to ", index, " past applied index ", log_.applied());
  }
  if (index < log_.snapshot().index) {
    return OutOfRangeError("compact to ", index, " below snapshot ", log_.snapshot().index);
  }
  log_.Compact(index, std::move(data));
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Output

bool Raft::HasReady() const {
  if (awaiting_advance_) return false;
  return !messages_.empty() || log_.HasUnstable() || log_.HasNextCommitted() ||
         log_.HasPendingSnapshot() || !read_states_.empty() || hard_state() != last_hard_state_;
}

Ready Raft::TakeReady() {
  ASSERT(!awaiting_advance_, "TakeReady before Advance");
  Ready ready;
  if (hard_state() != last_hard_state_) {
    ready.hard_state = hard_state();
    last_hard_state_ = hard_state();
  }
  if (log_.HasPendingSnapshot()) {
    ready.snapshot = log_.snapshot();
    log_.MarkSnapshotHandled();
  }
  ready.entries = log_.UnstableEntries();
  log_.MarkStable(log_.LastIndex());
  ready.committed_entries = log_.NextCommitted(options_.max_apply_bytes);
  if (!ready.committed_entries.empty()) log_.MarkApplying(ready.committed_entries.back().index);
  ready.messages = std::move(messages_);
  messages_.clear();
  ready.read_states = std::move(read_states_);
  read_states_.clear();
  awaiting_advance_ = true;
  return ready;
}

void Raft::Advance() {
  ASSERT(awaiting_advance_, "Advance without TakeReady");
  awaiting_advance_ = false;
  log_.MarkApplied(log_.applying());
}

const Progress* Raft::ProgressOf(NodeId id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

}  // namespace cloister::raft
