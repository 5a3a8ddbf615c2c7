// Shamir secret sharing over GF(2^8), byte by byte (Shamir, "How to share a secret", 1979).
//
// Each byte s of the secret is the constant term of its own random polynomial
// f(x) = s + a1 x + ... + a(k-1) x^(k-1) over GF(2^8) (the AES field, reduction polynomial
// x^8 + x^4 + x^3 + x + 1); share i is (x_i, f(x_i)) for every byte, with x_i = i in 1..n.
// Any k shares determine f and so s (Lagrange interpolation at 0); any k-1 shares are
// consistent with every possible secret, each equally likely, so they reveal nothing.
//
// Invariants:
//  1. Coefficients come from the caller's random source, which must be a CSPRNG in production
//     (Split without a source uses crypto::SecureRandom); tests inject their own.
//  2. Field arithmetic does not branch on or index by secret values (multiplication is a fixed
//     8-step shift-and-add with masks; inversion is exponentiation by 254).
//  3. Combine refuses malformed input (x = 0, repeated x, unequal lengths) instead of returning
//     a wrong secret silently; it cannot detect a wrong-but-well-formed share, which is why
//     recovery authenticates what it reconstructs (recovery.h).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::gov::shamir {

inline constexpr size_t kMaxShares = 255;

struct Share {
  uint8_t x = 0;  // 1..255
  Bytes y;        // as long as the secret

  // x || y, the form a member receives and submits.
  [[nodiscard]] Bytes Encode() const;
  static Result<Share> Decode(ByteSpan encoded);
  friend bool operator==(const Share&, const Share&) = default;
};

// Fills its argument with random bytes.
using RandomSource = std::function<void(MutableByteSpan)>;

// Splits `secret` (non-empty) into `count` shares, any `threshold` of which reconstruct it
// (1 <= threshold <= count <= kMaxShares).
Result<std::vector<Share>> Split(ByteSpan secret, size_t threshold, size_t count);
Result<std::vector<Share>> Split(ByteSpan secret, size_t threshold, size_t count,
                                 const RandomSource& random);

// The value at `x` of the polynomial through `points` (distinct x, equal lengths, at least one
// point), byte by byte. Interpolate(shares, 0) is the secret.
Result<Bytes> Interpolate(const std::vector<Share>& points, uint8_t x);

// The secret from at least `threshold` shares (all of them are used; distinct non-zero x).
Result<Bytes> Combine(const std::vector<Share>& shares);

// GF(2^8) arithmetic, exposed for tests.
uint8_t GfMul(uint8_t a, uint8_t b);
// The inverse of a non-zero element (GfInv(0) is 0).
uint8_t GfInv(uint8_t a);

}  // namespace cloister::gov::shamir
