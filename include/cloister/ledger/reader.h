// LedgerReader: reads a ledger directory back from hostile storage and proves it intact.
//
// This one code path serves the auditor (`cloister ledger verify`, public parts only, no secret)
// and the node (which also decrypts private parts with its ledger secrets and applies every
// entry). For each segment in index order it checks: the segment header digest, ledger id and
// first index (against the file name and the previous segment), then for each entry its frame
// and stored leaf hash, the index sequence, the hash chain (prev_leaf_hash), terms and secret
// starts never decreasing, the write sets' shape, and for signature entries the signed Merkle
// root and the service signature. With secrets, each private part must authenticate (AES-GCM
// with the header as AAD).
//
// Everything that fails is an error naming the file, offset and reason; nothing is handed to
// `on_entry` before it has been checked. The only tolerated damage is, with recover_torn_tail,
// a bad frame in the last segment: it and everything after it are reported as a torn tail (the
// bytes a crash may have torn or dropped), and the caller truncates them. Such entries are never
// applied.
//
// Checkpoints: after ReadAll(), the reader holds its state at the start of every segment, and
// ReadFrom(k) re-verifies from segment k on, which lets a caller re-check a ledger after a change
// to one segment without re-reading the segments before it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/key.h"
#include "cloister/kv/write_set.h"
#include "cloister/ledger/entry.h"
#include "cloister/ledger/merkle.h"
#include "cloister/ledger/secrets.h"
#include "cloister/ledger/storage.h"

namespace cloister::ledger {

// What a reader knows after the entries it has verified so far.
struct ReaderState {
  uint64_t next_index = 1;
  Bytes prev_leaf_hash = Bytes(kHashSize, 0);
  MerkleTree tree;  // leaves 1..next_index-1 (leaf i at position i - 1)
  Bytes ledger_id;  // empty until the first segment is read
  uint64_t last_term = 0;
  uint64_t last_secret_start = 0;
  uint64_t last_signed_index = 0;  // index of the last verified signature entry
  uint64_t signature_count = 0;
  std::optional<Bytes> service_key_spki;  // signer of the signatures seen so far
  std::map<uint64_t, Bytes> signatures;   // signature entry index -> COSE_Sign1 bytes
};

// One verified entry, as handed to ReaderOptions::on_entry.
struct ReadEntry {
  EntryHeader header;
  kv::WriteSet public_writes;
  kv::WriteSet private_writes;  // empty unless secrets were given
  bool has_private = false;     // the entry has a private part (decrypted or not)
  Bytes leaf_hash;
  // Where the frame lives (for receipts and truncation).
  std::string segment;
  uint64_t offset = 0;
  uint64_t frame_size = 0;
};

struct ReaderOptions {
  // Decrypt and check private parts with these secrets; null reads public parts only.
  const LedgerSecrets* secrets = nullptr;
  // Require every signature to be by this key; null accepts the key the first signature names
  // (and then requires every later signature to use the same key).
  const crypto::PublicKey* service_key = nullptr;
  // Report a bad frame in the last segment as a torn tail instead of failing.
  bool recover_torn_tail = false;
  // Start from this state instead of an empty ledger (after a snapshot at next_index - 1).
  std::optional<ReaderState> start;
  // Called for each verified entry in order; an error stops the read and is returned.
  std::function<Status(const ReadEntry&)> on_entry;
};

struct ReadReport {
  size_t segment_count = 0;
  uint64_t entry_count = 0;  // entries verified by this read
  ReaderState state;         // after the last verified entry
  // With recover_torn_tail: the segment whose tail is bad and its valid length, and a
  // description of the damage.
  std::optional<std::string> torn_segment;
  uint64_t torn_valid_size = 0;
  std::string torn_reason;
  // Segments to delete (an incomplete header in the last segment).
  std::vector<std::string> removable_segments;
};

class LedgerReader {
 public:
  // `storage` must outlive the reader.
  LedgerReader(Storage* storage, ReaderOptions options)
      : storage_(storage), options_(std::move(options)) {}

  // Lists the segments and verifies them all, recording a checkpoint per segment.
  Result<ReadReport> ReadAll();
  // After ReadAll(): re-lists nothing, re-verifies segments [position, end) from the checkpoint
  // at `position` (< segment_count()).
  Result<ReadReport> ReadFrom(size_t position);
  [[nodiscard]] size_t segment_count() const { return segments_.size(); }
  [[nodiscard]] const std::vector<std::string>& segments() const { return segments_; }

 private:
  Status ListSegments();
  Result<ReadReport> Run(size_t position, ReaderState state, bool record_checkpoints);
  // Verifies one segment; returns false in *torn when it ended in a tolerated torn tail.
  Status ReadSegment(size_t position, ReaderState& state, ReadReport& report);
  Status CheckEntry(const EntryView& view, const ReaderState& state, const std::string& where);
  Status CheckSignature(const EntryView& view, const kv::WriteSet& public_writes,
                        ReaderState& state, const std::string& where);

  Storage* storage_;
  ReaderOptions options_;
  std::vector<std::string> segments_;
  std::vector<ReaderState> checkpoints_;
  // Where the next segment must start when it overlaps the start snapshot (unknown at first).
  std::optional<uint64_t> next_segment_first_;
};

}  // namespace cloister::ledger
