// VerifyDirectory: a founding node's directory (segments from index 1, snapshots on the side) and
// a joiner's (a snapshot, then segments after it) verify; a flipped byte in either file, another
// service's snapshot, a gap between snapshot and log, or a missing snapshot are refused.
#include "cloister/ledger/directory.h"

#include <gtest/gtest.h>

#include "cloister/base/rng.h"
#include "cloister/ledger/memory_storage.h"
#include "cloister/ledger/snapshot.h"
#include "ledger_testing.h"

namespace cloister::ledger {
namespace {

// A leader's ledger (60 transactions, an early snapshot at index 11 and one at the last
// signature), and a joiner that installed the second snapshot and appended 30 transactions of
// its own, as a node that joined does.
struct Network {
  MemoryStorage leader_storage;
  std::unique_ptr<testing::TestService> leader;
  MemoryStorage joiner_storage;
  std::unique_ptr<testing::TestService> joiner;
  std::string early_snapshot;
  std::string snapshot;
  uint64_t snapshot_index = 0;
};

std::string WriteSnapshotNow(MemoryStorage& storage, testing::TestService& service) {
  auto name = WriteSnapshot(&storage,
                            {.store = &service.store,
                             .index = service.ledger->last_index(),
                             .term = 1,
                             .tree = &service.ledger->tree(),
                             .ledger_id = service.ledger->ledger_id()},
                            service.secrets, service.service_key);
  EXPECT_TRUE(name.ok()) << name.error().ToString();
  return *name;
}

std::unique_ptr<Network> Build() {
  auto network = std::make_unique<Network>();
  network->leader = testing::NewService();
  auto& leader = *network->leader;
  leader.ledger = std::move(Ledger::Create(&network->leader_storage, NewLedgerId(), &leader.secrets,
                                           {.segment_size_bytes_max = 4096})
                                .value());
  EXPECT_TRUE(testing::AppendMany(leader, 10, 10).ok());
  network->early_snapshot = WriteSnapshotNow(network->leader_storage, leader);
  EXPECT_TRUE(testing::AppendMany(leader, 50, 10).ok());
  network->snapshot_index = leader.ledger->last_index();
  network->snapshot = WriteSnapshotNow(network->leader_storage, leader);
  EXPECT_TRUE(testing::AppendMany(leader, 20, 10).ok());

  // The joiner receives the snapshot's bytes and continues after it.
  const crypto::PublicKey key = leader.service_key.Public();
  EXPECT_TRUE(network->joiner_storage
                  .Append(network->snapshot, *network->leader_storage.Read(network->snapshot))
                  .ok());
  Snapshot snapshot =
      *ReadSnapshot(&network->joiner_storage, network->snapshot, key, {.secrets = &leader.secrets});
  network->joiner = std::unique_ptr<testing::TestService>(
      new testing::TestService{leader.service_key, leader.service_cert, {}, {}, nullptr});
  auto& joiner = *network->joiner;
  EXPECT_TRUE(joiner.secrets.Add(1, *leader.secrets.SecretStartingAt(1)).ok());
  joiner.store.Reset(snapshot.index, snapshot.state);
  joiner.ledger = std::move(
      Ledger::CreateAfterSnapshot(&network->joiner_storage, snapshot.ledger_id, snapshot.tree,
                                  snapshot.term, &joiner.secrets, {.segment_size_bytes_max = 4096})
          .value());
  EXPECT_TRUE(testing::AppendMany(joiner, 30, 10).ok());
  return network;
}

TEST(DirectoryTest, FounderAndJoinerDirectoriesVerify) {
  auto network = Build();
  const crypto::PublicKey key = network->leader->service_key.Public();
  for (const crypto::PublicKey* pinned : {&key, static_cast<const crypto::PublicKey*>(nullptr)}) {
    Result<DirectoryReport> founder =
        VerifyDirectory(&network->leader_storage, {.service_key = pinned});
    ASSERT_TRUE(founder.ok()) << founder.error().ToString();
    EXPECT_FALSE(founder->base_snapshot);
    EXPECT_EQ(founder->snapshot_count, 2u);
    EXPECT_EQ(founder->read.entry_count, network->leader->ledger->last_index());
    EXPECT_EQ(founder->service_key_spki, key.ToSpkiDer());

    Result<DirectoryReport> joiner =
        VerifyDirectory(&network->joiner_storage, {.service_key = pinned});
    ASSERT_TRUE(joiner.ok()) << joiner.error().ToString();
    EXPECT_EQ(joiner->base_snapshot, network->snapshot_index);
    EXPECT_EQ(joiner->snapshot_count, 1u);
    EXPECT_EQ(joiner->read.entry_count,
              network->joiner->ledger->last_index() - network->snapshot_index);
    EXPECT_EQ(joiner->read.state.tree.Root(), network->joiner->ledger->tree().Root());
    EXPECT_GT(joiner->read.state.signature_count, 2u);
    EXPECT_EQ(joiner->service_key_spki, key.ToSpkiDer());
  }
  // Without its snapshot, the joiner's log is refused: nothing covers entries 1..S.
  MemoryStorage no_snapshot = network->joiner_storage;
  ASSERT_TRUE(no_snapshot.Remove(network->snapshot).ok());
  Result<DirectoryReport> refused = VerifyDirectory(&no_snapshot, {.service_key = &key});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("no snapshot covers"), std::string::npos)
      << refused.error().ToString();
  // The snapshot may also be given from elsewhere.
  Result<DirectoryReport> given =
      VerifyDirectory(&no_snapshot, {.service_key = &key,
                                     .snapshot_storage = &network->leader_storage,
                                     .snapshot_name = network->snapshot});
  ASSERT_TRUE(given.ok()) << given.error().ToString();
  EXPECT_EQ(given->base_snapshot, network->snapshot_index);
}

// A single flipped bit anywhere in the joiner's snapshot or segments is refused, with and without
// the pinned key.
TEST(DirectoryTest, FlipsInSnapshotOrLogAreRefused) {
  auto network = Build();
  const crypto::PublicKey key = network->leader->service_key.Public();
  MemoryStorage& storage = network->joiner_storage;
  DeterministicRng rng(5);
  int flips = 0;
  const std::vector<std::string> names = *storage.List();
  for (const std::string& name : names) {
    Bytes& file = storage.MutableFile(name);
    for (int i = 0; i < 40; ++i) {
      const size_t position = rng.Uniform(file.size());
      const auto mask = static_cast<uint8_t>(1u << rng.Uniform(8));
      file[position] ^= mask;
      for (const crypto::PublicKey* pinned :
           {&key, static_cast<const crypto::PublicKey*>(nullptr)}) {
        EXPECT_FALSE(VerifyDirectory(&storage, {.service_key = pinned}).ok())
            << name << " flip at " << position << (pinned ? " (pinned)" : "");
      }
      file[position] ^= mask;
      ++flips;
    }
  }
  EXPECT_GE(flips, 3 * 40);  // the snapshot and at least two segments
  EXPECT_TRUE(VerifyDirectory(&storage, {.service_key = &key}).ok());
}

// Another service's snapshot at the same index, put in place of the joiner's, is refused: by the
// pinned key, and without it because the log does not continue that snapshot.
TEST(DirectoryTest, AnotherServicesSnapshotIsRefused) {
  auto network = Build();
  auto other = Build();
  ASSERT_EQ(network->snapshot, other->snapshot);
  const crypto::PublicKey key = network->leader->service_key.Public();
  MemoryStorage& storage = network->joiner_storage;
  storage.MutableFile(network->snapshot) = other->joiner_storage.MutableFile(other->snapshot);
  Result<DirectoryReport> pinned = VerifyDirectory(&storage, {.service_key = &key});
  ASSERT_FALSE(pinned.ok());
  EXPECT_EQ(pinned.error().code, ErrorCode::kVerification) << pinned.error().ToString();
  Result<DirectoryReport> unpinned = VerifyDirectory(&storage, {});
  ASSERT_FALSE(unpinned.ok());
  EXPECT_NE(unpinned.error().message.find("belongs to ledger"), std::string::npos)
      << unpinned.error().ToString();
  // The other service's own log with this service's snapshot: refused too.
  other->joiner_storage.MutableFile(other->snapshot) =
      *network->leader_storage.Read(network->snapshot);
  EXPECT_FALSE(VerifyDirectory(&other->joiner_storage, {}).ok());
}

// A snapshot older than the log's start leaves a gap: refused, whether found or given.
TEST(DirectoryTest, GapBetweenSnapshotAndLogIsRefused) {
  auto network = Build();
  const crypto::PublicKey key = network->leader->service_key.Public();
  MemoryStorage storage = network->joiner_storage;
  ASSERT_TRUE(storage.Remove(network->snapshot).ok());
  ASSERT_TRUE(
      storage
          .Append(network->early_snapshot, *network->leader_storage.Read(network->early_snapshot))
          .ok());
  Result<DirectoryReport> found = VerifyDirectory(&storage, {.service_key = &key});
  ASSERT_FALSE(found.ok());
  EXPECT_NE(found.error().message.find("are missing"), std::string::npos)
      << found.error().ToString();
  Result<DirectoryReport> given =
      VerifyDirectory(&storage, {.service_key = &key, .snapshot_name = network->early_snapshot});
  ASSERT_FALSE(given.ok());
  EXPECT_NE(given.error().message.find("are missing"), std::string::npos)
      << given.error().ToString();
  // A segment removed from the middle of the founder's log is refused as well.
  MemoryStorage founder = network->leader_storage;
  std::vector<std::string> segments;
  const std::vector<std::string> names = *founder.List();
  for (const std::string& name : names) {
    if (ParseSegmentFileName(name)) segments.push_back(name);
  }
  ASSERT_GE(segments.size(), 3u);
  ASSERT_TRUE(founder.Remove(segments[1]).ok());
  EXPECT_FALSE(VerifyDirectory(&founder, {.service_key = &key}).ok());
}

}  // namespace
}  // namespace cloister::ledger
