#include "cloister/ledger/snapshot.h"

#include <charconv>
#include <cstdio>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/cose.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"
#include "cloister/kv/write_set.h"
#include "cloister/ledger/entry.h"

namespace cloister::ledger {
namespace {

constexpr uint8_t kSnapshotMagic[8] = {'C', 'L', 'S', 'N', 'A', 'P', 'v', '1'};
constexpr std::string_view kSnapshotPrefix = "snapshot_";
constexpr std::string_view kSnapshotSuffix = ".snap";
constexpr size_t kSaltSize = 32;
constexpr size_t kTagSize = 16;
constexpr std::string_view kKeyInfo = "cloister snapshot v1";
// Protected header of the snapshot's COSE_Sign1 naming the signer (SubjectPublicKeyInfo DER).
constexpr std::string_view kServiceKeyLabel = "service_key";

struct Header {
  Bytes ledger_id;
  uint64_t index = 0;
  uint64_t term = 0;
  uint64_t secret_start = 0;
  Bytes salt;
  uint64_t leaf_count = 0;
  uint64_t public_length = 0;
  uint64_t private_length = 0;
  uint64_t chunk_size = 0;

  [[nodiscard]] Bytes Encode() const {
    Bytes out;
    ByteWriter writer(&out);
    writer.Append(ByteSpan(kSnapshotMagic, sizeof(kSnapshotMagic)));
    writer.Append(ledger_id);
    writer.U64Le(index);
    writer.U64Le(term);
    writer.U64Le(secret_start);
    writer.Append(salt);
    writer.U64Le(leaf_count);
    writer.U64Le(public_length);
    writer.U64Le(private_length);
    writer.U64Le(chunk_size);
    writer.Append(Bytes(16, 0));
    ASSERT(out.size() == kSnapshotHeaderSize, "snapshot header size ", out.size());
    return out;
  }
};

Result<Header> DecodeHeader(ByteSpan bytes) {
  ByteReader reader(bytes, "snapshot header");
  ASSIGN_OR_RETURN(ByteSpan magic, reader.Take(8, "magic"));
  if (!std::equal(magic.begin(), magic.end(), kSnapshotMagic)) {
    return ParseError("snapshot: bad magic (expected 'CLSNAPv1')");
  }
  Header header;
  ASSIGN_OR_RETURN(ByteSpan ledger_id, reader.Take(kLedgerIdSize, "ledger id"));
  header.ledger_id.assign(ledger_id.begin(), ledger_id.end());
  ASSIGN_OR_RETURN(header.index, reader.U64Le("index"));
  ASSIGN_OR_RETURN(header.term, reader.U64Le("term"));
  ASSIGN_OR_RETURN(header.secret_start, reader.U64Le("secret start"));
  ASSIGN_OR_RETURN(ByteSpan salt, reader.Take(kSaltSize, "salt"));
  header.salt.assign(salt.begin(), salt.end());
  ASSIGN_OR_RETURN(header.leaf_count, reader.U64Le("leaf count"));
  ASSIGN_OR_RETURN(header.public_length, reader.U64Le("public length"));
  ASSIGN_OR_RETURN(header.private_length, reader.U64Le("private length"));
  ASSIGN_OR_RETURN(header.chunk_size, reader.U64Le("chunk size"));
  ASSIGN_OR_RETURN(ByteSpan reserved, reader.Take(16, "reserved"));
  if (!IsAllZero(reserved)) return ParseError("snapshot: reserved header bytes are not zero");
  if (header.index == 0 || header.leaf_count != header.index) {
    return ParseError("snapshot: index ", header.index, " with ", header.leaf_count, " leaves");
  }
  if (header.chunk_size == 0 || header.chunk_size > 64 * kSnapshotChunkSize) {
    return ParseError("snapshot: chunk size ", header.chunk_size);
  }
  return header;
}

Bytes ChunkAad(ByteSpan header, uint64_t chunk, bool last) {
  Bytes aad(header.begin(), header.end());
  ByteWriter writer(&aad);
  writer.U64Be(chunk);
  writer.U8(last ? 1 : 0);
  return aad;
}

Bytes ChunkNonce(uint64_t chunk) {
  Bytes nonce(4, 0);
  ByteWriter writer(&nonce);
  writer.U64Be(chunk);
  return nonce;
}

Result<Bytes> SnapshotKey(const Bytes& secret, ByteSpan salt) {
  return crypto::Hkdf(crypto::HashAlgorithm::kSha256, salt, secret, AsBytes(kKeyInfo), 32);
}

void AppendRecord(Bytes& out, const std::string& map, const std::string& key,
                  const std::string& value) {
  ByteWriter writer(&out);
  writer.U16Le(static_cast<uint16_t>(map.size()));
  writer.Append(AsBytes(map));
  writer.U32Le(static_cast<uint32_t>(key.size()));
  writer.Append(AsBytes(key));
  writer.U32Le(static_cast<uint32_t>(value.size()));
  writer.Append(AsBytes(value));
}

uint64_t RecordSize(const std::string& map, const std::string& key, const std::string& value) {
  return 2 + map.size() + 4 + key.size() + 4 + value.size();
}

// Decodes records (u16 map, u32 key, u32 value), strictly increasing by (map, key), into `state`.
Status DecodeRecords(ByteSpan bytes, bool want_public,
                     std::map<std::string, std::map<std::string, std::string>>* state,
                     std::pair<std::string, std::string>* last) {
  ByteReader reader(bytes, "snapshot records");
  while (!reader.empty()) {
    ASSIGN_OR_RETURN(const uint16_t map_length, reader.U16Le("map name length"));
    ASSIGN_OR_RETURN(ByteSpan map_bytes, reader.Take(map_length, "map name"));
    ASSIGN_OR_RETURN(const uint32_t key_length, reader.U32Le("key length"));
    ASSIGN_OR_RETURN(ByteSpan key_bytes, reader.Take(key_length, "key"));
    ASSIGN_OR_RETURN(const uint32_t value_length, reader.U32Le("value length"));
    ASSIGN_OR_RETURN(ByteSpan value_bytes, reader.Take(value_length, "value"));
    std::pair<std::string, std::string> position(ToString(map_bytes), ToString(key_bytes));
    RETURN_IF_ERROR(kv::ValidateMapName(position.first));
    if (kv::IsPublicMap(position.first) != want_public) {
      return CorruptError("snapshot: map '", position.first, "' in the wrong section");
    }
    if (!last->first.empty() && !(*last < position)) {
      return CorruptError("snapshot: records are not in strictly increasing order at map '",
                          position.first, "'");
    }
    (*state)[position.first].emplace(position.second, ToString(value_bytes));
    *last = std::move(position);
  }
  return OkStatus();
}

// Everything WriteSnapshot() writes, with the running digest the signature covers.
class SnapshotWriter {
 public:
  SnapshotWriter(Storage* storage, std::string name) : storage_(storage), name_(std::move(name)) {}
  Status Write(ByteSpan bytes) {
    hasher_.Update(bytes);
    return storage_->Append(name_, bytes);
  }
  Bytes Digest() { return hasher_.Finish(); }

 private:
  Storage* storage_;
  std::string name_;
  crypto::Hasher hasher_{crypto::HashAlgorithm::kSha256};
};

Status WritePrivateChunks(SnapshotWriter& writer, const kv::Store& store, uint64_t index,
                          ByteSpan header_bytes, const Bytes& key, uint64_t chunk_count) {
  Bytes chunk;
  uint64_t chunk_number = 0;
  Status status = OkStatus();
  auto flush = [&]() -> Status {
    const bool last = chunk_number + 1 == chunk_count;
    ASSIGN_OR_RETURN(
        Bytes sealed,
        crypto::AeadSeal(crypto::AeadAlgorithm::kAes256Gcm, key, ChunkNonce(chunk_number),
                         ChunkAad(header_bytes, chunk_number, last), chunk));
    Bytes framed;
    ByteWriter(&framed).U32Le(static_cast<uint32_t>(sealed.size()));
    RETURN_IF_ERROR(writer.Write(framed));
    RETURN_IF_ERROR(writer.Write(sealed));
    ++chunk_number;
    chunk.clear();
    return OkStatus();
  };
  RETURN_IF_ERROR(store.ForEachAt(
      index, [&](const std::string& map, const std::string& k, const std::string& value) {
        if (kv::IsPublicMap(map) || !status.ok()) return;
        Bytes record;
        AppendRecord(record, map, k, value);
        // Records are split across chunks at byte granularity: the plaintext is one stream.
        size_t offset = 0;
        while (offset < record.size() && status.ok()) {
          const size_t take =
              std::min<size_t>(record.size() - offset, kSnapshotChunkSize - chunk.size());
          chunk.insert(chunk.end(), record.begin() + static_cast<std::ptrdiff_t>(offset),
                       record.begin() + static_cast<std::ptrdiff_t>(offset + take));
          offset += take;
          if (chunk.size() == kSnapshotChunkSize) status = flush();
        }
      }));
  RETURN_IF_ERROR(status);
  if (!chunk.empty()) RETURN_IF_ERROR(flush());
  ASSERT(chunk_number == chunk_count, "wrote ", chunk_number, " chunks, planned ", chunk_count);
  return OkStatus();
}

}  // namespace

std::string SnapshotFileName(uint64_t index) {
  char digits[21];
  std::snprintf(digits, sizeof(digits), "%020llu", static_cast<unsigned long long>(index));
  return std::string(kSnapshotPrefix) + digits + std::string(kSnapshotSuffix);
}

std::optional<uint64_t> ParseSnapshotFileName(std::string_view name) {
  if (name.size() != kSnapshotPrefix.size() + 20 + kSnapshotSuffix.size() ||
      !name.starts_with(kSnapshotPrefix) || !name.ends_with(kSnapshotSuffix)) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(kSnapshotPrefix.size(), 20);
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

Result<std::string> WriteSnapshot(Storage* storage, const SnapshotSource& source,
                                  const LedgerSecrets& secrets,
                                  const crypto::PrivateKey& service_key) {
  ASSERT(source.store != nullptr && source.tree != nullptr, "snapshot source incomplete");
  if (source.index == 0 || source.tree->size() < source.index) {
    return InvalidArgumentError("snapshot index ", source.index, " with a tree of ",
                                source.tree->size(), " leaves");
  }
  Header header;
  header.ledger_id = source.ledger_id;
  header.index = source.index;
  header.term = source.term;
  header.salt = crypto::SecureRandomBytes(kSaltSize);
  header.leaf_count = source.index;
  header.chunk_size = kSnapshotChunkSize;
  // First pass: sizes, so that the header can precede the data.
  uint64_t private_plaintext = 0;
  RETURN_IF_ERROR(source.store->ForEachAt(
      source.index, [&](const std::string& map, const std::string& key, const std::string& value) {
        (kv::IsPublicMap(map) ? header.public_length : private_plaintext) +=
            RecordSize(map, key, value);
      }));
  const uint64_t chunk_count = (private_plaintext + kSnapshotChunkSize - 1) / kSnapshotChunkSize;
  header.private_length = private_plaintext + chunk_count * (4 + kTagSize);
  Bytes key;
  if (chunk_count > 0) {
    const std::optional<uint64_t> start = secrets.StartFor(source.index);
    if (!start) return FailedPreconditionError("no ledger secret covers index ", source.index);
    header.secret_start = *start;
    ASSIGN_OR_RETURN(key, SnapshotKey(*secrets.SecretStartingAt(*start), header.salt));
  }
  const std::string name = SnapshotFileName(source.index);
  const std::string temporary = name + ".tmp";
  if (storage->Size(temporary).ok()) RETURN_IF_ERROR(storage->Remove(temporary));
  SnapshotWriter writer(storage, temporary);
  const Bytes header_bytes = header.Encode();
  RETURN_IF_ERROR(writer.Write(header_bytes));
  for (uint64_t i = 0; i < source.index; ++i)
    RETURN_IF_ERROR(writer.Write(source.tree->LeafHashAt(i)));
  Bytes public_records;
  RETURN_IF_ERROR(source.store->ForEachAt(
      source.index, [&](const std::string& map, const std::string& k, const std::string& value) {
        if (kv::IsPublicMap(map)) AppendRecord(public_records, map, k, value);
      }));
  RETURN_IF_ERROR(writer.Write(public_records));
  RETURN_IF_ERROR(
      WritePrivateChunks(writer, *source.store, source.index, header_bytes, key, chunk_count));
  const Bytes spki = service_key.Public().ToSpkiDer();
  crypto::cose::SignOptions sign_options;
  sign_options.kid = crypto::Sha256(spki);
  sign_options.extra_protected.push_back({crypto::cbor::Value::Text(std::string(kServiceKeyLabel)),
                                          crypto::cbor::Value::ByteString(spki)});
  ASSIGN_OR_RETURN(Bytes signature,
                   crypto::cose::Sign1(service_key, writer.Digest(), sign_options));
  Bytes trailer;
  ByteWriter(&trailer).U32Le(static_cast<uint32_t>(signature.size()));
  trailer.insert(trailer.end(), signature.begin(), signature.end());
  RETURN_IF_ERROR(storage->Append(temporary, trailer));
  RETURN_IF_ERROR(storage->Sync(temporary));
  RETURN_IF_ERROR(storage->Rename(temporary, name));
  RETURN_IF_ERROR(storage->SyncDirectory());
  return name;
}

ReaderState Snapshot::StateAfter(const crypto::PublicKey& service_key) const {
  ReaderState after;
  after.next_index = index + 1;
  after.prev_leaf_hash = tree.LeafHashAt(index - 1);
  after.tree = tree;
  after.ledger_id = ledger_id;
  after.last_term = term;
  after.last_secret_start = secret_start;
  after.service_key_spki = service_key.ToSpkiDer();
  return after;
}

namespace {

// The parts of a snapshot file located and bounds-checked, nothing verified yet.
struct Layout {
  Header header;
  size_t signed_size = 0;  // bytes covered by the signature
  crypto::cose::Sign1Message message;
  Bytes spki;  // the signer the protected header names
};

Result<Layout> ParseLayout(const Bytes& data, const std::string& name) {
  Layout layout;
  ByteReader reader(data, name);
  ASSIGN_OR_RETURN(ByteSpan header_bytes, reader.Take(kSnapshotHeaderSize, "header"));
  ASSIGN_OR_RETURN(layout.header, DecodeHeader(header_bytes));
  const Header& header = layout.header;
  // Bounds before anything else: the sections must fit exactly in the file.
  const uint64_t leaves_size = header.leaf_count * kHashSize;
  if (header.leaf_count > data.size() / kHashSize || header.public_length > data.size() ||
      header.private_length > data.size() ||
      leaves_size + header.public_length + header.private_length + 4 > reader.remaining()) {
    return CorruptError(name, ": section lengths exceed the file size ", data.size());
  }
  layout.signed_size =
      kSnapshotHeaderSize + leaves_size + header.public_length + header.private_length;
  ByteReader trailer(ByteSpan(data).subspan(layout.signed_size), name);
  ASSIGN_OR_RETURN(const uint32_t signature_length, trailer.U32Le("signature length"));
  ASSIGN_OR_RETURN(ByteSpan signature, trailer.Take(signature_length, "signature"));
  if (!trailer.empty()) return CorruptError(name, ": ", trailer.remaining(), " trailing bytes");
  Result<crypto::cose::Sign1Message> message = crypto::cose::DecodeSign1(signature);
  if (!message.ok()) return message.error().WithContext(name);
  layout.message = std::move(message).value();
  const crypto::cbor::Value* spki = layout.message.protected_headers.Find(kServiceKeyLabel);
  Result<ByteSpan> spki_bytes = VerificationError("no protected service_key header");
  if (spki != nullptr) spki_bytes = spki->AsBytes();
  if (!spki_bytes.ok()) {
    return VerificationError(name, ": the signature does not name its service key (",
                             spki_bytes.error().message, ")");
  }
  layout.spki.assign(spki_bytes->begin(), spki_bytes->end());
  return layout;
}

}  // namespace

Result<crypto::PublicKey> SnapshotSigner(Storage* storage, const std::string& name) {
  ASSIGN_OR_RETURN(const Bytes data, storage->Read(name));
  ASSIGN_OR_RETURN(const Layout layout, ParseLayout(data, name));
  Result<crypto::PublicKey> key = crypto::PublicKey::FromSpkiDer(layout.spki);
  if (!key.ok()) return key.error().WithContext(name + ": service_key header");
  return key;
}

Result<Snapshot> ReadSnapshot(Storage* storage, const std::string& name,
                              const crypto::PublicKey& service_key,
                              const SnapshotReadOptions& options) {
  ASSIGN_OR_RETURN(const Bytes data, storage->Read(name));
  ASSIGN_OR_RETURN(const Layout layout, ParseLayout(data, name));
  const Header& header = layout.header;
  const crypto::cose::Sign1Message& message = layout.message;
  if (layout.spki != service_key.ToSpkiDer()) {
    return VerificationError(name, ": signed by service key ", ToHex(crypto::Sha256(layout.spki)),
                             ", not by ", ToHex(crypto::Sha256(service_key.ToSpkiDer())),
                             " (another service's snapshot)");
  }
  if (!message.payload ||
      *message.payload != crypto::Sha256(ByteSpan(data).first(layout.signed_size))) {
    return VerificationError(name, ": the signature does not cover this snapshot's content");
  }
  const Status verified = crypto::cose::VerifySign1(message, service_key);
  if (!verified.ok()) return verified.error().WithContext(name);
  ByteReader reader(data, name);
  ASSIGN_OR_RETURN(ByteSpan header_bytes, reader.Take(kSnapshotHeaderSize, "header"));
  // Signed: the content is what the service wrote. Now check it is the one the caller wants.
  if (options.ledger_id && *options.ledger_id != header.ledger_id) {
    return VerificationError(name, ": snapshot of ledger ", ToHex(header.ledger_id), ", not ",
                             ToHex(*options.ledger_id));
  }
  if (header.index < options.min_index) {
    return PolicyError(name, ": snapshot at index ", header.index, " is older than ",
                       options.min_index);
  }
  if (ParseSnapshotFileName(name) != header.index) {
    return CorruptError(name, ": file name does not match the snapshot index ", header.index);
  }
  Snapshot snapshot;
  snapshot.ledger_id = header.ledger_id;
  snapshot.index = header.index;
  snapshot.term = header.term;
  snapshot.secret_start = header.secret_start;
  for (uint64_t i = 0; i < header.leaf_count; ++i) {
    ASSIGN_OR_RETURN(ByteSpan leaf, reader.Take(kHashSize, "leaf hash"));
    snapshot.tree.AppendLeafHash(leaf);
  }
  ASSIGN_OR_RETURN(ByteSpan public_records, reader.Take(header.public_length, "public state"));
  std::pair<std::string, std::string> last;
  RETURN_IF_ERROR(DecodeRecords(public_records, true, &snapshot.state, &last));
  ASSIGN_OR_RETURN(ByteSpan private_section, reader.Take(header.private_length, "private state"));
  if (options.secrets == nullptr || private_section.empty()) return snapshot;
  const Bytes* secret = options.secrets->SecretStartingAt(header.secret_start);
  if (secret == nullptr || options.secrets->StartFor(header.index) != header.secret_start) {
    return NotFoundError(name, ": no ledger secret starting at ", header.secret_start);
  }
  ASSIGN_OR_RETURN(const Bytes key, SnapshotKey(*secret, header.salt));
  ByteReader chunks(private_section, "private state");
  Bytes plaintext;
  for (uint64_t chunk = 0; !chunks.empty(); ++chunk) {
    ASSIGN_OR_RETURN(const uint32_t length, chunks.U32Le("chunk length"));
    ASSIGN_OR_RETURN(ByteSpan sealed, chunks.Take(length, "chunk"));
    ASSIGN_OR_RETURN(Bytes opened,
                     crypto::AeadOpen(crypto::AeadAlgorithm::kAes256Gcm, key, ChunkNonce(chunk),
                                      ChunkAad(header_bytes, chunk, chunks.empty()), sealed));
    plaintext.insert(plaintext.end(), opened.begin(), opened.end());
  }
  last = {};
  RETURN_IF_ERROR(DecodeRecords(plaintext, false, &snapshot.state, &last));
  return snapshot;
}

}  // namespace cloister::ledger
