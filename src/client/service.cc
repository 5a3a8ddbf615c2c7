#include "cloister/client/service.h"

#include <nlohmann/json.hpp>

#include "cloister/client/event_sealer.h"
#include "cloister/crypto/hash.h"

namespace cloister::client {
namespace {

using nlohmann::json;

constexpr size_t kMaxNodes = 1024;
constexpr size_t kMaxEvidenceItems = 16;

Result<std::string> StringField(const json& object, const char* name, const std::string& where) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return ParseError(where, ": field '", name, "' missing or not a string");
  }
  return it->get<std::string>();
}

Result<uint64_t> UnsignedField(const json& object, const char* name, const std::string& where) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number_unsigned()) {
    return ParseError(where, ": field '", name, "' missing or not an unsigned integer");
  }
  return it->get<uint64_t>();
}

Result<Bytes> Base64Field(const json& object, const char* name, const std::string& where) {
  ASSIGN_OR_RETURN(std::string text, StringField(object, name, where));
  Result<Bytes> bytes = Base64Decode(text);
  if (!bytes.ok()) return ParseError(where, ": field '", name, "' is not valid base64");
  return bytes;
}

Result<std::vector<Bytes>> Base64List(const json& object, const char* name,
                                      const std::string& where) {
  std::vector<Bytes> items;
  auto it = object.find(name);
  if (it == object.end()) return items;
  if (!it->is_array() || it->size() > kMaxEvidenceItems) {
    return ParseError(where, ": field '", name, "' must be an array of at most ", kMaxEvidenceItems,
                      " strings");
  }
  for (const json& item : *it) {
    Result<Bytes> bytes = item.is_string() ? Base64Decode(item.get<std::string>())
                                           : Result<Bytes>(ParseError("not a string"));
    if (!bytes.ok()) return ParseError(where, ": field '", name, "' holds an invalid item");
    items.push_back(std::move(bytes).value());
  }
  return items;
}

Result<tee::Evidence> ParseEvidence(const json& node, const std::string& where) {
  auto it = node.find("evidence");
  if (it == node.end() || !it->is_object()) {
    return ParseError(where, ": field 'evidence' missing or not an object");
  }
  const std::string evidence_where = where + " evidence";
  tee::Evidence evidence;
  ASSIGN_OR_RETURN(std::string platform, StringField(*it, "platform", evidence_where));
  Result<tee::Platform> parsed = tee::ParsePlatform(platform);
  if (!parsed.ok()) return ParseError(evidence_where, ": unknown platform '", platform, "'");
  evidence.platform = *parsed;
  ASSIGN_OR_RETURN(evidence.raw, Base64Field(*it, "raw", evidence_where));
  if (evidence.raw.empty()) return ParseError(evidence_where, ": field 'raw' is empty");
  ASSIGN_OR_RETURN(evidence.endorsements, Base64List(*it, "endorsements", evidence_where));
  ASSIGN_OR_RETURN(evidence.collateral, Base64List(*it, "collateral", evidence_where));
  return evidence;
}

Result<NodeView> ParseNode(const json& node, size_t position) {
  std::string where = "nodes[" + std::to_string(position) + "]";
  if (!node.is_object()) return ParseError(where, ": not an object");
  NodeView view;
  ASSIGN_OR_RETURN(view.id, UnsignedField(node, "id", where));
  where = "node " + std::to_string(view.id);
  ASSIGN_OR_RETURN(view.certificate_pem, StringField(node, "certificate", where));
  ASSIGN_OR_RETURN(view.node_address, StringField(node, "node_address", where));
  ASSIGN_OR_RETURN(view.client_address, StringField(node, "client_address", where));
  ASSIGN_OR_RETURN(view.status, StringField(node, "status", where));
  ASSIGN_OR_RETURN(view.attestation_context, Base64Field(node, "attestation_context", where));
  ASSIGN_OR_RETURN(view.evidence, ParseEvidence(node, where));
  if (auto role = node.find("raft_role"); role != node.end() && role->is_string()) {
    view.raft_role = role->get<std::string>();
  }
  if (auto claims = node.find("claims"); claims != node.end() && claims->is_object()) {
    view.reported_claims_json = claims->dump();
  }
  return view;
}

std::string JoinReasons(const std::vector<std::string>& reasons) {
  std::string text;
  for (const std::string& reason : reasons) {
    if (!text.empty()) text += "; ";
    text += reason;
  }
  return text;
}

// Verifies one node; the error names the node and every reason.
Result<VerifiedNode> VerifyNode(const NodeView& node, const tee::Policy& expected,
                                int64_t now_unix_seconds) {
  const std::string where = "node " + std::to_string(node.id);
  Result<crypto::Certificate> certificate = crypto::Certificate::FromPem(node.certificate_pem);
  if (!certificate.ok()) {
    return VerificationError(where, ": certificate: ", certificate.error().message);
  }
  Result<crypto::PublicKey> key = certificate->SubjectPublicKey();
  if (!key.ok()) return VerificationError(where, ": certificate key: ", key.error().message);
  tee::VerifyOptions options;
  options.at_unix_seconds = now_unix_seconds;
  Result<tee::Claims> claims = tee::VerifyEvidence(node.evidence, options);
  if (!claims.ok()) {
    return VerificationError(where, ": evidence does not verify: ", claims.error().message);
  }
  tee::EvaluationContext context;
  context.now_unix_seconds = now_unix_seconds;
  context.expected_report_data = ExpectedReportData(*key, node.attestation_context);
  const tee::Decision decision = expected.Evaluate(*claims, context);
  if (!decision.allowed) {
    return PolicyError(where, " (", tee::PlatformName(claims->platform),
                       ") is refused by the expected policy: ", JoinReasons(decision.reasons));
  }
  return VerifiedNode{node.id,         node.client_address,       node.status,      node.raft_role,
                      std::move(*key), std::move(claims).value(), decision.warnings};
}

}  // namespace

Bytes ExpectedReportData(const crypto::PublicKey& key, ByteSpan context) {
  return crypto::Sha256(Concat(key.ToSpkiDer(), context));
}

Result<ServiceView> ParseServiceView(std::string_view json_text) {
  const json document = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return ParseError("attestation document: not a JSON object");
  }
  const std::string where = "attestation document";
  ServiceView view;
  ASSIGN_OR_RETURN(view.service_certificate_pem,
                   StringField(document, "service_certificate", where));
  ASSIGN_OR_RETURN(view.hpke_public_key, Base64Field(document, "hpke_public_key", where));
  ASSIGN_OR_RETURN(view.hpke_suite, StringField(document, "hpke_suite", where));
  if (auto ledger_id = document.find("ledger_id");
      ledger_id != document.end() && ledger_id->is_string()) {
    view.ledger_id = ledger_id->get<std::string>();
  }
  if (auto leader = document.find("leader_id");
      leader != document.end() && leader->is_number_unsigned()) {
    view.leader_id = leader->get<uint64_t>();
  }
  if (auto policy = document.find("policy"); policy != document.end() && policy->is_object()) {
    view.policy_json = policy->dump();
  }
  auto nodes = document.find("nodes");
  if (nodes == document.end() || !nodes->is_array()) {
    return ParseError(where, ": field 'nodes' missing or not an array");
  }
  if (nodes->size() > kMaxNodes) {
    return ParseError(where, ": ", nodes->size(), " nodes, at most ", kMaxNodes, " accepted");
  }
  for (size_t i = 0; i < nodes->size(); ++i) {
    ASSIGN_OR_RETURN(NodeView node, ParseNode((*nodes)[i], i));
    view.nodes.push_back(std::move(node));
  }
  return view;
}

Result<VerifiedService> VerifyService(const ServiceView& view, const tee::Policy& expected,
                                      const crypto::Certificate& pinned_service_certificate,
                                      int64_t now_unix_seconds) {
  Result<crypto::Certificate> presented =
      crypto::Certificate::FromPem(view.service_certificate_pem);
  if (!presented.ok()) {
    return VerificationError("service certificate: ", presented.error().message);
  }
  if (presented->Der() != pinned_service_certificate.Der()) {
    return VerificationError("the service presents certificate ", ToHex(presented->Fingerprint()),
                             ", not the pinned service certificate ",
                             ToHex(pinned_service_certificate.Fingerprint()));
  }
  if (view.hpke_suite != kEventSuiteName) {
    return UnsupportedError("service HPKE suite '", view.hpke_suite, "', expected '",
                            kEventSuiteName, "'");
  }
  Result<crypto::PublicKey> hpke_key =
      crypto::PublicKey::FromRaw(crypto::KeyType::kX25519, view.hpke_public_key);
  if (!hpke_key.ok()) {
    return VerificationError("service HPKE key: ", hpke_key.error().message);
  }
  std::vector<VerifiedNode> verified;
  std::vector<std::string> failures;
  ErrorCode failure_code = ErrorCode::kPolicy;
  for (const NodeView& node : view.nodes) {
    if (node.status == kNodeRetired) continue;
    Result<VerifiedNode> result = VerifyNode(node, expected, now_unix_seconds);
    if (result.ok()) {
      verified.push_back(std::move(result).value());
    } else {
      if (result.error().code == ErrorCode::kVerification) failure_code = ErrorCode::kVerification;
      failures.push_back(result.error().message);
    }
  }
  if (!failures.empty()) {
    return Error{failure_code, "the service is refused: " + JoinReasons(failures)};
  }
  if (verified.empty()) return VerificationError("the service lists no node that is not retired");
  return VerifiedService{*presented, std::move(hpke_key).value(), view.ledger_id, view.leader_id,
                         std::move(verified)};
}

}  // namespace cloister::client
