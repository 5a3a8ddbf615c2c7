// Genesis and join of a Node (docs/api.md, "Join protocol"; docs/operations.md).
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <thread>

#include "cloister/crypto/hash.h"
#include "cloister/gov/recovery.h"
#include "cloister/gov/tables.h"
#include "cloister/kv/store.h"
#include "cloister/node/https_client.h"
#include "cloister/tee/policy.h"
#include "node_internal.h"

namespace cloister::node {

using json = nlohmann::json;

namespace {

constexpr int64_t kIdentityLifetimeSeconds = 2 * 365 * 86400;
constexpr int kMaxRedirects = 3;
// A joiner asks for its challenge again while the service has no leader yet (a network still
// being founded, an election) or cannot be reached, for at most this long.
constexpr std::chrono::seconds kJoinRetryWindow{30};
constexpr std::chrono::milliseconds kJoinRetryInterval{250};
// A joiner left pending (join mode "vote") asks again this often, until it is trusted or refused.
constexpr std::chrono::milliseconds kPendingPollInterval{1000};

Result<std::string> ReadSmallFile(const std::filesystem::path& path) {
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error) return IoError("cannot read ", path.string(), ": ", error.message());
  if (size > (4u << 20)) return InvalidArgumentError(path.string(), " exceeds 4 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open ", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The genesis members: each certificate with the encryption key at the same position, if any.
Result<std::vector<gov::GenesisMember>> LoadGenesisMembers(const GenesisSettings& genesis) {
  std::vector<gov::GenesisMember> members;
  for (size_t i = 0; i < genesis.member_certificates.size(); ++i) {
    const std::filesystem::path& path = genesis.member_certificates[i];
    ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path));
    Result<crypto::Certificate> member = crypto::Certificate::FromPem(pem);
    if (!member.ok()) {
      return InvalidArgumentError("member certificate ", path.string(), ": ",
                                  member.error().message);
    }
    gov::GenesisMember out{member->Pem(), {}};
    if (i < genesis.member_encryption_keys.size()) {
      const std::filesystem::path& key_path = genesis.member_encryption_keys[i];
      ASSIGN_OR_RETURN(std::string text, ReadSmallFile(key_path));
      const size_t end = text.find_last_not_of(" \t\r\n");
      Result<Bytes> key = Base64Decode(text.substr(0, end == std::string::npos ? 0 : end + 1));
      if (!key.ok() || key->size() != 32) {
        return InvalidArgumentError("member encryption key ", key_path.string(),
                                    ": not the base64 of a raw 32-byte X25519 public key");
      }
      out.encryption_public_key = std::move(key).value();
    }
    members.push_back(std::move(out));
  }
  return members;
}

Result<PosixStorage*> OpenEmptyStorage(const std::filesystem::path& dir,
                                       std::unique_ptr<PosixStorage>* out) {
  ASSIGN_OR_RETURN(*out, PosixStorage::Open(dir.string(), /*create=*/true));
  ASSIGN_OR_RETURN(std::vector<std::string> files, (*out)->List());
  if (!files.empty()) {
    return FailedPreconditionError("data_dir ", dir.string(),
                                   " is not empty: a restarted node is a new node and needs an "
                                   "empty directory");
  }
  return out->get();
}

// The policy file: JSON when it starts with '{' (after blanks), TOML otherwise.
Result<tee::Policy> LoadPolicy(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  const size_t first = text.find_first_not_of(" \t\r\n");
  Result<tee::Policy> policy = first != std::string::npos && text[first] == '{'
                                   ? tee::Policy::FromJson(text)
                                   : tee::Policy::FromToml(text);
  if (!policy.ok())
    return InvalidArgumentError("policy ", path.string(), ": ", policy.error().message);
  return policy;
}

std::string Advertised(const std::optional<HostPort>& advertise, const HostPort& bind,
                       uint16_t bound_port) {
  if (advertise) return advertise->ToString();
  return HostPort{bind.host, bound_port}.ToString();
}

// Follows a 307 from a follower to the leader's client address.
Result<HttpsResult> RequestLeader(HttpsClient& client, HostPort* server, const std::string& method,
                                  const std::string& target, const std::string& body) {
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    ASSIGN_OR_RETURN(HttpsResult result, client.Request(*server, method, target, body));
    if (result.status != 307) return result;
    const std::optional<std::string> location = result.Header("location");
    constexpr std::string_view kScheme = "https://";
    if (!location || !location->starts_with(kScheme)) {
      return ParseError("redirect without an https location from ", server->ToString());
    }
    const std::string rest = location->substr(kScheme.size());
    ASSIGN_OR_RETURN(*server, HostPort::Parse(rest.substr(0, rest.find('/'))));
  }
  return UnavailableError("more than ", kMaxRedirects, " redirects looking for the leader");
}

Error ErrorFromResponse(const HttpsResult& result, std::string_view what) {
  json body = json::parse(result.body, nullptr, false);
  std::string message = result.body.substr(0, 512);
  if (body.is_object() && body.contains("error") && body["error"].is_object() &&
      body["error"].contains("message") && body["error"]["message"].is_string()) {
    message = body["error"]["message"].get<std::string>();
  }
  if (result.status == 403) return PolicyError(what, " refused: ", message);
  return UnavailableError(what, " failed with HTTP ", result.status, ": ", message);
}

Result<std::string> JsonString(const json& object, const char* name, std::string_view what) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return ParseError(what, ": field '", name, "' missing or not a string");
  }
  return it->get<std::string>();
}

Result<Bytes> JsonBase64(const json& object, const char* name, std::string_view what) {
  ASSIGN_OR_RETURN(std::string text, JsonString(object, name, what));
  Result<Bytes> bytes = Base64Decode(text);
  if (!bytes.ok()) return ParseError(what, ": field '", name, "' is not base64");
  return bytes;
}

crypto::hpke::Suite JoinSuite() {
  return {crypto::hpke::Kem::kP256HkdfSha256, crypto::hpke::Kdf::kHkdfSha256,
          crypto::hpke::Aead::kAes128Gcm};
}

constexpr std::string_view kJoinSecretsInfo = "cloister/join-secrets/v1";

}  // namespace

Bytes GenesisAttestationContext(ByteSpan ledger_id) {
  return Concat(AsBytes("cloister/genesis/v1"), ledger_id);
}

Status Node::Impl::CreateIdentity() {
  ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  ASSIGN_OR_RETURN(crypto::Certificate certificate,
                   SelfSignedIdentity(key, "cloister node " + config.node.name, UnixNow() - 3600,
                                      kIdentityLifetimeSeconds));
  identity_key = std::move(key);
  identity_certificate = std::move(certificate);
  return OkStatus();
}

Result<NodeInfo> Node::Impl::AttestSelf(uint64_t id, ByteSpan context) {
  NodeInfo info;
  info.id = id;
  info.certificate_pem = identity_certificate->Pem();
  info.node_address = Advertised(config.node.node_advertise, config.node.node_listen, channel_port);
  info.client_address =
      Advertised(config.node.client_advertise, config.node.client_listen, api_port);
  info.attestation_context = Bytes(context.begin(), context.end());
  advertised_node = info.node_address;
  advertised_client = info.client_address;
  const Bytes report_data = AttestationReportData(identity_key->Public(), context);
  ASSIGN_OR_RETURN(info.evidence, attester->Attest(report_data));
  return info;
}

Result<tee::Claims> VerifyNodeEvidence(const NodeInfo& info, const tee::Policy& policy) {
  ASSIGN_OR_RETURN(crypto::Certificate certificate,
                   crypto::Certificate::FromPem(info.certificate_pem));
  ASSIGN_OR_RETURN(crypto::PublicKey key, certificate.SubjectPublicKey());
  tee::VerifyOptions options;
  options.at_unix_seconds = UnixNow();
  Result<tee::Claims> claims = tee::VerifyEvidence(info.evidence, options);
  if (!claims.ok()) return PolicyError("evidence does not verify: ", claims.error().message);
  tee::EvaluationContext context;
  context.now_unix_seconds = UnixNow();
  context.expected_report_data = AttestationReportData(key, info.attestation_context);
  const tee::Decision decision = policy.Evaluate(*claims, context);
  if (!decision.allowed) {
    std::string reasons;
    for (const std::string& reason : decision.reasons) {
      reasons += (reasons.empty() ? "" : "; ") + reason;
    }
    return PolicyError(reasons);
  }
  return claims;
}

Status Node::Impl::CreateServiceKeys(const std::string& service_name) {
  ASSIGN_OR_RETURN(service_key, crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  crypto::CertificateRequest request;
  request.common_name = "cloister service " + service_name;
  request.not_before = UnixNow() - 3600;
  request.not_after = UnixNow() + 10 * 365 * 86400;
  request.is_ca = true;
  request.serial = rng.Next() >> 1;
  ASSIGN_OR_RETURN(service_certificate,
                   crypto::IssueCertificate(request, service_key->Public(), *service_key, nullptr));
  ASSIGN_OR_RETURN(hpke_key, crypto::hpke::GenerateKeyPair(EventSuite().kem));
  return OkStatus();
}

Status Node::Impl::Genesis() {
  const GenesisSettings& genesis = *config.genesis;
  ASSIGN_OR_RETURN(PosixStorage * store, OpenEmptyStorage(config.node.data_dir, &storage));
  (void)store;
  ASSIGN_OR_RETURN(tee::Policy policy, LoadPolicy(genesis.policy));
  ASSIGN_OR_RETURN(std::vector<gov::GenesisMember> members, LoadGenesisMembers(genesis));
  const bool recoverable = !genesis.member_encryption_keys.empty();
  if (!recoverable) {
    spdlog::warn(
        "genesis: no member_encryption_keys: the service has no recovery shares (recovery "
        "threshold 0)");
  }
  // The genesis transaction is built in a scratch store so that gov writes it through a kv::Tx.
  kv::Store scratch;
  kv::Tx tx = scratch.Begin();
  RETURN_IF_ERROR(gov::WriteGenesisGovernance(
      tx, members, recoverable ? genesis.recovery_threshold : 0, genesis.join_mode));
  ledger_id = ledger::NewLedgerId();
  RETURN_IF_ERROR(secrets.AddRandom(1));
  if (recoverable) {
    // Recovery shares of the first ledger secret, sealed to the members (docs/recovery.md).
    RETURN_IF_ERROR(gov::IssueRecoveryShares(tx, {{1, *secrets.SecretStartingAt(1)}}));
  }
  RETURN_IF_ERROR(CreateServiceKeys(genesis.service_name));
  ASSIGN_OR_RETURN(Bytes hpke_public,
                   crypto::hpke::SerializePublicKey(EventSuite().kem, hpke_key->public_key));

  self_id = 1;
  ASSIGN_OR_RETURN(NodeInfo info, AttestSelf(self_id, GenesisAttestationContext(ledger_id)));
  Result<tee::Claims> claims = VerifyNodeEvidence(info, policy);
  if (!claims.ok()) {
    return PolicyError("this node's own evidence fails the genesis policy: ",
                       claims.error().message);
  }
  info.claims_json = ClaimsToJson(*claims);
  kv::MapHandle* service = tx.rw(kServiceMap);
  RETURN_IF_ERROR(service->put("name", genesis.service_name));
  RETURN_IF_ERROR(service->put("certificate", service_certificate->Pem()));
  RETURN_IF_ERROR(service->put("hpke_public_key", Base64Encode(hpke_public)));
  RETURN_IF_ERROR(service->put("hpke_suite", std::string(kHpkeSuiteName)));
  RETURN_IF_ERROR(service->put("ledger_id", ToHex(ledger_id)));
  RETURN_IF_ERROR(tx.rw(kPolicyMap)->put(gov::kPolicyKey, policy.ToJson()));
  RETURN_IF_ERROR(tx.rw(kNodesMap)->put(NodeKey(self_id), info.ToJson()));
  const kv::WriteSet writes = tx.pending_writes();

  raft::Configuration bootstrap;
  bootstrap.voters.insert(self_id);
  ASSIGN_OR_RETURN(
      replica, Replica::Found(MakeReplicaOptions(self_id, bootstrap), rng, storage.get(), ledger_id,
                              &secrets, *service_key, writes));
  RETURN_IF_ERROR(WriteFileAtomically(genesis.service_certificate_out, service_certificate->Pem()));
  spdlog::info("genesis: service '{}' founded by node 1 (ledger {}); service certificate in {}",
               genesis.service_name, ToHex(ledger_id), genesis.service_certificate_out.string());
  return OkStatus();
}

Result<std::string> Node::Impl::SealSecretsFor(const crypto::PublicKey& joiner,
                                               ByteSpan challenge) const {
  json plaintext;
  plaintext["service_key"] = Base64Encode(service_key->ToPkcs8Der());
  ASSIGN_OR_RETURN(Bytes hpke_private,
                   crypto::hpke::SerializePrivateKey(EventSuite().kem, hpke_key->private_key));
  plaintext["hpke_private_key"] = Base64Encode(hpke_private);
  json list = json::array();
  std::optional<uint64_t> start = secrets.StartFor(UINT64_MAX);
  for (size_t count = 0; start && count < 4096; ++count) {
    list.push_back(
        {{"start_index", *start}, {"secret", Base64Encode(*secrets.SecretStartingAt(*start))}});
    start = *start > 1 ? secrets.StartFor(*start - 1) : std::nullopt;
  }
  plaintext["ledger_secrets"] = std::move(list);
  crypto::hpke::SenderParams params;
  params.info = AsBytes(kJoinSecretsInfo);
  ASSIGN_OR_RETURN(crypto::hpke::SenderContext context,
                   crypto::hpke::SetupSender(JoinSuite(), joiner, params));
  const std::string text = plaintext.dump();
  ASSIGN_OR_RETURN(Bytes ciphertext, context.Seal(challenge, AsBytes(text)));
  json sealed;
  sealed["enc"] = Base64Encode(context.enc());
  sealed["ciphertext"] = Base64Encode(ciphertext);
  return sealed.dump();
}

Status Node::Impl::OpenSecrets(const json& sealed, ByteSpan challenge) {
  constexpr std::string_view kWhat = "join answer: sealed_secrets";
  if (!sealed.is_object()) return ParseError(kWhat, " is not an object");
  ASSIGN_OR_RETURN(Bytes enc, JsonBase64(sealed, "enc", kWhat));
  ASSIGN_OR_RETURN(Bytes ciphertext, JsonBase64(sealed, "ciphertext", kWhat));
  crypto::hpke::RecipientParams params;
  params.info = AsBytes(kJoinSecretsInfo);
  ASSIGN_OR_RETURN(crypto::hpke::RecipientContext context,
                   crypto::hpke::SetupRecipient(JoinSuite(), enc, *identity_key, params));
  Result<Bytes> plaintext = context.Open(challenge, ciphertext);
  if (!plaintext.ok()) return VerificationError(kWhat, " do not open under this node's key");
  json secrets_json = json::parse(ToString(*plaintext), nullptr, false);
  if (!secrets_json.is_object()) return ParseError(kWhat, ": plaintext is not a JSON object");
  ASSIGN_OR_RETURN(Bytes service_der, JsonBase64(secrets_json, "service_key", kWhat));
  ASSIGN_OR_RETURN(service_key, crypto::PrivateKey::FromPkcs8Der(service_der));
  ASSIGN_OR_RETURN(Bytes hpke_raw, JsonBase64(secrets_json, "hpke_private_key", kWhat));
  ASSIGN_OR_RETURN(crypto::PrivateKey hpke_private,
                   crypto::hpke::DeserializePrivateKey(EventSuite().kem, hpke_raw));
  hpke_key = crypto::hpke::KeyPair{hpke_private, hpke_private.Public()};
  auto list = secrets_json.find("ledger_secrets");
  if (list == secrets_json.end() || !list->is_array() || list->empty() || list->size() > 4096) {
    return ParseError(kWhat, ": ledger_secrets must be a non-empty array");
  }
  std::vector<std::pair<uint64_t, Bytes>> items;
  for (const json& item : *list) {
    if (!item.is_object() || !item.contains("start_index") ||
        !item["start_index"].is_number_unsigned()) {
      return ParseError(kWhat, ": a ledger secret lacks start_index");
    }
    ASSIGN_OR_RETURN(Bytes secret, JsonBase64(item, "secret", kWhat));
    items.emplace_back(item["start_index"].get<uint64_t>(), std::move(secret));
  }
  std::sort(items.begin(), items.end());
  for (auto& [start, secret] : items) RETURN_IF_ERROR(secrets.Add(start, std::move(secret)));
  return OkStatus();
}

Result<std::unique_ptr<HttpsClient>> Node::Impl::ServiceClient() const {
  return HttpsClient::Create(SignedBy(*service_certificate));
}

Status Node::Impl::JoinNetwork() {
  const JoinSettings& join = *config.join;
  ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(join.service_certificate));
  ASSIGN_OR_RETURN(service_certificate, crypto::Certificate::FromPem(pem));
  ASSIGN_OR_RETURN(std::unique_ptr<HttpsClient> client, ServiceClient());
  HostPort leader = join.target;
  auto give_up = std::chrono::steady_clock::now() + kJoinRetryWindow;
  Bytes challenge;
  json admitted;
  // The challenge lives only in the leader that issued it: if leadership moves before the join
  // request arrives (a redirect, "no leader", or the admission lost in an election: 307/503, or
  // an unreachable leader), the whole challenge + join is asked again, within the retry window.
  // A refusal (403: policy, evidence, challenge) stays final.
  for (;;) {
    Result<HttpsResult> asked =
        RequestLeader(*client, &leader, "POST", "/node/join/challenge", "{}");
    // Only "no leader yet" (503) and unreachable targets are retried; a refusal is final.
    while ((!asked.ok() || asked->status == 503) && std::chrono::steady_clock::now() < give_up) {
      spdlog::info("join: {}; asking {} again",
                   asked.ok() ? "the service has no leader yet" : asked.error().ToString(),
                   join.target.ToString());
      std::this_thread::sleep_for(kJoinRetryInterval);
      leader = join.target;
      asked = RequestLeader(*client, &leader, "POST", "/node/join/challenge", "{}");
    }
    if (!asked.ok()) return asked.error();
    const HttpsResult& challenge_answer = *asked;
    if (challenge_answer.status != 200) {
      return ErrorFromResponse(challenge_answer, "join challenge");
    }
    json challenge_json = json::parse(challenge_answer.body, nullptr, false);
    if (!challenge_json.is_object()) return ParseError("join challenge: not a JSON object");
    ASSIGN_OR_RETURN(challenge, JsonBase64(challenge_json, "challenge", "join challenge"));
    if (challenge.size() != 32) return ParseError("join challenge: not 32 bytes");

    ASSIGN_OR_RETURN(NodeInfo info, AttestSelf(0, challenge));
    json request;
    request["challenge"] = Base64Encode(challenge);
    request["certificate"] = info.certificate_pem;
    request["node_address"] = info.node_address;
    request["client_address"] = info.client_address;
    request["evidence"] = json::parse(EvidenceToJson(info.evidence));
    Result<HttpsResult> answer = client->Request(leader, "POST", "/node/join", request.dump());
    const bool leadership_moved =
        !answer.ok() || answer->status == 307 || answer->status == 308 || answer->status == 503;
    if (leadership_moved && std::chrono::steady_clock::now() < give_up) {
      spdlog::info(
          "join: {} is no longer the leader ({}); asking for a new challenge", leader.ToString(),
          answer.ok() ? "HTTP " + std::to_string(answer->status) : answer.error().ToString());
      std::this_thread::sleep_for(kJoinRetryInterval);
      leader = join.target;
      continue;
    }
    if (!answer.ok()) return answer.error();
    if (answer->status == 202) {
      // Join mode "vote": recorded as pending. Ask again (new challenge, fresh evidence) until
      // the members pass a trust_node proposal for this node, or refuse it.
      json pending = json::parse(answer->body, nullptr, false);
      spdlog::info("join: pending as node {}: waiting for the members to trust it",
                   pending.is_object() ? pending.value("node_id", uint64_t{0}) : uint64_t{0});
      std::this_thread::sleep_for(kPendingPollInterval);
      leader = join.target;
      give_up = std::chrono::steady_clock::now() + kJoinRetryWindow;
      continue;
    }
    if (answer->status != 200) return ErrorFromResponse(*answer, "join");
    admitted = json::parse(answer->body, nullptr, false);
    break;
  }
  if (!admitted.is_object() || !admitted.contains("node_id") ||
      !admitted["node_id"].is_number_unsigned()) {
    return ParseError("join answer: node_id missing");
  }
  self_id = admitted["node_id"].get<uint64_t>();
  ASSIGN_OR_RETURN(std::string ledger_hex, JsonString(admitted, "ledger_id", "join answer"));
  ASSIGN_OR_RETURN(ledger_id, FromHex(ledger_hex));
  RETURN_IF_ERROR(OpenSecrets(admitted.value("sealed_secrets", json()), challenge));
  ASSIGN_OR_RETURN(PosixStorage * store, OpenEmptyStorage(config.node.data_dir, &storage));
  (void)store;
  ASSIGN_OR_RETURN(replica, Replica::Join(MakeReplicaOptions(self_id, {}), rng, storage.get(),
                                          ledger_id, &secrets, *service_key));
  // Until the snapshot arrives the joiner has no replicated state to trust peers from: it trusts
  // the nodes the service lists over the channel authenticated by the pinned certificate.
  ASSIGN_OR_RETURN(HttpsResult attestation, client->Request(leader, "GET", "/node/attestation"));
  if (attestation.status != 200) return ErrorFromResponse(attestation, "attestation");
  json listed = json::parse(attestation.body, nullptr, false);
  if (!listed.is_object() || !listed.contains("nodes") || !listed["nodes"].is_array()) {
    return ParseError("attestation: nodes missing");
  }
  std::vector<NodeInfo> nodes;
  for (const json& item : listed["nodes"]) {
    Result<NodeInfo> node_info = NodeInfo::FromJson(item.dump());
    if (node_info.ok()) nodes.push_back(std::move(node_info).value());
  }
  ApplyNodes(nodes);
  spdlog::info("join: admitted as node {} by {} (transaction {})", self_id, leader.ToString(),
               admitted.value("transaction_id", std::string("?")));
  return OkStatus();
}

}  // namespace cloister::node
