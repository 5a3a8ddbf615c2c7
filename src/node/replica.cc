#include "cloister/node/replica.h"

#include <charconv>

#include "cloister/ledger/snapshot.h"
#include "cloister/raft/codec.h"

namespace cloister::node {

namespace {

constexpr std::string_view kNoOpKey = "leader_term";
constexpr std::string_view kConfChangeKey = "conf_change";

Result<uint64_t> ParseDecimal(std::string_view text, std::string_view what) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return ParseError(what, " '", text, "' is not a decimal number");
  }
  return value;
}

void PutU64(Bytes* out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(value >> shift));
}

uint64_t GetU64(ByteSpan bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = (value << 8) | bytes[i];
  return value;
}

// Raft's snapshot data: u64 length || the signed snapshot file || (u64 start || secret)* for the
// ledger secrets covering entries up to the snapshot's index + 1. A member that installs the
// snapshot may lack secrets rotated after its own log ended; they travel with the snapshot inside
// the attested node-to-node TLS channel (raft messages) and are never written to disk.
Bytes WrapSnapshot(const Bytes& file, const ledger::LedgerSecrets& secrets, uint64_t index) {
  Bytes out;
  PutU64(&out, file.size());
  out.insert(out.end(), file.begin(), file.end());
  for (const auto& [start, secret] : secrets.by_start()) {
    if (start > index + 1) break;
    PutU64(&out, start);
    out.insert(out.end(), secret.begin(), secret.end());
  }
  return out;
}

struct WrappedSnapshot {
  ByteSpan file;
  std::vector<std::pair<uint64_t, Bytes>> secrets;
};

Result<WrappedSnapshot> UnwrapSnapshot(ByteSpan data) {
  if (data.size() < 8) return ParseError("raft snapshot data of ", data.size(), " bytes");
  const uint64_t size = GetU64(data);
  if (size > data.size() - 8) {
    return ParseError("raft snapshot data: file of ", size, " bytes in ", data.size());
  }
  WrappedSnapshot out;
  out.file = data.subspan(8, size);
  ByteSpan rest = data.subspan(8 + size);
  constexpr size_t kItem = 8 + ledger::kSecretSize;
  if (rest.empty() || rest.size() % kItem != 0) {
    return ParseError("raft snapshot data: ", rest.size(), " bytes of ledger secrets");
  }
  for (; !rest.empty(); rest = rest.subspan(kItem)) {
    const ByteSpan secret = rest.subspan(8, ledger::kSecretSize);
    out.secrets.emplace_back(GetU64(rest), Bytes(secret.begin(), secret.end()));
  }
  return out;
}

}  // namespace

std::string TxId::ToString() const { return std::to_string(term) + "." + std::to_string(index); }

Result<TxId> TxId::Parse(std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) {
    return InvalidArgumentError("transaction id '", text, "' is not term.index");
  }
  TxId id;
  ASSIGN_OR_RETURN(id.term, ParseDecimal(text.substr(0, dot), "transaction term"));
  ASSIGN_OR_RETURN(id.index, ParseDecimal(text.substr(dot + 1), "transaction index"));
  if (id.term == 0 || id.index == 0) {
    return InvalidArgumentError("transaction id '", text, "' has a zero term or index");
  }
  return id;
}

std::string_view TxStatusName(TxStatus status) {
  switch (status) {
    case TxStatus::kUnknown:
      return "Unknown";
    case TxStatus::kPending:
      return "Pending";
    case TxStatus::kCommitted:
      return "Committed";
    case TxStatus::kInvalid:
      return "Invalid";
  }
  return "Unknown";
}

Bytes EncodePayload(PayloadKind kind, const kv::WriteSet& writes) {
  Bytes out;
  out.push_back(static_cast<uint8_t>(kind));
  const Bytes encoded = writes.Encode();
  out.insert(out.end(), encoded.begin(), encoded.end());
  return out;
}

Result<Payload> PayloadOfEntry(const raft::Entry& entry) {
  Payload payload;
  if (entry.type == raft::EntryType::kConfChange) {
    payload.writes.maps[std::string(kRaftMap)][std::string(kConfChangeKey)] =
        std::string(AsString(entry.data));
    return payload;
  }
  if (entry.data.empty()) {
    payload.writes.maps[std::string(kRaftMap)][std::string(kNoOpKey)] = std::to_string(entry.term);
    return payload;
  }
  const uint8_t kind = entry.data[0];
  if (kind != static_cast<uint8_t>(PayloadKind::kTransaction) &&
      kind != static_cast<uint8_t>(PayloadKind::kSignature)) {
    return ParseError("raft entry ", entry.index, " has unknown payload kind ", kind);
  }
  payload.kind = static_cast<PayloadKind>(kind);
  ASSIGN_OR_RETURN(payload.writes, kv::WriteSet::Decode(ByteSpan(entry.data).subspan(1)));
  if (payload.writes.empty()) {
    return ParseError("raft entry ", entry.index, " carries an empty write set");
  }
  if (payload.kind == PayloadKind::kTransaction &&
      payload.writes.maps.contains(std::string(kRaftMap))) {
    return ParseError("raft entry ", entry.index, " writes the reserved map ", kRaftMap);
  }
  return payload;
}

std::string LedgerSecretKey(uint64_t start_index) {
  return std::string(kLedgerSecretPrefix) + std::to_string(start_index);
}

Result<std::optional<Bytes>> RotatedSecret(const kv::WriteSet& writes, uint64_t index) {
  const auto map = writes.maps.find(std::string(kSecretsMap));
  if (map == writes.maps.end()) return std::optional<Bytes>();
  const std::string expected = LedgerSecretKey(index + 1);
  std::optional<Bytes> secret;
  for (auto it = map->second.lower_bound(std::string(kLedgerSecretPrefix));
       it != map->second.end() && it->first.starts_with(kLedgerSecretPrefix); ++it) {
    if (it->first != expected) {
      return InvalidArgumentError("transaction ", index, " writes ", kSecretsMap, " key ",
                                  it->first, ": a ledger secret written at ", index,
                                  " can only start at ", index + 1);
    }
    if (!it->second) {
      return InvalidArgumentError("transaction ", index, " removes ledger secret ", it->first);
    }
    Result<Bytes> decoded = Base64Decode(*it->second);
    if (!decoded.ok() || decoded->size() != ledger::kSecretSize) {
      return InvalidArgumentError("transaction ", index, " writes ledger secret ", it->first,
                                  " that is not the base64 of ", ledger::kSecretSize, " bytes");
    }
    secret = std::move(decoded).value();
  }
  return secret;
}

Replica::Replica(ReplicaOptions options, Rng& rng, ledger::Storage* storage, Bytes ledger_id,
                 ledger::LedgerSecrets* secrets, crypto::PrivateKey service_key)
    : options_(std::move(options)),
      raft_(options_.raft, rng),
      storage_(storage),
      ledger_id_(std::move(ledger_id)),
      secrets_(secrets),
      service_key_(std::move(service_key)),
      service_public_(service_key_.Public()) {}

Result<std::unique_ptr<Replica>> Replica::Found(ReplicaOptions options, Rng& rng,
                                                ledger::Storage* storage, Bytes ledger_id,
                                                ledger::LedgerSecrets* secrets,
                                                crypto::PrivateKey service_key,
                                                const kv::WriteSet& genesis) {
  if (options.raft.bootstrap.voters.empty()) {
    return InvalidArgumentError("a founding replica needs a bootstrap configuration");
  }
  if (genesis.empty()) return InvalidArgumentError("the genesis transaction writes nothing");
  std::unique_ptr<Replica> replica(new Replica(
      std::move(options), rng, storage, std::move(ledger_id), secrets, std::move(service_key)));
  ASSIGN_OR_RETURN(replica->ledger_, ledger::Ledger::Create(storage, replica->ledger_id_, secrets,
                                                            replica->options_.ledger));
  RETURN_IF_ERROR(replica->ledger_->AppendTransaction(1, 1, genesis));
  RETURN_IF_ERROR(replica->ledger_->Sync());
  RETURN_IF_ERROR(replica->store_.Apply(genesis, 1));
  replica->RecordTerm(1, 1);
  replica->committed_ = 1;
  // Raft's base snapshot (index 1) must carry the genesis state for members that join later.
  Result<uint64_t> base = replica->MakeSnapshot();
  if (!base.ok()) return base.error();
  return replica;
}

Result<std::unique_ptr<Replica>> Replica::Join(ReplicaOptions options, Rng& rng,
                                               ledger::Storage* storage, Bytes ledger_id,
                                               ledger::LedgerSecrets* secrets,
                                               crypto::PrivateKey service_key) {
  if (!options.raft.bootstrap.empty()) {
    return InvalidArgumentError("a joining replica starts with an empty configuration");
  }
  if (ledger_id.size() != ledger::kLedgerIdSize) {
    return InvalidArgumentError("ledger id is ", ledger_id.size(), " bytes, expected ",
                                ledger::kLedgerIdSize);
  }
  return std::unique_ptr<Replica>(new Replica(
      std::move(options), rng, storage, std::move(ledger_id), secrets, std::move(service_key)));
}

Result<uint64_t> Replica::MakeSnapshot() {
  if (ledger_ == nullptr) return FailedPreconditionError("no state to snapshot before joining");
  const uint64_t index = committed_;
  const std::optional<uint64_t> term = TermAt(index);
  if (!term) return InternalError("no term known for committed index ", index);
  if (index == raft_.log().snapshot().index && !raft_.log().snapshot().data.empty()) return index;
  ledger::SnapshotSource source;
  source.store = &store_;
  source.index = index;
  source.term = *term;
  source.tree = &ledger_->tree();
  source.ledger_id = ledger_id_;
  ASSIGN_OR_RETURN(std::string name,
                   ledger::WriteSnapshot(storage_, source, *secrets_, service_key_));
  ASSIGN_OR_RETURN(Bytes bytes, storage_->Read(name));
  RETURN_IF_ERROR(raft_.Compact(index, WrapSnapshot(bytes, *secrets_, index)));
  store_.Compact(index);
  return index;
}

Status Replica::InstallSnapshot(const raft::Snapshot& snapshot) {
  if (snapshot.index <= committed_) {
    return InternalError("raft installed snapshot ", snapshot.index, " at or below commit ",
                         committed_);
  }
  const std::string name = ledger::SnapshotFileName(snapshot.index);
  ASSIGN_OR_RETURN(WrappedSnapshot wrapped, UnwrapSnapshot(snapshot.data));
  ASSIGN_OR_RETURN(std::vector<std::string> names, storage_->List());
  for (const std::string& existing : names) {
    // A lagging member's old segments are behind (or diverged from) the snapshot: start over.
    if (ledger::ParseSegmentFileName(existing) || existing == name) {
      RETURN_IF_ERROR(storage_->Remove(existing));
    }
  }
  RETURN_IF_ERROR(storage_->Append(name, Bytes(wrapped.file.begin(), wrapped.file.end())));
  RETURN_IF_ERROR(storage_->Sync(name));
  RETURN_IF_ERROR(storage_->SyncDirectory());
  // The sender's secrets cover every entry up to the snapshot; this member's own beyond them
  // belonged to the entries it just dropped.
  secrets_->RemoveFrom(1);
  for (auto& [start, secret] : wrapped.secrets) {
    RETURN_IF_ERROR(secrets_->Add(start, std::move(secret)));
  }
  ledger::SnapshotReadOptions read_options;
  read_options.secrets = secrets_;
  read_options.ledger_id = ledger_id_;
  read_options.min_index = snapshot.index;
  ASSIGN_OR_RETURN(ledger::Snapshot read,
                   ledger::ReadSnapshot(storage_, name, service_public_, read_options));
  if (read.index != snapshot.index || read.term != snapshot.term) {
    return VerificationError("snapshot file says index ", read.index, " term ", read.term,
                             " but raft announced index ", snapshot.index, " term ", snapshot.term);
  }
  ledger_.reset();
  ASSIGN_OR_RETURN(ledger_,
                   ledger::Ledger::CreateAfterSnapshot(storage_, ledger_id_, std::move(read.tree),
                                                       read.term, secrets_, options_.ledger));
  store_.Reset(read.index, std::move(read.state));
  own_.clear();
  term_starts_.clear();
  term_starts_[read.index] = read.term;
  committed_ = read.index;
  return OkStatus();
}

void Replica::RecordTerm(uint64_t index, uint64_t term) {
  if (term_starts_.empty() || term_starts_.rbegin()->second != term) term_starts_[index] = term;
}

std::optional<uint64_t> Replica::TermAt(uint64_t index) const {
  if (ledger_ == nullptr || index == 0 || index > ledger_->last_index()) return std::nullopt;
  auto it = term_starts_.upper_bound(index);
  if (it == term_starts_.begin()) return std::nullopt;
  return std::prev(it)->second;
}

Status Replica::DiscardFrom(uint64_t index) {
  if (index <= committed_) {
    return InternalError("raft replaced entry ", index, " at or below the commit index ",
                         committed_);
  }
  RETURN_IF_ERROR(ledger_->Truncate(index - 1));
  store_.Rollback(index - 1);
  secrets_->RemoveFrom(index + 1);  // those rotated by the discarded entries
  own_.erase(own_.lower_bound(index), own_.end());
  term_starts_.erase(term_starts_.lower_bound(index), term_starts_.end());
  return OkStatus();
}

Status Replica::Persist(const raft::Entry& entry) {
  if (entry.index <= ledger_->base_index()) return OkStatus();  // covered by the snapshot
  if (entry.index <= ledger_->last_index()) {
    auto own = own_.find(entry.index);
    if (own != own_.end() && own->second == entry.term) {
      own_.erase(own);  // appended by Execute/EmitSignature as leader: already persisted
      return OkStatus();
    }
    RETURN_IF_ERROR(DiscardFrom(entry.index));
  }
  if (entry.index != ledger_->last_index() + 1) {
    return InternalError("raft entry ", entry.index, " does not follow ledger entry ",
                         ledger_->last_index());
  }
  ASSIGN_OR_RETURN(Payload payload, PayloadOfEntry(entry));
  if (payload.kind == PayloadKind::kSignature) {
    RETURN_IF_ERROR(ledger_->AppendSignatureEntry(entry.term, payload.writes, service_public_));
  } else {
    RETURN_IF_ERROR(ledger_->AppendTransaction(entry.term, entry.index, payload.writes));
  }
  RETURN_IF_ERROR(store_.Apply(payload.writes, entry.index));
  RecordTerm(entry.index, entry.term);
  return TrackSecrets(entry.index, payload.writes);
}

Status Replica::TrackSecrets(uint64_t index, const kv::WriteSet& writes) {
  // The log is 1..index now: a secret starting at s belongs to the rotation entry s - 1, so only
  // starts up to index are backed by older entries and index + 1 only by this one. Any other
  // (discarded by a new leader, or received by a joiner before its entry was replaced) goes.
  secrets_->RemoveFrom(index + 1);
  ASSIGN_OR_RETURN(std::optional<Bytes> rotated, RotatedSecret(writes, index));
  if (!rotated) return OkStatus();
  return secrets_->Add(index + 1, std::move(*rotated));
}

bool Replica::MayPrecedeSync(const raft::Message& message) {
  return message.type == raft::MessageType::kAppend ||
         message.type == raft::MessageType::kHeartbeat ||
         message.type == raft::MessageType::kSnapshot;
}

Result<std::vector<raft::Message>> Replica::Process(const SendBeforeSync& send_before_sync) {
  while (raft_.HasReady()) {
    raft::Ready ready = raft_.TakeReady();
    if (ready.snapshot) RETURN_IF_ERROR(InstallSnapshot(*ready.snapshot));
    if (ledger_ == nullptr && !ready.entries.empty()) {
      return InternalError("raft sent entries from ", ready.entries.front().index,
                           " before a snapshot to a joining replica");
    }
    for (const raft::Entry& entry : ready.entries) RETURN_IF_ERROR(Persist(entry));
    if (send_before_sync) {
      std::vector<raft::Message> early;
      std::vector<raft::Message> after_sync;
      for (raft::Message& message : ready.messages) {
        (MayPrecedeSync(message) ? early : after_sync).push_back(std::move(message));
      }
      ready.messages = std::move(after_sync);
      if (!early.empty()) send_before_sync(std::move(early));
    }
    if (options_.sync && ledger_ != nullptr && ledger_->durable_index() < ledger_->last_index()) {
      RETURN_IF_ERROR(ledger_->Sync());
    }
    for (raft::Message& message : ready.messages) outbox_.push_back(std::move(message));
    for (const raft::Entry& entry : ready.committed_entries) {
      if (ledger_ == nullptr || entry.index > ledger_->last_index()) {
        return InternalError("raft committed entry ", entry.index, " beyond the ledger");
      }
      committed_ = std::max(committed_, entry.index);
    }
    for (const raft::ReadState& state : ready.read_states) read_states_.push_back(state);
    raft_.Advance();
  }
  if (ledger_ != nullptr) {
    mirrored_index_ = raft_.log().LastIndex();
    mirrored_term_ = raft_.log().LastTerm();
  }
  std::vector<raft::Message> out = std::move(outbox_);
  outbox_.clear();
  return out;
}

Status Replica::RequireLeaderInStep() {
  if (raft_.role() != raft::Role::kLeader || ledger_ == nullptr) {
    return UnavailableError("not the leader (leader is node ", raft_.leader(), ")");
  }
  // Raft may have appended entries of its own (a no-op, a membership change) or a leader's
  // entries before this node was elected that are not yet in the ledger and store; bring them in
  // so the next version is the next raft index. When raft's last entry is still the one the
  // ledger mirrors (same index and term, hence the same log up to it), only this leader's own
  // proposals are pending: nothing is processed here, so that a burst of transactions is
  // persisted by the next Process() with one sync (group commit), not one sync each.
  if (raft_.log().LastIndex() != mirrored_index_ || raft_.log().LastTerm() != mirrored_term_) {
    ASSIGN_OR_RETURN(std::vector<raft::Message> messages, Process());
    for (raft::Message& message : messages) outbox_.push_back(std::move(message));
  }
  if (store_.current_version() != raft_.log().LastIndex() ||
      ledger_->last_index() != raft_.log().LastIndex()) {
    return InternalError("store version ", store_.current_version(), " and ledger index ",
                         ledger_->last_index(), " differ from raft's last index ",
                         raft_.log().LastIndex());
  }
  return OkStatus();
}

Result<TxId> Replica::ProposeAppended(PayloadKind kind, const kv::WriteSet& writes) {
  const uint64_t index = ledger_->last_index();
  const uint64_t term = raft_.term();
  Result<uint64_t> proposed = raft_.Propose(EncodePayload(kind, writes));
  if (!proposed.ok() || *proposed != index) {
    RETURN_IF_ERROR(ledger_->Truncate(index - 1));
    store_.Rollback(index - 1);
    if (!proposed.ok()) return proposed.error();
    return InternalError("raft placed the proposal at ", *proposed, ", not ", index);
  }
  own_[index] = term;
  RecordTerm(index, term);
  mirrored_index_ = index;
  mirrored_term_ = term;
  return TxId{term, index};
}

Result<TxId> Replica::Execute(const std::function<Status(kv::Tx&)>& body) {
  RETURN_IF_ERROR(RequireLeaderInStep());
  kv::Tx tx = store_.Begin();
  const Status ran = body(tx);
  if (!ran.ok()) {
    tx.Abort();
    return ran.error();
  }
  if (tx.pending_writes().empty()) {
    tx.Abort();
    return InvalidArgumentError("the transaction writes nothing");
  }
  if (tx.pending_writes().maps.contains(std::string(kRaftMap))) {
    tx.Abort();
    return PermissionDeniedError("the map ", kRaftMap, " is reserved");
  }
  const Result<std::optional<Bytes>> rotated =
      RotatedSecret(tx.pending_writes(), tx.read_version() + 1);
  if (!rotated.ok()) {
    tx.Abort();
    return rotated.error();
  }
  ASSIGN_OR_RETURN(kv::CommitResult committed, store_.Commit(tx));
  const Status appended =
      ledger_->AppendTransaction(raft_.term(), committed.version, committed.write_set);
  if (!appended.ok()) {
    store_.Rollback(committed.version - 1);
    return appended.error();
  }
  ASSIGN_OR_RETURN(TxId id, ProposeAppended(PayloadKind::kTransaction, committed.write_set));
  // From here on this leader seals entries after `id` under the rotated secret, if any.
  RETURN_IF_ERROR(TrackSecrets(id.index, committed.write_set));
  return id;
}

Result<TxId> Replica::EmitSignature() {
  RETURN_IF_ERROR(RequireLeaderInStep());
  ASSIGN_OR_RETURN(kv::WriteSet writes, ledger_->AppendSignature(raft_.term(), service_key_));
  const Status applied = store_.Apply(writes, ledger_->last_index());
  if (!applied.ok()) {
    RETURN_IF_ERROR(ledger_->Truncate(ledger_->last_index() - 1));
    return applied.error();
  }
  return ProposeAppended(PayloadKind::kSignature, writes);
}

Result<TxId> Replica::ProposeConfChange(const raft::ConfChange& change) {
  if (raft_.role() != raft::Role::kLeader) {
    return UnavailableError("not the leader (leader is node ", raft_.leader(), ")");
  }
  const uint64_t term = raft_.term();
  ASSIGN_OR_RETURN(uint64_t index, raft_.ProposeConfChange(change));
  return TxId{term, index};
}

Result<kv::Tx> Replica::BeginCommittedRead() { return store_.BeginAt(committed_); }

TxStatus Replica::StatusOf(const TxId& id) const {
  const std::optional<uint64_t> term = TermAt(id.index);
  if (term && *term == id.term) {
    return id.index <= committed_ ? TxStatus::kCommitted : TxStatus::kPending;
  }
  // Another entry holds that index, or none does yet. Terms only grow along a log, so once an
  // entry of a later term is committed, no entry of an earlier term past it can ever commit.
  const uint64_t committed_term = TermAt(committed_).value_or(0);
  if (id.index <= committed_ || id.term < committed_term) return TxStatus::kInvalid;
  return TxStatus::kUnknown;
}

}  // namespace cloister::node
