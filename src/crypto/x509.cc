#include "cloister/crypto/x509.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <cstring>
#include <ctime>

#include "cloister/base/clock.h"
#include "cloister/crypto/hash.h"
#include "openssl_util.h"

namespace cloister::crypto {

namespace {

using internal::BioPtr;
using internal::X509Ptr;
using CrlPtr = std::unique_ptr<X509_CRL, internal::Deleter<X509_CRL, X509_CRL_free>>;
using StorePtr = std::unique_ptr<X509_STORE, internal::Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, internal::Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using ObjectPtr = std::unique_ptr<ASN1_OBJECT, internal::Deleter<ASN1_OBJECT, ASN1_OBJECT_free>>;

struct StackDeleter {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), StackDeleter>;

std::shared_ptr<X509> Share(X509* x509) { return std::shared_ptr<X509>(x509, X509_free); }

// OpenSSL verifies against these Certificates' X509 objects, which outlive the store context.
std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT(bio != nullptr);
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return internal::BioContents(bio.get());
}

// Unix seconds of an ASN1_TIME (UTCTime or GeneralizedTime).
int64_t TimeToUnix(const ASN1_TIME* time) {
  if (time == nullptr) return 0;
  struct tm parts {};
  if (ASN1_TIME_to_tm(time, &parts) != 1) return 0;
  return static_cast<int64_t>(timegm(&parts));
}

}  // namespace

Result<Certificate> Certificate::FromDer(ByteSpan der) {
  if (der.size() > static_cast<size_t>(INT_MAX))
    return InvalidArgumentError("certificate too large");
  const uint8_t* cursor = der.data();
  X509* x509 = d2i_X509(nullptr, &cursor, static_cast<long>(der.size()));
  if (x509 == nullptr) return internal::OpenSslError("certificate is not valid DER");
  Certificate certificate(Share(x509));
  if (cursor != der.data() + der.size()) {
    return ParseError("certificate has ", der.data() + der.size() - cursor, " trailing bytes");
  }
  return certificate;
}

Result<Certificate> Certificate::FromPem(std::string_view pem) {
  BioPtr bio = internal::MemoryBio(pem.data(), pem.size());
  X509* x509 = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (x509 == nullptr) return internal::OpenSslError("PEM certificate");
  return Certificate(Share(x509));
}

Result<std::vector<Certificate>> Certificate::FromPemBundle(std::string_view pem) {
  std::vector<Certificate> out;
  size_t position = 0;
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  while ((position = pem.find(kBegin, position)) != std::string_view::npos) {
    const size_t end = pem.find(kEnd, position);
    if (end == std::string_view::npos) {
      return ParseError("PEM bundle: certificate ", out.size() + 1, " has no END line");
    }
    const std::string_view one = pem.substr(position, end + kEnd.size() - position);
    Result<Certificate> certificate = FromPem(one);
    if (!certificate.ok()) {
      return certificate.error().WithContext("PEM bundle: certificate " +
                                             std::to_string(out.size() + 1));
    }
    out.push_back(std::move(certificate).value());
    position = end + kEnd.size();
  }
  if (out.empty()) return ParseError("PEM bundle contains no certificate");
  return out;
}

Result<Certificate> Certificate::FromDerOrPem(ByteSpan data) {
  static constexpr std::string_view kPemStart = "-----BEGIN";
  const std::string_view text = AsString(data);
  const size_t start = text.find_first_not_of(" \t\r\n");
  if (start != std::string_view::npos && text.substr(start, kPemStart.size()) == kPemStart) {
    return FromPem(text);
  }
  return FromDer(data);
}

Bytes Certificate::Der() const {
  unsigned char* der = nullptr;
  const int size = i2d_X509(x509_.get(), &der);
  ASSERT(size > 0, "i2d_X509: ", internal::DrainOpenSslErrors());
  Bytes out(der, der + size);
  OPENSSL_free(der);
  return out;
}

std::string Certificate::Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT(bio != nullptr && PEM_write_bio_X509(bio.get(), x509_.get()) == 1);
  return internal::BioContents(bio.get());
}

std::string Certificate::Subject() const {
  return NameToString(X509_get_subject_name(x509_.get()));
}
std::string Certificate::Issuer() const { return NameToString(X509_get_issuer_name(x509_.get())); }

std::string Certificate::CommonName() const {
  const X509_NAME* name = X509_get_subject_name(x509_.get());
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int size = ASN1_STRING_to_UTF8(&utf8, data);
  if (size < 0) return {};
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(size));
  OPENSSL_free(utf8);
  return out;
}

Bytes Certificate::SerialNumber() const {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x509_.get());
  return Bytes(ASN1_STRING_get0_data(serial),
               ASN1_STRING_get0_data(serial) + ASN1_STRING_length(serial));
}

int64_t Certificate::NotBefore() const { return TimeToUnix(X509_get0_notBefore(x509_.get())); }
int64_t Certificate::NotAfter() const { return TimeToUnix(X509_get0_notAfter(x509_.get())); }

Result<PublicKey> Certificate::SubjectPublicKey() const {
  EVP_PKEY* pkey = X509_get_pubkey(x509_.get());  // new reference
  if (pkey == nullptr) return internal::OpenSslError("certificate public key");
  return PublicKey::FromEvp(pkey);
}

bool Certificate::IsSelfIssued() const {
  return X509_check_issued(x509_.get(), x509_.get()) == X509_V_OK;
}

bool Certificate::IsCa() const { return X509_check_ca(x509_.get()) > 0; }

Bytes Certificate::Fingerprint() const { return Sha256(Der()); }

std::optional<Bytes> Certificate::Extension(std::string_view oid) const {
  const std::string oid_text(oid);
  ObjectPtr object(OBJ_txt2obj(oid_text.c_str(), 1));
  if (object == nullptr) {
    internal::DrainOpenSslErrors();
    return std::nullopt;
  }
  const int index = X509_get_ext_by_OBJ(x509_.get(), object.get(), -1);
  if (index < 0) return std::nullopt;
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(x509_.get(), index));
  return Bytes(ASN1_STRING_get0_data(value),
               ASN1_STRING_get0_data(value) + ASN1_STRING_length(value));
}

Status Certificate::VerifySignedBy(const Certificate& issuer) const {
  EVP_PKEY* key = X509_get0_pubkey(issuer.x509_.get());
  if (key == nullptr) return internal::OpenSslError("issuer public key");
  if (X509_verify(x509_.get(), key) != 1) {
    const std::string detail = internal::DrainOpenSslErrors();
    return VerificationError("certificate '", Subject(), "' is not signed by '", issuer.Subject(),
                             "'", detail.empty() ? "" : " (" + detail + ")");
  }
  return OkStatus();
}

bool operator==(const Certificate& a, const Certificate& b) {
  return X509_cmp(a.x509_.get(), b.x509_.get()) == 0;
}

Result<Crl> Crl::FromDerOrPem(ByteSpan data) {
  const std::string_view text = AsString(data);
  X509_CRL* crl = nullptr;
  if (text.find("-----BEGIN X509 CRL-----") != std::string_view::npos) {
    BioPtr bio = internal::MemoryBio(data.data(), data.size());
    crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
  } else {
    if (data.size() > static_cast<size_t>(INT_MAX)) return InvalidArgumentError("CRL too large");
    const uint8_t* cursor = data.data();
    crl = d2i_X509_CRL(nullptr, &cursor, static_cast<long>(data.size()));
    if (crl != nullptr && cursor != data.data() + data.size()) {
      X509_CRL_free(crl);
      return ParseError("CRL has trailing bytes");
    }
  }
  if (crl == nullptr) return internal::OpenSslError("CRL is neither valid DER nor PEM");
  return Crl(std::shared_ptr<X509_CRL>(crl, X509_CRL_free));
}

std::string Crl::Issuer() const { return NameToString(X509_CRL_get_issuer(crl_.get())); }
int64_t Crl::ThisUpdate() const { return TimeToUnix(X509_CRL_get0_lastUpdate(crl_.get())); }
int64_t Crl::NextUpdate() const { return TimeToUnix(X509_CRL_get0_nextUpdate(crl_.get())); }

bool Crl::IsRevoked(const Certificate& certificate) const {
  X509_REVOKED* entry = nullptr;
  return X509_CRL_get0_by_cert(crl_.get(), &entry, certificate.x509()) == 1;
}

Result<std::vector<Certificate>> VerifyChain(const Certificate& leaf,
                                             const std::vector<Certificate>& intermediates,
                                             const std::vector<Certificate>& roots,
                                             const ChainOptions& options) {
  if (roots.empty()) return InvalidArgumentError("chain verification needs a pinned root");
  StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (store == nullptr || untrusted == nullptr || ctx == nullptr) {
    return internal::OpenSslError("X509 store");
  }
  for (const Certificate& root : roots) {
    if (X509_STORE_add_cert(store.get(), root.x509()) != 1) {
      return internal::OpenSslError("adding pinned root");
    }
  }
  for (const Crl& crl : options.crls) {
    if (X509_STORE_add_crl(store.get(), crl.crl()) != 1)
      return internal::OpenSslError("adding CRL");
  }
  for (const Certificate& intermediate : intermediates) {
    // sk_X509_push does not take a reference; the Certificates outlive the verification.
    if (sk_X509_push(untrusted.get(), intermediate.x509()) <= 0) {
      return internal::OpenSslError("intermediate stack");
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.x509(), untrusted.get()) != 1) {
    return internal::OpenSslError("X509_STORE_CTX_init");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(options.at_unix_seconds));
  if (!options.crls.empty()) {
    X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    X509* failing = X509_STORE_CTX_get_current_cert(ctx.get());
    const std::string subject =
        failing != nullptr ? NameToString(X509_get_subject_name(failing)) : leaf.Subject();
    internal::DrainOpenSslErrors();
    return VerificationError("certificate chain does not verify at ",
                             FormatRfc3339(options.at_unix_seconds), ": '", subject,
                             "': ", X509_verify_cert_error_string(error));
  }
  std::vector<Certificate> path;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    unsigned char* der = nullptr;
    const int size = i2d_X509(sk_X509_value(chain, i), &der);
    if (size <= 0) return internal::OpenSslError("chain certificate encoding");
    const Bytes bytes(der, der + size);
    OPENSSL_free(der);
    ASSIGN_OR_RETURN(Certificate certificate, Certificate::FromDer(bytes));
    path.push_back(std::move(certificate));
  }
  return path;
}

Result<std::string> OidToString(ByteSpan der_contents) {
  if (der_contents.empty() || der_contents.size() > 127) {
    return InvalidArgumentError("OID of ", der_contents.size(), " bytes");
  }
  Bytes der = {0x06, static_cast<uint8_t>(der_contents.size())};
  der.insert(der.end(), der_contents.begin(), der_contents.end());
  const uint8_t* cursor = der.data();
  ObjectPtr object(d2i_ASN1_OBJECT(nullptr, &cursor, static_cast<long>(der.size())));
  if (object == nullptr) return internal::OpenSslError("OID");
  char buffer[128];
  const int size = OBJ_obj2txt(buffer, sizeof(buffer), object.get(), 1);
  if (size <= 0 || static_cast<size_t>(size) >= sizeof(buffer)) {
    return InvalidArgumentError("OID too long");
  }
  return std::string(buffer, static_cast<size_t>(size));
}

namespace {

Status AddExtension(X509* x509, X509V3_CTX* v3, int nid, const char* value) {
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, v3, nid, value);
  if (extension == nullptr) return internal::OpenSslError(std::string("extension ") + value);
  const int ok = X509_add_ext(x509, extension, -1);
  X509_EXTENSION_free(extension);
  if (ok != 1) return internal::OpenSslError("adding extension");
  return OkStatus();
}

Status AddRawExtension(X509* x509, const std::string& oid, ByteSpan contents) {
  ObjectPtr object(OBJ_txt2obj(oid.c_str(), 1));
  if (object == nullptr) return InvalidArgumentError("extension OID '", oid, "' is not valid");
  std::unique_ptr<ASN1_OCTET_STRING, internal::Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>
      value(ASN1_OCTET_STRING_new());
  if (value == nullptr ||
      ASN1_OCTET_STRING_set(value.get(), contents.data(), static_cast<int>(contents.size())) != 1) {
    return internal::OpenSslError("extension value");
  }
  X509_EXTENSION* extension = X509_EXTENSION_create_by_OBJ(nullptr, object.get(), 0, value.get());
  if (extension == nullptr) return internal::OpenSslError("extension");
  const int ok = X509_add_ext(x509, extension, -1);
  X509_EXTENSION_free(extension);
  if (ok != 1) return internal::OpenSslError("adding extension");
  return OkStatus();
}

const EVP_MD* SigningDigest(const PrivateKey& key) {
  switch (key.type()) {
    case KeyType::kP256:
      return EVP_sha256();
    case KeyType::kP384:
      return EVP_sha384();
    default:
      return nullptr;  // Ed25519 signs without a separate digest
  }
}

}  // namespace

Result<Certificate> IssueCertificate(const CertificateRequest& request,
                                     const PublicKey& subject_key, const PrivateKey& issuer_key,
                                     const Certificate* issuer) {
  if (request.not_after <= request.not_before) {
    return InvalidArgumentError("certificate validity ends before it starts");
  }
  if (issuer_key.type() != KeyType::kP256 && issuer_key.type() != KeyType::kP384 &&
      issuer_key.type() != KeyType::kEd25519) {
    return InvalidArgumentError("cannot sign certificates with ", KeyTypeName(issuer_key.type()));
  }
  X509Ptr x509(X509_new());
  if (x509 == nullptr || X509_set_version(x509.get(), X509_VERSION_3) != 1 ||
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(x509.get()), request.serial) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(x509.get()), static_cast<time_t>(request.not_before)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(x509.get()), static_cast<time_t>(request.not_after)) ==
          nullptr ||
      X509_set_pubkey(x509.get(), subject_key.evp()) != 1) {
    return internal::OpenSslError("certificate fields");
  }
  X509_NAME* name = X509_get_subject_name(x509.get());
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(request.common_name.c_str()), -1, -1, 0) != 1 ||
      X509_set_issuer_name(x509.get(),
                           issuer != nullptr ? X509_get_subject_name(issuer->x509()) : name) != 1) {
    return internal::OpenSslError("certificate names");
  }
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer != nullptr ? issuer->x509() : x509.get(), x509.get(), nullptr, nullptr,
                 0);
  RETURN_IF_ERROR(AddExtension(x509.get(), &v3, NID_basic_constraints,
                               request.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(x509.get(), &v3, NID_key_usage,
                               request.is_ca ? "critical,keyCertSign,cRLSign,digitalSignature"
                                             : "critical,digitalSignature,keyAgreement"));
  RETURN_IF_ERROR(AddExtension(x509.get(), &v3, NID_subject_key_identifier, "hash"));
  if (issuer != nullptr) {
    RETURN_IF_ERROR(AddExtension(x509.get(), &v3, NID_authority_key_identifier, "keyid:always"));
  }
  for (const auto& [oid, contents] : request.extensions) {
    RETURN_IF_ERROR(AddRawExtension(x509.get(), oid, contents));
  }
  if (X509_sign(x509.get(), issuer_key.evp(), SigningDigest(issuer_key)) <= 0) {
    return internal::OpenSslError("certificate signature");
  }
  unsigned char* der = nullptr;
  const int size = i2d_X509(x509.get(), &der);
  if (size <= 0) return internal::OpenSslError("certificate encoding");
  const Bytes bytes(der, der + size);
  OPENSSL_free(der);
  return Certificate::FromDer(bytes);
}

}  // namespace cloister::crypto
