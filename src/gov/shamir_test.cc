#include "cloister/gov/shamir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include "cloister/crypto/random.h"

namespace cloister::gov::shamir {
namespace {

// Every subset of shares, as bit masks over `count` shares.
std::vector<std::vector<Share>> SubsetsOfSize(const std::vector<Share>& shares, size_t size) {
  std::vector<std::vector<Share>> subsets;
  for (uint32_t mask = 0; mask < (1u << shares.size()); ++mask) {
    if (static_cast<size_t>(__builtin_popcount(mask)) != size) continue;
    std::vector<Share> subset;
    for (size_t i = 0; i < shares.size(); ++i) {
      if (mask & (1u << i)) subset.push_back(shares[i]);
    }
    subsets.push_back(std::move(subset));
  }
  return subsets;
}

// GF(2^8) multiplication matches the AES field: the FIPS 197 example {57} x {83} = {c1}, and
// every non-zero element times its inverse is 1.
TEST(ShamirTest, FieldArithmetic) {
  EXPECT_EQ(GfMul(0x57, 0x83), 0xc1);
  EXPECT_EQ(GfMul(0x57, 0x13), 0xfe);
  for (int a = 1; a < 256; ++a) {
    EXPECT_EQ(GfMul(static_cast<uint8_t>(a), GfInv(static_cast<uint8_t>(a))), 1) << a;
    EXPECT_EQ(GfMul(static_cast<uint8_t>(a), 0), 0);
  }
}

// Any k of n shares reconstruct the secret, for every subset and several (k, n).
TEST(ShamirTest, AnyThresholdSubsetReconstructs) {
  const Bytes secret = crypto::SecureRandomBytes(32);
  for (auto [threshold, count] :
       std::vector<std::pair<size_t, size_t>>{{1, 1}, {1, 3}, {2, 3}, {3, 5}, {5, 5}, {4, 7}}) {
    Result<std::vector<Share>> shares = Split(secret, threshold, count);
    ASSERT_TRUE(shares.ok()) << shares.error().ToString();
    ASSERT_EQ(shares->size(), count);
    for (size_t size = threshold; size <= count; ++size) {
      for (const std::vector<Share>& subset : SubsetsOfSize(*shares, size)) {
        Result<Bytes> combined = Combine(subset);
        ASSERT_TRUE(combined.ok()) << combined.error().ToString();
        EXPECT_EQ(*combined, secret) << threshold << " of " << count << ", using " << size;
      }
    }
  }
}

// k-1 shares of a 3-of-5 split do not give the secret back: interpolating them yields a
// different value (with overwhelming probability for 32 random bytes).
TEST(ShamirTest, BelowThresholdDoesNotReconstruct) {
  const Bytes secret = crypto::SecureRandomBytes(32);
  Result<std::vector<Share>> shares = Split(secret, 3, 5);
  ASSERT_TRUE(shares.ok());
  for (const std::vector<Share>& subset : SubsetsOfSize(*shares, 2)) {
    Result<Bytes> combined = Combine(subset);
    ASSERT_TRUE(combined.ok());
    EXPECT_NE(*combined, secret);
  }
}

// k-1 shares are consistent with every candidate secret: for each candidate c there is a k-th
// share which, with the k-1 real ones, reconstructs exactly c. So k-1 shares rule nothing out.
TEST(ShamirTest, BelowThresholdIsConsistentWithEveryCandidate) {
  const Bytes secret = {0x42};
  Result<std::vector<Share>> shares = Split(secret, 3, 5);
  ASSERT_TRUE(shares.ok());
  const std::vector<Share> observed = {(*shares)[0], (*shares)[3]};
  for (int candidate = 0; candidate < 256; ++candidate) {
    std::vector<Share> points = observed;
    points.push_back(Share{0, {static_cast<uint8_t>(candidate)}});
    // The polynomial through (0, c) and the observed shares gives share x = 3 ...
    Result<Bytes> third = Interpolate(points, 3);
    ASSERT_TRUE(third.ok());
    // ... and that share with the observed ones reconstructs c.
    Result<Bytes> combined = Combine({observed[0], observed[1], Share{3, *third}});
    ASSERT_TRUE(combined.ok());
    EXPECT_EQ((*combined)[0], candidate);
  }
}

// For a 2-of-n split, one share is uniformly distributed whatever the secret: over all 256
// values of the random coefficient, share 1 takes each value exactly once, for every secret.
TEST(ShamirTest, SingleShareIsUniformForEverySecret) {
  for (int secret = 0; secret < 256; secret += 17) {
    std::array<int, 256> seen{};
    for (int coefficient = 0; coefficient < 256; ++coefficient) {
      RandomSource fixed = [coefficient](MutableByteSpan out) {
        std::fill(out.begin(), out.end(), static_cast<uint8_t>(coefficient));
      };
      Result<std::vector<Share>> shares = Split(Bytes{static_cast<uint8_t>(secret)}, 2, 3, fixed);
      ASSERT_TRUE(shares.ok());
      seen[(*shares)[0].y[0]] += 1;
    }
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; })) << secret;
  }
}

// Malformed inputs are refused with a reason instead of producing a wrong secret.
TEST(ShamirTest, RefusesMalformedInput) {
  EXPECT_FALSE(Split({}, 1, 1).ok());
  EXPECT_FALSE(Split(Bytes{1}, 0, 3).ok());
  EXPECT_FALSE(Split(Bytes{1}, 4, 3).ok());
  EXPECT_FALSE(Split(Bytes{1}, 2, 256).ok());
  EXPECT_FALSE(Combine({}).ok());
  EXPECT_FALSE(Combine({Share{1, {1}}, Share{1, {2}}}).ok());
  EXPECT_FALSE(Combine({Share{1, {1}}, Share{2, {2, 3}}}).ok());
  EXPECT_FALSE(Combine({Share{0, {1}}}).ok());
  EXPECT_FALSE(Share::Decode(Bytes{0, 1}).ok());
  EXPECT_FALSE(Share::Decode(Bytes{1}).ok());
  Result<Share> decoded = Share::Decode(Share{7, {1, 2, 3}}.Encode());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, (Share{7, {1, 2, 3}}));
}

}  // namespace
}  // namespace cloister::gov::shamir
