#include "cloister/gov/tables.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <set>

#include "cloister/crypto/hash.h"
#include "gov/json_util.h"

namespace cloister::gov {
namespace {

using nlohmann::json;

constexpr size_t kX25519KeySize = 32;

bool LooksLikePem(std::string_view value) { return value.starts_with("-----BEGIN"); }

}  // namespace

std::string MemberIdOf(const crypto::Certificate& certificate) {
  return ToHex(crypto::Sha256(certificate.Der()));
}

std::string MemberRecord::ToJson() const {
  json out;
  out["id"] = id;
  out["certificate"] = certificate_pem;
  out["encryption_public_key"] = Base64Encode(encryption_public_key);
  out["status"] = status;
  return out.dump();
}

Result<MemberRecord> MakeMemberRecord(std::string_view certificate_pem,
                                      ByteSpan encryption_public_key) {
  Result<crypto::Certificate> certificate = crypto::Certificate::FromPem(certificate_pem);
  if (!certificate.ok()) {
    return InvalidArgumentError("member certificate: ", certificate.error().message);
  }
  if (!encryption_public_key.empty() && encryption_public_key.size() != kX25519KeySize) {
    return InvalidArgumentError("member encryption key is ", encryption_public_key.size(),
                                " bytes, expected ", kX25519KeySize, " (raw X25519)");
  }
  MemberRecord record;
  record.id = MemberIdOf(*certificate);
  record.certificate_pem = certificate->Pem();
  record.encryption_public_key.assign(encryption_public_key.begin(), encryption_public_key.end());
  return record;
}

Result<MemberRecord> MemberRecord::Parse(std::string_view value) {
  if (LooksLikePem(value)) return MakeMemberRecord(value, {});
  ASSIGN_OR_RETURN(json object, ParseJsonObject(value, "member record"));
  ASSIGN_OR_RETURN(std::string id, JsonString(object, "id", "member record"));
  ASSIGN_OR_RETURN(std::string pem, JsonString(object, "certificate", "member record"));
  ASSIGN_OR_RETURN(std::string key_text,
                   JsonString(object, "encryption_public_key", "member record"));
  ASSIGN_OR_RETURN(std::string status, JsonString(object, "status", "member record"));
  Result<Bytes> key = Base64Decode(key_text);
  if (!key.ok()) return ParseError("member record: encryption_public_key is not base64");
  ASSIGN_OR_RETURN(MemberRecord record, MakeMemberRecord(pem, *key));
  if (record.id != id) {
    return CorruptError("member record: id ", id, " does not match its certificate (", record.id,
                        ")");
  }
  record.status = std::move(status);
  return record;
}

Status WriteGenesisGovernance(kv::Tx& tx, const std::vector<GenesisMember>& members,
                              uint64_t recovery_threshold, std::string_view join_mode) {
  if (members.empty() || members.size() > kMaxMembers) {
    return InvalidArgumentError("genesis needs 1 to ", kMaxMembers, " members, got ",
                                members.size());
  }
  if (join_mode != kJoinAutomatic && join_mode != kJoinVote) {
    return InvalidArgumentError("join mode '", join_mode, "' is neither automatic nor vote");
  }
  std::set<std::string> ids;
  uint64_t with_key = 0;
  for (const GenesisMember& member : members) {
    ASSIGN_OR_RETURN(MemberRecord record,
                     MakeMemberRecord(member.certificate_pem, member.encryption_public_key));
    if (!ids.insert(record.id).second) {
      return AlreadyExistsError("member ", record.id, " is listed twice");
    }
    if (!record.encryption_public_key.empty()) ++with_key;
    RETURN_IF_ERROR(tx.rw(kMembersMap)->put(record.id, record.ToJson()));
  }
  if (recovery_threshold > with_key || (with_key > 0 && recovery_threshold == 0)) {
    return InvalidArgumentError("recovery threshold ", recovery_threshold, " must be 1 to ",
                                with_key, " (members with an encryption key)");
  }
  kv::MapHandle* service = tx.rw(kServiceMap);
  RETURN_IF_ERROR(service->put(kServiceStatusKey, kServiceOpening));
  RETURN_IF_ERROR(service->put(kJoinModeKey, join_mode));
  return service->put(kRecoveryThresholdKey, std::to_string(recovery_threshold));
}

Result<std::vector<MemberRecord>> ReadMembers(kv::Tx& tx) {
  kv::Page<std::string, std::string> page =
      tx.ro(kMembersMap)->range("", std::nullopt, kMaxMembers + 1);
  if (page.items.size() > kMaxMembers) {
    return CorruptError("more than ", kMaxMembers, " member records");
  }
  std::vector<MemberRecord> members;
  for (const auto& [key, value] : page.items) {
    Result<MemberRecord> record = MemberRecord::Parse(value);
    if (!record.ok()) return CorruptError("member ", key, ": ", record.error().message);
    members.push_back(std::move(record).value());
  }
  return members;
}

Result<StoredMember> FindMember(kv::Tx& tx, std::string_view member_id) {
  // Direct hit first (gov's own records are keyed by id), then the node's positional form.
  if (std::optional<std::string> value = tx.ro(kMembersMap)->get(member_id)) {
    Result<MemberRecord> record = MemberRecord::Parse(*value);
    if (!record.ok()) return CorruptError("member ", member_id, ": ", record.error().message);
    if (record->id == member_id) return StoredMember{std::string(member_id), *record};
  }
  kv::Page<std::string, std::string> page =
      tx.ro(kMembersMap)->range("", std::nullopt, kMaxMembers + 1);
  for (const auto& [key, value] : page.items) {
    Result<MemberRecord> record = MemberRecord::Parse(value);
    if (record.ok() && record->id == member_id) return StoredMember{key, *record};
  }
  return NotFoundError("no member with id ", member_id);
}

Result<size_t> ActiveMemberCount(kv::Tx& tx) {
  ASSIGN_OR_RETURN(std::vector<MemberRecord> members, ReadMembers(tx));
  size_t active = 0;
  for (const MemberRecord& member : members) active += member.status == "active" ? 1u : 0u;
  return active;
}

std::string ServiceStatus(kv::Tx& tx) {
  return tx.ro(kServiceMap)->get(kServiceStatusKey).value_or(std::string(kServiceOpening));
}

std::string JoinMode(kv::Tx& tx) {
  return tx.ro(kServiceMap)->get(kJoinModeKey).value_or(std::string(kJoinAutomatic));
}

Result<uint64_t> RecoveryThreshold(kv::Tx& tx) {
  std::optional<std::string> text = tx.ro(kServiceMap)->get(kRecoveryThresholdKey);
  if (!text) return uint64_t{0};
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) {
    return CorruptError("service recovery_threshold '", *text, "' is not a decimal number");
  }
  return value;
}

std::string NodeRequest::ToJson() const {
  json out;
  out["count"] = count;
  out["proposal_id"] = proposal_id;
  return out.dump();
}

Result<NodeRequest> NodeRequest::FromJson(std::string_view text) {
  ASSIGN_OR_RETURN(json object, ParseJsonObject(text, "node request"));
  NodeRequest request;
  ASSIGN_OR_RETURN(request.count, JsonUint(object, "count", "node request"));
  ASSIGN_OR_RETURN(request.proposal_id, JsonString(object, "proposal_id", "node request"));
  return request;
}

Result<NodeRequest> ReadNodeRequest(kv::Tx& tx, std::string_view key) {
  std::optional<std::string> value = tx.ro(kNodeRequestsMap)->get(key);
  if (!value) return NodeRequest{};
  Result<NodeRequest> request = NodeRequest::FromJson(*value);
  if (!request.ok()) return CorruptError("node request ", key, ": ", request.error().message);
  return request;
}

}  // namespace cloister::gov
