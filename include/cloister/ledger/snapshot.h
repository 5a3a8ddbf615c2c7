// Snapshots: the whole kv state at one ledger index, encrypted, integrity-protected and signed,
// for compaction (a node restarts from it instead of replaying every entry) and for catching up
// new nodes (a joiner installs the leader's snapshot, then the entries after it).
//
// File "snapshot_<index, 20 digits>.snap" (docs/ledger_format.md): a 128-byte header (ledger id,
// index, term, secret start, salt, lengths), the Merkle leaf hashes of entries 1..index, the
// public maps in clear, the private maps as AES-256-GCM chunks under a key derived from the ledger
// secret and the per-snapshot salt (nonce = chunk number; AAD = header, chunk number and a
// last-chunk flag, so chunks cannot be dropped, reordered or swapped between snapshots), and a
// COSE_Sign1 by the service key over SHA-256 of everything before it, whose protected header names
// the service key (kid = SHA-256 of its SubjectPublicKeyInfo, "service_key" = the SPKI).
//
// Against substitution (H10): ReadSnapshot() checks the signature, the ledger id, and that the
// index is at least the caller's minimum. A reader continuing from the snapshot (StateAfter()) then
// requires the ledger's next entries to chain to the snapshot's last leaf and later signatures to
// sign the snapshot's leaves, so a stale or foreign snapshot cannot be combined with the live
// ledger.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/key.h"
#include "cloister/kv/store.h"
#include "cloister/ledger/merkle.h"
#include "cloister/ledger/reader.h"
#include "cloister/ledger/secrets.h"
#include "cloister/ledger/storage.h"

namespace cloister::ledger {

inline constexpr size_t kSnapshotHeaderSize = 128;
inline constexpr uint64_t kSnapshotChunkSize = 4 * 1024 * 1024;

std::string SnapshotFileName(uint64_t index);
std::optional<uint64_t> ParseSnapshotFileName(std::string_view name);

struct SnapshotSource {
  const kv::Store* store = nullptr;  // read at version `index`
  uint64_t index = 0;                // ledger index == kv version, >= 1
  uint64_t term = 0;                 // term of entry `index`
  const MerkleTree* tree = nullptr;  // holds at least `index` leaves
  Bytes ledger_id;
};

// Writes the snapshot through a temporary file, syncs it and renames it into place. Returns the
// file name. `secrets` must cover `index` (its secret encrypts the private maps).
Result<std::string> WriteSnapshot(Storage* storage, const SnapshotSource& source,
                                  const LedgerSecrets& secrets,
                                  const crypto::PrivateKey& service_key);

struct Snapshot {
  Bytes ledger_id;
  uint64_t index = 0;
  uint64_t term = 0;
  uint64_t secret_start = 0;
  MerkleTree tree;  // leaves 1..index
  std::map<std::string, std::map<std::string, std::string>>
      state;  // private maps only with secrets

  // The reader state after entry `index`, to verify the ledger entries that follow.
  [[nodiscard]] ReaderState StateAfter(const crypto::PublicKey& service_key) const;
};

struct SnapshotReadOptions {
  const LedgerSecrets* secrets = nullptr;  // null: public maps only
  std::optional<Bytes> ledger_id;          // required ledger id, if known
  uint64_t min_index = 0;                  // refuse older snapshots (rollback)
};

// Reads and checks snapshot file `name`: its signature must name `service_key` (protected header
// "service_key") and verify with it. kVerification for a bad signature or another signer,
// kCorrupt for content that does not match, kPolicy for one older than min_index.
Result<Snapshot> ReadSnapshot(Storage* storage, const std::string& name,
                              const crypto::PublicKey& service_key,
                              const SnapshotReadOptions& options);

// The service key that snapshot `name` says signed it (protected header "service_key"), NOT
// verified: for an auditor without the service certificate, who then verifies the snapshot and
// every later signature against this one key (trust on first use, as for the first signature
// entry of a ledger).
Result<crypto::PublicKey> SnapshotSigner(Storage* storage, const std::string& name);

}  // namespace cloister::ledger
