#include "gov/actions.h"

#include <algorithm>
#include <cstdio>

#include "cloister/crypto/hash.h"
#include "cloister/crypto/x509.h"
#include "cloister/gov/proposals.h"
#include "cloister/gov/tables.h"
#include "cloister/tee/policy.h"
#include "gov/json_util.h"

namespace cloister::gov {
namespace {

using nlohmann::json;

constexpr size_t kMaxMeasurementBytes = 64;
constexpr size_t kMaxHostDataItems = 16;

// ---- argument readers -------------------------------------------------------------------------

// The status of a Result, dropping its value.
template <typename T>
Status StatusOf(const Result<T>& result) {
  return result.ok() ? OkStatus() : Status(result.error());
}

Status NoArgs(const json& args) { return JsonOnlyKeys(args, {}, "arguments"); }

Result<Bytes> HexArg(const json& args, const char* name, size_t max_bytes) {
  ASSIGN_OR_RETURN(std::string text, JsonString(args, name, "arguments"));
  Result<Bytes> bytes = FromHex(text);
  if (!bytes.ok() || bytes->empty() || bytes->size() > max_bytes) {
    return InvalidArgumentError("argument '", name, "' must be 1 to ", max_bytes, " bytes of hex");
  }
  return bytes;
}

Result<tee::Platform> PlatformArg(const json& args) {
  ASSIGN_OR_RETURN(std::string name, JsonString(args, "platform", "arguments"));
  return tee::ParsePlatform(name);
}

Result<crypto::Certificate> CertificateArg(const json& args) {
  ASSIGN_OR_RETURN(std::string pem, JsonString(args, "certificate", "arguments"));
  Result<crypto::Certificate> certificate = crypto::Certificate::FromPem(pem);
  if (!certificate.ok()) {
    return InvalidArgumentError("argument 'certificate': ", certificate.error().message);
  }
  return certificate;
}

Result<Bytes> EncryptionKeyArg(const json& args) {
  if (!args.contains("encryption_public_key")) return Bytes{};
  ASSIGN_OR_RETURN(std::string text, JsonString(args, "encryption_public_key", "arguments"));
  Result<Bytes> key = Base64Decode(text);
  if (!key.ok() || key->size() != 32) {
    return InvalidArgumentError(
        "argument 'encryption_public_key' must be the base64 of a raw "
        "32-byte X25519 key");
  }
  return key;
}

// A threshold is "majority" or a count in 1..kMaxMembers.
Status CheckThresholdValue(const json& value) {
  if (value.is_string() && value.get<std::string>() == "majority") return OkStatus();
  if (value.is_number_unsigned()) {
    const uint64_t count = value.get<uint64_t>();
    if (count >= 1 && count <= kMaxMembers) return OkStatus();
  }
  return InvalidArgumentError("a threshold is \"majority\" or a count from 1 to ", kMaxMembers);
}

std::string NodeKeyOf(uint64_t id) {
  char buffer[24];
  std::snprintf(buffer, sizeof(buffer), "%020llu", static_cast<unsigned long long>(id));
  return buffer;
}

// ---- shared effects ---------------------------------------------------------------------------

Status BumpNodeRequest(const ActionContext& context, std::string_view key) {
  ASSIGN_OR_RETURN(NodeRequest request, ReadNodeRequest(*context.tx, key));
  request.count += 1;
  request.proposal_id = context.proposal_id;
  return context.tx->rw(kNodeRequestsMap)->put(key, request.ToJson());
}

Result<uint64_t> MembersWithEncryptionKey(kv::Tx& tx) {
  ASSIGN_OR_RETURN(std::vector<MemberRecord> members, ReadMembers(tx));
  uint64_t count = 0;
  for (const MemberRecord& member : members) {
    count += (member.status == "active" && !member.encryption_public_key.empty()) ? 1u : 0u;
  }
  return count;
}

Result<tee::Policy> ReadPolicy(kv::Tx& tx) {
  std::optional<std::string> text = tx.ro(kPolicyMap)->get(kPolicyKey);
  if (!text) return FailedPreconditionError("the service has no policy record");
  Result<tee::Policy> policy = tee::Policy::FromJson(*text);
  if (!policy.ok()) return CorruptError("policy record: ", policy.error().message);
  return policy;
}

Status WritePolicy(kv::Tx& tx, const tee::Policy& policy) {
  return tx.rw(kPolicyMap)->put(kPolicyKey, policy.ToJson());
}

Result<tee::PlatformRule*> RuleOf(tee::Policy& policy, tee::Platform platform) {
  for (tee::PlatformRule& rule : policy.platforms) {
    if (rule.platform == platform) return &rule;
  }
  return FailedPreconditionError("the policy has no rule for platform ",
                                 tee::PlatformName(platform));
}

// ---- actions ----------------------------------------------------------------------------------

Status ApplyOpenNetwork(const ActionContext& context, const json&) {
  const std::string status = ServiceStatus(*context.tx);
  if (status == kServiceOpen) return FailedPreconditionError("the network is already open");
  if (status == kServiceRecovering) {
    return FailedPreconditionError(
        "the service is recovering: a threshold of members must submit their recovery shares "
        "(docs/recovery.md) before it can be opened");
  }
  return context.tx->rw(kServiceMap)->put(kServiceStatusKey, kServiceOpen);
}

Status CheckAddMember(const json& args) {
  RETURN_IF_ERROR(JsonOnlyKeys(args, {"certificate", "encryption_public_key"}, "arguments"));
  RETURN_IF_ERROR(CertificateArg(args));
  return StatusOf(EncryptionKeyArg(args));
}

Status ApplyAddMember(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(crypto::Certificate certificate, CertificateArg(args));
  ASSIGN_OR_RETURN(Bytes key, EncryptionKeyArg(args));
  ASSIGN_OR_RETURN(MemberRecord record, MakeMemberRecord(certificate.Pem(), key));
  if (FindMember(*context.tx, record.id).ok()) {
    return AlreadyExistsError("member ", record.id, " already exists");
  }
  ASSIGN_OR_RETURN(std::vector<MemberRecord> members, ReadMembers(*context.tx));
  if (members.size() >= kMaxMembers) {
    return FailedPreconditionError("the service already has ", kMaxMembers, " members");
  }
  RETURN_IF_ERROR(context.tx->rw(kMembersMap)->put(record.id, record.ToJson()));
  if (key.empty()) return OkStatus();
  return BumpNodeRequest(context, kReissueRecoveryShares);
}

Status CheckMemberId(const json& args) {
  RETURN_IF_ERROR(JsonOnlyKeys(args, {"member_id"}, "arguments"));
  if (!HexArg(args, "member_id", 32).ok()) {
    return InvalidArgumentError("argument 'member_id' must be a 64-digit hex member id");
  }
  return OkStatus();
}

Status ApplyRemoveMember(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(std::string id, JsonString(args, "member_id", "arguments"));
  ASSIGN_OR_RETURN(StoredMember member, FindMember(*context.tx, id));
  ASSIGN_OR_RETURN(size_t active, ActiveMemberCount(*context.tx));
  if (active <= 1 && member.record.status == "active") {
    return FailedPreconditionError("cannot remove the last active member");
  }
  ASSIGN_OR_RETURN(uint64_t with_key, MembersWithEncryptionKey(*context.tx));
  ASSIGN_OR_RETURN(uint64_t recovery, RecoveryThreshold(*context.tx));
  const bool holds_share = !member.record.encryption_public_key.empty();
  if (holds_share && recovery > with_key - 1) {
    return FailedPreconditionError("removing member ", id, " leaves ", with_key - 1,
                                   " members with recovery keys, below the recovery threshold ",
                                   recovery, ": lower the threshold first");
  }
  RETURN_IF_ERROR(context.tx->rw(kMembersMap)->remove(member.key));
  RETURN_IF_ERROR(context.tx->rw(kRecoverySharesMap)->remove(id));
  if (!holds_share) return OkStatus();
  return BumpNodeRequest(context, kReissueRecoveryShares);
}

Status CheckAddUser(const json& args) {
  RETURN_IF_ERROR(JsonOnlyKeys(args, {"certificate"}, "arguments"));
  return StatusOf(CertificateArg(args));
}

Status ApplyAddUser(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(crypto::Certificate certificate, CertificateArg(args));
  const std::string id = ToHex(crypto::Sha256(certificate.Der()));
  kv::MapHandle* users = context.tx->rw(kUsersMap);
  if (users->has(id)) return AlreadyExistsError("user ", id, " already exists");
  if (users->range("", std::nullopt, kMaxUsers).items.size() >= kMaxUsers) {
    return FailedPreconditionError("the service already has ", kMaxUsers, " users");
  }
  return users->put(id, certificate.Pem());
}

Status CheckUserId(const json& args) {
  RETURN_IF_ERROR(JsonOnlyKeys(args, {"user_id"}, "arguments"));
  if (!HexArg(args, "user_id", 32).ok()) {
    return InvalidArgumentError("argument 'user_id' must be a 64-digit hex user id");
  }
  return OkStatus();
}

Status ApplyRemoveUser(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(std::string id, JsonString(args, "user_id", "arguments"));
  kv::MapHandle* users = context.tx->rw(kUsersMap);
  if (!users->has(id)) return NotFoundError("no user with id ", id);
  return users->remove(id);
}

Status CheckMeasurement(const json& args) {
  RETURN_IF_ERROR(JsonOnlyKeys(args, {"platform", "measurement"}, "arguments"));
  RETURN_IF_ERROR(PlatformArg(args));
  return StatusOf(HexArg(args, "measurement", kMaxMeasurementBytes));
}

Status ApplyAddMeasurement(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(tee::Platform platform, PlatformArg(args));
  ASSIGN_OR_RETURN(Bytes measurement, HexArg(args, "measurement", kMaxMeasurementBytes));
  ASSIGN_OR_RETURN(tee::Policy policy, ReadPolicy(*context.tx));
  Result<tee::PlatformRule*> rule = RuleOf(policy, platform);
  if (!rule.ok()) {
    // A platform without a rule is refused outright; allowing one measurement opens exactly it.
    policy.platforms.push_back(tee::PlatformRule{.platform = platform});
    rule = &policy.platforms.back();
  }
  std::vector<Bytes>& list = (*rule)->measurements;
  if (std::find(list.begin(), list.end(), measurement) != list.end()) {
    return AlreadyExistsError("measurement ", ToHex(measurement), " is already allowed on ",
                              tee::PlatformName(platform));
  }
  list.push_back(std::move(measurement));
  return WritePolicy(*context.tx, policy);
}

Status ApplyRemoveMeasurement(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(tee::Platform platform, PlatformArg(args));
  ASSIGN_OR_RETURN(Bytes measurement, HexArg(args, "measurement", kMaxMeasurementBytes));
  ASSIGN_OR_RETURN(tee::Policy policy, ReadPolicy(*context.tx));
  ASSIGN_OR_RETURN(tee::PlatformRule * rule, RuleOf(policy, platform));
  std::vector<Bytes>& list = rule->measurements;
  auto it = std::find(list.begin(), list.end(), measurement);
  if (it == list.end()) {
    return NotFoundError("measurement ", ToHex(measurement), " is not allowed on ",
                         tee::PlatformName(platform));
  }
  if (list.size() == 1) {
    // An empty list means "any measurement": removing the last one must not widen the policy.
    return FailedPreconditionError("measurement ", ToHex(measurement),
                                   " is the last one allowed "
                                   "on ",
                                   tee::PlatformName(platform),
                                   "; an empty list would "
                                   "allow any measurement");
  }
  list.erase(it);
  return WritePolicy(*context.tx, policy);
}

Status CheckMinTcb(const json& args) {
  RETURN_IF_ERROR(JsonOnlyKeys(args, {"platform", "name", "minimum"}, "arguments"));
  RETURN_IF_ERROR(PlatformArg(args));
  ASSIGN_OR_RETURN(std::string name, JsonString(args, "name", "arguments"));
  if (name.empty() || name.size() > 32) {
    return InvalidArgumentError("argument 'name' must be 1 to 32 characters");
  }
  return StatusOf(JsonUint(args, "minimum", "arguments"));
}

Status ApplySetMinTcb(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(tee::Platform platform, PlatformArg(args));
  ASSIGN_OR_RETURN(std::string name, JsonString(args, "name", "arguments"));
  ASSIGN_OR_RETURN(uint64_t minimum, JsonUint(args, "minimum", "arguments"));
  ASSIGN_OR_RETURN(tee::Policy policy, ReadPolicy(*context.tx));
  ASSIGN_OR_RETURN(tee::PlatformRule * rule, RuleOf(policy, platform));
  bool replaced = false;
  for (auto& [version_name, version_minimum] : rule->min_security_versions) {
    if (version_name == name) {
      version_minimum = minimum;
      replaced = true;
    }
  }
  if (!replaced) rule->min_security_versions.emplace_back(name, minimum);
  return WritePolicy(*context.tx, policy);
}

Result<std::vector<Bytes>> HostDataArg(const json& args) {
  auto it = args.find("host_data");
  if (it == args.end() || !it->is_array() || it->size() > kMaxHostDataItems) {
    return InvalidArgumentError("argument 'host_data' must be an array of at most ",
                                kMaxHostDataItems, " hex strings");
  }
  std::vector<Bytes> values;
  for (const json& item : *it) {
    Result<Bytes> bytes = FromHex(item.is_string() ? item.get<std::string>() : std::string("-"));
    if (!bytes.ok() || bytes->empty() || bytes->size() > kMaxMeasurementBytes) {
      return InvalidArgumentError("argument 'host_data' holds an item that is not 1 to ",
                                  kMaxMeasurementBytes, " bytes of hex");
    }
    values.push_back(std::move(bytes).value());
  }
  return values;
}

Status CheckHostData(const json& args) {
  RETURN_IF_ERROR(JsonOnlyKeys(args, {"platform", "host_data"}, "arguments"));
  RETURN_IF_ERROR(PlatformArg(args));
  return StatusOf(HostDataArg(args));
}

Status ApplySetHostData(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(tee::Platform platform, PlatformArg(args));
  ASSIGN_OR_RETURN(std::vector<Bytes> values, HostDataArg(args));
  ASSIGN_OR_RETURN(tee::Policy policy, ReadPolicy(*context.tx));
  ASSIGN_OR_RETURN(tee::PlatformRule * rule, RuleOf(policy, platform));
  rule->host_data = std::move(values);
  return WritePolicy(*context.tx, policy);
}

Status CheckJoinMode(const json& args) {
  RETURN_IF_ERROR(JsonOnlyKeys(args, {"mode"}, "arguments"));
  ASSIGN_OR_RETURN(std::string mode, JsonString(args, "mode", "arguments"));
  if (mode != kJoinAutomatic && mode != kJoinVote) {
    return InvalidArgumentError("argument 'mode' must be \"automatic\" or \"vote\"");
  }
  return OkStatus();
}

Status ApplySetJoinMode(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(std::string mode, JsonString(args, "mode", "arguments"));
  return context.tx->rw(kServiceMap)->put(kJoinModeKey, mode);
}

Status CheckNodeId(const json& args) {
  RETURN_IF_ERROR(JsonOnlyKeys(args, {"node_id"}, "arguments"));
  return StatusOf(JsonUint(args, "node_id", "arguments"));
}

// Rewrites the "status" of node `node_id`'s record, requiring its current status to be one of
// `from` (empty: any but retired).
Status SetNodeStatus(const ActionContext& context, uint64_t node_id, std::string_view status,
                     std::initializer_list<std::string_view> from) {
  const std::string key = NodeKeyOf(node_id);
  std::optional<std::string> value = context.tx->ro(kNodesMap)->get(key);
  if (!value) return NotFoundError("no node with id ", node_id);
  Result<json> record = ParseJsonObject(*value, "node record");
  if (!record.ok()) return CorruptError("node ", node_id, ": ", record.error().message);
  ASSIGN_OR_RETURN(std::string current, JsonString(*record, "status", "node record"));
  bool allowed = from.size() == 0 ? current != kNodeRetired : false;
  for (std::string_view candidate : from) allowed = allowed || current == candidate;
  if (!allowed) {
    return FailedPreconditionError("node ", node_id, " is ", current, ", cannot become ", status);
  }
  (*record)["status"] = std::string(status);
  return context.tx->rw(kNodesMap)->put(key, record->dump());
}

Status ApplyTrustNode(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(uint64_t id, JsonUint(args, "node_id", "arguments"));
  return SetNodeStatus(context, id, kNodeTrusted, {kNodePending});
}

Status ApplyRemoveNode(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(uint64_t id, JsonUint(args, "node_id", "arguments"));
  return SetNodeStatus(context, id, kNodeRetired, {});
}

Status ApplyRotateLedgerSecret(const ActionContext& context, const json&) {
  return BumpNodeRequest(context, kRotateLedgerSecret);
}

Status ApplyRotateServiceHpkeKey(const ActionContext& context, const json&) {
  return BumpNodeRequest(context, kRotateServiceHpkeKey);
}

Status CheckRecoveryThreshold(const json& args) {
  RETURN_IF_ERROR(JsonOnlyKeys(args, {"threshold"}, "arguments"));
  ASSIGN_OR_RETURN(uint64_t threshold, JsonUint(args, "threshold", "arguments"));
  if (threshold < 1 || threshold > kMaxMembers) {
    return InvalidArgumentError("argument 'threshold' must be 1 to ", kMaxMembers);
  }
  return OkStatus();
}

Status ApplySetRecoveryThreshold(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(uint64_t threshold, JsonUint(args, "threshold", "arguments"));
  ASSIGN_OR_RETURN(uint64_t with_key, MembersWithEncryptionKey(*context.tx));
  if (threshold > with_key) {
    return FailedPreconditionError("recovery threshold ", threshold, " exceeds the ", with_key,
                                   " members with recovery keys");
  }
  RETURN_IF_ERROR(
      context.tx->rw(kServiceMap)->put(kRecoveryThresholdKey, std::to_string(threshold)));
  return BumpNodeRequest(context, kReissueRecoveryShares);
}

Status CheckActionThreshold(const json& args) {
  RETURN_IF_ERROR(JsonOnlyKeys(args, {"action", "threshold"}, "arguments"));
  ASSIGN_OR_RETURN(std::string action, JsonString(args, "action", "arguments"));
  if (action != "default" && FindAction(action) == nullptr) {
    return InvalidArgumentError("argument 'action': no action named '", action, "'");
  }
  return CheckThresholdValue(args.contains("threshold") ? args["threshold"] : json());
}

Status ApplySetActionThreshold(const ActionContext& context, const json& args) {
  ASSIGN_OR_RETURN(std::string action, JsonString(args, "action", "arguments"));
  const json& value = args["threshold"];
  const std::string text =
      value.is_string() ? value.get<std::string>() : std::to_string(value.get<uint64_t>());
  return context.tx->rw(kThresholdsMap)->put(action, text);
}

}  // namespace

const std::vector<ActionSpec>& ActionSpecs() {
  static const std::vector<ActionSpec> specs = {
      {"open_network", NoArgs, ApplyOpenNetwork},
      {"add_member", CheckAddMember, ApplyAddMember},
      {"remove_member", CheckMemberId, ApplyRemoveMember},
      {"add_user", CheckAddUser, ApplyAddUser},
      {"remove_user", CheckUserId, ApplyRemoveUser},
      {"add_measurement", CheckMeasurement, ApplyAddMeasurement},
      {"remove_measurement", CheckMeasurement, ApplyRemoveMeasurement},
      {"set_min_tcb", CheckMinTcb, ApplySetMinTcb},
      {"set_host_data", CheckHostData, ApplySetHostData},
      {"set_join_mode", CheckJoinMode, ApplySetJoinMode},
      {"trust_node", CheckNodeId, ApplyTrustNode},
      {"remove_node", CheckNodeId, ApplyRemoveNode},
      {"rotate_ledger_secret", NoArgs, ApplyRotateLedgerSecret},
      {"rotate_service_hpke_key", NoArgs, ApplyRotateServiceHpkeKey},
      {"set_recovery_threshold", CheckRecoveryThreshold, ApplySetRecoveryThreshold},
      {"set_action_threshold", CheckActionThreshold, ApplySetActionThreshold},
  };
  return specs;
}

const ActionSpec* FindAction(std::string_view name) {
  for (const ActionSpec& spec : ActionSpecs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace cloister::gov
