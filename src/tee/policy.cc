// Attestation policy evaluation and loading (policy.h).
#include "cloister/tee/policy.h"

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <sstream>

#include "cloister/base/clock.h"
#include "cloister/tee/virtual_tee.h"

namespace cloister::tee {
namespace {

using Json = nlohmann::json;

constexpr Platform kHardwarePlatforms[] = {Platform::kSevSnp, Platform::kTdx, Platform::kSgx,
                                           Platform::kNitro};

bool Contains(const std::vector<Bytes>& list, const Bytes& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string DebugReason(Platform platform) {
  switch (platform) {
    case Platform::kSevSnp:
      return "debug: the SEV-SNP guest policy allows host debugging (POLICY bit 19)";
    case Platform::kTdx:
      return "debug: TDATTRIBUTES.DEBUG is set, the host can inspect the TD";
    case Platform::kSgx:
      return "debug: ATTRIBUTES.DEBUG is set, the enclave is a debug enclave";
    case Platform::kNitro:
      return "debug: PCR0, PCR1 and PCR2 are all zero (a debug-mode enclave)";
    case Platform::kVirtual:
      return "debug: the simulated TEE reports debug";
  }
  return "debug";
}

void CheckRule(const PlatformRule& rule, const Claims& claims, Decision* decision) {
  const std::string platform(PlatformName(claims.platform));
  if (rule.measurements.empty()) {
    decision->warnings.push_back("policy allows any measurement for " + platform);
  } else if (!Contains(rule.measurements, claims.measurement)) {
    decision->reasons.push_back("measurement " + ToHex(claims.measurement) +
                                " is not allowed for " + platform);
  }
  if (!rule.host_data.empty() && !Contains(rule.host_data, claims.host_data)) {
    decision->reasons.push_back("host data " + ToHex(claims.host_data) + " is not allowed for " +
                                platform);
  }
  if (!rule.signer_ids.empty() && !Contains(rule.signer_ids, claims.signer_id)) {
    decision->reasons.push_back("signer " + ToHex(claims.signer_id) + " is not allowed for " +
                                platform);
  }
  for (const auto& [name, minimum] : rule.min_security_versions) {
    const std::optional<uint64_t> value = claims.SecurityVersion(name);
    if (!value) {
      decision->reasons.push_back("security version '" + name + "' is not reported by " + platform +
                                  " evidence");
    } else if (*value < minimum) {
      decision->reasons.push_back("security version " + name + " = " + std::to_string(*value) +
                                  " is below the minimum " + std::to_string(minimum));
    }
  }
  if (claims.debug && !rule.allow_debug) decision->reasons.push_back(DebugReason(claims.platform));
}

void CheckTcb(const Policy& policy, const Claims& claims, Decision* decision) {
  auto accepted = [&policy](const std::string& status) {
    return std::find(policy.accepted_tcb_statuses.begin(), policy.accepted_tcb_statuses.end(),
                     status) != policy.accepted_tcb_statuses.end();
  };
  if (!claims.tcb_status.empty() && !accepted(claims.tcb_status)) {
    std::string reason = "TCB status " + claims.tcb_status + " is not accepted";
    if (claims.tcb_status == "NotSupported") {
      reason += " (no TCB level of the collateral matches: TCB not supported)";
    }
    for (const std::string& advisory : claims.advisory_ids) reason += " " + advisory;
    decision->reasons.push_back(reason);
  }
  for (const char* field : {"qe_tcb_status", "tdx_module_tcb_status"}) {
    const std::optional<std::string> status = claims.RawField(field);
    if (status && !accepted(*status)) {
      decision->reasons.push_back(std::string(field) + " " + *status + " is not accepted");
    }
  }
  if (claims.tcb_status.empty() &&
      (claims.platform == Platform::kTdx || claims.platform == Platform::kSgx)) {
    if (policy.require_tcb_status) {
      decision->reasons.push_back("TCB status unknown: the policy requires collateral");
    } else {
      decision->warnings.push_back("TCB status unknown: no collateral was given");
    }
  }
}

void CheckTimes(const Policy& policy, const Claims& claims, const EvaluationContext& context,
                Decision* decision) {
  const int64_t now = context.now_unix_seconds;
  // Nitro leaves live hours by design; their freshness rule is the document age below.
  if (claims.platform != Platform::kNitro && claims.endorsement_not_after != 0 &&
      now > claims.endorsement_not_after) {
    const std::string reason = "expired endorsement: '" + claims.endorsement_expiring_subject +
                               "' (" + claims.signing_key + " chain) expired at " +
                               FormatRfc3339(claims.endorsement_not_after);
    (policy.allow_expired_endorsements ? decision->warnings : decision->reasons).push_back(reason);
  }
  if (claims.collateral_next_update != 0 && now > claims.collateral_next_update) {
    const std::string reason =
        "stale collateral: nextUpdate was " + FormatRfc3339(claims.collateral_next_update);
    (policy.allow_stale_collateral ? decision->warnings : decision->reasons).push_back(reason);
  }
  if (claims.platform == Platform::kNitro && policy.max_document_age_seconds) {
    const int64_t age = now - claims.timestamp_unix_millis / 1000;
    if (age > *policy.max_document_age_seconds) {
      decision->reasons.push_back(
          "Nitro document is " + std::to_string(age) + " s old (timestamp " +
          FormatRfc3339(claims.timestamp_unix_millis / 1000) + "), more than " +
          std::to_string(*policy.max_document_age_seconds) + " s");
    }
  }
}

}  // namespace

Policy Policy::DefaultProduction() {
  Policy policy;
  for (Platform platform : kHardwarePlatforms) policy.platforms.push_back({.platform = platform});
  return policy;
}

Policy Policy::Development() {
  Policy policy = DefaultProduction();
  policy.platforms.push_back({.platform = Platform::kVirtual});
  policy.simulated_roots.push_back(SimulatedRootFingerprint());
  return policy;
}

const PlatformRule* Policy::RuleFor(Platform platform) const {
  for (const PlatformRule& rule : platforms) {
    if (rule.platform == platform) return &rule;
  }
  return nullptr;
}

Decision Policy::Evaluate(const Claims& claims, const EvaluationContext& context) const {
  Decision decision;
  const std::string platform(PlatformName(claims.platform));
  if (claims.insecure || claims.platform == Platform::kVirtual) {
    if (!Contains(simulated_roots, claims.root_fingerprint)) {
      decision.reasons.push_back("simulated TEE refused: the policy does not name simulated root " +
                                 ToHex(claims.root_fingerprint));
    } else {
      decision.warnings.push_back("simulated TEE: no hardware isolation (allowed by policy)");
    }
  }
  const PlatformRule* rule = RuleFor(claims.platform);
  if (rule == nullptr) {
    decision.reasons.push_back("platform " + platform + " is not allowed by the policy");
  } else {
    CheckRule(*rule, claims, &decision);
  }
  CheckTcb(*this, claims, &decision);
  CheckTimes(*this, claims, context, &decision);
  if (context.expected_report_data) {
    const Bytes& expected = *context.expected_report_data;
    const ByteSpan actual(claims.report_data);
    if (expected.size() > actual.size() ||
        !std::equal(expected.begin(), expected.end(), actual.begin()) ||
        !IsAllZero(actual.subspan(expected.size()))) {
      decision.reasons.push_back("report_data " + ToHex(claims.report_data) +
                                 " does not bind the expected " + ToHex(expected));
    }
  }
  decision.allowed = decision.reasons.empty();
  return decision;
}

namespace {

Result<std::vector<Bytes>> HexList(const Json& rule, const char* key) {
  std::vector<Bytes> out;
  if (!rule.contains(key)) return out;
  if (!rule[key].is_array()) return ParseError("policy: '", key, "' must be a list of hex strings");
  for (const Json& item : rule[key]) {
    if (!item.is_string()) return ParseError("policy: '", key, "' entries must be hex strings");
    Result<Bytes> bytes = FromHex(item.get<std::string>());
    if (!bytes.ok()) return std::move(bytes).error().WithContext(std::string("policy: ") + key);
    out.push_back(std::move(bytes).value());
  }
  return out;
}

Status CheckKeys(const Json& object, std::initializer_list<std::string_view> known,
                 std::string_view where) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return ParseError("policy: unknown key '", key, "' in ", where);
    }
  }
  return OkStatus();
}

Result<bool> Flag(const Json& object, const char* key, bool fallback) {
  if (!object.contains(key)) return fallback;
  if (!object[key].is_boolean()) return ParseError("policy: '", key, "' must be true or false");
  return object[key].get<bool>();
}

Result<PlatformRule> ParseRule(Platform platform, const Json& json) {
  if (!json.is_object()) return ParseError("policy: platform rule must be an object");
  RETURN_IF_ERROR(CheckKeys(
      json, {"measurements", "host_data", "signer_ids", "min_security_versions", "allow_debug"},
      PlatformName(platform)));
  PlatformRule rule{.platform = platform};
  ASSIGN_OR_RETURN(rule.measurements, HexList(json, "measurements"));
  ASSIGN_OR_RETURN(rule.host_data, HexList(json, "host_data"));
  ASSIGN_OR_RETURN(rule.signer_ids, HexList(json, "signer_ids"));
  ASSIGN_OR_RETURN(rule.allow_debug, Flag(json, "allow_debug", false));
  if (json.contains("min_security_versions")) {
    const Json& versions = json["min_security_versions"];
    if (!versions.is_object()) return ParseError("policy: min_security_versions must be a table");
    for (const auto& [name, value] : versions.items()) {
      if (!value.is_number_unsigned()) {
        return ParseError("policy: minimum for '", name, "' must be a non-negative integer");
      }
      rule.min_security_versions.emplace_back(name, value.get<uint64_t>());
    }
  }
  return rule;
}

Result<Policy> PolicyFromJsonValue(const Json& json) {
  if (!json.is_object()) return ParseError("policy must be a JSON object");
  RETURN_IF_ERROR(CheckKeys(
      json,
      {"platforms", "simulated_roots", "accepted_tcb_statuses", "require_tcb_status",
       "allow_expired_endorsements", "allow_stale_collateral", "max_document_age_seconds"},
      "the policy"));
  Policy policy;
  if (!json.contains("platforms") || !json["platforms"].is_object()) {
    return ParseError("policy: 'platforms' must be a table of platform rules");
  }
  std::set<Platform> seen;
  for (const auto& [name, rule_json] : json["platforms"].items()) {
    ASSIGN_OR_RETURN(const Platform platform, ParsePlatform(name));
    if (!seen.insert(platform).second) return ParseError("policy: platform '", name, "' twice");
    ASSIGN_OR_RETURN(PlatformRule rule, ParseRule(platform, rule_json));
    policy.platforms.push_back(std::move(rule));
  }
  ASSIGN_OR_RETURN(policy.simulated_roots, HexList(json, "simulated_roots"));
  if (json.contains("accepted_tcb_statuses")) {
    policy.accepted_tcb_statuses.clear();
    for (const Json& status : json["accepted_tcb_statuses"]) {
      if (!status.is_string()) return ParseError("policy: TCB statuses must be strings");
      policy.accepted_tcb_statuses.push_back(status.get<std::string>());
    }
  }
  ASSIGN_OR_RETURN(policy.require_tcb_status, Flag(json, "require_tcb_status", false));
  ASSIGN_OR_RETURN(policy.allow_expired_endorsements,
                   Flag(json, "allow_expired_endorsements", false));
  ASSIGN_OR_RETURN(policy.allow_stale_collateral, Flag(json, "allow_stale_collateral", false));
  if (json.contains("max_document_age_seconds")) {
    const Json& age = json["max_document_age_seconds"];
    if (age.is_null()) {
      policy.max_document_age_seconds.reset();
    } else if (age.is_number_unsigned()) {
      policy.max_document_age_seconds = age.get<int64_t>();
    } else {
      return ParseError("policy: max_document_age_seconds must be a non-negative integer");
    }
  }
  return policy;
}

}  // namespace

Result<Policy> Policy::FromJson(std::string_view text) {
  const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return ParseError("policy is not valid JSON");
  try {
    return PolicyFromJsonValue(json);
  } catch (const Json::exception& error) {
    return ParseError("policy is malformed: ", error.what());
  }
}

Result<Policy> Policy::FromToml(std::string_view text) {
  toml::table table;
  try {
    table = toml::parse(text, std::string_view("policy"));
  } catch (const toml::parse_error& error) {
    return ParseError("policy TOML: ", error.description(), " at line ",
                      static_cast<uint64_t>(error.source().begin.line));
  }
  // TOML and JSON policies share one schema: convert through toml++'s JSON formatter.
  std::ostringstream json;
  json << toml::json_formatter(table);
  return FromJson(json.str());
}

std::string Policy::ToJson() const {
  Json json;
  json["platforms"] = Json::object();
  auto hex_list = [](const std::vector<Bytes>& list) {
    Json out = Json::array();
    for (const Bytes& item : list) out.push_back(ToHex(item));
    return out;
  };
  for (const PlatformRule& rule : platforms) {
    Json versions = Json::object();
    for (const auto& [name, minimum] : rule.min_security_versions) versions[name] = minimum;
    json["platforms"][std::string(PlatformName(rule.platform))] = {
        {"measurements", hex_list(rule.measurements)},
        {"host_data", hex_list(rule.host_data)},
        {"signer_ids", hex_list(rule.signer_ids)},
        {"min_security_versions", versions},
        {"allow_debug", rule.allow_debug}};
  }
  json["simulated_roots"] = hex_list(simulated_roots);
  json["accepted_tcb_statuses"] = accepted_tcb_statuses;
  json["require_tcb_status"] = require_tcb_status;
  json["allow_expired_endorsements"] = allow_expired_endorsements;
  json["allow_stale_collateral"] = allow_stale_collateral;
  json["max_document_age_seconds"] =
      max_document_age_seconds ? Json(*max_document_age_seconds) : Json(nullptr);
  return json.dump(2);
}

}  // namespace cloister::tee
