// Proposals and ballots, executed as kv transactions on the replicated state.
//
// A member submits a proposal (a signed request whose payload is a JSON document listing
// actions); members vote for or against it with ballots; the proposer may withdraw it while it
// is open. Everything happens inside the caller's kv::Tx, so a request's effects commit (or
// abort) together with the record of the request itself.
//
//   proposal payload  {"actions": [{"name": "add_member", "args": {...}}, ...]}   (1..16 actions)
//   ballot payload    {"vote": "for"} or {"vote": "against"}
//   withdrawal        empty payload (or {})
//
// The proposal id is the lower-case hex of the proposal request's digest (SHA-256 of what the
// member signed), so it is fixed before submission and unique.
//
// Thresholds live in public:cloister.gov.thresholds: "default" and per-action overrides, each a
// decimal count or "majority" (more than half of the active members; the default when nothing is
// set). A proposal needs the largest threshold among its actions, counted in votes "for" by
// currently active members and capped at the number of active members (removing members can
// never make governance impossible).
//
// Invariants:
//  1. A proposal's actions take effect in the same transaction as the ballot that reaches its
//     threshold, and in no other; below threshold a proposal changes nothing but its own record.
//  2. A member's latest ballot on a proposal replaces its earlier one; only open proposals take
//     ballots; a proposal that can no longer reach its threshold becomes rejected.
//  3. Each action checks its arguments at submission (a malformed proposal is refused up front)
//     and its preconditions again when it executes; if one fails, ExecuteRequest returns the
//     error and the caller must abort the transaction, so nothing partial is ever committed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/gov/request.h"
#include "cloister/kv/store.h"

namespace cloister::gov {

inline constexpr size_t kMaxActionsPerProposal = 16;
// Proposals kept open at once (bounds the proposals table and the work of listing it).
inline constexpr size_t kMaxOpenProposals = 256;

enum class ProposalState { kOpen, kAccepted, kRejected, kWithdrawn };
std::string_view ProposalStateName(ProposalState state);
Result<ProposalState> ParseProposalState(std::string_view name);

struct ProposalRecord {
  std::string id;
  std::string proposer;  // member id
  int64_t created_at_unix_seconds = 0;
  std::string actions_json;  // the "actions" array, as submitted (compact JSON)
  ProposalState state = ProposalState::kOpen;
  std::map<std::string, bool> votes;  // member id -> for (true) / against (false)

  [[nodiscard]] std::string ToJson() const;
  static Result<ProposalRecord> FromJson(std::string_view text);
};

// What a request did.
struct Outcome {
  RequestType type = RequestType::kProposal;
  std::string proposal_id;
  ProposalState state = ProposalState::kOpen;
  size_t votes_for = 0;      // by active members
  size_t votes_against = 0;  // by active members
  size_t threshold = 0;      // votes "for" needed now
};

// Names of every action a proposal may take (docs/governance.md describes their arguments).
const std::vector<std::string_view>& ActionNames();

// Checks a proposal payload: shape, action names and every action's arguments.
Status ValidateProposal(ByteSpan payload);

// Builds a proposal payload from one action (tools): {"actions":[{"name":..,"args":..}]}.
// `args_json` must be a JSON object.
Result<std::string> MakeProposal(std::string_view action_name, std::string_view args_json);

// Verifies `message` (VerifyRequest), records it (RecordRequest) and executes it: submit,
// vote or withdraw. Recovery shares are refused here (they go to a RecoveryCoordinator, never
// into the state). On error the caller aborts `tx` (invariant 3).
Result<Outcome> ExecuteRequest(kv::Tx& tx, ByteSpan message, const VerifyRequestOptions& options);

// The same for a request already verified by VerifyRequest (and not yet recorded).
Result<Outcome> ExecuteVerifiedRequest(kv::Tx& tx, const VerifiedRequest& request);

Result<ProposalRecord> ReadProposal(kv::Tx& tx, std::string_view proposal_id);
// Every proposal record in id order, at most `limit`.
Result<std::vector<ProposalRecord>> ListProposals(kv::Tx& tx, size_t limit);

// Votes "for" the actions of `actions_json` need, given the state `tx` reads.
Result<size_t> ThresholdFor(kv::Tx& tx, std::string_view actions_json);

}  // namespace cloister::gov
