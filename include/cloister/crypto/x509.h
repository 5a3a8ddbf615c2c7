// X.509 certificates and chains over OpenSSL 3.0, with the time of validation as an input.
//
// Trust anchors are pinned by the caller (vendor roots compiled into tee/, a network's service
// certificate). A certificate that arrives with untrusted input is never trusted because of what
// it says about itself: a root inside evidence is only compared with the pinned one.
//
// Certificate is immutable and cheap to copy (shared reference to the X509 object).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/key.h"

typedef struct x509_st X509;          // NOLINT: OpenSSL's own forward declarations
typedef struct X509_crl_st X509_CRL;  // NOLINT

namespace cloister::crypto {

class Certificate {
 public:
  static Result<Certificate> FromDer(ByteSpan der);
  // One PEM certificate ("-----BEGIN CERTIFICATE-----").
  static Result<Certificate> FromPem(std::string_view pem);
  // Every certificate in a PEM bundle, in order; fails if there is none or one is malformed.
  static Result<std::vector<Certificate>> FromPemBundle(std::string_view pem);
  // DER, or PEM when the data starts with "-----BEGIN".
  static Result<Certificate> FromDerOrPem(ByteSpan data);

  [[nodiscard]] Bytes Der() const;
  [[nodiscard]] std::string Pem() const;
  // One-line RFC 2253 style names, e.g. "CN=ARK-Milan,OU=Engineering,O=Advanced Micro Devices".
  [[nodiscard]] std::string Subject() const;
  [[nodiscard]] std::string Issuer() const;
  // The subject's commonName, or "" when absent.
  [[nodiscard]] std::string CommonName() const;
  [[nodiscard]] Bytes SerialNumber() const;  // big-endian magnitude
  // Validity in Unix seconds.
  [[nodiscard]] int64_t NotBefore() const;
  [[nodiscard]] int64_t NotAfter() const;
  [[nodiscard]] Result<PublicKey> SubjectPublicKey() const;
  [[nodiscard]] bool IsSelfIssued() const;
  [[nodiscard]] bool IsCa() const;
  // SHA-256 of the DER encoding.
  [[nodiscard]] Bytes Fingerprint() const;

  // The DER contents of the extnValue OCTET STRING of the extension with this dotted OID
  // ("1.3.6.1.4.1.3704.1.3.1"), or nullopt when the certificate has no such extension.
  [[nodiscard]] std::optional<Bytes> Extension(std::string_view oid) const;

  // Verifies that `issuer`'s key signed this certificate (any algorithm OpenSSL supports,
  // including RSA-PSS). Does not check validity times or extensions.
  [[nodiscard]] Status VerifySignedBy(const Certificate& issuer) const;

  [[nodiscard]] X509* x509() const { return x509_.get(); }
  friend bool operator==(const Certificate& a, const Certificate& b);

 private:
  explicit Certificate(std::shared_ptr<X509> x509) : x509_(std::move(x509)) {}
  std::shared_ptr<X509> x509_;
};

class Crl {
 public:
  static Result<Crl> FromDerOrPem(ByteSpan data);
  [[nodiscard]] std::string Issuer() const;
  [[nodiscard]] int64_t ThisUpdate() const;
  [[nodiscard]] int64_t NextUpdate() const;  // 0 when absent
  [[nodiscard]] bool IsRevoked(const Certificate& certificate) const;
  [[nodiscard]] X509_CRL* crl() const { return crl_.get(); }

 private:
  explicit Crl(std::shared_ptr<X509_CRL> crl) : crl_(std::move(crl)) {}
  std::shared_ptr<X509_CRL> crl_;
};

struct ChainOptions {
  // Validation time in Unix seconds; every certificate must be valid at this instant.
  int64_t at_unix_seconds = 0;
  // When non-empty, revocation is checked for every certificate in the chain and each issuer
  // needs a CRL here (OpenSSL X509_V_FLAG_CRL_CHECK_ALL).
  std::vector<Crl> crls;
};

// Verifies that `leaf` chains through `intermediates` to one of `roots` (the only trust anchors)
// at options.at_unix_seconds. Returns the verified path, leaf first and root last. The error
// names the failing certificate's subject and OpenSSL's reason.
Result<std::vector<Certificate>> VerifyChain(const Certificate& leaf,
                                             const std::vector<Certificate>& intermediates,
                                             const std::vector<Certificate>& roots,
                                             const ChainOptions& options);

// Dotted-decimal OID from DER OBJECT IDENTIFIER contents (without tag and length), and back.
Result<std::string> OidToString(ByteSpan der_contents);

// A self-signed or CA-signed certificate for a key we hold (service identity, node TLS,
// simulated TEE vendor, tests). Validity in Unix seconds. `issuer_key`/`issuer` null means
// self-signed by `subject_key`.
struct CertificateRequest {
  std::string common_name;
  int64_t not_before = 0;
  int64_t not_after = 0;
  bool is_ca = false;
  uint64_t serial = 1;
  // Extra extensions: dotted OID -> DER contents of extnValue (non-critical).
  std::vector<std::pair<std::string, Bytes>> extensions;
};
Result<Certificate> IssueCertificate(const CertificateRequest& request,
                                     const PublicKey& subject_key, const PrivateKey& issuer_key,
                                     const Certificate* issuer);

}  // namespace cloister::crypto
