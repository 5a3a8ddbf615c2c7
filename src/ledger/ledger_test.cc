// Ledger tests: round trip through storage, group commit, crash recovery (dropped and torn
// writes), truncation at every boundary, suffix rollback, secret rotation, segment swapping.
#include "cloister/ledger/ledger.h"

#include <gtest/gtest.h>

#include "cloister/base/rng.h"
#include "cloister/ledger/memory_storage.h"
#include "ledger_testing.h"

namespace cloister::ledger {
namespace {

using testing::AppendMany;
using testing::CommitOne;
using testing::NewService;
using testing::TestService;

std::vector<std::string> Dump(const kv::Store& store) {
  std::vector<std::string> out;
  const Status status = store.ForEachAt(store.current_version(), [&](auto& m, auto& k, auto& v) {
    out.push_back(m + "/" + k + "=" + v);
  });
  EXPECT_TRUE(status.ok());
  return out;
}

// Opens `storage` with `secrets`, replaying every entry into a fresh store.
struct Reopened {
  std::unique_ptr<Ledger> ledger;
  kv::Store store;
  OpenReport report;
};
Result<std::unique_ptr<Reopened>> Reopen(Storage* storage, LedgerSecrets* secrets,
                                         const crypto::PublicKey* key, LedgerOptions options = {}) {
  auto reopened = std::make_unique<Reopened>();
  kv::Store* store = &reopened->store;
  auto apply = [store](const ReadEntry& entry) -> Status {
    kv::WriteSet writes = entry.public_writes;
    writes.Merge(entry.private_writes);
    return store->Apply(writes, entry.header.index);
  };
  ASSIGN_OR_RETURN(reopened->ledger,
                   Ledger::Open(storage, secrets, key, options, apply, &reopened->report));
  return reopened;
}

std::unique_ptr<TestService> Build(MemoryStorage* storage, uint64_t count, uint64_t interval,
                                   LedgerOptions options = {}) {
  auto service = NewService();
  auto ledger = Ledger::Create(storage, NewLedgerId(), &service->secrets, options);
  EXPECT_TRUE(ledger.ok());
  service->ledger = std::move(ledger).value();
  const Status appended = AppendMany(*service, count, interval);
  EXPECT_TRUE(appended.ok()) << appended.error().ToString();
  return service;
}

// A node reopening its ledger rebuilds exactly the state that was committed.
TEST(LedgerTest, ReopenRebuildsTheSameState) {
  MemoryStorage storage;
  auto service = Build(&storage, 200, 20, {.segment_size_bytes_max = 8 * 1024});
  const crypto::PublicKey key = service->service_key.Public();
  auto reopened = Reopen(&storage, &service->secrets, &key);
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  EXPECT_EQ((*reopened)->ledger->last_index(), service->ledger->last_index());
  EXPECT_EQ((*reopened)->ledger->tree().Root(), service->ledger->tree().Root());
  EXPECT_EQ((*reopened)->report.last_signed_index, service->ledger->last_index());
  EXPECT_EQ(Dump((*reopened)->store), Dump(service->store));
  EXPECT_GT(storage.List()->size(), 3u);  // several segments
  // The reopened ledger keeps appending where the old one stopped, and still verifies.
  service->ledger = std::move((*reopened)->ledger);
  ASSERT_TRUE(AppendMany(*service, 5, 5, /*term=*/2).ok());
  LedgerReader reader(&storage, {.service_key = &key});
  Result<ReadReport> report = reader.ReadAll();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->entry_count, service->ledger->last_index());
}

// Group commit: with a batch of 10 entries, 100 appends cost about 10 syncs, not 100.
TEST(LedgerTest, GroupCommitBatchesSyncs) {
  MemoryStorage storage;
  auto service = NewService();
  service->ledger = std::move(
      Ledger::Create(&storage, NewLedgerId(), &service->secrets, {.group_commit_entries = 10})
          .value());
  for (uint64_t i = 1; i <= 95; ++i) ASSERT_TRUE(CommitOne(*service, 1, i).ok());
  // One sync for the segment header, then one per batch of 10.
  EXPECT_EQ(storage.sync_count(), 1u + 9u);
  EXPECT_EQ(service->ledger->durable_index(), 90u);
  ASSERT_TRUE(service->ledger->Sync().ok());
  EXPECT_EQ(service->ledger->durable_index(), 95u);
  EXPECT_EQ(storage.sync_count(), 1u + 10u);
}

// After a crash that drops or tears unsynced writes, Open recovers a prefix that contains every
// synced entry, reports what it cut, and the recovered entries are the original ones.
TEST(LedgerTest, CrashRecoveryKeepsSyncedPrefix) {
  for (uint64_t seed = 0; seed < 30; ++seed) {
    MemoryStorage storage;
    auto service = NewService();
    service->ledger =
        std::move(Ledger::Create(&storage, NewLedgerId(), &service->secrets,
                                 {.segment_size_bytes_max = 4096, .group_commit_entries = 7})
                      .value());
    DeterministicRng rng(seed);
    const uint64_t count = 20 + rng.Uniform(40);
    for (uint64_t i = 1; i <= count; ++i) ASSERT_TRUE(CommitOne(*service, 1, i).ok());
    const uint64_t durable = service->ledger->durable_index();
    const Bytes durable_root = service->ledger->tree().RootAt(std::max<uint64_t>(durable, 1));
    const auto mode = static_cast<MemoryStorage::CrashMode>(seed % 3);
    storage.Crash(mode, rng);
    auto reopened = Reopen(&storage, &service->secrets, nullptr);
    ASSERT_TRUE(reopened.ok()) << "seed " << seed << ": " << reopened.error().ToString();
    const uint64_t recovered = (*reopened)->ledger->last_index();
    EXPECT_GE(recovered, durable) << "seed " << seed;
    EXPECT_LE(recovered, count) << "seed " << seed;
    if (durable > 0) {
      EXPECT_EQ((*reopened)->ledger->tree().RootAt(durable), durable_root);
    }
    if (recovered > 0) {
      EXPECT_EQ((*reopened)->ledger->tree().Root(), service->ledger->tree().RootAt(recovered));
    }
    // The recovered ledger is clean: a strict read now succeeds.
    LedgerReader strict(&storage, {});
    EXPECT_TRUE(strict.ReadAll().ok()) << "seed " << seed;
  }
}

// Cutting the ledger at every entry boundary and in the middle of every entry recovers exactly
// the entries wholly before the cut.
TEST(LedgerTest, TruncationAtEveryBoundaryRecoversLastValidEntry) {
  MemoryStorage original;
  auto service = Build(&original, 60, 15, {.segment_size_bytes_max = 2048});
  const std::vector<std::string> names = *original.List();
  // Global positions: (segment position, offset) of every entry start, plus segment ends.
  struct Cut {
    size_t segment;
    uint64_t offset;
    uint64_t entries_before;
  };
  std::vector<Cut> cuts;
  uint64_t index = 0;
  for (size_t s = 0; s < names.size(); ++s) {
    const Bytes data = *original.Read(names[s]);
    uint64_t offset = kSegmentHeaderSize;
    cuts.push_back({s, offset / 2, index});  // inside the segment header
    while (offset < data.size()) {
      const EntryView view = *ParseEntry(ByteSpan(data).subspan(offset));
      cuts.push_back({s, offset, index});                        // boundary
      cuts.push_back({s, offset + view.frame_size / 2, index});  // mid-entry
      cuts.push_back({s, offset + view.frame_size - 1, index});  // last byte missing
      offset += view.frame_size;
      ++index;
    }
    cuts.push_back({s, offset, index});
  }
  ASSERT_EQ(index, service->ledger->last_index());
  for (const Cut& cut : cuts) {
    MemoryStorage storage = original;
    for (size_t s = cut.segment + 1; s < names.size(); ++s)
      ASSERT_TRUE(storage.Remove(names[s]).ok());
    ASSERT_TRUE(storage.Truncate(names[cut.segment], cut.offset).ok());
    auto reopened = Reopen(&storage, &service->secrets, nullptr);
    if (cut.entries_before == 0 && cut.segment == 0 && cut.offset < kSegmentHeaderSize) {
      EXPECT_FALSE(reopened.ok());  // nothing left: no ledger
      continue;
    }
    ASSERT_TRUE(reopened.ok()) << names[cut.segment] << "@" << cut.offset << ": "
                               << reopened.error().ToString();
    EXPECT_EQ((*reopened)->ledger->last_index(), cut.entries_before)
        << names[cut.segment] << "@" << cut.offset;
  }
}

// Truncate() drops an uncommitted suffix; a new leader's entries in a later term then follow it
// and the whole ledger verifies.
TEST(LedgerTest, TruncateSuffixThenContinue) {
  MemoryStorage storage;
  auto service = Build(&storage, 50, 10, {.segment_size_bytes_max = 2048});
  ASSERT_TRUE(service->ledger->Truncate(33).ok());
  service->store.Rollback(33);
  EXPECT_EQ(service->ledger->last_index(), 33u);
  EXPECT_EQ(service->ledger->last_signed_index(), 33u);  // entry 33 is a signature (3 * 11)
  ASSERT_TRUE(AppendMany(*service, 12, 5, /*term=*/2).ok());
  const crypto::PublicKey key = service->service_key.Public();
  auto reopened = Reopen(&storage, &service->secrets, &key);
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  EXPECT_EQ((*reopened)->ledger->last_index(), service->ledger->last_index());
  EXPECT_EQ(Dump((*reopened)->store), Dump(service->store));
}

// After rotation, nodes holding every secret read everything; a node holding only the new
// secret cannot read older private entries, and one holding only the old cannot read newer.
TEST(LedgerTest, SecretRotation) {
  MemoryStorage storage;
  auto service = Build(&storage, 30, 10);
  const Bytes old_secret = *service->secrets.SecretStartingAt(1);
  const Bytes new_secret(kSecretSize, 0x5a);
  const uint64_t rotation_index = service->ledger->last_index() + 1;
  ASSERT_TRUE(service->ledger->RotateSecret(new_secret).ok());
  ASSERT_TRUE(AppendMany(*service, 30, 10).ok());

  auto all = Reopen(&storage, &service->secrets, nullptr);
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  EXPECT_EQ(Dump((*all)->store), Dump(service->store));

  LedgerSecrets only_new;
  ASSERT_TRUE(only_new.Add(rotation_index, new_secret).ok());
  auto new_only = Reopen(&storage, &only_new, nullptr);
  ASSERT_FALSE(new_only.ok());
  EXPECT_NE(new_only.error().message.find("no ledger secret covers entry 1"), std::string::npos)
      << new_only.error().ToString();

  LedgerSecrets only_old;
  ASSERT_TRUE(only_old.Add(1, old_secret).ok());
  auto old_only = Reopen(&storage, &only_old, nullptr);
  ASSERT_FALSE(old_only.ok());
  EXPECT_NE(old_only.error().message.find("claims the secret from index"), std::string::npos)
      << old_only.error().ToString();

  // The auditor without secrets verifies all of it.
  LedgerReader auditor(&storage, {});
  EXPECT_TRUE(auditor.ReadAll().ok());
}

// RemoveFrom forgets exactly the secrets starting at or after the index, older ones keep
// covering their entries, and a removed start can be used again by a later rotation.
TEST(LedgerSecretsTest, RemoveFromForgetsOnlyLaterSecrets) {
  LedgerSecrets secrets;
  ASSERT_TRUE(secrets.Add(1, Bytes(kSecretSize, 1)).ok());
  ASSERT_TRUE(secrets.Add(10, Bytes(kSecretSize, 2)).ok());
  ASSERT_TRUE(secrets.Add(20, Bytes(kSecretSize, 3)).ok());
  EXPECT_EQ(secrets.RemoveFrom(21), 0u);
  EXPECT_EQ(secrets.size(), 3u);
  EXPECT_EQ(secrets.RemoveFrom(11), 1u);
  EXPECT_EQ(secrets.size(), 2u);
  EXPECT_EQ(secrets.SecretStartingAt(20), nullptr);
  EXPECT_EQ(secrets.StartFor(25), 10u);
  EXPECT_EQ(secrets.StartFor(9), 1u);
  ASSERT_TRUE(secrets.Add(20, Bytes(kSecretSize, 4)).ok());
  EXPECT_EQ(*secrets.SecretStartingAt(20), Bytes(kSecretSize, 4));
  EXPECT_EQ(secrets.RemoveFrom(10), 2u);
  EXPECT_EQ(secrets.StartFor(UINT64_MAX), 1u);
  EXPECT_EQ(*secrets.SecretStartingAt(1), Bytes(kSecretSize, 1));
  EXPECT_FALSE(secrets.Add(1, Bytes(kSecretSize, 5)).ok());
}

// A rotation undone with RemoveFrom before anything was written under the new secret leaves a
// ledger that the old secret alone reads to its end.
TEST(LedgerTest, RemovedRotationIsNotUsed) {
  MemoryStorage storage;
  auto service = Build(&storage, 20, 10);
  const Bytes old_secret = *service->secrets.SecretStartingAt(1);
  const uint64_t rotation_index = service->ledger->last_index() + 1;
  ASSERT_TRUE(service->ledger->RotateSecret(Bytes(kSecretSize, 0x5a)).ok());
  EXPECT_EQ(service->secrets.RemoveFrom(rotation_index), 1u);
  ASSERT_TRUE(AppendMany(*service, 20, 10).ok());

  LedgerSecrets only_old;
  ASSERT_TRUE(only_old.Add(1, old_secret).ok());
  auto reopened = Reopen(&storage, &only_old, nullptr);
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  EXPECT_EQ(Dump((*reopened)->store), Dump(service->store));
}

// Reordered, duplicated, missing, renamed and foreign segments, and an older copy of a middle
// segment, are each refused with an error that says what is wrong.
TEST(LedgerTest, SegmentSwapsAreDetected) {
  MemoryStorage original;
  auto service = Build(&original, 80, 10, {.segment_size_bytes_max = 2048});
  const std::vector<std::string> names = *original.List();
  ASSERT_GE(names.size(), 4u);
  auto expect_error = [&](MemoryStorage& storage, std::string_view needle, const char* what) {
    LedgerReader reader(&storage, {});
    Result<ReadReport> report = reader.ReadAll();
    ASSERT_FALSE(report.ok()) << what;
    EXPECT_NE(report.error().message.find(needle), std::string::npos)
        << what << ": " << report.error().ToString();
  };
  {
    MemoryStorage storage = original;  // swap the contents of segments 1 and 2
    std::swap(storage.MutableFile(names[1]), storage.MutableFile(names[2]));
    expect_error(storage, "name says", "swapped");
  }
  {
    MemoryStorage storage = original;  // segment 2 removed
    ASSERT_TRUE(storage.Remove(names[2]).ok());
    expect_error(storage, "missing, duplicated or reordered", "missing");
  }
  {
    MemoryStorage storage = original;  // segment 1 duplicated under a later name
    const Bytes copy = storage.MutableFile(names[1]);
    ASSERT_TRUE(storage.Append(SegmentFileName(999999), copy).ok());
    expect_error(storage, "name says", "duplicated");
  }
  {
    MemoryStorage storage = original;  // older copy of segment 1: its last entries missing
    Bytes& data = storage.MutableFile(names[1]);
    const EntryView first = *ParseEntry(ByteSpan(data).subspan(kSegmentHeaderSize));
    data.resize(kSegmentHeaderSize + first.frame_size);
    expect_error(storage, "missing, duplicated or reordered", "older copy");
  }
  {
    MemoryStorage other_storage;  // a segment from another ledger with the same name
    auto other = Build(&other_storage, 80, 10, {.segment_size_bytes_max = 2048});
    MemoryStorage storage = original;
    const std::vector<std::string> other_names = *other_storage.List();
    ASSERT_EQ(other_names[1], names[1]);
    storage.MutableFile(names[1]) = other_storage.MutableFile(other_names[1]);
    expect_error(storage, "belongs to ledger", "foreign");
  }
}

// A signature pinned to another service key is refused; unpinned, every signature must use the
// key of the first.
TEST(LedgerTest, WrongServiceKeyIsRefused) {
  MemoryStorage storage;
  auto service = Build(&storage, 20, 5);
  const crypto::PrivateKey other = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  const crypto::PublicKey other_public = other.Public();
  LedgerReader reader(&storage, {.service_key = &other_public});
  Result<ReadReport> report = reader.ReadAll();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message.find("pinned service key"), std::string::npos);
  // A later signature by another key.
  ASSERT_TRUE(CommitOne(*service, 1, service->ledger->last_index() + 1).ok());
  ASSERT_TRUE(service->ledger->AppendSignature(1, other).ok());
  ASSERT_TRUE(service->ledger->Sync().ok());
  LedgerReader unpinned(&storage, {});
  report = unpinned.ReadAll();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message.find("different service key"), std::string::npos);
}

}  // namespace
}  // namespace cloister::ledger
