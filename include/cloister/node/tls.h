// TLS 1.3 between attested identities (node-to-node channels, and the client API).
//
// Each side presents a certificate for a key it holds (for nodes: the identity key born in the
// TEE at launch, self-signed). Trust is not decided by certificate chains but by a PeerVerifier
// that the caller supplies: for node-to-node channels it accepts exactly the keys that the
// replicated state trusts (HOST_ATTACKS.md H4: membership admits a key, not a measurement). The
// TLS handshake's CertificateVerify proves the peer holds that key. Versions below TLS 1.3 are
// refused.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>

#include "cloister/base/result.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/x509.h"

namespace cloister::node {

struct TlsIdentity {
  crypto::PrivateKey key;
  crypto::Certificate certificate;
};

// Decides during the handshake whether the peer's end-entity certificate is trusted. Must be
// cheap and must not block (it runs on the event loop).
using PeerVerifier = std::function<Status(const crypto::Certificate& peer)>;

enum class TlsRole { kServer, kClient };

// An SSL context presenting `identity`. With a verifier the peer must present a certificate that
// the verifier accepts (mutual TLS); without one (kServer only) clients need no certificate.
Result<std::unique_ptr<boost::asio::ssl::context>> MakeTlsContext(TlsRole role,
                                                                  const TlsIdentity& identity,
                                                                  PeerVerifier verifier);

// A self-signed certificate for `key` valid from `not_before` for `lifetime_seconds`, as nodes use
// for their TEE-born identity.
Result<crypto::Certificate> SelfSignedIdentity(const crypto::PrivateKey& key,
                                               const std::string& common_name, int64_t not_before,
                                               int64_t lifetime_seconds);

// A verifier that accepts exactly the given public keys.
PeerVerifier TrustKeys(std::vector<crypto::PublicKey> keys);

}  // namespace cloister::node
