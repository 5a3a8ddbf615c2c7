#include "cloister/base/bytes.h"

#include <array>

namespace cloister {

ByteSpan AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}
Bytes ToBytes(std::string_view text) { return Bytes(text.begin(), text.end()); }
std::string_view AsString(ByteSpan bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
std::string ToString(ByteSpan bytes) { return std::string(AsString(bytes)); }

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kBase64Standard[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64EncodeWith(ByteSpan bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t group =
        (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    out.push_back(alphabet[(group >> 6) & 63]);
    out.push_back(alphabet[group & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t group = uint32_t{bytes[i]} << 16;
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    const uint32_t group = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    out.push_back(alphabet[(group >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

Result<Bytes> Base64DecodeWith(std::string_view text, const char* alphabet, bool padded) {
  std::array<int, 256> value{};
  value.fill(-1);
  for (int i = 0; i < 64; ++i) value[static_cast<uint8_t>(alphabet[i])] = i;

  size_t length = text.size();
  if (padded) {
    if (length % 4 != 0) {
      return InvalidArgumentError("base64: length ", length, " is not a multiple of 4");
    }
    size_t padding = 0;
    while (padding < 2 && length > 0 && text[length - 1] == '=') {
      --length;
      ++padding;
    }
  } else if (length % 4 == 1) {
    return InvalidArgumentError("base64url: length ", length, " cannot encode whole bytes");
  }
  Bytes out;
  out.reserve(length * 3 / 4);
  uint32_t accumulator = 0;
  int bits = 0;
  for (size_t i = 0; i < length; ++i) {
    const int v = value[static_cast<uint8_t>(text[i])];
    if (v < 0) {
      return InvalidArgumentError("base64: invalid character at offset ", i);
    }
    accumulator = (accumulator << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((accumulator >> bits) & 0xff));
    }
  }
  if (bits > 0 && (accumulator & ((1u << bits) - 1)) != 0) {
    return InvalidArgumentError("base64: non-zero trailing bits");
  }
  return out;
}

}  // namespace

std::string ToHex(ByteSpan bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const uint8_t b : bytes) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 0xf]);
  }
  return out;
}

Result<Bytes> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return InvalidArgumentError("hex: odd length ", hex.size());
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int high = HexValue(hex[2 * i]);
    const int low = HexValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return InvalidArgumentError("hex: invalid digit at offset ", high < 0 ? 2 * i : 2 * i + 1);
    }
    out[i] = static_cast<uint8_t>((high << 4) | low);
  }
  return out;
}

std::string Base64Encode(ByteSpan bytes) { return Base64EncodeWith(bytes, kBase64Standard, true); }
Result<Bytes> Base64Decode(std::string_view text) {
  return Base64DecodeWith(text, kBase64Standard, true);
}
std::string Base64UrlEncode(ByteSpan bytes) { return Base64EncodeWith(bytes, kBase64Url, false); }
Result<Bytes> Base64UrlDecode(std::string_view text) {
  return Base64DecodeWith(text, kBase64Url, false);
}

bool IsAllZero(ByteSpan bytes) {
  uint8_t any = 0;
  for (const uint8_t b : bytes) any |= b;
  return any == 0;
}

Bytes EncodeBigEndian(uint64_t value, size_t width) {
  ASSERT(width <= 8, "width ", width);
  Bytes out(width);
  for (size_t i = 0; i < width; ++i) {
    out[width - 1 - i] = static_cast<uint8_t>(value >> (8 * i));
  }
  return out;
}

Status ByteReader::Need(size_t size, std::string_view field) const {
  if (remaining() < size) {
    return ParseError(what_, ": ", field, ": need ", size, " bytes at offset ", offset_, ", have ",
                      remaining());
  }
  return OkStatus();
}

namespace {
template <typename T>
T LoadLe(const uint8_t* p) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(T{p[i]} << (8 * i));
  return value;
}
template <typename T>
T LoadBe(const uint8_t* p) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value = static_cast<T>((value << 8) | p[i]);
  return value;
}
}  // namespace

Result<uint8_t> ByteReader::U8(std::string_view field) {
  RETURN_IF_ERROR(Need(1, field));
  return data_[offset_++];
}

#define CLOISTER_READER_INT(Name, Type, Load)              \
  Result<Type> ByteReader::Name(std::string_view field) {  \
    RETURN_IF_ERROR(Need(sizeof(Type), field));            \
    const Type value = Load<Type>(data_.data() + offset_); \
    offset_ += sizeof(Type);                               \
    return value;                                          \
  }
CLOISTER_READER_INT(U16Le, uint16_t, LoadLe)
CLOISTER_READER_INT(U32Le, uint32_t, LoadLe)
CLOISTER_READER_INT(U64Le, uint64_t, LoadLe)
CLOISTER_READER_INT(U16Be, uint16_t, LoadBe)
CLOISTER_READER_INT(U32Be, uint32_t, LoadBe)
CLOISTER_READER_INT(U64Be, uint64_t, LoadBe)
#undef CLOISTER_READER_INT

Result<ByteSpan> ByteReader::Take(size_t size, std::string_view field) {
  RETURN_IF_ERROR(Need(size, field));
  const ByteSpan out = data_.subspan(offset_, size);
  offset_ += size;
  return out;
}

Status ByteReader::Skip(size_t size, std::string_view field) {
  RETURN_IF_ERROR(Need(size, field));
  offset_ += size;
  return OkStatus();
}

void ByteWriter::U8(uint8_t value) { out_->push_back(value); }
void ByteWriter::U16Le(uint16_t value) {
  for (size_t i = 0; i < 2; ++i) out_->push_back(static_cast<uint8_t>(value >> (8 * i)));
}
void ByteWriter::U32Le(uint32_t value) {
  for (size_t i = 0; i < 4; ++i) out_->push_back(static_cast<uint8_t>(value >> (8 * i)));
}
void ByteWriter::U64Le(uint64_t value) {
  for (size_t i = 0; i < 8; ++i) out_->push_back(static_cast<uint8_t>(value >> (8 * i)));
}
void ByteWriter::U16Be(uint16_t value) { Append(EncodeBigEndian(value, 2)); }
void ByteWriter::U32Be(uint32_t value) { Append(EncodeBigEndian(value, 4)); }
void ByteWriter::U64Be(uint64_t value) { Append(EncodeBigEndian(value, 8)); }
void ByteWriter::Append(ByteSpan bytes) { out_->insert(out_->end(), bytes.begin(), bytes.end()); }

}  // namespace cloister
