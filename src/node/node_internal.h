// Internal state of a Node shared by node.cc (loop, channels, consensus driving), node_api.cc
// (client API) and node_bootstrap.cc (genesis and join). Not a public header.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/crypto/hpke.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/x509.h"
#include "cloister/gov/recovery.h"
#include "cloister/gov/request.h"
#include "cloister/ledger/secrets.h"
#include "cloister/node/channel.h"
#include "cloister/node/http_server.h"
#include "cloister/node/https_client.h"
#include "cloister/node/node.h"
#include "cloister/node/posix_storage.h"
#include "cloister/node/recovery.h"
#include "cloister/node/replica.h"
#include "cloister/node/sealed_event.h"
#include "cloister/node/service_state.h"
#include "cloister/tee/policy.h"

namespace cloister::node {

using SteadyTime = std::chrono::steady_clock::time_point;

struct Waiter {
  TxId id;
  std::function<void(TxStatus)> done;
  SteadyTime deadline;
};

// node_reads.cc: a linearizable read waiting for a ReadIndex round (docs/api.md, "Reads").
struct QueuedRead {
  HttpRequest request;
  HttpRespond respond;
  SteadyTime deadline;
};

// One ReadIndex round: every read queued when it started. `index` is set once raft confirmed
// the read point (a quorum still follows this leader); the reads are served once the committed
// index reaches it.
struct ReadRound {
  uint64_t context = 0;
  uint64_t term = 0;
  std::optional<uint64_t> index;
  SteadyTime deadline;
  std::vector<QueuedRead> reads;
};

struct Peer {
  uint64_t id = 0;
  std::string spki_hex;
  HostPort node_address;
  HostPort client_address;
  std::shared_ptr<Channel> channel;
  bool connecting = false;
  SteadyTime last_failure{};
  std::vector<Bytes> pending;
};

struct Counters {
  uint64_t events_committed = 0;
  uint64_t events_refused_replay = 0;
  uint64_t events_refused_invalid = 0;
  uint64_t events_refused_app = 0;
  uint64_t events_refused_not_open = 0;
  uint64_t joins_admitted = 0;
  uint64_t joins_refused = 0;
  uint64_t raft_messages_sent = 0;
  uint64_t raft_messages_received = 0;
  uint64_t raft_messages_dropped = 0;
  uint64_t signatures = 0;
  uint64_t reads_linearizable = 0;  // answered after a ReadIndex round
  uint64_t reads_serializable = 0;  // answered from the local committed state
  uint64_t reads_lost = 0;          // answered 503 or redirected: the round was lost or timed out
  uint64_t read_index_rounds = 0;
};

// node_recovery.cc: the state of a recovery in progress.
struct RecoveryRun;

struct Node::Impl {
  explicit Impl(boost::asio::io_context& context)
      : io(context), node_acceptor(context), tick_timer(context) {}

  // node.cc
  Status BindNodeListener();
  void StartLoop();
  void Stop();
  void Fail(const Error& error);
  void SchedulePump();
  void Pump();
  void OnTick();
  void MaybeSign(bool force_check);
  void MaybePromote();
  void MaybeSnapshot();
  void RefreshTrust();
  // Trusts exactly `nodes` (minus retired ones) as peers and channel partners.
  void ApplyNodes(const std::vector<NodeInfo>& nodes);
  void MaybeAddLearners();
  void MaybeRetire();
  Status SetNodeStatus(NodeInfo info, std::string_view status);
  void MaybeWriteReadyFile();
  void CheckWaiters();
  void SendAll(const std::vector<raft::Message>& messages);
  void Connect(uint64_t peer_id);
  void AcceptNext();
  void StartChannel(const std::shared_ptr<Channel>& channel, TlsRole role,
                    std::optional<uint64_t> expected_peer);
  void OnFrame(const std::shared_ptr<uint64_t>& sender, Bytes payload);
  [[nodiscard]] Status VerifyPeer(const crypto::Certificate& peer) const;
  Status MakeTlsContexts();
  Status EndorseApiCertificate();
  ReplicaOptions MakeReplicaOptions(uint64_t id, raft::Configuration bootstrap) const;
  void Wait(TxId id, std::function<void(TxStatus)> done);

  // node_api.cc
  void AddRoutes();
  // A route to `handler` that answers 503 while the node is still starting (no replica yet).
  using ApiHandler = void (Impl::*)(const HttpRequest&, const HttpRespond&);
  HttpHandler Route(ApiHandler handler);
  Status ListenApi();
  std::optional<HttpResponse> RedirectToLeader(const HttpRequest& request) const;
  void HandleEvent(const HttpRequest& request, const HttpRespond& respond);
  void HandleAttestation(const HttpRequest& request, const HttpRespond& respond);
  void HandleTxStatus(const HttpRequest& request, const HttpRespond& respond);
  void HandleReceipt(const HttpRequest& request, const HttpRespond& respond);
  void HandleMetrics(const HttpRequest& request, const HttpRespond& respond);
  void HandleState(const HttpRequest& request, const HttpRespond& respond);
  void HandleChallenge(const HttpRequest& request, const HttpRespond& respond);
  void HandleJoin(const HttpRequest& request, const HttpRespond& respond);
  // Consumes the request's challenge and verifies the joiner's evidence against the policy of
  // the committed state; the record returned has status learner and no id yet.
  Result<NodeInfo> AdmitJoiner(const HttpRequest& request, Bytes* challenge);

  // node_reads.cc
  // GET /app/*: linearizable by default (leader: batched ReadIndex rounds; follower: a redirect
  // to the leader), serializable (local committed state, any node) on request.
  void HandleAppRead(const HttpRequest& request, const HttpRespond& respond);
  // Answers `request` from the committed state now.
  void AnswerRead(const HttpRequest& request, const HttpRespond& respond);
  // Called by Pump: takes raft's read states, serves the rounds whose read point is committed,
  // answers the reads of lost or expired rounds, and starts the next round.
  void ServeReads();
  void StartReadRound();
  // A read that cannot be served here any more: redirected to a known leader, or 503.
  void AnswerLostRead(const QueuedRead& read, std::string_view why);
  [[nodiscard]] std::chrono::milliseconds ReadTimeout() const;

  // node_gov_api.cc
  void AddGovRoutes();
  [[nodiscard]] gov::VerifyRequestOptions GovVerifyOptions() const;
  void HandleGovRequest(const HttpRequest& request, const HttpRespond& respond);
  void HandleGovProposals(const HttpRequest& request, const HttpRespond& respond);
  void HandleGovProposal(const HttpRequest& request, const HttpRespond& respond);
  void HandleGovMembers(const HttpRequest& request, const HttpRespond& respond);
  // The committed service status is "open" (gov::kServiceOpen); remembered once true.
  bool ServiceOpen();

  // node_bootstrap.cc
  Status CreateIdentity();
  Status Genesis();
  Status JoinNetwork();
  Result<std::string> SealSecretsFor(const crypto::PublicKey& joiner, ByteSpan challenge) const;
  Status OpenSecrets(const nlohmann::json& sealed, ByteSpan challenge);
  // A new service key, certificate and HPKE key pair (genesis and recovery).
  Status CreateServiceKeys(const std::string& service_name);
  // This node's record, with fresh evidence bound to its identity key and `context`.
  Result<NodeInfo> AttestSelf(uint64_t id, ByteSpan context);
  [[nodiscard]] Result<std::unique_ptr<HttpsClient>> ServiceClient() const;

  // node_recovery.cc
  // `cloisterd recover`: a new service from the public part of the old ledgers, waiting for
  // members' recovery shares.
  Status RecoverService();
  // A 503 for what must wait until the private state is restored, or nullopt.
  std::optional<HttpResponse> RefuseWhileRecovering();
  void AddRecoveryRoutes();
  void HandleRecoveryState(const HttpRequest& request, const HttpRespond& respond);
  void HandleRecoveryShareGet(const HttpRequest& request, const HttpRespond& respond);
  void HandleRecoveryShareSubmit(const HttpRequest& request, const HttpRespond& respond);
  void RestorePrivateState(const HttpRespond& respond);
  // Leader: issues recovery shares again when governance asked for it.
  void MaybeReissueRecoveryShares();

  // node_rotation.cc
  // Leader: rotates the service HPKE key when governance asked for it.
  void MaybeRotateHpkeKey();
  // Every node: switches its EventOpener to a newly committed service HPKE key.
  void ApplyServiceHpkeKey();
  // Leader: rotates the ledger secret when governance asked for it.
  void MaybeRotateLedgerSecret();

  boost::asio::io_context& io;
  NodeConfig config;
  std::unique_ptr<tee::Attester> attester;
  Application* app = nullptr;
  crypto::SecureRng rng;

  uint64_t self_id = 0;
  std::optional<crypto::PrivateKey> identity_key;
  std::optional<crypto::Certificate> identity_certificate;
  std::optional<crypto::PrivateKey> service_key;
  std::optional<crypto::Certificate> service_certificate;
  std::optional<crypto::hpke::KeyPair> hpke_key;
  std::unique_ptr<EventOpener> opener;
  std::unique_ptr<EventOpener> previous_opener;  // the key before the last rotation (refusals)
  uint64_t hpke_checked_index = 0;               // commit index ApplyServiceHpkeKey last read
  SteadyTime last_hpke_rotation_attempt{};
  SteadyTime last_ledger_rotation_attempt{};
  Bytes ledger_id;
  ledger::LedgerSecrets secrets;
  std::unique_ptr<PosixStorage> storage;
  std::unique_ptr<Replica> replica;
  std::optional<RecoverSettings> recover_settings;
  std::shared_ptr<RecoveryRun> recovery;  // set while this node recovers a service
  SteadyTime last_reissue_attempt{};

  std::unique_ptr<boost::asio::ssl::context> channel_server_context;
  std::unique_ptr<boost::asio::ssl::context> channel_client_context;
  std::unique_ptr<boost::asio::ssl::context> api_context;
  HttpRouter router;
  std::unique_ptr<HttpServer> api;
  uint16_t api_port = 0;
  uint16_t channel_port = 0;
  boost::asio::ip::tcp::acceptor node_acceptor;
  boost::asio::steady_timer tick_timer;

  std::map<std::string, uint64_t> trusted;  // SPKI DER hex -> node id
  std::string applied_node_records;         // the records RefreshTrust last applied (raw)
  std::map<uint64_t, Peer> peers;
  std::vector<std::weak_ptr<Channel>> inbound;
  std::vector<Waiter> waiters;
  std::vector<QueuedRead> queued_reads;  // wait for the next ReadIndex round
  std::deque<ReadRound> read_rounds;     // started, oldest first; at most one unconfirmed
  uint64_t last_read_context = 0;
  std::map<std::string, SteadyTime> challenges;  // hex -> expiry
  std::map<uint64_t, SteadyTime> promote_attempts;
  std::map<uint64_t, SteadyTime> add_attempts;
  std::map<uint64_t, SteadyTime> last_heard;  // peer id -> last raft message received
  bool ready_written = false;
  bool service_open = false;      // ServiceOpen() saw the committed status "open"
  std::string advertised_node;    // host:port peers use for this node's channel
  std::string advertised_client;  // host:port clients use for this node's API
  bool pump_scheduled = false;
  bool stopped = false;
  std::optional<Error> failure;
  SteadyTime last_signature{};
  Counters counters;
};

// The private map of secrets the service rotates is kSecretsMap (replica.h): "hpke_key/<key id>"
// -> base64 X25519 private key, and the ledger secrets (LedgerSecretKey).
// public:cloister.service: how many service_hpke_key requests the leader performed.
inline constexpr std::string_view kHpkeRotationsKey = "hpke_rotations";
// public:cloister.service: how many rotate_ledger_secret requests the leader performed.
inline constexpr std::string_view kLedgerSecretRotationsKey = "ledger_secret_rotations";
// The id of a service HPKE public key: hex of the first 16 bytes of its SHA-256.
std::string HpkeKeyId(ByteSpan public_key);

// Unix seconds now (certificates, attestation freshness).
int64_t UnixNow();

// Verifies a node record's evidence now and evaluates it against `policy` with report_data
// bound to the record's certificate key and attestation context. Refusals are kPolicy errors
// whose message lists every reason.
Result<tee::Claims> VerifyNodeEvidence(const NodeInfo& info, const tee::Policy& policy);

// Every secret of `secrets` by its start index (the form recovery shares wrap).
gov::LedgerSecretMap LedgerSecretMapOf(const ledger::LedgerSecrets& secrets);

// Writes `contents` to `path` through a temporary file and a rename.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents);

}  // namespace cloister::node
