// AMD SEV-SNP report parsing and verification (sev_snp.h). Offsets follow FORMATS.md section 1
// and the SEV-SNP Firmware ABI specification.
#include "cloister/tee/sev_snp.h"

#include <cstring>
#include <string>

#include "claims_util.h"
#include "cloister/base/clock.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/signature.h"
#include "cloister/tee/chain_cache.h"
#include "der.h"

namespace cloister::tee {
namespace {

// Azure's HCL report: header (0x20), a 2600-byte hardware report area (the SNP report fills the
// first 0x4A0), then the IGVM request data whose variable part REPORT_DATA binds.
constexpr size_t kHclHardwareReportSize = 2600;
constexpr size_t kHclRequestDataHeaderSize = 20;
constexpr size_t kSnpSignatureComponentsSize = 144;  // R and S, 72 bytes each
constexpr std::string_view kAmdOid = "1.3.6.1.4.1.3704.1.";

Status ParseHclRuntimeData(ByteSpan hcl, SnpReport* report) {
  const size_t offset = kHclHeaderSize + kHclHardwareReportSize;
  if (hcl.size() <= offset) return OkStatus();  // report only: no runtime data to bind
  ByteReader reader(hcl.subspan(offset), "HCL runtime data");
  ASSIGN_OR_RETURN(const uint32_t data_size, reader.U32Le("data_size"));
  ASSIGN_OR_RETURN(const uint32_t version, reader.U32Le("version"));
  ASSIGN_OR_RETURN(const uint32_t report_type, reader.U32Le("report_type"));
  ASSIGN_OR_RETURN(const uint32_t hash_type, reader.U32Le("hash_type"));
  ASSIGN_OR_RETURN(const uint32_t variable_size, reader.U32Le("variable_data_size"));
  ASSIGN_OR_RETURN(const ByteSpan variable, reader.Take(variable_size, "variable_data"));
  (void)version;
  if (report_type != 2) {
    return ParseError("HCL runtime data: report type ", report_type, ", expected 2 (SEV-SNP)");
  }
  if (data_size != kHclRequestDataHeaderSize + variable_size) {
    return ParseError("HCL runtime data: data_size ", data_size, " does not match variable size ",
                      variable_size, " + ", kHclRequestDataHeaderSize);
  }
  if (!IsAllZero(reader.Rest())) return ParseError("HCL report: non-zero bytes after runtime data");
  crypto::HashAlgorithm algorithm;
  switch (hash_type) {
    case 1:
      algorithm = crypto::HashAlgorithm::kSha256;
      break;
    case 2:
      algorithm = crypto::HashAlgorithm::kSha384;
      break;
    case 3:
      algorithm = crypto::HashAlgorithm::kSha512;
      break;
    default:
      return ParseError("HCL runtime data: unknown hash type ", hash_type);
  }
  const Bytes digest = crypto::Hash(algorithm, variable);
  if (!crypto::ConstantTimeEqual(digest, ByteSpan(report->report_data).first(digest.size()))) {
    return VerificationError(
        "HCL runtime data does not match REPORT_DATA: the report does not bind it");
  }
  report->hcl_runtime_data.assign(variable.begin(), variable.end());
  return OkStatus();
}

Result<Bytes> TakeBytes(ByteReader& reader, size_t size, std::string_view field) {
  ASSIGN_OR_RETURN(const ByteSpan span, reader.Take(size, field));
  return Bytes(span.begin(), span.end());
}

Status ParseReportBody(ByteSpan raw, SnpReport* r) {
  ByteReader reader(raw, "SEV-SNP report");
  ASSIGN_OR_RETURN(r->version, reader.U32Le("VERSION"));
  ASSIGN_OR_RETURN(r->guest_svn, reader.U32Le("GUEST_SVN"));
  ASSIGN_OR_RETURN(r->policy, reader.U64Le("POLICY"));
  ASSIGN_OR_RETURN(r->family_id, TakeBytes(reader, 16, "FAMILY_ID"));
  ASSIGN_OR_RETURN(r->image_id, TakeBytes(reader, 16, "IMAGE_ID"));
  ASSIGN_OR_RETURN(r->vmpl, reader.U32Le("VMPL"));
  ASSIGN_OR_RETURN(r->signature_algo, reader.U32Le("SIGNATURE_ALGO"));
  ASSIGN_OR_RETURN(r->current_tcb, reader.U64Le("CURRENT_TCB"));
  ASSIGN_OR_RETURN(r->platform_info, reader.U64Le("PLATFORM_INFO"));
  ASSIGN_OR_RETURN(r->flags, reader.U32Le("flags"));
  RETURN_IF_ERROR(reader.Skip(4, "reserved 0x4C"));
  ASSIGN_OR_RETURN(r->report_data, TakeBytes(reader, 64, "REPORT_DATA"));
  ASSIGN_OR_RETURN(r->measurement, TakeBytes(reader, 48, "MEASUREMENT"));
  ASSIGN_OR_RETURN(r->host_data, TakeBytes(reader, 32, "HOST_DATA"));
  ASSIGN_OR_RETURN(r->id_key_digest, TakeBytes(reader, 48, "ID_KEY_DIGEST"));
  ASSIGN_OR_RETURN(r->author_key_digest, TakeBytes(reader, 48, "AUTHOR_KEY_DIGEST"));
  ASSIGN_OR_RETURN(r->report_id, TakeBytes(reader, 32, "REPORT_ID"));
  ASSIGN_OR_RETURN(r->report_id_ma, TakeBytes(reader, 32, "REPORT_ID_MA"));
  ASSIGN_OR_RETURN(r->reported_tcb, reader.U64Le("REPORTED_TCB"));
  ASSIGN_OR_RETURN(r->cpuid_family, reader.U8("CPUID_FAM_ID"));
  ASSIGN_OR_RETURN(r->cpuid_model, reader.U8("CPUID_MOD_ID"));
  ASSIGN_OR_RETURN(r->cpuid_stepping, reader.U8("CPUID_STEP"));
  RETURN_IF_ERROR(reader.Skip(0x1A0 - 0x18B, "reserved 0x18B"));
  ASSIGN_OR_RETURN(r->chip_id, TakeBytes(reader, 64, "CHIP_ID"));
  ASSIGN_OR_RETURN(r->committed_tcb, reader.U64Le("COMMITTED_TCB"));
  ASSIGN_OR_RETURN(r->current_build, reader.U8("CURRENT_BUILD"));
  ASSIGN_OR_RETURN(r->current_minor, reader.U8("CURRENT_MINOR"));
  ASSIGN_OR_RETURN(r->current_major, reader.U8("CURRENT_MAJOR"));
  RETURN_IF_ERROR(reader.Skip(1, "reserved 0x1EB"));
  ASSIGN_OR_RETURN(r->committed_build, reader.U8("COMMITTED_BUILD"));
  ASSIGN_OR_RETURN(r->committed_minor, reader.U8("COMMITTED_MINOR"));
  ASSIGN_OR_RETURN(r->committed_major, reader.U8("COMMITTED_MAJOR"));
  RETURN_IF_ERROR(reader.Skip(1, "reserved 0x1EF"));
  ASSIGN_OR_RETURN(r->launch_tcb, reader.U64Le("LAUNCH_TCB"));
  ASSIGN_OR_RETURN(r->launch_mit_vector, reader.U64Le("LAUNCH_MIT_VECTOR"));
  ASSIGN_OR_RETURN(r->current_mit_vector, reader.U64Le("CURRENT_MIT_VECTOR"));
  r->signed_bytes.assign(raw.begin(), raw.begin() + kSnpSignedSize);
  r->signature.assign(raw.begin() + kSnpSignedSize, raw.end());
  return OkStatus();
}

Status CheckReportLayout(const SnpReport& r) {
  if (r.version < 2 || r.version > 5) {
    return UnsupportedError("SEV-SNP report version ", r.version, " (supported: 2 to 5)");
  }
  if (r.signature_algo != 1) {
    return UnsupportedError("SEV-SNP signature algorithm ", r.signature_algo,
                            " (supported: 1, ECDSA P-384 with SHA-384)");
  }
  if (r.signing_key() > 1) {
    return VerificationError("SEV-SNP report SIGNING_KEY is ", r.signing_key(),
                             ": the report is not signed by a VCEK (0) or VLEK (1)");
  }
  // Only R and S are defined; any other bit in the signature area would be unauthenticated.
  if (!IsAllZero(ByteSpan(r.signature).subspan(kSnpSignatureComponentsSize))) {
    return VerificationError("SEV-SNP signature area has non-zero bytes after R and S");
  }
  return OkStatus();
}

}  // namespace

SnpTcb DecodeSnpTcb(uint64_t raw, AmdProduct product) {
  auto byte = [raw](int index) { return static_cast<uint8_t>(raw >> (8 * index)); };
  SnpTcb tcb;
  if (product == AmdProduct::kTurin) {
    tcb.fmc = byte(0);
    tcb.bootloader = byte(1);
    tcb.tee = byte(2);
    tcb.snp = byte(3);
  } else {
    tcb.bootloader = byte(0);
    tcb.tee = byte(1);
    tcb.snp = byte(6);
  }
  tcb.microcode = byte(7);
  return tcb;
}

std::optional<AmdProduct> SnpReport::CpuidProduct() const {
  if (version < 3) return std::nullopt;
  if (cpuid_family == 0x19) {
    if (cpuid_model < 0x10) return AmdProduct::kMilan;
    if (cpuid_model < 0x20 || (cpuid_model >= 0xA0 && cpuid_model < 0xB0)) {
      return AmdProduct::kGenoa;
    }
  }
  if (cpuid_family == 0x1A && cpuid_model < 0x20) return AmdProduct::kTurin;
  return std::nullopt;
}

Result<SnpReport> ParseSnpReport(ByteSpan raw) {
  SnpReport report;
  ByteSpan body = raw;
  if (raw.size() >= 4 && std::memcmp(raw.data(), "HCLA", 4) == 0) {
    if (raw.size() < kHclHeaderSize + kSnpReportSize) {
      return ParseError("HCL report of ", raw.size(), " bytes is too short for an SEV-SNP report");
    }
    body = raw.subspan(kHclHeaderSize, kSnpReportSize);
    const size_t area_end = std::min(raw.size(), kHclHeaderSize + kHclHardwareReportSize);
    if (!IsAllZero(raw.subspan(kHclHeaderSize + kSnpReportSize,
                               area_end - kHclHeaderSize - kSnpReportSize))) {
      return ParseError("HCL report: non-zero bytes after the SEV-SNP report");
    }
    report.hcl_wrapped = true;
  } else if (raw.size() != kSnpReportSize) {
    return ParseError("SEV-SNP report is ", raw.size(), " bytes, expected ", kSnpReportSize);
  }
  RETURN_IF_ERROR(ParseReportBody(body, &report));
  RETURN_IF_ERROR(CheckReportLayout(report));
  if (report.hcl_wrapped) RETURN_IF_ERROR(ParseHclRuntimeData(raw, &report));
  return report;
}

namespace {

struct Endorsement {
  crypto::Certificate leaf;
  std::vector<crypto::Certificate> supplied_cas;
};

Result<Endorsement> SplitEndorsements(const Evidence& evidence) {
  std::optional<crypto::Certificate> leaf;
  std::vector<crypto::Certificate> cas;
  for (const Bytes& data : evidence.endorsements) {
    Result<std::vector<crypto::Certificate>> bundle =
        data.size() > 10 && std::memcmp(data.data(), "-----BEGIN", 10) == 0
            ? crypto::Certificate::FromPemBundle(AsString(data))
            : Result<std::vector<crypto::Certificate>>(std::vector<crypto::Certificate>{});
    if (bundle.ok() && bundle->empty()) {
      ASSIGN_OR_RETURN(crypto::Certificate certificate, crypto::Certificate::FromDer(data));
      bundle->push_back(std::move(certificate));
    }
    if (!bundle.ok()) return std::move(bundle).error().WithContext("SEV-SNP endorsement");
    for (crypto::Certificate& certificate : *bundle) {
      if (certificate.IsCa()) {
        cas.push_back(std::move(certificate));
      } else if (leaf) {
        return InvalidArgumentError("SEV-SNP evidence has two leaf certificates ('",
                                    leaf->Subject(), "' and '", certificate.Subject(), "')");
      } else {
        leaf = std::move(certificate);
      }
    }
  }
  if (!leaf) {
    return VerificationError(
        "SEV-SNP evidence has no VCEK or VLEK certificate (pass it as an endorsement)");
  }
  return Endorsement{std::move(*leaf), std::move(cas)};
}

std::string ExtensionOid(std::string_view suffix) {
  return std::string(kAmdOid) + std::string(suffix);
}

Result<AmdProduct> CertificateProduct(const crypto::Certificate& leaf) {
  const std::optional<Bytes> name = leaf.Extension(ExtensionOid("2"));
  if (!name) return VerificationError("certificate '", leaf.Subject(), "' has no productName");
  ASSIGN_OR_RETURN(const ByteSpan text, der::Expect(*name, der::kIa5String, "productName"));
  return ParseAmdProduct(AsString(text));
}

Result<uint64_t> SplExtension(const crypto::Certificate& leaf, std::string_view suffix,
                              std::string_view name) {
  const std::optional<Bytes> value = leaf.Extension(ExtensionOid(suffix));
  if (!value) return VerificationError("certificate has no ", name, " extension");
  ASSIGN_OR_RETURN(const ByteSpan integer, der::Expect(*value, der::kInteger, name));
  return der::Unsigned(integer, name);
}

// The certificate's SPL extensions must equal REPORTED_TCB: a VCEK is issued for one TCB.
Status CheckTcbExtensions(const crypto::Certificate& leaf, const SnpReport& report,
                          AmdProduct product) {
  const SnpTcb tcb = DecodeSnpTcb(report.reported_tcb, product);
  struct Spl {
    std::string_view suffix;
    std::string_view name;
    uint8_t reported;
  };
  const Spl spls[] = {{"3.1", "blSPL", tcb.bootloader},
                      {"3.2", "teeSPL", tcb.tee},
                      {"3.3", "snpSPL", tcb.snp},
                      {"3.8", "ucodeSPL", tcb.microcode},
                      {"3.9", "fmcSPL", tcb.fmc}};
  for (const Spl& spl : spls) {
    if (spl.name == "fmcSPL" && product != AmdProduct::kTurin) continue;
    ASSIGN_OR_RETURN(const uint64_t certified, SplExtension(leaf, spl.suffix, spl.name));
    if (certified != spl.reported) {
      return VerificationError("certificate ", spl.name, " is ", certified,
                               " but the report's REPORTED_TCB says ", spl.reported,
                               ": the endorsement is for another TCB");
    }
  }
  return OkStatus();
}

Status CheckHwId(const crypto::Certificate& leaf, const SnpReport& report, AmdProduct product) {
  const std::optional<Bytes> extension = leaf.Extension(ExtensionOid("4"));
  if (!extension) return VerificationError("VCEK has no hwID extension");
  ByteSpan hwid = *extension;
  // Some issuers wrap the id in an OCTET STRING; AMD KDS puts the raw bytes in extnValue.
  if (hwid.size() >= 2 && hwid[0] == der::kOctetString && hwid[1] == hwid.size() - 2) {
    hwid = hwid.subspan(2);
  }
  const size_t expected = product == AmdProduct::kTurin ? 8 : 64;
  if (hwid.size() != expected) {
    return VerificationError("VCEK hwID is ", hwid.size(), " bytes, expected ", expected);
  }
  const ByteSpan chip_id(report.chip_id);
  if (!crypto::ConstantTimeEqual(hwid, chip_id.first(expected)) ||
      !IsAllZero(chip_id.subspan(expected))) {
    return VerificationError("VCEK hwID ", ToHex(hwid), " does not match the report's CHIP_ID ",
                             ToHex(chip_id), ": the VCEK belongs to another chip");
  }
  return OkStatus();
}

// Certificates that came with the evidence are compared with the pinned ones, never trusted.
Status CheckSuppliedCas(const std::vector<crypto::Certificate>& supplied, const AmdChain& pinned,
                        AmdProduct product) {
  for (const crypto::Certificate& certificate : supplied) {
    if (certificate == pinned.ark || certificate == pinned.ask || certificate == pinned.asvk) {
      continue;
    }
    return VerificationError(
        "certificate '", certificate.Subject(),
        "' in the evidence is not AMD's pinned ARK/ASK/ASVK for ", AmdProductName(product),
        certificate.IsSelfIssued() ? " (a root inside evidence is never trusted)" : "");
  }
  return OkStatus();
}

Result<AmdProduct> ResolveProduct(const SnpReport& report, const crypto::Certificate& leaf) {
  ASSIGN_OR_RETURN(const AmdProduct certified, CertificateProduct(leaf));
  const std::optional<AmdProduct> cpuid = report.CpuidProduct();
  if (cpuid && *cpuid != certified) {
    return VerificationError("report CPUID says ", AmdProductName(*cpuid), " but certificate '",
                             leaf.Subject(), "' is for ", AmdProductName(certified));
  }
  return certified;
}

void FillClaims(const SnpReport& r, AmdProduct product, Claims* claims) {
  claims->platform = Platform::kSevSnp;
  claims->measurement = r.measurement;
  claims->report_data = r.report_data;
  claims->debug = r.debug_allowed();
  claims->product = std::string(AmdProductName(product));
  if (!IsAllZero(r.chip_id)) claims->chip_id = r.chip_id;
  claims->host_data = r.host_data;
  claims->signer_id = r.author_key_digest;
  claims->signing_key = r.signing_key() == 0 ? "VCEK" : "VLEK";
  const SnpTcb tcb = DecodeSnpTcb(r.reported_tcb, product);
  AddSvn(claims, "bootloader", tcb.bootloader);
  AddSvn(claims, "tee", tcb.tee);
  AddSvn(claims, "snp", tcb.snp);
  AddSvn(claims, "microcode", tcb.microcode);
  if (product == AmdProduct::kTurin) AddSvn(claims, "fmc", tcb.fmc);
  AddSvn(claims, "guest_svn", r.guest_svn);
  AddSvn(claims, "vmpl", r.vmpl);
  auto tcb_hex = [](uint64_t raw) {
    Bytes bytes;
    ByteWriter(&bytes).U64Le(raw);
    return ToHex(bytes);
  };
  AddNumber(claims, "report_version", r.version);
  AddNumber(claims, "guest_svn", r.guest_svn);
  AddField(claims, "policy", HexNumber(r.policy));
  AddField(claims, "family_id", r.family_id);
  AddField(claims, "image_id", r.image_id);
  AddNumber(claims, "vmpl", r.vmpl);
  AddNumber(claims, "signature_algo", r.signature_algo);
  AddField(claims, "current_tcb", tcb_hex(r.current_tcb));
  AddField(claims, "platform_info", HexNumber(r.platform_info));
  AddNumber(claims, "author_key_en", r.flags & 1);
  AddNumber(claims, "mask_chip_key", r.mask_chip_key() ? 1 : 0);
  AddField(claims, "signing_key", claims->signing_key);
  AddField(claims, "report_data", r.report_data);
  AddField(claims, "measurement", r.measurement);
  AddField(claims, "host_data", r.host_data);
  AddField(claims, "id_key_digest", r.id_key_digest);
  AddField(claims, "author_key_digest", r.author_key_digest);
  AddField(claims, "report_id", r.report_id);
  AddField(claims, "report_id_ma", r.report_id_ma);
  AddField(claims, "reported_tcb", tcb_hex(r.reported_tcb));
  AddField(claims, "cpuid_fam_mod_step_hex",
           ToHex(Bytes{r.cpuid_family, r.cpuid_model, r.cpuid_stepping}));
  AddField(claims, "chip_id", r.chip_id);
  AddField(claims, "committed_tcb", tcb_hex(r.committed_tcb));
  AddField(claims, "current_firmware",
           std::to_string(r.current_major) + "." + std::to_string(r.current_minor) + "." +
               std::to_string(r.current_build));
  AddField(claims, "committed_firmware",
           std::to_string(r.committed_major) + "." + std::to_string(r.committed_minor) + "." +
               std::to_string(r.committed_build));
  AddField(claims, "launch_tcb", tcb_hex(r.launch_tcb));
  AddField(claims, "launch_mit_vector", HexNumber(r.launch_mit_vector));
  AddField(claims, "current_mit_vector", HexNumber(r.current_mit_vector));
  if (r.hcl_wrapped) AddField(claims, "hcl_runtime_data", r.hcl_runtime_data);
}

}  // namespace

Result<Claims> SevSnpVerifier::Verify(const Evidence& evidence,
                                      const VerifyOptions& options) const {
  if (!options.at_unix_seconds) {
    return InvalidArgumentError("SEV-SNP verification needs a validation time");
  }
  ASSIGN_OR_RETURN(const SnpReport report, ParseSnpReport(evidence.raw));
  ASSIGN_OR_RETURN(const Endorsement endorsement, SplitEndorsements(evidence));
  const crypto::Certificate& leaf = endorsement.leaf;
  ASSIGN_OR_RETURN(const AmdProduct product, ResolveProduct(report, leaf));
  const AmdChain& pinned = PinnedAmdChain(product);
  RETURN_IF_ERROR(CheckSuppliedCas(endorsement.supplied_cas, pinned, product));
  const bool vlek = report.signing_key() == 1;
  const crypto::Certificate& issuer = vlek ? pinned.asvk : pinned.ask;
  ASSIGN_OR_RETURN(const VerifiedChain chain,
                   VerifyLeafChain(leaf, {issuer}, pinned.ark, *options.at_unix_seconds, {},
                                   options.chain_cache));
  ASSIGN_OR_RETURN(const crypto::PublicKey key, leaf.SubjectPublicKey());
  if (key.type() != crypto::KeyType::kP384) {
    return VerificationError("certificate '", leaf.Subject(), "' key is ",
                             crypto::KeyTypeName(key.type()), ", expected P-384");
  }
  const Status signature =
      crypto::Verify(key, crypto::HashAlgorithm::kSha384, report.signed_bytes,
                     ByteSpan(report.signature).first(kSnpSignatureComponentsSize),
                     crypto::SignatureFormat::kRawLittleEndian);
  if (!signature.ok()) {
    return VerificationError("SEV-SNP report signature does not verify under ",
                             vlek ? "VLEK" : "VCEK", " '", leaf.Subject(),
                             "': ", signature.error().message);
  }
  RETURN_IF_ERROR(CheckTcbExtensions(leaf, report, product));
  if (!vlek && !report.mask_chip_key()) RETURN_IF_ERROR(CheckHwId(leaf, report, product));

  Claims claims;
  FillClaims(report, product, &claims);
  claims.root_fingerprint = chain.root_fingerprint;
  claims.endorsement_not_after = chain.not_after;
  claims.endorsement_expiring_subject = chain.expiring_subject;
  return claims;
}

}  // namespace cloister::tee
