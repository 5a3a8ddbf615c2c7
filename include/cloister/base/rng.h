// Rng: the only source of randomness for deterministic code (raft, the simulator, workloads).
//
// Components take an Rng& from their owner instead of reaching for a global random source, so
// a whole cluster run is reproducible from one seed. DeterministicRng is xoshiro256** seeded
// through SplitMix64 (Blackman and Vigna); it is NOT cryptographically secure: keys, nonces and
// challenges come from crypto::SecureRandom instead.
//
// Thread safety: an Rng is not synchronised; give each thread its own.
#pragma once

#include <cstdint>
#include <span>

namespace cloister {

class Rng {
 public:
  virtual ~Rng() = default;
  // 64 uniformly distributed bits.
  virtual uint64_t Next() = 0;

  // Uniform in [0, bound), without modulo bias. Requires bound > 0.
  uint64_t Uniform(uint64_t bound);
  // Uniform in [low, high]. Requires low <= high.
  uint64_t Between(uint64_t low, uint64_t high);
  // Uniform in [0, 1).
  double UniformDouble();
  // True with probability `probability` (clamped to [0, 1]).
  bool Chance(double probability);
  // Fills `out` with random bytes.
  void Fill(std::span<uint8_t> out);
};

class DeterministicRng final : public Rng {
 public:
  explicit DeterministicRng(uint64_t seed);
  uint64_t Next() override;
  // An independent generator derived from this one (for giving each simulated node its own).
  DeterministicRng Fork();

 private:
  uint64_t state_[4];
};

}  // namespace cloister
