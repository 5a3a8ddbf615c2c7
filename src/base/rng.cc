#include "cloister/base/rng.h"

#include <algorithm>
#include <cstring>

#include "cloister/base/assert.h"

namespace cloister {

namespace {

// SplitMix64 (Steele, Lea, Flood): spreads one 64-bit seed over the xoshiro state.
uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

uint64_t Rng::Uniform(uint64_t bound) {
  ASSERT(bound > 0, "Uniform(0)");
  // Rejection sampling: discard the top partial copy of [0, bound) to remove modulo bias.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  for (;;) {
    const uint64_t x = Next();
    if (x < limit) return x % bound;
  }
}

uint64_t Rng::Between(uint64_t low, uint64_t high) {
  ASSERT(low <= high, "Between(", low, ", ", high, ")");
  if (low == 0 && high == UINT64_MAX) return Next();
  return low + Uniform(high - low + 1);
}

double Rng::UniformDouble() {
  // 53 random bits scaled into [0, 1).
  return static_cast<double>(Next() >> 11) * 0x1.0p-53;
}

bool Rng::Chance(double probability) {
  if (probability <= 0.0) return false;
  if (probability >= 1.0) return true;
  return UniformDouble() < probability;
}

void Rng::Fill(std::span<uint8_t> out) {
  size_t offset = 0;
  while (offset < out.size()) {
    const uint64_t x = Next();
    const size_t n = std::min<size_t>(8, out.size() - offset);
    for (size_t i = 0; i < n; ++i) out[offset + i] = static_cast<uint8_t>(x >> (8 * i));
    offset += n;
  }
}

DeterministicRng::DeterministicRng(uint64_t seed) {
  uint64_t s = seed;
  for (uint64_t& word : state_) word = SplitMix64(s);
}

// xoshiro256** 1.0 (Blackman and Vigna, 2018).
uint64_t DeterministicRng::Next() {
  const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

DeterministicRng DeterministicRng::Fork() { return DeterministicRng(Next() ^ Next()); }

}  // namespace cloister
