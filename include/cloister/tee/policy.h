// Attestation policy: which genuine Claims a network (or a client) accepts.
//
// Verification (evidence.h) answers "is this evidence genuine and what does it say"; a Policy
// answers "do we accept what it says". Keeping them apart lets a genuine debug enclave verify and
// then be refused here with that reason, and lets the node store the policy in the replicated
// state (it is loadable from JSON and TOML, and serialisable to JSON).
//
// Evaluate() never stops at the first problem: the Decision lists EVERY reason for refusal, so an
// operator fixes everything in one round.
//
// Rules, each refused with its own reason:
//  - the platform must have a rule; the simulated TEE additionally needs its root's fingerprint
//    in simulated_roots (every policy refuses `virtual` otherwise, including the default one);
//  - measurement, host data (SNP HOST_DATA, TDX MRCONFIGID, SGX CONFIGID) and signer must be in
//    the rule's lists when the lists are non-empty;
//  - named security versions must reach their minimum ("snp", "microcode", "isv_svn", ...);
//  - debug is refused unless the rule allows it;
//  - the TCB status computed from collateral must be accepted ("UpToDate" by default), and so
//    must the QE and TDX module statuses when present;
//  - endorsement certificates must not have expired at the evaluation time (an expired VLEK), and
//    collateral must not be past its nextUpdate;
//  - Nitro documents must be recent (their own timestamp);
//  - report_data must bind the expected value when the caller gives one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/tee/evidence.h"

namespace cloister::tee {

struct PlatformRule {
  Platform platform = Platform::kVirtual;
  // Allowed values; an empty list allows any (and Evaluate warns for measurements).
  std::vector<Bytes> measurements;
  std::vector<Bytes> host_data;
  std::vector<Bytes> signer_ids;
  // Security version name -> minimum (names as in Claims::security_versions).
  std::vector<std::pair<std::string, uint64_t>> min_security_versions;
  bool allow_debug = false;
};

struct EvaluationContext {
  // The instant at which expiry of endorsements and collateral is judged (Unix seconds).
  int64_t now_unix_seconds = 0;
  // When set, report_data must start with these bytes and be zero after them.
  std::optional<Bytes> expected_report_data;
};

struct Decision {
  bool allowed = false;
  std::vector<std::string> reasons;   // why it is refused (empty when allowed)
  std::vector<std::string> warnings;  // accepted, but worth knowing
};

class Policy {
 public:
  std::vector<PlatformRule> platforms;
  // SHA-256 fingerprints of simulated roots this policy accepts (SimulatedRootFingerprint()).
  std::vector<Bytes> simulated_roots;
  std::vector<std::string> accepted_tcb_statuses = {"UpToDate", "SWHardeningNeeded"};
  // Refuse evidence that carries no collateral-derived TCB status (TDX/SGX without collateral).
  bool require_tcb_status = false;
  bool allow_expired_endorsements = false;
  bool allow_stale_collateral = false;
  // Nitro documents older than this (by their timestamp) are refused; nullopt disables the rule.
  std::optional<int64_t> max_document_age_seconds = 24 * 3600;

  // The production default: every hardware platform, any measurement, no debug, TCB statuses
  // UpToDate/SWHardeningNeeded, no expired endorsements or stale collateral, Nitro documents at
  // most a day old, simulated TEE refused.
  static Policy DefaultProduction();
  // A development policy: the simulated root plus everything DefaultProduction allows.
  static Policy Development();

  // JSON and TOML documents of the same shape (docs/attestation.md):
  //   {"platforms": {"sev_snp": {"measurements": ["<hex>"], "host_data": [], "signer_ids": [],
  //                  "min_security_versions": {"snp": 8}, "allow_debug": false}, ...},
  //    "simulated_roots": ["<hex>"], "accepted_tcb_statuses": ["UpToDate"],
  //    "require_tcb_status": false, "allow_expired_endorsements": false,
  //    "allow_stale_collateral": false, "max_document_age_seconds": 86400}
  // Unknown keys are errors (a misspelt rule must not silently allow more).
  static Result<Policy> FromJson(std::string_view text);
  static Result<Policy> FromToml(std::string_view text);
  [[nodiscard]] std::string ToJson() const;

  [[nodiscard]] const PlatformRule* RuleFor(Platform platform) const;
  [[nodiscard]] Decision Evaluate(const Claims& claims, const EvaluationContext& context) const;
};

}  // namespace cloister::tee
