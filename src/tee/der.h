// A minimal, bounds-checked reader of DER TLVs, for the few certificate extensions tee/ reads
// (AMD VCEK TCB and hwID extensions, the Intel PCK SGX extension). Internal to tee/.
//
// Only definite short and long lengths up to 4 bytes are accepted; nesting is walked by the
// caller, so there is no recursion and every loop is bounded by the input length.
#pragma once

#include <cstdint>
#include <string>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::tee::der {

struct Tlv {
  uint8_t tag = 0;
  ByteSpan value;
};

class Reader {
 public:
  explicit Reader(ByteSpan data) : data_(data) {}
  // The next TLV; fails on truncation, indefinite length or an oversized length.
  Result<Tlv> Next();
  [[nodiscard]] bool empty() const { return offset_ >= data_.size(); }

 private:
  ByteSpan data_;
  size_t offset_ = 0;
};

// The single TLV that makes up `data` with tag `tag` (no trailing bytes), or an error naming
// `what`.
Result<ByteSpan> Expect(ByteSpan data, uint8_t tag, std::string_view what);
// A non-negative DER INTEGER (tag 0x02) that fits in 64 bits.
Result<uint64_t> Unsigned(ByteSpan integer_tlv_value, std::string_view what);

inline constexpr uint8_t kInteger = 0x02;
inline constexpr uint8_t kOctetString = 0x04;
inline constexpr uint8_t kObjectId = 0x06;
inline constexpr uint8_t kEnumerated = 0x0A;
inline constexpr uint8_t kIa5String = 0x16;
inline constexpr uint8_t kSequence = 0x30;

}  // namespace cloister::tee::der
