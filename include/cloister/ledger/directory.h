// VerifyDirectory: the auditor's check of a whole ledger directory (`cloister ledger verify`).
//
// A node's directory holds segments and snapshots. A founding node's segments start at index 1;
// a node that joined by installing a snapshot at index S holds snapshot_S.snap and segments from
// S + 1 on (it never saw entries 1..S). VerifyDirectory accepts both:
//
//  - segments from index 1: every entry is verified from the start (LedgerReader);
//  - segments from index F > 1: the log continues from a snapshot at an index S >= F - 1 (the
//    one given in the options, or the oldest such snapshot in the directory). The snapshot is
//    verified first (its COSE signature by the service key over the whole file, ledger id, leaf
//    hashes), then the reader starts from its state: the next entry must chain to the snapshot's
//    last leaf, and every later signature entry signs a Merkle root over the snapshot's leaves and
//    the log's, with the same service key. A gap (S < F - 1), a snapshot of another ledger or by
//    another key, or a changed byte anywhere is refused.
//
// Every other snapshot in the directory is then checked against the verified leaves.
//
// Which key: the pinned one (the service certificate's) when given; otherwise the key the base
// snapshot names, or the one the first signature entry names, and then that same key everywhere
// (self-consistency only; pin the certificate to check the service's identity).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/key.h"
#include "cloister/ledger/reader.h"
#include "cloister/ledger/storage.h"

namespace cloister::ledger {

struct DirectoryOptions {
  // Require every signature (entries and snapshots) to be by this key.
  const crypto::PublicKey* service_key = nullptr;
  // The snapshot the log continues from, in `snapshot_storage` (the directory's own storage when
  // null); empty: found in the directory when the first segment starts after index 1.
  Storage* snapshot_storage = nullptr;
  std::string snapshot_name;
};

struct DirectoryReport {
  ReadReport read;                        // the log (entries verified after the base snapshot)
  std::optional<uint64_t> base_snapshot;  // index the log continues from, if any
  size_t snapshot_count = 0;              // snapshots verified, the base one included
  std::optional<Bytes> service_key_spki;  // the key every signature was checked against
};

Result<DirectoryReport> VerifyDirectory(Storage* storage, const DirectoryOptions& options);

}  // namespace cloister::ledger
