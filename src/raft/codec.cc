#include "cloister/raft/codec.h"

#include <string>

namespace cloister::raft {
namespace {

constexpr uint8_t kFlagReject = 1;
constexpr uint8_t kFlagForce = 2;
constexpr uint8_t kFlagSnapshot = 4;
constexpr uint8_t kKnownFlags = kFlagReject | kFlagForce | kFlagSnapshot;

void PutVarint(Bytes* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<uint8_t>(value));
}

// Minimal LEB128 of at most 10 bytes whose value fits 64 bits.
Result<uint64_t> GetVarint(ByteReader& reader, std::string_view field) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    ASSIGN_OR_RETURN(const uint8_t byte, reader.U8(field));
    const uint64_t bits = byte & 0x7f;
    if (shift == 63 && bits > 1) return ParseError(field, ": varint overflows 64 bits");
    value |= bits << shift;
    if ((byte & 0x80) == 0) {
      if (byte == 0 && shift != 0) return ParseError(field, ": varint is not minimal");
      return value;
    }
  }
  return ParseError(field, ": varint longer than 10 bytes");
}

void PutBytes(Bytes* out, ByteSpan bytes) {
  PutVarint(out, bytes.size());
  out->insert(out->end(), bytes.begin(), bytes.end());
}

Result<Bytes> GetBytes(ByteReader& reader, std::string_view field) {
  ASSIGN_OR_RETURN(const uint64_t size, GetVarint(reader, field));
  if (size > kMaxPayloadBytes) {
    return ParseError(field, ": length ", size, " exceeds the limit of ", kMaxPayloadBytes);
  }
  ASSIGN_OR_RETURN(ByteSpan span, reader.Take(static_cast<size_t>(size), field));
  return Bytes(span.begin(), span.end());
}

void PutIds(Bytes* out, const std::set<NodeId>& ids) {
  PutVarint(out, ids.size());
  for (NodeId id : ids) PutVarint(out, id);
}

Result<std::set<NodeId>> GetIds(ByteReader& reader, std::string_view field) {
  ASSIGN_OR_RETURN(const uint64_t count, GetVarint(reader, field));
  if (count > kMaxMembers) {
    return ParseError(field, ": ", count, " members exceed the limit of ", kMaxMembers);
  }
  std::set<NodeId> ids;
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(const NodeId id, GetVarint(reader, field));
    if (id == kNoNode) return ParseError(field, ": member ", i, " has id 0");
    if (!ids.insert(id).second) return ParseError(field, ": member ", id, " listed twice");
  }
  return ids;
}

Result<Entry> GetEntry(ByteReader& reader) {
  Entry entry;
  ASSIGN_OR_RETURN(entry.term, GetVarint(reader, "term"));
  ASSIGN_OR_RETURN(entry.index, GetVarint(reader, "index"));
  if (entry.term == 0 || entry.index == 0) return ParseError("term and index must be non-zero");
  ASSIGN_OR_RETURN(const uint8_t type, reader.U8("type"));
  if (type != static_cast<uint8_t>(EntryType::kNormal) &&
      type != static_cast<uint8_t>(EntryType::kConfChange)) {
    return ParseError("type: unknown entry type ", static_cast<int>(type));
  }
  entry.type = static_cast<EntryType>(type);
  ASSIGN_OR_RETURN(entry.data, GetBytes(reader, "data"));
  return entry;
}

Result<Snapshot> GetSnapshot(ByteReader& reader) {
  Snapshot snapshot;
  ASSIGN_OR_RETURN(snapshot.index, GetVarint(reader, "snapshot index"));
  ASSIGN_OR_RETURN(snapshot.term, GetVarint(reader, "snapshot term"));
  if (snapshot.index == 0 || snapshot.term == 0) {
    return ParseError("snapshot: index and term must be non-zero");
  }
  ASSIGN_OR_RETURN(snapshot.config.voters, GetIds(reader, "snapshot voters"));
  ASSIGN_OR_RETURN(snapshot.config.learners, GetIds(reader, "snapshot learners"));
  for (NodeId id : snapshot.config.learners) {
    if (snapshot.config.IsVoter(id)) {
      return ParseError("snapshot: member ", id, " is both voter and learner");
    }
  }
  ASSIGN_OR_RETURN(snapshot.data, GetBytes(reader, "snapshot data"));
  return snapshot;
}

Status GetHeader(ByteReader& reader, Message& m, uint8_t& flags) {
  ASSIGN_OR_RETURN(const uint8_t version, reader.U8("version"));
  if (version != kMessageFormatVersion) {
    return UnsupportedError("version ", static_cast<int>(version), " (expected ",
                            static_cast<int>(kMessageFormatVersion), ")");
  }
  ASSIGN_OR_RETURN(const uint8_t type, reader.U8("type"));
  if (type == 0 || type > kMaxMessageType) {
    return ParseError("type: unknown message type ", static_cast<int>(type));
  }
  m.type = static_cast<MessageType>(type);
  ASSIGN_OR_RETURN(flags, reader.U8("flags"));
  if ((flags & ~kKnownFlags) != 0)
    return ParseError("flags: unknown bits ", static_cast<int>(flags));
  m.reject = (flags & kFlagReject) != 0;
  m.force = (flags & kFlagForce) != 0;
  ASSIGN_OR_RETURN(m.from, GetVarint(reader, "from"));
  ASSIGN_OR_RETURN(m.to, GetVarint(reader, "to"));
  if (m.from == kNoNode || m.to == kNoNode) return ParseError("from/to: node id 0");
  ASSIGN_OR_RETURN(m.term, GetVarint(reader, "term"));
  ASSIGN_OR_RETURN(m.log_term, GetVarint(reader, "log_term"));
  ASSIGN_OR_RETURN(m.index, GetVarint(reader, "index"));
  ASSIGN_OR_RETURN(m.commit, GetVarint(reader, "commit"));
  ASSIGN_OR_RETURN(m.context, GetVarint(reader, "context"));
  ASSIGN_OR_RETURN(m.reject_hint, GetVarint(reader, "reject_hint"));
  return OkStatus();
}

Result<Message> DecodeMessageBody(ByteReader& reader) {
  Message m;
  uint8_t flags = 0;
  RETURN_IF_ERROR(GetHeader(reader, m, flags));
  ASSIGN_OR_RETURN(const uint64_t count, GetVarint(reader, "entry count"));
  if (count > kMaxEntriesPerMessage) {
    return ParseError("entry count ", count, " exceeds the limit of ", kMaxEntriesPerMessage);
  }
  // Each entry takes at least 4 bytes, so a huge count cannot make us reserve memory.
  if (count > reader.remaining() / 4) {
    return ParseError("entry count ", count, " exceeds what ", reader.remaining(), " bytes hold");
  }
  m.entries.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    auto entry = GetEntry(reader);
    if (!entry) return entry.error().WithContext("entry " + std::to_string(i));
    m.entries.push_back(std::move(*entry));
  }
  if ((flags & kFlagSnapshot) != 0) {
    ASSIGN_OR_RETURN(m.snapshot, GetSnapshot(reader));
  }
  if (!reader.empty()) return ParseError(reader.remaining(), " trailing bytes");
  return m;
}

}  // namespace

Bytes EncodeMessage(const Message& m) {
  Bytes out;
  out.push_back(kMessageFormatVersion);
  out.push_back(static_cast<uint8_t>(m.type));
  out.push_back(static_cast<uint8_t>((m.reject ? kFlagReject : 0) | (m.force ? kFlagForce : 0) |
                                     (m.snapshot ? kFlagSnapshot : 0)));
  for (uint64_t v :
       {m.from, m.to, m.term, m.log_term, m.index, m.commit, m.context, m.reject_hint}) {
    PutVarint(&out, v);
  }
  PutVarint(&out, m.entries.size());
  for (const Entry& e : m.entries) {
    PutVarint(&out, e.term);
    PutVarint(&out, e.index);
    out.push_back(static_cast<uint8_t>(e.type));
    PutBytes(&out, e.data);
  }
  if (m.snapshot) {
    PutVarint(&out, m.snapshot->index);
    PutVarint(&out, m.snapshot->term);
    PutIds(&out, m.snapshot->config.voters);
    PutIds(&out, m.snapshot->config.learners);
    PutBytes(&out, m.snapshot->data);
  }
  return out;
}

Result<Message> DecodeMessage(ByteSpan input) {
  ByteReader reader(input, "raft message");
  auto message = DecodeMessageBody(reader);
  if (!message) return message.error().WithContext("raft message");
  return message;
}

Bytes EncodeConfChange(const ConfChange& change) {
  Bytes out;
  out.push_back(kMessageFormatVersion);
  out.push_back(static_cast<uint8_t>(change.type));
  PutVarint(&out, change.node_id);
  return out;
}

Result<ConfChange> DecodeConfChange(ByteSpan input) {
  ByteReader reader(input, "conf change");
  ASSIGN_OR_RETURN(const uint8_t version, reader.U8("version"));
  if (version != kMessageFormatVersion) {
    return UnsupportedError("conf change: version ", static_cast<int>(version));
  }
  ASSIGN_OR_RETURN(const uint8_t type, reader.U8("type"));
  if (type < 1 || type > 3) return ParseError("conf change: unknown type ", static_cast<int>(type));
  ConfChange change{.type = static_cast<ConfChangeType>(type)};
  ASSIGN_OR_RETURN(change.node_id, GetVarint(reader, "conf change: node id"));
  if (change.node_id == kNoNode) return ParseError("conf change: node id 0");
  if (!reader.empty()) return ParseError("conf change: ", reader.remaining(), " trailing bytes");
  return change;
}

}  // namespace cloister::raft
