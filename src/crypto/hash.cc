#include "cloister/crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "openssl_util.h"

namespace cloister::crypto {

namespace {

const EVP_MD* Md(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::kSha256:
      return EVP_sha256();
    case HashAlgorithm::kSha384:
      return EVP_sha384();
    case HashAlgorithm::kSha512:
      return EVP_sha512();
  }
  UNREACHABLE("hash algorithm ", static_cast<int>(algorithm));
}

const char* MdName(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::kSha256:
      return "SHA256";
    case HashAlgorithm::kSha384:
      return "SHA384";
    case HashAlgorithm::kSha512:
      return "SHA512";
  }
  UNREACHABLE("hash algorithm ", static_cast<int>(algorithm));
}

// Runs one EVP_KDF HKDF operation in the given mode ("EXTRACT_ONLY" or "EXPAND_ONLY").
// Only EXPAND_ONLY is used: extract is HMAC itself (see HkdfExtract).
Result<Bytes> RunHkdf(HashAlgorithm algorithm, const char* mode, ByteSpan salt, ByteSpan key,
                      ByteSpan info, size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return internal::OpenSslError("HKDF unavailable");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return internal::OpenSslError("HKDF context");

  // OSSL_PARAM takes non-const pointers; OpenSSL only reads these buffers.
  auto param_bytes = [](const char* name, ByteSpan bytes) {
    return OSSL_PARAM_construct_octet_string(name, const_cast<uint8_t*>(bytes.data()),
                                             bytes.size());  // NOLINT
  };
  OSSL_PARAM params[6];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, const_cast<char*>(mode), 0);
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                 const_cast<char*>(MdName(algorithm)), 0);
  params[n++] = param_bytes(OSSL_KDF_PARAM_KEY, key);
  if (!salt.empty()) params[n++] = param_bytes(OSSL_KDF_PARAM_SALT, salt);
  if (!info.empty()) params[n++] = param_bytes(OSSL_KDF_PARAM_INFO, info);
  params[n] = OSSL_PARAM_construct_end();

  Bytes out(length);
  const int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) return internal::OpenSslError("HKDF derive");
  return out;
}

}  // namespace

size_t HashSize(HashAlgorithm algorithm) {
  return static_cast<size_t>(EVP_MD_get_size(Md(algorithm)));
}

std::string_view HashName(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::kSha256:
      return "SHA-256";
    case HashAlgorithm::kSha384:
      return "SHA-384";
    case HashAlgorithm::kSha512:
      return "SHA-512";
  }
  UNREACHABLE("hash algorithm ", static_cast<int>(algorithm));
}

Bytes Hash(HashAlgorithm algorithm, ByteSpan data) {
  Bytes out(HashSize(algorithm));
  unsigned int size = 0;
  ASSERT(EVP_Digest(data.data(), data.size(), out.data(), &size, Md(algorithm), nullptr) == 1,
         "EVP_Digest: ", internal::DrainOpenSslErrors());
  ASSERT(size == out.size());
  return out;
}

Bytes Sha256(ByteSpan data) { return Hash(HashAlgorithm::kSha256, data); }
Bytes Sha384(ByteSpan data) { return Hash(HashAlgorithm::kSha384, data); }
Bytes Sha512(ByteSpan data) { return Hash(HashAlgorithm::kSha512, data); }

struct Hasher::State {
  internal::EvpMdCtxPtr ctx;
  HashAlgorithm algorithm;
};

Hasher::Hasher(HashAlgorithm algorithm)
    : state_(new State{internal::EvpMdCtxPtr(EVP_MD_CTX_new()), algorithm}) {
  ASSERT(
      state_->ctx != nullptr && EVP_DigestInit_ex(state_->ctx.get(), Md(algorithm), nullptr) == 1,
      "EVP_DigestInit_ex: ", internal::DrainOpenSslErrors());
}

Hasher::~Hasher() { delete state_; }
Hasher::Hasher(Hasher&& other) noexcept : state_(other.state_) { other.state_ = nullptr; }
Hasher& Hasher::operator=(Hasher&& other) noexcept {
  if (this != &other) {
    delete state_;
    state_ = other.state_;
    other.state_ = nullptr;
  }
  return *this;
}

void Hasher::Update(ByteSpan data) {
  ASSERT(state_ != nullptr, "Hasher used after Finish or move");
  ASSERT(EVP_DigestUpdate(state_->ctx.get(), data.data(), data.size()) == 1);
}

Bytes Hasher::Finish() {
  ASSERT(state_ != nullptr, "Hasher used after Finish or move");
  Bytes out(HashSize(state_->algorithm));
  unsigned int size = 0;
  ASSERT(EVP_DigestFinal_ex(state_->ctx.get(), out.data(), &size) == 1);
  delete state_;
  state_ = nullptr;
  return out;
}

Bytes Hmac(HashAlgorithm algorithm, ByteSpan key, ByteSpan data) {
  Bytes out(HashSize(algorithm));
  unsigned int size = 0;
  // HMAC() with a NULL key pointer and zero length is valid; give it a non-null pointer anyway.
  static const uint8_t kEmpty = 0;
  ASSERT(key.size() <= INT32_MAX);
  const uint8_t* result =
      HMAC(Md(algorithm), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
           data.data(), data.size(), out.data(), &size);
  ASSERT(result != nullptr && size == out.size(), "HMAC: ", internal::DrainOpenSslErrors());
  return out;
}

Bytes HkdfExtract(HashAlgorithm algorithm, ByteSpan salt, ByteSpan ikm) {
  // RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM), and an absent salt is HashLen zero bytes. The
  // zeros are passed explicitly: OpenSSL 3.0's HKDF fails silently on a (NULL, 0) salt, and it
  // refuses an empty IKM, which HMAC takes as it should.
  const Bytes zero_salt(HashSize(algorithm), 0);
  return Hmac(algorithm, salt.empty() ? ByteSpan(zero_salt) : salt, ikm);
}

Result<Bytes> HkdfExpand(HashAlgorithm algorithm, ByteSpan prk, ByteSpan info, size_t length) {
  const size_t hash_size = HashSize(algorithm);
  if (length > 255 * hash_size) {
    return InvalidArgumentError("HKDF-Expand: length ", length, " exceeds 255 * ", hash_size);
  }
  if (prk.size() < hash_size) {
    return InvalidArgumentError("HKDF-Expand: PRK is ", prk.size(), " bytes, need at least ",
                                hash_size);
  }
  if (length == 0) return Bytes{};
  return RunHkdf(algorithm, "EXPAND_ONLY", {}, prk, info, length);
}

Result<Bytes> Hkdf(HashAlgorithm algorithm, ByteSpan salt, ByteSpan ikm, ByteSpan info,
                   size_t length) {
  const Bytes prk = HkdfExtract(algorithm, salt, ikm);
  return HkdfExpand(algorithm, prk, info, length);
}

bool ConstantTimeEqual(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cloister::crypto
