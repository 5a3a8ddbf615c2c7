// Cryptographically secure randomness from OpenSSL's DRBG (seeded by the OS, or by the TEE's
// hardware source where the platform provides one). Use it for keys, nonces and challenges;
// use base/rng.h's DeterministicRng only for simulation and workloads.
#pragma once

#include <cstddef>

#include "cloister/base/bytes.h"
#include "cloister/base/rng.h"

namespace cloister::crypto {

// Fills `out`; stops the process if the DRBG fails (it cannot recover safely).
void SecureRandom(MutableByteSpan out);
Bytes SecureRandomBytes(size_t size);

// An Rng backed by the CSPRNG, for code written against the Rng interface.
class SecureRng final : public Rng {
 public:
  uint64_t Next() override;
};

}  // namespace cloister::crypto
