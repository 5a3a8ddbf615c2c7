// Proves that verification fails for tampered evidence generated here from every genuine manifest
// item (one flipped bit in the body, the signature, and each certificate), and for the classic
// substitutions: a Milan VCEK with the Genoa chain, a report with another chip's VCEK, a product
// mismatch, and lookalike roots inside the evidence.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cloister/crypto/key.h"
#include "cloister/crypto/x509.h"
#include "cloister/tee/dcap.h"
#include "cloister/tee/evidence.h"
#include "cloister/tee/roots.h"
#include "cloister/tee/sev_snp.h"
#include "tee_test_util.h"

namespace cloister::tee {
namespace {

struct Tamper {
  std::string what;
  Evidence evidence;
};

// Flips one bit of the base64 text of the certificate that starts at `begin`, `back` characters
// before its END line, so the DER changes in exactly one bit.
Bytes FlipPemBit(Bytes data, size_t begin, size_t back) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string_view text = AsString(data);
  const size_t end = text.find("-----END", begin);
  size_t position = end;
  size_t seen = 0;
  while (position > begin) {
    --position;
    const char c = text[position];
    if (c == '\n' || c == '\r' || c == '=') continue;
    if (++seen == back) break;
  }
  const size_t index = kAlphabet.find(text[position]);
  EXPECT_NE(index, std::string_view::npos);
  data[position] = static_cast<uint8_t>(kAlphabet[index ^ 1]);
  return data;
}

std::vector<size_t> PemStarts(const Bytes& data) {
  std::vector<size_t> starts;
  const std::string_view text = AsString(data);
  for (size_t at = text.find("-----BEGIN CERTIFICATE"); at != std::string_view::npos;
       at = text.find("-----BEGIN CERTIFICATE", at + 1)) {
    starts.push_back(at);
  }
  return starts;
}

std::vector<Tamper> SnpTampers(const Evidence& genuine) {
  std::vector<Tamper> out;
  auto with_raw = [&](std::string what, Bytes raw) {
    Evidence evidence = genuine;
    evidence.raw = std::move(raw);
    out.push_back({std::move(what), std::move(evidence)});
  };
  with_raw("measurement bit", FlipBit(genuine.raw, 0x90));
  with_raw("report_data bit", FlipBit(genuine.raw, 0x50, 7));
  with_raw("debug policy bit", FlipBit(genuine.raw, 0x0A, 3));
  with_raw("reported TCB bit", FlipBit(genuine.raw, 0x180));
  with_raw("signature R bit", FlipBit(genuine.raw, kSnpSignedSize));
  with_raw("signature S bit", FlipBit(genuine.raw, kSnpSignedSize + 72 + 5));
  with_raw("signature reserved bit", FlipBit(genuine.raw, kSnpSignedSize + 300));
  const crypto::Certificate vcek =
      crypto::Certificate::FromDerOrPem(genuine.endorsements[0]).value();
  const Bytes der = vcek.Der();
  for (size_t offset : {der.size() / 3, der.size() / 2, der.size() - 10}) {
    Evidence evidence = genuine;
    evidence.endorsements = {FlipBit(der, offset)};
    out.push_back({"VCEK/VLEK bit at " + std::to_string(offset), std::move(evidence)});
  }
  // The ASK/ARK are pinned; copies sent with the evidence are compared, so a flipped copy fails.
  const std::vector<Tamper> snapshot = out;
  for (const char* product : {"milan", "genoa", "turin"}) {
    for (const char* role : {"ask", "ark"}) {
      const Bytes pem = ReadVector(std::string("sev-snp/amd/") + role + "_" + product + ".pem");
      const Bytes flipped = crypto::Certificate::FromPem(AsString(pem)).value().Der();
      Evidence evidence = genuine;
      evidence.endorsements.push_back(FlipBit(flipped, flipped.size() - 20));
      out.push_back(
          {std::string("supplied ") + role + " " + product + " bit", std::move(evidence)});
    }
  }
  return out;
}

std::vector<Tamper> DcapTampers(const Evidence& genuine) {
  std::vector<Tamper> out;
  const DcapQuote quote = ParseDcapQuote(genuine.raw).value();
  const size_t body_end = quote.signed_bytes.size();
  const size_t signature_at = body_end + 4;
  const size_t qe_report_at = signature_at + 128 + (quote.version == 3 ? 0 : 6);
  auto with_raw = [&](std::string what, Bytes raw) {
    Evidence evidence = genuine;
    evidence.raw = std::move(raw);
    out.push_back({std::move(what), std::move(evidence)});
  };
  with_raw("header user data bit", FlipBit(genuine.raw, 30));
  with_raw("body first bit", FlipBit(genuine.raw, 48));
  with_raw("body report_data bit", FlipBit(genuine.raw, body_end - 1, 6));
  with_raw("quote signature bit", FlipBit(genuine.raw, signature_at + 3));
  with_raw("attestation key bit", FlipBit(genuine.raw, signature_at + 64 + 10));
  with_raw("QE report bit", FlipBit(genuine.raw, qe_report_at + 100));
  with_raw("QE report signature bit", FlipBit(genuine.raw, qe_report_at + 384 + 7));
  with_raw("QE auth data bit", FlipBit(genuine.raw, qe_report_at + 384 + 64 + 2 + 1));
  const std::vector<size_t> starts = PemStarts(genuine.raw);
  EXPECT_EQ(starts.size(), 3u);
  for (size_t i = 0; i < starts.size(); ++i) {
    for (size_t back : {8u, 200u}) {
      with_raw("certificate " + std::to_string(i) + " bit " + std::to_string(back),
               FlipPemBit(genuine.raw, starts[i], back));
    }
  }
  return out;
}

// Nitro: the payload (body and certificates) and the signature are located by searching for the
// certificates' DER inside the document, so every certificate gets its own flip.
std::vector<Tamper> NitroTampers(const Evidence& genuine) {
  std::vector<Tamper> out;
  auto with_raw = [&](std::string what, Bytes raw) {
    Evidence evidence = genuine;
    evidence.raw = std::move(raw);
    out.push_back({std::move(what), std::move(evidence)});
  };
  const Bytes& raw = genuine.raw;
  with_raw("protected header bit", FlipBit(raw, 3));
  with_raw("payload early bit", FlipBit(raw, 40));
  with_raw("signature last bit", FlipBit(raw, raw.size() - 1));
  with_raw("signature first bit", FlipBit(raw, raw.size() - 96));
  // Certificates are DER SEQUENCEs with two-byte lengths: 0x30 0x82 hi lo.
  int found = 0;
  for (size_t i = 0; i + 4 < raw.size() - 96 && found < 8; ++i) {
    if (raw[i] != 0x30 || raw[i + 1] != 0x82 || raw[i + 4] != 0x30 || raw[i + 5] != 0x82) continue;
    const size_t length = static_cast<size_t>(raw[i + 2]) << 8 | raw[i + 3];
    if (i + 4 + length > raw.size()) continue;
    with_raw("certificate at " + std::to_string(i), FlipBit(raw, i + 4 + length - 5));
    ++found;
    i += 4 + length - 1;
  }
  EXPECT_GE(found, 4) << "certificates found in the document";
  return out;
}

class TamperTest : public ::testing::TestWithParam<ManifestItem> {};

TEST_P(TamperTest, EveryOneBitChangeFailsVerification) {
  // Proves one flipped bit anywhere that is signed or chained makes the genuine item fail.
  const ManifestItem& item = GetParam();
  ASSERT_TRUE(VerifyEvidence(item.evidence, item.options).ok()) << item.path;
  std::vector<Tamper> tampers;
  switch (item.evidence.platform) {
    case Platform::kSevSnp:
      tampers = SnpTampers(item.evidence);
      break;
    case Platform::kTdx:
    case Platform::kSgx:
      tampers = DcapTampers(item.evidence);
      break;
    default:
      tampers = NitroTampers(item.evidence);
      break;
  }
  ASSERT_GE(tampers.size(), 8u);
  for (const Tamper& tamper : tampers) {
    const Result<Claims> claims = VerifyEvidence(tamper.evidence, item.options);
    EXPECT_FALSE(claims.ok()) << item.path << ": " << tamper.what << " was accepted";
  }
}

INSTANTIATE_TEST_SUITE_P(Manifest, TamperTest,
                         ::testing::ValuesIn(LoadManifestItems(/*genuine=*/true)),
                         [](const ::testing::TestParamInfo<ManifestItem>& param) {
                           std::string name = param.param.path;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

Evidence SnpEvidence(std::string_view report, std::vector<std::string_view> certificates) {
  Evidence evidence{.platform = Platform::kSevSnp, .raw = ReadVector(report)};
  for (std::string_view path : certificates) evidence.endorsements.push_back(ReadVector(path));
  return evidence;
}

const VerifyOptions kAtReview{.at_unix_seconds = At(kReviewTime)};

TEST(SnpSubstitutionTest, MilanVcekWithGenoaChainIsRejected) {
  // Proves a Milan VCEK presented with the Genoa ASK and ARK is refused, whatever anchors it.
  const Evidence evidence = SnpEvidence(
      "sev-snp/yaxi_milan_v3/report.bin",
      {"sev-snp/yaxi_milan_v3/vcek.pem", "sev-snp/amd/ask_genoa.pem", "sev-snp/amd/ark_genoa.pem"});
  const Result<Claims> claims = VerifyEvidence(evidence, kAtReview);
  ASSERT_FALSE(claims.ok());
  EXPECT_NE(claims.error().message.find("pinned"), std::string::npos) << claims.error().message;
  // And the same report with its own product's chain passes.
  EXPECT_TRUE(
      VerifyEvidence(SnpEvidence("sev-snp/yaxi_milan_v3/report.bin",
                                 {"sev-snp/yaxi_milan_v3/vcek.pem", "sev-snp/amd/ask_milan.pem",
                                  "sev-snp/amd/ark_milan.pem"}),
                     kAtReview)
          .ok());
}

TEST(SnpSubstitutionTest, ReportWithAnotherChipsVcekIsRejected) {
  // Proves a report paired with the VCEK of a different Milan chip fails.
  const Result<Claims> claims = VerifyEvidence(
      SnpEvidence("sev-snp/yaxi_milan_v3/report.bin", {"sev-snp/teekit_gcp_milan_v5/vcek.pem"}),
      kAtReview);
  ASSERT_FALSE(claims.ok());
  EXPECT_EQ(claims.error().code, ErrorCode::kVerification);
}

TEST(SnpSubstitutionTest, GenoaReportWithMilanVcekIsRejectedForProduct) {
  // Proves the CPUID product of a v3 report must match the VCEK's product.
  const Result<Claims> claims = VerifyEvidence(
      SnpEvidence("sev-snp/yaxi_genoa_v3/report.bin", {"sev-snp/yaxi_milan_v3/vcek.pem"}),
      kAtReview);
  ASSERT_FALSE(claims.ok());
  EXPECT_NE(claims.error().message.find("CPUID says Genoa"), std::string::npos)
      << claims.error().message;
}

TEST(SnpSubstitutionTest, LookalikeArkInsideEvidenceIsRejected) {
  // Proves a self-signed "ARK-Milan" that is not AMD's is refused, not used as a trust anchor.
  const crypto::PrivateKey key = crypto::PrivateKey::Generate(crypto::KeyType::kP384).value();
  const crypto::Certificate fake_ark =
      crypto::IssueCertificate({.common_name = "ARK-Milan",
                                .not_before = At("2020-01-01T00:00:00Z"),
                                .not_after = At("2040-01-01T00:00:00Z"),
                                .is_ca = true},
                               key.Public(), key, nullptr)
          .value();
  Evidence evidence =
      SnpEvidence("sev-snp/yaxi_milan_v3/report.bin", {"sev-snp/yaxi_milan_v3/vcek.pem"});
  evidence.endorsements.push_back(fake_ark.Der());
  const Result<Claims> claims = VerifyEvidence(evidence, kAtReview);
  ASSERT_FALSE(claims.ok());
  EXPECT_NE(claims.error().message.find("never trusted"), std::string::npos)
      << claims.error().message;
}

TEST(SnpSubstitutionTest, ExpiredVlekFailsAtTodayAndVerifiesWhenValid) {
  // Proves verification time is an input: the AWS VLEK chain verifies in January 2025 and is
  // refused as expired at the review date.
  const Evidence evidence = SnpEvidence("sev-snp/trustee_milan_v3_vlek_aws/report.bin",
                                        {"sev-snp/trustee_milan_v3_vlek_aws/vlek.der"});
  const Result<Claims> today = VerifyEvidence(evidence, kAtReview);
  ASSERT_FALSE(today.ok());
  EXPECT_NE(today.error().message.find("expired"), std::string::npos) << today.error().message;
  const Result<Claims> then =
      VerifyEvidence(evidence, {.at_unix_seconds = At("2025-01-15T00:00:00Z")});
  ASSERT_TRUE(then.ok()) << then.error().ToString();
  EXPECT_EQ(then->signing_key, "VLEK");
  EXPECT_EQ(then->endorsement_not_after, At("2025-12-10T22:14:21Z"));
}

TEST(SnpSubstitutionTest, VerificationWithoutTimeIsRefused) {
  // Proves the verifier never falls back to a clock of its own.
  const Result<Claims> claims = VerifyEvidence(
      SnpEvidence("sev-snp/yaxi_milan_v3/report.bin", {"sev-snp/yaxi_milan_v3/vcek.pem"}), {});
  ASSERT_FALSE(claims.ok());
  EXPECT_EQ(claims.error().code, ErrorCode::kInvalidArgument);
}

TEST(SnpHclTest, AzureHclWrappedReportVerifiesAndRuntimeDataMustBind) {
  // Proves an SNP report inside an Azure HCL report is accepted, and runtime data whose hash is
  // not in REPORT_DATA is refused.
  Evidence evidence = SnpEvidence("sev-snp/trustee_azure_milan_v2/report.bin",
                                  {"sev-snp/trustee_azure_milan_v2/vcek.pem"});
  const Bytes report = evidence.raw;
  Bytes hcl = ToBytes("HCLA");
  hcl.resize(kHclHeaderSize, 0);
  hcl.insert(hcl.end(), report.begin(), report.end());
  hcl.resize(kHclHeaderSize + 2600, 0);
  evidence.raw = hcl;
  ASSERT_EQ(DetectPlatform(evidence.raw).value(), Platform::kSevSnp);
  const Result<Claims> claims = VerifyEvidence(evidence, kAtReview);
  ASSERT_TRUE(claims.ok()) << claims.error().ToString();
  EXPECT_EQ(claims->measurement, ParseSnpReport(report)->measurement);

  const Bytes runtime = ToBytes(R"({"keys":[]})");
  ByteWriter writer(&hcl);
  writer.U32Le(static_cast<uint32_t>(20 + runtime.size()));
  writer.U32Le(1);
  writer.U32Le(2);  // SEV-SNP
  writer.U32Le(1);  // SHA-256
  writer.U32Le(static_cast<uint32_t>(runtime.size()));
  writer.Append(runtime);
  evidence.raw = hcl;
  const Result<Claims> unbound = VerifyEvidence(evidence, kAtReview);
  ASSERT_FALSE(unbound.ok());
  EXPECT_NE(unbound.error().message.find("HCL runtime data"), std::string::npos);
}

// Rebuilds a quote around a different PEM chain (lengths recomputed), keeping everything else.
Bytes WithPckChain(const DcapQuote& quote, std::string_view pem) {
  Bytes qe;
  ByteWriter qe_writer(&qe);
  qe_writer.Append(quote.qe_report);
  qe_writer.Append(quote.qe_report_signature);
  qe_writer.U16Le(static_cast<uint16_t>(quote.qe_auth_data.size()));
  qe_writer.Append(quote.qe_auth_data);
  qe_writer.U16Le(5);
  qe_writer.U32Le(static_cast<uint32_t>(pem.size()));
  qe_writer.Append(AsBytes(pem));
  Bytes signature_data = Concat(quote.signature, quote.attestation_key);
  ByteWriter signature_writer(&signature_data);
  if (quote.version != 3) {
    signature_writer.U16Le(6);
    signature_writer.U32Le(static_cast<uint32_t>(qe.size()));
  }
  signature_writer.Append(qe);
  Bytes out = quote.signed_bytes;
  ByteWriter writer(&out);
  writer.U32Le(static_cast<uint32_t>(signature_data.size()));
  writer.Append(signature_data);
  return out;
}

TEST(DcapSubstitutionTest, LookalikeIntelRootInQuoteIsRejected) {
  // Proves a PCK chain ending in a self-made "Intel SGX Root CA" is refused, while the same
  // quote rebuilt with its genuine chain still verifies (so only the root made the difference).
  Evidence evidence{.platform = Platform::kTdx, .raw = ReadVector("tdx/trustee_v4_azure.dat")};
  const DcapQuote quote = ParseDcapQuote(evidence.raw).value();
  std::vector<crypto::Certificate> chain =
      crypto::Certificate::FromPemBundle(quote.pck_chain_pem).value();
  evidence.raw = WithPckChain(quote, quote.pck_chain_pem);
  ASSERT_TRUE(VerifyEvidence(evidence, kAtReview).ok());

  const crypto::PrivateKey key = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  const crypto::Certificate fake_root =
      crypto::IssueCertificate({.common_name = "Intel SGX Root CA",
                                .not_before = At("2018-01-01T00:00:00Z"),
                                .not_after = At("2049-01-01T00:00:00Z"),
                                .is_ca = true},
                               key.Public(), key, nullptr)
          .value();
  chain.back() = fake_root;
  std::string pem;
  for (const crypto::Certificate& certificate : chain) pem += certificate.Pem();
  evidence.raw = WithPckChain(quote, pem);
  const Result<Claims> claims = VerifyEvidence(evidence, kAtReview);
  ASSERT_FALSE(claims.ok());
  EXPECT_NE(claims.error().message.find("not the pinned Intel SGX Root CA"), std::string::npos)
      << claims.error().message;
}

TEST(DcapSubstitutionTest, CollateralForAnotherPlatformIsRejected) {
  // Proves collateral must match the quote's FMSPC: TDX collateral for another FMSPC fails.
  Evidence evidence{
      .platform = Platform::kTdx,
      .raw = ReadVector("tdx/phala_v4.dat"),
      .collateral = {ReadVector("tdx/collateral/trustee_tcbinfo_tdx_00a06d080000.json")}};
  const Result<Claims> claims =
      VerifyEvidence(evidence, {.at_unix_seconds = At("2025-10-28T00:00:00Z")});
  ASSERT_FALSE(claims.ok());
  EXPECT_NE(claims.error().message.find("FMSPC"), std::string::npos) << claims.error().message;
}

TEST(DcapSubstitutionTest, TamperedCollateralSignatureIsRejected) {
  // Proves a one-character change inside signed tcbInfo breaks its signature check.
  Bytes tcb_info = ReadVector("tdx/collateral/trustee_tcbinfo_tdx_00a06d080000.json");
  const std::string_view text = AsString(tcb_info);
  const size_t at = text.find("UpToDate");
  ASSERT_NE(at, std::string_view::npos);
  tcb_info[at] = 'u';
  Evidence evidence{.platform = Platform::kTdx,
                    .raw = ReadVector("tdx/trustee_v4_emr.dat"),
                    .collateral = {tcb_info}};
  const Result<Claims> claims =
      VerifyEvidence(evidence, {.at_unix_seconds = At("2025-10-28T00:00:00Z")});
  ASSERT_FALSE(claims.ok());
  EXPECT_NE(claims.error().message.find("signature"), std::string::npos) << claims.error().message;
}

}  // namespace
}  // namespace cloister::tee
