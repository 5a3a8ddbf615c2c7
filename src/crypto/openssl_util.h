// Internal helpers shared by the crypto/ sources: owning pointers for OpenSSL objects and the
// text of OpenSSL's error queue. Not part of the public API.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "cloister/base/result.h"

namespace cloister::crypto::internal {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EvpCipherCtxPtr =
    std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

// Drains OpenSSL's thread-local error queue into one line ("" when empty).
std::string DrainOpenSslErrors();

// A kCrypto error: "<what>: <openssl errors>".
Error OpenSslError(std::string_view what);

// A read-only memory BIO over `data` (which must outlive the BIO).
BioPtr MemoryBio(const void* data, size_t size);

// The bytes written so far to a memory BIO.
std::string BioContents(BIO* bio);

}  // namespace cloister::crypto::internal
