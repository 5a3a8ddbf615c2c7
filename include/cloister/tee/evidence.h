// Evidence, Claims and the Verifier interface: one shape over every TEE Cloister supports.
//
// An Attester (attester.h) turns a caller's report_data into Evidence: the platform's signed
// bytes (an AMD SEV-SNP report, an Intel DCAP quote, an AWS Nitro COSE_Sign1 document, or a
// simulated `virtual` report) plus what is needed to check them (endorsement certificates such as
// a VCEK, optional collateral such as Intel TCB info). A Verifier turns Evidence into Claims or a
// precise error. A Policy (policy.h) then decides whether the genuine Claims are acceptable.
//
// Invariants every verifier keeps:
//  1. Trust comes only from vendor roots compiled into this layer (roots.h). A root that arrives
//     inside evidence is compared with the pinned one and never trusted for itself.
//  2. Signatures and chains are checked before any claim is read, so a flipped debug bit fails
//     verification instead of reaching a policy.
//  3. Time is an input (VerifyOptions::at_unix_seconds); no verifier reads a clock.
//  4. Genuineness and policy are separate: a genuine debug enclave verifies (Claims::debug is set)
//     and is refused by the policy, with that reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::tee {

enum class Platform { kVirtual, kSevSnp, kTdx, kSgx, kNitro };

// Stable lower-case names used in files, JSON and policies: "virtual", "sev_snp", "tdx", "sgx",
// "nitro".
std::string_view PlatformName(Platform platform);
// Accepts the stable names (and "sev-snp", "snp" as aliases for sev_snp).
Result<Platform> ParsePlatform(std::string_view name);

// What an attester produced, or what a verifier is asked to check.
struct Evidence {
  Platform platform = Platform::kVirtual;
  // The platform's signed bytes, exactly as produced (trailing zero padding tolerated for DCAP).
  Bytes raw;
  // Certificates that endorse the signing key, DER or PEM (SEV-SNP: the VCEK or VLEK, optionally
  // its ASK/ASVK and ARK, which are only compared with the pinned copies). DCAP quotes and Nitro
  // documents carry their own chains and need none.
  std::vector<Bytes> endorsements;
  // Optional collateral, each item DER or JSON (DCAP: Intel PCS tcbInfo / QE identity bodies, a
  // dcap-qvl collateral bundle, CRLs in DER).
  std::vector<Bytes> collateral;
};

// The platform of `raw` judged from its bytes (magic numbers, sizes, version fields). Fails when
// the bytes look like none of the supported formats; a success is a guess that verification
// confirms or refutes, never a verdict.
Result<Platform> DetectPlatform(ByteSpan raw);

// Normalised claims of genuine evidence, plus every raw platform field.
struct Claims {
  Platform platform = Platform::kVirtual;
  // True only for the simulated TEE: the evidence proves nothing about isolation.
  bool insecure = false;
  // SNP MEASUREMENT, TDX MR_TD, SGX MRENCLAVE, Nitro PCR0, virtual measurement.
  Bytes measurement;
  // The caller-chosen data bound into the evidence (SNP/TDX/SGX REPORT_DATA, Nitro user_data).
  Bytes report_data;
  // The platform says its guest/enclave can be inspected by the host (SNP policy bit 19, TDX
  // TDATTRIBUTES.DEBUG, SGX ATTRIBUTES.DEBUG, Nitro PCR0-2 all zero, virtual flag).
  bool debug = false;
  // "Milan", "Genoa", "Turin", "TDX", "SGX", "Nitro", "virtual".
  std::string product;
  // SNP CHIP_ID (empty when masked or VLEK-signed), DCAP PPID, Nitro module_id.
  Bytes chip_id;
  // Host-provided launch data: SNP HOST_DATA, TDX MRCONFIGID, SGX CONFIGID, virtual host data.
  Bytes host_data;
  // Who signed the code: SNP AUTHOR_KEY_DIGEST/ID_KEY_DIGEST, SGX MRSIGNER, TDX MROWNER.
  Bytes signer_id;
  // Named security versions, e.g. "snp", "microcode", "guest_svn", "isv_svn", "tee_tcb_svn0".
  std::vector<std::pair<std::string, uint64_t>> security_versions;
  // TCB status from collateral ("UpToDate", "OutOfDate", "NotSupported", ...); empty when no
  // collateral was given.
  std::string tcb_status;
  std::vector<std::string> advisory_ids;
  // Which key signed the evidence: "VCEK", "VLEK", "PCK", "AWS Nitro", "simulated".
  std::string signing_key;
  // SHA-256 of the pinned trust anchor the evidence chains to (the simulated root's public key
  // fingerprint for `virtual`).
  Bytes root_fingerprint;
  // The earliest notAfter among the endorsement certificates (Unix seconds; 0 when none), and
  // which certificate that was, so a policy can refuse an expired VLEK.
  int64_t endorsement_not_after = 0;
  std::string endorsement_expiring_subject;
  // Collateral freshness: tcbInfo/QE identity nextUpdate (Unix seconds; 0 when no collateral).
  int64_t collateral_next_update = 0;
  // Nitro document timestamp (milliseconds since the epoch; 0 elsewhere).
  int64_t timestamp_unix_millis = 0;
  // Every platform field as name -> text (lower-case hex for bytes, decimal for numbers), in the
  // order of the format.
  std::vector<std::pair<std::string, std::string>> raw_fields;

  // Value of a security version or raw field by name; nullopt when absent.
  [[nodiscard]] std::optional<uint64_t> SecurityVersion(std::string_view name) const;
  [[nodiscard]] std::optional<std::string> RawField(std::string_view name) const;
};

class ChainCache;

struct VerifyOptions {
  // Instant at which certificates must be valid (Unix seconds). When absent, Nitro documents are
  // checked at their own timestamp (their leaves live about three hours) and the other hardware
  // platforms fail with kInvalidArgument: a verifier never reads the clock.
  std::optional<int64_t> at_unix_seconds;
  // Optional cache of verified intermediate/root pairs (chain_cache.h); not owned, may be null.
  ChainCache* chain_cache = nullptr;
};

// Checks evidence of one platform. Implementations are stateless apart from an optional cache
// and are safe to call from several threads.
class Verifier {
 public:
  virtual ~Verifier() = default;
  [[nodiscard]] virtual Result<Claims> Verify(const Evidence& evidence,
                                              const VerifyOptions& options) const = 0;
};

// Verifies evidence of any platform: dispatches on evidence.platform, after checking that the
// bytes look like that platform. The error says which check failed.
Result<Claims> VerifyEvidence(const Evidence& evidence, const VerifyOptions& options);

// Produces evidence on the machine it runs on.
class Attester {
 public:
  virtual ~Attester() = default;
  [[nodiscard]] virtual Platform platform() const = 0;
  // Evidence binding `report_data` (at most 64 bytes; shorter input is zero-padded by the
  // platform conventions).
  [[nodiscard]] virtual Result<Evidence> Attest(ByteSpan report_data) = 0;
};

}  // namespace cloister::tee
