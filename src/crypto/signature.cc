#include "cloister/crypto/signature.h"

#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <climits>

#include "openssl_util.h"

namespace cloister::crypto {

namespace {

using internal::BnPtr;
using internal::EvpMdCtxPtr;
using internal::EvpPkeyCtxPtr;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, internal::Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

const EVP_MD* Md(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha256:
      return EVP_sha256();
    case HashAlgorithm::kSha384:
      return EVP_sha384();
    case HashAlgorithm::kSha512:
      return EVP_sha512();
  }
  UNREACHABLE("hash ", static_cast<int>(hash));
}

size_t ComponentSize(KeyType type) { return type == KeyType::kP256 ? 32 : 48; }
bool IsEc(KeyType type) { return type == KeyType::kP256 || type == KeyType::kP384; }

// Turns any accepted ECDSA encoding into DER for OpenSSL.
Result<Bytes> ToDer(KeyType type, ByteSpan signature, SignatureFormat format) {
  switch (format) {
    case SignatureFormat::kDer:
      return Bytes(signature.begin(), signature.end());
    case SignatureFormat::kRawBigEndian: {
      if (signature.size() != 2 * ComponentSize(type)) {
        return VerificationError(KeyTypeName(type), " signature is ", signature.size(),
                                 " bytes, expected ", 2 * ComponentSize(type), " (r||s)");
      }
      return EcdsaRawToDer(signature, ComponentSize(type), false);
    }
    case SignatureFormat::kRawLittleEndian:
      return EcdsaRawToDer(signature, ComponentSize(type), true);
  }
  UNREACHABLE("signature format");
}

Status CheckVerifyResult(int result, std::string_view what) {
  if (result == 1) return OkStatus();
  const std::string detail = internal::DrainOpenSslErrors();
  if (detail.empty()) return VerificationError(what, ": signature does not verify");
  return VerificationError(what, ": signature does not verify (", detail, ")");
}

}  // namespace

Result<Bytes> EcdsaRawToDer(ByteSpan raw, size_t component_size, bool little_endian) {
  if (raw.empty() || raw.size() % 2 != 0 || raw.size() / 2 < component_size) {
    return VerificationError("raw ECDSA signature of ", raw.size(),
                             " bytes cannot hold two components of ", component_size, " bytes");
  }
  const size_t width = raw.size() / 2;
  const ByteSpan r = raw.subspan(0, width);
  const ByteSpan s = raw.subspan(width, width);
  // Padding beyond the component size must be zero: no hidden bits in a signature.
  auto padding_zero = [&](ByteSpan component) {
    const ByteSpan padding = little_endian ? component.subspan(component_size)
                                           : component.subspan(0, width - component_size);
    return IsAllZero(padding);
  };
  if (!padding_zero(r) || !padding_zero(s)) {
    return VerificationError("raw ECDSA signature has non-zero padding beyond ", component_size,
                             " bytes");
  }
  auto to_bn = [&](ByteSpan component) {
    const int size = static_cast<int>(width);
    return little_endian ? BN_lebin2bn(component.data(), size, nullptr)
                         : BN_bin2bn(component.data(), size, nullptr);
  };
  BnPtr r_bn(to_bn(r));
  BnPtr s_bn(to_bn(s));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (r_bn == nullptr || s_bn == nullptr || sig == nullptr ||
      ECDSA_SIG_set0(sig.get(), r_bn.get(), s_bn.get()) != 1) {
    return internal::OpenSslError("ECDSA signature");
  }
  r_bn.release();  // now owned by sig
  s_bn.release();
  unsigned char* der = nullptr;
  const int size = i2d_ECDSA_SIG(sig.get(), &der);
  if (size <= 0) return internal::OpenSslError("ECDSA signature encoding");
  Bytes out(der, der + size);
  OPENSSL_free(der);
  return out;
}

Result<Bytes> EcdsaDerToRaw(ByteSpan der, size_t component_size) {
  const uint8_t* cursor = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())));
  if (sig == nullptr) return internal::OpenSslError("DER ECDSA signature");
  if (cursor != der.data() + der.size()) {
    return VerificationError("DER ECDSA signature has trailing bytes");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  Bytes out(2 * component_size);
  const int size = static_cast<int>(component_size);
  if (BN_bn2binpad(r, out.data(), size) != size ||
      BN_bn2binpad(s, out.data() + component_size, size) != size) {
    return VerificationError("ECDSA signature component larger than ", component_size, " bytes");
  }
  return out;
}

Result<Bytes> Sign(const PrivateKey& key, HashAlgorithm hash, ByteSpan message,
                   SignatureFormat format) {
  if (key.type() == KeyType::kX25519 || key.type() == KeyType::kRsa) {
    return InvalidArgumentError(KeyTypeName(key.type()), " keys do not sign");
  }
  const bool eddsa = key.type() == KeyType::kEd25519;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t size = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, eddsa ? nullptr : Md(hash), nullptr, key.evp()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, message.data(), message.size()) != 1) {
    return internal::OpenSslError("sign setup");
  }
  Bytes signature(size);
  if (EVP_DigestSign(ctx.get(), signature.data(), &size, message.data(), message.size()) != 1) {
    return internal::OpenSslError("sign");
  }
  signature.resize(size);
  if (eddsa || format == SignatureFormat::kDer) return signature;
  ASSIGN_OR_RETURN(Bytes raw, EcdsaDerToRaw(signature, ComponentSize(key.type())));
  if (format == SignatureFormat::kRawLittleEndian) {
    const size_t width = ComponentSize(key.type());
    std::reverse(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(width));
    std::reverse(raw.begin() + static_cast<std::ptrdiff_t>(width), raw.end());
  }
  return raw;
}

Status Verify(const PublicKey& key, HashAlgorithm hash, ByteSpan message, ByteSpan signature,
              SignatureFormat format) {
  if (key.type() == KeyType::kEd25519) {
    if (signature.size() != 64) {
      return VerificationError("Ed25519 signature is ", signature.size(), " bytes, expected 64");
    }
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (ctx == nullptr ||
        EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.evp()) != 1) {
      return internal::OpenSslError("Ed25519 verify setup");
    }
    return CheckVerifyResult(EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                                              message.data(), message.size()),
                             "Ed25519");
  }
  if (!IsEc(key.type())) {
    return InvalidArgumentError("Verify takes ECDSA or Ed25519 keys, not ",
                                KeyTypeName(key.type()));
  }
  ASSIGN_OR_RETURN(const Bytes der, ToDer(key.type(), signature, format));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, Md(hash), nullptr, key.evp()) != 1) {
    return internal::OpenSslError("ECDSA verify setup");
  }
  return CheckVerifyResult(
      EVP_DigestVerify(ctx.get(), der.data(), der.size(), message.data(), message.size()), "ECDSA");
}

Status VerifyDigest(const PublicKey& key, ByteSpan digest, ByteSpan signature,
                    SignatureFormat format) {
  if (!IsEc(key.type())) {
    return InvalidArgumentError("VerifyDigest takes ECDSA keys, not ", KeyTypeName(key.type()));
  }
  ASSIGN_OR_RETURN(const Bytes der, ToDer(key.type(), signature, format));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.evp(), nullptr));
  if (ctx == nullptr || EVP_PKEY_verify_init(ctx.get()) != 1) {
    return internal::OpenSslError("ECDSA verify setup");
  }
  return CheckVerifyResult(
      EVP_PKEY_verify(ctx.get(), der.data(), der.size(), digest.data(), digest.size()), "ECDSA");
}

namespace {

Status VerifyRsa(const PublicKey& key, HashAlgorithm hash, ByteSpan message, ByteSpan signature,
                 int padding, int salt_length) {
  if (key.type() != KeyType::kRsa) {
    return InvalidArgumentError("RSA verification with a ", KeyTypeName(key.type()), " key");
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), &pctx, Md(hash), nullptr, key.evp()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, padding) != 1 ||
      (padding == RSA_PKCS1_PSS_PADDING &&
       (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_length) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, Md(hash)) != 1))) {
    return internal::OpenSslError("RSA verify setup");
  }
  return CheckVerifyResult(EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                                            message.data(), message.size()),
                           padding == RSA_PKCS1_PSS_PADDING ? "RSA-PSS" : "RSA PKCS#1 v1.5");
}

}  // namespace

Status VerifyRsaPss(const PublicKey& key, HashAlgorithm hash, ByteSpan message, ByteSpan signature,
                    int salt_length) {
  return VerifyRsa(key, hash, message, signature, RSA_PKCS1_PSS_PADDING, salt_length);
}

Status VerifyRsaPkcs1(const PublicKey& key, HashAlgorithm hash, ByteSpan message,
                      ByteSpan signature) {
  return VerifyRsa(key, hash, message, signature, RSA_PKCS1_PADDING, 0);
}

}  // namespace cloister::crypto
