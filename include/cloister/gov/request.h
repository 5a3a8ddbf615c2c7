// Signed governance requests: COSE_Sign1 messages a member signs, offline or in an HSM.
//
// A request is a tagged COSE_Sign1 (RFC 9052) whose protected header holds
//   1 (alg)                     ES256, ES384 or EdDSA, from the member's key type
//   4 (kid)                     SHA-256 of the member certificate DER (32 bytes)
//   "cloister.gov.type"         "proposal" | "ballot" | "withdrawal" | "recovery_share"
//   "cloister.gov.created_at"   Unix seconds when the member made it
//   "cloister.gov.proposal_id"  hex proposal id (ballots and withdrawals only)
//   "cloister.gov.service"      the service the request is for: SHA-256 of the service
//                               certificate DER (32 bytes, ServiceIdOf)
//   "cloister.gov.nonce"        optional, up to 32 bytes: lets a member make the same request
//                               twice in one second (tools put 16 random bytes here)
// and whose payload is the request body (JSON for proposals and ballots, see proposals.h).
//
// Two-step signing keeps keys out of Cloister's process: Prepare() returns the exact bytes to
// sign (the COSE Sig_structure), any signer (a key file, an HSM, a smart card) signs them with
// ECDSA (SHA-256 for P-256, SHA-384 for P-384) or Ed25519, and Finish() assembles the message
// after checking that the signature verifies under the certificate, so a wrong key is caught
// before a request leaves the member's machine.
//
// Invariants checked by VerifyRequest (each refusal names its reason):
//  0. The request names the verifying service (VerifyRequestOptions::service_id): a request
//     signed for one network cannot be executed by another one the member also governs.
//  1. The signer is a current, active member: the kid names a member record and the signature
//     verifies under that record's certificate key (not under anything the message carries).
//  2. created_at lies within [now - max_age, now + max_future], and is not before the requests
//     table's pruning horizon: an old request cannot be replayed after its digest was pruned,
//     and a member's clock error is bounded.
//  3. The request digest (SHA-256 of the Sig_structure, i.e. of everything signed) is not yet in
//     public:cloister.gov.requests; RecordRequest() adds it in the transaction that executes
//     the request, so each signed content takes effect at most once. The digest excludes the
//     signature, so re-signing the same content (ECDSA is randomised) is still a replay.
//  4. Pruning (RecordRequest) keeps the table bounded without weakening 3. Entries are keyed by
//     created_at first, so the oldest are found by one bounded range scan. The horizon H (the
//     table's key "pruned_before") only grows, to min(now, created_at) - max_age of an executed
//     request; only entries created before H are removed (at most kMaxPrunedPerRequest per
//     request), and every request created before H is refused by 2. H is kept in the state
//     rather than derived from the clock because "now" is the executing leader's wall clock,
//     which may be behind the previous leader's: a digest pruned by one leader must stay refused
//     under the next. Taking the minimum with the signed created_at means a node whose clock
//     runs ahead cannot push H past what the member's own clock said, less the window.
//     Everything here depends only on the state, the request and `now` (deterministic).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/cose.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/x509.h"
#include "cloister/kv/store.h"

namespace cloister::gov {

enum class RequestType { kProposal, kBallot, kWithdrawal, kRecoveryShare };

std::string_view RequestTypeName(RequestType type);
Result<RequestType> ParseRequestType(std::string_view name);

inline constexpr std::string_view kHeaderType = "cloister.gov.type";
inline constexpr std::string_view kHeaderCreatedAt = "cloister.gov.created_at";
inline constexpr std::string_view kHeaderProposalId = "cloister.gov.proposal_id";
inline constexpr std::string_view kHeaderNonce = "cloister.gov.nonce";
inline constexpr std::string_view kHeaderService = "cloister.gov.service";
inline constexpr size_t kServiceIdBytes = 32;
inline constexpr size_t kMaxNonceBytes = 32;

// Largest request payload accepted (a proposal adding a member carries a certificate).
inline constexpr size_t kMaxRequestPayloadBytes = 64 * 1024;
// Requests-table entries older than the horizon removed by one executed request (invariant 4):
// more than the one entry each request adds, so a backlog shrinks.
inline constexpr size_t kMaxPrunedPerRequest = 16;
// The key of the pruning horizon in public:cloister.gov.requests (decimal Unix seconds); every
// other key is RequestKey().
inline constexpr std::string_view kRequestsPrunedBeforeKey = "pruned_before";

struct RequestHeaders {
  RequestType type = RequestType::kProposal;
  int64_t created_at_unix_seconds = 0;
  // Required for ballots and withdrawals, forbidden otherwise.
  std::string proposal_id;
  // Optional (empty: no nonce header), at most kMaxNonceBytes.
  Bytes nonce;
  // Required: the service the request is for (ServiceIdOf its certificate).
  Bytes service_id;
};

// The id requests name a service by: SHA-256 of its certificate's DER encoding.
Bytes ServiceIdOf(const crypto::Certificate& service_certificate);

// A request ready to be signed. Plain data: it can be written to a file between the two steps
// (Encode/Decode, a CBOR array [protected header bstr, payload bstr]).
class PreparedRequest {
 public:
  // Builds the protected header for `signer` and checks the headers (proposal id present
  // exactly for ballots and withdrawals, payload within kMaxRequestPayloadBytes).
  static Result<PreparedRequest> Prepare(const crypto::Certificate& signer,
                                         const RequestHeaders& headers, ByteSpan payload);
  static Result<PreparedRequest> Decode(ByteSpan encoded);
  [[nodiscard]] Bytes Encode() const;

  // The bytes the member signs: the COSE Sig_structure ["Signature1", protected, h'', payload].
  [[nodiscard]] Bytes ToBeSigned() const;
  [[nodiscard]] crypto::cose::Algorithm algorithm() const { return algorithm_; }

  // Assembles the COSE_Sign1 message from a signature over ToBeSigned(): raw r || s (COSE form)
  // or DER for ECDSA, 64 bytes for Ed25519. Fails with kVerification when the signature does not
  // verify under `signer` (the certificate given to Prepare; its kid must match).
  [[nodiscard]] Result<Bytes> Finish(const crypto::Certificate& signer, ByteSpan signature) const;

 private:
  Bytes protected_bytes_;
  Bytes payload_;
  crypto::cose::Algorithm algorithm_ = crypto::cose::Algorithm::kEs256;
};

// Signs `to_be_signed` with a key held in memory (a member's key file), in the COSE form.
Result<Bytes> SignToBeSigned(const crypto::PrivateKey& key, ByteSpan to_be_signed);

// Prepare, sign with `key`, finish: a complete request in one call (tools and tests).
Result<Bytes> SignRequest(const crypto::PrivateKey& key, const crypto::Certificate& signer,
                          const RequestHeaders& headers, ByteSpan payload);

struct VerifyRequestOptions {
  // ServiceIdOf this service's certificate; requests naming another service are refused.
  Bytes service_id;
  int64_t now_unix_seconds = 0;
  int64_t max_age_seconds = 600;
  int64_t max_future_seconds = 120;
};

// A request whose signature, signer, freshness and uniqueness have been checked.
struct VerifiedRequest {
  std::string member_id;  // hex, as the members map names it
  RequestHeaders headers;
  Bytes payload;
  Bytes digest;  // SHA-256 of the Sig_structure
  // min(now, created_at) - max_age at verification: where RecordRequest may move the pruning
  // horizon (invariant 4).
  int64_t prune_before_unix_seconds = 0;
};

// Checks `message` against the state `tx` reads (invariants 0-3). Writes nothing.
Result<VerifiedRequest> VerifyRequest(kv::Tx& tx, ByteSpan message,
                                      const VerifyRequestOptions& options);

// Records the request's digest so that it cannot execute again (invariant 3), advances the
// pruning horizon and removes up to kMaxPrunedPerRequest entries created before it (invariant 4).
Status RecordRequest(kv::Tx& tx, const VerifiedRequest& request);

// The requests-table key of a request: created_at as 19 decimal digits (zero-padded, so that
// keys sort by creation time), "/", the digest in hex.
std::string RequestKey(int64_t created_at_unix_seconds, ByteSpan digest);
// The pruning horizon (0 when nothing was pruned yet): requests created before it are refused.
Result<int64_t> RequestsPrunedBefore(kv::Tx& tx);

}  // namespace cloister::gov
