#include "cloister/gov/shamir.h"

#include <set>

#include "cloister/crypto/random.h"

namespace cloister::gov::shamir {

uint8_t GfMul(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  for (int bit = 0; bit < 8; ++bit) {
    // Add a when the low bit of b is set, without branching on b.
    product = static_cast<uint8_t>(product ^ (a & static_cast<uint8_t>(-(b & 1))));
    // a *= x, reducing by x^8 + x^4 + x^3 + x + 1 (0x1b after the shift) when a's top bit was set.
    const uint8_t carry = static_cast<uint8_t>(-(a >> 7));
    a = static_cast<uint8_t>((a << 1) ^ (carry & 0x1b));
    b = static_cast<uint8_t>(b >> 1);
  }
  return product;
}

uint8_t GfInv(uint8_t a) {
  // a^254 = a^-1 in GF(2^8)* (order 255); 254 = 0b11111110.
  uint8_t result = 1;
  uint8_t power = a;
  for (int bit = 0; bit < 8; ++bit) {
    if ((254 >> bit) & 1) result = GfMul(result, power);
    power = GfMul(power, power);
  }
  return result;
}

Bytes Share::Encode() const {
  Bytes out;
  out.reserve(1 + y.size());
  out.push_back(x);
  out.insert(out.end(), y.begin(), y.end());
  return out;
}

Result<Share> Share::Decode(ByteSpan encoded) {
  if (encoded.size() < 2) return ParseError("share: need x and at least one byte of y");
  if (encoded[0] == 0) return ParseError("share: x must not be 0 (that is the secret itself)");
  return Share{encoded[0], Bytes(encoded.begin() + 1, encoded.end())};
}

Result<std::vector<Share>> Split(ByteSpan secret, size_t threshold, size_t count) {
  return Split(secret, threshold, count, [](MutableByteSpan out) { crypto::SecureRandom(out); });
}

Result<std::vector<Share>> Split(ByteSpan secret, size_t threshold, size_t count,
                                 const RandomSource& random) {
  if (secret.empty()) return InvalidArgumentError("cannot split an empty secret");
  if (threshold < 1 || threshold > count || count > kMaxShares) {
    return InvalidArgumentError("need 1 <= threshold (", threshold, ") <= count (", count,
                                ") <= ", kMaxShares);
  }
  // coefficients[j] holds a_j for every byte of the secret; a_0 is the secret.
  std::vector<Bytes> coefficients(threshold);
  coefficients[0].assign(secret.begin(), secret.end());
  for (size_t j = 1; j < threshold; ++j) {
    coefficients[j].resize(secret.size());
    random(coefficients[j]);
  }
  std::vector<Share> shares(count);
  for (size_t i = 0; i < count; ++i) {
    const auto x = static_cast<uint8_t>(i + 1);
    shares[i].x = x;
    shares[i].y.assign(secret.size(), 0);
    for (size_t byte = 0; byte < secret.size(); ++byte) {
      uint8_t value = 0;  // Horner's rule from the highest coefficient down.
      for (size_t j = threshold; j-- > 0;) {
        value = static_cast<uint8_t>(GfMul(value, x) ^ coefficients[j][byte]);
      }
      shares[i].y[byte] = value;
    }
  }
  for (Bytes& coefficient : coefficients) std::fill(coefficient.begin(), coefficient.end(), 0);
  return shares;
}

Result<Bytes> Interpolate(const std::vector<Share>& points, uint8_t x) {
  if (points.empty() || points.size() > kMaxShares + 1) {
    return InvalidArgumentError("interpolation needs 1 to 256 points, got ", points.size());
  }
  std::set<uint8_t> seen;
  const size_t length = points[0].y.size();
  for (const Share& point : points) {
    if (!seen.insert(point.x).second) {
      return InvalidArgumentError("two shares have the same x = ", point.x);
    }
    if (point.y.size() != length || length == 0) {
      return InvalidArgumentError("shares differ in length (", point.y.size(), " and ", length,
                                  ")");
    }
  }
  Bytes out(length, 0);
  for (size_t i = 0; i < points.size(); ++i) {
    // Lagrange basis l_i(x) = prod_{j != i} (x - x_j) / (x_i - x_j); minus is xor in GF(2^8).
    uint8_t numerator = 1;
    uint8_t denominator = 1;
    for (size_t j = 0; j < points.size(); ++j) {
      if (j == i) continue;
      numerator = GfMul(numerator, static_cast<uint8_t>(x ^ points[j].x));
      denominator = GfMul(denominator, static_cast<uint8_t>(points[i].x ^ points[j].x));
    }
    const uint8_t basis = GfMul(numerator, GfInv(denominator));
    for (size_t byte = 0; byte < length; ++byte) {
      out[byte] = static_cast<uint8_t>(out[byte] ^ GfMul(basis, points[i].y[byte]));
    }
  }
  return out;
}

Result<Bytes> Combine(const std::vector<Share>& shares) {
  for (const Share& share : shares) {
    if (share.x == 0) return InvalidArgumentError("a share has x = 0");
  }
  return Interpolate(shares, 0);
}

}  // namespace cloister::gov::shamir
