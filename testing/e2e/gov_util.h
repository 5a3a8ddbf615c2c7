// Governance from end-to-end tests: members sign requests for one service and submit them to
// POST /gov/requests (following redirects to the leader), as `cloister gov` does.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/base/result.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/x509.h"
#include "cloister/gov/proposals.h"
#include "cloister/gov/request.h"
#include "cloister/node/config.h"
#include "cloister/node/https_client.h"

namespace cloister::e2e {

struct TestMember {
  crypto::PrivateKey key;
  crypto::Certificate certificate;
};

// One HTTPS request to a node (the tests' own client, which pins the service certificate).
using GovCall =
    std::function<Result<node::HttpsResult>(const node::HostPort& server, const std::string& method,
                                            const std::string& target, const std::string& body)>;

inline Bytes SignGovRequest(const TestMember& member, const crypto::Certificate& service,
                            gov::RequestType type, const std::string& proposal_id,
                            std::string_view payload) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  gov::RequestHeaders headers{type, now, proposal_id, crypto::SecureRandomBytes(16),
                              gov::ServiceIdOf(service)};
  Result<Bytes> request =
      gov::SignRequest(member.key, member.certificate, headers, AsBytes(payload));
  return request.ok() ? *request : Bytes{};
}

// Posts a signed request, following redirects to the leader; the final answer.
inline Result<node::HttpsResult> PostGovRequest(const GovCall& call, node::HostPort server,
                                                ByteSpan request) {
  for (int hop = 0; hop < 4; ++hop) {
    ASSIGN_OR_RETURN(node::HttpsResult result,
                     call(server, "POST", "/gov/requests", ToString(request)));
    if (result.status != 307) return result;
    const std::string location = result.Header("location").value_or("");
    const std::string rest = location.substr(std::string("https://").size());
    ASSIGN_OR_RETURN(server, node::HostPort::Parse(rest.substr(0, rest.find('/'))));
  }
  return UnavailableError("too many redirects");
}

// The JSON answer of a request the node executed (HTTP 200), or the node's refusal as an error.
inline Result<nlohmann::json> SubmitGovRequest(const GovCall& call, const node::HostPort& server,
                                               ByteSpan request) {
  ASSIGN_OR_RETURN(node::HttpsResult result, PostGovRequest(call, server, request));
  if (result.status != 200) {
    return Error{ErrorCode::kFailedPrecondition,
                 "HTTP " + std::to_string(result.status) + ": " + result.body};
  }
  nlohmann::json body = nlohmann::json::parse(result.body, nullptr, false);
  if (!body.is_object()) return ParseError("governance answer is not JSON: ", result.body);
  return body;
}

// Proposes `action` (args a JSON object) as members[0]; returns the proposal id.
inline Result<std::string> Propose(const GovCall& call, const node::HostPort& server,
                                   const crypto::Certificate& service, const TestMember& member,
                                   std::string_view action, std::string_view args = "{}") {
  ASSIGN_OR_RETURN(std::string proposal, gov::MakeProposal(action, args));
  ASSIGN_OR_RETURN(
      nlohmann::json answer,
      SubmitGovRequest(call, server,
                       SignGovRequest(member, service, gov::RequestType::kProposal, "", proposal)));
  return answer["proposal_id"].get<std::string>();
}

// `member` votes for proposal `id`; returns the proposal's state after the ballot.
inline Result<std::string> VoteFor(const GovCall& call, const node::HostPort& server,
                                   const crypto::Certificate& service, const TestMember& member,
                                   const std::string& id) {
  ASSIGN_OR_RETURN(nlohmann::json answer,
                   SubmitGovRequest(call, server,
                                    SignGovRequest(member, service, gov::RequestType::kBallot, id,
                                                   R"({"vote":"for"})")));
  return answer["state"].get<std::string>();
}

// Proposes `action` as members[0], then every member votes for it until it is accepted.
inline Status PassProposal(const GovCall& call, const node::HostPort& server,
                           const crypto::Certificate& service,
                           const std::vector<TestMember>& members, std::string_view action,
                           std::string_view args = "{}") {
  ASSIGN_OR_RETURN(std::string id, Propose(call, server, service, members.at(0), action, args));
  for (const TestMember& member : members) {
    ASSIGN_OR_RETURN(std::string state, VoteFor(call, server, service, member, id));
    if (state == "accepted") return OkStatus();
    if (state != "open") return FailedPreconditionError("proposal ", id, " is ", state);
  }
  return FailedPreconditionError("proposal ", id, " is still open after every member voted");
}

}  // namespace cloister::e2e
