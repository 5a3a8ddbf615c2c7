#include "cloister/ledger/reader.h"

#include <algorithm>

#include "cloister/crypto/hash.h"
#include "cloister/ledger/receipt.h"

namespace cloister::ledger {
namespace {

std::string Where(const std::string& segment, uint64_t offset) {
  return segment + " at offset " + std::to_string(offset);
}

bool IsFrameError(const Error& error) {
  return error.code == ErrorCode::kParse || error.code == ErrorCode::kCorrupt ||
         error.code == ErrorCode::kUnsupported;
}

}  // namespace

Status LedgerReader::ListSegments() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, storage_->List());
  segments_.clear();
  for (const std::string& name : names) {
    if (ParseSegmentFileName(name)) segments_.push_back(name);
  }
  // Zero-padded names sort by first index.
  std::sort(segments_.begin(), segments_.end());
  return OkStatus();
}

Result<ReadReport> LedgerReader::ReadAll() {
  RETURN_IF_ERROR(ListSegments());
  checkpoints_.clear();
  return Run(0, options_.start.value_or(ReaderState{}), true);
}

Result<ReadReport> LedgerReader::ReadFrom(size_t position) {
  ASSERT(position < checkpoints_.size(), "no checkpoint for segment ", position);
  return Run(position, checkpoints_[position], false);
}

Result<ReadReport> LedgerReader::Run(size_t position, ReaderState state, bool record_checkpoints) {
  ReadReport report;
  report.segment_count = segments_.size();
  next_segment_first_.reset();
  for (size_t i = position; i < segments_.size() && !report.torn_segment; ++i) {
    if (record_checkpoints) checkpoints_.push_back(state);
    RETURN_IF_ERROR(ReadSegment(i, state, report));
  }
  report.state = std::move(state);
  return report;
}

Status LedgerReader::ReadSegment(size_t position, ReaderState& state, ReadReport& report) {
  const std::string& name = segments_[position];
  const bool last = position + 1 == segments_.size();
  const bool may_tear = last && options_.recover_torn_tail;
  ASSIGN_OR_RETURN(const Bytes data, storage_->Read(name));
  Result<SegmentHeader> header = ParseSegmentHeader(data);
  if (!header.ok()) {
    if (may_tear && data.size() < kSegmentHeaderSize) {
      report.removable_segments.push_back(name);
      report.torn_segment = name;
      report.torn_reason = "incomplete segment header";
      return OkStatus();
    }
    return header.error().WithContext(name);
  }
  const uint64_t named_index = *ParseSegmentFileName(name);
  if (header->first_index != named_index) {
    return CorruptError(name, ": header says the segment starts at index ", header->first_index,
                        " but its name says ", named_index, " (renamed or copied segment)");
  }
  // Reading on from a snapshot, the first segment may start before it: its entries up to the
  // snapshot are checked against the snapshot's leaves, not applied.
  const bool overlaps_start = options_.start && header->first_index < state.next_index &&
                              header->first_index >= 1 && header->first_index <= state.tree.size();
  const uint64_t expected_first =
      overlaps_start && next_segment_first_ ? *next_segment_first_ : state.next_index;
  if (header->first_index != expected_first && !(overlaps_start && !next_segment_first_)) {
    return CorruptError(name, ": starts at index ", header->first_index, ", expected ",
                        expected_first, " (missing, duplicated or reordered segment)");
  }
  uint64_t skip_index = header->first_index;
  if (state.ledger_id.empty()) state.ledger_id = header->ledger_id;
  if (header->ledger_id != state.ledger_id) {
    return CorruptError(name, ": belongs to ledger ", ToHex(header->ledger_id), ", not ",
                        ToHex(state.ledger_id));
  }
  const ByteSpan bytes(data);
  uint64_t offset = kSegmentHeaderSize;
  uint64_t entries = 0;
  while (offset < bytes.size()) {
    Result<EntryView> view = ParseEntry(bytes.subspan(offset));
    if (!view.ok()) {
      if (may_tear && IsFrameError(view.error())) {
        report.torn_segment = name;
        report.torn_valid_size = offset;
        report.torn_reason = view.error().message;
        return OkStatus();
      }
      return view.error().WithContext(Where(name, offset));
    }
    const std::string where = Where(name, offset);
    if (skip_index < state.next_index) {
      if (view->header.index != skip_index ||
          !std::equal(view->leaf_hash.begin(), view->leaf_hash.end(),
                      state.tree.LeafHashAt(skip_index - 1).begin())) {
        return CorruptError(where, ": entry ", view->header.index,
                            " differs from the snapshot's leaf ", skip_index);
      }
      ++skip_index;
      ++entries;
      offset += view->frame_size;
      continue;
    }
    RETURN_IF_ERROR(CheckEntry(*view, state, where));
    ReadEntry entry;
    entry.header = view->header;
    entry.has_private = !view->private_part.empty();
    entry.leaf_hash.assign(view->leaf_hash.begin(), view->leaf_hash.end());
    entry.segment = name;
    entry.offset = offset;
    entry.frame_size = view->frame_size;
    Result<kv::WriteSet> public_writes = DecodePublic(*view);
    if (!public_writes.ok()) return public_writes.error().WithContext(where);
    entry.public_writes = std::move(public_writes).value();
    if (options_.secrets != nullptr) {
      Result<kv::WriteSet> private_writes = DecryptPrivate(*view, *options_.secrets);
      if (!private_writes.ok()) return private_writes.error().WithContext(where);
      entry.private_writes = std::move(private_writes).value();
    }
    if (view->header.kind == EntryKind::kSignature) {
      RETURN_IF_ERROR(CheckSignature(*view, entry.public_writes, state, where));
    } else if (entry.public_writes.maps.contains(std::string(kSignaturesMap))) {
      return CorruptError(where, ": transaction entry ", view->header.index, " writes ",
                          kSignaturesMap);
    }
    state.tree.AppendLeafHash(view->leaf_hash);
    state.prev_leaf_hash = entry.leaf_hash;
    state.next_index = view->header.index + 1;
    skip_index = state.next_index;
    state.last_term = view->header.term;
    if (view->header.secret_start != 0) state.last_secret_start = view->header.secret_start;
    if (options_.on_entry) RETURN_IF_ERROR(options_.on_entry(entry));
    offset += view->frame_size;
    ++entries;
    ++report.entry_count;
  }
  next_segment_first_ = skip_index;
  if (entries == 0 && !last) {
    return CorruptError(name, ": empty segment before the last one");
  }
  return OkStatus();
}

Status LedgerReader::CheckEntry(const EntryView& view, const ReaderState& state,
                                const std::string& where) {
  const EntryHeader& header = view.header;
  if (header.index != state.next_index) {
    return CorruptError(where, ": entry index ", header.index, ", expected ", state.next_index);
  }
  if (header.ledger_id != state.ledger_id) {
    return CorruptError(where, ": entry ", header.index, " belongs to ledger ",
                        ToHex(header.ledger_id));
  }
  if (header.prev_leaf_hash != state.prev_leaf_hash) {
    return CorruptError(
        where, ": entry ", header.index, " does not chain to the previous entry (prev_leaf_hash ",
        ToHex(header.prev_leaf_hash), ", expected ", ToHex(state.prev_leaf_hash), ")");
  }
  if (header.term < state.last_term) {
    return CorruptError(where, ": entry ", header.index, " has term ", header.term, " after term ",
                        state.last_term);
  }
  if (header.secret_start != 0 && header.secret_start < state.last_secret_start) {
    return CorruptError(where, ": entry ", header.index, " uses the secret from index ",
                        header.secret_start, " after one from ", state.last_secret_start);
  }
  return OkStatus();
}

Status LedgerReader::CheckSignature(const EntryView& view, const kv::WriteSet& public_writes,
                                    ReaderState& state, const std::string& where) {
  const uint64_t index = view.header.index;
  const auto map_it = public_writes.maps.find(std::string(kSignaturesMap));
  if (!view.private_part.empty() || public_writes.maps.size() != 1 ||
      map_it == public_writes.maps.end() || map_it->second.size() != 2) {
    return CorruptError(where, ": signature entry ", index, " must write exactly ", kSignaturesMap,
                        " {", kSignatureKey, ", ", kServiceKeyKey, "}");
  }
  const auto cose_it = map_it->second.find(std::string(kSignatureKey));
  const auto key_it = map_it->second.find(std::string(kServiceKeyKey));
  if (cose_it == map_it->second.end() || key_it == map_it->second.end() || !cose_it->second ||
      !key_it->second) {
    return CorruptError(where, ": signature entry ", index, " lacks ", kSignatureKey, " or ",
                        kServiceKeyKey);
  }
  const Bytes spki = ToBytes(*key_it->second);
  if (state.service_key_spki && *state.service_key_spki != spki) {
    return VerificationError(where, ": signature entry ", index,
                             " names a different service key than earlier signatures");
  }
  Result<crypto::PublicKey> embedded = crypto::PublicKey::FromSpkiDer(spki);
  if (!embedded.ok()) return embedded.error().WithContext(where);
  if (options_.service_key != nullptr && !(*options_.service_key == *embedded)) {
    return VerificationError(where, ": signature entry ", index,
                             " is by a key other than the pinned service key");
  }
  if (index < 2) return CorruptError(where, ": a signature entry cannot be entry 1");
  const uint64_t tree_size = index - 1;
  const Bytes root = state.tree.RootAt(tree_size);
  const Bytes cose = ToBytes(*cose_it->second);
  const Status verified = VerifyRootSignature(cose, state.ledger_id, tree_size, root, *embedded);
  if (!verified.ok()) return verified.error().WithContext(where);
  state.service_key_spki = spki;
  state.last_signed_index = index;
  ++state.signature_count;
  state.signatures[index] = cose;
  return OkStatus();
}

}  // namespace cloister::ledger
