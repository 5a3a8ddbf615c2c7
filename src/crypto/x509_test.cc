// Proves certificate parsing and chain verification on real vendor certificates (AMD ARK/ASK/VCEK
// with RSA-PSS, Intel SGX root, AWS Nitro root): genuine chains verify at a given time, and
// altered certificates, wrong roots, expired times and revoked certificates are refused.
#include "cloister/crypto/x509.h"

#include <gtest/gtest.h>

#include "cloister/base/clock.h"
#include "cloister/crypto/random.h"
#include "vectors.h"

namespace cloister::crypto {
namespace {

Certificate Load(std::string_view relative) {
  Result<Bytes> data = testing::ReadFileBytes(testing::VectorPath(relative));
  EXPECT_TRUE(data.ok()) << (data.ok() ? "" : data.error().ToString());
  Result<Certificate> certificate = Certificate::FromDerOrPem(data.value_or(Bytes{}));
  EXPECT_TRUE(certificate.ok()) << relative << ": "
                                << (certificate.ok() ? "" : certificate.error().ToString());
  return std::move(certificate).value();
}

int64_t At(std::string_view rfc3339) { return ParseRfc3339(rfc3339).value(); }

TEST(CertificateTest, ReadsAmdRootFields) {
  const Certificate ark = Load("sev-snp/amd/ark_milan.pem");
  EXPECT_EQ(ark.CommonName(), "ARK-Milan");
  EXPECT_NE(ark.Subject().find("CN=ARK-Milan"), std::string::npos);
  EXPECT_TRUE(ark.IsSelfIssued());
  EXPECT_TRUE(ark.IsCa());
  EXPECT_EQ(ToHex(ark.Fingerprint()),
            "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd");
  EXPECT_EQ(ark.SubjectPublicKey()->type(), KeyType::kRsa);
  EXPECT_EQ(ark.SubjectPublicKey()->bits(), 4096);
  EXPECT_LT(ark.NotBefore(), ark.NotAfter());
  EXPECT_TRUE(ark.VerifySignedBy(ark).ok());
  // Round trips through DER and PEM.
  EXPECT_EQ(*Certificate::FromDer(ark.Der()), ark);
  EXPECT_EQ(*Certificate::FromPem(ark.Pem()), ark);
}

TEST(CertificateTest, VcekExtensionsAreFoundByOid) {
  const Certificate vcek = Load("sev-snp/yaxi_milan_v3/vcek.pem");
  EXPECT_EQ(vcek.SubjectPublicKey()->type(), KeyType::kP384);
  // AMD's hwID extension (1.3.6.1.4.1.3704.1.4) holds the 64-byte chip id as an OCTET STRING.
  const std::optional<Bytes> hwid = vcek.Extension("1.3.6.1.4.1.3704.1.4");
  ASSERT_TRUE(hwid.has_value());
  EXPECT_GE(hwid->size(), 64u);
  EXPECT_FALSE(vcek.Extension("1.2.3.4.5").has_value());
  EXPECT_FALSE(vcek.Extension("not an oid").has_value());
}

TEST(ChainTest, GenuineAmdChainsVerifyWithRsaPss) {
  const int64_t now = At("2026-11-25T00:00:00Z");
  for (const char* product : {"milan", "genoa", "turin"}) {
    const Certificate ark = Load(std::string("sev-snp/amd/ark_") + product + ".pem");
    const Certificate ask = Load(std::string("sev-snp/amd/ask_") + product + ".pem");
    const Certificate asvk = Load(std::string("sev-snp/amd/asvk_") + product + ".pem");
    EXPECT_TRUE(ask.VerifySignedBy(ark).ok()) << product;
    const Result<std::vector<Certificate>> path =
        VerifyChain(ask, {}, {ark}, {.at_unix_seconds = now});
    ASSERT_TRUE(path.ok()) << product << ": " << path.error().ToString();
    ASSERT_EQ(path->size(), 2u);
    EXPECT_EQ(path->back(), ark);
    EXPECT_TRUE(VerifyChain(asvk, {}, {ark}, {.at_unix_seconds = now}).ok()) << product;
  }
  const Certificate vcek = Load("sev-snp/turin_vcek_without_report/vcek.der");
  const Result<std::vector<Certificate>> path =
      VerifyChain(vcek, {Load("sev-snp/amd/ask_turin.pem")}, {Load("sev-snp/amd/ark_turin.pem")},
                  {.at_unix_seconds = now});
  ASSERT_TRUE(path.ok()) << path.error().ToString();
  EXPECT_EQ(path->size(), 3u);
}

TEST(ChainTest, WrongProductRootIsRefused) {
  const int64_t now = At("2026-11-25T00:00:00Z");
  const Result<std::vector<Certificate>> path =
      VerifyChain(Load("sev-snp/yaxi_milan_v3/vcek.pem"), {Load("sev-snp/amd/ask_genoa.pem")},
                  {Load("sev-snp/amd/ark_genoa.pem")}, {.at_unix_seconds = now});
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.error().code, ErrorCode::kVerification);
}

TEST(ChainTest, AlteredVceksAreRefused) {
  const int64_t now = At("2026-11-25T00:00:00Z");
  for (const char* file : {"sev-snp/negative/trustee_vcek_invalid_legacy.der",
                           "sev-snp/negative/trustee_vcek_invalid_new.der"}) {
    const Result<std::vector<Certificate>> path =
        VerifyChain(Load(file), {Load("sev-snp/amd/ask_milan.pem")},
                    {Load("sev-snp/amd/ark_milan.pem")}, {.at_unix_seconds = now});
    ASSERT_FALSE(path.ok()) << file;
    EXPECT_NE(path.error().message.find("signature"), std::string::npos) << path.error().message;
  }
}

TEST(ChainTest, TimeIsAnInput) {
  const Certificate ark = Load("sev-snp/amd/ark_milan.pem");
  const Certificate ask = Load("sev-snp/amd/ask_milan.pem");
  EXPECT_TRUE(VerifyChain(ask, {}, {ark}, {.at_unix_seconds = ask.NotBefore() + 1}).ok());
  EXPECT_FALSE(VerifyChain(ask, {}, {ark}, {.at_unix_seconds = ask.NotBefore() - 1}).ok());
  EXPECT_FALSE(VerifyChain(ask, {}, {ark}, {.at_unix_seconds = ask.NotAfter() + 1}).ok());
}

TEST(ChainTest, SelfSignedRootsOfOtherVendorsVerifyOnlyAgainstThemselves) {
  const int64_t now = At("2026-11-25T00:00:00Z");
  const Certificate intel = Load("intel/sgx_root_ca.pem");
  const Certificate nitro = Load("nitro/aws_nitro_enclaves_root_g1.pem");
  EXPECT_EQ(nitro.SubjectPublicKey()->type(), KeyType::kP384);
  EXPECT_EQ(intel.SubjectPublicKey()->type(), KeyType::kP256);
  EXPECT_TRUE(VerifyChain(intel, {}, {intel}, {.at_unix_seconds = now}).ok());
  EXPECT_TRUE(VerifyChain(nitro, {}, {nitro}, {.at_unix_seconds = now}).ok());
  EXPECT_FALSE(VerifyChain(intel, {}, {nitro}, {.at_unix_seconds = now}).ok());
  EXPECT_FALSE(VerifyChain(intel, {}, {}, {.at_unix_seconds = now}).ok());
}

// A lookalike root (same name, different key) passed as an intermediate never replaces the
// pinned root.
TEST(ChainTest, LookalikeRootIsNotTrusted) {
  const int64_t now = 1'700'000'000;
  const PrivateKey real_key = *PrivateKey::Generate(KeyType::kP384);
  const PrivateKey fake_key = *PrivateKey::Generate(KeyType::kP384);
  const PrivateKey leaf_key = *PrivateKey::Generate(KeyType::kP256);
  const CertificateRequest root_request{.common_name = "Vendor Root",
                                        .not_before = now - 1000,
                                        .not_after = now + 1000,
                                        .is_ca = true};
  const Certificate real_root =
      *IssueCertificate(root_request, real_key.Public(), real_key, nullptr);
  const Certificate fake_root =
      *IssueCertificate(root_request, fake_key.Public(), fake_key, nullptr);
  const Certificate leaf = *IssueCertificate(
      {.common_name = "node", .not_before = now - 10, .not_after = now + 10, .serial = 7},
      leaf_key.Public(), fake_key, &fake_root);
  EXPECT_TRUE(VerifyChain(leaf, {}, {fake_root}, {.at_unix_seconds = now}).ok());
  EXPECT_FALSE(VerifyChain(leaf, {fake_root}, {real_root}, {.at_unix_seconds = now}).ok());
}

TEST(IssueTest, IssuedCertificatesCarryKeyAndExtensions) {
  const int64_t now = 1'700'000'000;
  const PrivateKey ca_key = *PrivateKey::Generate(KeyType::kP256);
  const PrivateKey node_key = *PrivateKey::Generate(KeyType::kEd25519);
  const Certificate ca = *IssueCertificate(
      {.common_name = "service", .not_before = now, .not_after = now + 86400, .is_ca = true},
      ca_key.Public(), ca_key, nullptr);
  const Bytes claim = {0x04, 0x02, 0xab, 0xcd};
  const Certificate node = *IssueCertificate({.common_name = "node-1",
                                              .not_before = now,
                                              .not_after = now + 3600,
                                              .serial = 2,
                                              .extensions = {{"1.3.6.1.4.1.99999.1", claim}}},
                                             node_key.Public(), ca_key, &ca);
  EXPECT_EQ(node.CommonName(), "node-1");
  EXPECT_EQ(*node.SubjectPublicKey(), node_key.Public());
  EXPECT_EQ(node.Extension("1.3.6.1.4.1.99999.1"), claim);
  EXPECT_EQ(node.NotBefore(), now);
  EXPECT_FALSE(node.IsCa());
  EXPECT_TRUE(ca.IsCa());
  EXPECT_TRUE(VerifyChain(node, {}, {ca}, {.at_unix_seconds = now + 60}).ok());
  EXPECT_FALSE(IssueCertificate({.common_name = "x", .not_before = 5, .not_after = 5},
                                node_key.Public(), ca_key, nullptr)
                   .ok());
}

// Parses Intel's root CA CRL and uses it in a chain check with revocation on.
TEST(CrlTest, IntelRootCrlParsesAndIsUsedInChainCheck) {
  const char* crl_path = "tdx/collateral/gotdx_root_ca_crl.der";
  const Result<Bytes> data = testing::ReadFileBytes(testing::VectorPath(crl_path));
  ASSERT_TRUE(data.ok());
  const Result<Crl> crl = Crl::FromDerOrPem(*data);
  ASSERT_TRUE(crl.ok()) << crl.error().ToString();
  const Certificate intel = Load("intel/sgx_root_ca.pem");
  EXPECT_EQ(crl->Issuer(), intel.Subject());
  EXPECT_FALSE(crl->IsRevoked(intel));
  EXPECT_GT(crl->NextUpdate(), crl->ThisUpdate());
  ChainOptions with_crl{.at_unix_seconds = crl->ThisUpdate() + 60, .crls = {*crl}};
  EXPECT_TRUE(VerifyChain(intel, {}, {intel}, with_crl).ok());
  // With revocation checking on, a CA whose CRL is missing fails closed.
  const Certificate nitro = Load("nitro/aws_nitro_enclaves_root_g1.pem");
  with_crl.at_unix_seconds = At("2026-11-25T00:00:00Z");
  EXPECT_FALSE(VerifyChain(nitro, {}, {nitro}, with_crl).ok());
  EXPECT_FALSE(Crl::FromDerOrPem(Bytes{0x30, 0x00}).ok());
}

TEST(CertificateTest, RejectsMalformedInput) {
  EXPECT_FALSE(Certificate::FromDer(Bytes{0x30, 0x82, 0xff, 0xff}).ok());
  EXPECT_FALSE(
      Certificate::FromPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").ok());
  EXPECT_FALSE(Certificate::FromPemBundle("no certificates here").ok());
  Bytes der = Load("intel/sgx_root_ca.pem").Der();
  der.push_back(0);
  EXPECT_FALSE(Certificate::FromDer(der).ok());  // trailing bytes
  EXPECT_EQ(*OidToString(Bytes{0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01, 0x04}),
            "1.3.6.1.4.1.3704.1.4");
}

}  // namespace
}  // namespace cloister::crypto
