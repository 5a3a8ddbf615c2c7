#include "cloister/crypto/key.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <climits>
#include <cstring>

#include "openssl_util.h"

namespace cloister::crypto {

namespace {

using internal::BnPtr;
using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;

std::shared_ptr<EVP_PKEY> Share(EvpPkeyPtr pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
}

const char* CurveName(KeyType type) { return type == KeyType::kP256 ? "P-256" : "P-384"; }

size_t CurveSize(KeyType type) { return type == KeyType::kP256 ? 32 : 48; }

bool IsEc(KeyType type) { return type == KeyType::kP256 || type == KeyType::kP384; }

// Classifies an EVP_PKEY into one of the key types we support.
Result<KeyType> Classify(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    case EVP_PKEY_X25519:
      return KeyType::kX25519;
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      return KeyType::kRsa;
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t group_size = 0;
      if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &group_size) != 1) {
        return internal::OpenSslError("EC key without a named curve");
      }
      const std::string_view name(group, group_size);
      if (name == "prime256v1" || name == "P-256") return KeyType::kP256;
      if (name == "secp384r1" || name == "P-384") return KeyType::kP384;
      return UnsupportedError("EC curve ", name, " is not supported (P-256, P-384 only)");
    }
    default:
      return UnsupportedError("key algorithm ", EVP_PKEY_get_base_id(pkey), " is not supported");
  }
}

int RawNid(KeyType type) { return type == KeyType::kEd25519 ? EVP_PKEY_ED25519 : EVP_PKEY_X25519; }

// Builds an EC key from an uncompressed public point and, optionally, the private scalar.
// `point_checked`: the point comes from a key OpenSSL already holds (our own), so the costly
// full public-key check (a scalar multiplication by the group order) is skipped.
Result<EvpPkeyPtr> EcFromData(KeyType type, ByteSpan point, const BIGNUM* private_scalar,
                              bool point_checked = false) {
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  if (builder == nullptr) return internal::OpenSslError("OSSL_PARAM_BLD_new");
  const bool pushed =
      OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, CurveName(type), 0) ==
          1 &&
      OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) == 1 &&
      (private_scalar == nullptr ||
       OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_PRIV_KEY, private_scalar) == 1);
  OSSL_PARAM* params = pushed ? OSSL_PARAM_BLD_to_param(builder) : nullptr;
  OSSL_PARAM_BLD_free(builder);
  if (params == nullptr) return internal::OpenSslError("EC key parameters");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  const int selection = private_scalar == nullptr ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR;
  const bool ok = ctx != nullptr && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                  EVP_PKEY_fromdata(ctx.get(), &raw, selection, params) == 1;
  OSSL_PARAM_free(params);
  if (!ok) return internal::OpenSslError("EC key from data").WithContext("invalid point");
  EvpPkeyPtr pkey(raw);
  if (point_checked) return pkey;
  // Reject points that are not on the curve (invalid-curve attacks on ECDH).
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    internal::DrainOpenSslErrors();
    return InvalidArgumentError(KeyTypeName(type), ": public point is not on the curve");
  }
  return pkey;
}

// The raw public value of an EC (uncompressed point) or X25519/Ed25519 (32 bytes) key, public or
// private.
Bytes RawPublicOf(EVP_PKEY* pkey, KeyType type) {
  if (IsEc(type)) {
    unsigned char* encoded = nullptr;
    const size_t size = EVP_PKEY_get1_encoded_public_key(pkey, &encoded);
    ASSERT(size > 0, "encoded public key: ", internal::DrainOpenSslErrors());
    Bytes out(encoded, encoded + size);
    OPENSSL_free(encoded);
    return out;
  }
  Bytes out(32);
  size_t size = out.size();
  ASSERT(EVP_PKEY_get_raw_public_key(pkey, out.data(), &size) == 1 && size == 32,
         "raw public key: ", internal::DrainOpenSslErrors());
  return out;
}

// Computes the uncompressed public point scalar * G.
Result<Bytes> EcPublicFromScalar(KeyType type, const BIGNUM* scalar) {
  const int nid = type == KeyType::kP256 ? NID_X9_62_prime256v1 : NID_secp384r1;
  std::unique_ptr<EC_GROUP, internal::Deleter<EC_GROUP, EC_GROUP_free>> group(
      EC_GROUP_new_by_curve_name(nid));
  if (group == nullptr) return internal::OpenSslError("EC group");
  std::unique_ptr<EC_POINT, internal::Deleter<EC_POINT, EC_POINT_free>> point(
      EC_POINT_new(group.get()));
  if (point == nullptr ||
      EC_POINT_mul(group.get(), point.get(), scalar, nullptr, nullptr, nullptr) != 1) {
    return internal::OpenSslError("EC scalar multiplication");
  }
  Bytes out(1 + 2 * CurveSize(type));
  const size_t written = EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED,
                                            out.data(), out.size(), nullptr);
  if (written != out.size()) return internal::OpenSslError("EC point encoding");
  return out;
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kP256:
      return "P-256";
    case KeyType::kP384:
      return "P-384";
    case KeyType::kEd25519:
      return "Ed25519";
    case KeyType::kX25519:
      return "X25519";
    case KeyType::kRsa:
      return "RSA";
  }
  UNREACHABLE("key type ", static_cast<int>(type));
}

Result<PublicKey> PublicKey::FromEvp(EVP_PKEY* pkey) {
  ASSERT(pkey != nullptr);
  EvpPkeyPtr owned(pkey);
  ASSIGN_OR_RETURN(const KeyType type, Classify(owned.get()));
  return PublicKey(Share(std::move(owned)), type);
}

Result<PublicKey> PublicKey::FromSpkiDer(ByteSpan der) {
  if (der.size() > static_cast<size_t>(INT_MAX)) return InvalidArgumentError("SPKI too large");
  const uint8_t* cursor = der.data();
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size()));
  if (raw == nullptr) return internal::OpenSslError("SubjectPublicKeyInfo is not valid DER");
  EvpPkeyPtr pkey(raw);
  if (cursor != der.data() + der.size()) {
    return InvalidArgumentError("SubjectPublicKeyInfo has ", der.data() + der.size() - cursor,
                                " trailing bytes");
  }
  return FromEvp(pkey.release());
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  internal::BioPtr bio = internal::MemoryBio(pem.data(), pem.size());
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) return internal::OpenSslError("PEM public key");
  return FromEvp(raw);
}

Result<PublicKey> PublicKey::FromRaw(KeyType type, ByteSpan raw) {
  if (type == KeyType::kRsa) return UnsupportedError("raw RSA public keys are not supported");
  if (IsEc(type)) {
    const size_t coordinate = CurveSize(type);
    Bytes point;
    if (raw.size() == 2 * coordinate) {
      point = Concat(Bytes{0x04}, raw);
    } else if (raw.size() == 1 + 2 * coordinate && raw[0] == 0x04) {
      point.assign(raw.begin(), raw.end());
    } else {
      return InvalidArgumentError(KeyTypeName(type), " public key: ", raw.size(),
                                  " bytes is not an uncompressed point (", 1 + 2 * coordinate,
                                  " bytes starting 0x04, or ", 2 * coordinate, " bytes x||y)");
    }
    ASSIGN_OR_RETURN(EvpPkeyPtr pkey, EcFromData(type, point, nullptr));
    return PublicKey(Share(std::move(pkey)), type);
  }
  if (raw.size() != 32) {
    return InvalidArgumentError(KeyTypeName(type), " public key is ", raw.size(),
                                " bytes, expected 32");
  }
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(RawNid(type), nullptr, raw.data(), raw.size());
  if (pkey == nullptr) return internal::OpenSslError("raw public key");
  return PublicKey(Share(EvpPkeyPtr(pkey)), type);
}

Bytes PublicKey::ToSpkiDer() const {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(pkey_.get(), &der);
  ASSERT(size > 0, "i2d_PUBKEY: ", internal::DrainOpenSslErrors());
  Bytes out(der, der + size);
  OPENSSL_free(der);
  return out;
}

std::string PublicKey::ToPem() const {
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT(bio != nullptr && PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) == 1);
  return internal::BioContents(bio.get());
}

Bytes PublicKey::ToRaw() const {
  if (type_ == KeyType::kRsa) return {};
  return RawPublicOf(pkey_.get(), type_);
}

int PublicKey::bits() const { return EVP_PKEY_get_bits(pkey_.get()); }

bool operator==(const PublicKey& a, const PublicKey& b) {
  return EVP_PKEY_eq(a.pkey_.get(), b.pkey_.get()) == 1;
}

Result<PrivateKey> PrivateKey::Generate(KeyType type) {
  EVP_PKEY* pkey = nullptr;
  switch (type) {
    case KeyType::kP256:
    case KeyType::kP384:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", CurveName(type));
      break;
    case KeyType::kEd25519:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case KeyType::kX25519:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
      break;
    case KeyType::kRsa:
      return UnsupportedError("RSA keys are verified, never generated");
  }
  if (pkey == nullptr) return internal::OpenSslError("key generation");
  return PrivateKey(Share(EvpPkeyPtr(pkey)), type);
}

Result<PrivateKey> PrivateKey::FromPkcs8Der(ByteSpan der) {
  if (der.size() > static_cast<size_t>(INT_MAX)) return InvalidArgumentError("key too large");
  const uint8_t* cursor = der.data();
  EVP_PKEY* raw = d2i_AutoPrivateKey(nullptr, &cursor, static_cast<long>(der.size()));
  if (raw == nullptr) return internal::OpenSslError("PKCS#8 private key is not valid DER");
  EvpPkeyPtr pkey(raw);
  ASSIGN_OR_RETURN(const KeyType type, Classify(pkey.get()));
  return PrivateKey(Share(std::move(pkey)), type);
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  internal::BioPtr bio = internal::MemoryBio(pem.data(), pem.size());
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) return internal::OpenSslError("PEM private key");
  EvpPkeyPtr pkey(raw);
  ASSIGN_OR_RETURN(const KeyType type, Classify(pkey.get()));
  return PrivateKey(Share(std::move(pkey)), type);
}

Result<PrivateKey> PrivateKey::FromRaw(KeyType type, ByteSpan raw) {
  if (type == KeyType::kRsa) return UnsupportedError("raw RSA private keys are not supported");
  if (IsEc(type)) {
    if (raw.size() != CurveSize(type)) {
      return InvalidArgumentError(KeyTypeName(type), " private key is ", raw.size(),
                                  " bytes, expected ", CurveSize(type));
    }
    BnPtr scalar(BN_bin2bn(raw.data(), static_cast<int>(raw.size()), nullptr));
    if (scalar == nullptr) return internal::OpenSslError("private scalar");
    if (BN_is_zero(scalar.get())) return InvalidArgumentError("private scalar is zero");
    ASSIGN_OR_RETURN(const Bytes point, EcPublicFromScalar(type, scalar.get()));
    ASSIGN_OR_RETURN(EvpPkeyPtr pkey, EcFromData(type, point, scalar.get()));
    // Scalars >= the group order are not valid private keys.
    EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (check == nullptr || EVP_PKEY_private_check(check.get()) != 1) {
      internal::DrainOpenSslErrors();
      return InvalidArgumentError(KeyTypeName(type), ": private scalar out of range");
    }
    return PrivateKey(Share(std::move(pkey)), type);
  }
  if (raw.size() != 32) {
    return InvalidArgumentError(KeyTypeName(type), " private key is ", raw.size(),
                                " bytes, expected 32");
  }
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(RawNid(type), nullptr, raw.data(), raw.size());
  if (pkey == nullptr) return internal::OpenSslError("raw private key");
  return PrivateKey(Share(EvpPkeyPtr(pkey)), type);
}

PublicKey PrivateKey::Public() const {
  // EC and 25519 keys: rebuild from the raw public value, which avoids OpenSSL 3.0's decoder
  // framework (an SPKI round trip costs about 120-180 us; this costs a few, see bench/crypto).
  if (IsEc(type_)) {
    Result<EvpPkeyPtr> pkey =
        EcFromData(type_, RawPublicOf(pkey_.get(), type_), nullptr, /*point_checked=*/true);
    ASSERT(pkey.ok(), "own public point does not load: ", pkey.error().ToString());
    return PublicKey(Share(std::move(pkey).value()), type_);
  }
  if (type_ != KeyType::kRsa) {
    Result<PublicKey> key = PublicKey::FromRaw(type_, RawPublicOf(pkey_.get(), type_));
    ASSERT(key.ok(), "own public key does not load: ", key.error().ToString());
    return std::move(key).value();
  }
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(pkey_.get(), &der);
  ASSERT(size > 0, "i2d_PUBKEY: ", internal::DrainOpenSslErrors());
  Bytes spki(der, der + size);
  OPENSSL_free(der);
  Result<PublicKey> key = PublicKey::FromSpkiDer(spki);
  ASSERT(key.ok(), "own public key does not parse: ", key.error().ToString());
  return std::move(key).value();
}

Bytes PrivateKey::ToPkcs8Der() const {
  unsigned char* der = nullptr;
  const int size = i2d_PrivateKey(pkey_.get(), &der);
  ASSERT(size > 0, "i2d_PrivateKey: ", internal::DrainOpenSslErrors());
  Bytes out(der, der + size);
  OPENSSL_free(der);
  return out;
}

std::string PrivateKey::ToPem() const {
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT(bio != nullptr && PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0,
                                                    nullptr, nullptr) == 1);
  return internal::BioContents(bio.get());
}

Bytes PrivateKey::ToRaw() const {
  if (IsEc(type_)) {
    BIGNUM* scalar = nullptr;
    ASSERT(EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_PRIV_KEY, &scalar) == 1);
    BnPtr owned(scalar);
    Bytes out(CurveSize(type_));
    ASSERT(BN_bn2binpad(scalar, out.data(), static_cast<int>(out.size())) ==
           static_cast<int>(out.size()));
    return out;
  }
  ASSERT(type_ != KeyType::kRsa, "RSA private keys are never held");
  Bytes out(32);
  size_t size = out.size();
  ASSERT(EVP_PKEY_get_raw_private_key(pkey_.get(), out.data(), &size) == 1 && size == 32);
  return out;
}

Result<Bytes> DiffieHellman(const PrivateKey& own, const PublicKey& peer) {
  if (own.type() != peer.type()) {
    return InvalidArgumentError("Diffie-Hellman between ", KeyTypeName(own.type()), " and ",
                                KeyTypeName(peer.type()), " keys");
  }
  if (own.type() != KeyType::kX25519 && !IsEc(own.type())) {
    return InvalidArgumentError("Diffie-Hellman needs X25519 or ECDH keys, not ",
                                KeyTypeName(own.type()));
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own.evp(), nullptr));
  size_t size = 0;
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.evp()) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &size) != 1) {
    return internal::OpenSslError("Diffie-Hellman setup");
  }
  Bytes secret(size);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &size) != 1) {
    return internal::OpenSslError("Diffie-Hellman");
  }
  secret.resize(size);
  if (IsAllZero(secret)) {
    return InvalidArgumentError("Diffie-Hellman result is all zero (low-order peer key)");
  }
  return secret;
}

}  // namespace cloister::crypto
