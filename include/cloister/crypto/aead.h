// Authenticated encryption with associated data over OpenSSL 3.0: AES-128-GCM, AES-256-GCM and
// ChaCha20-Poly1305, each with a 12-byte nonce and a 16-byte tag appended to the ciphertext.
//
// The caller owns nonce uniqueness: never seal two messages under one (key, nonce). Open checks
// the tag before returning any plaintext; on failure nothing of the plaintext is returned.
#pragma once

#include <cstddef>
#include <string_view>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::crypto {

enum class AeadAlgorithm { kAes128Gcm, kAes256Gcm, kChaCha20Poly1305 };

size_t AeadKeySize(AeadAlgorithm algorithm);    // 16 or 32
size_t AeadNonceSize(AeadAlgorithm algorithm);  // 12
size_t AeadTagSize(AeadAlgorithm algorithm);    // 16
std::string_view AeadName(AeadAlgorithm algorithm);

// Returns ciphertext || tag. Fails on a wrong key or nonce length.
Result<Bytes> AeadSeal(AeadAlgorithm algorithm, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                       ByteSpan plaintext);
// Takes ciphertext || tag. Fails with kVerification when the tag does not match.
Result<Bytes> AeadOpen(AeadAlgorithm algorithm, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                       ByteSpan ciphertext_and_tag);

}  // namespace cloister::crypto
