// Receipts: every signed entry's receipt verifies offline with the service key alone; a changed
// entry, a proof for another entry, or another service key makes verification fail.
#include "cloister/ledger/receipt.h"

#include <gtest/gtest.h>

#include "cloister/crypto/cbor.h"
#include "cloister/ledger/memory_storage.h"
#include "ledger_testing.h"

namespace cloister::ledger {
namespace {

namespace cbor = crypto::cbor;

std::unique_ptr<testing::TestService> Build(MemoryStorage* storage) {
  auto service = testing::NewService();
  service->ledger = std::move(
      Ledger::Create(storage, NewLedgerId(), &service->secrets, {.segment_size_bytes_max = 4096})
          .value());
  const Status appended = testing::AppendMany(*service, 100, 10);
  EXPECT_TRUE(appended.ok());
  return service;
}

// Replaces the receipt header's `field` of `receipt` with the one of `donor`.
Bytes SwapReceiptField(const Bytes& receipt, const Bytes& donor, std::string_view field) {
  cbor::Value value = *cbor::Decode(receipt);
  const cbor::Value donor_value = *cbor::Decode(donor);
  auto find_field = [&](const cbor::Value& message) -> const cbor::Value& {
    const cbor::Value& unprotected = message.TagContent().value()->items()[1];
    return *unprotected.Find("receipt")->Find(field);
  };
  const cbor::Value replacement = find_field(donor_value);
  // Rebuild: tag(18, [protected, {receipt: {...field replaced...}}, payload, signature]).
  std::vector<cbor::Value> items = value.TagContent().value()->items();
  cbor::Value receipt_map = cbor::Value::Map();
  for (const cbor::MapEntry& entry : items[1].Find("receipt")->entries()) {
    receipt_map.Insert(
        entry.key, entry.key == cbor::Value::Text(std::string(field)) ? replacement : entry.value);
  }
  items[1] = cbor::Value::Map({{cbor::Value::Text("receipt"), receipt_map}});
  return cbor::Encode(cbor::Value::Tag(18, cbor::Value::Array(items)));
}

// Every entry covered by a signature has a receipt that verifies and states its content.
TEST(ReceiptTest, EveryCoveredEntryVerifies) {
  MemoryStorage storage;
  auto service = Build(&storage);
  const crypto::PublicKey key = service->service_cert.SubjectPublicKey().value();
  const uint64_t last = service->ledger->last_index();
  uint64_t verified = 0;
  for (uint64_t i = 1; i < last; ++i) {
    Result<Bytes> receipt = service->ledger->Receipt(i);
    ASSERT_TRUE(receipt.ok()) << i << ": " << receipt.error().ToString();
    Result<ReceiptClaims> claims = VerifyReceipt(*receipt, key);
    ASSERT_TRUE(claims.ok()) << i << ": " << claims.error().ToString();
    EXPECT_EQ(claims->header.index, i);
    EXPECT_GE(claims->tree_size, i);
    if (claims->header.kind == EntryKind::kTransaction) {
      const auto& log = claims->public_writes.maps.at("public:log");
      EXPECT_EQ(log.begin()->second, testing::PublicCanary(i));
    }
    ++verified;
  }
  EXPECT_EQ(verified, last - 1);
  // The final signature entry is not yet covered by a later signature.
  Result<Bytes> uncovered = service->ledger->Receipt(last);
  ASSERT_FALSE(uncovered.ok());
  EXPECT_EQ(uncovered.error().code, ErrorCode::kNotFound);
}

// A receipt whose entry was changed (any bit of its public part or header) fails.
TEST(ReceiptTest, ChangedEntryFails) {
  MemoryStorage storage;
  auto service = Build(&storage);
  const crypto::PublicKey key = service->service_key.Public();
  const Bytes receipt = *service->ledger->Receipt(42);
  ASSERT_TRUE(VerifyReceipt(receipt, key).ok());
  const std::string canary = testing::PublicCanary(42);
  const std::string text(receipt.begin(), receipt.end());
  const size_t at = text.find(canary);
  ASSERT_NE(at, std::string::npos);
  Bytes changed = receipt;
  changed[at + canary.size() - 1] ^= 0x01;
  Result<ReceiptClaims> claims = VerifyReceipt(changed, key);
  ASSERT_FALSE(claims.ok());
  EXPECT_EQ(claims.error().code, ErrorCode::kVerification);
  // Flipping any single bit of the receipt breaks it or leaves its claims unchanged.
  const ReceiptClaims original = *VerifyReceipt(receipt, key);
  for (size_t bit = 0; bit < receipt.size() * 8; bit += 7) {
    Bytes flipped = receipt;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    Result<ReceiptClaims> result = VerifyReceipt(flipped, key);
    EXPECT_FALSE(result.ok()) << "bit " << bit << " flipped and the receipt still verifies";
  }
  EXPECT_EQ(original.header.index, 42u);
}

// The proof of one entry does not verify another entry's claims, in either direction.
TEST(ReceiptTest, ProofForAnotherEntryFails) {
  MemoryStorage storage;
  auto service = Build(&storage);
  const crypto::PublicKey key = service->service_key.Public();
  const Bytes a = *service->ledger->Receipt(12);
  const Bytes b = *service->ledger->Receipt(15);
  ASSERT_TRUE(VerifyReceipt(SwapReceiptField(a, a, "path"), key).ok());  // the rebuild is sound
  EXPECT_FALSE(VerifyReceipt(SwapReceiptField(a, b, "path"), key).ok());
  EXPECT_FALSE(VerifyReceipt(SwapReceiptField(a, b, "entry_header"), key).ok());
  EXPECT_FALSE(VerifyReceipt(SwapReceiptField(b, a, "public"), key).ok());
}

// Another service key (or another service's certificate) refuses every receipt.
TEST(ReceiptTest, WrongServiceKeyFails) {
  MemoryStorage storage;
  auto service = Build(&storage);
  const auto other = testing::NewService();
  const crypto::PublicKey other_key = other->service_cert.SubjectPublicKey().value();
  for (uint64_t i : {1u, 50u, 100u}) {
    Result<ReceiptClaims> claims = VerifyReceipt(*service->ledger->Receipt(i), other_key);
    ASSERT_FALSE(claims.ok());
    EXPECT_EQ(claims.error().code, ErrorCode::kVerification);
  }
}

}  // namespace
}  // namespace cloister::ledger
