// Ledger entries and segment files: the exact bytes the host stores (docs/ledger_format.md).
//
// One entry per committed transaction (kind kTransaction) or per signature transaction (kind
// kSignature). An entry is a fixed 88-byte header, the public write set in clear, the private
// write set sealed with AES-256-GCM, and a 32-byte trailer holding the entry's Merkle leaf hash:
//
//   leaf hash = SHA-256(0x00 || header || SHA-256(public) || SHA-256(private ciphertext))
//
// so that a receipt can prove an entry without carrying its ciphertext. The header names the
// ledger, the index, the term, the secret, and the previous entry's leaf hash (a hash chain);
// the AEAD uses the header as associated data and nonce = index (8 bytes, big-endian) || term
// (4 bytes, big-endian), which is unique per (position, leader) because a leader never rewrites
// an index within its own term. Segment files start with a 64-byte header (magic, ledger id,
// first index, SHA-256 of the preceding 32 bytes).
//
// Parsing functions take hostile bytes and return errors that name the field and offset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/kv/write_set.h"
#include "cloister/ledger/secrets.h"

namespace cloister::ledger {

inline constexpr size_t kLedgerIdSize = 16;
inline constexpr size_t kEntryHeaderSize = 88;
inline constexpr size_t kEntryTrailerSize = 32;
inline constexpr size_t kSegmentHeaderSize = 64;
// An entry's public or private part is at most this large (a bound for hostile lengths).
inline constexpr uint32_t kEntryPartSizeMax = 256u * 1024 * 1024;

enum class EntryKind : uint8_t { kTransaction = 1, kSignature = 2 };

// The public map that signature transactions write, and its keys.
inline constexpr std::string_view kSignaturesMap = "public:cloister.signatures";
inline constexpr std::string_view kSignatureKey = "cose_sign1";
inline constexpr std::string_view kServiceKeyKey = "service_key";

struct EntryHeader {
  EntryKind kind = EntryKind::kTransaction;
  Bytes ledger_id;  // kLedgerIdSize bytes
  uint64_t index = 0;
  uint64_t term = 0;
  uint64_t secret_start = 0;  // 0 when there is no private part
  Bytes prev_leaf_hash;       // 32 bytes; zeros for index 1
  uint32_t public_length = 0;
  uint32_t private_length = 0;

  [[nodiscard]] Bytes Encode() const;
  static Result<EntryHeader> Decode(ByteSpan bytes);
};

// An entry as stored: the parsed header and views of its parts into the frame's bytes.
struct EntryView {
  EntryHeader header;
  ByteSpan header_bytes;
  ByteSpan public_part;
  ByteSpan private_part;
  ByteSpan leaf_hash;  // the stored trailer, checked equal to the recomputed leaf hash
  size_t frame_size = 0;
};

// The Merkle leaf hash of an entry from its parts.
Bytes EntryLeafHash(ByteSpan header_bytes, ByteSpan public_part, ByteSpan private_part);
// The same, from the header and the two part digests (what a receipt carries).
Bytes EntryLeafHashFromDigests(ByteSpan header_bytes, ByteSpan public_digest,
                               ByteSpan private_digest);

// Builds a complete frame (header, parts, trailer). The private write set, if non-empty, is
// sealed under `secret` (kSecretSize bytes) with `header.secret_start` naming it.
Result<Bytes> EncodeEntry(EntryHeader header, const kv::WriteSet& public_writes,
                          const kv::WriteSet& private_writes, const Bytes* secret);

// Parses one frame at the start of `bytes` (which may continue with further frames) and checks
// its trailer. kParse for a malformed or incomplete frame, kCorrupt for a trailer mismatch.
Result<EntryView> ParseEntry(ByteSpan bytes);

// Decrypts and decodes the private write set of a parsed entry (empty if it has none).
Result<kv::WriteSet> DecryptPrivate(const EntryView& entry, const LedgerSecrets& secrets);
Result<kv::WriteSet> DecodePublic(const EntryView& entry);

// Segment file names: "ledger_<first index, 20 digits>.seg".
std::string SegmentFileName(uint64_t first_index);
// The first index encoded in a segment file name, or nullopt if `name` is not a segment name.
std::optional<uint64_t> ParseSegmentFileName(std::string_view name);

Bytes EncodeSegmentHeader(ByteSpan ledger_id, uint64_t first_index);
struct SegmentHeader {
  Bytes ledger_id;
  uint64_t first_index = 0;
};
Result<SegmentHeader> ParseSegmentHeader(ByteSpan bytes);

}  // namespace cloister::ledger
