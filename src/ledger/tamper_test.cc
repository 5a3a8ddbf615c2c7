// Tamper and canary tests on a ledger of more than 1,000 entries: each of 10,000 random single-bit
// flips anywhere in the segment files is detected both by the auditor's verification (public
// parts, pinned service key, no secret) and by the node's reader (which also decrypts); flips
// through the node's startup path (Ledger::Open, which cuts a torn tail) are refused or cut
// exactly at the flipped entry, never applied; and no private value is ever stored in clear while
// every public one is.
#include <gtest/gtest.h>

#include <map>

#include "cloister/base/rng.h"
#include "cloister/ledger/ledger.h"
#include "cloister/ledger/memory_storage.h"
#include "cloister/ledger/reader.h"
#include "ledger_testing.h"

namespace cloister::ledger {
namespace {

constexpr uint64_t kTransactions = 1000;
constexpr uint64_t kSignatureInterval = 50;
constexpr int kFlips = 10000;

class TamperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    storage_ = new MemoryStorage();
    service_ = testing::NewService().release();
    service_->ledger = std::move(Ledger::Create(storage_, NewLedgerId(), &service_->secrets,
                                                {.segment_size_bytes_max = 16 * 1024})
                                     .value());
    const Status appended = testing::AppendMany(*service_, kTransactions, kSignatureInterval);
    ASSERT_TRUE(appended.ok()) << appended.error().ToString();
  }
  static void TearDownTestSuite() {
    delete service_;
    delete storage_;
  }
  static MemoryStorage* storage_;
  static testing::TestService* service_;
};
MemoryStorage* TamperTest::storage_ = nullptr;
testing::TestService* TamperTest::service_ = nullptr;

// The untouched ledger verifies in both modes (so that every failure below is the flip's).
TEST_F(TamperTest, IntactLedgerVerifies) {
  const crypto::PublicKey key = service_->service_cert.SubjectPublicKey().value();
  LedgerReader auditor(storage_, {.service_key = &key});
  Result<ReadReport> report = auditor.ReadAll();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_GE(report->entry_count, kTransactions);
  EXPECT_EQ(report->state.last_signed_index, report->entry_count);
  EXPECT_GT(auditor.segment_count(), 10u);
  LedgerReader node(storage_, {.secrets = &service_->secrets, .service_key = &key});
  ASSERT_TRUE(node.ReadAll().ok());
}

// 10,000 random single-bit flips across the files: each one is an error for the auditor and for
// the node's reader, and undoing it makes the ledger verify again.
TEST_F(TamperTest, EveryBitFlipIsDetected) {
  const crypto::PublicKey key = service_->service_cert.SubjectPublicKey().value();
  LedgerReader auditor(storage_, {.service_key = &key});
  LedgerReader node(storage_, {.secrets = &service_->secrets, .service_key = &key});
  ASSERT_TRUE(auditor.ReadAll().ok());
  ASSERT_TRUE(node.ReadAll().ok());
  const std::vector<std::string>& segments = auditor.segments();
  std::vector<uint64_t> sizes;
  uint64_t total_size = 0;
  for (const std::string& name : segments) {
    sizes.push_back(*storage_->Size(name));
    total_size += sizes.back();
  }
  DeterministicRng rng(20261125);
  std::map<ErrorCode, int> codes;
  for (int flip = 0; flip < kFlips; ++flip) {
    // A uniformly random bit of the whole ledger.
    uint64_t position = rng.Uniform(total_size);
    size_t segment = 0;
    while (position >= sizes[segment]) position -= sizes[segment++];
    const uint8_t mask = static_cast<uint8_t>(1u << rng.Uniform(8));
    Bytes& file = storage_->MutableFile(segments[segment]);
    file[position] ^= mask;
    Result<ReadReport> audited = auditor.ReadFrom(segment);
    Result<ReadReport> read = node.ReadFrom(segment);
    file[position] ^= mask;
    ASSERT_FALSE(audited.ok()) << "flip " << flip << ": bit " << static_cast<int>(mask)
                               << " of byte " << position << " of " << segments[segment]
                               << " passed verification";
    ASSERT_FALSE(read.ok()) << "flip " << flip << " of byte " << position << " of "
                            << segments[segment] << " passed the node's reader";
    ++codes[audited.error().code];
  }
  // Undone, the ledger is intact again.
  EXPECT_TRUE(auditor.ReadFrom(0).ok());
  for (const auto& [code, count] : codes) {
    std::cout << "  " << ErrorCodeName(code) << ": " << count << " flips\n";
  }
}

// Where each entry of a segment starts, and how many entries of the ledger precede it.
struct FrameStart {
  uint64_t offset;
  uint64_t entries_before;
};
std::vector<FrameStart> FrameStarts(const Bytes& segment, uint64_t entries_before) {
  std::vector<FrameStart> starts;
  uint64_t offset = kSegmentHeaderSize;
  while (offset < segment.size()) {
    const EntryView view = ParseEntry(ByteSpan(segment).subspan(offset)).value();
    starts.push_back({offset, entries_before++});
    offset += view.frame_size;
  }
  return starts;
}

// Random single-bit flips through the node's startup path, Ledger::Open (pinned key, secrets,
// torn-tail recovery): a flip in any segment but the last, or in the last one's header, is an
// error; a flip in a frame of the last segment is reported as a torn tail and cut exactly at the
// start of the flipped entry, so that only the entries before it are applied.
TEST(TamperOpenTest, FlipsThroughLedgerOpenAreNeverApplied) {
  MemoryStorage original;
  auto service = testing::NewService();
  service->ledger = std::move(
      Ledger::Create(&original, NewLedgerId(), &service->secrets, {.segment_size_bytes_max = 4096})
          .value());
  ASSERT_TRUE(testing::AppendMany(*service, 150, 25).ok());
  const crypto::PublicKey key = service->service_key.Public();
  const std::vector<std::string> names = *original.List();
  ASSERT_GE(names.size(), 5u);
  const std::string& last = names.back();
  const std::vector<FrameStart> starts =
      FrameStarts(*original.Read(last), *ParseSegmentFileName(last) - 1);
  ASSERT_GE(starts.size(), 3u);
  DeterministicRng rng(20261126);
  int errors = 0;
  int torn = 0;
  for (int flip = 0; flip < 1000; ++flip) {
    // Half the flips anywhere in the ledger, half in its last segment.
    const size_t segment = flip % 2 == 0 ? rng.Uniform(names.size()) : names.size() - 1;
    MemoryStorage storage = original;
    Bytes& file = storage.MutableFile(names[segment]);
    const uint64_t position = rng.Uniform(file.size());
    file[position] ^= static_cast<uint8_t>(1u << rng.Uniform(8));
    uint64_t applied = 0;
    OpenReport report;
    auto count = [&applied](const ReadEntry&) -> Status {
      ++applied;
      return OkStatus();
    };
    Result<std::unique_ptr<Ledger>> opened =
        Ledger::Open(&storage, &service->secrets, &key, {}, count, &report);
    const std::string where = names[segment] + " byte " + std::to_string(position);
    if (segment + 1 < names.size() || position < kSegmentHeaderSize) {
      ASSERT_FALSE(opened.ok()) << where << " opened";
      ++errors;
      continue;
    }
    if (!opened.ok()) {
      ++errors;
      continue;
    }
    // The flipped frame is the last one starting at or before the flipped byte.
    const FrameStart* frame = &starts.front();
    for (const FrameStart& start : starts) {
      if (start.offset <= position) frame = &start;
    }
    ASSERT_FALSE(report.torn_reason.empty()) << where << " opened without a report";
    EXPECT_EQ((*opened)->last_index(), frame->entries_before) << where;
    EXPECT_EQ(applied, frame->entries_before) << where;
    EXPECT_EQ(*storage.Size(last), frame->offset) << where;
    ++torn;
  }
  std::cout << "  " << errors << " refused, " << torn << " cut as a torn tail\n";
  EXPECT_GT(torn, 200);
}

// Private values never appear in clear in the ledger's bytes; public values all do.
TEST_F(TamperTest, PrivateValuesNeverInClear) {
  std::string all;
  const std::vector<std::string> names = storage_->List().value();
  for (const std::string& name : names) {
    const Bytes data = *storage_->Read(name);
    all.append(data.begin(), data.end());
  }
  uint64_t public_found = 0;
  for (uint64_t i = 1; i <= service_->ledger->last_index(); ++i) {
    if (all.find(testing::PublicCanary(i)) != std::string::npos) ++public_found;
  }
  // No private value, nor even the private map's name, is visible.
  EXPECT_EQ(all.find("PRIVATE-CANARY"), std::string::npos);
  EXPECT_EQ(all.find("accounts"), std::string::npos);
  EXPECT_GE(public_found, kTransactions);
}

}  // namespace
}  // namespace cloister::ledger
