#include "cloister/raft/log.h"

#include <gtest/gtest.h>

#include "cloister/raft/codec.h"

namespace cloister::raft {
namespace {

std::vector<Entry> Entries(uint64_t first_index, std::vector<uint64_t> terms) {
  std::vector<Entry> out;
  for (uint64_t t : terms) out.push_back(Entry{.term = t, .index = first_index++});
  return out;
}

RaftLog Founded() {
  return RaftLog(Snapshot{.index = 1, .term = 1, .config = {.voters = {1, 2, 3}}});
}

// Appending after a matching entry grows the log; a mismatch is refused.
TEST(RaftLogTest, MaybeAppendChecksPreviousEntry) {
  RaftLog log = Founded();
  EXPECT_EQ(log.MaybeAppend(1, 1, Entries(2, {2, 2})), std::optional<uint64_t>(3));
  EXPECT_EQ(log.LastIndex(), 3u);
  EXPECT_EQ(log.MaybeAppend(3, 1, Entries(4, {3})), std::nullopt);  // term of 3 is 2
  EXPECT_EQ(log.MaybeAppend(5, 2, Entries(6, {3})), std::nullopt);  // past the end
  EXPECT_EQ(log.LastIndex(), 3u);
}

// A conflicting suffix is truncated and replaced; a matching (duplicate) append changes nothing.
TEST(RaftLogTest, ConflictTruncatesDuplicateDoesNot) {
  RaftLog log = Founded();
  ASSERT_TRUE(log.MaybeAppend(1, 1, Entries(2, {2, 2, 2})));
  log.MarkStable(log.LastIndex());
  // A replayed older append covering a prefix must not cut the log.
  EXPECT_EQ(log.MaybeAppend(1, 1, Entries(2, {2})), std::optional<uint64_t>(2));
  EXPECT_EQ(log.LastIndex(), 4u);
  EXPECT_FALSE(log.HasUnstable());
  // A new leader's entries at index 3 with term 3 replace 3 and 4.
  EXPECT_EQ(log.MaybeAppend(2, 2, Entries(3, {3})), std::optional<uint64_t>(3));
  EXPECT_EQ(log.LastIndex(), 3u);
  EXPECT_EQ(*log.Term(3), 3u);
  ASSERT_EQ(log.UnstableEntries().size(), 1u);
  EXPECT_EQ(log.UnstableEntries()[0].index, 3u);
}

// §5.4.1 up-to-date comparison: higher last term wins, then longer log.
TEST(RaftLogTest, IsUpToDate) {
  RaftLog log = Founded();
  ASSERT_TRUE(log.MaybeAppend(1, 1, Entries(2, {2, 3})));
  EXPECT_TRUE(log.IsUpToDate(3, 3));
  EXPECT_TRUE(log.IsUpToDate(2, 4));
  EXPECT_FALSE(log.IsUpToDate(2, 3));
  EXPECT_FALSE(log.IsUpToDate(10, 2));
}

// Compaction keeps terms at and above the snapshot and the membership at its index.
TEST(RaftLogTest, CompactKeepsConfigAndTerms) {
  RaftLog log = Founded();
  std::vector<Entry> entries = Entries(2, {2, 2, 2});
  entries[0].type = EntryType::kConfChange;
  entries[0].data = EncodeConfChange({ConfChangeType::kAddLearner, 4});
  entries[2].type = EntryType::kConfChange;
  entries[2].data = EncodeConfChange({ConfChangeType::kPromoteLearner, 4});
  ASSERT_TRUE(log.MaybeAppend(1, 1, entries));
  EXPECT_EQ(log.LatestConfig().ToString(), "voters=[1 2 3 4]");
  EXPECT_EQ(log.ConfigAt(2).ToString(), "voters=[1 2 3] learners=[4]");
  log.CommitTo(4);
  log.MarkApplying(3);
  log.MarkApplied(3);
  log.Compact(3, ToBytes("image"));
  EXPECT_EQ(log.FirstIndex(), 4u);
  EXPECT_EQ(log.Term(3), std::optional<uint64_t>(2));
  EXPECT_EQ(log.Term(2), std::nullopt);
  EXPECT_EQ(log.snapshot().config.ToString(), "voters=[1 2 3] learners=[4]");
  EXPECT_EQ(log.LatestConfig().ToString(), "voters=[1 2 3 4]");
}

// Truncating an uncommitted conf change reverts the membership.
TEST(RaftLogTest, TruncationRevertsConfig) {
  RaftLog log = Founded();
  std::vector<Entry> entries = Entries(2, {2});
  entries[0].type = EntryType::kConfChange;
  entries[0].data = EncodeConfChange({ConfChangeType::kRemoveNode, 3});
  ASSERT_TRUE(log.MaybeAppend(1, 1, entries));
  EXPECT_EQ(log.LatestConfig().ToString(), "voters=[1 2]");
  ASSERT_TRUE(log.MaybeAppend(1, 1, Entries(2, {3})));
  EXPECT_EQ(log.LatestConfig().ToString(), "voters=[1 2 3]");
  EXPECT_EQ(log.LastConfIndex(), 0u);
}

// Invalid membership changes are refused with a reason and do not alter the configuration.
TEST(RaftLogTest, ValidateConfChange) {
  const Configuration c{.voters = {1}, .learners = {2}};
  EXPECT_FALSE(ValidateConfChange(c, {ConfChangeType::kAddLearner, 1}).ok());
  EXPECT_FALSE(ValidateConfChange(c, {ConfChangeType::kPromoteLearner, 3}).ok());
  EXPECT_FALSE(ValidateConfChange(c, {ConfChangeType::kRemoveNode, 1}).ok());
  EXPECT_TRUE(ValidateConfChange(c, {ConfChangeType::kRemoveNode, 2}).ok());
  EXPECT_EQ(ApplyConfChange(c, {ConfChangeType::kRemoveNode, 1}), c);
  EXPECT_EQ(ApplyConfChange(c, {ConfChangeType::kPromoteLearner, 2}).ToString(), "voters=[1 2]");
}

// Slices respect the byte budget but always return at least one entry.
TEST(RaftLogTest, SliceHonoursByteBudget) {
  RaftLog log = Founded();
  std::vector<Entry> entries = Entries(2, {2, 2, 2});
  for (Entry& e : entries) e.data = Bytes(100, 1);
  ASSERT_TRUE(log.MaybeAppend(1, 1, entries));
  EXPECT_EQ(log.Slice(2, 5, 10).size(), 1u);
  EXPECT_EQ(log.Slice(2, 5, 200).size(), 2u);
  EXPECT_EQ(log.Slice(2, 5, 1000).size(), 3u);
  EXPECT_TRUE(log.Slice(5, 5, 1000).empty());
}

}  // namespace
}  // namespace cloister::raft
