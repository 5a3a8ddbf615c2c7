// Proves the write set encoding is deterministic, round-trips, and that the strict decoder
// rejects every malformed or non-canonical input.
#include "cloister/kv/write_set.h"

#include <gtest/gtest.h>

#include "cloister/base/rng.h"

namespace cloister::kv {
namespace {

WriteSet Sample() {
  WriteSet write_set;
  write_set.maps["public:log"]["0001"] = "hello";
  write_set.maps["secrets"]["alice"] = std::string("\0\xff", 2);
  write_set.maps["secrets"]["bob"] = std::nullopt;
  return write_set;
}

// Encoding then decoding gives back the same write set, and the public/private split partitions.
TEST(WriteSetTest, RoundTripsAndSplits) {
  const WriteSet write_set = Sample();
  Result<WriteSet> decoded = WriteSet::Decode(write_set.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, write_set);
  EXPECT_EQ(write_set.WriteCount(), 3u);
  auto [public_part, private_part] = write_set.SplitByVisibility();
  EXPECT_EQ(public_part.maps.size(), 1u);
  EXPECT_TRUE(public_part.maps.contains("public:log"));
  EXPECT_EQ(private_part.maps.size(), 1u);
  public_part.Merge(private_part);
  EXPECT_EQ(public_part, write_set);
}

// Every truncation of a valid encoding is rejected.
TEST(WriteSetTest, RejectsEveryTruncation) {
  const Bytes encoded = Sample().Encode();
  for (size_t size = 0; size < encoded.size(); ++size) {
    EXPECT_FALSE(WriteSet::Decode(ByteSpan(encoded).first(size)).ok()) << "size " << size;
  }
}

// Trailing bytes, unknown ops and unsorted keys are rejected.
TEST(WriteSetTest, RejectsNonCanonicalInput) {
  Bytes trailing = Sample().Encode();
  trailing.push_back(0);
  EXPECT_FALSE(WriteSet::Decode(trailing).ok());

  WriteSet one;
  one.maps["m"]["a"] = "1";
  Bytes bad_op = one.Encode();
  // Layout: u32 count, u16 name length, "m", u32 write count, then the op byte.
  bad_op[4 + 2 + 1 + 4] = 7;
  Result<WriteSet> decoded = WriteSet::Decode(bad_op);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("unknown op"), std::string::npos);

  WriteSet two;
  two.maps["m"]["a"] = "1";
  two.maps["m"]["b"] = "2";
  Bytes swapped = two.Encode();
  // Swap the two keys 'a' and 'b' in place (each write: op, u32 len, key, u32 len, value).
  const size_t first_key = 4 + 2 + 1 + 4 + 1 + 4;
  const size_t second_key = first_key + 1 + 4 + 1 + 1 + 4;
  std::swap(swapped[first_key], swapped[second_key]);
  decoded = WriteSet::Decode(swapped);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("increasing"), std::string::npos);
}

// Random bytes never crash the decoder, and whatever it accepts re-encodes to the same bytes.
TEST(WriteSetTest, RandomInputIsCanonicalOrRejected) {
  DeterministicRng rng(11);
  const Bytes base = Sample().Encode();
  for (int i = 0; i < 5000; ++i) {
    Bytes input = base;
    const size_t flips = 1 + rng.Uniform(3);
    for (size_t f = 0; f < flips; ++f) {
      input[rng.Uniform(input.size())] ^= static_cast<uint8_t>(1u << rng.Uniform(8));
    }
    Result<WriteSet> decoded = WriteSet::Decode(input);
    if (decoded.ok()) {
      EXPECT_EQ(decoded->Encode(), input);
    }
  }
}

}  // namespace
}  // namespace cloister::kv
