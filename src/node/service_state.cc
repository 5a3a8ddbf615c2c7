#include "cloister/node/service_state.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "cloister/crypto/hash.h"

namespace cloister::node {
namespace {

using nlohmann::json;

Result<json> ParseObject(std::string_view text, std::string_view what) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) {
    return ParseError(what, ": not a JSON object");
  }
  return value;
}

Result<std::string> StringField(const json& object, const char* name, std::string_view what) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return ParseError(what, ": field '", name, "' missing or not a string");
  }
  return it->get<std::string>();
}

Result<Bytes> Base64Field(const json& object, const char* name, std::string_view what) {
  ASSIGN_OR_RETURN(std::string text, StringField(object, name, what));
  Result<Bytes> bytes = Base64Decode(text);
  if (!bytes.ok()) return ParseError(what, ": field '", name, "' is not base64");
  return bytes;
}

Result<std::vector<Bytes>> Base64List(const json& object, const char* name, std::string_view what) {
  std::vector<Bytes> out;
  auto it = object.find(name);
  if (it == object.end()) return out;
  if (!it->is_array() || it->size() > 16) {
    return ParseError(what, ": field '", name, "' must be an array of at most 16 items");
  }
  for (const json& item : *it) {
    if (!item.is_string()) return ParseError(what, ": field '", name, "' holds a non-string");
    Result<Bytes> bytes = Base64Decode(item.get<std::string>());
    if (!bytes.ok()) return ParseError(what, ": field '", name, "' holds invalid base64");
    out.push_back(std::move(bytes).value());
  }
  return out;
}

json Base64Array(const std::vector<Bytes>& items) {
  json array = json::array();
  for (const Bytes& item : items) array.push_back(Base64Encode(item));
  return array;
}

}  // namespace

std::string NodeKey(uint64_t id) {
  char buffer[24];
  std::snprintf(buffer, sizeof(buffer), "%020llu", static_cast<unsigned long long>(id));
  return buffer;
}

Bytes AttestationReportData(const crypto::PublicKey& key, ByteSpan context) {
  return crypto::Sha256(Concat(key.ToSpkiDer(), context));
}

std::string ClaimsToJson(const tee::Claims& claims) {
  json out;
  out["platform"] = std::string(tee::PlatformName(claims.platform));
  out["insecure"] = claims.insecure;
  out["measurement"] = ToHex(claims.measurement);
  out["report_data"] = ToHex(claims.report_data);
  out["debug"] = claims.debug;
  out["product"] = claims.product;
  out["host_data"] = ToHex(claims.host_data);
  out["signer_id"] = ToHex(claims.signer_id);
  out["tcb_status"] = claims.tcb_status;
  out["signing_key"] = claims.signing_key;
  out["root_fingerprint"] = ToHex(claims.root_fingerprint);
  json versions = json::object();
  for (const auto& [name, value] : claims.security_versions) versions[name] = value;
  out["security_versions"] = versions;
  return out.dump();
}

std::string EvidenceToJson(const tee::Evidence& evidence) {
  json out;
  out["platform"] = std::string(tee::PlatformName(evidence.platform));
  out["raw"] = Base64Encode(evidence.raw);
  out["endorsements"] = Base64Array(evidence.endorsements);
  out["collateral"] = Base64Array(evidence.collateral);
  return out.dump();
}

Result<tee::Evidence> EvidenceFromJson(std::string_view text) {
  ASSIGN_OR_RETURN(json object, ParseObject(text, "evidence"));
  tee::Evidence evidence;
  ASSIGN_OR_RETURN(std::string platform, StringField(object, "platform", "evidence"));
  ASSIGN_OR_RETURN(evidence.platform, tee::ParsePlatform(platform));
  ASSIGN_OR_RETURN(evidence.raw, Base64Field(object, "raw", "evidence"));
  if (evidence.raw.empty() || evidence.raw.size() > (1u << 20)) {
    return ParseError("evidence: field 'raw' must hold 1 byte to 1 MiB");
  }
  ASSIGN_OR_RETURN(evidence.endorsements, Base64List(object, "endorsements", "evidence"));
  ASSIGN_OR_RETURN(evidence.collateral, Base64List(object, "collateral", "evidence"));
  return evidence;
}

std::string NodeInfo::ToJson() const {
  json out;
  out["id"] = id;
  out["certificate"] = certificate_pem;
  out["node_address"] = node_address;
  out["client_address"] = client_address;
  out["evidence"] = json::parse(EvidenceToJson(evidence));
  out["attestation_context"] = Base64Encode(attestation_context);
  out["claims"] = json::parse(claims_json.empty() ? "{}" : claims_json);
  out["status"] = status;
  return out.dump();
}

Result<NodeInfo> NodeInfo::FromJson(std::string_view text) {
  ASSIGN_OR_RETURN(json object, ParseObject(text, "node record"));
  NodeInfo info;
  auto id = object.find("id");
  if (id == object.end() || !id->is_number_unsigned()) {
    return ParseError("node record: field 'id' missing or not an unsigned number");
  }
  info.id = id->get<uint64_t>();
  ASSIGN_OR_RETURN(info.certificate_pem, StringField(object, "certificate", "node record"));
  ASSIGN_OR_RETURN(info.node_address, StringField(object, "node_address", "node record"));
  ASSIGN_OR_RETURN(info.client_address, StringField(object, "client_address", "node record"));
  ASSIGN_OR_RETURN(info.status, StringField(object, "status", "node record"));
  ASSIGN_OR_RETURN(info.attestation_context,
                   Base64Field(object, "attestation_context", "node record"));
  auto evidence = object.find("evidence");
  if (evidence == object.end() || !evidence->is_object()) {
    return ParseError("node record: field 'evidence' missing or not an object");
  }
  ASSIGN_OR_RETURN(info.evidence, EvidenceFromJson(evidence->dump()));
  auto claims = object.find("claims");
  if (claims == object.end() || !claims->is_object()) {
    return ParseError("node record: field 'claims' missing or not an object");
  }
  info.claims_json = claims->dump();
  return info;
}

Result<std::vector<NodeInfo>> ReadNodes(kv::Tx& tx) {
  std::vector<NodeInfo> nodes;
  kv::MapHandle* map = tx.ro(kNodesMap);
  std::string from;
  for (int page_count = 0; page_count < 1024; ++page_count) {
    kv::Page<std::string, std::string> page = map->range(from, std::nullopt, 256);
    for (const auto& [key, value] : page.items) {
      Result<NodeInfo> info = NodeInfo::FromJson(value);
      if (!info.ok()) return CorruptError("node ", key, ": ", info.error().message);
      nodes.push_back(std::move(info).value());
    }
    if (!page.next_key) return nodes;
    from = *page.next_key;
  }
  return OutOfRangeError("more than 262144 node records");
}

Result<std::string> ReadServiceValue(kv::Tx& tx, std::string_view key) {
  std::optional<std::string> value = tx.ro(kServiceMap)->get(key);
  if (!value) return NotFoundError("service record '", key, "' is missing");
  return *value;
}

}  // namespace cloister::node
