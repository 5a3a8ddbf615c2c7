// Recovery of a lost service by a new one (docs/recovery.md): what `cloisterd recover` is given,
// and the record by which the new service endorses the previous one.
//
// The recovering node writes one PreviousService record per recovery into
// public:cloister.service.previous (keyed by the previous ledger id, in hex), in its first
// transaction. Its `endorsement` is an ECDSA P-256 / SHA-256 signature (DER) by the NEW service
// key over PreviousServiceStatement(), a compact JSON statement naming the new ledger id, the
// previous ledger id, the SHA-256 of the previous service certificate (DER), and the last signed
// entry of the previous ledger that was recovered (its index, the Merkle root over entries
// 1..index, and the SHA-256 of that entry's COSE_Sign1 by the previous service key, which the
// record also holds). Anyone holding the new service certificate can check the record offline
// (VerifyPreviousService, or openssl), and check the previous signature against the previous
// certificate.
//
// Invariants:
//  1. The statement is fully determined by the record's other fields: a verifier rebuilds it, it
//     never trusts a stored copy.
//  2. While the service status is "recovering", the node refuses application events and reads,
//     joins and share re-issues; nothing private is in its state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/x509.h"
#include "cloister/gov/tables.h"

namespace cloister::node {

inline constexpr std::string_view kPreviousServicesMap = "public:cloister.service.previous";
// The service status while members' recovery shares are awaited (governance refuses
// open_network meanwhile).
inline constexpr std::string_view kServiceRecovering = gov::kServiceRecovering;

// Only for `cloisterd recover`.
struct RecoverSettings {
  // Data directories of the lost service's nodes, only read; the most advanced valid one is used.
  std::vector<std::filesystem::path> ledgers;
  std::filesystem::path service_certificate_out;  // the new service certificate, for clients
};

struct PreviousService {
  std::string ledger_id;                    // hex, the new service's
  std::string previous_ledger_id;           // hex
  std::string previous_certificate_pem;     // the previous service certificate
  std::string previous_certificate_sha256;  // hex, of its DER
  uint64_t previous_last_signed_index = 0;  // last signed entry recovered
  std::string previous_merkle_root;         // hex, over entries 1..previous_last_signed_index
  std::string previous_signature;           // base64 COSE_Sign1 of that signature entry
  std::string previous_signature_sha256;    // hex
  std::string endorsement;                  // base64 DER ECDSA signature by the new service key

  [[nodiscard]] std::string ToJson() const;  // also carries "statement" for convenience
  static Result<PreviousService> FromJson(std::string_view text);
};

// The exact bytes the endorsement signs (compact JSON, keys in sorted order).
std::string PreviousServiceStatement(const PreviousService& previous);

// Checks the record's hashes and its endorsement under `service_certificate` (the new one).
Status VerifyPreviousService(const PreviousService& previous,
                             const crypto::Certificate& service_certificate);

// The attestation context of a recovering node: "cloister/recovery/v1" || ledger id ||
// previous ledger id (raw bytes).
Bytes RecoveryAttestationContext(ByteSpan ledger_id, ByteSpan previous_ledger_id);

}  // namespace cloister::node
