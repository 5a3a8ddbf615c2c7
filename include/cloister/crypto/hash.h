// Hashes, HMAC and HKDF (RFC 5869) over OpenSSL 3.0.
//
// All functions are pure and thread-safe. HKDF is implemented with OpenSSL's EVP_KDF in
// extract-only and expand-only modes; an empty salt is replaced by HashLen zero bytes as RFC 5869
// §2.2 specifies, because OpenSSL 3.0 silently fails when given a (NULL, 0) salt.
#pragma once

#include <cstddef>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::crypto {

enum class HashAlgorithm { kSha256, kSha384, kSha512 };

// Digest length in bytes (32, 48, 64).
size_t HashSize(HashAlgorithm algorithm);
std::string_view HashName(HashAlgorithm algorithm);

Bytes Hash(HashAlgorithm algorithm, ByteSpan data);
Bytes Sha256(ByteSpan data);
Bytes Sha384(ByteSpan data);
Bytes Sha512(ByteSpan data);

// Incremental hashing: Update any number of times, then Finish once.
class Hasher {
 public:
  explicit Hasher(HashAlgorithm algorithm);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  Hasher(Hasher&& other) noexcept;
  Hasher& operator=(Hasher&& other) noexcept;

  void Update(ByteSpan data);
  // Returns the digest; the Hasher must not be used afterwards.
  Bytes Finish();

 private:
  struct State;
  State* state_;
};

Bytes Hmac(HashAlgorithm algorithm, ByteSpan key, ByteSpan data);

// HKDF-Extract(salt, ikm) -> PRK of HashSize(algorithm) bytes. An empty salt means HashLen zeros.
Bytes HkdfExtract(HashAlgorithm algorithm, ByteSpan salt, ByteSpan ikm);
// HKDF-Expand(prk, info, length). Fails when length > 255 * HashLen or prk is shorter than HashLen.
Result<Bytes> HkdfExpand(HashAlgorithm algorithm, ByteSpan prk, ByteSpan info, size_t length);
// Extract then expand.
Result<Bytes> Hkdf(HashAlgorithm algorithm, ByteSpan salt, ByteSpan ikm, ByteSpan info,
                   size_t length);

// Compares in time that depends only on the lengths, not the contents.
bool ConstantTimeEqual(ByteSpan a, ByteSpan b);

}  // namespace cloister::crypto
