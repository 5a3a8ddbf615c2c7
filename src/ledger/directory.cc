#include "cloister/ledger/directory.h"

#include <algorithm>
#include <vector>

#include "cloister/ledger/entry.h"
#include "cloister/ledger/snapshot.h"

namespace cloister::ledger {
namespace {

struct Listing {
  std::vector<uint64_t> segments;   // first indices, sorted
  std::vector<uint64_t> snapshots;  // indices, sorted
};

Result<Listing> List(Storage* storage) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, storage->List());
  Listing listing;
  for (const std::string& name : names) {
    if (const std::optional<uint64_t> first = ParseSegmentFileName(name)) {
      listing.segments.push_back(*first);
    } else if (const std::optional<uint64_t> index = ParseSnapshotFileName(name)) {
      listing.snapshots.push_back(*index);
    }
  }
  std::sort(listing.segments.begin(), listing.segments.end());
  std::sort(listing.snapshots.begin(), listing.snapshots.end());
  return listing;
}

// The snapshot the log continues from when the options name none: the oldest one the first
// segment follows or overlaps, so that as many entries as possible are verified in full.
Result<std::optional<uint64_t>> FindBase(const Listing& listing) {
  if (listing.segments.empty()) {
    if (listing.snapshots.empty()) return std::optional<uint64_t>();
    return std::optional<uint64_t>(listing.snapshots.back());
  }
  const uint64_t first = listing.segments.front();
  if (first == 1) return std::optional<uint64_t>();
  for (const uint64_t index : listing.snapshots) {
    if (index + 1 >= first) return std::optional<uint64_t>(index);
  }
  if (!listing.snapshots.empty()) {
    return CorruptError("the newest snapshot is at index ", listing.snapshots.back(),
                        " but the first segment starts at index ", first, ": entries ",
                        listing.snapshots.back() + 1, "..", first - 1, " are missing");
  }
  return CorruptError("the first segment starts at index ", first,
                      " and no snapshot covers entries 1..", first - 1,
                      " (missing segment or snapshot)");
}

}  // namespace

Result<DirectoryReport> VerifyDirectory(Storage* storage, const DirectoryOptions& options) {
  ASSIGN_OR_RETURN(const Listing listing, List(storage));
  if (listing.segments.empty() && listing.snapshots.empty() && options.snapshot_name.empty()) {
    return NotFoundError("no ledger segment or snapshot");
  }
  DirectoryReport report;
  std::optional<crypto::PublicKey> key;
  if (options.service_key != nullptr) key = *options.service_key;

  // The base snapshot, verified before any entry that follows it.
  Storage* base_storage = options.snapshot_storage != nullptr ? options.snapshot_storage : storage;
  std::string base_name = options.snapshot_name;
  if (base_name.empty()) {
    ASSIGN_OR_RETURN(const std::optional<uint64_t> base, FindBase(listing));
    if (base) base_name = SnapshotFileName(*base);
  }
  ReaderOptions reader_options;
  if (!base_name.empty()) {
    if (!key) {
      ASSIGN_OR_RETURN(key, SnapshotSigner(base_storage, base_name));
    }
    ASSIGN_OR_RETURN(Snapshot snapshot, ReadSnapshot(base_storage, base_name, *key, {}));
    if (!listing.segments.empty() && listing.segments.front() > snapshot.index + 1) {
      return CorruptError("snapshot ", base_name, " ends at index ", snapshot.index,
                          " but the first segment starts at index ", listing.segments.front(),
                          ": entries ", snapshot.index + 1, "..", listing.segments.front() - 1,
                          " are missing");
    }
    report.base_snapshot = snapshot.index;
    report.snapshot_count = 1;
    reader_options.start = snapshot.StateAfter(*key);
  }
  if (key) reader_options.service_key = &*key;

  LedgerReader reader(storage, std::move(reader_options));
  ASSIGN_OR_RETURN(report.read, reader.ReadAll());
  const ReaderState& state = report.read.state;
  if (state.ledger_id.empty()) return NotFoundError("no ledger segment");
  if (!key && state.service_key_spki) {
    ASSIGN_OR_RETURN(key, crypto::PublicKey::FromSpkiDer(*state.service_key_spki));
  }

  // Every other snapshot in the directory must be by the same key and match the verified leaves.
  for (const uint64_t index : listing.snapshots) {
    const std::string name = SnapshotFileName(index);
    if (report.base_snapshot == index && base_storage == storage) continue;
    if (!key) {
      ASSIGN_OR_RETURN(key, SnapshotSigner(storage, name));
    }
    ASSIGN_OR_RETURN(const Snapshot snapshot,
                     ReadSnapshot(storage, name, *key, {.ledger_id = state.ledger_id}));
    if (snapshot.index > state.tree.size() ||
        snapshot.tree.Root() != state.tree.RootAt(snapshot.index)) {
      return CorruptError(name, ": its Merkle leaves do not match the ledger's first ",
                          snapshot.index, " entries");
    }
    ++report.snapshot_count;
  }
  if (key) report.service_key_spki = key->ToSpkiDer();
  return report;
}

}  // namespace cloister::ledger
