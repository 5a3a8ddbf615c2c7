// Disaster recovery of a Node (docs/recovery.md): `cloisterd recover` starts a new service from
// the ledger directories of a lost one, members submit their recovery shares, and the node
// restores the private state once a threshold of them is in. Also: recovery shares issued
// again when governance asks (public:cloister.gov.node_requests "recovery_shares").
//
// The old ledgers are only read (public parts with no secret at first), never written: the new
// service keeps its own ledger in the (empty) data_dir, with a new ledger id, a new service key
// and certificate, a new HPKE key and new ledger secrets. Its first transaction copies the old
// service's public state, retires every old node, records this node's fresh evidence and the
// endorsement of the previous service (a signature by the new service key over a statement
// naming the previous certificate, ledger id and last signed entry), and sets the service status
// to "recovering". While it is "recovering" the node refuses application events and reads,
// joins and share re-issues. Shares stay in the RecoveryCoordinator's memory only.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "cloister/crypto/hash.h"
#include "cloister/crypto/signature.h"
#include "cloister/gov/recovery.h"
#include "cloister/gov/request.h"
#include "cloister/gov/tables.h"
#include "cloister/ledger/entry.h"
#include "cloister/ledger/reader.h"
#include "cloister/ledger/snapshot.h"
#include "cloister/tee/policy.h"
#include "node_internal.h"

namespace cloister::node {

using json = nlohmann::json;

// What a recovering node holds between its start and the restore of the private state.
struct RecoveryRun {
  gov::RecoveryCoordinator coordinator;
  std::filesystem::path ledger_dir;  // the old ledger chosen at start
  uint64_t last_index = 0;           // its last signed entry: entries 1..last_index are restored
  bool restoring = false;
  bool restored = false;
};

namespace {

using Clock = std::chrono::steady_clock;
// map -> key -> value
using MapState = std::map<std::string, std::map<std::string, std::string>>;

// A write set of the private restore stays below this many bytes of keys and values.
constexpr size_t kRestoreChunkBytes = 256 * 1024;
constexpr std::string_view kEndorsementPurpose = "cloister/recovery/endorsement/v1";
constexpr std::string_view kSharesIssuedForKey = "issued_for_request";

struct LedgerCandidate {
  std::filesystem::path dir;
  Bytes ledger_id;
  uint64_t last_signed = 0;
  Bytes last_signature;  // COSE_Sign1 of the signature entry at last_signed
  Bytes root;            // Merkle root over entries 1..last_signed
};

void ApplyWrites(const kv::WriteSet& writes, MapState* state) {
  for (const auto& [map, keys] : writes.maps) {
    std::map<std::string, std::string>& target = (*state)[map];
    for (const auto& [key, value] : keys) {
      if (value) {
        target[key] = *value;
      } else {
        target.erase(key);
      }
    }
  }
}

// The snapshot a directory's log continues from when its first segment starts after index 1
// (a joined node's directory): the oldest snapshot S with S + 1 >= that first index.
Result<std::optional<std::string>> BaseSnapshot(ledger::Storage& storage) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, storage.List());
  std::optional<uint64_t> first_segment;
  std::vector<uint64_t> snapshots;
  for (const std::string& name : names) {
    if (std::optional<uint64_t> first = ledger::ParseSegmentFileName(name)) {
      first_segment = std::min(first_segment.value_or(*first), *first);
    } else if (std::optional<uint64_t> index = ledger::ParseSnapshotFileName(name)) {
      snapshots.push_back(*index);
    }
  }
  if (!first_segment || *first_segment == 1) return std::optional<std::string>();
  std::sort(snapshots.begin(), snapshots.end());
  for (uint64_t index : snapshots) {
    if (index + 1 >= *first_segment) return std::optional(ledger::SnapshotFileName(index));
  }
  return CorruptError("the first segment starts at index ", *first_segment,
                      " and no snapshot covers the entries before it");
}

// Verifies the ledger in `dir` (read only; from its base snapshot if it has one) and, when
// `state` is given, applies the public writes of entries 1..limit to it (the snapshot's public
// maps first), or their private writes (the snapshot's private maps) when `secrets` is given.
Result<ledger::ReadReport> ReadOldLedger(const std::filesystem::path& dir,
                                         const ledger::LedgerSecrets* secrets, uint64_t limit,
                                         MapState* state) {
  ASSIGN_OR_RETURN(std::unique_ptr<PosixStorage> storage,
                   PosixStorage::Open(dir.string(), /*create=*/false));
  ledger::ReaderOptions options;
  options.secrets = secrets;
  options.recover_torn_tail = true;
  Result<std::optional<std::string>> base = BaseSnapshot(*storage);
  if (!base.ok()) return base.error().WithContext(dir.string());
  std::optional<crypto::PublicKey> signer;
  if (*base) {
    Result<crypto::PublicKey> key = ledger::SnapshotSigner(storage.get(), **base);
    if (!key.ok()) return key.error().WithContext(dir.string() + "/" + **base);
    signer = std::move(key).value();
    ledger::SnapshotReadOptions read_options;
    read_options.secrets = secrets;
    Result<ledger::Snapshot> snapshot =
        ledger::ReadSnapshot(storage.get(), **base, *signer, read_options);
    if (!snapshot.ok()) return snapshot.error().WithContext(dir.string() + "/" + **base);
    if (state != nullptr) {
      for (const auto& [map, keys] : snapshot->state) {
        if (kv::IsPublicMap(map) == (secrets == nullptr)) (*state)[map] = keys;
      }
    }
    options.start = snapshot->StateAfter(*signer);
    options.service_key = &*signer;
  }
  // With secrets, the read stops after entry `limit`: later entries (an unsigned tail) may be
  // sealed under a secret that the recovered shares do not hold (a rotation after the last
  // signature, whose shares were never signed).
  bool stopped = false;
  options.on_entry = [&](const ledger::ReadEntry& entry) -> Status {
    if (state != nullptr && entry.header.index <= limit) {
      ApplyWrites(secrets != nullptr ? entry.private_writes : entry.public_writes, state);
    }
    if (secrets != nullptr && entry.header.index >= limit) {
      stopped = true;
      return OutOfRangeError("read stops after entry ", limit);
    }
    return OkStatus();
  };
  ledger::LedgerReader reader(storage.get(), std::move(options));
  Result<ledger::ReadReport> report = reader.ReadAll();
  if (!report.ok() && stopped) return ledger::ReadReport{};
  if (!report.ok()) return report.error().WithContext(dir.string());
  return report;
}

Result<LedgerCandidate> Probe(const std::filesystem::path& dir) {
  ASSIGN_OR_RETURN(ledger::ReadReport report, ReadOldLedger(dir, nullptr, 0, nullptr));
  const ledger::ReaderState& state = report.state;
  auto signature = state.signatures.find(state.last_signed_index);
  if (state.last_signed_index == 0 || signature == state.signatures.end()) {
    return FailedPreconditionError(dir.string(), ": no signed entry");
  }
  LedgerCandidate candidate;
  candidate.dir = dir;
  candidate.ledger_id = state.ledger_id;
  candidate.last_signed = state.last_signed_index;
  candidate.last_signature = signature->second;
  candidate.root = state.tree.RootAt(state.last_signed_index);
  return candidate;
}

// The most advanced valid ledger among `dirs` (the highest last signed entry; the first given
// on a tie). Every valid ledger must belong to the same service.
Result<LedgerCandidate> ChooseLedger(const std::vector<std::filesystem::path>& dirs,
                                     const std::filesystem::path& data_dir) {
  std::optional<LedgerCandidate> best;
  std::string refused;
  for (const std::filesystem::path& dir : dirs) {
    std::error_code error;
    if (std::filesystem::equivalent(dir, data_dir, error)) {
      return InvalidArgumentError("--ledger ", dir.string(),
                                  " is the new node's data_dir: the old ledgers are only read");
    }
    Result<LedgerCandidate> candidate = Probe(dir);
    if (!candidate.ok()) {
      spdlog::warn("recover: ledger {} not used: {}", dir.string(), candidate.error().message);
      refused += (refused.empty() ? "" : "; ") + candidate.error().message;
      continue;
    }
    spdlog::info("recover: ledger {} of service {} is valid up to signed entry {}", dir.string(),
                 ToHex(candidate->ledger_id), candidate->last_signed);
    if (best && best->ledger_id != candidate->ledger_id) {
      return InvalidArgumentError("the ledgers belong to different services: ", best->dir.string(),
                                  " holds ledger ", ToHex(best->ledger_id), ", ", dir.string(),
                                  " holds ", ToHex(candidate->ledger_id));
    }
    if (!best || candidate->last_signed > best->last_signed) best = std::move(candidate).value();
  }
  if (!best) return FailedPreconditionError("no usable ledger among --ledger: ", refused);
  return *best;
}

std::optional<uint64_t> ParseUnsigned(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return {};
  return value;
}

}  // namespace

Bytes RecoveryAttestationContext(ByteSpan ledger_id, ByteSpan previous_ledger_id) {
  return Concat(AsBytes("cloister/recovery/v1"), ledger_id, previous_ledger_id);
}

std::string PreviousServiceStatement(const PreviousService& previous) {
  json statement;
  statement["purpose"] = std::string(kEndorsementPurpose);
  statement["ledger_id"] = previous.ledger_id;
  statement["previous_ledger_id"] = previous.previous_ledger_id;
  statement["previous_certificate_sha256"] = previous.previous_certificate_sha256;
  statement["previous_last_signed_index"] = previous.previous_last_signed_index;
  statement["previous_merkle_root"] = previous.previous_merkle_root;
  statement["previous_signature_sha256"] = previous.previous_signature_sha256;
  return statement.dump();
}

std::string PreviousService::ToJson() const {
  json out;
  out["ledger_id"] = ledger_id;
  out["previous_ledger_id"] = previous_ledger_id;
  out["previous_certificate"] = previous_certificate_pem;
  out["previous_certificate_sha256"] = previous_certificate_sha256;
  out["previous_last_signed_index"] = previous_last_signed_index;
  out["previous_merkle_root"] = previous_merkle_root;
  out["previous_signature"] = previous_signature;
  out["previous_signature_sha256"] = previous_signature_sha256;
  out["statement"] = PreviousServiceStatement(*this);
  out["endorsement"] = endorsement;
  return out.dump();
}

Result<PreviousService> PreviousService::FromJson(std::string_view text) {
  json in = json::parse(text, nullptr, false);
  if (!in.is_object()) return ParseError("previous service record: not a JSON object");
  PreviousService out;
  const std::pair<const char*, std::string*> strings[] = {
      {"ledger_id", &out.ledger_id},
      {"previous_ledger_id", &out.previous_ledger_id},
      {"previous_certificate", &out.previous_certificate_pem},
      {"previous_certificate_sha256", &out.previous_certificate_sha256},
      {"previous_merkle_root", &out.previous_merkle_root},
      {"previous_signature", &out.previous_signature},
      {"previous_signature_sha256", &out.previous_signature_sha256},
      {"endorsement", &out.endorsement}};
  for (const auto& [name, field] : strings) {
    auto it = in.find(name);
    if (it == in.end() || !it->is_string()) {
      return ParseError("previous service record: '", name, "' missing or not a string");
    }
    *field = it->get<std::string>();
  }
  auto index = in.find("previous_last_signed_index");
  if (index == in.end() || !index->is_number_unsigned()) {
    return ParseError(
        "previous service record: 'previous_last_signed_index' missing or not a "
        "non-negative integer");
  }
  out.previous_last_signed_index = index->get<uint64_t>();
  return out;
}

Status VerifyPreviousService(const PreviousService& previous,
                             const crypto::Certificate& service_certificate) {
  ASSIGN_OR_RETURN(crypto::Certificate old_certificate,
                   crypto::Certificate::FromPem(previous.previous_certificate_pem));
  if (ToHex(crypto::Sha256(old_certificate.Der())) != previous.previous_certificate_sha256) {
    return VerificationError("previous service record: the certificate does not match its hash");
  }
  Result<Bytes> signature = Base64Decode(previous.previous_signature);
  if (!signature.ok() || ToHex(crypto::Sha256(*signature)) != previous.previous_signature_sha256) {
    return VerificationError("previous service record: the signature does not match its hash");
  }
  Result<Bytes> endorsement = Base64Decode(previous.endorsement);
  if (!endorsement.ok()) return ParseError("previous service record: endorsement is not base64");
  ASSIGN_OR_RETURN(crypto::PublicKey key, service_certificate.SubjectPublicKey());
  Status verified = crypto::Verify(key, crypto::HashAlgorithm::kSha256,
                                   AsBytes(PreviousServiceStatement(previous)), *endorsement);
  if (!verified.ok()) {
    return VerificationError("previous service record: the endorsement is not by this service: ",
                             verified.error().message);
  }
  return OkStatus();
}

gov::LedgerSecretMap LedgerSecretMapOf(const ledger::LedgerSecrets& secrets) {
  gov::LedgerSecretMap out;
  std::optional<uint64_t> start = secrets.StartFor(UINT64_MAX);
  while (start) {
    out[*start] = *secrets.SecretStartingAt(*start);
    start = *start > 1 ? secrets.StartFor(*start - 1) : std::nullopt;
  }
  return out;
}

Status Node::Impl::RecoverService() {
  const RecoverSettings& settings = *recover_settings;
  if (settings.ledgers.empty()) return InvalidArgumentError("recover: no --ledger directory");
  ASSIGN_OR_RETURN(LedgerCandidate chosen, ChooseLedger(settings.ledgers, config.node.data_dir));
  MapState old_state;
  ASSIGN_OR_RETURN(ledger::ReadReport reread,
                   ReadOldLedger(chosen.dir, nullptr, chosen.last_signed, &old_state));
  if (reread.state.ledger_id != chosen.ledger_id ||
      reread.state.last_signed_index < chosen.last_signed) {
    return CorruptError("recover: ledger ", chosen.dir.string(), " changed while being read");
  }
  std::map<std::string, std::string>& old_service = old_state[std::string(kServiceMap)];
  const std::string old_certificate_pem = old_service["certificate"];
  ASSIGN_OR_RETURN(crypto::Certificate old_certificate,
                   crypto::Certificate::FromPem(old_certificate_pem));
  const std::string policy_json = old_state[std::string(kPolicyMap)]["policy"];
  Result<tee::Policy> policy = tee::Policy::FromJson(policy_json);
  if (!policy.ok()) {
    return CorruptError("recover: the previous service's policy: ", policy.error().message);
  }
  const std::string service_name = old_service.contains("name") ? old_service["name"] : "cloister";

  ASSIGN_OR_RETURN(storage, PosixStorage::Open(config.node.data_dir.string(), /*create=*/true));
  ASSIGN_OR_RETURN(std::vector<std::string> files, storage->List());
  if (!files.empty()) {
    return FailedPreconditionError("data_dir ", config.node.data_dir.string(),
                                   " is not empty: a recovered service starts a new ledger");
  }
  ledger_id = ledger::NewLedgerId();
  RETURN_IF_ERROR(secrets.AddRandom(1));
  RETURN_IF_ERROR(CreateServiceKeys(service_name));
  ASSIGN_OR_RETURN(Bytes hpke_public,
                   crypto::hpke::SerializePublicKey(EventSuite().kem, hpke_key->public_key));

  // The old nodes are retired (their processes are gone); this node takes the next id.
  kv::Store scratch;
  kv::Tx tx = scratch.Begin();
  uint64_t last_node_id = 0;
  for (const auto& [map, keys] : old_state) {
    if (map == kRaftMap || map == ledger::kSignaturesMap || !kv::IsPublicMap(map)) continue;
    kv::MapHandle* handle = tx.rw(map);
    for (const auto& [key, value] : keys) {
      std::string copied = value;
      if (map == kNodesMap) {
        Result<NodeInfo> old_node = NodeInfo::FromJson(value);
        if (!old_node.ok()) {
          return CorruptError("recover: node record ", key, ": ", old_node.error().message);
        }
        last_node_id = std::max(last_node_id, old_node->id);
        old_node->status = std::string(kNodeRetired);
        copied = old_node->ToJson();
      }
      RETURN_IF_ERROR(handle->put(key, copied));
    }
  }
  self_id = last_node_id + 1;
  ASSIGN_OR_RETURN(NodeInfo info,
                   AttestSelf(self_id, RecoveryAttestationContext(ledger_id, chosen.ledger_id)));
  Result<tee::Claims> claims = VerifyNodeEvidence(info, *policy);
  if (!claims.ok()) {
    return PolicyError("this node's own evidence fails the previous service's policy: ",
                       claims.error().message);
  }
  info.claims_json = ClaimsToJson(*claims);
  RETURN_IF_ERROR(tx.rw(kNodesMap)->put(NodeKey(self_id), info.ToJson()));

  PreviousService previous;
  previous.ledger_id = ToHex(ledger_id);
  previous.previous_ledger_id = ToHex(chosen.ledger_id);
  previous.previous_certificate_pem = old_certificate.Pem();
  previous.previous_certificate_sha256 = ToHex(crypto::Sha256(old_certificate.Der()));
  previous.previous_last_signed_index = chosen.last_signed;
  previous.previous_merkle_root = ToHex(chosen.root);
  previous.previous_signature = Base64Encode(chosen.last_signature);
  previous.previous_signature_sha256 = ToHex(crypto::Sha256(chosen.last_signature));
  ASSIGN_OR_RETURN(Bytes endorsement, crypto::Sign(*service_key, crypto::HashAlgorithm::kSha256,
                                                   AsBytes(PreviousServiceStatement(previous))));
  previous.endorsement = Base64Encode(endorsement);
  RETURN_IF_ERROR(tx.rw(kPreviousServicesMap)->put(previous.previous_ledger_id, previous.ToJson()));

  kv::MapHandle* service = tx.rw(kServiceMap);
  RETURN_IF_ERROR(service->put("name", service_name));
  RETURN_IF_ERROR(service->put("certificate", service_certificate->Pem()));
  RETURN_IF_ERROR(service->put("hpke_public_key", Base64Encode(hpke_public)));
  RETURN_IF_ERROR(service->put("hpke_suite", std::string(kHpkeSuiteName)));
  RETURN_IF_ERROR(service->put("ledger_id", ToHex(ledger_id)));
  RETURN_IF_ERROR(service->put(gov::kServiceStatusKey, kServiceRecovering));
  RETURN_IF_ERROR(service->put("previous_ledger_id", previous.previous_ledger_id));
  const kv::WriteSet writes = tx.pending_writes();
  ASSIGN_OR_RETURN(kv::CommitResult committed, scratch.Commit(tx));
  (void)committed;
  kv::Tx copy = scratch.Begin();
  Result<gov::RecoveryCoordinator> coordinator = gov::RecoveryCoordinator::FromState(copy);
  if (!coordinator.ok()) {
    return FailedPreconditionError("recover: ", coordinator.error().message);
  }

  raft::Configuration bootstrap;
  bootstrap.voters.insert(self_id);
  ASSIGN_OR_RETURN(
      replica, Replica::Found(MakeReplicaOptions(self_id, bootstrap), rng, storage.get(), ledger_id,
                              &secrets, *service_key, writes));
  RETURN_IF_ERROR(
      WriteFileAtomically(settings.service_certificate_out, service_certificate->Pem()));
  recovery = std::make_shared<RecoveryRun>();
  recovery->coordinator = std::move(coordinator).value();
  recovery->ledger_dir = chosen.dir;
  recovery->last_index = chosen.last_signed;
  spdlog::info(
      "recover: service '{}' (ledger {}) recovers ledger {} up to entry {} from {} as node {}; "
      "waiting for {} members' recovery shares; service certificate in {}",
      service_name, ToHex(ledger_id), previous.previous_ledger_id, chosen.last_signed,
      chosen.dir.string(), self_id, recovery->coordinator.threshold(),
      settings.service_certificate_out.string());
  return OkStatus();
}

std::optional<HttpResponse> Node::Impl::RefuseWhileRecovering() {
  // Only the recovering node itself can be in a "recovering" service (it refuses joins until it
  // has restored the private state), and its own run decides: a status changed by a vote cannot
  // expose an incomplete state, and other nodes read nothing on their hot path.
  if (!recovery || recovery->restored) return std::nullopt;
  const size_t threshold = recovery->coordinator.threshold();
  const size_t submitted = recovery->coordinator.submitted();
  return HttpResponse::ErrorBody(
      503, "service_recovering",
      "the service is recovering: its private state is unreadable until " +
          std::to_string(threshold) + " members submit their recovery shares (" +
          std::to_string(submitted) + " so far)");
}

void Node::Impl::AddRecoveryRoutes() {
  router.Add("GET", "/gov/recovery", Route(&Impl::HandleRecoveryState));
  router.AddPrefix("GET", "/gov/recovery/share/", Route(&Impl::HandleRecoveryShareGet));
  router.Add("POST", "/gov/recovery/shares", Route(&Impl::HandleRecoveryShareSubmit));
}

void Node::Impl::HandleRecoveryState(const HttpRequest&, const HttpRespond& respond) {
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return respond(HttpResponse::FromError(tx.error()));
  json out;
  out["service_status"] = gov::ServiceStatus(*tx);
  out["ledger_id"] = ToHex(ledger_id);
  if (recovery) {
    out["threshold"] = recovery->coordinator.threshold();
    out["submitted"] = recovery->coordinator.submitted();
    out["restored"] = recovery->restored;
  }
  json previous = json::array();
  kv::Page<std::string, std::string> page =
      tx->ro(kPreviousServicesMap)->range("", std::nullopt, 256);
  for (const auto& [key, value] : page.items) {
    previous.push_back(json::parse(value, nullptr, false));
  }
  out["previous_services"] = std::move(previous);
  respond(HttpResponse::Json(200, out.dump()));
}

void Node::Impl::HandleRecoveryShareGet(const HttpRequest& request, const HttpRespond& respond) {
  const std::string member_id = request.path.substr(std::string("/gov/recovery/share/").size());
  if (member_id.size() != 64 || !FromHex(member_id).ok()) {
    return respond(HttpResponse::ErrorBody(
        400, "invalid_argument", "a member id is 64 hex digits (SHA-256 of its certificate)"));
  }
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return respond(HttpResponse::FromError(tx.error()));
  Result<gov::EncryptedShare> share = gov::ReadEncryptedShare(*tx, member_id);
  if (!share.ok()) return respond(HttpResponse::FromError(share.error()));
  respond(HttpResponse::Json(200, share->ToJson()));
}

void Node::Impl::HandleRecoveryShareSubmit(const HttpRequest& request, const HttpRespond& respond) {
  if (!recovery || recovery->restored) {
    return respond(HttpResponse::ErrorBody(409, "failed_precondition",
                                           "this node is not recovering a service"));
  }
  if (recovery->restoring) {
    return respond(
        HttpResponse::ErrorBody(409, "failed_precondition", "the private state is being restored"));
  }
  if (!replica->is_leader()) {
    return respond(HttpResponse::ErrorBody(503, "unavailable", "no leader yet: retry shortly"));
  }
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return respond(HttpResponse::FromError(tx.error()));
  gov::VerifyRequestOptions options;
  options.service_id = gov::ServiceIdOf(*service_certificate);
  options.now_unix_seconds = UnixNow();
  Result<gov::VerifiedRequest> verified = gov::VerifyRequest(*tx, AsBytes(request.body), options);
  if (!verified.ok()) {
    spdlog::warn("recover: share refused: {}", verified.error().message);
    return respond(HttpResponse::FromError(verified.error()));
  }
  Result<size_t> held = recovery->coordinator.Submit(*verified);
  if (!held.ok()) {
    spdlog::warn("recover: share of member {} refused: {}", verified->member_id,
                 held.error().message);
    return respond(HttpResponse::FromError(held.error()));
  }
  const size_t threshold = recovery->coordinator.threshold();
  spdlog::info("recover: share {} of {} received (member {})", *held, threshold,
               verified->member_id);
  if (*held < threshold) {
    json out;
    out["submitted"] = *held;
    out["threshold"] = threshold;
    out["service_status"] = std::string(kServiceRecovering);
    return respond(HttpResponse::Json(202, out.dump()));
  }
  RestorePrivateState(respond);
}

void Node::Impl::RestorePrivateState(const HttpRespond& respond) {
  Result<gov::LedgerSecretMap> recovered = recovery->coordinator.Recover();
  if (!recovered.ok()) {
    // A wrong or stale share: start counting again (every member submits anew).
    spdlog::error("recover: {}", recovered.error().message);
    Result<kv::Tx> tx = replica->BeginCommittedRead();
    if (tx.ok()) {
      Result<gov::RecoveryCoordinator> fresh = gov::RecoveryCoordinator::FromState(*tx);
      if (fresh.ok()) recovery->coordinator = std::move(fresh).value();
    }
    Error error = recovered.error();
    error.message += "; the shares held were discarded: members submit their shares again";
    return respond(HttpResponse::FromError(error));
  }
  recovery->restoring = true;
  ledger::LedgerSecrets old_secrets;
  for (auto& [start, secret] : *recovered) {
    Status added = old_secrets.Add(start, std::move(secret));
    if (!added.ok()) {
      recovery->restoring = false;
      return respond(HttpResponse::FromError(added.error()));
    }
  }
  MapState private_state;
  Result<ledger::ReadReport> read =
      ReadOldLedger(recovery->ledger_dir, &old_secrets, recovery->last_index, &private_state);
  if (!read.ok()) {
    recovery->restoring = false;
    spdlog::error("recover: private state unreadable: {}", read.error().message);
    return respond(HttpResponse::FromError(read.error()));
  }
  // The private state goes into the new ledger in bounded transactions, under the new secrets;
  // the last one issues fresh recovery shares and ends the recovery.
  size_t keys = 0;
  std::vector<std::pair<const std::string*, const std::pair<const std::string, std::string>*>>
      items;
  for (const auto& [map, values] : private_state) {
    for (const auto& item : values) {
      // The old ledger's secrets are not the new ledger's: the new service has its own.
      if (map == kSecretsMap && item.first.starts_with(kLedgerSecretPrefix)) continue;
      items.emplace_back(&map, &item);
    }
  }
  size_t position = 0;
  Result<TxId> id = TxId{};
  while (position < items.size()) {
    size_t bytes = 0;
    id = replica->Execute([&](kv::Tx& tx) -> Status {
      while (position < items.size() && bytes < kRestoreChunkBytes) {
        const auto& [map, item] = items[position];
        RETURN_IF_ERROR(tx.rw(*map)->put(item->first, item->second));
        bytes += item->first.size() + item->second.size();
        ++position;
        ++keys;
      }
      return OkStatus();
    });
    if (!id.ok()) break;
  }
  if (id.ok()) {
    id = replica->Execute([&](kv::Tx& tx) -> Status {
      RETURN_IF_ERROR(gov::IssueRecoveryShares(tx, LedgerSecretMapOf(secrets)));
      if (gov::ServiceStatus(tx) != kServiceRecovering) return OkStatus();
      return tx.rw(kServiceMap)->put(gov::kServiceStatusKey, gov::kServiceOpening);
    });
  }
  if (!id.ok()) {
    recovery->restoring = false;
    spdlog::error("recover: restoring the private state failed: {}", id.error().message);
    return respond(HttpResponse::FromError(id.error()));
  }
  SchedulePump();
  spdlog::info("recover: {} private keys of {} entries restored; fresh recovery shares issued ({})",
               keys, recovery->last_index, id->ToString());
  const TxId tx_id = *id;
  Wait(tx_id, [this, respond, tx_id, keys](TxStatus status) {
    recovery->restoring = false;
    if (status != TxStatus::kCommitted) {
      return respond(HttpResponse::ErrorBody(
          503, "unavailable",
          "restore " + tx_id.ToString() + " is " + std::string(TxStatusName(status))));
    }
    recovery->restored = true;
    Result<kv::Tx> committed = replica->BeginCommittedRead();
    json out;
    out["service_status"] = committed.ok() ? gov::ServiceStatus(*committed) : "unknown";
    out["restored_keys"] = keys;
    out["transaction_id"] = tx_id.ToString();
    respond(HttpResponse::Json(200, out.dump()));
  });
}

void Node::Impl::MaybeReissueRecoveryShares() {
  if (!replica->is_leader() || !replica->has_ledger()) return;
  const SteadyTime now = Clock::now();
  if (now - last_reissue_attempt < std::chrono::seconds(1)) return;
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok() || gov::ServiceStatus(*tx) == kServiceRecovering) return;
  Result<uint64_t> threshold = gov::RecoveryThreshold(*tx);
  if (!threshold.ok() || *threshold == 0) return;  // no member holds an encryption key
  Result<gov::NodeRequest> asked = gov::ReadNodeRequest(*tx, gov::kReissueRecoveryShares);
  if (!asked.ok() || asked->count == 0) return;
  const std::optional<std::string> done = tx->ro(gov::kRecoveryMap)->get(kSharesIssuedForKey);
  if (done && ParseUnsigned(*done).value_or(0) >= asked->count) return;
  last_reissue_attempt = now;
  Result<TxId> id = replica->Execute([&](kv::Tx& write) -> Status {
    RETURN_IF_ERROR(gov::IssueRecoveryShares(write, LedgerSecretMapOf(secrets)));
    return write.rw(gov::kRecoveryMap)->put(kSharesIssuedForKey, std::to_string(asked->count));
  });
  if (!id.ok()) {
    spdlog::warn("node {}: recovery shares not re-issued: {}", self_id, id.error().message);
    return;
  }
  spdlog::info("node {}: recovery shares re-issued for request {} ({})", self_id, asked->count,
               id->ToString());
  SchedulePump();
}

}  // namespace cloister::node
