// Unit tests of the transactional store: typed handles, versions, MVCC reads, conflicts,
// followers, rollback and compaction.
#include "cloister/kv/store.h"

#include <gtest/gtest.h>

#include "cloister/base/rng.h"

namespace cloister::kv {
namespace {

const TypedMap<std::string, uint64_t> kBalances{"balances"};
const TypedMap<uint64_t, std::string> kEvents{"public:events"};

// Typed handles round-trip keys and values, and integer keys scan in numeric order.
TEST(StoreTest, TypedHandlesRoundTripAndOrderNumerically) {
  Store store;
  Tx tx = store.Begin();
  ASSERT_TRUE(tx.rw(kBalances)->put("alice", 42).ok());
  for (uint64_t id : {300u, 2u, 10u, 1000u}) {
    ASSERT_TRUE(tx.rw(kEvents)->put(id, "event" + std::to_string(id)).ok());
  }
  ASSERT_TRUE(store.Commit(tx).ok());
  Tx reader = store.Begin();
  Result<std::optional<uint64_t>> balance = reader.ro(kBalances)->get("alice");
  ASSERT_TRUE(balance.ok());
  EXPECT_EQ(balance->value_or(0), 42u);
  Result<Page<uint64_t, std::string>> page = reader.ro(kEvents)->range(0, std::nullopt, 10);
  ASSERT_TRUE(page.ok());
  std::vector<uint64_t> ids;
  for (const auto& [id, text] : page->items) ids.push_back(id);
  EXPECT_EQ(ids, (std::vector<uint64_t>{2, 10, 300, 1000}));
}

// Reading a value with the wrong type is an error, not a crash.
TEST(StoreTest, WrongTypeDecodeIsAnError) {
  Store store;
  Tx tx = store.Begin();
  ASSERT_TRUE(tx.rw("balances")->put("bob", "short").ok());
  ASSERT_TRUE(store.Commit(tx).ok());
  Tx reader = store.Begin();
  Result<std::optional<uint64_t>> balance = reader.ro(kBalances)->get("bob");
  ASSERT_FALSE(balance.ok());
  EXPECT_EQ(balance.error().code, ErrorCode::kParse);
}

// Commits produce consecutive versions and write sets that followers apply to the same state.
TEST(StoreTest, FollowerApplyingWriteSetsConverges) {
  Store leader;
  Store follower;
  DeterministicRng rng(7);
  for (int i = 0; i < 200; ++i) {
    Tx tx = leader.Begin();
    const std::string key = "k" + std::to_string(rng.Uniform(30));
    if (rng.Chance(0.2)) {
      ASSERT_TRUE(tx.rw("m")->remove(key).ok());
    } else {
      ASSERT_TRUE(tx.rw(rng.Chance(0.5) ? "m" : "public:m")->put(key, std::to_string(i)).ok());
    }
    Result<CommitResult> committed = leader.Commit(tx);
    ASSERT_TRUE(committed.ok());
    EXPECT_EQ(committed->version, static_cast<Version>(i + 1));
    Result<WriteSet> decoded = WriteSet::Decode(committed->write_set.Encode());
    ASSERT_TRUE(decoded.ok());
    ASSERT_TRUE(follower.Apply(*decoded, committed->version).ok());
  }
  std::vector<std::string> leader_dump;
  std::vector<std::string> follower_dump;
  ASSERT_TRUE(leader
                  .ForEachAt(200, [&](auto& m, auto& k,
                                      auto& v) { leader_dump.push_back(m + "/" + k + "=" + v); })
                  .ok());
  ASSERT_TRUE(follower
                  .ForEachAt(200, [&](auto& m, auto& k,
                                      auto& v) { follower_dump.push_back(m + "/" + k + "=" + v); })
                  .ok());
  EXPECT_FALSE(leader_dump.empty());
  EXPECT_EQ(leader_dump, follower_dump);
}

// Apply refuses a write set that does not follow the current version.
TEST(StoreTest, ApplyRejectsOutOfOrderVersion) {
  Store store;
  WriteSet write_set;
  write_set.maps["m"]["k"] = "v";
  const Status status = store.Apply(write_set, 2);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(store.Apply(write_set, 1).ok());
}

// Rollback discards an uncommitted suffix; later commits reuse the versions.
TEST(StoreTest, RollbackDiscardsSuffix) {
  Store store;
  for (int i = 1; i <= 5; ++i) {
    Tx tx = store.Begin();
    ASSERT_TRUE(tx.rw("m")->put("k", std::to_string(i)).ok());
    ASSERT_TRUE(tx.rw("m")->put("only" + std::to_string(i), "x").ok());
    ASSERT_TRUE(store.Commit(tx).ok());
  }
  store.Rollback(3);
  EXPECT_EQ(store.current_version(), 3u);
  Tx tx = store.Begin();
  EXPECT_EQ(tx.ro("m")->get("k").value_or(""), "3");
  EXPECT_FALSE(tx.ro("m")->get("only4").has_value());
  ASSERT_TRUE(tx.rw("m")->put("k", "new").ok());
  Result<CommitResult> committed = store.Commit(tx);
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->version, 4u);
}

// Compaction bounds history: after many overwrites of few keys only one entry per key remains.
TEST(StoreTest, CompactionBoundsHistory) {
  Store store;
  for (int i = 0; i < 1000; ++i) {
    Tx tx = store.Begin();
    ASSERT_TRUE(tx.rw("m")->put("k" + std::to_string(i % 10), std::to_string(i)).ok());
    if (i % 100 == 99) {
      ASSERT_TRUE(tx.rw("m")->remove("k" + std::to_string(i % 10)).ok());
    }
    ASSERT_TRUE(store.Commit(tx).ok());
  }
  EXPECT_EQ(store.HistoryEntryCount(), 1000u);
  const size_t freed = store.Compact(1000);
  EXPECT_EQ(store.HistoryEntryCount(), 1000u - freed);
  EXPECT_EQ(store.HistoryEntryCount(), 9u);  // k9 was removed last at version 1000
  EXPECT_FALSE(store.BeginAt(999).ok());
  Tx tx = store.Begin();
  EXPECT_EQ(tx.ro("m")->get("k0").value_or(""), "990");
}

// Handles obtained before a transaction is moved keep working through the moved transaction.
TEST(StoreTest, HandlesFollowAMovedTransaction) {
  Store store;
  Tx first = store.Begin();
  MapHandle* handle = first.rw("m");
  TypedHandle<std::string, uint64_t>* typed = first.rw(kBalances);
  Tx moved = std::move(first);
  ASSERT_TRUE(handle->put("k", "v").ok());
  ASSERT_TRUE(typed->put("alice", 5).ok());
  EXPECT_EQ(moved.pending_writes().WriteCount(), 2u);
  Result<CommitResult> committed = store.Commit(moved);
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->write_set.WriteCount(), 2u);
}

// Oversized keys and values are refused with an error that names the limit.
TEST(StoreTest, OversizedKeyIsRefused) {
  Store store;
  Tx tx = store.Begin();
  const Status status = tx.rw("m")->put(std::string(kKeyLengthMax + 1, 'k'), "v");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
}

// Reset installs a snapshot state readable at its version and nothing older.
TEST(StoreTest, ResetInstallsSnapshotState) {
  Store store;
  store.Reset(50, {{"m", {{"a", "1"}, {"b", "2"}}}});
  EXPECT_EQ(store.current_version(), 50u);
  EXPECT_FALSE(store.BeginAt(49).ok());
  Tx tx = store.Begin();
  EXPECT_EQ(tx.ro("m")->get("b").value_or(""), "2");
  ASSERT_TRUE(tx.rw("m")->put("c", "3").ok());
  Result<CommitResult> committed = store.Commit(tx);
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->version, 51u);
}

}  // namespace
}  // namespace cloister::kv
