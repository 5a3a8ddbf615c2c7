#include "cloister/node/tls.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/verify_context.hpp>

namespace cloister::node {

namespace ssl = boost::asio::ssl;

namespace {

// Copies the certificate OpenSSL is currently verifying into our wrapper.
Result<crypto::Certificate> CurrentCertificate(X509_STORE_CTX* store) {
  X509* x509 = X509_STORE_CTX_get_current_cert(store);
  if (x509 == nullptr) return VerificationError("peer presented no certificate");
  unsigned char* der = nullptr;
  const int size = i2d_X509(x509, &der);
  if (size <= 0) return VerificationError("peer certificate cannot be encoded");
  const Bytes bytes(der, der + size);
  OPENSSL_free(der);
  return crypto::Certificate::FromDer(bytes);
}

}  // namespace

Result<std::unique_ptr<ssl::context>> MakeTlsContext(TlsRole role, const TlsIdentity& identity,
                                                     PeerVerifier verifier) {
  auto context = std::make_unique<ssl::context>(
      role == TlsRole::kServer ? ssl::context::tls_server : ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_use_certificate(native, identity.certificate.x509()) != 1 ||
      SSL_CTX_use_PrivateKey(native, identity.key.evp()) != 1 ||
      SSL_CTX_check_private_key(native) != 1) {
    return CryptoError("TLS context: certificate and key do not fit together");
  }
  // No session tickets or resumption: every connection proves possession of the key again.
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  if (!verifier) {
    if (role == TlsRole::kClient) {
      return InvalidArgumentError("a TLS client must verify the server's identity");
    }
    context->set_verify_mode(ssl::verify_none);
    return context;
  }
  context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  // Chain validation is not how peers are trusted (identities are self-signed keys); the
  // verifier decides on the end-entity certificate and everything above it is ignored.
  context->set_verify_callback([verifier](bool /*preverified*/, ssl::verify_context& ctx) {
    X509_STORE_CTX* store = ctx.native_handle();
    if (X509_STORE_CTX_get_error_depth(store) > 0) return true;
    Result<crypto::Certificate> peer = CurrentCertificate(store);
    if (!peer.ok()) return false;
    const Status trusted = verifier(*peer);
    if (!trusted.ok()) {
      X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
      return false;
    }
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return true;
  });
  return context;
}

Result<crypto::Certificate> SelfSignedIdentity(const crypto::PrivateKey& key,
                                               const std::string& common_name, int64_t not_before,
                                               int64_t lifetime_seconds) {
  crypto::CertificateRequest request{.common_name = common_name,
                                     .not_before = not_before,
                                     .not_after = not_before + lifetime_seconds};
  return crypto::IssueCertificate(request, key.Public(), key, nullptr);
}

PeerVerifier TrustKeys(std::vector<crypto::PublicKey> keys) {
  return [keys = std::move(keys)](const crypto::Certificate& peer) -> Status {
    ASSIGN_OR_RETURN(const crypto::PublicKey key, peer.SubjectPublicKey());
    for (const crypto::PublicKey& trusted : keys) {
      if (trusted == key) return OkStatus();
    }
    return PermissionDeniedError("peer key ", ToHex(key.ToRaw()).substr(0, 16),
                                 "... is not trusted");
  };
}

}  // namespace cloister::node
