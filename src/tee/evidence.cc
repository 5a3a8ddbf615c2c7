// Platform names, platform detection from bytes, and dispatch to the per-platform verifiers.
#include "cloister/tee/evidence.h"

#include <cstdio>
#include <cstring>

#include "claims_util.h"
#include "cloister/tee/dcap.h"
#include "cloister/tee/nitro.h"
#include "cloister/tee/sev_snp.h"
#include "cloister/tee/virtual_tee.h"

namespace cloister::tee {

std::string HexNumber(uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof(buffer), "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

std::string_view PlatformName(Platform platform) {
  switch (platform) {
    case Platform::kVirtual:
      return "virtual";
    case Platform::kSevSnp:
      return "sev_snp";
    case Platform::kTdx:
      return "tdx";
    case Platform::kSgx:
      return "sgx";
    case Platform::kNitro:
      return "nitro";
  }
  return "unknown";
}

Result<Platform> ParsePlatform(std::string_view name) {
  if (name == "virtual") return Platform::kVirtual;
  if (name == "sev_snp" || name == "sev-snp" || name == "snp") return Platform::kSevSnp;
  if (name == "tdx") return Platform::kTdx;
  if (name == "sgx") return Platform::kSgx;
  if (name == "nitro") return Platform::kNitro;
  return InvalidArgumentError("unknown platform '", std::string(name),
                              "' (expected virtual, sev_snp, tdx, sgx or nitro)");
}

namespace {

uint32_t LoadU32Le(ByteSpan bytes, size_t offset) {
  return static_cast<uint32_t>(bytes[offset]) | static_cast<uint32_t>(bytes[offset + 1]) << 8 |
         static_cast<uint32_t>(bytes[offset + 2]) << 16 |
         static_cast<uint32_t>(bytes[offset + 3]) << 24;
}

bool LooksLikeSnp(ByteSpan raw) {
  if (raw.size() != kSnpReportSize) return false;
  const uint32_t version = LoadU32Le(raw, 0);
  return version >= 2 && version <= 5 && LoadU32Le(raw, 0x34) == 1;
}

}  // namespace

Result<Platform> DetectPlatform(ByteSpan raw) {
  if (raw.size() >= kVirtualMagic.size() &&
      std::memcmp(raw.data(), kVirtualMagic.data(), kVirtualMagic.size()) == 0) {
    return Platform::kVirtual;
  }
  if (raw.size() >= kHclHeaderSize + kSnpReportSize && std::memcmp(raw.data(), "HCLA", 4) == 0) {
    return Platform::kSevSnp;
  }
  if (LooksLikeSnp(raw)) return Platform::kSevSnp;
  if (raw.size() >= 48) {
    const uint16_t version = static_cast<uint16_t>(raw[0] | raw[1] << 8);
    const uint32_t tee_type = LoadU32Le(raw, 4);
    if (version == 3 && tee_type == 0) return Platform::kSgx;
    if ((version == 4 || version == 5) && tee_type == kDcapTeeTypeTdx) return Platform::kTdx;
    if (version == 4 && tee_type == 0) return Platform::kSgx;
  }
  // COSE_Sign1: an array of four (0x84), optionally under tag 18 (0xD2).
  if (!raw.empty() && (raw[0] == 0x84 || (raw.size() > 1 && raw[0] == 0xD2 && raw[1] == 0x84))) {
    return Platform::kNitro;
  }
  return ParseError("evidence of ", raw.size(),
                    " bytes is not a recognised format (SEV-SNP report, DCAP quote, Nitro "
                    "COSE_Sign1 document, or Cloister virtual evidence)");
}

std::optional<uint64_t> Claims::SecurityVersion(std::string_view name) const {
  for (const auto& [key, value] : security_versions) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::optional<std::string> Claims::RawField(std::string_view name) const {
  for (const auto& [key, value] : raw_fields) {
    if (key == name) return value;
  }
  return std::nullopt;
}

Result<Claims> VerifyEvidence(const Evidence& evidence, const VerifyOptions& options) {
  ASSIGN_OR_RETURN(const Platform detected, DetectPlatform(evidence.raw));
  if (detected != evidence.platform) {
    return VerificationError("evidence is labelled ", PlatformName(evidence.platform),
                             " but its bytes are ", PlatformName(detected));
  }
  switch (evidence.platform) {
    case Platform::kVirtual:
      return VirtualVerifier().Verify(evidence, options);
    case Platform::kSevSnp:
      return SevSnpVerifier().Verify(evidence, options);
    case Platform::kTdx:
    case Platform::kSgx:
      return DcapVerifier().Verify(evidence, options);
    case Platform::kNitro:
      return NitroVerifier().Verify(evidence, options);
  }
  return InternalError("unhandled platform");
}

}  // namespace cloister::tee
