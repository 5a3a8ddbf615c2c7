// Intel DCAP quotes: SGX (quote v3) and TDX (quote v4 and v5), their PCK certificate chain, and
// optional collateral (TCB info, QE identity, CRLs). Layouts: FORMATS.md sections 2 and 3, from
// Intel's "SGX ECDSA Quote Library API" and "TDX DCAP Quoting Library API".
//
// Trust runs: pinned Intel SGX Root CA -> PCK Platform/Processor CA -> PCK leaf -> QE report
// (signed by the PCK key) -> QE REPORTDATA = SHA-256(attestation key || QE auth data) -> quote
// signature by the attestation key over header and body. Collateral is signed by the Intel SGX
// TCB Signing key, which chains to the same pinned root.
//
// Parsing is strict inside structures (every length must match exactly) but tolerates bytes after
// the signature data, which are neither signed nor read: real quotes carry zero padding (0 to 3065
// bytes), and one upstream test file a text note. They are bounded (64 KiB) and counted.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/x509.h"
#include "cloister/tee/evidence.h"

namespace cloister::tee {

inline constexpr uint32_t kDcapTeeTypeTdx = 0x81;
inline constexpr size_t kSgxReportBodySize = 384;
inline constexpr size_t kTdReportBody10Size = 584;
inline constexpr size_t kTdReportBody15Size = 648;

// An SGX enclave report body (the ISV enclave's, or the Quoting Enclave's).
struct SgxReportBody {
  Bytes cpu_svn;  // 16
  uint32_t misc_select = 0;
  Bytes isv_ext_prod_id;  // 16
  Bytes attributes;       // 16: flags u64, xfrm u64
  Bytes mr_enclave;       // 32
  Bytes mr_signer;        // 32
  Bytes config_id;        // 64
  uint16_t isv_prod_id = 0;
  uint16_t isv_svn = 0;
  uint16_t config_svn = 0;
  Bytes isv_family_id;  // 16
  Bytes report_data;    // 64
  [[nodiscard]] bool debug() const { return (attributes[0] >> 1) & 1; }
};
Result<SgxReportBody> ParseSgxReportBody(ByteSpan body);

// A TD report body, TDX 1.0 (584 bytes) or 1.5 (648 bytes).
struct TdReportBody {
  Bytes tee_tcb_svn;  // 16
  Bytes mr_seam;      // 48
  Bytes mr_signer_seam;
  Bytes seam_attributes;  // 8
  Bytes td_attributes;    // 8
  Bytes xfam;             // 8
  Bytes mr_td;            // 48
  Bytes mr_config_id;
  Bytes mr_owner;
  Bytes mr_owner_config;
  std::array<Bytes, 4> rtmr;
  Bytes report_data;    // 64
  Bytes tee_tcb_svn2;   // 16, TDX 1.5 only
  Bytes mr_service_td;  // 48, TDX 1.5 only
  [[nodiscard]] bool debug() const { return td_attributes[0] & 1; }
};
Result<TdReportBody> ParseTdReportBody(ByteSpan body);

struct DcapQuote {
  uint16_t version = 0;
  uint16_t attestation_key_type = 0;
  uint32_t tee_type = 0;
  uint16_t qe_svn = 0;   // v3 header only
  uint16_t pce_svn = 0;  // v3 header only
  Bytes qe_vendor_id;
  Bytes user_data;
  uint16_t body_type = 0;  // v5 only: 1 SGX, 2 TD 1.0, 3 TD 1.5
  std::optional<SgxReportBody> sgx;
  std::optional<TdReportBody> td;
  Bytes signed_bytes;     // header and body: what the attestation key signs
  Bytes signature;        // 64, r||s big-endian
  Bytes attestation_key;  // 64, P-256 x||y
  Bytes qe_report;        // 384, signed by the PCK key
  SgxReportBody qe_report_body;
  Bytes qe_report_signature;  // 64
  Bytes qe_auth_data;
  std::string pck_chain_pem;  // leaf, intermediate CA, root
  size_t trailing_bytes = 0;  // zero padding after the signature data

  [[nodiscard]] bool is_tdx() const { return td.has_value(); }
};

// Parses a v3, v4 or v5 quote with ECDSA-256 attestation keys and Intel's QE. Layout only.
Result<DcapQuote> ParseDcapQuote(ByteSpan raw);

// The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1).
struct PckExtension {
  Bytes ppid;
  std::array<uint8_t, 16> tcb_components{};
  uint16_t pce_svn = 0;
  Bytes cpu_svn;
  Bytes pce_id;
  Bytes fmspc;
};
Result<PckExtension> ParsePckExtension(const crypto::Certificate& pck);

// Signed collateral, already checked against the Intel SGX TCB Signing key.
struct DcapCollateral {
  std::optional<std::string> tcb_info_json;     // the signed inner object, verbatim
  std::optional<std::string> qe_identity_json;  // idem
  std::vector<crypto::Crl> crls;
};
// Reads collateral items: Intel PCS bodies ({"tcbInfo"|"enclaveIdentity": ..., "signature"}),
// dcap-qvl bundles, CRLs (DER or PEM). Signatures of JSON collateral are verified here: under the
// issuer chain that came with it or, when none did, under the known Intel SGX TCB Signing
// certificate; the signer must be signed by the pinned Intel SGX Root CA.
Result<DcapCollateral> ReadDcapCollateral(const std::vector<Bytes>& items);

// The outcome of matching a PCK TCB (and a TD's TEE_TCB_SVN) against tcbInfo.
struct TcbEvaluation {
  std::string status;  // "UpToDate", "OutOfDate", ..., or "NotSupported" when no level matches
  std::string tcb_date;
  std::vector<std::string> advisory_ids;
  std::string tdx_module_status;  // empty when not applicable
  int64_t next_update = 0;
};
Result<TcbEvaluation> EvaluateTcb(const std::string& tcb_info_json, const PckExtension& pck,
                                  const DcapQuote& quote);

class DcapVerifier final : public Verifier {
 public:
  [[nodiscard]] Result<Claims> Verify(const Evidence& evidence,
                                      const VerifyOptions& options) const override;
};

}  // namespace cloister::tee
