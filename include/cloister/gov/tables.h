// The governance tables in the replicated state, their record formats, and helpers to read them.
//
// Every table here is a public map: stored in clear in the ledger so that anyone holding a copy
// can audit who governs the service, what was proposed, who voted and what took effect. The node
// uses these names for the tables it shares with gov (service, policy, members, nodes;
// node/service_state.h); gov adds its own tables after them.
//
//   public:cloister.service       "status" -> "opening" | "open" | "recovering" (set by a node
//                                 recovering a lost service, docs/recovery.md); "join_mode" ->
//                                 "automatic" | "vote"; "recovery_threshold" -> decimal; other
//                                 keys are the node's (certificate, hpke_public_key, ...)
//   public:cloister.policy        "policy" -> tee::Policy JSON
//   public:cloister.members       MemberId hex -> MemberRecord JSON (written by the node's
//                                 genesis and add_member; a bare certificate PEM under any key,
//                                 the form of ledgers before governance, reads as an active
//                                 member without an encryption key)
//   public:cloister.nodes         node key -> node record JSON; gov changes only its "status"
//   public:cloister.users         user id hex (SHA-256 of the certificate DER) -> certificate PEM
//   public:cloister.gov.thresholds action name or "default" -> decimal count or "majority"
//   public:cloister.gov.proposals proposal id hex -> ProposalRecord JSON
//   public:cloister.gov.requests  "<created_at, 19 digits>/<request digest hex>" ->
//                                 "<member id> <created_at>" (replay guard); "pruned_before" ->
//                                 decimal Unix seconds, the pruning horizon (request.h)
//   public:cloister.gov.node_requests "ledger_secret" | "service_hpke_key" | "recovery_shares" ->
//                                 NodeRequest JSON: a counter and the proposal that asked; the
//                                 node acts on each new count
//   public:cloister.recovery      "wrapped_ledger_secret" -> base64; "shares_threshold" -> k
//   public:cloister.recovery.shares MemberId hex -> EncryptedShare JSON
//
// Invariants:
//  1. A member's id is the lower-case hex SHA-256 of its certificate's DER encoding, which is
//     also the COSE kid of every request it signs, so a request names its signer unambiguously.
//  2. Only gov writes the gov.* tables and member records; a proposal's actions are the only way
//     (after genesis) to change members, users, thresholds, the policy or the join mode.
//  3. Private values never appear here: recovery shares are HPKE-sealed to their member, and the
//     ledger secret is stored only wrapped under a key that exists nowhere but as shares.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/x509.h"
#include "cloister/kv/store.h"

namespace cloister::gov {

// Tables shared with the node (node/service_state.h uses these names).
inline constexpr std::string_view kServiceMap = "public:cloister.service";
inline constexpr std::string_view kPolicyMap = "public:cloister.policy";
inline constexpr std::string_view kMembersMap = "public:cloister.members";
inline constexpr std::string_view kNodesMap = "public:cloister.nodes";
// Tables gov adds.
inline constexpr std::string_view kUsersMap = "public:cloister.users";
inline constexpr std::string_view kThresholdsMap = "public:cloister.gov.thresholds";
inline constexpr std::string_view kProposalsMap = "public:cloister.gov.proposals";
inline constexpr std::string_view kRequestsMap = "public:cloister.gov.requests";
inline constexpr std::string_view kNodeRequestsMap = "public:cloister.gov.node_requests";
inline constexpr std::string_view kRecoveryMap = "public:cloister.recovery";
inline constexpr std::string_view kRecoverySharesMap = "public:cloister.recovery.shares";

// Keys of the service map that gov reads or writes.
inline constexpr std::string_view kServiceStatusKey = "status";
inline constexpr std::string_view kJoinModeKey = "join_mode";
inline constexpr std::string_view kRecoveryThresholdKey = "recovery_threshold";
inline constexpr std::string_view kPolicyKey = "policy";

inline constexpr std::string_view kServiceOpening = "opening";
inline constexpr std::string_view kServiceOpen = "open";
// Set by a node recovering a lost service until a threshold of members' recovery shares restored
// the private state (then "opening"); open_network is refused meanwhile.
inline constexpr std::string_view kServiceRecovering = "recovering";
inline constexpr std::string_view kJoinAutomatic = "automatic";
inline constexpr std::string_view kJoinVote = "vote";

// Node statuses (node/service_state.h uses these names). A node that joins while the join
// mode is "vote" is recorded as pending until a trust_node proposal passes.
inline constexpr std::string_view kNodeTrusted = "trusted";
inline constexpr std::string_view kNodeLearner = "learner";
inline constexpr std::string_view kNodeRetired = "retired";
inline constexpr std::string_view kNodePending = "pending";

// Keys of the node-requests map.
inline constexpr std::string_view kRotateLedgerSecret = "ledger_secret";
inline constexpr std::string_view kRotateServiceHpkeKey = "service_hpke_key";
// Asks the node to re-issue recovery shares (the members with encryption keys or the recovery
// threshold changed); gov cannot do it itself because it never holds the ledger secret.
inline constexpr std::string_view kReissueRecoveryShares = "recovery_shares";

// Bounds that keep every scan of a governance table bounded.
inline constexpr size_t kMaxMembers = 64;
inline constexpr size_t kMaxUsers = 4096;
inline constexpr size_t kMaxNodes = 1024;

// A member's id: lower-case hex SHA-256 of the certificate DER (invariant 1).
std::string MemberIdOf(const crypto::Certificate& certificate);

struct MemberRecord {
  std::string id;
  std::string certificate_pem;
  // Raw X25519 public key for recovery shares (RecoverySuite()); empty when the member takes
  // no part in recovery.
  Bytes encryption_public_key;
  std::string status = "active";

  [[nodiscard]] std::string ToJson() const;
  // Accepts the JSON form, or a bare certificate PEM (ledgers before governance). Checks that the
  // certificate parses, that `id` matches it, and that the encryption key is 32 bytes.
  static Result<MemberRecord> Parse(std::string_view value);
};

// Builds a member record from a certificate PEM and an optional raw X25519 encryption key.
Result<MemberRecord> MakeMemberRecord(std::string_view certificate_pem,
                                      ByteSpan encryption_public_key);

// Writes the genesis governance state: every member, the service status "opening", the join
// mode, and the recovery threshold (1 <= threshold <= members with an encryption key, or 0
// when no member has one). Fails on duplicates or more than kMaxMembers members.
struct GenesisMember {
  std::string certificate_pem;
  Bytes encryption_public_key;  // may be empty
};
Status WriteGenesisGovernance(kv::Tx& tx, const std::vector<GenesisMember>& members,
                              uint64_t recovery_threshold,
                              std::string_view join_mode = kJoinAutomatic);

// Every member record, in id order (at most kMaxMembers; more is kCorrupt).
Result<std::vector<MemberRecord>> ReadMembers(kv::Tx& tx);
// The record whose id is `member_id` (found by scanning: a bare-PEM record of an old ledger
// is keyed by position), and the map key it is stored under; kNotFound when absent.
struct StoredMember {
  std::string key;
  MemberRecord record;
};
Result<StoredMember> FindMember(kv::Tx& tx, std::string_view member_id);
// Number of active members.
Result<size_t> ActiveMemberCount(kv::Tx& tx);

// The service status ("opening" when absent: the network opens only by a proposal).
std::string ServiceStatus(kv::Tx& tx);
// The join mode ("automatic" when absent).
std::string JoinMode(kv::Tx& tx);
// The recovery threshold (0 when absent).
Result<uint64_t> RecoveryThreshold(kv::Tx& tx);

// A rotation (or other node action) requested by governance.
struct NodeRequest {
  uint64_t count = 0;       // increases by one with each accepted request
  std::string proposal_id;  // the proposal that made the latest request
  [[nodiscard]] std::string ToJson() const;
  static Result<NodeRequest> FromJson(std::string_view text);
};
// The latest request under `key` (kRotateLedgerSecret, ...); count 0 when none was made.
Result<NodeRequest> ReadNodeRequest(kv::Tx& tx, std::string_view key);

}  // namespace cloister::gov
