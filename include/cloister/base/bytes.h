// Byte buffers and their text forms (hex, base64), and bounds-checked readers and writers for
// binary formats.
//
// Bytes owns memory; ByteSpan is a read-only view whose referent must outlive it. ByteReader
// never reads past its span: every read returns a Result, so a parser fed hostile input fails
// with a message naming the field, never with an out-of-bounds access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/base/result.h"

namespace cloister {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
using MutableByteSpan = std::span<uint8_t>;

// Views of text as bytes and back (no copy for the view; copies for the owning forms).
ByteSpan AsBytes(std::string_view text);
Bytes ToBytes(std::string_view text);
std::string_view AsString(ByteSpan bytes);
std::string ToString(ByteSpan bytes);

// Lower-case hex. FromHex accepts upper and lower case, rejects odd length and non-hex digits.
std::string ToHex(ByteSpan bytes);
Result<Bytes> FromHex(std::string_view hex);

// RFC 4648 base64: standard alphabet with padding, and base64url without padding. Decoders are
// strict: wrong alphabet, bad padding or non-zero trailing bits are errors.
std::string Base64Encode(ByteSpan bytes);
Result<Bytes> Base64Decode(std::string_view text);
std::string Base64UrlEncode(ByteSpan bytes);
Result<Bytes> Base64UrlDecode(std::string_view text);

// Concatenation of any number of byte ranges.
template <typename... Spans>
Bytes Concat(const Spans&... spans) {
  Bytes out;
  out.reserve((std::size(spans) + ... + 0));
  (out.insert(out.end(), std::begin(spans), std::end(spans)), ...);
  return out;
}

// True when every byte is zero (also for an empty span).
bool IsAllZero(ByteSpan bytes);

// Reads fixed-width integers and byte ranges from a span, advancing a cursor. Each read names the
// field it reads so that an error says what was missing ("report: signature: need 512 bytes at
// offset 672, have 100").
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data, std::string_view what = "input") : data_(data), what_(what) {}

  Result<uint8_t> U8(std::string_view field);
  Result<uint16_t> U16Le(std::string_view field);
  Result<uint32_t> U32Le(std::string_view field);
  Result<uint64_t> U64Le(std::string_view field);
  Result<uint16_t> U16Be(std::string_view field);
  Result<uint32_t> U32Be(std::string_view field);
  Result<uint64_t> U64Be(std::string_view field);
  // A view of the next `size` bytes; valid as long as the underlying data.
  Result<ByteSpan> Take(size_t size, std::string_view field);
  Status Skip(size_t size, std::string_view field);

  [[nodiscard]] size_t offset() const { return offset_; }
  [[nodiscard]] size_t remaining() const { return data_.size() - offset_; }
  [[nodiscard]] bool empty() const { return remaining() == 0; }
  [[nodiscard]] ByteSpan Rest() const { return data_.subspan(offset_); }

 private:
  Status Need(size_t size, std::string_view field) const;

  ByteSpan data_;
  std::string what_;
  size_t offset_ = 0;
};

// Appends fixed-width integers and byte ranges to a Bytes buffer it does not own. `*out` must
// outlive the writer.
class ByteWriter {
 public:
  explicit ByteWriter(Bytes* out) : out_(out) {}
  void U8(uint8_t value);
  void U16Le(uint16_t value);
  void U32Le(uint32_t value);
  void U64Le(uint64_t value);
  void U16Be(uint16_t value);
  void U32Be(uint32_t value);
  void U64Be(uint64_t value);
  void Append(ByteSpan bytes);

 private:
  Bytes* out_;
};

// Big-endian encoding of an integer in `width` bytes (width <= 8), as I2OSP in RFC 8017.
Bytes EncodeBigEndian(uint64_t value, size_t width);

}  // namespace cloister
