#include "cloister/crypto/aead.h"

#include <openssl/evp.h>

#include <climits>

#include "openssl_util.h"

namespace cloister::crypto {

namespace {

constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

const EVP_CIPHER* Cipher(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::kAes128Gcm:
      return EVP_aes_128_gcm();
    case AeadAlgorithm::kAes256Gcm:
      return EVP_aes_256_gcm();
    case AeadAlgorithm::kChaCha20Poly1305:
      return EVP_chacha20_poly1305();
  }
  UNREACHABLE("AEAD algorithm ", static_cast<int>(algorithm));
}

Status CheckSizes(AeadAlgorithm algorithm, ByteSpan key, ByteSpan nonce) {
  if (key.size() != AeadKeySize(algorithm)) {
    return InvalidArgumentError(AeadName(algorithm), ": key is ", key.size(), " bytes, expected ",
                                AeadKeySize(algorithm));
  }
  if (nonce.size() != kNonceSize) {
    return InvalidArgumentError(AeadName(algorithm), ": nonce is ", nonce.size(),
                                " bytes, expected ", kNonceSize);
  }
  return OkStatus();
}

// EVP lengths are int; Cloister messages are bounded far below that (frames are size-limited).
Status CheckLength(ByteSpan data, std::string_view what) {
  if (data.size() > static_cast<size_t>(INT_MAX - 64)) {
    return InvalidArgumentError("AEAD: ", what, " too long (", data.size(), " bytes)");
  }
  return OkStatus();
}

Result<internal::EvpCipherCtxPtr> Init(AeadAlgorithm algorithm, ByteSpan key, ByteSpan nonce,
                                       ByteSpan aad, bool encrypt) {
  internal::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  const int enc = encrypt ? 1 : 0;
  int out_size = 0;
  if (ctx == nullptr ||
      EVP_CipherInit_ex(ctx.get(), Cipher(algorithm), nullptr, nullptr, nullptr, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(kNonceSize),
                          nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce.data(), enc) != 1 ||
      (!aad.empty() && EVP_CipherUpdate(ctx.get(), nullptr, &out_size, aad.data(),
                                        static_cast<int>(aad.size())) != 1)) {
    return internal::OpenSslError("AEAD init");
  }
  return ctx;
}

}  // namespace

size_t AeadKeySize(AeadAlgorithm algorithm) {
  return algorithm == AeadAlgorithm::kAes128Gcm ? 16 : 32;
}
size_t AeadNonceSize(AeadAlgorithm /*algorithm*/) { return kNonceSize; }
size_t AeadTagSize(AeadAlgorithm /*algorithm*/) { return kTagSize; }

std::string_view AeadName(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::kAes128Gcm:
      return "AES-128-GCM";
    case AeadAlgorithm::kAes256Gcm:
      return "AES-256-GCM";
    case AeadAlgorithm::kChaCha20Poly1305:
      return "ChaCha20-Poly1305";
  }
  UNREACHABLE("AEAD algorithm ", static_cast<int>(algorithm));
}

Result<Bytes> AeadSeal(AeadAlgorithm algorithm, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                       ByteSpan plaintext) {
  RETURN_IF_ERROR(CheckSizes(algorithm, key, nonce));
  RETURN_IF_ERROR(CheckLength(plaintext, "plaintext"));
  RETURN_IF_ERROR(CheckLength(aad, "aad"));
  ASSIGN_OR_RETURN(internal::EvpCipherCtxPtr ctx, Init(algorithm, key, nonce, aad, true));
  Bytes out(plaintext.size() + kTagSize);
  int written = 0;
  int final_written = 0;
  if ((!plaintext.empty() && EVP_CipherUpdate(ctx.get(), out.data(), &written, plaintext.data(),
                                              static_cast<int>(plaintext.size())) != 1) ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + written, &final_written) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize),
                          out.data() + plaintext.size()) != 1) {
    return internal::OpenSslError("AEAD seal");
  }
  ASSERT(static_cast<size_t>(written + final_written) == plaintext.size());
  return out;
}

Result<Bytes> AeadOpen(AeadAlgorithm algorithm, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                       ByteSpan ciphertext_and_tag) {
  RETURN_IF_ERROR(CheckSizes(algorithm, key, nonce));
  RETURN_IF_ERROR(CheckLength(ciphertext_and_tag, "ciphertext"));
  RETURN_IF_ERROR(CheckLength(aad, "aad"));
  if (ciphertext_and_tag.size() < kTagSize) {
    return VerificationError(AeadName(algorithm), ": ciphertext of ", ciphertext_and_tag.size(),
                             " bytes is shorter than the tag");
  }
  const size_t ciphertext_size = ciphertext_and_tag.size() - kTagSize;
  ASSIGN_OR_RETURN(internal::EvpCipherCtxPtr ctx, Init(algorithm, key, nonce, aad, false));
  Bytes out(ciphertext_size);
  int written = 0;
  int final_written = 0;
  Bytes tag(ciphertext_and_tag.begin() + static_cast<std::ptrdiff_t>(ciphertext_size),
            ciphertext_and_tag.end());
  if ((ciphertext_size > 0 &&
       EVP_CipherUpdate(ctx.get(), out.data(), &written, ciphertext_and_tag.data(),
                        static_cast<int>(ciphertext_size)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize),
                          tag.data()) != 1) {
    return internal::OpenSslError("AEAD open");
  }
  if (EVP_CipherFinal_ex(ctx.get(), out.data() + written, &final_written) != 1) {
    internal::DrainOpenSslErrors();
    return VerificationError(AeadName(algorithm), ": authentication tag does not match");
  }
  ASSERT(static_cast<size_t>(written + final_written) == ciphertext_size);
  return out;
}

}  // namespace cloister::crypto
