#include "cloister/crypto/random.h"

#include <openssl/rand.h>

#include <climits>

#include "openssl_util.h"

namespace cloister::crypto {

void SecureRandom(MutableByteSpan out) {
  size_t offset = 0;
  while (offset < out.size()) {
    const size_t chunk = std::min<size_t>(out.size() - offset, 1 << 20);
    ASSERT(RAND_bytes(out.data() + offset, static_cast<int>(chunk)) == 1,
           "RAND_bytes failed: ", internal::DrainOpenSslErrors());
    offset += chunk;
  }
}

Bytes SecureRandomBytes(size_t size) {
  Bytes out(size);
  SecureRandom(out);
  return out;
}

uint64_t SecureRng::Next() {
  uint8_t buffer[8];
  SecureRandom(buffer);
  uint64_t value = 0;
  for (const uint8_t b : buffer) value = (value << 8) | b;
  return value;
}

}  // namespace cloister::crypto
