// Asymmetric keys over OpenSSL 3.0 EVP_PKEY: ECDSA P-256/P-384, Ed25519, X25519 and RSA (RSA for
// verifying vendor certificates only).
//
// PublicKey and PrivateKey own their EVP_PKEY and are cheap to move; copies share the key
// (OpenSSL reference counting), which is safe because keys are immutable after creation.
// A PrivateKey is never serialised by Cloister code paths that reach the host (DESIGN.md:
// keys are born in the TEE and die with it); ToPkcs8Der exists for member tools and tests.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

typedef struct evp_pkey_st EVP_PKEY;  // NOLINT: OpenSSL's own forward declaration

namespace cloister::crypto {

enum class KeyType { kP256, kP384, kEd25519, kX25519, kRsa };

std::string_view KeyTypeName(KeyType type);

class PublicKey {
 public:
  // SubjectPublicKeyInfo, DER or PEM ("-----BEGIN PUBLIC KEY-----").
  static Result<PublicKey> FromSpkiDer(ByteSpan der);
  static Result<PublicKey> FromPem(std::string_view pem);
  // Raw encodings: P-256/P-384 as an uncompressed SEC1 point (0x04 || x || y), or x || y without
  // the prefix; Ed25519/X25519 as 32 bytes. Points not on the curve are rejected.
  static Result<PublicKey> FromRaw(KeyType type, ByteSpan raw);
  // Takes ownership of one reference of `pkey` (must not be null).
  static Result<PublicKey> FromEvp(EVP_PKEY* pkey);

  [[nodiscard]] KeyType type() const { return type_; }
  [[nodiscard]] Bytes ToSpkiDer() const;
  [[nodiscard]] std::string ToPem() const;
  // Uncompressed SEC1 point for EC keys (65 or 97 bytes), 32 bytes for Ed25519/X25519; empty for
  // RSA.
  [[nodiscard]] Bytes ToRaw() const;
  // Bits of the modulus or curve order (2048..4096 for RSA, 256/384 for EC, 253/255 for 25519).
  [[nodiscard]] int bits() const;
  // The underlying key; valid while this PublicKey lives. For other crypto/ code only.
  [[nodiscard]] EVP_PKEY* evp() const { return pkey_.get(); }

  friend bool operator==(const PublicKey& a, const PublicKey& b);
  friend class PrivateKey;  // Public() builds one from its own, already valid, point

 private:
  PublicKey(std::shared_ptr<EVP_PKEY> pkey, KeyType type) : pkey_(std::move(pkey)), type_(type) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  KeyType type_;
};

class PrivateKey {
 public:
  // A fresh key from the CSPRNG. RSA is not generated (we only verify RSA).
  static Result<PrivateKey> Generate(KeyType type);
  // PKCS#8 DER or PEM ("-----BEGIN PRIVATE KEY-----", also SEC1 "EC PRIVATE KEY").
  static Result<PrivateKey> FromPkcs8Der(ByteSpan der);
  static Result<PrivateKey> FromPem(std::string_view pem);
  // Raw private scalars: 32 bytes for P-256/Ed25519/X25519, 48 for P-384 (big-endian for EC).
  static Result<PrivateKey> FromRaw(KeyType type, ByteSpan raw);

  [[nodiscard]] KeyType type() const { return type_; }
  [[nodiscard]] PublicKey Public() const;
  [[nodiscard]] Bytes ToPkcs8Der() const;
  [[nodiscard]] std::string ToPem() const;
  // The raw private scalar (see FromRaw).
  [[nodiscard]] Bytes ToRaw() const;
  [[nodiscard]] EVP_PKEY* evp() const { return pkey_.get(); }

 private:
  PrivateKey(std::shared_ptr<EVP_PKEY> pkey, KeyType type) : pkey_(std::move(pkey)), type_(type) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  KeyType type_;
};

// Diffie-Hellman: X25519 or ECDH on P-256/P-384. Both keys must be of the same type. Returns the
// raw shared secret (the x-coordinate for ECDH). Fails on an all-zero X25519 result (a
// low-order peer key), as RFC 7748 §6.1 allows and RFC 9180 §7.1.4 requires.
Result<Bytes> DiffieHellman(const PrivateKey& own, const PublicKey& peer);

}  // namespace cloister::crypto
