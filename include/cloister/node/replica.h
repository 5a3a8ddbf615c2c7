// Replica: one node's replicated state machine: the raft core, the kv store and the ledger,
// kept in lockstep and driven by raft's Ready.
//
// One numbering everywhere: raft log index i == ledger entry i == kv version i. Entry 1 is the
// genesis transaction (raft's base snapshot at index 1, term 1); every later raft entry becomes
// exactly one ledger entry and one kv version:
//   - a transaction proposed by the leader carries its write set;
//   - a signature transaction carries the leader's COSE_Sign1 over the Merkle root, copied
//     verbatim by followers (ECDSA is randomised, so followers never sign themselves);
//   - raft's own entries (a new leader's no-op, a membership change) become a deterministic
//     write set to the public map `public:cloister.raft`, so that every node derives the same
//     bytes and the Merkle roots of all nodes agree.
// Entries are applied to the kv store and appended to the ledger as soon as they are persisted,
// before they commit (as CCF does): the leader executes a transaction against its latest state,
// appends it, then proposes it. When raft replaces an uncommitted suffix, the ledger is truncated
// and the store rolled back to the last common index, and the ledger secrets rotated by the
// discarded entries are forgotten (kLedgerSecretPrefix). Clients only ever read the committed
// version (BeginCommittedRead) and receive an answer only once their transaction commits, so the
// speculative suffix is never visible to them.
//
// Ordering per Ready (raft.h rules): ledger appends for `entries`, then the leader's Append,
// Heartbeat and Snapshot messages may leave (see Process), then one Sync() (group commit) when
// syncing is on, then the other messages are released to the caller, then committed entries
// advance the commit point. Hard state is not persisted: a restarted process is a new member.
//
// Thread safety: none; the node's event loop owns a Replica.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cloister/base/result.h"
#include "cloister/base/rng.h"
#include "cloister/crypto/key.h"
#include "cloister/kv/store.h"
#include "cloister/ledger/ledger.h"
#include "cloister/ledger/storage.h"
#include "cloister/raft/raft.h"

namespace cloister::node {

// The public map holding raft's own entries (no-ops and membership changes).
inline constexpr std::string_view kRaftMap = "public:cloister.raft";

// The private map of the secrets the service rotates (docs/governance.md, "Key rotations").
inline constexpr std::string_view kSecretsMap = "cloister.secrets";
// A ledger secret rotation: the transaction at index i that writes kSecretsMap key
// LedgerSecretKey(i + 1) = base64 of a fresh 32-byte secret. Every replica adds that secret to
// its LedgerSecrets from i + 1 on as soon as it appends entry i (the leader in Execute, the
// others in Process), so entry i + 1 onwards is sealed under it; if entry i is discarded
// (truncated before commit), the secret is removed with it. No other LedgerSecretKey may be
// written (Execute refuses it; a follower fails on it).
inline constexpr std::string_view kLedgerSecretPrefix = "ledger_secret/";
std::string LedgerSecretKey(uint64_t start_index);

// A transaction id as clients see it: "term.index".
struct TxId {
  uint64_t term = 0;
  uint64_t index = 0;

  [[nodiscard]] std::string ToString() const;
  static Result<TxId> Parse(std::string_view text);
  friend bool operator==(const TxId&, const TxId&) = default;
};

// CCF's transaction states: Unknown (not seen here), Pending (in the log, not committed),
// Committed, Invalid (replaced by another leader's entry: it will never commit).
enum class TxStatus : uint8_t { kUnknown, kPending, kCommitted, kInvalid };
std::string_view TxStatusName(TxStatus status);

struct ReplicaOptions {
  raft::RaftOptions raft;
  ledger::LedgerOptions ledger;
  // Sync the ledger before releasing the messages of each Ready (fsync on).
  bool sync = true;
};

// The payload of a raft entry proposed by a Replica.
enum class PayloadKind : uint8_t { kTransaction = 1, kSignature = 2 };
Bytes EncodePayload(PayloadKind kind, const kv::WriteSet& writes);
struct Payload {
  PayloadKind kind = PayloadKind::kTransaction;
  kv::WriteSet writes;
};
// Decodes a raft entry into what the ledger and the store record (see the header comment).
Result<Payload> PayloadOfEntry(const raft::Entry& entry);
// The ledger secret that the transaction at `index` rotates to (see kLedgerSecretPrefix), or
// nullopt; InvalidArgument for any other ledger secret key, a removal or a malformed secret.
Result<std::optional<Bytes>> RotatedSecret(const kv::WriteSet& writes, uint64_t index);

class Replica {
 public:
  // A founding replica: creates the ledger in `storage` (which must be empty) with `genesis` as
  // entry 1 in term 1 and starts raft with `options.raft.bootstrap`. Every founding member passes
  // the same ledger id, secrets and genesis, and so holds the same entry 1. `rng`, `storage` and
  // `secrets` must outlive the replica.
  static Result<std::unique_ptr<Replica>> Found(ReplicaOptions options, Rng& rng,
                                                ledger::Storage* storage, Bytes ledger_id,
                                                ledger::LedgerSecrets* secrets,
                                                crypto::PrivateKey service_key,
                                                const kv::WriteSet& genesis);

  // A joining replica: raft starts with an empty configuration (options.raft.bootstrap empty)
  // and the ledger is created when the leader's snapshot arrives (Process installs it: the
  // snapshot is verified against the service key and ledger id, the store is reset to it and the
  // ledger continues after it). `secrets` are replaced by those that come with the snapshot in
  // raft's snapshot data (the ledger secrets up to its index + 1, see MakeSnapshot).
  static Result<std::unique_ptr<Replica>> Join(ReplicaOptions options, Rng& rng,
                                               ledger::Storage* storage, Bytes ledger_id,
                                               ledger::LedgerSecrets* secrets,
                                               crypto::PrivateKey service_key);

  // Writes a signed snapshot of the committed state into the storage (snapshot_<index>.snap),
  // hands it to raft as the base for lagging and new members, and compacts raft's log and the
  // store's history up to it. Raft's copy also carries the ledger secrets up to index + 1 (only
  // ever sent over the node-to-node channels: a member that installs it may have missed a
  // rotation). Returns the snapshot's index.
  Result<uint64_t> MakeSnapshot();

  void Tick() { raft_.Tick(); }
  void Campaign() { raft_.Campaign(); }
  // Network input. Errors only for a message not meant for this node.
  Status Step(const raft::Message& message) { return raft_.Step(message); }

  // Leader only: runs `body` on a transaction over the latest (possibly uncommitted) state,
  // appends the result and proposes it. A body that fails, or writes nothing, changes nothing.
  Result<TxId> Execute(const std::function<Status(kv::Tx&)>& body);
  // Leader only: appends and proposes a signature transaction over every entry so far.
  Result<TxId> EmitSignature();
  // Leader only: proposes a membership change.
  Result<TxId> ProposeConfChange(const raft::ConfChange& change);
  // Leader only: asks raft for a linearizable read point tagged `context`. Once a quorum has
  // confirmed this node's leadership, Process() collects a raft::ReadState {index, context}
  // (TakeReadStates); a read is served once commit_index() >= index. Lost if leadership is lost.
  Status ReadIndex(uint64_t context) { return raft_.ReadIndex(context); }
  // The read points raft released since the last call, in order.
  std::vector<raft::ReadState> TakeReadStates() { return std::exchange(read_states_, {}); }

  // Receives, per Ready, the messages that may be sent before this node's sync.
  using SendBeforeSync = std::function<void(std::vector<raft::Message>&& messages)>;

  // Drains raft's output: persists and applies as the header describes and returns the messages
  // to send now. Any error is fatal for this replica (its state may be inconsistent): the node
  // must stop (a restarted process is a new member).
  //
  // With `send_before_sync`, the messages a leader sends to its followers (Append, Heartbeat,
  // Snapshot: MayPrecedeSync) are handed to it once the Ready's entries are written and before
  // the sync, so that the followers' syncs overlap the leader's (Raft thesis §10.2.1). They
  // promise nothing about this node's disk. Every other message (Append and vote responses,
  // votes) is returned, after the sync (raft.h rule 1). Durability is unchanged: a follower
  // acknowledges an entry only after its own sync, and the caller steps that acknowledgement
  // only after this call returned (the callback must not Step this replica), i.e. after the
  // leader's sync of every entry it sent; so an entry counts as committed (and a client is
  // answered) only once it is synced on a majority.
  Result<std::vector<raft::Message>> Process(const SendBeforeSync& send_before_sync = nullptr);

  // Whether `message` may leave before the sender's own sync (see Process).
  static bool MayPrecedeSync(const raft::Message& message);

  // A read-only transaction over the committed state.
  Result<kv::Tx> BeginCommittedRead();

  [[nodiscard]] TxStatus StatusOf(const TxId& id) const;
  [[nodiscard]] uint64_t commit_index() const { return committed_; }
  [[nodiscard]] bool is_leader() const { return raft_.role() == raft::Role::kLeader; }
  [[nodiscard]] const raft::Raft& raft() const { return raft_; }
  [[nodiscard]] const kv::Store& store() const { return store_; }
  // Requires has_ledger() (always true for a founding replica; a joiner's once its snapshot is in).
  [[nodiscard]] ledger::Ledger& ledger() { return *ledger_; }
  [[nodiscard]] bool has_ledger() const { return ledger_ != nullptr; }
  // Entries appended since the last signature (the leader signs when this grows large).
  [[nodiscard]] uint64_t unsigned_entries() const {
    return ledger_ == nullptr ? 0 : ledger_->last_index() - ledger_->last_signed_index();
  }

 private:
  Replica(ReplicaOptions options, Rng& rng, ledger::Storage* storage, Bytes ledger_id,
          ledger::LedgerSecrets* secrets, crypto::PrivateKey service_key);

  Status InstallSnapshot(const raft::Snapshot& snapshot);

  Status RequireLeaderInStep();
  Status Persist(const raft::Entry& entry);
  Status DiscardFrom(uint64_t index);
  // Makes the ledger secrets match the log after entry `index` (just appended, with `writes`):
  // drops secrets starting after index (their rotation entries are not in this log) and adds
  // the one `writes` rotates to from index + 1, if any (checked by RotatedSecret).
  Status TrackSecrets(uint64_t index, const kv::WriteSet& writes);
  Result<TxId> ProposeAppended(PayloadKind kind, const kv::WriteSet& writes);
  void RecordTerm(uint64_t index, uint64_t term);
  [[nodiscard]] std::optional<uint64_t> TermAt(uint64_t index) const;

  ReplicaOptions options_;
  raft::Raft raft_;
  kv::Store store_;
  ledger::Storage* storage_;
  Bytes ledger_id_;
  std::unique_ptr<ledger::Ledger> ledger_;
  ledger::LedgerSecrets* secrets_;
  crypto::PrivateKey service_key_;
  crypto::PublicKey service_public_;
  uint64_t committed_ = 0;
  // Entries this replica appended as leader before raft handed them back in a Ready.
  std::map<uint64_t, uint64_t> own_;  // index -> term
  // First index of each term in the local log (term of index i = the last start <= i).
  std::map<uint64_t, uint64_t> term_starts_;
  std::vector<raft::Message> outbox_;
  std::vector<raft::ReadState> read_states_;
  // Raft's last entry (index, term) as of the last Process() or own proposal: the ledger and the
  // store hold raft's log up to it.
  uint64_t mirrored_index_ = 0;
  uint64_t mirrored_term_ = 0;
};

}  // namespace cloister::node
