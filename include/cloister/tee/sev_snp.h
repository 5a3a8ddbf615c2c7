// AMD SEV-SNP attestation reports (SEV-SNP Firmware ABI, pub. 56860) and their verification
// against AMD's key hierarchy (VCEK/VLEK spec, pub. 57230).
//
// A report is 0x4A0 bytes; bytes 0..0x29F are signed with ECDSA P-384/SHA-384 by the VCEK (a
// per-chip, per-TCB key) or the VLEK (a per-cloud key), whose certificate chains VCEK <- ASK <- ARK
// or VLEK <- ASVK <- ARK, RSA-PSS all the way, to the product's pinned ARK. Azure confidential VMs
// wrap the report in an HCL report ("HCLA" header, report at offset 0x20, then runtime data whose
// hash is bound into REPORT_DATA[0:32]); both forms are accepted.
//
// What the verifier checks, in order (each failure is a precise kVerification/kParse error):
//  1. Layout: size, version 2..5, signature algorithm 1, signing key VCEK or VLEK, zero reserved
//     signature bytes.
//  2. The product: from CPUID family/model (version >= 3) and the certificate's productName; they
//     must agree, and select the pinned ARK.
//  3. Any CA certificate that came with the evidence must equal the pinned ASK/ASVK/ARK of that
//     product (a lookalike root is refused, never used).
//  4. Chain: VCEK <- pinned ASK (or VLEK <- pinned ASVK) <- pinned ARK, at the given time.
//  5. The report signature under the certificate's P-384 key.
//  6. The certificate's TCB extensions equal REPORTED_TCB; for a VCEK, hwID equals CHIP_ID (8
//     bytes plus zeros on Turin) unless MASK_CHIP_KEY hides the chip id.
#pragma once

#include <cstdint>
#include <optional>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/tee/evidence.h"
#include "cloister/tee/roots.h"

namespace cloister::tee {

inline constexpr size_t kSnpReportSize = 0x4A0;
inline constexpr size_t kSnpSignedSize = 0x2A0;
inline constexpr size_t kHclHeaderSize = 0x20;

// TCB_VERSION decoded for a product (Turin moved the fields and added FMC).
struct SnpTcb {
  uint8_t fmc = 0;  // Turin only
  uint8_t bootloader = 0;
  uint8_t tee = 0;
  uint8_t snp = 0;
  uint8_t microcode = 0;
};
SnpTcb DecodeSnpTcb(uint64_t raw, AmdProduct product);

struct SnpReport {
  uint32_t version = 0;
  uint32_t guest_svn = 0;
  uint64_t policy = 0;
  Bytes family_id;
  Bytes image_id;
  uint32_t vmpl = 0;
  uint32_t signature_algo = 0;
  uint64_t current_tcb = 0;
  uint64_t platform_info = 0;
  uint32_t flags = 0;
  Bytes report_data;
  Bytes measurement;
  Bytes host_data;
  Bytes id_key_digest;
  Bytes author_key_digest;
  Bytes report_id;
  Bytes report_id_ma;
  uint64_t reported_tcb = 0;
  uint8_t cpuid_family = 0;
  uint8_t cpuid_model = 0;
  uint8_t cpuid_stepping = 0;
  Bytes chip_id;
  uint64_t committed_tcb = 0;
  uint8_t current_build = 0, current_minor = 0, current_major = 0;
  uint8_t committed_build = 0, committed_minor = 0, committed_major = 0;
  uint64_t launch_tcb = 0;
  uint64_t launch_mit_vector = 0;
  uint64_t current_mit_vector = 0;
  Bytes signed_bytes;  // bytes 0..0x29F
  Bytes signature;     // 0x200 bytes: R (72, little-endian), S (72), zeros
  // Azure HCL wrapping: true when the report came inside an HCL report.
  bool hcl_wrapped = false;
  Bytes hcl_runtime_data;  // the variable data whose hash REPORT_DATA[0:32] binds

  [[nodiscard]] bool debug_allowed() const { return (policy >> 19) & 1; }
  [[nodiscard]] bool mask_chip_key() const { return (flags >> 1) & 1; }
  // 0 VCEK, 1 VLEK, 7 none.
  [[nodiscard]] uint32_t signing_key() const { return (flags >> 2) & 7; }
  // The product named by CPUID family/model (version >= 3 only).
  [[nodiscard]] std::optional<AmdProduct> CpuidProduct() const;
};

// Parses a bare report (exactly 0x4A0 bytes) or an Azure HCL report. Checks layout only.
Result<SnpReport> ParseSnpReport(ByteSpan raw);

class SevSnpVerifier final : public Verifier {
 public:
  [[nodiscard]] Result<Claims> Verify(const Evidence& evidence,
                                      const VerifyOptions& options) const override;
};

}  // namespace cloister::tee
