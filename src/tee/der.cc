// Minimal DER reader (der.h).
#include "der.h"

namespace cloister::tee::der {

Result<Tlv> Reader::Next() {
  if (data_.size() - offset_ < 2) {
    return ParseError("DER: truncated TLV header at offset ", offset_);
  }
  Tlv tlv;
  tlv.tag = data_[offset_];
  size_t length = data_[offset_ + 1];
  size_t header = 2;
  if (length & 0x80) {
    const size_t length_bytes = length & 0x7F;
    if (length_bytes == 0 || length_bytes > 4) {
      return ParseError("DER: unsupported length form 0x", ToHex(Bytes{data_[offset_ + 1]}),
                        " at offset ", offset_);
    }
    if (data_.size() - offset_ - 2 < length_bytes) {
      return ParseError("DER: truncated length at offset ", offset_);
    }
    length = 0;
    for (size_t i = 0; i < length_bytes; ++i) length = (length << 8) | data_[offset_ + 2 + i];
    header += length_bytes;
  }
  if (data_.size() - offset_ - header < length) {
    return ParseError("DER: value of ", length, " bytes at offset ", offset_, " overruns input of ",
                      data_.size(), " bytes");
  }
  tlv.value = data_.subspan(offset_ + header, length);
  offset_ += header + length;
  return tlv;
}

Result<ByteSpan> Expect(ByteSpan data, uint8_t tag, std::string_view what) {
  Reader reader(data);
  ASSIGN_OR_RETURN(Tlv tlv, reader.Next());
  if (tlv.tag != tag) {
    return ParseError(what, ": DER tag 0x", ToHex(Bytes{tlv.tag}), ", expected 0x",
                      ToHex(Bytes{tag}));
  }
  if (!reader.empty()) return ParseError(what, ": trailing bytes after the DER value");
  return tlv.value;
}

Result<uint64_t> Unsigned(ByteSpan value, std::string_view what) {
  if (value.empty()) return ParseError(what, ": empty INTEGER");
  if (value[0] & 0x80) return ParseError(what, ": negative INTEGER");
  if (value.size() > 9 || (value.size() == 9 && value[0] != 0)) {
    return ParseError(what, ": INTEGER wider than 64 bits");
  }
  uint64_t out = 0;
  for (uint8_t byte : value) out = (out << 8) | byte;
  return out;
}

}  // namespace cloister::tee::der
