#include "cloister/raft/log.h"

#include <algorithm>

#include "cloister/base/assert.h"
#include "cloister/raft/codec.h"

namespace cloister::raft {

Status ValidateConfChange(const Configuration& config, const ConfChange& change) {
  const NodeId id = change.node_id;
  if (id == kNoNode) return InvalidArgumentError("conf change: node id 0");
  switch (change.type) {
    case ConfChangeType::kAddLearner:
      if (config.IsMember(id)) return AlreadyExistsError("node ", id, " is already a member");
      if (config.voters.size() + config.learners.size() >= kMaxMembers) {
        return OutOfRangeError("configuration already has ", kMaxMembers, " members");
      }
      return OkStatus();
    case ConfChangeType::kPromoteLearner:
      if (!config.IsLearner(id)) return NotFoundError("node ", id, " is not a learner");
      return OkStatus();
    case ConfChangeType::kRemoveNode:
      if (!config.IsMember(id)) return NotFoundError("node ", id, " is not a member");
      if (config.IsVoter(id) && config.voters.size() == 1) {
        return FailedPreconditionError("cannot remove the last voter ", id);
      }
      return OkStatus();
  }
  return InvalidArgumentError("conf change: unknown type");
}

Configuration ApplyConfChange(const Configuration& config, const ConfChange& change) {
  if (!ValidateConfChange(config, change).ok()) return config;
  Configuration next = config;
  switch (change.type) {
    case ConfChangeType::kAddLearner:
      next.learners.insert(change.node_id);
      break;
    case ConfChangeType::kPromoteLearner:
      next.learners.erase(change.node_id);
      next.voters.insert(change.node_id);
      break;
    case ConfChangeType::kRemoveNode:
      next.learners.erase(change.node_id);
      next.voters.erase(change.node_id);
      break;
  }
  return next;
}

RaftLog::RaftLog(Snapshot base) : snapshot_(std::move(base)) {
  committed_ = applying_ = applied_ = snapshot_.index;
  unstable_from_ = snapshot_.index + 1;
}

uint64_t RaftLog::LastTerm() const {
  return entries_.empty() ? snapshot_.term : entries_.back().term;
}

std::optional<uint64_t> RaftLog::Term(uint64_t index) const {
  if (index == snapshot_.index) return snapshot_.term;
  if (index < snapshot_.index || index > LastIndex()) return std::nullopt;
  return entries_[index - FirstIndex()].term;
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const {
  const auto t = Term(index);
  return t.has_value() && *t == term;
}

bool RaftLog::IsUpToDate(uint64_t last_index, uint64_t last_term) const {
  return last_term > LastTerm() || (last_term == LastTerm() && last_index >= LastIndex());
}

const Entry& RaftLog::At(uint64_t index) const {
  ASSERT(index >= FirstIndex() && index <= LastIndex(), "entry ", index, " outside [", FirstIndex(),
         ", ", LastIndex(), "]");
  return entries_[index - FirstIndex()];
}

std::vector<Entry> RaftLog::Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  ASSERT(lo >= FirstIndex() && lo <= hi && hi <= LastIndex() + 1, "bad slice [", lo, ", ", hi, ")");
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (uint64_t i = lo; i < hi; ++i) {
    const Entry& e = At(i);
    bytes += e.data.size();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

void RaftLog::TrackConfig(const Entry& entry) {
  if (entry.type != EntryType::kConfChange) return;
  Configuration next = LatestConfig();
  auto change = DecodeConfChange(entry.data);
  // A leader only proposes well-formed changes; a malformed one is a no-op on every node alike.
  if (change) next = ApplyConfChange(next, *change);
  configs_.emplace_back(entry.index, std::move(next));
}

void RaftLog::Append(std::vector<Entry> entries) {
  for (Entry& e : entries) {
    ASSERT(e.index == LastIndex() + 1, "append of index ", e.index, " after ", LastIndex());
    ASSERT(e.term >= LastTerm(), "append of term ", e.term, " after term ", LastTerm());
    TrackConfig(e);
    entries_.push_back(std::move(e));
  }
}

void RaftLog::TruncateFrom(uint64_t index) {
  ASSERT(index > committed_, "truncating committed entry ", index, " (commit ", committed_, ")");
  ASSERT(index >= FirstIndex(), "truncating below the snapshot");
  entries_.resize(index - FirstIndex());
  while (!configs_.empty() && configs_.back().first >= index) configs_.pop_back();
  unstable_from_ = std::min(unstable_from_, index);
}

std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t prev_index, uint64_t prev_term,
                                             std::span<const Entry> entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  uint64_t last_new = prev_index;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    ASSERT(e.index == prev_index + 1 + i, "non-contiguous append");
    last_new = e.index;
    if (e.index < FirstIndex()) continue;  // covered by our snapshot: committed, hence equal
    if (e.index <= LastIndex()) {
      if (At(e.index).term == e.term) continue;
      TruncateFrom(e.index);
    }
    TrackConfig(e);
    entries_.push_back(e);
  }
  return last_new;
}

void RaftLog::CommitTo(uint64_t index) {
  if (index <= committed_) return;
  ASSERT(index <= LastIndex(), "commit ", index, " past last index ", LastIndex());
  committed_ = index;
}

void RaftLog::Restore(Snapshot snapshot) {
  ASSERT(snapshot.index > committed_, "restoring an older snapshot");
  snapshot_ = std::move(snapshot);
  entries_.clear();
  configs_.clear();
  committed_ = applying_ = applied_ = snapshot_.index;
  unstable_from_ = snapshot_.index + 1;
  pending_snapshot_ = true;
}

void RaftLog::Compact(uint64_t index, Bytes data) {
  ASSERT(index <= applied_ && index >= snapshot_.index, "compact to ", index, " (applied ",
         applied_, ", snapshot ", snapshot_.index, ")");
  if (index == snapshot_.index) {
    // Same point, new image (e.g. the host supplies the data of the bootstrap snapshot).
    snapshot_.data = std::move(data);
    return;
  }
  Snapshot next{
      .index = index, .term = *Term(index), .config = ConfigAt(index), .data = std::move(data)};
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<std::ptrdiff_t>(index - snapshot_.index));
  configs_.erase(std::remove_if(configs_.begin(), configs_.end(),
                                [index](const auto& c) { return c.first <= index; }),
                 configs_.end());
  snapshot_ = std::move(next);
  unstable_from_ = std::max(unstable_from_, index + 1);
}

const Configuration& RaftLog::LatestConfig() const {
  return configs_.empty() ? snapshot_.config : configs_.back().second;
}

Configuration RaftLog::ConfigAt(uint64_t index) const {
  for (auto it = configs_.rbegin(); it != configs_.rend(); ++it) {
    if (it->first <= index) return it->second;
  }
  return snapshot_.config;
}

uint64_t RaftLog::LastConfIndex() const { return configs_.empty() ? 0 : configs_.back().first; }

std::vector<Entry> RaftLog::UnstableEntries() const {
  if (!HasUnstable()) return {};
  return Slice(unstable_from_, LastIndex() + 1, UINT64_MAX);
}

std::vector<Entry> RaftLog::NextCommitted(uint64_t max_bytes) const {
  if (!HasNextCommitted()) return {};
  return Slice(applying_ + 1, committed_ + 1, max_bytes);
}

void RaftLog::MarkStable(uint64_t through_index) {
  unstable_from_ = std::max(unstable_from_, through_index + 1);
}

void RaftLog::MarkApplying(uint64_t through_index) {
  ASSERT(through_index <= committed_, "applying past commit");
  applying_ = std::max(applying_, through_index);
}

void RaftLog::MarkApplied(uint64_t through_index) {
  ASSERT(through_index <= applying_, "applied past what was handed out");
  applied_ = std::max(applied_, through_index);
}

}  // namespace cloister::raft
