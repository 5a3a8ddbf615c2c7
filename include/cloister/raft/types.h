// Raft data types: log entries, membership configurations, snapshots, hard state and the
// messages nodes exchange.
//
// These are plain values. Every message carries its sender id (`from`) and the sender's term;
// the receiver's checks on both are what make duplicated, reordered, delayed and replayed
// messages harmless (see docs/raft.md). Payloads (`Entry::data`, `Snapshot::data`) are opaque
// bytes owned by the application above raft.
//
// Invariants: node ids are non-zero (0 means "none"); a Configuration's voters and learners are
// disjoint; an Entry's index and term are never 0.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cloister/base/bytes.h"

namespace cloister::raft {

using NodeId = uint64_t;
inline constexpr NodeId kNoNode = 0;

enum class EntryType : uint8_t {
  kNormal = 1,      // application payload (may be empty: the leader's no-op of a new term)
  kConfChange = 2,  // data is an encoded ConfChange
};

struct Entry {
  uint64_t term = 0;
  uint64_t index = 0;
  EntryType type = EntryType::kNormal;
  Bytes data;

  friend bool operator==(const Entry&, const Entry&) = default;
};

// Membership: who votes and who only receives the log. Changes are applied one at a time (each
// changes the voter set by at most one member; see raft.h).
struct Configuration {
  std::set<NodeId> voters;
  std::set<NodeId> learners;

  [[nodiscard]] bool IsVoter(NodeId id) const { return voters.count(id) != 0; }
  [[nodiscard]] bool IsLearner(NodeId id) const { return learners.count(id) != 0; }
  [[nodiscard]] bool IsMember(NodeId id) const { return IsVoter(id) || IsLearner(id); }
  [[nodiscard]] bool empty() const { return voters.empty() && learners.empty(); }
  // "voters=[1 2 3] learners=[4]".
  [[nodiscard]] std::string ToString() const;

  friend bool operator==(const Configuration&, const Configuration&) = default;
};

enum class ConfChangeType : uint8_t {
  kAddLearner = 1,      // a new member that receives the log but does not vote
  kPromoteLearner = 2,  // an existing learner becomes a voter
  kRemoveNode = 3,      // a voter or learner leaves (e.g. a dead member)
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddLearner;
  NodeId node_id = kNoNode;

  friend bool operator==(const ConfChange&, const ConfChange&) = default;
};

// The state machine's image at `index` (inclusive), with the membership in force at that index.
struct Snapshot {
  uint64_t index = 0;
  uint64_t term = 0;
  Configuration config;
  Bytes data;

  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// State that etcd-style hosts persist before sending messages. In Cloister persistence is a
// performance hint (a restarted node is a new member), but the ordering is still honoured.
struct HardState {
  uint64_t term = 0;
  NodeId vote = kNoNode;
  uint64_t commit = 0;

  friend bool operator==(const HardState&, const HardState&) = default;
};

enum class MessageType : uint8_t {
  kPreVote = 1,            // index/log_term: candidate's last entry; term: the term it would use
  kPreVoteResponse = 2,    // reject: refused
  kVote = 3,               // index/log_term: candidate's last entry; force: leader transfer
  kVoteResponse = 4,       // reject: refused
  kAppend = 5,             // index/log_term: entry preceding `entries`; commit: leader commit
  kAppendResponse = 6,     // index: last matching index, or rejected index with reject_hint
  kHeartbeat = 7,          // commit: min(leader commit, follower match); context: read round
  kHeartbeatResponse = 8,  // context: echoed read round
  kSnapshot = 9,           // snapshot: the leader's snapshot
  kTimeoutNow = 10,        // leader transfer: campaign now
};
inline constexpr uint8_t kMaxMessageType = 10;

// Stable upper-case name ("Append").
std::string_view MessageTypeName(MessageType type);

struct Message {
  MessageType type = MessageType::kHeartbeat;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  uint64_t term = 0;
  uint64_t log_term = 0;
  uint64_t index = 0;
  uint64_t commit = 0;
  uint64_t context = 0;
  uint64_t reject_hint = 0;
  bool reject = false;
  bool force = false;
  std::vector<Entry> entries;
  std::optional<Snapshot> snapshot;

  friend bool operator==(const Message&, const Message&) = default;
};

// The answer to ReadIndex(context): reads that started before the call may be served once the
// state machine has applied `index`.
struct ReadState {
  uint64_t index = 0;
  uint64_t context = 0;

  friend bool operator==(const ReadState&, const ReadState&) = default;
};

// Compact human-readable form for logs and scenario files: "1->2 Append t3 i5/2 c4 [6/3 7/3]".
std::string DescribeMessage(const Message& message);
std::string DescribeEntry(const Entry& entry);

}  // namespace cloister::raft
