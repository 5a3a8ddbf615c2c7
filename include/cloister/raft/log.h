// RaftLog: the in-memory replicated log of one raft node, with its snapshot base, commit and
// apply cursors, the membership history, and the boundary of what has been handed to storage.
//
// Layout: a snapshot covers indexes [1, snapshot.index]; entries_ holds
// (snapshot.index, LastIndex()] contiguously. The log is the single source of truth for the
// core; the host persists what Ready hands out (entries from `unstable_from_`, the snapshot) as a
// performance hint and for audit, never to restart the same member (see docs/raft.md).
//
// Invariants (ASSERTed): snapshot.index <= applied <= committed <= LastIndex();
// entries are contiguous and their terms never decrease; committed entries are never truncated;
// configs_ lists the configuration after each conf-change entry above the snapshot in index
// order, so ConfigAt(i) is the membership in force once entry i is in the log.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "cloister/raft/types.h"

namespace cloister::raft {

// Applies `change` to `config` if valid; an invalid change leaves it unchanged. Deterministic, so
// every node derives the same membership from the same log.
Configuration ApplyConfChange(const Configuration& config, const ConfChange& change);
// Why `change` cannot apply to `config`, or OkStatus().
Status ValidateConfChange(const Configuration& config, const ConfChange& change);

class RaftLog {
 public:
  // An empty log whose base is `snapshot` (index 0 for a fresh cluster).
  explicit RaftLog(Snapshot base);

  [[nodiscard]] uint64_t FirstIndex() const { return snapshot_.index + 1; }
  [[nodiscard]] uint64_t LastIndex() const { return snapshot_.index + entries_.size(); }
  [[nodiscard]] uint64_t LastTerm() const;
  [[nodiscard]] uint64_t committed() const { return committed_; }
  [[nodiscard]] uint64_t applied() const { return applied_; }
  [[nodiscard]] uint64_t applying() const { return applying_; }
  [[nodiscard]] const Snapshot& snapshot() const { return snapshot_; }

  // Term of entry `index`: the snapshot's term at snapshot.index; nullopt below the snapshot
  // (compacted) or past the end.
  [[nodiscard]] std::optional<uint64_t> Term(uint64_t index) const;
  [[nodiscard]] bool MatchTerm(uint64_t index, uint64_t term) const;
  // Raft §5.4.1: a candidate's log is at least as up to date as ours.
  [[nodiscard]] bool IsUpToDate(uint64_t last_index, uint64_t last_term) const;
  // Entry at `index`; requires FirstIndex() <= index <= LastIndex().
  [[nodiscard]] const Entry& At(uint64_t index) const;
  // Entries [lo, hi) with total data at most max_bytes (always at least one when lo < hi).
  // Requires FirstIndex() <= lo <= hi <= LastIndex() + 1.
  [[nodiscard]] std::vector<Entry> Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;

  // Leader side: appends entries whose indexes continue the log.
  void Append(std::vector<Entry> entries);
  // Follower side (§5.3): if the log matches at (prev_index, prev_term), appends `entries`,
  // truncating any conflicting suffix (never a committed entry), and returns the index of the
  // last entry known to match the leader; nullopt on mismatch.
  std::optional<uint64_t> MaybeAppend(uint64_t prev_index, uint64_t prev_term,
                                      std::span<const Entry> entries);
  // Raises committed to `index` (never lowers it). Requires index <= LastIndex().
  void CommitTo(uint64_t index);
  // Replaces the whole log by `snapshot` (a follower installing the leader's snapshot).
  void Restore(Snapshot snapshot);
  // Discards entries up to `index` (<= applied), keeping an image of the state machine there.
  void Compact(uint64_t index, Bytes data);

  // Membership after all entries in the log (including uncommitted ones), and at `index`.
  [[nodiscard]] const Configuration& LatestConfig() const;
  [[nodiscard]] Configuration ConfigAt(uint64_t index) const;
  // Index of the last conf-change entry in the log (0 if none above the snapshot).
  [[nodiscard]] uint64_t LastConfIndex() const;

  // Ready support: entries not yet handed to storage, committed entries not yet handed to the
  // application, and acknowledgements of both.
  [[nodiscard]] bool HasUnstable() const { return unstable_from_ <= LastIndex(); }
  [[nodiscard]] std::vector<Entry> UnstableEntries() const;
  [[nodiscard]] bool HasNextCommitted() const { return applying_ < committed_; }
  [[nodiscard]] std::vector<Entry> NextCommitted(uint64_t max_bytes) const;
  void MarkStable(uint64_t through_index);
  void MarkApplying(uint64_t through_index);
  void MarkApplied(uint64_t through_index);
  [[nodiscard]] bool HasPendingSnapshot() const { return pending_snapshot_; }
  void MarkSnapshotHandled() { pending_snapshot_ = false; }

 private:
  void TruncateFrom(uint64_t index);
  void TrackConfig(const Entry& entry);

  Snapshot snapshot_;
  std::vector<Entry> entries_;
  std::vector<std::pair<uint64_t, Configuration>> configs_;
  uint64_t committed_ = 0;
  uint64_t applying_ = 0;  // handed to the application, awaiting Advance
  uint64_t applied_ = 0;
  uint64_t unstable_from_ = 1;
  bool pending_snapshot_ = false;
};

}  // namespace cloister::raft
