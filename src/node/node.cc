#include "cloister/node/node.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <unistd.h>

#include <ctime>
#include <fstream>
#include <map>
#include <set>

#include "cloister/raft/codec.h"
#include "node_internal.h"

namespace cloister::node {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

int64_t UnixNow() { return static_cast<int64_t>(std::time(nullptr)); }

namespace {

// The node records as stored (each key and value, length-prefixed), to notice a change without
// parsing them.
std::string RawNodeRecords(kv::Tx& tx) {
  std::string out;
  kv::MapHandle* map = tx.ro(kNodesMap);
  std::string from;
  for (int page_count = 0; page_count < 1024; ++page_count) {
    kv::Page<std::string, std::string> page = map->range(from, std::nullopt, 256);
    for (const auto& [key, value] : page.items) {
      out += std::to_string(key.size()) + ":" + key + std::to_string(value.size()) + ":" + value;
    }
    if (!page.next_key) break;
    from = *page.next_key;
  }
  return out;
}

std::string SpkiHex(const crypto::Certificate& certificate) {
  Result<crypto::PublicKey> key = certificate.SubjectPublicKey();
  if (!key.ok()) return "";
  return ToHex(key->ToSpkiDer());
}

}  // namespace

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() { impl_->Stop(); }
void Node::Stop() { impl_->Stop(); }
uint16_t Node::client_port() const { return impl_->api_port; }
uint16_t Node::node_port() const { return impl_->channel_port; }
uint64_t Node::id() const { return impl_->self_id; }
const std::optional<Error>& Node::failure() const { return impl_->failure; }

Result<std::unique_ptr<Node>> Node::Start(asio::io_context& io, NodeOptions options) {
  if (options.attester == nullptr) return InvalidArgumentError("node: no attester");
  if (options.app == nullptr) return InvalidArgumentError("node: no application");
  RETURN_IF_ERROR(ValidateNodeConfig(options.config));
  auto impl = std::make_unique<Impl>(io);
  impl->config = std::move(options.config);
  impl->attester = std::move(options.attester);
  impl->app = options.app;
  impl->recover_settings = std::move(options.recover);
  if (impl->recover_settings && (impl->config.genesis || impl->config.join)) {
    return InvalidArgumentError("node: recovery takes a config without [genesis] or [join]");
  }
  RETURN_IF_ERROR(impl->CreateIdentity());
  RETURN_IF_ERROR(impl->MakeTlsContexts());
  RETURN_IF_ERROR(impl->BindNodeListener());
  impl->AddRoutes();
  impl->AddRecoveryRoutes();
  RETURN_IF_ERROR(impl->ListenApi());
  if (impl->config.genesis) {
    RETURN_IF_ERROR(impl->Genesis());
  } else if (impl->config.join) {
    RETURN_IF_ERROR(impl->JoinNetwork());
  } else if (impl->recover_settings) {
    RETURN_IF_ERROR(impl->RecoverService());
  } else {
    return InvalidArgumentError("node: the configuration has neither [genesis] nor [join]");
  }
  RETURN_IF_ERROR(impl->EndorseApiCertificate());
  impl->opener = std::make_unique<EventOpener>(*impl->hpke_key);
  impl->StartLoop();
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Status Node::Impl::MakeTlsContexts() {
  TlsIdentity identity{*identity_key, *identity_certificate};
  PeerVerifier verifier = [this](const crypto::Certificate& peer) { return VerifyPeer(peer); };
  ASSIGN_OR_RETURN(channel_server_context, MakeTlsContext(TlsRole::kServer, identity, verifier));
  ASSIGN_OR_RETURN(channel_client_context, MakeTlsContext(TlsRole::kClient, identity, verifier));
  ASSIGN_OR_RETURN(api_context, MakeTlsContext(TlsRole::kServer, identity, nullptr));
  return OkStatus();
}

Status Node::Impl::VerifyPeer(const crypto::Certificate& peer) const {
  if (!trusted.contains(SpkiHex(peer))) {
    return PermissionDeniedError("peer key is not a trusted node of the service");
  }
  return OkStatus();
}

Status Node::Impl::BindNodeListener() {
  boost::system::error_code error;
  const HostPort& listen = config.node.node_listen;
  asio::ip::address address = asio::ip::make_address(listen.host, error);
  if (error) return InvalidArgumentError("node.node_listen: not an IP address: ", listen.host);
  tcp::endpoint endpoint(address, listen.port);
  node_acceptor.open(endpoint.protocol(), error);
  if (!error) node_acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) node_acceptor.bind(endpoint, error);
  if (!error) node_acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return IoError("node listener ", listen.ToString(), ": ", error.message());
  channel_port = node_acceptor.local_endpoint().port();
  return OkStatus();
}

ReplicaOptions Node::Impl::MakeReplicaOptions(uint64_t id, raft::Configuration bootstrap) const {
  ReplicaOptions options;
  options.raft.id = id;
  options.raft.bootstrap = std::move(bootstrap);
  options.raft.election_ticks = config.raft.election_ticks;
  options.raft.heartbeat_ticks = config.raft.heartbeat_ticks;
  options.raft.max_inflight_messages = config.raft.max_inflight_messages;
  options.raft.max_inflight_bytes = config.raft.max_inflight_bytes;
  options.raft.max_message_bytes = config.raft.max_entries_bytes_per_message;
  options.ledger.segment_size_bytes_max = config.ledger.segment_bytes;
  options.sync = config.ledger.fsync;
  return options;
}

void Node::Impl::StartLoop() {
  RefreshTrust();
  last_signature = Clock::now();
  AcceptNext();
  OnTick();
  spdlog::info("node {} ({}) serving: node port {}, client port {}", self_id, config.node.name,
               channel_port, api_port);
}

void Node::Impl::Stop() {
  if (stopped) return;
  stopped = true;
  boost::system::error_code ignored;
  tick_timer.cancel();
  node_acceptor.close(ignored);
  if (api) api->Stop();
  for (auto& [id, peer] : peers) {
    if (peer.channel) peer.channel->Close(UnavailableError("node stopping"));
  }
  for (auto& weak : inbound) {
    if (auto channel = weak.lock()) channel->Close(UnavailableError("node stopping"));
  }
  waiters.clear();
  queued_reads.clear();
  read_rounds.clear();
}

void Node::Impl::Fail(const Error& error) {
  if (stopped) return;
  spdlog::critical("node {}: fatal: {}", self_id, error.message);
  failure = error;
  Stop();
}

void Node::Impl::SchedulePump() {
  if (pump_scheduled || stopped) return;
  pump_scheduled = true;
  asio::post(io, [this] { Pump(); });
}

void Node::Impl::Pump() {
  pump_scheduled = false;
  if (stopped) return;
  // A leader's appends are written to the followers' channels before its own fdatasync starts
  // (Replica::Process says why durability is unchanged: acknowledgements are stepped by later
  // handlers, after that sync).
  const Replica::SendBeforeSync send_early = [this](std::vector<raft::Message>&& messages) {
    SendAll(messages);
  };
  // A bounded number of rounds: each Process() drains what raft has ready now.
  for (int round = 0; round < 4; ++round) {
    Result<std::vector<raft::Message>> messages = replica->Process(send_early);
    if (!messages.ok()) {
      Fail(messages.error());
      return;
    }
    if (messages->empty() && !replica->raft().HasReady()) break;
    SendAll(*messages);
  }
  CheckWaiters();
  ServeReads();
}

void Node::Impl::OnTick() {
  if (stopped) return;
  replica->Tick();
  RefreshTrust();
  MaybeSign(true);
  MaybeAddLearners();
  MaybePromote();
  MaybeRetire();
  MaybeWriteReadyFile();
  MaybeSnapshot();
  MaybeReissueRecoveryShares();
  ApplyServiceHpkeKey();
  MaybeRotateHpkeKey();
  MaybeRotateLedgerSecret();
  const SteadyTime now = Clock::now();
  std::erase_if(challenges, [&](const auto& item) { return item.second < now; });
  std::erase_if(waiters, [&](const Waiter& waiter) {
    if (waiter.deadline >= now) return false;
    waiter.done(TxStatus::kUnknown);
    return true;
  });
  SchedulePump();
  tick_timer.expires_after(std::chrono::milliseconds(config.raft.tick_ms));
  tick_timer.async_wait([this](const boost::system::error_code& error) {
    if (!error) OnTick();
  });
}

void Node::Impl::MaybeSign(bool on_tick) {
  if (!replica->is_leader() || replica->unsigned_entries() == 0) return;
  const bool many = replica->unsigned_entries() >= config.ledger.signature_interval_entries;
  const bool old = on_tick && Clock::now() - last_signature >=
                                  std::chrono::milliseconds(config.ledger.signature_interval_ms);
  if (!many && !old) return;
  Result<TxId> signature = replica->EmitSignature();
  if (!signature.ok()) {
    spdlog::warn("node {}: signature transaction failed: {}", self_id, signature.error().message);
    return;
  }
  ++counters.signatures;
  last_signature = Clock::now();
  SchedulePump();
}

void Node::Impl::MaybePromote() {
  if (!replica->is_leader()) return;
  const SteadyTime now = Clock::now();
  // A copy: proposing a change updates the configuration being iterated.
  const std::set<raft::NodeId> learners = replica->raft().config().learners;
  for (raft::NodeId learner : learners) {
    const raft::Progress* progress = replica->raft().ProgressOf(learner);
    if (progress == nullptr || progress->match < replica->commit_index()) continue;
    auto attempt = promote_attempts.find(learner);
    if (attempt != promote_attempts.end() && now - attempt->second < std::chrono::seconds(1)) {
      continue;
    }
    promote_attempts[learner] = now;
    Result<TxId> change =
        replica->ProposeConfChange({raft::ConfChangeType::kPromoteLearner, learner});
    if (change.ok()) {
      spdlog::info("node {}: promoting learner {} to voter ({})", self_id, learner,
                   change->ToString());
      SchedulePump();
      return;
    }
  }
}

void Node::Impl::MaybeSnapshot() {
  if (!replica->is_leader() || !replica->has_ledger()) return;
  const uint64_t base = replica->raft().log().snapshot().index;
  if (replica->commit_index() < base + config.ledger.snapshot_interval_entries) return;
  Result<uint64_t> snapshot = replica->MakeSnapshot();
  if (!snapshot.ok()) {
    spdlog::warn("node {}: snapshot failed: {}", self_id, snapshot.error().message);
    return;
  }
  spdlog::info("node {}: snapshot at index {}", self_id, *snapshot);
}

void Node::Impl::RefreshTrust() {
  if (!replica || !replica->has_ledger()) return;
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return;
  // Parsing every record and certificate on every tick took a quarter of a busy leader's CPU
  // (docs/performance.md): the records are applied again only when they changed.
  std::string records = RawNodeRecords(*tx);
  if (records == applied_node_records) return;
  Result<std::vector<NodeInfo>> nodes = ReadNodes(*tx);
  if (!nodes.ok()) {
    spdlog::error("node {}: node records unreadable: {}", self_id, nodes.error().message);
    return;
  }
  ApplyNodes(*nodes);
  applied_node_records = std::move(records);
}

void Node::Impl::ApplyNodes(const std::vector<NodeInfo>& nodes) {
  std::map<std::string, uint64_t> next_trusted;
  for (const NodeInfo& info : nodes) {
    // Retired nodes (unreachable, or removed by a remove_node proposal) and nodes pending the
    // members' vote are no channel partners.
    if (info.status == kNodeRetired || info.status == kNodePending) continue;
    Result<crypto::Certificate> certificate = crypto::Certificate::FromPem(info.certificate_pem);
    Result<HostPort> address = HostPort::Parse(info.node_address);
    Result<HostPort> client = HostPort::Parse(info.client_address);
    if (!certificate.ok() || !address.ok() || !client.ok()) continue;
    const std::string spki = SpkiHex(*certificate);
    next_trusted[spki] = info.id;
    if (info.id == self_id) continue;
    Peer& peer = peers[info.id];
    if (peer.channel && peer.spki_hex != spki) {
      peer.channel->Close(PermissionDeniedError("rekeyed"));
      peer.channel.reset();
    }
    peer.id = info.id;
    peer.spki_hex = spki;
    peer.node_address = *address;
    peer.client_address = *client;
  }
  std::erase_if(peers, [&](auto& item) {
    if (next_trusted.contains(item.second.spki_hex)) return false;
    if (item.second.channel) item.second.channel->Close(PermissionDeniedError("retired"));
    return true;
  });
  // Channels a node that is no longer trusted opened to this one are closed too.
  for (const std::weak_ptr<Channel>& weak : inbound) {
    std::shared_ptr<Channel> channel = weak.lock();
    if (channel && channel->peer() && !next_trusted.contains(SpkiHex(*channel->peer()))) {
      channel->Close(PermissionDeniedError("the peer is no longer a trusted node"));
    }
  }
  trusted = std::move(next_trusted);
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return IoError("cannot write ", temporary.string());
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) return IoError("cannot write ", temporary.string());
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return IoError("cannot rename to ", path.string(), ": ", error.message());
  return OkStatus();
}

void Node::Impl::MaybeWriteReadyFile() {
  if (ready_written || !replica->has_ledger() || replica->raft().leader() == raft::kNoNode ||
      !replica->raft().config().IsMember(self_id)) {
    return;
  }
  ready_written = true;
  spdlog::info("node {} ready (leader {})", self_id, replica->raft().leader());
  if (config.node.ready_file.empty()) return;
  const std::string text =
      fmt::format(R"({{"node_id":{},"pid":{},"node_address":"{}","client_address":"{}"}})", self_id,
                  ::getpid(), advertised_node, advertised_client);
  Status written = WriteFileAtomically(config.node.ready_file, text + "\n");
  if (!written.ok()) spdlog::error("node {}: ready file: {}", self_id, written.error().message);
}

// Writes `info` with a new status (leader only).
Status Node::Impl::SetNodeStatus(NodeInfo info, std::string_view status) {
  info.status = std::string(status);
  Result<TxId> id = replica->Execute(
      [&](kv::Tx& tx) { return tx.rw(kNodesMap)->put(NodeKey(info.id), info.ToJson()); });
  if (!id.ok()) return id.error();
  spdlog::info("node {}: node {} is now {} ({})", self_id, info.id, status, id->ToString());
  SchedulePump();
  return OkStatus();
}

// Leader: an admitted node (record status learner) that raft does not know yet is added as a
// learner, a learner raft has promoted is recorded as trusted, and a retired node still in the
// configuration is removed from it. One change at a time (raft refuses a second pending change;
// a later tick retries), at most one attempt per node a second.
void Node::Impl::MaybeAddLearners() {
  if (!replica->is_leader()) return;
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return;
  Result<std::vector<NodeInfo>> nodes = ReadNodes(*tx);
  if (!nodes.ok()) return;
  const SteadyTime now = Clock::now();
  const raft::Configuration& membership = replica->raft().config();
  for (const NodeInfo& info : *nodes) {
    if (info.status == kNodeRetired && info.id != self_id && membership.IsMember(info.id)) {
      // Retired (e.g. by a remove_node proposal) but still in the raft configuration.
      auto attempt = add_attempts.find(info.id);
      if (attempt != add_attempts.end() && now - attempt->second < std::chrono::seconds(1)) {
        continue;
      }
      add_attempts[info.id] = now;
      Result<TxId> change =
          replica->ProposeConfChange({raft::ConfChangeType::kRemoveNode, info.id});
      if (change.ok()) {
        spdlog::info("node {}: removing retired node {} from raft ({})", self_id, info.id,
                     change->ToString());
        SchedulePump();
      }
      return;
    }
    if (info.status != kNodeLearner) continue;
    auto attempt = add_attempts.find(info.id);
    if (attempt != add_attempts.end() && now - attempt->second < std::chrono::seconds(1)) continue;
    if (membership.IsVoter(info.id)) {
      add_attempts[info.id] = now;
      Status marked = SetNodeStatus(info, kNodeTrusted);
      if (!marked.ok()) spdlog::warn("node {}: {}", self_id, marked.error().message);
      continue;
    }
    if (membership.IsLearner(info.id)) continue;
    add_attempts[info.id] = now;
    Result<TxId> change = replica->ProposeConfChange({raft::ConfChangeType::kAddLearner, info.id});
    if (change.ok()) {
      spdlog::info("node {}: adding node {} as a learner ({})", self_id, info.id,
                   change->ToString());
      SchedulePump();
    }
    return;
  }
}

// Leader: a member not heard from for retire_unreachable_after_s is retired (record status
// retired, then removed from raft). A restarted process is a new node, so the old one never
// returns.
void Node::Impl::MaybeRetire() {
  if (!replica->is_leader()) {
    last_heard.clear();
    return;
  }
  const SteadyTime now = Clock::now();
  const auto limit = std::chrono::seconds(config.node.retire_unreachable_after_s);
  const raft::Configuration& membership = replica->raft().config();
  std::vector<raft::NodeId> members(membership.voters.begin(), membership.voters.end());
  members.insert(members.end(), membership.learners.begin(), membership.learners.end());
  for (raft::NodeId member : members) {
    if (member == self_id) continue;
    auto heard = last_heard.try_emplace(member, now).first;
    if (now - heard->second < limit) continue;
    Result<kv::Tx> tx = replica->BeginCommittedRead();
    if (!tx.ok()) return;
    std::optional<std::string> record = tx->ro(kNodesMap)->get(NodeKey(member));
    Result<NodeInfo> info =
        record ? NodeInfo::FromJson(*record) : Result<NodeInfo>(NotFoundError("no record"));
    if (info.ok() && info->status != kNodeRetired) {
      spdlog::warn("node {}: node {} unreachable for {} s: retiring it", self_id, member,
                   config.node.retire_unreachable_after_s);
      if (!SetNodeStatus(*info, kNodeRetired).ok()) return;
    }
    Result<TxId> change = replica->ProposeConfChange({raft::ConfChangeType::kRemoveNode, member});
    if (change.ok()) {
      spdlog::info("node {}: removing node {} from raft ({})", self_id, member, change->ToString());
      heard->second = now;
      SchedulePump();
    }
    return;
  }
}

void Node::Impl::Wait(TxId id, std::function<void(TxStatus)> done) {
  waiters.push_back(Waiter{id, std::move(done), Clock::now() + std::chrono::seconds(30)});
}

void Node::Impl::CheckWaiters() {
  if (waiters.empty()) return;
  std::vector<Waiter> finished;
  std::erase_if(waiters, [&](Waiter& waiter) {
    const TxStatus status = replica->StatusOf(waiter.id);
    if (status != TxStatus::kCommitted && status != TxStatus::kInvalid) return false;
    finished.push_back(std::move(waiter));
    return true;
  });
  for (Waiter& waiter : finished) waiter.done(replica->StatusOf(waiter.id));
}

void Node::Impl::SendAll(const std::vector<raft::Message>& messages) {
  // The messages to one peer go out as one channel write (one TLS write, not one per message).
  std::map<uint64_t, std::vector<Bytes>> by_peer;
  for (const raft::Message& message : messages) {
    if (!peers.contains(message.to)) {
      ++counters.raft_messages_dropped;
      continue;
    }
    by_peer[message.to].push_back(raft::EncodeMessage(message));
    ++counters.raft_messages_sent;
  }
  for (auto& [peer_id, payloads] : by_peer) {
    Peer& peer = peers.at(peer_id);
    if (peer.channel) {
      peer.channel->SendAll(payloads);
      continue;
    }
    for (Bytes& payload : payloads) {
      if (peer.pending.size() < 1024) peer.pending.push_back(std::move(payload));
    }
    if (!peer.connecting) Connect(peer_id);
  }
}

void Node::Impl::Connect(uint64_t peer_id) {
  Peer& peer = peers[peer_id];
  if (Clock::now() - peer.last_failure < std::chrono::milliseconds(500)) {
    peer.pending.clear();
    return;
  }
  boost::system::error_code error;
  asio::ip::address address = asio::ip::make_address(peer.node_address.host, error);
  if (error) {
    spdlog::warn("node {}: peer {} address {} is not an IP address", self_id, peer_id,
                 peer.node_address.ToString());
    peer.last_failure = Clock::now();
    return;
  }
  peer.connecting = true;
  auto socket = std::make_shared<tcp::socket>(io);
  socket->async_connect(tcp::endpoint(address, peer.node_address.port),
                        [this, peer_id, socket](const boost::system::error_code& connect_error) {
                          if (stopped) return;
                          auto it = peers.find(peer_id);
                          if (it == peers.end()) return;
                          Peer& target = it->second;
                          target.connecting = false;
                          if (connect_error) {
                            target.last_failure = Clock::now();
                            target.pending.clear();
                            return;
                          }
                          ChannelOptions options;
                          options.max_frame_bytes = config.node.max_frame_bytes;
                          target.channel =
                              Channel::Create(std::move(*socket), *channel_client_context, options);
                          StartChannel(target.channel, TlsRole::kClient, peer_id);
                          target.channel->SendAll(target.pending);
                          target.pending.clear();
                        });
}

void Node::Impl::AcceptNext() {
  node_acceptor.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
    if (stopped || error == asio::error::operation_aborted) return;
    if (!error) {
      ChannelOptions options;
      options.max_frame_bytes = config.node.max_frame_bytes;
      auto channel = Channel::Create(std::move(socket), *channel_server_context, options);
      std::erase_if(inbound, [](const std::weak_ptr<Channel>& weak) { return weak.expired(); });
      inbound.push_back(channel);
      StartChannel(channel, TlsRole::kServer, std::nullopt);
    }
    AcceptNext();
  });
}

void Node::Impl::StartChannel(const std::shared_ptr<Channel>& channel, TlsRole role,
                              std::optional<uint64_t> expected_peer) {
  auto sender = std::make_shared<uint64_t>(0);
  std::weak_ptr<Channel> weak = channel;
  auto on_open = [this, weak, sender, expected_peer] {
    auto open = weak.lock();
    if (!open || !open->peer()) return;
    auto it = trusted.find(SpkiHex(*open->peer()));
    if (it == trusted.end() || (expected_peer && *expected_peer != it->second)) {
      open->Close(PermissionDeniedError("peer key does not belong to the expected node"));
      return;
    }
    *sender = it->second;
  };
  auto on_frame = [this, sender](Bytes payload) { OnFrame(sender, std::move(payload)); };
  auto on_close = [this, weak, expected_peer](const Error& reason) {
    if (!expected_peer) return;
    auto it = peers.find(*expected_peer);
    if (it == peers.end()) return;
    if (it->second.channel && it->second.channel == weak.lock()) {
      spdlog::debug("node {}: channel to {} closed: {}", self_id, *expected_peer, reason.message);
      it->second.channel.reset();
    }
  };
  channel->Start(role, on_open, on_frame, on_close);
}

void Node::Impl::OnFrame(const std::shared_ptr<uint64_t>& sender, Bytes payload) {
  if (stopped || *sender == 0) return;
  if (!peers.contains(*sender)) {
    // Retired since its channel opened (ApplyNodes closes such channels; frames already read
    // are refused here).
    ++counters.raft_messages_dropped;
    return;
  }
  Result<raft::Message> message = raft::DecodeMessage(payload);
  if (!message.ok()) {
    spdlog::warn("node {}: malformed raft message from node {}: {}", self_id, *sender,
                 message.error().message);
    return;
  }
  if (message->from != *sender || message->to != self_id) {
    spdlog::warn("node {}: dropped a message claiming {} -> {} on node {}'s channel", self_id,
                 message->from, message->to, *sender);
    ++counters.raft_messages_dropped;
    return;
  }
  ++counters.raft_messages_received;
  last_heard[*sender] = Clock::now();
  Status stepped = replica->Step(*message);
  if (!stepped.ok()) {
    spdlog::debug("node {}: raft refused a message: {}", self_id, stepped.error().message);
  }
  SchedulePump();
}

}  // namespace cloister::node
