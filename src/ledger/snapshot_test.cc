// Snapshots: round trip of the state, catch-up from a snapshot plus the later ledger, private
// values never in clear, and refusal of tampered, foreign, stale or wrongly signed snapshots.
#include "cloister/ledger/snapshot.h"

#include <gtest/gtest.h>

#include "cloister/ledger/memory_storage.h"
#include "cloister/ledger/receipt.h"
#include "ledger_testing.h"

namespace cloister::ledger {
namespace {

struct Fixture {
  MemoryStorage storage;
  std::unique_ptr<testing::TestService> service;
  std::string snapshot_name;
  uint64_t snapshot_index = 0;
};

// 120 transactions (some with 5 MiB-chunk-spanning values), a snapshot at the last signature,
// then 40 more transactions.
std::unique_ptr<Fixture> Build() {
  auto fixture = std::make_unique<Fixture>();
  fixture->service = testing::NewService();
  auto& service = *fixture->service;
  service.ledger = std::move(Ledger::Create(&fixture->storage, NewLedgerId(), &service.secrets,
                                            {.segment_size_bytes_max = 64 * 1024})
                                 .value());
  EXPECT_TRUE(testing::AppendMany(service, 100, 25).ok());
  // Two large private values so the private section spans several chunks.
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(
        testing::CommitOne(service, 1, service.ledger->last_index() + 1, 3 * kSnapshotChunkSize)
            .ok());
  }
  EXPECT_TRUE(testing::AppendMany(service, 18, 25).ok());
  fixture->snapshot_index = service.ledger->last_index();
  auto name = WriteSnapshot(&fixture->storage,
                            {.store = &service.store,
                             .index = fixture->snapshot_index,
                             .term = 1,
                             .tree = &service.ledger->tree(),
                             .ledger_id = service.ledger->ledger_id()},
                            service.secrets, service.service_key);
  EXPECT_TRUE(name.ok()) << name.error().ToString();
  fixture->snapshot_name = *name;
  EXPECT_TRUE(testing::AppendMany(service, 40, 25).ok());
  return fixture;
}

std::map<std::string, std::map<std::string, std::string>> StateAt(const kv::Store& store,
                                                                  uint64_t version,
                                                                  bool public_only) {
  std::map<std::string, std::map<std::string, std::string>> state;
  EXPECT_TRUE(store
                  .ForEachAt(version,
                             [&](auto& map, auto& key, auto& value) {
                               if (!public_only || kv::IsPublicMap(map)) state[map][key] = value;
                             })
                  .ok());
  return state;
}

// The snapshot holds exactly the state at its index; without secrets, only the public maps.
TEST(SnapshotTest, RoundTripsState) {
  auto fixture = Build();
  const crypto::PublicKey key = fixture->service->service_key.Public();
  Result<Snapshot> snapshot = ReadSnapshot(&fixture->storage, fixture->snapshot_name, key,
                                           {.secrets = &fixture->service->secrets});
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().ToString();
  EXPECT_EQ(snapshot->index, fixture->snapshot_index);
  EXPECT_EQ(snapshot->state, StateAt(fixture->service->store, fixture->snapshot_index, false));
  EXPECT_EQ(snapshot->tree.Root(),
            fixture->service->ledger->tree().RootAt(fixture->snapshot_index));
  Result<Snapshot> public_only = ReadSnapshot(&fixture->storage, fixture->snapshot_name, key, {});
  ASSERT_TRUE(public_only.ok());
  EXPECT_EQ(public_only->state, StateAt(fixture->service->store, fixture->snapshot_index, true));
}

// A new node installs the snapshot, then verifies and applies only the entries after it, and
// reaches the leader's state.
TEST(SnapshotTest, CatchUpFromSnapshotAndLedger) {
  auto fixture = Build();
  const crypto::PublicKey key = fixture->service->service_key.Public();
  Snapshot snapshot = *ReadSnapshot(&fixture->storage, fixture->snapshot_name, key,
                                    {.secrets = &fixture->service->secrets});
  kv::Store store;
  store.Reset(snapshot.index, snapshot.state);
  LedgerReader reader(&fixture->storage, {.secrets = &fixture->service->secrets,
                                          .service_key = &key,
                                          .start = snapshot.StateAfter(key),
                                          .on_entry = [&](const ReadEntry& entry) -> Status {
                                            kv::WriteSet writes = entry.public_writes;
                                            writes.Merge(entry.private_writes);
                                            return store.Apply(writes, entry.header.index);
                                          }});
  Result<ReadReport> report = reader.ReadAll();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->entry_count, fixture->service->ledger->last_index() - snapshot.index);
  const uint64_t last = fixture->service->ledger->last_index();
  EXPECT_EQ(StateAt(store, last, false), StateAt(fixture->service->store, last, false));
}

// A joiner that installed a snapshot starts its own ledger after it: its entries chain to the
// snapshot's last leaf, its signatures cover the snapshot's leaves, and a reader starting from
// the snapshot verifies them.
TEST(SnapshotTest, LedgerContinuesAfterSnapshot) {
  auto fixture = Build();
  auto& leader = *fixture->service;
  const crypto::PublicKey key = leader.service_key.Public();
  Snapshot snapshot =
      *ReadSnapshot(&fixture->storage, fixture->snapshot_name, key, {.secrets = &leader.secrets});
  MemoryStorage joiner_storage;
  testing::TestService joiner{leader.service_key, leader.service_cert, {}, {}, nullptr};
  ASSERT_TRUE(joiner.secrets.Add(1, *leader.secrets.SecretStartingAt(1)).ok());
  joiner.store.Reset(snapshot.index, snapshot.state);
  auto ledger = Ledger::CreateAfterSnapshot(&joiner_storage, snapshot.ledger_id, snapshot.tree,
                                            snapshot.term, &joiner.secrets, {});
  ASSERT_TRUE(ledger.ok()) << ledger.error().ToString();
  joiner.ledger = std::move(ledger).value();
  EXPECT_EQ(joiner.ledger->base_index(), snapshot.index);
  ASSERT_TRUE(testing::AppendMany(joiner, 30, 10).ok());
  EXPECT_EQ(joiner.ledger->Receipt(snapshot.index).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(VerifyReceipt(*joiner.ledger->Receipt(snapshot.index + 1), key).ok());
  LedgerReader reader(&joiner_storage, {.service_key = &key, .start = snapshot.StateAfter(key)});
  Result<ReadReport> report = reader.ReadAll();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->entry_count, joiner.ledger->last_index() - snapshot.index);
  // Without the snapshot's state the joiner's ledger does not verify from scratch.
  LedgerReader from_scratch(&joiner_storage, {.service_key = &key});
  EXPECT_FALSE(from_scratch.ReadAll().ok());
}

// A snapshot from another point of history does not fit the live ledger: catch-up fails.
TEST(SnapshotTest, StaleOrForeignSnapshotIsRefused) {
  auto fixture = Build();
  const crypto::PublicKey key = fixture->service->service_key.Public();
  EXPECT_EQ(ReadSnapshot(&fixture->storage, fixture->snapshot_name, key,
                         {.min_index = fixture->snapshot_index + 1})
                .error()
                .code,
            ErrorCode::kPolicy);
  EXPECT_EQ(
      ReadSnapshot(&fixture->storage, fixture->snapshot_name, key, {.ledger_id = NewLedgerId()})
          .error()
          .code,
      ErrorCode::kVerification);
  // Another service's snapshot of the same index, renamed into place: wrong signer.
  auto other = Build();
  MemoryStorage storage = fixture->storage;
  storage.MutableFile(fixture->snapshot_name) = other->storage.MutableFile(other->snapshot_name);
  EXPECT_EQ(ReadSnapshot(&storage, fixture->snapshot_name, key, {}).error().code,
            ErrorCode::kVerification);
  // The other service's snapshot with its own key is valid, but does not chain to this ledger.
  const crypto::PublicKey other_key = other->service->service_key.Public();
  Snapshot foreign = *ReadSnapshot(&other->storage, other->snapshot_name, other_key, {});
  LedgerReader reader(&fixture->storage, {.service_key = &key, .start = foreign.StateAfter(key)});
  EXPECT_FALSE(reader.ReadAll().ok());
}

// Flipping bits anywhere in the snapshot is detected; so is a truncated snapshot.
TEST(SnapshotTest, TamperingIsDetected) {
  auto fixture = Build();
  const crypto::PublicKey key = fixture->service->service_key.Public();
  Bytes& file = fixture->storage.MutableFile(fixture->snapshot_name);
  const size_t size = file.size();
  // Flips in the header, leaves and public section, across the private chunks, and in the
  // signature trailer.
  std::vector<size_t> positions;
  for (size_t i = 0; i < 40; ++i) positions.push_back((i * 7919) % std::min<size_t>(size, 65536));
  for (size_t i = 0; i < 20; ++i) positions.push_back((i * 104729 * 977) % size);
  for (size_t i = 0; i < 20; ++i) positions.push_back(size - 1 - (i * 13) % 120);
  for (const size_t position : positions) {
    file[position] ^= 0x10;
    Result<Snapshot> snapshot = ReadSnapshot(&fixture->storage, fixture->snapshot_name, key,
                                             {.secrets = &fixture->service->secrets});
    file[position] ^= 0x10;
    EXPECT_FALSE(snapshot.ok()) << "flip at " << position << " of " << size;
  }
  const Bytes saved = file;
  file.resize(size - 1);
  EXPECT_FALSE(ReadSnapshot(&fixture->storage, fixture->snapshot_name, key, {}).ok());
  file = saved;
  EXPECT_TRUE(ReadSnapshot(&fixture->storage, fixture->snapshot_name, key, {}).ok());
}

// Private values never appear in clear in the snapshot file; public ones do.
TEST(SnapshotTest, PrivateValuesNeverInClear) {
  auto fixture = Build();
  const Bytes data = *fixture->storage.Read(fixture->snapshot_name);
  const std::string text(data.begin(), data.end());
  EXPECT_EQ(text.find("PRIVATE-CANARY"), std::string::npos);
  EXPECT_EQ(text.find("accounts"), std::string::npos);
  EXPECT_NE(text.find(testing::PublicCanary(1)), std::string::npos);
  EXPECT_NE(text.find(testing::PublicCanary(fixture->snapshot_index - 1)), std::string::npos);
}

}  // namespace
}  // namespace cloister::ledger
