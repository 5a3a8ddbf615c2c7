// Ledger: the append-only, encrypted, Merkle-tree-protected record of committed transactions.
//
// One entry per committed kv transaction, numbered like kv versions (entry i is version i), so a
// node replays entries 1..n into a kv::Store and reaches version n. Signature transactions are
// entries too: AppendSignature() signs the Merkle root of every entry before it with the service
// key and returns the write set it records (map public:cloister.signatures), which the caller
// applies to its store as that version. Receipt(i) then proves entry i offline.
//
// Entries go to segment files through the Storage interface (never the OS): appends are
// buffered by the host until Sync(); the ledger syncs by itself once group_commit_entries
// entries or group_commit_bytes bytes are unsynced (group commit), and durable_index() says how
// far a crash cannot reach. Truncate() discards an uncommitted suffix; Open() verifies
// everything on disk (see reader.h) and cuts a torn tail left by a crash.
//
// Invariants:
//  1. Entries on disk are exactly 1..last_index(), in order, hash-chained, each leaf in tree_.
//  2. durable_index() <= last_index(); entries up to durable_index() were synced.
//  3. Each entry's private part is sealed under the secret whose range covers its index.
//
// Thread safety: none; one thread (the node's ledger writer) uses a Ledger. `storage` and
// `secrets` must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/key.h"
#include "cloister/kv/write_set.h"
#include "cloister/ledger/merkle.h"
#include "cloister/ledger/reader.h"
#include "cloister/ledger/secrets.h"
#include "cloister/ledger/storage.h"

namespace cloister::ledger {

struct LedgerOptions {
  // A new segment starts when the current one would grow beyond this.
  uint64_t segment_size_bytes_max = 16 * 1024 * 1024;
  // Group commit: sync once this many entries, or this many bytes, are unsynced. 1 syncs every
  // entry; 0 never syncs by itself (the caller calls Sync()).
  uint64_t group_commit_entries = 64;
  uint64_t group_commit_bytes = 4 * 1024 * 1024;
};

// What Open() found and did.
struct OpenReport {
  uint64_t entry_count = 0;
  uint64_t last_signed_index = 0;
  // Non-empty when a torn tail was cut: what was wrong and how many bytes were dropped.
  std::string torn_reason;
  uint64_t torn_bytes_dropped = 0;
};

class Ledger {
 public:
  // A new ledger in `storage`, which must hold no segment file. `ledger_id` (kLedgerIdSize
  // bytes) names the service; `secrets` must cover index 1.
  static Result<std::unique_ptr<Ledger>> Create(Storage* storage, Bytes ledger_id,
                                                LedgerSecrets* secrets, LedgerOptions options);
  // A new ledger in `storage` (no segment file) that continues after a verified snapshot: entries
  // 1..tree.size() are known only by their leaf hashes in `tree` (they are not on this disk), and
  // the next entry appended is tree.size() + 1, chained to the snapshot's last leaf. Used by a
  // joining node. Receipts for entries up to the snapshot are not available from this ledger.
  static Result<std::unique_ptr<Ledger>> CreateAfterSnapshot(Storage* storage, Bytes ledger_id,
                                                             MerkleTree tree, uint64_t term,
                                                             LedgerSecrets* secrets,
                                                             LedgerOptions options);
  // Opens an existing ledger: verifies it (pinning `service_key` if not null), cuts a torn tail
  // and calls `on_entry` for every entry in order (to rebuild a kv::Store).
  static Result<std::unique_ptr<Ledger>> Open(
      Storage* storage, LedgerSecrets* secrets, const crypto::PublicKey* service_key,
      LedgerOptions options, const std::function<Status(const ReadEntry&)>& on_entry,
      OpenReport* report);

  [[nodiscard]] uint64_t last_index() const { return tree_.size(); }
  [[nodiscard]] uint64_t durable_index() const { return durable_index_; }
  [[nodiscard]] uint64_t last_signed_index() const { return last_signed_index_; }
  [[nodiscard]] const Bytes& ledger_id() const { return ledger_id_; }
  [[nodiscard]] const MerkleTree& tree() const { return tree_; }
  [[nodiscard]] uint64_t last_term() const { return last_term_; }
  // Entries up to this index came from a snapshot and are not on this disk (0 normally).
  [[nodiscard]] uint64_t base_index() const { return base_index_; }

  // Appends committed transaction `version` (must be last_index() + 1) in `term`.
  Status AppendTransaction(uint64_t term, uint64_t version, const kv::WriteSet& writes);
  // Appends a signature entry over entries 1..last_index() (at least one) and returns its write
  // set, to be applied to the kv store as version last_index().
  Result<kv::WriteSet> AppendSignature(uint64_t term, const crypto::PrivateKey& service_key);
  // Appends a signature entry that another replica produced with AppendSignature(): `writes` must
  // be exactly that write set, and its COSE_Sign1 must sign this ledger's root over entries
  // 1..last_index() with `service_key` (kVerification otherwise; nothing is appended). The entry
  // is then byte-identical to the signer's, so every replica keeps the same Merkle tree.
  Status AppendSignatureEntry(uint64_t term, const kv::WriteSet& writes,
                              const crypto::PublicKey& service_key);
  // Syncs every appended entry to disk (the group commit point).
  Status Sync();
  // Keeps entries 1..index (base_index() <= index <= last_index()), removing the rest from disk.
  Status Truncate(uint64_t index);
  // A new secret for entries from last_index() + 1 on; older entries keep their secrets.
  Status RotateSecret(Bytes secret);
  // The receipt of entry `index`, from the first signature after it (kNotFound if none yet).
  Result<Bytes> Receipt(uint64_t index);

 private:
  struct Location {
    size_t segment = 0;  // position in segments_
    uint64_t offset = 0;
    uint64_t size = 0;
  };
  struct Segment {
    std::string name;
    uint64_t first_index = 0;
    uint64_t size = 0;
  };

  Ledger(Storage* storage, Bytes ledger_id, LedgerSecrets* secrets, LedgerOptions options)
      : storage_(storage), ledger_id_(std::move(ledger_id)), secrets_(secrets), options_(options) {}
  static Result<std::unique_ptr<Ledger>> Create(Storage* storage, Bytes ledger_id,
                                                LedgerSecrets* secrets, LedgerOptions options,
                                                uint64_t first_index);
  Status StartSegment(uint64_t first_index);
  Status AppendFrame(const Bytes& frame, uint64_t term, const Bytes& leaf_hash);
  Result<Bytes> EncodeNext(EntryKind kind, uint64_t term, const kv::WriteSet& writes);

  Storage* storage_;
  Bytes ledger_id_;
  LedgerSecrets* secrets_;
  LedgerOptions options_;
  MerkleTree tree_;
  std::vector<Segment> segments_;
  uint64_t base_index_ = 0;
  std::vector<Location> locations_;  // entry i at locations_[i - base_index_ - 1]
  std::map<uint64_t, Bytes> signatures_;
  uint64_t durable_index_ = 0;
  uint64_t last_signed_index_ = 0;
  uint64_t last_term_ = 0;
  uint64_t unsynced_entries_ = 0;
  uint64_t unsynced_bytes_ = 0;
};

// A fresh random ledger id.
Bytes NewLedgerId();

}  // namespace cloister::ledger
