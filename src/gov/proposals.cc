#include "cloister/gov/proposals.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "cloister/gov/tables.h"
#include "gov/actions.h"
#include "gov/json_util.h"

namespace cloister::gov {
namespace {

using nlohmann::json;

// The "actions" array of a proposal payload, checked for shape and names (not arguments).
Result<json> ParseActions(std::string_view text) {
  json actions = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (actions.is_discarded() || !actions.is_array() || actions.empty() ||
      actions.size() > kMaxActionsPerProposal) {
    return InvalidArgumentError("proposal: 'actions' must be an array of 1 to ",
                                kMaxActionsPerProposal, " actions");
  }
  for (size_t i = 0; i < actions.size(); ++i) {
    const json& action = actions[i];
    const std::string where = "proposal: action " + std::to_string(i);
    if (!action.is_object()) return InvalidArgumentError(where, " is not an object");
    RETURN_IF_ERROR(JsonOnlyKeys(action, {"name", "args"}, where));
    ASSIGN_OR_RETURN(std::string name, JsonString(action, "name", where));
    if (FindAction(name) == nullptr) {
      return InvalidArgumentError(where, ": no action named '", name, "'");
    }
    if (action.contains("args") && !action["args"].is_object()) {
      return InvalidArgumentError(where, " (", name, "): 'args' must be an object");
    }
  }
  return actions;
}

const json& ArgsOf(const json& action) {
  static const json kEmpty = json::object();
  auto it = action.find("args");
  return it == action.end() ? kEmpty : *it;
}

Result<std::set<std::string>> ActiveMemberIds(kv::Tx& tx) {
  ASSIGN_OR_RETURN(std::vector<MemberRecord> members, ReadMembers(tx));
  std::set<std::string> ids;
  for (const MemberRecord& member : members) {
    if (member.status == "active") ids.insert(member.id);
  }
  return ids;
}

// The threshold stored for `action` ("majority" or a count) resolved to a count of votes.
Result<size_t> ResolveThreshold(kv::Tx& tx, std::string_view action, size_t active) {
  std::optional<std::string> text = tx.ro(kThresholdsMap)->get(action);
  if (!text) text = tx.ro(kThresholdsMap)->get("default");
  const size_t majority = active / 2 + 1;
  if (!text || *text == "majority") return std::min(majority, active);
  size_t count = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), count);
  if (error != std::errc() || end != text->data() + text->size() || count == 0) {
    return CorruptError("threshold for ", action, " is '", *text, "'");
  }
  return std::min(count, active);
}

Status RunActions(kv::Tx& tx, const ProposalRecord& proposal) {
  ASSIGN_OR_RETURN(json actions, ParseActions(proposal.actions_json));
  ActionContext context{&tx, proposal.id};
  for (size_t i = 0; i < actions.size(); ++i) {
    const std::string name = actions[i]["name"].get<std::string>();
    Status applied = FindAction(name)->apply(context, ArgsOf(actions[i]));
    if (!applied.ok()) {
      return Error{applied.error().code, "proposal " + proposal.id + ": action " +
                                             std::to_string(i) + " (" + name +
                                             ") failed: " + applied.error().message};
    }
  }
  return OkStatus();
}

Result<ProposalRecord> OpenProposal(kv::Tx& tx, std::string_view proposal_id) {
  ASSIGN_OR_RETURN(ProposalRecord proposal, ReadProposal(tx, proposal_id));
  if (proposal.state != ProposalState::kOpen) {
    return FailedPreconditionError("proposal ", proposal_id, " is ",
                                   ProposalStateName(proposal.state), ", not open");
  }
  return proposal;
}

// Counts the ballots of active members, and accepts or rejects the proposal when decided.
Result<Outcome> Tally(kv::Tx& tx, ProposalRecord& proposal, RequestType type) {
  ASSIGN_OR_RETURN(std::set<std::string> active, ActiveMemberIds(tx));
  Outcome outcome{.type = type, .proposal_id = proposal.id};
  for (const auto& [member, in_favour] : proposal.votes) {
    if (!active.contains(member)) continue;
    (in_favour ? outcome.votes_for : outcome.votes_against) += 1;
  }
  ASSIGN_OR_RETURN(outcome.threshold, ThresholdFor(tx, proposal.actions_json));
  if (proposal.state == ProposalState::kOpen && outcome.votes_for >= outcome.threshold) {
    RETURN_IF_ERROR(RunActions(tx, proposal));
    proposal.state = ProposalState::kAccepted;
  } else if (proposal.state == ProposalState::kOpen &&
             outcome.votes_against + outcome.threshold > active.size()) {
    proposal.state = ProposalState::kRejected;
  }
  outcome.state = proposal.state;
  RETURN_IF_ERROR(tx.rw(kProposalsMap)->put(proposal.id, proposal.ToJson()));
  return outcome;
}

Result<Outcome> Submit(kv::Tx& tx, const VerifiedRequest& request) {
  RETURN_IF_ERROR(ValidateProposal(request.payload));
  ASSIGN_OR_RETURN(std::vector<ProposalRecord> existing, ListProposals(tx, SIZE_MAX));
  size_t open = 0;
  for (const ProposalRecord& proposal : existing) {
    open += proposal.state == ProposalState::kOpen ? 1u : 0u;
  }
  if (open >= kMaxOpenProposals) {
    return FailedPreconditionError(open, " proposals are open already; withdraw or decide some");
  }
  ProposalRecord proposal;
  proposal.id = ToHex(request.digest);
  if (tx.ro(kProposalsMap)->has(proposal.id)) {
    return AlreadyExistsError("proposal ", proposal.id, " already exists");
  }
  proposal.proposer = request.member_id;
  proposal.created_at_unix_seconds = request.headers.created_at_unix_seconds;
  json payload = json::parse(AsString(request.payload));
  proposal.actions_json = payload["actions"].dump();
  return Tally(tx, proposal, RequestType::kProposal);
}

Result<Outcome> Vote(kv::Tx& tx, const VerifiedRequest& request) {
  ASSIGN_OR_RETURN(json ballot, ParseJsonObject(AsString(request.payload), "ballot"));
  RETURN_IF_ERROR(JsonOnlyKeys(ballot, {"vote"}, "ballot"));
  ASSIGN_OR_RETURN(std::string vote, JsonString(ballot, "vote", "ballot"));
  if (vote != "for" && vote != "against") {
    return InvalidArgumentError("ballot: 'vote' must be \"for\" or \"against\", got '", vote, "'");
  }
  ASSIGN_OR_RETURN(ProposalRecord proposal, OpenProposal(tx, request.headers.proposal_id));
  proposal.votes[request.member_id] = vote == "for";
  return Tally(tx, proposal, RequestType::kBallot);
}

Result<Outcome> Withdraw(kv::Tx& tx, const VerifiedRequest& request) {
  const std::string_view body = AsString(request.payload);
  if (!body.empty() && body != "{}") {
    return InvalidArgumentError("withdrawal: payload must be empty or {}");
  }
  ASSIGN_OR_RETURN(ProposalRecord proposal, OpenProposal(tx, request.headers.proposal_id));
  if (proposal.proposer != request.member_id) {
    return PermissionDeniedError("only the proposer ", proposal.proposer, " may withdraw proposal ",
                                 proposal.id);
  }
  proposal.state = ProposalState::kWithdrawn;
  return Tally(tx, proposal, RequestType::kWithdrawal);
}

}  // namespace

std::string_view ProposalStateName(ProposalState state) {
  switch (state) {
    case ProposalState::kOpen:
      return "open";
    case ProposalState::kAccepted:
      return "accepted";
    case ProposalState::kRejected:
      return "rejected";
    case ProposalState::kWithdrawn:
      return "withdrawn";
  }
  return "unknown";
}

Result<ProposalState> ParseProposalState(std::string_view name) {
  for (ProposalState state : {ProposalState::kOpen, ProposalState::kAccepted,
                              ProposalState::kRejected, ProposalState::kWithdrawn}) {
    if (ProposalStateName(state) == name) return state;
  }
  return ParseError("unknown proposal state '", name, "'");
}

std::string ProposalRecord::ToJson() const {
  json out;
  out["id"] = id;
  out["proposer"] = proposer;
  out["created_at"] = created_at_unix_seconds;
  out["actions"] = json::parse(actions_json);
  out["state"] = std::string(ProposalStateName(state));
  json ballots = json::object();
  for (const auto& [member, in_favour] : votes) ballots[member] = in_favour ? "for" : "against";
  out["votes"] = ballots;
  return out.dump();
}

Result<ProposalRecord> ProposalRecord::FromJson(std::string_view text) {
  ASSIGN_OR_RETURN(json object, ParseJsonObject(text, "proposal record"));
  ProposalRecord record;
  ASSIGN_OR_RETURN(record.id, JsonString(object, "id", "proposal record"));
  ASSIGN_OR_RETURN(record.proposer, JsonString(object, "proposer", "proposal record"));
  ASSIGN_OR_RETURN(record.created_at_unix_seconds,
                   JsonInt(object, "created_at", "proposal record"));
  ASSIGN_OR_RETURN(std::string state, JsonString(object, "state", "proposal record"));
  ASSIGN_OR_RETURN(record.state, ParseProposalState(state));
  auto actions = object.find("actions");
  auto votes = object.find("votes");
  if (actions == object.end() || !actions->is_array() || votes == object.end() ||
      !votes->is_object()) {
    return ParseError("proposal record: 'actions' must be an array and 'votes' an object");
  }
  record.actions_json = actions->dump();
  for (auto it = votes->begin(); it != votes->end(); ++it) {
    if (!it->is_string() || (*it != "for" && *it != "against")) {
      return ParseError("proposal record: vote of ", it.key(), " is not \"for\" or \"against\"");
    }
    record.votes[it.key()] = *it == "for";
  }
  return record;
}

const std::vector<std::string_view>& ActionNames() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const ActionSpec& spec : ActionSpecs()) out.push_back(spec.name);
    return out;
  }();
  return names;
}

Status ValidateProposal(ByteSpan payload) {
  ASSIGN_OR_RETURN(json document, ParseJsonObject(AsString(payload), "proposal"));
  RETURN_IF_ERROR(JsonOnlyKeys(document, {"actions"}, "proposal"));
  if (!document.contains("actions")) return InvalidArgumentError("proposal: 'actions' missing");
  ASSIGN_OR_RETURN(json actions, ParseActions(document["actions"].dump()));
  for (size_t i = 0; i < actions.size(); ++i) {
    const std::string name = actions[i]["name"].get<std::string>();
    Status valid = FindAction(name)->check_args(ArgsOf(actions[i]));
    if (!valid.ok()) {
      return InvalidArgumentError("proposal: action ", i, " (", name, "): ", valid.error().message);
    }
  }
  return OkStatus();
}

Result<std::string> MakeProposal(std::string_view action_name, std::string_view args_json) {
  ASSIGN_OR_RETURN(json args, ParseJsonObject(args_json, "action arguments"));
  json action;
  action["name"] = std::string(action_name);
  action["args"] = std::move(args);
  json document;
  document["actions"] = json::array({std::move(action)});
  std::string text = document.dump();
  RETURN_IF_ERROR(ValidateProposal(AsBytes(text)));
  return text;
}

Result<Outcome> ExecuteVerifiedRequest(kv::Tx& tx, const VerifiedRequest& request) {
  switch (request.headers.type) {
    case RequestType::kProposal:
      RETURN_IF_ERROR(RecordRequest(tx, request));
      return Submit(tx, request);
    case RequestType::kBallot:
      RETURN_IF_ERROR(RecordRequest(tx, request));
      return Vote(tx, request);
    case RequestType::kWithdrawal:
      RETURN_IF_ERROR(RecordRequest(tx, request));
      return Withdraw(tx, request);
    case RequestType::kRecoveryShare:
      break;
  }
  return FailedPreconditionError(
      "recovery shares are submitted to a recovering node, not "
      "executed as governance transactions");
}

Result<Outcome> ExecuteRequest(kv::Tx& tx, ByteSpan message, const VerifyRequestOptions& options) {
  ASSIGN_OR_RETURN(VerifiedRequest request, VerifyRequest(tx, message, options));
  return ExecuteVerifiedRequest(tx, request);
}

Result<ProposalRecord> ReadProposal(kv::Tx& tx, std::string_view proposal_id) {
  std::optional<std::string> value = tx.ro(kProposalsMap)->get(proposal_id);
  if (!value) return NotFoundError("no proposal with id ", proposal_id);
  Result<ProposalRecord> record = ProposalRecord::FromJson(*value);
  if (!record.ok()) return CorruptError("proposal ", proposal_id, ": ", record.error().message);
  return record;
}

Result<std::vector<ProposalRecord>> ListProposals(kv::Tx& tx, size_t limit) {
  std::vector<ProposalRecord> out;
  std::string from;
  for (size_t page_count = 0; page_count < 1024 && out.size() < limit; ++page_count) {
    kv::Page<std::string, std::string> page =
        tx.ro(kProposalsMap)->range(from, std::nullopt, std::min<size_t>(limit - out.size(), 256));
    for (const auto& [key, value] : page.items) {
      Result<ProposalRecord> record = ProposalRecord::FromJson(value);
      if (!record.ok()) return CorruptError("proposal ", key, ": ", record.error().message);
      out.push_back(std::move(record).value());
    }
    if (!page.next_key) break;
    from = *page.next_key;
  }
  return out;
}

Result<size_t> ThresholdFor(kv::Tx& tx, std::string_view actions_json) {
  ASSIGN_OR_RETURN(json actions, ParseActions(actions_json));
  ASSIGN_OR_RETURN(size_t active, ActiveMemberCount(tx));
  size_t threshold = 0;
  for (const json& action : actions) {
    ASSIGN_OR_RETURN(size_t needed,
                     ResolveThreshold(tx, action["name"].get<std::string>(), active));
    threshold = std::max(threshold, needed);
  }
  // Never zero: a proposal must always take at least one ballot to pass.
  return std::max<size_t>(threshold, 1);
}

}  // namespace cloister::gov
