// The client API of a node (docs/api.md).
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "cloister/crypto/random.h"
#include "cloister/gov/tables.h"
#include "cloister/tee/policy.h"
#include "node_internal.h"

namespace cloister::node {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr char kTxHeader[] = "x-ms-ccf-transaction-id";

HttpResponse WithTx(HttpResponse response, const TxId& id) {
  response.headers.emplace_back(kTxHeader, id.ToString());
  return response;
}

// The key under which public:cloister.events records an event: one per stream and sequence.
std::string ReplayKey(const OpenedEvent& event) {
  return event.context_id + ":" + std::to_string(event.seq);
}

// 409 for an event sent again, naming the transaction that carried it the first time.
HttpResponse ReplayRefusal(const OpenedEvent& event, const std::string& transaction_id) {
  json refusal;
  refusal["error"] = {
      {"code", std::string(ErrorCodeName(ErrorCode::kConflict))},
      {"message", "event " + ReplayKey(event) + " was already submitted (replay refused)"}};
  refusal["transaction_id"] = transaction_id;
  return HttpResponse::Json(409, refusal.dump());
}

}  // namespace

Status Node::Impl::ListenApi() {
  HttpServerOptions options;
  options.max_body_bytes = config.node.max_request_body_bytes;
  api = std::make_unique<HttpServer>(io, *api_context, router, options);
  ASSIGN_OR_RETURN(api_port,
                   api->Listen(config.node.client_listen.host, config.node.client_listen.port));
  return OkStatus();
}

Status Node::Impl::EndorseApiCertificate() {
  crypto::CertificateRequest request;
  request.common_name = "cloister node " + std::to_string(self_id);
  request.not_before = UnixNow() - 3600;
  request.not_after = UnixNow() + 365 * 86400;
  request.serial = crypto::SecureRng().Next() >> 1;
  ASSIGN_OR_RETURN(crypto::Certificate endorsed,
                   crypto::IssueCertificate(request, identity_key->Public(), *service_key,
                                            &*service_certificate));
  const Bytes der = endorsed.Der();
  boost::system::error_code error;
  api_context->use_certificate(boost::asio::buffer(der.data(), der.size()),
                               boost::asio::ssl::context::asn1, error);
  if (error) return CryptoError("client API certificate: ", error.message());
  return OkStatus();
}

HttpHandler Node::Impl::Route(ApiHandler handler) {
  return [this, handler](const HttpRequest& request, HttpRespond respond) {
    if (replica == nullptr) {
      respond(HttpResponse::ErrorBody(503, "unavailable", "node is starting"));
      return;
    }
    (this->*handler)(request, respond);
  };
}

void Node::Impl::AddRoutes() {
  router.Add("GET", "/livez", [](const HttpRequest&, HttpRespond respond) {
    respond(HttpResponse::Json(200, R"({"status":"alive"})"));
  });
  router.Add("GET", "/readyz", Route(&Impl::HandleState));
  router.Add("GET", "/node/state", Route(&Impl::HandleState));
  router.Add("GET", "/node/attestation", Route(&Impl::HandleAttestation));
  router.Add("POST", "/app/events", Route(&Impl::HandleEvent));
  router.AddPrefix("GET", "/app/", Route(&Impl::HandleAppRead));
  router.Add("GET", "/tx/status", Route(&Impl::HandleTxStatus));
  router.Add("GET", "/receipt", Route(&Impl::HandleReceipt));
  router.Add("GET", "/metrics", Route(&Impl::HandleMetrics));
  router.Add("POST", "/node/join/challenge", Route(&Impl::HandleChallenge));
  router.Add("POST", "/node/join", Route(&Impl::HandleJoin));
  AddGovRoutes();
}

std::optional<HttpResponse> Node::Impl::RedirectToLeader(const HttpRequest& request) const {
  if (replica->is_leader()) return std::nullopt;
  const raft::NodeId leader = replica->raft().leader();
  auto it = peers.find(leader);
  if (leader == raft::kNoNode || it == peers.end()) {
    return HttpResponse::ErrorBody(503, "unavailable", "no leader is known to this node");
  }
  HttpResponse response =
      HttpResponse::ErrorBody(307, "redirect", "node " + std::to_string(leader) + " is the leader");
  response.headers.emplace_back("location",
                                "https://" + it->second.client_address.ToString() + request.target);
  return response;
}

void Node::Impl::HandleState(const HttpRequest& request, const HttpRespond& respond) {
  json out;
  out["node_id"] = self_id;
  out["role"] = std::string(raft::RoleName(replica->raft().role()));
  out["term"] = replica->raft().term();
  out["commit_index"] = replica->commit_index();
  out["leader_id"] = replica->raft().leader();
  out["has_ledger"] = replica->has_ledger();
  const bool ready = replica->has_ledger() && replica->raft().leader() != raft::kNoNode &&
                     replica->raft().config().IsMember(self_id);
  out["ready"] = ready;
  const unsigned status = request.path == "/readyz" && !ready ? 503 : 200;
  respond(HttpResponse::Json(status, out.dump()));
}

void Node::Impl::HandleAttestation(const HttpRequest&, const HttpRespond& respond) {
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return respond(HttpResponse::FromError(tx.error()));
  Result<std::vector<NodeInfo>> nodes = ReadNodes(*tx);
  if (!nodes.ok()) return respond(HttpResponse::FromError(nodes.error()));
  json out;
  out["service_certificate"] = service_certificate->Pem();
  out["hpke_public_key"] = ReadServiceValue(*tx, "hpke_public_key").value_or("");
  out["hpke_suite"] = std::string(kHpkeSuiteName);
  if (Result<Bytes> raw = Base64Decode(out["hpke_public_key"].get<std::string>()); raw.ok()) {
    out["hpke_key_id"] = HpkeKeyId(*raw);
  }
  out["ledger_id"] = ToHex(ledger_id);
  out["leader_id"] = replica->raft().leader();
  out["policy"] = json::parse(tx->ro(kPolicyMap)->get("policy").value_or("{}"), nullptr, false);
  json list = json::array();
  for (const NodeInfo& info : *nodes) {
    json node = json::parse(info.ToJson());
    const raft::Configuration& config_now = replica->raft().config();
    node["raft_role"] = config_now.IsVoter(info.id)     ? "voter"
                        : config_now.IsLearner(info.id) ? "learner"
                                                        : "none";
    list.push_back(std::move(node));
  }
  out["nodes"] = std::move(list);
  respond(HttpResponse::Json(200, out.dump()));
}

void Node::Impl::HandleEvent(const HttpRequest& request, const HttpRespond& respond) {
  if (auto refused = RefuseWhileRecovering()) return respond(*refused);
  if (auto redirect = RedirectToLeader(request)) return respond(*redirect);
  if (!ServiceOpen()) {
    ++counters.events_refused_not_open;
    return respond(HttpResponse::ErrorBody(
        403, "service_not_open",
        "the service is not open yet: its members must pass an open_network proposal "
        "(docs/governance.md)"));
  }
  Result<OpenedEvent> opened = opener->Open(request.body);
  Result<OpenedEvent> stale = InvalidArgumentError("not sealed to the previous key");
  if (!opened.ok() && opened.error().code == ErrorCode::kVerification && previous_opener) {
    stale = previous_opener->Open(request.body);
  }
  if (stale.ok()) {
    // An event that committed under the previous key and is sent again (a client whose answer
    // was lost) is a replay naming its transaction, as under the current key.
    Result<kv::Tx> state = replica->BeginCommittedRead();
    std::optional<std::string> earlier;
    if (state.ok()) earlier = state->ro(kEventsMap)->get(ReplayKey(*stale));
    if (earlier && !earlier->empty()) {
      ++counters.events_refused_replay;
      return respond(ReplayRefusal(*stale, *earlier));
    }
    ++counters.events_refused_invalid;
    Result<Bytes> current =
        crypto::hpke::SerializePublicKey(EventSuite().kem, hpke_key->public_key);
    return respond(HttpResponse::ErrorBody(
        400, "stale_hpke_key",
        "the event is sealed to a service HPKE key that has been rotated; fetch "
        "/node/attestation for the current key (hpke_key_id " +
            (current.ok() ? HpkeKeyId(*current) : std::string()) + ")"));
  }
  if (!opened.ok()) {
    ++counters.events_refused_invalid;
    return respond(HttpResponse::FromError(opened.error()));
  }
  const std::string replay_key = ReplayKey(*opened);
  std::string answer;
  std::optional<std::string> replayed;  // the transaction id that carried the event before
  TxId expected;
  Result<TxId> id = replica->Execute([&](kv::Tx& tx) -> Status {
    kv::MapHandle* seen = tx.rw(kEventsMap);
    if (std::optional<std::string> earlier = seen->get(replay_key)) {
      replayed = std::move(earlier);
      return ConflictError("event ", replay_key, " was already submitted (replay refused)");
    }
    // Execute commits this transaction as the next version in the current term: its id is
    // recorded with the event, so that a refused replay can name it (a client whose first
    // attempt timed out learns that it committed).
    expected = TxId{replica->raft().term(), tx.read_version() + 1};
    RETURN_IF_ERROR(seen->put(replay_key, expected.ToString()));
    ASSIGN_OR_RETURN(answer, app->Execute(tx, opened->plaintext));
    return OkStatus();
  });
  if (!id.ok()) {
    ++(replayed ? counters.events_refused_replay : counters.events_refused_app);
    if (replayed && !replayed->empty()) return respond(ReplayRefusal(*opened, *replayed));
    return respond(HttpResponse::FromError(id.error()));
  }
  const TxId tx_id = *id;
  ASSERT(tx_id == expected, "event committed as ", tx_id.ToString(), ", recorded as ",
         expected.ToString());
  MaybeSign(false);
  SchedulePump();
  json body;
  body["transaction_id"] = tx_id.ToString();
  body["context_id"] = opened->context_id;
  body["seq"] = opened->seq;
  body["result"] = json::parse(answer.empty() ? "{}" : answer, nullptr, false);
  if (body["result"].is_discarded()) body["result"] = json::object();
  Wait(tx_id, [this, respond, tx_id, text = body.dump()](TxStatus status) {
    if (status == TxStatus::kCommitted) {
      ++counters.events_committed;
      return respond(WithTx(HttpResponse::Json(200, text), tx_id));
    }
    respond(WithTx(
        HttpResponse::ErrorBody(503, "unavailable",
                                "transaction " + tx_id.ToString() + " is " +
                                    std::string(TxStatusName(status)) + ": submit the event again"),
        tx_id));
  });
}

void Node::Impl::HandleTxStatus(const HttpRequest& request, const HttpRespond& respond) {
  Result<std::string> text = request.Query("id");
  if (!text.ok()) return respond(HttpResponse::FromError(text.error()));
  Result<TxId> id = TxId::Parse(*text);
  if (!id.ok()) return respond(HttpResponse::FromError(id.error()));
  json out;
  out["transaction_id"] = id->ToString();
  out["status"] = std::string(TxStatusName(replica->StatusOf(*id)));
  respond(HttpResponse::Json(200, out.dump()));
}

void Node::Impl::HandleReceipt(const HttpRequest& request, const HttpRespond& respond) {
  Result<std::string> text = request.Query("id");
  if (!text.ok()) return respond(HttpResponse::FromError(text.error()));
  Result<TxId> id = TxId::Parse(*text);
  if (!id.ok()) return respond(HttpResponse::FromError(id.error()));
  if (replica->StatusOf(*id) != TxStatus::kCommitted) {
    return respond(HttpResponse::ErrorBody(404, "not_found",
                                           "transaction " + id->ToString() + " is " +
                                               std::string(TxStatusName(replica->StatusOf(*id)))));
  }
  if (!replica->has_ledger() || replica->ledger().last_signed_index() < id->index) {
    return respond(HttpResponse::ErrorBody(
        409, "failed_precondition",
        "transaction " + id->ToString() + " is not yet covered by a signature: retry shortly"));
  }
  Result<Bytes> receipt = replica->ledger().Receipt(id->index);
  if (!receipt.ok()) return respond(HttpResponse::FromError(receipt.error()));
  json out;
  out["transaction_id"] = id->ToString();
  out["receipt"] = Base64Encode(*receipt);
  respond(WithTx(HttpResponse::Json(200, out.dump()), *id));
}

void Node::Impl::HandleMetrics(const HttpRequest&, const HttpRespond& respond) {
  std::string text;
  auto metric = [&text](const std::string& name, const std::string& type, const std::string& help,
                        const std::vector<std::pair<std::string, uint64_t>>& samples) {
    text += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, value] : samples) {
      text += name + labels + " " + std::to_string(value) + "\n";
    }
  };
  metric("cloister_events_committed_total", "counter", "Sealed events committed by this node.",
         {{"", counters.events_committed}});
  metric("cloister_events_refused_total", "counter", "Sealed events refused, by reason.",
         {{"{reason=\"replay\"}", counters.events_refused_replay},
          {"{reason=\"invalid\"}", counters.events_refused_invalid},
          {"{reason=\"application\"}", counters.events_refused_app},
          {"{reason=\"not_open\"}", counters.events_refused_not_open}});
  metric("cloister_joins_total", "counter", "Join requests decided by this node.",
         {{"{result=\"admitted\"}", counters.joins_admitted},
          {"{result=\"refused\"}", counters.joins_refused}});
  metric("cloister_raft_messages_total", "counter", "Raft messages by direction.",
         {{"{direction=\"sent\"}", counters.raft_messages_sent},
          {"{direction=\"received\"}", counters.raft_messages_received},
          {"{direction=\"dropped\"}", counters.raft_messages_dropped}});
  metric("cloister_signatures_total", "counter", "Signature transactions emitted.",
         {{"", counters.signatures}});
  metric("cloister_reads_total", "counter", "Application reads (GET /app/*) served, by kind.",
         {{"{consistency=\"linearizable\"}", counters.reads_linearizable},
          {"{consistency=\"serializable\"}", counters.reads_serializable}});
  metric("cloister_reads_unserved_total", "counter",
         "Linearizable reads whose round was lost or timed out (redirected or 503).",
         {{"", counters.reads_lost}});
  metric("cloister_read_index_rounds_total", "counter",
         "ReadIndex rounds started (one serves every read queued before it).",
         {{"", counters.read_index_rounds}});
  metric("cloister_raft_term", "gauge", "Current raft term.", {{"", replica->raft().term()}});
  metric("cloister_raft_commit_index", "gauge", "Committed index.",
         {{"", replica->commit_index()}});
  metric("cloister_raft_is_leader", "gauge", "1 when this node leads.",
         {{"", replica->is_leader() ? 1u : 0u}});
  metric("cloister_trusted_nodes", "gauge", "Nodes trusted in the committed state.",
         {{"", trusted.size()}});
  metric("cloister_pending_client_writes", "gauge", "Writes waiting for commit.",
         {{"", waiters.size()}});
  size_t pending_reads = queued_reads.size();
  for (const ReadRound& round : read_rounds) pending_reads += round.reads.size();
  metric("cloister_pending_client_reads", "gauge", "Linearizable reads waiting for their round.",
         {{"", pending_reads}});
  respond(HttpResponse::Text(200, text, "text/plain; version=0.0.4"));
}

}  // namespace cloister::node

namespace cloister::node {

namespace {
constexpr int64_t kChallengeLifetimeSeconds = 60;
constexpr size_t kMaxOutstandingChallenges = 1024;
}  // namespace

void Node::Impl::HandleChallenge(const HttpRequest& request, const HttpRespond& respond) {
  if (auto refused = RefuseWhileRecovering()) return respond(*refused);
  if (auto redirect = RedirectToLeader(request)) return respond(*redirect);
  if (challenges.size() >= kMaxOutstandingChallenges) {
    return respond(HttpResponse::ErrorBody(503, "unavailable", "too many pending join challenges"));
  }
  const Bytes challenge = crypto::SecureRandomBytes(32);
  challenges[ToHex(challenge)] = Clock::now() + std::chrono::seconds(kChallengeLifetimeSeconds);
  json out;
  out["challenge"] = Base64Encode(challenge);
  out["expires_in_s"] = kChallengeLifetimeSeconds;
  respond(HttpResponse::Json(200, out.dump()));
}

namespace {

Result<NodeInfo> ParseJoinRequest(const std::string& body, Bytes* challenge) {
  json request = json::parse(body, nullptr, false);
  if (!request.is_object()) return ParseError("join request: the body is not a JSON object");
  NodeInfo info;
  info.status = std::string(kNodeLearner);
  for (const char* name : {"challenge", "certificate", "node_address", "client_address"}) {
    if (!request.contains(name) || !request[name].is_string()) {
      return ParseError("join request: field '", name, "' missing or not a string");
    }
  }
  Result<Bytes> decoded = Base64Decode(request["challenge"].get<std::string>());
  if (!decoded.ok() || decoded->size() != 32) {
    return ParseError("join request: challenge must be 32 bytes of base64");
  }
  *challenge = *decoded;
  info.attestation_context = *decoded;
  info.certificate_pem = request["certificate"].get<std::string>();
  Result<crypto::Certificate> certificate = crypto::Certificate::FromPem(info.certificate_pem);
  if (!certificate.ok())
    return ParseError("join request: certificate: ", certificate.error().message);
  ASSIGN_OR_RETURN(crypto::PublicKey key, certificate->SubjectPublicKey());
  if (key.type() != crypto::KeyType::kP256) {
    return InvalidArgumentError("join request: the node key must be P-256");
  }
  info.certificate_pem = certificate->Pem();
  for (const char* name : {"node_address", "client_address"}) {
    Result<HostPort> address = HostPort::Parse(request[name].get<std::string>());
    if (!address.ok()) return ParseError("join request: ", name, ": ", address.error().message);
    (std::string(name) == "node_address" ? info.node_address : info.client_address) =
        address->ToString();
  }
  if (!request.contains("evidence") || !request["evidence"].is_object()) {
    return ParseError("join request: field 'evidence' missing or not an object");
  }
  ASSIGN_OR_RETURN(info.evidence, EvidenceFromJson(request["evidence"].dump()));
  return info;
}

}  // namespace

Result<NodeInfo> Node::Impl::AdmitJoiner(const HttpRequest& request, Bytes* challenge) {
  ASSIGN_OR_RETURN(NodeInfo info, ParseJoinRequest(request.body, challenge));
  auto issued = challenges.find(ToHex(*challenge));
  if (issued == challenges.end() || issued->second < Clock::now()) {
    return PermissionDeniedError("join refused: challenge ", ToHex(*challenge).substr(0, 16),
                                 "... is unknown, expired or already used");
  }
  challenges.erase(issued);
  ASSIGN_OR_RETURN(kv::Tx state, replica->BeginCommittedRead());
  const std::optional<std::string> policy_json = state.ro(kPolicyMap)->get("policy");
  if (!policy_json) return CorruptError("the replicated state holds no policy");
  ASSIGN_OR_RETURN(tee::Policy policy, tee::Policy::FromJson(*policy_json));
  Result<tee::Claims> claims = VerifyNodeEvidence(info, policy);
  if (!claims.ok()) return PolicyError("join refused: ", claims.error().message);
  info.claims_json = ClaimsToJson(*claims);
  return info;
}

void Node::Impl::HandleJoin(const HttpRequest& request, const HttpRespond& respond) {
  if (auto redirect = RedirectToLeader(request)) return respond(*redirect);
  Bytes challenge;
  Result<NodeInfo> admitted = AdmitJoiner(request, &challenge);
  auto refuse = [&](const Error& error) {
    ++counters.joins_refused;
    spdlog::warn("node {}: {}", self_id, error.message);
    respond(HttpResponse::FromError(error));
  };
  if (!admitted.ok()) return refuse(admitted.error());
  NodeInfo info = std::move(admitted).value();
  // A joiner still waiting for the members' vote asks again: answered from the committed state,
  // without a transaction (its polling does not grow the ledger).
  if (Result<kv::Tx> state = replica->BeginCommittedRead();
      state.ok() && gov::JoinMode(*state) == gov::kJoinVote) {
    Result<std::vector<NodeInfo>> nodes = ReadNodes(*state);
    for (const NodeInfo& node : nodes.ok() ? *nodes : std::vector<NodeInfo>{}) {
      if (node.certificate_pem == info.certificate_pem && node.status == kNodePending) {
        json out;
        out["node_id"] = node.id;
        out["status"] = std::string(kNodePending);
        return respond(HttpResponse::Json(202, out.dump()));
      }
    }
  }
  bool pending = false;
  Result<TxId> id = replica->Execute([&](kv::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<NodeInfo> nodes, ReadNodes(tx));
    const bool by_vote = gov::JoinMode(tx) == gov::kJoinVote;
    uint64_t next = 1;
    for (const NodeInfo& node : nodes) {
      if (node.certificate_pem == info.certificate_pem) {
        // A joiner waiting for the members' vote asks again with fresh evidence: it stays
        // pending, or, once a trust_node proposal made it trusted, it is admitted as a learner.
        const bool approved =
            node.status == kNodeTrusted && !replica->raft().config().IsMember(node.id);
        if (node.status != kNodePending && !approved) {
          return AlreadyExistsError("join refused: this key is already node ", node.id);
        }
        info.id = node.id;
        pending = node.status == kNodePending && by_vote;
        if (pending) info.status = std::string(kNodePending);
        return tx.rw(kNodesMap)->put(NodeKey(info.id), info.ToJson());
      }
      next = std::max(next, node.id + 1);
    }
    info.id = next;
    pending = by_vote;
    if (pending) info.status = std::string(kNodePending);
    return tx.rw(kNodesMap)->put(NodeKey(info.id), info.ToJson());
  });
  if (!id.ok()) return refuse(id.error());
  if (pending) {
    SchedulePump();
    const TxId tx_id = *id;
    json out;
    out["node_id"] = info.id;
    out["status"] = std::string(kNodePending);
    out["transaction_id"] = tx_id.ToString();
    Wait(tx_id, [this, respond, tx_id, node_id = info.id, text = out.dump()](TxStatus status) {
      if (status != TxStatus::kCommitted) {
        return respond(HttpResponse::ErrorBody(
            503, "unavailable",
            "pending record " + tx_id.ToString() + " is " + std::string(TxStatusName(status))));
      }
      spdlog::info("node {}: node {} is pending: members must pass a trust_node proposal ({})",
                   self_id, node_id, tx_id.ToString());
      respond(WithTx(HttpResponse::Json(202, text), tx_id));
    });
    return;
  }
  Result<crypto::Certificate> certificate = crypto::Certificate::FromPem(info.certificate_pem);
  if (!certificate.ok()) return respond(HttpResponse::FromError(certificate.error()));
  Result<crypto::PublicKey> key = certificate->SubjectPublicKey();
  if (!key.ok()) return respond(HttpResponse::FromError(key.error()));
  Result<std::string> sealed = SealSecretsFor(*key, challenge);
  if (!sealed.ok()) return respond(HttpResponse::FromError(sealed.error()));
  SchedulePump();
  const TxId tx_id = *id;
  json out;
  out["node_id"] = info.id;
  out["transaction_id"] = tx_id.ToString();
  out["ledger_id"] = ToHex(ledger_id);
  out["sealed_secrets"] = json::parse(*sealed);
  Wait(tx_id, [this, respond, tx_id, id = info.id, text = out.dump()](TxStatus status) {
    if (status != TxStatus::kCommitted) {
      return respond(HttpResponse::ErrorBody(
          503, "unavailable",
          "admission " + tx_id.ToString() + " is " + std::string(TxStatusName(status))));
    }
    ++counters.joins_admitted;
    spdlog::info("node {}: admitted node {} ({})", self_id, id, tx_id.ToString());
    MaybeAddLearners();
    respond(WithTx(HttpResponse::Json(200, text), tx_id));
  });
}

}  // namespace cloister::node
