// Application reads (GET /app/*, docs/api.md "Reads"). Linearizable by default: the leader
// answers a read only after a ReadIndex round (raft.h) confirmed that a quorum still follows it,
// from a committed state at least as new as the round's read point, so a deposed leader never
// answers with stale data. Reads are batched: one round serves every read queued before it
// starts, and reads arriving while a round is in flight wait for the next one. A follower
// redirects to the leader, as for writes. `?consistency=serializable` asks any node for its
// local committed state instead (possibly stale, no round).
#include <algorithm>
#include <utility>

#include "node_internal.h"

namespace cloister::node {

using Clock = std::chrono::steady_clock;

namespace {

// The read's consistency: false for linearizable (the default), true for serializable.
Result<bool> SerializableRequested(const HttpRequest& request) {
  auto it = request.query.find("consistency");
  if (it == request.query.end() || it->second == "linearizable") return false;
  if (it->second == "serializable") return true;
  return InvalidArgumentError("query parameter 'consistency' must be linearizable or serializable");
}

}  // namespace

std::chrono::milliseconds Node::Impl::ReadTimeout() const {
  // A leader cut off from its quorum steps down within an election timeout (CheckQuorum) and
  // answers its reads then; this bounds the wait when that does not happen (e.g. a round whose
  // read point is confirmed but not yet committed here). Twice the longest randomised election
  // timeout, at least one second.
  const int64_t election_ms = 2 * static_cast<int64_t>(config.raft.election_ticks) *
                              static_cast<int64_t>(config.raft.tick_ms);
  return std::chrono::milliseconds(std::max<int64_t>(1000, 2 * election_ms));
}

void Node::Impl::HandleAppRead(const HttpRequest& request, const HttpRespond& respond) {
  if (auto refused = RefuseWhileRecovering()) return respond(*refused);
  Result<bool> serializable = SerializableRequested(request);
  if (!serializable.ok()) return respond(HttpResponse::FromError(serializable.error()));
  if (*serializable) {
    ++counters.reads_serializable;
    return AnswerRead(request, respond);
  }
  if (auto redirect = RedirectToLeader(request)) return respond(*redirect);
  queued_reads.push_back(QueuedRead{request, respond, Clock::now() + ReadTimeout()});
  const bool in_flight = !read_rounds.empty() && !read_rounds.back().index;
  if (!in_flight) StartReadRound();
}

void Node::Impl::AnswerRead(const HttpRequest& request, const HttpRespond& respond) {
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return respond(HttpResponse::FromError(tx.error()));
  Result<HttpResponse> response = app->Read(*tx, request);
  if (!response.ok()) return respond(HttpResponse::FromError(response.error()));
  respond(std::move(response).value());
}

void Node::Impl::AnswerLostRead(const QueuedRead& read, std::string_view why) {
  ++counters.reads_lost;
  // Not the leader any more: the client asks the new one, as a follower's redirect tells it.
  if (auto redirect = RedirectToLeader(read.request)) return read.respond(*redirect);
  read.respond(HttpResponse::ErrorBody(
      503, "unavailable", "linearizable read not served: " + std::string(why) + "; retry"));
}

void Node::Impl::StartReadRound() {
  if (queued_reads.empty()) return;
  ReadRound round;
  round.context = ++last_read_context;
  round.term = replica->raft().term();
  round.deadline = Clock::now() + ReadTimeout();
  round.reads = std::exchange(queued_reads, {});
  const Status started = replica->ReadIndex(round.context);
  if (!started.ok()) {
    for (const QueuedRead& read : round.reads) AnswerLostRead(read, started.error().message);
    return;
  }
  ++counters.read_index_rounds;
  read_rounds.push_back(std::move(round));
  SchedulePump();  // the heartbeats that ask the quorum
}

void Node::Impl::ServeReads() {
  const std::vector<raft::ReadState> states = replica->TakeReadStates();
  if (read_rounds.empty() && queued_reads.empty()) return;
  for (const raft::ReadState& state : states) {
    for (ReadRound& round : read_rounds) {
      if (round.context == state.context) round.index = state.index;
    }
  }
  const SteadyTime now = Clock::now();
  const bool leading = replica->is_leader();
  std::vector<QueuedRead> serve;
  std::vector<QueuedRead> deposed;    // unconfirmed when leadership was lost
  std::vector<QueuedRead> timed_out;  // the round or the read is past its deadline
  std::vector<QueuedRead> again;      // re-elected in a later term: the next round
  auto move_reads = [](ReadRound& round, std::vector<QueuedRead>& to) {
    for (QueuedRead& read : round.reads) to.push_back(std::move(read));
    return true;
  };
  std::erase_if(read_rounds, [&](ReadRound& round) {
    if (round.index && replica->commit_index() >= *round.index) return move_reads(round, serve);
    // Raft drops a round when its term ends: its ReadState will never come.
    if (!round.index && (!leading || replica->raft().term() != round.term)) {
      return move_reads(round, leading ? again : deposed);
    }
    if (round.deadline < now) return move_reads(round, timed_out);
    return false;
  });
  for (QueuedRead& read : queued_reads) again.push_back(std::move(read));
  queued_reads.clear();
  for (QueuedRead& read : again) {
    if (read.deadline < now) {
      timed_out.push_back(std::move(read));
    } else if (!leading) {
      deposed.push_back(std::move(read));
    } else {
      queued_reads.push_back(std::move(read));
    }
  }
  // Answered after the bookkeeping: a response callback may come back into this node.
  for (const QueuedRead& read : serve) {
    ++counters.reads_linearizable;
    AnswerRead(read.request, read.respond);
  }
  for (const QueuedRead& read : deposed) AnswerLostRead(read, "this node lost the leadership");
  for (const QueuedRead& read : timed_out) {
    AnswerLostRead(read, "no quorum confirmed this node's leadership in time");
  }
  const bool in_flight = !read_rounds.empty() && !read_rounds.back().index;
  if (leading && !in_flight) StartReadRound();
}

}  // namespace cloister::node
