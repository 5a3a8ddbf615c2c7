#include "cloister/ledger/ledger.h"

#include <algorithm>

#include "cloister/crypto/random.h"
#include "cloister/ledger/receipt.h"

namespace cloister::ledger {

Bytes NewLedgerId() { return crypto::SecureRandomBytes(kLedgerIdSize); }

Result<std::unique_ptr<Ledger>> Ledger::Create(Storage* storage, Bytes ledger_id,
                                               LedgerSecrets* secrets, LedgerOptions options) {
  return Create(storage, std::move(ledger_id), secrets, options, 1);
}

Result<std::unique_ptr<Ledger>> Ledger::Create(Storage* storage, Bytes ledger_id,
                                               LedgerSecrets* secrets, LedgerOptions options,
                                               uint64_t first_index) {
  if (ledger_id.size() != kLedgerIdSize) {
    return InvalidArgumentError("ledger id is ", ledger_id.size(), " bytes, expected ",
                                kLedgerIdSize);
  }
  if (!secrets->StartFor(first_index)) {
    return InvalidArgumentError("no ledger secret covers entry ", first_index);
  }
  ASSIGN_OR_RETURN(std::vector<std::string> names, storage->List());
  for (const std::string& name : names) {
    if (ParseSegmentFileName(name)) {
      return AlreadyExistsError("storage already holds ledger segment ", name);
    }
  }
  std::unique_ptr<Ledger> ledger(new Ledger(storage, std::move(ledger_id), secrets, options));
  return ledger;
}

Result<std::unique_ptr<Ledger>> Ledger::CreateAfterSnapshot(Storage* storage, Bytes ledger_id,
                                                            MerkleTree tree, uint64_t term,
                                                            LedgerSecrets* secrets,
                                                            LedgerOptions options) {
  if (tree.size() == 0) return InvalidArgumentError("a snapshot covers at least entry 1");
  const uint64_t base = tree.size();
  ASSIGN_OR_RETURN(std::unique_ptr<Ledger> ledger,
                   Create(storage, std::move(ledger_id), secrets, options, base + 1));
  ledger->tree_ = std::move(tree);
  ledger->base_index_ = base;
  ledger->durable_index_ = base;
  ledger->last_term_ = term;
  return ledger;
}

Result<std::unique_ptr<Ledger>> Ledger::Open(
    Storage* storage, LedgerSecrets* secrets, const crypto::PublicKey* service_key,
    LedgerOptions options, const std::function<Status(const ReadEntry&)>& on_entry,
    OpenReport* report) {
  struct Found {
    std::string segment;
    uint64_t offset;
    uint64_t size;
  };
  std::vector<Found> found;
  ReaderOptions reader_options;
  reader_options.secrets = secrets;
  reader_options.service_key = service_key;
  reader_options.recover_torn_tail = true;
  reader_options.on_entry = [&](const ReadEntry& entry) -> Status {
    found.push_back({entry.segment, entry.offset, entry.frame_size});
    return on_entry ? on_entry(entry) : OkStatus();
  };
  LedgerReader reader(storage, std::move(reader_options));
  ASSIGN_OR_RETURN(ReadReport read, reader.ReadAll());
  if (read.state.ledger_id.empty()) return NotFoundError("storage holds no ledger segment");
  std::unique_ptr<Ledger> ledger(new Ledger(storage, read.state.ledger_id, secrets, options));
  // Cut the torn tail: truncate the damaged segment, drop segments that never got a header.
  if (read.torn_segment) {
    report->torn_reason = read.torn_reason;
    for (const std::string& name : read.removable_segments) {
      ASSIGN_OR_RETURN(const uint64_t size, storage->Size(name));
      report->torn_bytes_dropped += size;
      RETURN_IF_ERROR(storage->Remove(name));
    }
    if (read.removable_segments.empty()) {
      ASSIGN_OR_RETURN(const uint64_t size, storage->Size(*read.torn_segment));
      report->torn_bytes_dropped += size - read.torn_valid_size;
      RETURN_IF_ERROR(storage->Truncate(*read.torn_segment, read.torn_valid_size));
      RETURN_IF_ERROR(storage->Sync(*read.torn_segment));
    }
    RETURN_IF_ERROR(storage->SyncDirectory());
  }
  for (const std::string& name : reader.segments()) {
    if (std::find(read.removable_segments.begin(), read.removable_segments.end(), name) !=
        read.removable_segments.end()) {
      continue;
    }
    ASSIGN_OR_RETURN(const uint64_t size, storage->Size(name));
    ledger->segments_.push_back({name, *ParseSegmentFileName(name), size});
  }
  std::map<std::string, size_t> positions;
  for (size_t i = 0; i < ledger->segments_.size(); ++i) positions[ledger->segments_[i].name] = i;
  for (const Found& entry : found) {
    ledger->locations_.push_back({positions.at(entry.segment), entry.offset, entry.size});
  }
  ledger->tree_ = std::move(read.state.tree);
  ledger->signatures_ = std::move(read.state.signatures);
  ledger->last_signed_index_ = read.state.last_signed_index;
  ledger->last_term_ = read.state.last_term;
  ledger->durable_index_ = ledger->tree_.size();
  report->entry_count = ledger->tree_.size();
  report->last_signed_index = ledger->last_signed_index_;
  return ledger;
}

Status Ledger::StartSegment(uint64_t first_index) {
  if (!segments_.empty()) RETURN_IF_ERROR(Sync());
  const std::string name = SegmentFileName(first_index);
  const Bytes header = EncodeSegmentHeader(ledger_id_, first_index);
  RETURN_IF_ERROR(storage_->Append(name, header));
  // The header is synced at once, so that a damaged header is never a torn write.
  RETURN_IF_ERROR(storage_->Sync(name));
  RETURN_IF_ERROR(storage_->SyncDirectory());
  segments_.push_back({name, first_index, header.size()});
  return OkStatus();
}

Result<Bytes> Ledger::EncodeNext(EntryKind kind, uint64_t term, const kv::WriteSet& writes) {
  if (term < last_term_) {
    return InvalidArgumentError("term ", term, " is before the last entry's term ", last_term_);
  }
  if (term > UINT32_MAX) return InvalidArgumentError("term ", term, " exceeds 2^32 - 1");
  const uint64_t index = tree_.size() + 1;
  auto [public_writes, private_writes] = writes.SplitByVisibility();
  EntryHeader header;
  header.kind = kind;
  header.ledger_id = ledger_id_;
  header.index = index;
  header.term = term;
  header.prev_leaf_hash = index == 1 ? Bytes(kHashSize, 0) : tree_.LeafHashAt(index - 2);
  const Bytes* secret = nullptr;
  if (!private_writes.empty()) {
    const std::optional<uint64_t> start = secrets_->StartFor(index);
    if (!start) return FailedPreconditionError("no ledger secret covers entry ", index);
    header.secret_start = *start;
    secret = secrets_->SecretStartingAt(*start);
  }
  return EncodeEntry(std::move(header), public_writes, private_writes, secret);
}

Status Ledger::AppendFrame(const Bytes& frame, uint64_t term, const Bytes& leaf_hash) {
  const uint64_t index = tree_.size() + 1;
  if (segments_.empty() ||
      (segments_.back().size + frame.size() > options_.segment_size_bytes_max &&
       segments_.back().first_index < index)) {
    RETURN_IF_ERROR(StartSegment(index));
  }
  Segment& segment = segments_.back();
  RETURN_IF_ERROR(storage_->Append(segment.name, frame));
  locations_.push_back({segments_.size() - 1, segment.size, frame.size()});
  segment.size += frame.size();
  tree_.AppendLeafHash(leaf_hash);
  last_term_ = term;
  ++unsynced_entries_;
  unsynced_bytes_ += frame.size();
  const bool by_count =
      options_.group_commit_entries != 0 && unsynced_entries_ >= options_.group_commit_entries;
  const bool by_size =
      options_.group_commit_entries != 0 && unsynced_bytes_ >= options_.group_commit_bytes;
  if (by_count || by_size) RETURN_IF_ERROR(Sync());
  return OkStatus();
}

Status Ledger::AppendTransaction(uint64_t term, uint64_t version, const kv::WriteSet& writes) {
  if (version != tree_.size() + 1) {
    return FailedPreconditionError("transaction version ", version, " cannot follow entry ",
                                   tree_.size());
  }
  if (writes.maps.contains(std::string(kSignaturesMap))) {
    return InvalidArgumentError("transactions may not write ", kSignaturesMap);
  }
  ASSIGN_OR_RETURN(Bytes frame, EncodeNext(EntryKind::kTransaction, term, writes));
  const Bytes leaf(frame.end() - kEntryTrailerSize, frame.end());
  return AppendFrame(frame, term, leaf);
}

Result<kv::WriteSet> Ledger::AppendSignature(uint64_t term, const crypto::PrivateKey& service_key) {
  const uint64_t tree_size = tree_.size();
  if (tree_size == 0) return FailedPreconditionError("nothing to sign in an empty ledger");
  ASSIGN_OR_RETURN(Bytes cose, SignRoot(service_key, ledger_id_, tree_size, tree_.Root()));
  kv::WriteSet writes;
  auto& map = writes.maps[std::string(kSignaturesMap)];
  map[std::string(kSignatureKey)] = std::string(AsString(cose));
  map[std::string(kServiceKeyKey)] = std::string(AsString(service_key.Public().ToSpkiDer()));
  ASSIGN_OR_RETURN(Bytes frame, EncodeNext(EntryKind::kSignature, term, writes));
  const Bytes leaf(frame.end() - kEntryTrailerSize, frame.end());
  RETURN_IF_ERROR(AppendFrame(frame, term, leaf));
  signatures_[tree_.size()] = std::move(cose);
  last_signed_index_ = tree_.size();
  return writes;
}

Status Ledger::AppendSignatureEntry(uint64_t term, const kv::WriteSet& writes,
                                    const crypto::PublicKey& service_key) {
  const uint64_t tree_size = tree_.size();
  if (tree_size == 0) return FailedPreconditionError("nothing to sign in an empty ledger");
  auto map = writes.maps.find(std::string(kSignaturesMap));
  if (writes.maps.size() != 1 || map == writes.maps.end() || map->second.size() != 2) {
    return VerificationError("a signature entry writes exactly ", kSignaturesMap, " with keys ",
                             kSignatureKey, " and ", kServiceKeyKey);
  }
  auto cose = map->second.find(std::string(kSignatureKey));
  auto key = map->second.find(std::string(kServiceKeyKey));
  if (cose == map->second.end() || key == map->second.end() || !cose->second || !key->second) {
    return VerificationError("a signature entry writes exactly ", kSignaturesMap, " with keys ",
                             kSignatureKey, " and ", kServiceKeyKey);
  }
  if (ToBytes(*key->second) != service_key.ToSpkiDer()) {
    return VerificationError("signature entry ", tree_size + 1,
                             " names another service key than this ledger's");
  }
  const Bytes signature = ToBytes(*cose->second);
  RETURN_IF_ERROR(VerifyRootSignature(signature, ledger_id_, tree_size, tree_.Root(), service_key));
  ASSIGN_OR_RETURN(Bytes frame, EncodeNext(EntryKind::kSignature, term, writes));
  const Bytes leaf(frame.end() - kEntryTrailerSize, frame.end());
  RETURN_IF_ERROR(AppendFrame(frame, term, leaf));
  signatures_[tree_.size()] = signature;
  last_signed_index_ = tree_.size();
  return OkStatus();
}

Status Ledger::Sync() {
  if (unsynced_entries_ == 0) return OkStatus();
  RETURN_IF_ERROR(storage_->Sync(segments_.back().name));
  durable_index_ = tree_.size();
  unsynced_entries_ = 0;
  unsynced_bytes_ = 0;
  return OkStatus();
}

Status Ledger::Truncate(uint64_t index) {
  ASSERT(index <= tree_.size(), "truncate to ", index, " beyond ", tree_.size());
  if (index == tree_.size()) return OkStatus();
  if (index < base_index_) {
    return FailedPreconditionError("cannot truncate to ", index, ": entries up to ", base_index_,
                                   " come from a snapshot");
  }
  const Location first_dropped = locations_[index - base_index_];
  const size_t keep_segments = first_dropped.offset == kSegmentHeaderSize
                                   ? first_dropped.segment
                                   : first_dropped.segment + 1;
  for (size_t i = segments_.size(); i > keep_segments; --i) {
    RETURN_IF_ERROR(storage_->Remove(segments_[i - 1].name));
  }
  segments_.resize(keep_segments);
  if (keep_segments > first_dropped.segment) {
    Segment& segment = segments_[first_dropped.segment];
    RETURN_IF_ERROR(storage_->Truncate(segment.name, first_dropped.offset));
    RETURN_IF_ERROR(storage_->Sync(segment.name));
    segment.size = first_dropped.offset;
  }
  RETURN_IF_ERROR(storage_->SyncDirectory());
  locations_.resize(index - base_index_);
  tree_.Truncate(index);
  signatures_.erase(signatures_.upper_bound(index), signatures_.end());
  last_signed_index_ = signatures_.empty() ? 0 : signatures_.rbegin()->first;
  durable_index_ = std::min(durable_index_, index);
  unsynced_entries_ = 0;
  unsynced_bytes_ = 0;
  return OkStatus();
}

Status Ledger::RotateSecret(Bytes secret) {
  return secrets_->Add(tree_.size() + 1, std::move(secret));
}

Result<Bytes> Ledger::Receipt(uint64_t index) {
  if (index == 0 || index > tree_.size()) {
    return OutOfRangeError("no entry ", index, " (the ledger has ", tree_.size(), ")");
  }
  const auto signature = signatures_.upper_bound(index);
  if (signature == signatures_.end()) {
    return NotFoundError("entry ", index, " is not yet covered by a signature");
  }
  if (index <= base_index_) {
    return NotFoundError("entry ", index, " predates this node's snapshot at ", base_index_,
                         "; its receipt is available from a node holding the full ledger");
  }
  const Location& location = locations_[index - base_index_ - 1];
  // Re-read the entry from the host's disk and check it is still the one in the tree.
  ASSIGN_OR_RETURN(const Bytes data, storage_->Read(segments_[location.segment].name));
  if (location.offset + location.size > data.size()) {
    return CorruptError("entry ", index, " is no longer on disk");
  }
  ASSIGN_OR_RETURN(EntryView view,
                   ParseEntry(ByteSpan(data).subspan(location.offset, location.size)));
  if (!std::equal(view.leaf_hash.begin(), view.leaf_hash.end(),
                  tree_.LeafHashAt(index - 1).begin())) {
    return CorruptError("entry ", index, " on disk differs from the one in the Merkle tree");
  }
  const uint64_t tree_size = signature->first - 1;
  return BuildReceipt(signature->second, view.header_bytes, view.public_part, view.private_part,
                      tree_.InclusionProof(index - 1, tree_size));
}

}  // namespace cloister::ledger
