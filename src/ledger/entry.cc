#include "cloister/ledger/entry.h"

#include <charconv>
#include <cstdio>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"
#include "cloister/ledger/merkle.h"

namespace cloister::ledger {
namespace {

constexpr uint8_t kEntryMagic[4] = {'C', 'L', 'E', 'N'};
constexpr uint8_t kEntryFormatVersion = 1;
constexpr uint8_t kSegmentMagic[8] = {'C', 'L', 'S', 'E', 'G', 'v', '0', '1'};
constexpr std::string_view kSegmentPrefix = "ledger_";
constexpr std::string_view kSegmentSuffix = ".seg";
constexpr size_t kIndexDigits = 20;

Bytes EntryNonce(uint64_t index, uint64_t term) {
  Bytes nonce;
  ByteWriter writer(&nonce);
  writer.U64Be(index);
  writer.U32Be(static_cast<uint32_t>(term));
  return nonce;
}

Bytes EncodeOrEmpty(const kv::WriteSet& writes) {
  return writes.empty() ? Bytes{} : writes.Encode();
}

}  // namespace

Bytes EntryHeader::Encode() const {
  ASSERT(ledger_id.size() == kLedgerIdSize, "ledger id is ", ledger_id.size(), " bytes");
  ASSERT(prev_leaf_hash.size() == kHashSize, "previous leaf hash is ", prev_leaf_hash.size());
  Bytes out;
  out.reserve(kEntryHeaderSize);
  ByteWriter writer(&out);
  writer.Append(ByteSpan(kEntryMagic, sizeof(kEntryMagic)));
  writer.U8(kEntryFormatVersion);
  writer.U8(static_cast<uint8_t>(kind));
  writer.U16Le(0);
  writer.Append(ledger_id);
  writer.U64Le(index);
  writer.U64Le(term);
  writer.U64Le(secret_start);
  writer.Append(prev_leaf_hash);
  writer.U32Le(public_length);
  writer.U32Le(private_length);
  ASSERT(out.size() == kEntryHeaderSize, "entry header is ", out.size(), " bytes");
  return out;
}

Result<EntryHeader> EntryHeader::Decode(ByteSpan bytes) {
  ByteReader reader(bytes, "entry header");
  ASSIGN_OR_RETURN(ByteSpan magic, reader.Take(4, "magic"));
  if (!std::equal(magic.begin(), magic.end(), kEntryMagic)) {
    return ParseError("entry header: bad magic ", ToHex(magic), ", expected 434c454e ('CLEN')");
  }
  ASSIGN_OR_RETURN(const uint8_t version, reader.U8("format version"));
  if (version != kEntryFormatVersion) {
    return UnsupportedError("entry header: format version ", version, ", expected ",
                            kEntryFormatVersion);
  }
  EntryHeader header;
  ASSIGN_OR_RETURN(const uint8_t kind, reader.U8("kind"));
  if (kind != static_cast<uint8_t>(EntryKind::kTransaction) &&
      kind != static_cast<uint8_t>(EntryKind::kSignature)) {
    return ParseError("entry header: unknown kind ", kind);
  }
  header.kind = static_cast<EntryKind>(kind);
  ASSIGN_OR_RETURN(const uint16_t reserved, reader.U16Le("reserved"));
  if (reserved != 0) return ParseError("entry header: reserved field is ", reserved, ", not 0");
  ASSIGN_OR_RETURN(ByteSpan ledger_id, reader.Take(kLedgerIdSize, "ledger id"));
  header.ledger_id.assign(ledger_id.begin(), ledger_id.end());
  ASSIGN_OR_RETURN(header.index, reader.U64Le("index"));
  ASSIGN_OR_RETURN(header.term, reader.U64Le("term"));
  ASSIGN_OR_RETURN(header.secret_start, reader.U64Le("secret start"));
  ASSIGN_OR_RETURN(ByteSpan prev, reader.Take(kHashSize, "previous leaf hash"));
  header.prev_leaf_hash.assign(prev.begin(), prev.end());
  ASSIGN_OR_RETURN(header.public_length, reader.U32Le("public length"));
  ASSIGN_OR_RETURN(header.private_length, reader.U32Le("private length"));
  if (header.index == 0) return ParseError("entry header: index 0 (indices start at 1)");
  if (header.public_length > kEntryPartSizeMax || header.private_length > kEntryPartSizeMax) {
    return ParseError("entry ", header.index, ": part lengths ", header.public_length, "/",
                      header.private_length, " exceed ", kEntryPartSizeMax);
  }
  if ((header.private_length == 0) != (header.secret_start == 0)) {
    return ParseError("entry ", header.index, ": secret start ", header.secret_start,
                      " inconsistent with private length ", header.private_length);
  }
  if (header.secret_start > header.index) {
    return ParseError("entry ", header.index, ": secret start ", header.secret_start,
                      " is after the entry");
  }
  return header;
}

Bytes EntryLeafHashFromDigests(ByteSpan header_bytes, ByteSpan public_digest,
                               ByteSpan private_digest) {
  return LeafHash(Concat(header_bytes, public_digest, private_digest));
}

Bytes EntryLeafHash(ByteSpan header_bytes, ByteSpan public_part, ByteSpan private_part) {
  return EntryLeafHashFromDigests(header_bytes, crypto::Sha256(public_part),
                                  crypto::Sha256(private_part));
}

Result<Bytes> EncodeEntry(EntryHeader header, const kv::WriteSet& public_writes,
                          const kv::WriteSet& private_writes, const Bytes* secret) {
  const Bytes public_part = EncodeOrEmpty(public_writes);
  const Bytes plaintext = EncodeOrEmpty(private_writes);
  if (public_part.size() > kEntryPartSizeMax || plaintext.size() + 16 > kEntryPartSizeMax) {
    return InvalidArgumentError("entry ", header.index, " is too large");
  }
  header.public_length = static_cast<uint32_t>(public_part.size());
  Bytes private_part;
  if (plaintext.empty()) {
    header.secret_start = 0;
    header.private_length = 0;
  } else {
    ASSERT(secret != nullptr && secret->size() == kSecretSize, "private writes need a secret");
    ASSERT(header.secret_start >= 1 && header.term <= UINT32_MAX, "bad secret start or term");
    header.private_length = static_cast<uint32_t>(plaintext.size() + 16);
  }
  const Bytes header_bytes = header.Encode();
  if (!plaintext.empty()) {
    ASSIGN_OR_RETURN(private_part, crypto::AeadSeal(crypto::AeadAlgorithm::kAes256Gcm, *secret,
                                                    EntryNonce(header.index, header.term),
                                                    header_bytes, plaintext));
    ASSERT(private_part.size() == header.private_length, "ciphertext length");
  }
  const Bytes leaf = EntryLeafHash(header_bytes, public_part, private_part);
  return Concat(header_bytes, public_part, private_part, leaf);
}

Result<EntryView> ParseEntry(ByteSpan bytes) {
  if (bytes.size() < kEntryHeaderSize) {
    return ParseError("incomplete entry: ", bytes.size(), " bytes, a header needs ",
                      kEntryHeaderSize);
  }
  EntryView view;
  view.header_bytes = bytes.first(kEntryHeaderSize);
  ASSIGN_OR_RETURN(view.header, EntryHeader::Decode(view.header_bytes));
  const size_t frame_size =
      kEntryHeaderSize + view.header.public_length + view.header.private_length + kEntryTrailerSize;
  if (bytes.size() < frame_size) {
    return ParseError("incomplete entry ", view.header.index, ": frame needs ", frame_size,
                      " bytes, ", bytes.size(), " remain");
  }
  view.public_part = bytes.subspan(kEntryHeaderSize, view.header.public_length);
  view.private_part =
      bytes.subspan(kEntryHeaderSize + view.header.public_length, view.header.private_length);
  view.leaf_hash = bytes.subspan(frame_size - kEntryTrailerSize, kEntryTrailerSize);
  view.frame_size = frame_size;
  const Bytes expected = EntryLeafHash(view.header_bytes, view.public_part, view.private_part);
  if (!std::equal(expected.begin(), expected.end(), view.leaf_hash.begin())) {
    return CorruptError("entry ", view.header.index, ": stored leaf hash ", ToHex(view.leaf_hash),
                        " does not match the entry's content (", ToHex(expected), ")");
  }
  return view;
}

Result<kv::WriteSet> DecodePublic(const EntryView& entry) {
  if (entry.public_part.empty()) return kv::WriteSet{};
  ASSIGN_OR_RETURN(kv::WriteSet writes, kv::WriteSet::Decode(entry.public_part));
  for (const auto& [name, unused] : writes.maps) {
    if (!kv::IsPublicMap(name)) {
      return CorruptError("entry ", entry.header.index, ": private map '", name,
                          "' in the public part");
    }
  }
  if (writes.empty()) return CorruptError("entry ", entry.header.index, ": empty public part");
  return writes;
}

Result<kv::WriteSet> DecryptPrivate(const EntryView& entry, const LedgerSecrets& secrets) {
  if (entry.private_part.empty()) return kv::WriteSet{};
  const uint64_t index = entry.header.index;
  const std::optional<uint64_t> start = secrets.StartFor(index);
  if (!start) return NotFoundError("no ledger secret covers entry ", index);
  if (*start != entry.header.secret_start) {
    return CorruptError("entry ", index, " claims the secret from index ",
                        entry.header.secret_start, " but the secret for it starts at ", *start);
  }
  const Bytes* secret = secrets.SecretStartingAt(*start);
  Result<Bytes> plaintext = crypto::AeadOpen(crypto::AeadAlgorithm::kAes256Gcm, *secret,
                                             EntryNonce(index, entry.header.term),
                                             entry.header_bytes, entry.private_part);
  if (!plaintext.ok()) {
    return CorruptError("entry ", index,
                        ": private part fails authentication: ", plaintext.error().message);
  }
  ASSIGN_OR_RETURN(kv::WriteSet writes, kv::WriteSet::Decode(*plaintext));
  for (const auto& [name, unused] : writes.maps) {
    if (kv::IsPublicMap(name)) {
      return CorruptError("entry ", index, ": public map '", name, "' in the private part");
    }
  }
  if (writes.empty()) return CorruptError("entry ", index, ": empty private part");
  return writes;
}

std::string SegmentFileName(uint64_t first_index) {
  char digits[kIndexDigits + 1];
  std::snprintf(digits, sizeof(digits), "%020llu", static_cast<unsigned long long>(first_index));
  return std::string(kSegmentPrefix) + digits + std::string(kSegmentSuffix);
}

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  if (name.size() != kSegmentPrefix.size() + kIndexDigits + kSegmentSuffix.size() ||
      !name.starts_with(kSegmentPrefix) || !name.ends_with(kSegmentSuffix)) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(kSegmentPrefix.size(), kIndexDigits);
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

Bytes EncodeSegmentHeader(ByteSpan ledger_id, uint64_t first_index) {
  ASSERT(ledger_id.size() == kLedgerIdSize, "ledger id size");
  Bytes out;
  ByteWriter writer(&out);
  writer.Append(ByteSpan(kSegmentMagic, sizeof(kSegmentMagic)));
  writer.Append(ledger_id);
  writer.U64Le(first_index);
  const Bytes digest = crypto::Sha256(out);
  writer.Append(digest);
  ASSERT(out.size() == kSegmentHeaderSize, "segment header size");
  return out;
}

Result<SegmentHeader> ParseSegmentHeader(ByteSpan bytes) {
  if (bytes.size() < kSegmentHeaderSize) {
    return ParseError("incomplete segment header: ", bytes.size(), " of ", kSegmentHeaderSize,
                      " bytes");
  }
  const ByteSpan covered = bytes.first(32);
  const Bytes digest = crypto::Sha256(covered);
  if (!std::equal(digest.begin(), digest.end(), bytes.begin() + 32)) {
    return CorruptError("segment header digest does not match its content");
  }
  if (!std::equal(kSegmentMagic, kSegmentMagic + sizeof(kSegmentMagic), bytes.begin())) {
    return ParseError("segment header: bad magic (expected 'CLSEGv01')");
  }
  SegmentHeader header;
  header.ledger_id.assign(bytes.begin() + 8, bytes.begin() + 24);
  ByteReader reader(bytes.subspan(24, 8), "segment header");
  ASSIGN_OR_RETURN(header.first_index, reader.U64Le("first index"));
  if (header.first_index == 0) return ParseError("segment header: first index 0");
  return header;
}

}  // namespace cloister::ledger
