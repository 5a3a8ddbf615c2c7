#include "cloister/kv/write_set.h"

#include <limits>

namespace cloister::kv {
namespace {

constexpr uint8_t kOpPut = 1;
constexpr uint8_t kOpRemove = 2;

void PutString32(ByteWriter& writer, std::string_view text) {
  writer.U32Le(static_cast<uint32_t>(text.size()));
  writer.Append(AsBytes(text));
}

Result<std::string> ReadString32(ByteReader& reader, size_t length_max, std::string_view field) {
  ASSIGN_OR_RETURN(const uint32_t length, reader.U32Le(field));
  if (length > length_max) {
    return ParseError("write set: ", field, " is ", length, " bytes, limit ", length_max);
  }
  ASSIGN_OR_RETURN(ByteSpan bytes, reader.Take(length, field));
  return ToString(bytes);
}

Result<std::map<std::string, std::optional<std::string>>> DecodeWrites(ByteReader& reader,
                                                                       const std::string& map) {
  ASSIGN_OR_RETURN(const uint32_t count, reader.U32Le("write count"));
  // Each write takes at least 5 bytes, so a count larger than what remains is a lie.
  if (count == 0 || count > reader.remaining() / 5) {
    return ParseError("write set: map '", map, "' declares ", count, " writes with ",
                      reader.remaining(), " bytes left");
  }
  std::map<std::string, std::optional<std::string>> writes;
  for (uint32_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(const uint8_t op, reader.U8("op"));
    if (op != kOpPut && op != kOpRemove) {
      return ParseError("write set: map '", map, "' write ", i, " has unknown op ", op);
    }
    ASSIGN_OR_RETURN(std::string key, ReadString32(reader, kKeyLengthMax, "key"));
    if (!writes.empty() && !(writes.rbegin()->first < key)) {
      return ParseError("write set: map '", map, "' keys are not in strictly increasing order");
    }
    std::optional<std::string> value;
    if (op == kOpPut) {
      ASSIGN_OR_RETURN(value, ReadString32(reader, kValueLengthMax, "value"));
    }
    writes.emplace_hint(writes.end(), std::move(key), std::move(value));
  }
  return writes;
}

}  // namespace

bool IsPublicMap(std::string_view map_name) { return map_name.starts_with(kPublicPrefix); }

Status ValidateMapName(std::string_view map_name) {
  if (map_name.empty() || map_name.size() > kMapNameLengthMax) {
    return InvalidArgumentError("map name is ", map_name.size(), " bytes, expected 1..",
                                kMapNameLengthMax);
  }
  for (const char c : map_name) {
    if (c < 0x21 || c > 0x7e) {
      return InvalidArgumentError("map name contains a byte outside printable ASCII");
    }
  }
  return OkStatus();
}

size_t WriteSet::WriteCount() const {
  size_t count = 0;
  for (const auto& [name, writes] : maps) count += writes.size();
  return count;
}

Bytes WriteSet::Encode() const {
  Bytes out;
  ByteWriter writer(&out);
  writer.U32Le(static_cast<uint32_t>(maps.size()));
  for (const auto& [name, writes] : maps) {
    ASSERT(!writes.empty(), "write set map '", name, "' has no writes");
    writer.U16Le(static_cast<uint16_t>(name.size()));
    writer.Append(AsBytes(name));
    writer.U32Le(static_cast<uint32_t>(writes.size()));
    for (const auto& [key, value] : writes) {
      writer.U8(value ? kOpPut : kOpRemove);
      PutString32(writer, key);
      if (value) PutString32(writer, *value);
    }
  }
  return out;
}

Result<WriteSet> WriteSet::Decode(ByteSpan bytes) {
  ByteReader reader(bytes, "write set");
  ASSIGN_OR_RETURN(const uint32_t map_count, reader.U32Le("map count"));
  if (map_count > reader.remaining() / 8) {
    return ParseError("write set declares ", map_count, " maps with ", reader.remaining(),
                      " bytes left");
  }
  WriteSet write_set;
  for (uint32_t i = 0; i < map_count; ++i) {
    ASSIGN_OR_RETURN(const uint16_t name_length, reader.U16Le("map name length"));
    ASSIGN_OR_RETURN(ByteSpan name_bytes, reader.Take(name_length, "map name"));
    std::string name = ToString(name_bytes);
    RETURN_IF_ERROR(ValidateMapName(name));
    if (!write_set.maps.empty() && !(write_set.maps.rbegin()->first < name)) {
      return ParseError("write set: map names are not in strictly increasing order at '", name,
                        "'");
    }
    ASSIGN_OR_RETURN(auto writes, DecodeWrites(reader, name));
    write_set.maps.emplace_hint(write_set.maps.end(), std::move(name), std::move(writes));
  }
  if (!reader.empty()) {
    return ParseError("write set has ", reader.remaining(), " trailing bytes");
  }
  return write_set;
}

std::pair<WriteSet, WriteSet> WriteSet::SplitByVisibility() const {
  std::pair<WriteSet, WriteSet> parts;
  for (const auto& [name, writes] : maps) {
    (IsPublicMap(name) ? parts.first : parts.second).maps.emplace(name, writes);
  }
  return parts;
}

void WriteSet::Merge(const WriteSet& other) {
  for (const auto& [name, writes] : other.maps) {
    const bool inserted = maps.emplace(name, writes).second;
    ASSERT(inserted, "merging write sets that both write map '", name, "'");
  }
}

}  // namespace cloister::kv
