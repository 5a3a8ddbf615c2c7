// Digital signatures: ECDSA P-256/P-384 (DER, raw r||s big-endian as in COSE/JOSE, or raw
// little-endian r||s as AMD SEV-SNP reports use), Ed25519, and RSA-PSS / PKCS#1 v1.5
// verification for vendor certificates.
//
// Verify returns OkStatus only for a valid signature; any malformed signature or key mismatch is
// a kVerification error that says why. Signing draws nonces from OpenSSL's DRBG.
#pragma once

#include <cstddef>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/key.h"

namespace cloister::crypto {

enum class SignatureFormat {
  kDer,              // ECDSA-Sig-Value SEQUENCE { r, s } (X.509, TLS)
  kRawBigEndian,     // r || s, each the curve size, big-endian (COSE, JOSE, Nitro, DCAP)
  kRawLittleEndian,  // r || s, each the field size padded as given, little-endian (SEV-SNP)
};

// Signs `message` (hashed with `hash`; ignored for Ed25519, which signs the message itself).
Result<Bytes> Sign(const PrivateKey& key, HashAlgorithm hash, ByteSpan message,
                   SignatureFormat format = SignatureFormat::kDer);

// Verifies an ECDSA or Ed25519 signature over `message`.
Status Verify(const PublicKey& key, HashAlgorithm hash, ByteSpan message, ByteSpan signature,
              SignatureFormat format = SignatureFormat::kDer);

// Verifies an ECDSA signature over a precomputed digest.
Status VerifyDigest(const PublicKey& key, ByteSpan digest, ByteSpan signature,
                    SignatureFormat format = SignatureFormat::kDer);

// RSASSA-PSS verification (MGF1 with the same hash; salt length as given, e.g. 48 for AMD's
// SHA-384 certificates).
Status VerifyRsaPss(const PublicKey& key, HashAlgorithm hash, ByteSpan message, ByteSpan signature,
                    int salt_length);
// RSASSA-PKCS1-v1_5 verification.
Status VerifyRsaPkcs1(const PublicKey& key, HashAlgorithm hash, ByteSpan message,
                      ByteSpan signature);

// Conversions between ECDSA encodings. `component_size` is 32 for P-256, 48 for P-384. For
// little-endian input, each component occupies `component_size` or more bytes (SEV-SNP pads r and
// s to 72 bytes); the extra high bytes must be zero.
Result<Bytes> EcdsaRawToDer(ByteSpan raw, size_t component_size, bool little_endian = false);
Result<Bytes> EcdsaDerToRaw(ByteSpan der, size_t component_size);

}  // namespace cloister::crypto
