#include "cloister/raft/raft.h"

#include <gtest/gtest.h>

#include "cloister/raft/codec.h"
#include "raft/test_cluster.h"

namespace cloister::raft {
namespace {

using testing::TestCluster;

TestCluster ThreeNodes(NodeId leader = 1) {
  TestCluster c;
  c.Found({1, 2, 3});
  c[leader].Campaign();
  c.Stabilize();
  return c;
}

std::vector<std::string> Payloads(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) {
    if (e.type == EntryType::kNormal && !e.data.empty()) out.push_back(ToString(e.data));
  }
  return out;
}

// A single founder elects itself and commits proposals at once.
TEST(RaftTest, SingleNodeCommitsAlone) {
  TestCluster c;
  c.Found({1});
  c[1].Campaign();
  c.Stabilize();
  ASSERT_EQ(c[1].role(), Role::kLeader);
  ASSERT_TRUE(c[1].Propose(ToBytes("a")).ok());
  c.Stabilize();
  EXPECT_EQ(Payloads(c.nodes.at(1).applied), std::vector<std::string>{"a"});
}

// Three founders elect one leader and every node applies the same proposals in order.
TEST(RaftTest, ThreeNodesReplicateInOrder) {
  TestCluster c = ThreeNodes();
  ASSERT_EQ(c[1].role(), Role::kLeader);
  EXPECT_EQ(c[2].leader(), 1u);
  for (const char* p : {"a", "b", "c"}) ASSERT_TRUE(c[1].Propose(ToBytes(p)).ok());
  c.Stabilize();
  for (NodeId id : {1u, 2u, 3u}) {
    EXPECT_EQ(Payloads(c.nodes.at(id).applied), (std::vector<std::string>{"a", "b", "c"}));
  }
  EXPECT_FALSE(c[2].Propose(ToBytes("x")).ok());
}

// §5.4.2: a new leader does not commit an entry of an earlier term by counting replicas; it
// commits it only together with an entry of its own term.
TEST(RaftTest, CommitsOnlyCurrentTermEntriesByCounting) {
  DeterministicRng rng(1);
  RaftOptions o{.id = 1, .bootstrap = {.voters = {1, 2, 3}}, .pre_vote = false};
  Raft r(o, rng);
  // Node 2 led term 2 and gave us entry 2/2 without committing it.
  ASSERT_TRUE(r.Step({.type = MessageType::kAppend,
                      .from = 2,
                      .to = 1,
                      .term = 2,
                      .log_term = 1,
                      .index = 1,
                      .commit = 1,
                      .entries = {Entry{.term = 2, .index = 2, .data = ToBytes("old")}}})
                  .ok());
  r.Campaign();  // term 3
  ASSERT_TRUE(r.Step({.type = MessageType::kVoteResponse, .from = 2, .to = 1, .term = 3}).ok());
  ASSERT_EQ(r.role(), Role::kLeader);
  ASSERT_EQ(r.log().LastIndex(), 3u);  // the no-op 3/3
  ASSERT_TRUE(
      r.Step({.type = MessageType::kAppendResponse, .from = 3, .to = 1, .term = 3, .index = 2})
          .ok());
  EXPECT_EQ(r.log().committed(), 1u) << "entry 2 of term 2 committed by counting";
  ASSERT_TRUE(
      r.Step({.type = MessageType::kAppendResponse, .from = 3, .to = 1, .term = 3, .index = 3})
          .ok());
  EXPECT_EQ(r.log().committed(), 3u);
}

// A voter refuses a candidate whose log is behind its own, and votes once per term.
TEST(RaftTest, VoteRequiresUpToDateLogAndOncePerTerm) {
  DeterministicRng rng(1);
  Raft r(
      RaftOptions{
          .id = 1, .bootstrap = {.voters = {1, 2, 3}}, .pre_vote = false, .check_quorum = false},
      rng);
  ASSERT_TRUE(r.Step({.type = MessageType::kAppend,
                      .from = 2,
                      .to = 1,
                      .term = 2,
                      .log_term = 1,
                      .index = 1,
                      .entries = {Entry{.term = 2, .index = 2}}})
                  .ok());
  r.TakeReady();
  r.Advance();
  ASSERT_TRUE(
      r.Step({.type = MessageType::kVote, .from = 3, .to = 1, .term = 3, .log_term = 1, .index = 5})
          .ok());
  Ready ready = r.TakeReady();
  r.Advance();
  ASSERT_EQ(ready.messages.size(), 1u);
  EXPECT_TRUE(ready.messages[0].reject) << "voted for a stale log";
  ASSERT_TRUE(
      r.Step({.type = MessageType::kVote, .from = 3, .to = 1, .term = 4, .log_term = 2, .index = 2})
          .ok());
  ready = r.TakeReady();
  r.Advance();
  ASSERT_EQ(ready.messages.size(), 1u);
  EXPECT_FALSE(ready.messages[0].reject);
  ASSERT_TRUE(ready.hard_state.has_value());
  EXPECT_EQ(ready.hard_state->vote, 3u);
  ASSERT_TRUE(
      r.Step({.type = MessageType::kVote, .from = 2, .to = 1, .term = 4, .log_term = 2, .index = 2})
          .ok());
  ready = r.TakeReady();
  r.Advance();
  ASSERT_EQ(ready.messages.size(), 1u);
  EXPECT_TRUE(ready.messages[0].reject) << "second vote in term 4";
}

// Replaying every message of a run to every node changes no log, commit or leadership.
TEST(RaftTest, ReplayOfWholeHistoryIsHarmless) {
  TestCluster c;
  c.Found({1, 2, 3});
  std::vector<Message> history;
  c[1].Campaign();
  for (int i = 0; i < 20; ++i) {
    if (i % 5 == 0 && c.Leader() != kNoNode) {
      ASSERT_TRUE(c[c.Leader()].Propose(ToBytes("p")).ok());
    }
    if (i == 10) c[2].Campaign();
    std::vector<Message> out = c.Collect();
    for (const Message& m : out) {
      history.push_back(m);
      ASSERT_TRUE(c[m.to].Step(m).ok());
    }
    c.TickAll(1);
  }
  c.Stabilize();
  const NodeId leader = c.Leader();
  ASSERT_NE(leader, kNoNode);
  std::map<NodeId, std::pair<uint64_t, uint64_t>> before;
  for (NodeId id : {1u, 2u, 3u}) before[id] = {c[id].log().committed(), c[id].log().LastIndex()};
  for (const Message& m : history) {
    for (NodeId to : {1u, 2u, 3u}) {
      Message replay = m;
      replay.to = to;
      if (replay.from != to) {
        ASSERT_TRUE(c[to].Step(replay).ok());
      }
    }
    c.Collect();  // responses to replays are dropped
  }
  for (NodeId id : {1u, 2u, 3u}) {
    EXPECT_EQ(c[id].log().committed(), before[id].first);
    EXPECT_GE(c[id].log().LastIndex(), before[id].first);
  }
  EXPECT_EQ(c.Leader(), leader);
}

// Vote requests from a node outside the configuration do not even raise the term, unless its
// log is ahead of ours (our configuration may lag) and no leader is in lease; a forced
// (transfer) request from a non-member is never honoured.
TEST(RaftTest, NonMemberVoteRequestIgnored) {
  TestCluster c = ThreeNodes();
  const uint64_t term = c[2].term();
  const uint64_t last = c[2].log().LastIndex();
  ASSERT_TRUE(c[2].Step({.type = MessageType::kVote,
                         .from = 9,
                         .to = 2,
                         .term = term + 5,
                         .log_term = term,
                         .index = last})
                  .ok());
  ASSERT_TRUE(c[2].Step({.type = MessageType::kVote,
                         .from = 9,
                         .to = 2,
                         .term = term + 5,
                         .log_term = 100,
                         .index = 100,
                         .force = true})
                  .ok());
  EXPECT_EQ(c[2].term(), term);
  EXPECT_TRUE(c.Collect().empty());
  // Ahead, but the leader is in lease: still ignored.
  ASSERT_TRUE(c[2].Step({.type = MessageType::kVote,
                         .from = 9,
                         .to = 2,
                         .term = term + 5,
                         .log_term = 100,
                         .index = 100})
                  .ok());
  EXPECT_EQ(c[2].term(), term);
  // Leader gone for an election timeout: a candidate that holds entries we lack gets a vote.
  c.down.insert(1);
  c.nodes.at(2).raft->Tick();
  for (int i = 0; i < 10; ++i) c.nodes.at(2).raft->Tick();
  c.Collect();
  ASSERT_TRUE(c[2].Step({.type = MessageType::kVote,
                         .from = 9,
                         .to = 2,
                         .term = term + 5,
                         .log_term = 100,
                         .index = 100})
                  .ok());
  EXPECT_EQ(c[2].term(), term + 5);
  EXPECT_EQ(c[2].vote(), 9u);
}

// A message addressed to someone else, or claiming to be from ourselves, is an error.
TEST(RaftTest, MisaddressedMessageIsError) {
  TestCluster c = ThreeNodes();
  EXPECT_FALSE(c[2].Step({.type = MessageType::kHeartbeat, .from = 1, .to = 3, .term = 9}).ok());
  EXPECT_FALSE(c[2].Step({.type = MessageType::kHeartbeat, .from = 2, .to = 2, .term = 9}).ok());
  EXPECT_EQ(c[2].term(), c[1].term());
}

// Messages no correct peer sends (entries out of sequence or out of term order, entries or a
// snapshot on the wrong type) are refused with an error naming the problem and change nothing.
TEST(RaftTest, StructurallyImpossibleMessagesAreRefused) {
  TestCluster c = ThreeNodes();
  const uint64_t term = c[1].term();
  const uint64_t last = c[2].log().LastIndex();
  const Entry a{.term = term, .index = last + 1, .data = ToBytes("a")};
  const Entry gap{.term = term, .index = last + 3, .data = ToBytes("gap")};
  const Entry old_term{.term = term - 1, .index = last + 2, .data = ToBytes("old")};
  const Entry future{.term = term + 1, .index = last + 1, .data = ToBytes("future")};
  const Message append{.type = MessageType::kAppend,
                       .from = 1,
                       .to = 2,
                       .term = term,
                       .log_term = term,
                       .index = last,
                       .commit = last};
  struct Case {
    Message message;
    std::string error;
  };
  std::vector<Case> cases;
  Message m = append;
  m.entries = {a, gap};
  cases.push_back({m, "has index " + std::to_string(last + 3)});
  m.entries = {a, old_term};
  cases.push_back({m, "has term " + std::to_string(term - 1)});
  m.entries = {future};
  cases.push_back({m, "has term " + std::to_string(term + 1)});
  m.entries = {};
  m.log_term = term + 1;
  cases.push_back({m, "follows an entry of term"});
  m = append;
  m.index = UINT64_MAX;
  m.entries = {a};
  cases.push_back({m, "overflow"});
  m = append;
  m.snapshot = Snapshot{.index = last, .term = term, .config = c[1].config()};
  cases.push_back({m, "carries a snapshot"});
  m = {.type = MessageType::kHeartbeat, .from = 1, .to = 2, .term = term, .entries = {a}};
  cases.push_back({m, "Heartbeat message carries entries"});
  m = {.type = MessageType::kSnapshot, .from = 1, .to = 2, .term = term};
  cases.push_back({m, "lacks a snapshot"});
  m.snapshot = Snapshot{.index = last + 5, .term = term + 1, .config = c[1].config()};
  cases.push_back({m, "in a message of term"});
  for (const Case& k : cases) {
    const Status s = c[2].Step(k.message);
    ASSERT_FALSE(s.ok()) << DescribeMessage(k.message);
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find(k.error), std::string::npos) << s.error().message;
    EXPECT_EQ(c[2].log().LastIndex(), last);
    EXPECT_EQ(c[2].term(), term);
    EXPECT_FALSE(c[2].HasReady()) << DescribeMessage(k.message);
  }
  // The well-formed version of the first case is accepted.
  m = append;
  m.entries = {a};
  ASSERT_TRUE(c[2].Step(m).ok());
  EXPECT_EQ(c[2].log().LastIndex(), last + 1);
}

// CheckQuorum: a leader cut off from every follower steps down within an election timeout.
TEST(RaftTest, CheckQuorumStepsDownIsolatedLeader) {
  TestCluster c = ThreeNodes();
  c.Isolate(1);
  for (int i = 0; i < 25 && c[1].role() == Role::kLeader; ++i) {
    c.TickAll(1);
    c.Stabilize();
  }
  EXPECT_NE(c[1].role(), Role::kLeader);
}

// PreVote: a partitioned follower does not raise its term, so on return it does not depose
// the leader.
TEST(RaftTest, PreVotePreventsDisruption) {
  TestCluster c = ThreeNodes();
  const uint64_t term = c[1].term();
  c.Isolate(3);
  for (int i = 0; i < 100; ++i) {
    c.nodes.at(3).raft->Tick();
    c.Stabilize();
  }
  EXPECT_EQ(c[3].term(), term);
  c.Heal();
  c.TickAll(2);
  c.Stabilize();
  EXPECT_EQ(c[1].role(), Role::kLeader);
  EXPECT_EQ(c[1].term(), term);
}

// Flow control: with a silent follower, in-flight Appends stop at max_inflight_messages.
TEST(RaftTest, InflightWindowIsBounded) {
  TestCluster c = ThreeNodes();
  c.Cut(3, 1);  // responses from 3 are lost
  ASSERT_TRUE(c[1].Propose(ToBytes("x")).ok());
  c.Stabilize();
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE(c[1].Propose(ToBytes("y")).ok());
    c.Stabilize();
  }
  const Progress* pr = c[1].ProgressOf(3);
  ASSERT_NE(pr, nullptr);
  EXPECT_EQ(pr->state, Progress::State::kReplicate);
  EXPECT_LE(pr->inflight.size(), 256u);
  EXPECT_EQ(pr->inflight.size(), 256u);
  EXPECT_LT(pr->next, c[1].log().LastIndex());
}

// A member joining after compaction receives the snapshot, then the rest of the log, then can
// be promoted to voter.
TEST(RaftTest, JoinerReceivesSnapshotAndIsPromoted) {
  TestCluster c = ThreeNodes();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c[1].Propose(ToBytes("e" + std::to_string(i))).ok());
  c.Stabilize();
  ASSERT_TRUE(c[1].Compact(c[1].log().applied(), ToBytes("image")).ok());
  c.Join(4);
  ASSERT_TRUE(c[1].ProposeConfChange({ConfChangeType::kAddLearner, 4}).ok());
  c.Stabilize();
  c.TickAll(1);
  c.Stabilize();
  ASSERT_TRUE(c.nodes.at(4).installed.has_value());
  EXPECT_EQ(c.nodes.at(4).installed->data, ToBytes("image"));
  EXPECT_EQ(c[4].log().committed(), c[1].log().committed());
  EXPECT_TRUE(c[4].config().IsLearner(4));
  ASSERT_TRUE(c[1].ProposeConfChange({ConfChangeType::kPromoteLearner, 4}).ok());
  c.Stabilize();
  EXPECT_EQ(c[4].config().ToString(), "voters=[1 2 3 4]");
}

// Only one membership change may be uncommitted at a time, and only after the leader's no-op.
TEST(RaftTest, OneConfChangeAtATime) {
  TestCluster c = ThreeNodes();
  c.Isolate(1);
  ASSERT_TRUE(c[1].ProposeConfChange({ConfChangeType::kAddLearner, 4}).ok());
  auto second = c[1].ProposeConfChange({ConfChangeType::kAddLearner, 5});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kFailedPrecondition);
}

// ReadIndex answers with the commit index after a quorum heartbeat round, and not while the
// leader is cut off.
TEST(RaftTest, ReadIndexNeedsQuorum) {
  TestCluster c = ThreeNodes();
  ASSERT_TRUE(c[1].ReadIndex(77).ok());
  c.Stabilize();
  ASSERT_EQ(c.nodes.at(1).reads.size(), 1u);
  EXPECT_EQ(c.nodes.at(1).reads[0], (ReadState{c[1].log().committed(), 77}));
  c.Isolate(1);
  ASSERT_TRUE(c[1].ReadIndex(78).ok());
  c.Stabilize();
  EXPECT_EQ(c.nodes.at(1).reads.size(), 1u);
  EXPECT_FALSE(c[2].ReadIndex(79).ok());
}

// Leader transfer hands leadership to the target, which wins at once.
TEST(RaftTest, TransferLeadership) {
  TestCluster c = ThreeNodes();
  ASSERT_TRUE(c[1].TransferLeadership(3).ok());
  c.Stabilize();
  EXPECT_EQ(c[3].role(), Role::kLeader);
  EXPECT_EQ(c[1].leader(), 3u);
}

// A leader that removes itself leads until the removal commits, then steps down for good.
TEST(RaftTest, LeaderRemovesItself) {
  TestCluster c = ThreeNodes();
  ASSERT_TRUE(c[1].ProposeConfChange({ConfChangeType::kRemoveNode, 1}).ok());
  c.Stabilize();
  EXPECT_NE(c[1].role(), Role::kLeader);
  EXPECT_EQ(c[2].config().ToString(), "voters=[2 3]");
  for (int i = 0; i < 30 && c.Leader() == kNoNode; ++i) {
    c.TickAll(1);
    c.Stabilize();
  }
  const NodeId leader = c.Leader();
  EXPECT_TRUE(leader == 2 || leader == 3);
  c.TickAll(100);
  c.Stabilize();
  EXPECT_NE(c[1].role(), Role::kLeader);
  EXPECT_NE(c[1].role(), Role::kCandidate);
}

// Removing a dead follower restores a working majority of the survivors.
TEST(RaftTest, RemoveDeadMember) {
  TestCluster c = ThreeNodes();
  c.down.insert(3);
  ASSERT_TRUE(c[1].ProposeConfChange({ConfChangeType::kRemoveNode, 3}).ok());
  c.Stabilize();
  EXPECT_EQ(c[1].config().ToString(), "voters=[1 2]");
  c.down.insert(2);
  ASSERT_TRUE(c[1].Propose(ToBytes("z")).ok());
  c.Stabilize();
  EXPECT_LT(c[1].log().committed(), c[1].log().LastIndex()) << "committed without node 2";
}

}  // namespace
}  // namespace cloister::raft
