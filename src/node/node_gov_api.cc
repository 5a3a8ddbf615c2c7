// The governance API of a node (docs/api.md, "Governance"): members submit signed requests,
// anyone reads proposals and members. Requests execute through gov (src/gov) as one
// transaction each on the leader; their effects on the node (opening, trusted and retired
// nodes, the admission policy) follow from the committed state (node.cc).
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "cloister/gov/proposals.h"
#include "cloister/gov/request.h"
#include "cloister/gov/tables.h"
#include "node_internal.h"

namespace cloister::node {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxListedProposals = 1024;
constexpr char kTxHeader[] = "x-ms-ccf-transaction-id";

json ProposalJson(const gov::ProposalRecord& record) {
  json out = json::parse(record.ToJson());
  return out;
}

}  // namespace

gov::VerifyRequestOptions Node::Impl::GovVerifyOptions() const {
  gov::VerifyRequestOptions options;
  options.service_id = gov::ServiceIdOf(*service_certificate);
  options.now_unix_seconds = UnixNow();
  return options;
}

void Node::Impl::AddGovRoutes() {
  router.Add("POST", "/gov/requests", Route(&Impl::HandleGovRequest));
  router.Add("GET", "/gov/proposals", Route(&Impl::HandleGovProposals));
  router.AddPrefix("GET", "/gov/proposals/", Route(&Impl::HandleGovProposal));
  router.Add("GET", "/gov/members", Route(&Impl::HandleGovMembers));
}

void Node::Impl::HandleGovRequest(const HttpRequest& request, const HttpRespond& respond) {
  if (auto redirect = RedirectToLeader(request)) return respond(*redirect);
  gov::Outcome outcome;
  Result<TxId> id = replica->Execute([&](kv::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(outcome, gov::ExecuteRequest(tx, AsBytes(request.body), GovVerifyOptions()));
    return OkStatus();
  });
  if (!id.ok()) {
    spdlog::info("node {}: governance request refused: {}", self_id, id.error().message);
    return respond(HttpResponse::FromError(id.error()));
  }
  const TxId tx_id = *id;
  SchedulePump();
  json body;
  body["transaction_id"] = tx_id.ToString();
  body["type"] = std::string(gov::RequestTypeName(outcome.type));
  body["proposal_id"] = outcome.proposal_id;
  body["state"] = std::string(gov::ProposalStateName(outcome.state));
  body["votes_for"] = outcome.votes_for;
  body["votes_against"] = outcome.votes_against;
  body["threshold"] = outcome.threshold;
  spdlog::info("node {}: governance {} on proposal {}: {} ({}/{} for; {})", self_id,
               gov::RequestTypeName(outcome.type), outcome.proposal_id.substr(0, 16),
               gov::ProposalStateName(outcome.state), outcome.votes_for, outcome.threshold,
               tx_id.ToString());
  Wait(tx_id, [respond, tx_id, text = body.dump()](TxStatus status) {
    HttpResponse response =
        status == TxStatus::kCommitted
            ? HttpResponse::Json(200, text)
            : HttpResponse::ErrorBody(503, "unavailable",
                                      "governance transaction " + tx_id.ToString() + " is " +
                                          std::string(TxStatusName(status)) +
                                          ": check the proposal, then submit again if needed");
    response.headers.emplace_back(kTxHeader, tx_id.ToString());
    respond(response);
  });
}

void Node::Impl::HandleGovProposals(const HttpRequest&, const HttpRespond& respond) {
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return respond(HttpResponse::FromError(tx.error()));
  Result<std::vector<gov::ProposalRecord>> proposals = gov::ListProposals(*tx, kMaxListedProposals);
  if (!proposals.ok()) return respond(HttpResponse::FromError(proposals.error()));
  json list = json::array();
  for (const gov::ProposalRecord& record : *proposals) list.push_back(ProposalJson(record));
  json out;
  out["proposals"] = std::move(list);
  respond(HttpResponse::Json(200, out.dump()));
}

void Node::Impl::HandleGovProposal(const HttpRequest& request, const HttpRespond& respond) {
  constexpr std::string_view kPrefix = "/gov/proposals/";
  const std::string id = request.path.substr(kPrefix.size());
  if (id.empty() || id.size() > 64 ||
      id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return respond(HttpResponse::ErrorBody(400, "invalid_argument",
                                           "a proposal id is up to 64 lower-case hex digits"));
  }
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return respond(HttpResponse::FromError(tx.error()));
  Result<gov::ProposalRecord> record = gov::ReadProposal(*tx, id);
  if (!record.ok()) return respond(HttpResponse::FromError(record.error()));
  json out = ProposalJson(*record);
  Result<size_t> threshold = gov::ThresholdFor(*tx, record->actions_json);
  if (threshold.ok()) out["threshold"] = *threshold;
  respond(HttpResponse::Json(200, out.dump()));
}

void Node::Impl::HandleGovMembers(const HttpRequest&, const HttpRespond& respond) {
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return respond(HttpResponse::FromError(tx.error()));
  Result<std::vector<gov::MemberRecord>> members = gov::ReadMembers(*tx);
  if (!members.ok()) return respond(HttpResponse::FromError(members.error()));
  json list = json::array();
  for (const gov::MemberRecord& member : *members) list.push_back(json::parse(member.ToJson()));
  json out;
  out["members"] = std::move(list);
  out["service_status"] = gov::ServiceStatus(*tx);
  out["join_mode"] = gov::JoinMode(*tx);
  Result<uint64_t> threshold = gov::RecoveryThreshold(*tx);
  out["recovery_threshold"] = threshold.ok() ? *threshold : 0;
  respond(HttpResponse::Json(200, out.dump()));
}

bool Node::Impl::ServiceOpen() {
  // A service never closes again once open (a recovered service is a new service, in a new
  // process), so the answer is remembered and the hot path of events reads nothing.
  if (service_open) return true;
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  service_open = tx.ok() && gov::ServiceStatus(*tx) == gov::kServiceOpen;
  return service_open;
}

}  // namespace cloister::node
