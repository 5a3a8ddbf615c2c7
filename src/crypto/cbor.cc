// CBOR value type, deterministic encoder, strict decoder and diagnostic notation (RFC 8949).
//
// The decoder is recursive, but every recursion goes one nesting level deeper and the depth is
// checked against DecodeOptions::max_depth (<= kMaxNestingDepth) before descending, so the stack
// is bounded. Every length is compared with the remaining input before anything is allocated.
#include "cloister/crypto/cbor.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>

namespace cloister::crypto::cbor {
namespace {

constexpr uint8_t kMajorUnsigned = 0;
constexpr uint8_t kMajorNegative = 1;
constexpr uint8_t kMajorBytes = 2;
constexpr uint8_t kMajorText = 3;
constexpr uint8_t kMajorArray = 4;
constexpr uint8_t kMajorMap = 5;
constexpr uint8_t kMajorTag = 6;
constexpr uint8_t kMajorSimple = 7;

constexpr uint8_t kInfoOneByte = 24;
constexpr uint8_t kInfoTwoBytes = 25;
constexpr uint8_t kInfoFourBytes = 26;
constexpr uint8_t kInfoEightBytes = 27;
constexpr uint8_t kInfoIndefinite = 31;
constexpr uint8_t kBreak = 0xff;

// Half-precision (IEEE 754 binary16) to double, exact.
double HalfToDouble(uint16_t half) {
  const int exponent = (half >> 10) & 0x1f;
  const int mantissa = half & 0x3ff;
  double magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(mantissa, -24);
  } else if (exponent == 31) {
    magnitude = mantissa == 0 ? std::numeric_limits<double>::infinity()
                              : std::numeric_limits<double>::quiet_NaN();
  } else {
    magnitude = std::ldexp(mantissa + 1024, exponent - 25);
  }
  return (half & 0x8000) != 0 ? -magnitude : magnitude;
}

// The binary16 encoding of `value` when it represents `value` exactly (finite values only).
bool DoubleToHalfExact(double value, uint16_t* half) {
  const uint16_t sign = std::signbit(value) ? 0x8000 : 0;
  const double magnitude = std::fabs(value);
  if (magnitude == 0.0) {
    *half = sign;
    return true;
  }
  int exponent = 0;
  std::frexp(magnitude, &exponent);  // magnitude = m * 2^exponent, m in [0.5, 1)
  const int unbiased = exponent - 1;
  if (unbiased > 15) return false;
  uint16_t bits;
  if (unbiased >= -14) {
    const double scaled = std::ldexp(magnitude, 10 - unbiased);  // in [1024, 2048)
    if (scaled != std::floor(scaled)) return false;
    const auto mantissa = static_cast<uint16_t>(static_cast<int>(scaled) - 1024);
    bits = static_cast<uint16_t>(((unbiased + 15) << 10) | mantissa);
  } else {
    const double scaled = std::ldexp(magnitude, 24);  // subnormal: multiples of 2^-24
    if (scaled != std::floor(scaled) || scaled >= 1024.0) return false;
    bits = static_cast<uint16_t>(static_cast<int>(scaled));
  }
  *half = static_cast<uint16_t>(sign | bits);
  return HalfToDouble(*half) == value;
}

bool FitsSingleExactly(double value) {
  if (!(std::fabs(value) <= static_cast<double>(std::numeric_limits<float>::max()))) return false;
  return static_cast<double>(static_cast<float>(value)) == value;
}

// Which float width Encode() uses for `value`: 2, 4 or 8 bytes.
int ShortestFloatWidth(double value) {
  uint16_t half;
  if (std::isnan(value) || std::isinf(value) || DoubleToHalfExact(value, &half)) return 2;
  return FitsSingleExactly(value) ? 4 : 8;
}

void AppendBigEndian(uint64_t value, int width, Bytes* out) {
  for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
    out->push_back(static_cast<uint8_t>(value >> shift));
  }
}

void EncodeHead(uint8_t major, uint64_t argument, Bytes* out) {
  const auto initial = static_cast<uint8_t>(major << 5);
  if (argument < kInfoOneByte) {
    out->push_back(static_cast<uint8_t>(initial | argument));
  } else if (argument <= 0xff) {
    out->push_back(initial | kInfoOneByte);
    AppendBigEndian(argument, 1, out);
  } else if (argument <= 0xffff) {
    out->push_back(initial | kInfoTwoBytes);
    AppendBigEndian(argument, 2, out);
  } else if (argument <= 0xffffffff) {
    out->push_back(initial | kInfoFourBytes);
    AppendBigEndian(argument, 4, out);
  } else {
    out->push_back(initial | kInfoEightBytes);
    AppendBigEndian(argument, 8, out);
  }
}

void EncodeFloat(double value, Bytes* out) {
  const uint8_t initial = kMajorSimple << 5;
  if (std::isnan(value)) {
    out->insert(out->end(), {0xf9, 0x7e, 0x00});
    return;
  }
  if (std::isinf(value)) {
    out->insert(out->end(), {0xf9, static_cast<uint8_t>(value > 0 ? 0x7c : 0xfc), 0x00});
    return;
  }
  uint16_t half;
  if (DoubleToHalfExact(value, &half)) {
    out->push_back(initial | kInfoTwoBytes);
    AppendBigEndian(half, 2, out);
  } else if (FitsSingleExactly(value)) {
    out->push_back(initial | kInfoFourBytes);
    AppendBigEndian(std::bit_cast<uint32_t>(static_cast<float>(value)), 4, out);
  } else {
    out->push_back(initial | kInfoEightBytes);
    AppendBigEndian(std::bit_cast<uint64_t>(value), 8, out);
  }
}

void EncodeValue(const Value& value, size_t depth, Bytes* out);

void EncodeMap(const Value& value, size_t depth, Bytes* out) {
  const std::vector<MapEntry>& entries = value.entries();
  std::vector<Bytes> keys(entries.size());
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    EncodeValue(entries[i].key, depth + 1, &keys[i]);
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), [&keys](size_t a, size_t b) { return keys[a] < keys[b]; });
  EncodeHead(kMajorMap, entries.size(), out);
  for (size_t i = 0; i < order.size(); ++i) {
    ASSERT(i == 0 || keys[order[i - 1]] != keys[order[i]], "cbor: map with a duplicate key");
    out->insert(out->end(), keys[order[i]].begin(), keys[order[i]].end());
    EncodeValue(entries[order[i]].value, depth + 1, out);
  }
}

void EncodeValue(const Value& value, size_t depth, Bytes* out) {
  ASSERT(depth <= kMaxNestingDepth, "cbor: value nested deeper than ", kMaxNestingDepth);
  switch (value.type()) {
    case Type::kUnsigned:
      EncodeHead(kMajorUnsigned, value.argument(), out);
      return;
    case Type::kNegative:
      EncodeHead(kMajorNegative, value.argument(), out);
      return;
    case Type::kBytes:
    case Type::kText:
      EncodeHead(value.type() == Type::kBytes ? kMajorBytes : kMajorText, value.data().size(), out);
      out->insert(out->end(), value.data().begin(), value.data().end());
      return;
    case Type::kArray:
      EncodeHead(kMajorArray, value.items().size(), out);
      for (const Value& item : value.items()) EncodeValue(item, depth + 1, out);
      return;
    case Type::kMap:
      EncodeMap(value, depth, out);
      return;
    case Type::kTag:
      EncodeHead(kMajorTag, value.argument(), out);
      EncodeValue(value.items().front(), depth + 1, out);
      return;
    case Type::kSimple:
      EncodeHead(kMajorSimple, value.argument(), out);
      return;
    case Type::kFloat:
      EncodeFloat(value.float_value(), out);
      return;
  }
  UNREACHABLE("cbor: unknown type");
}

}  // namespace

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kUnsigned:
      return "unsigned integer";
    case Type::kNegative:
      return "negative integer";
    case Type::kBytes:
      return "byte string";
    case Type::kText:
      return "text string";
    case Type::kArray:
      return "array";
    case Type::kMap:
      return "map";
    case Type::kTag:
      return "tag";
    case Type::kSimple:
      return "simple value";
    case Type::kFloat:
      return "float";
  }
  return "unknown";
}

bool IsValidUtf8(ByteSpan text) {
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t lead = text[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t code_point;
    uint32_t minimum;
    if ((lead & 0xe0) == 0xc0) {
      length = 2, code_point = lead & 0x1fu, minimum = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3, code_point = lead & 0x0fu, minimum = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4, code_point = lead & 0x07u, minimum = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      const uint8_t continuation = text[i + k];
      if ((continuation & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (continuation & 0x3fu);
    }
    if (code_point < minimum || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

// ---- Value ----

Value Value::Unsigned(uint64_t value) {
  Value v;
  v.type_ = Type::kUnsigned;
  v.argument_ = value;
  return v;
}

Value Value::Negative(uint64_t argument) {
  Value v;
  v.type_ = Type::kNegative;
  v.argument_ = argument;
  return v;
}

Value Value::Int(int64_t value) {
  if (value >= 0) return Unsigned(static_cast<uint64_t>(value));
  // -1 - value, computed without overflow for INT64_MIN.
  return Negative(static_cast<uint64_t>(-(value + 1)));
}

Value Value::ByteString(ByteSpan bytes) { return ByteString(Bytes(bytes.begin(), bytes.end())); }

Value Value::ByteString(Bytes bytes) {
  Value v;
  v.type_ = Type::kBytes;
  v.argument_ = 0;
  v.data_ = std::move(bytes);
  return v;
}

Value Value::Text(std::string text) {
  ASSERT(IsValidUtf8(::cloister::AsBytes(text)), "cbor: Value::Text given invalid UTF-8");
  Value v;
  v.type_ = Type::kText;
  v.argument_ = 0;
  v.data_ = ToBytes(text);
  return v;
}

Result<Value> Value::TextChecked(std::string text) {
  if (!IsValidUtf8(::cloister::AsBytes(text)))
    return InvalidArgumentError("cbor: text is not valid UTF-8");
  return Text(std::move(text));
}

Value Value::Array() { return Array(std::vector<Value>{}); }

Value Value::Map() { return Map(std::vector<MapEntry>{}); }

Value Value::Array(std::vector<Value> items) {
  Value v;
  v.type_ = Type::kArray;
  v.argument_ = 0;
  v.items_ = std::move(items);
  return v;
}

Value Value::Map(std::vector<MapEntry> entries) {
  Value v;
  v.type_ = Type::kMap;
  v.argument_ = 0;
  v.entries_ = std::move(entries);
  return v;
}

Value Value::Tag(uint64_t tag, Value content) {
  Value v;
  v.type_ = Type::kTag;
  v.argument_ = tag;
  v.items_.push_back(std::move(content));
  return v;
}

Value Value::Bool(bool value) { return Simple(value ? kSimpleTrue : kSimpleFalse); }
Value Value::Null() { return Simple(kSimpleNull); }
Value Value::Undefined() { return Simple(kSimpleUndefined); }

Value Value::Simple(uint8_t value) {
  ASSERT(value < 24 || value >= 32, "cbor: simple value ", value, " is reserved");
  Value v;
  v.type_ = Type::kSimple;
  v.argument_ = value;
  return v;
}

Value Value::Float(double value) {
  Value v;
  v.type_ = Type::kFloat;
  v.argument_ = 0;
  v.float_ = value;
  return v;
}

Error Value::TypeMismatch(std::string_view expected) const {
  return InvalidArgumentError("cbor: expected ", expected, ", found ", TypeName(type_));
}

Result<int64_t> Value::AsInt() const {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (type_ == Type::kUnsigned) {
    if (argument_ > kMax)
      return InvalidArgumentError("cbor: integer ", argument_, " exceeds int64");
    return static_cast<int64_t>(argument_);
  }
  if (type_ == Type::kNegative) {
    if (argument_ > kMax) return InvalidArgumentError("cbor: negative integer below int64 range");
    return -1 - static_cast<int64_t>(argument_);
  }
  return TypeMismatch("integer");
}

Result<uint64_t> Value::AsUint() const {
  if (type_ != Type::kUnsigned) return TypeMismatch("unsigned integer");
  return argument_;
}

Result<ByteSpan> Value::AsBytes() const {
  if (type_ != Type::kBytes) return TypeMismatch("byte string");
  return ByteSpan(data_);
}

Result<std::string_view> Value::AsText() const {
  if (type_ != Type::kText) return TypeMismatch("text string");
  return AsString(data_);
}

Result<bool> Value::AsBool() const {
  if (!IsBool()) return TypeMismatch("boolean");
  return argument_ == kSimpleTrue;
}

Result<double> Value::AsFloat() const {
  if (type_ != Type::kFloat) return TypeMismatch("float");
  return float_;
}

Result<uint8_t> Value::AsSimple() const {
  if (type_ != Type::kSimple) return TypeMismatch("simple value");
  return static_cast<uint8_t>(argument_);
}

Result<std::span<const Value>> Value::AsArray() const {
  if (type_ != Type::kArray) return TypeMismatch("array");
  return std::span<const Value>(items_);
}

Result<std::span<const MapEntry>> Value::AsMap() const {
  if (type_ != Type::kMap) return TypeMismatch("map");
  return std::span<const MapEntry>(entries_);
}

Result<uint64_t> Value::TagNumber() const {
  if (type_ != Type::kTag) return TypeMismatch("tag");
  return argument_;
}

Result<const Value*> Value::TagContent() const {
  if (type_ != Type::kTag) return TypeMismatch("tag");
  return &items_.front();
}

const Value* Value::Find(const Value& key) const {
  if (type_ != Type::kMap) return nullptr;
  for (const MapEntry& entry : entries_) {
    if (entry.key == key) return &entry.value;
  }
  return nullptr;
}

const Value* Value::Find(std::string_view text_key) const {
  if (type_ != Type::kMap) return nullptr;
  for (const MapEntry& entry : entries_) {
    if (entry.key.type_ == Type::kText && AsString(entry.key.data_) == text_key) {
      return &entry.value;
    }
  }
  return nullptr;
}

const Value* Value::Find(int64_t int_key) const { return Find(Int(int_key)); }

Result<const Value*> Value::Get(const Value& key) const {
  if (type_ != Type::kMap) return TypeMismatch("map");
  const Value* found = Find(key);
  if (found == nullptr) return NotFoundError("cbor: map has no key ", Diagnostic(key));
  return found;
}

Result<const Value*> Value::Get(std::string_view text_key) const {
  if (type_ != Type::kMap) return TypeMismatch("map");
  const Value* found = Find(text_key);
  if (found == nullptr) return NotFoundError("cbor: map has no key \"", text_key, "\"");
  return found;
}

Result<const Value*> Value::Get(int64_t int_key) const { return Get(Int(int_key)); }

Value& Value::Append(Value item) {
  ASSERT(type_ == Type::kArray, "cbor: Append on a ", TypeName(type_));
  items_.push_back(std::move(item));
  return *this;
}

Value& Value::Insert(Value key, Value value) {
  ASSERT(type_ == Type::kMap, "cbor: Insert on a ", TypeName(type_));
  entries_.push_back(MapEntry{std::move(key), std::move(value)});
  return *this;
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Type::kUnsigned:
    case Type::kNegative:
    case Type::kSimple:
      return a.argument_ == b.argument_;
    case Type::kBytes:
    case Type::kText:
      return a.data_ == b.data_;
    case Type::kArray:
      return a.items_ == b.items_;
    case Type::kMap:
      return a.entries_ == b.entries_;
    case Type::kTag:
      return a.argument_ == b.argument_ && a.items_ == b.items_;
    case Type::kFloat:
      if (std::isnan(a.float_) && std::isnan(b.float_)) return true;
      return std::bit_cast<uint64_t>(a.float_) == std::bit_cast<uint64_t>(b.float_);
  }
  return false;
}

// ---- Encoder ----

Bytes Encode(const Value& value) {
  Bytes out;
  EncodeValue(value, 0, &out);
  return out;
}

void EncodeTo(const Value& value, Bytes* out) { EncodeValue(value, 0, out); }

// ---- Decoder ----

namespace {

// The initial byte and argument of one data item.
struct Head {
  size_t offset = 0;  // of the initial byte
  uint8_t major = 0;
  uint8_t info = 0;
  uint64_t argument = 0;  // the raw bits for floats
  bool indefinite = false;
};

class Decoder {
 public:
  Decoder(ByteSpan input, const DecodeOptions& options)
      : input_(input),
        options_(options),
        max_depth_(std::min(options.max_depth, kMaxNestingDepth)) {}

  Result<Value> Item(size_t depth);
  [[nodiscard]] size_t offset() const { return offset_; }

 private:
  template <typename... Parts>
  Error Fail(size_t at, const Parts&... parts) const {
    return ParseError("cbor: at byte ", at, ": ", parts...);
  }
  [[nodiscard]] size_t remaining() const { return input_.size() - offset_; }

  Result<Head> ReadHead();
  Status CheckShortest(const Head& head) const;
  Status CountItems(size_t at, uint64_t count);
  Status CheckLength(const Head& head, uint64_t length, size_t total_so_far) const;
  Result<Value> String(const Head& head);
  Result<Value> Array(const Head& head, size_t depth);
  Result<Value> Map(const Head& head, size_t depth);
  Status CheckMapKeys(size_t at, const std::vector<MapEntry>& entries) const;
  Result<Value> SimpleOrFloat(const Head& head);
  bool AtBreak() const { return offset_ < input_.size() && input_[offset_] == kBreak; }

  ByteSpan input_;
  const DecodeOptions& options_;
  size_t max_depth_;
  size_t offset_ = 0;
  size_t items_ = 0;
};

Result<Head> Decoder::ReadHead() {
  Head head;
  head.offset = offset_;
  if (remaining() == 0) return Fail(offset_, "input ends where a data item was expected");
  const uint8_t initial = input_[offset_++];
  head.major = static_cast<uint8_t>(initial >> 5);
  head.info = static_cast<uint8_t>(initial & 0x1f);
  if (head.info < kInfoOneByte) {
    head.argument = head.info;
  } else if (head.info <= kInfoEightBytes) {
    const size_t width = size_t{1} << (head.info - kInfoOneByte);
    if (remaining() < width) {
      return Fail(head.offset, "argument needs ", width, " bytes, only ", remaining(), " remain");
    }
    for (size_t i = 0; i < width; ++i) head.argument = (head.argument << 8) | input_[offset_++];
  } else if (head.info < kInfoIndefinite) {
    return Fail(head.offset, "reserved additional information ", head.info, " in initial byte");
  } else {
    if (head.major == kMajorSimple) {
      return Fail(head.offset, "break (0xff) outside an indefinite-length item");
    }
    if (head.major < kMajorBytes || head.major == kMajorTag) {
      return Fail(head.offset, "indefinite length is not allowed for major type ", head.major);
    }
    if (!options_.allow_indefinite) {
      return Fail(head.offset, "indefinite-length item not allowed by the decode options");
    }
    if (options_.require_deterministic) {
      return Fail(head.offset, "indefinite-length item in deterministic input");
    }
    head.indefinite = true;
  }
  RETURN_IF_ERROR(CheckShortest(head));
  return head;
}

Status Decoder::CheckShortest(const Head& head) const {
  if (!options_.require_deterministic || head.major == kMajorSimple) return OkStatus();
  const uint64_t argument = head.argument;
  const bool shortest = (head.info < kInfoOneByte) ||
                        (head.info == kInfoOneByte && argument >= kInfoOneByte) ||
                        (head.info == kInfoTwoBytes && argument > 0xff) ||
                        (head.info == kInfoFourBytes && argument > 0xffff) ||
                        (head.info == kInfoEightBytes && argument > 0xffffffff);
  if (!shortest) {
    return Fail(head.offset, "argument ", argument, " not in its shortest form (deterministic)");
  }
  return OkStatus();
}

Status Decoder::CountItems(size_t at, uint64_t count) {
  if (count > options_.max_items || items_ > options_.max_items - count) {
    return Fail(at, "more than ", options_.max_items, " data items (decode limit)");
  }
  items_ += static_cast<size_t>(count);
  return OkStatus();
}

Status Decoder::CheckLength(const Head& head, uint64_t length, size_t total_so_far) const {
  if (length > options_.max_string_bytes ||
      total_so_far > options_.max_string_bytes - static_cast<size_t>(length)) {
    return Fail(head.offset, "string of ", length, " bytes exceeds the limit of ",
                options_.max_string_bytes);
  }
  if (length > remaining()) {
    return Fail(head.offset, "string claims ", length, " bytes, only ", remaining(), " remain");
  }
  return OkStatus();
}

Result<Value> Decoder::String(const Head& head) {
  const bool text = head.major == kMajorText;
  Bytes data;
  if (!head.indefinite) {
    RETURN_IF_ERROR(CheckLength(head, head.argument, 0));
    const auto length = static_cast<size_t>(head.argument);
    data.assign(input_.begin() + static_cast<std::ptrdiff_t>(offset_),
                input_.begin() + static_cast<std::ptrdiff_t>(offset_ + length));
    offset_ += length;
    if (text && !IsValidUtf8(data)) return Fail(head.offset, "text string is not valid UTF-8");
  } else {
    // Each chunk consumes at least one byte, so the loop is bounded by the input size.
    while (!AtBreak()) {
      if (remaining() == 0) return Fail(head.offset, "indefinite-length string has no break");
      ASSIGN_OR_RETURN(Head chunk, ReadHead());
      if (chunk.major != head.major || chunk.indefinite) {
        return Fail(chunk.offset, "chunk of an indefinite-length string must be a definite ",
                    text ? "text" : "byte", " string");
      }
      RETURN_IF_ERROR(CheckLength(chunk, chunk.argument, data.size()));
      ByteSpan piece = input_.subspan(offset_, static_cast<size_t>(chunk.argument));
      if (text && !IsValidUtf8(piece)) return Fail(chunk.offset, "text chunk is not valid UTF-8");
      data.insert(data.end(), piece.begin(), piece.end());
      offset_ += piece.size();
    }
    if (remaining() == 0) return Fail(head.offset, "indefinite-length string has no break");
    ++offset_;  // the break
  }
  if (text) {
    return Value::Text(std::string(AsString(data)));
  }
  return Value::ByteString(std::move(data));
}

Result<Value> Decoder::Array(const Head& head, size_t depth) {
  Value array = Value::Array();
  std::vector<Value> items;
  if (!head.indefinite) {
    // Every item takes at least one byte: refuse counts the input cannot hold before reserving.
    if (head.argument > remaining()) {
      return Fail(head.offset, "array claims ", head.argument, " items, only ", remaining(),
                  " bytes remain");
    }
    RETURN_IF_ERROR(CountItems(head.offset, head.argument));
    items.reserve(static_cast<size_t>(head.argument));
    for (uint64_t i = 0; i < head.argument; ++i) {
      ASSIGN_OR_RETURN(Value item, Item(depth + 1));
      items.push_back(std::move(item));
    }
  } else {
    while (!AtBreak()) {
      if (remaining() == 0) return Fail(head.offset, "indefinite-length array has no break");
      RETURN_IF_ERROR(CountItems(offset_, 1));
      ASSIGN_OR_RETURN(Value item, Item(depth + 1));
      items.push_back(std::move(item));
    }
    if (remaining() == 0) return Fail(head.offset, "indefinite-length array has no break");
    ++offset_;
  }
  return Value::Array(std::move(items));
}

Status Decoder::CheckMapKeys(size_t at, const std::vector<MapEntry>& entries) const {
  // Keys are compared through their deterministic encodings, which are equal exactly when the
  // keys are equal values. Deterministic input must list them in strictly increasing order.
  std::vector<Bytes> keys;
  keys.reserve(entries.size());
  for (const MapEntry& entry : entries) keys.push_back(Encode(entry.key));
  if (options_.require_deterministic) {
    for (size_t i = 1; i < keys.size(); ++i) {
      if (keys[i - 1] == keys[i])
        return Fail(at, "map has duplicate key ", Diagnostic(entries[i].key));
      if (keys[i] < keys[i - 1]) {
        return Fail(at, "map keys not in deterministic order: ", Diagnostic(entries[i].key),
                    " after ", Diagnostic(entries[i - 1].key));
      }
    }
    return OkStatus();
  }
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&keys](size_t a, size_t b) { return keys[a] < keys[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (keys[order[i - 1]] == keys[order[i]]) {
      return Fail(at, "map has duplicate key ", Diagnostic(entries[order[i]].key));
    }
  }
  return OkStatus();
}

Result<Value> Decoder::Map(const Head& head, size_t depth) {
  std::vector<MapEntry> entries;
  if (!head.indefinite) {
    if (head.argument > remaining() / 2) {
      return Fail(head.offset, "map claims ", head.argument, " entries, only ", remaining(),
                  " bytes remain");
    }
    RETURN_IF_ERROR(CountItems(head.offset, head.argument * 2));
    entries.reserve(static_cast<size_t>(head.argument));
    for (uint64_t i = 0; i < head.argument; ++i) {
      ASSIGN_OR_RETURN(Value key, Item(depth + 1));
      ASSIGN_OR_RETURN(Value value, Item(depth + 1));
      entries.push_back(MapEntry{std::move(key), std::move(value)});
    }
  } else {
    while (!AtBreak()) {
      if (remaining() == 0) return Fail(head.offset, "indefinite-length map has no break");
      RETURN_IF_ERROR(CountItems(offset_, 2));
      ASSIGN_OR_RETURN(Value key, Item(depth + 1));
      if (AtBreak()) return Fail(offset_, "indefinite-length map has a key without a value");
      ASSIGN_OR_RETURN(Value value, Item(depth + 1));
      entries.push_back(MapEntry{std::move(key), std::move(value)});
    }
    if (remaining() == 0) return Fail(head.offset, "indefinite-length map has no break");
    ++offset_;
  }
  RETURN_IF_ERROR(CheckMapKeys(head.offset, entries));
  return Value::Map(std::move(entries));
}

Result<Value> Decoder::SimpleOrFloat(const Head& head) {
  if (head.info < kInfoOneByte) return Value::Simple(static_cast<uint8_t>(head.info));
  if (head.info == kInfoOneByte) {
    if (head.argument < 32) {
      return Fail(head.offset, "two-byte simple value ", head.argument, " below 32 is invalid");
    }
    return Value::Simple(static_cast<uint8_t>(head.argument));
  }
  double value;
  int width;
  if (head.info == kInfoTwoBytes) {
    value = HalfToDouble(static_cast<uint16_t>(head.argument));
    width = 2;
  } else if (head.info == kInfoFourBytes) {
    value = static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(head.argument)));
    width = 4;
  } else {
    value = std::bit_cast<double>(head.argument);
    width = 8;
  }
  if (options_.require_deterministic) {
    if (std::isnan(value) && !(width == 2 && head.argument == 0x7e00)) {
      return Fail(head.offset, "NaN not encoded as 0xf97e00 (deterministic)");
    }
    if (ShortestFloatWidth(value) != width) {
      return Fail(head.offset, "float in ", width,
                  " bytes has a shorter exact form (deterministic)");
    }
  }
  return Value::Float(value);
}

Result<Value> Decoder::Item(size_t depth) {
  ASSIGN_OR_RETURN(Head head, ReadHead());
  switch (head.major) {
    case kMajorUnsigned:
      return Value::Unsigned(head.argument);
    case kMajorNegative:
      return Value::Negative(head.argument);
    case kMajorBytes:
    case kMajorText:
      return String(head);
    case kMajorArray:
    case kMajorMap:
    case kMajorTag:
      break;
    default:
      return SimpleOrFloat(head);
  }
  if (depth + 1 > max_depth_) {
    return Fail(head.offset, "nesting deeper than ", max_depth_, " levels (decode limit)");
  }
  if (head.major == kMajorArray) return Array(head, depth);
  if (head.major == kMajorMap) return Map(head, depth);
  RETURN_IF_ERROR(CountItems(head.offset, 1));
  ASSIGN_OR_RETURN(Value content, Item(depth + 1));
  return Value::Tag(head.argument, std::move(content));
}

}  // namespace

Result<Value> DecodePrefix(ByteSpan input, size_t* consumed, const DecodeOptions& options) {
  Decoder decoder(input, options);
  ASSIGN_OR_RETURN(Value value, decoder.Item(0));
  *consumed = decoder.offset();
  return value;
}

Result<Value> Decode(ByteSpan input, const DecodeOptions& options) {
  size_t consumed = 0;
  ASSIGN_OR_RETURN(Value value, DecodePrefix(input, &consumed, options));
  if (consumed != input.size()) {
    return ParseError("cbor: at byte ", consumed, ": ", input.size() - consumed,
                      " trailing bytes after the data item");
  }
  return value;
}

// ---- Diagnostic notation ----

namespace {

void AppendHex(uint32_t value, int digits, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
    out->push_back(kDigits[(value >> shift) & 0xf]);
}

void AppendEscapedText(ByteSpan utf8, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < utf8.size()) {
    const uint8_t lead = utf8[i];
    if (lead < 0x80) {
      if (lead == '"' || lead == '\\') {
        out->push_back('\\');
        out->push_back(static_cast<char>(lead));
      } else if (lead < 0x20 || lead == 0x7f) {
        out->append("\\u");
        AppendHex(lead, 4, out);
      } else {
        out->push_back(static_cast<char>(lead));
      }
      ++i;
      continue;
    }
    // The text is valid UTF-8 (a Value invariant); decode one code point.
    const size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    uint32_t code_point = lead & (length == 2 ? 0x1fu : length == 3 ? 0x0fu : 0x07u);
    for (size_t k = 1; k < length && i + k < utf8.size(); ++k) {
      code_point = (code_point << 6) | (utf8[i + k] & 0x3fu);
    }
    if (code_point >= 0x10000) {
      const uint32_t offset = code_point - 0x10000;
      out->append("\\u");
      AppendHex(0xd800 + (offset >> 10), 4, out);
      out->append("\\u");
      AppendHex(0xdc00 + (offset & 0x3ff), 4, out);
    } else {
      out->append("\\u");
      AppendHex(code_point, 4, out);
    }
    i += length;
  }
  out->push_back('"');
}

// Shortest round-trip decimal, laid out as ECMAScript Number.prototype.toString does (fixed
// notation for decimal exponents -7 < e < 21, else d.ddde+x), always with a fraction part.
std::string FormatFloat(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0.0) return std::signbit(value) ? "-0.0" : "0.0";
  char buffer[64];
  const auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), std::fabs(value),
                                          std::chars_format::scientific);
  ASSERT(error == std::errc(), "cbor: to_chars failed");
  const std::string scientific(buffer, end);  // "d.ddde+XX" or "de-XX"
  const size_t e_at = scientific.find('e');
  std::string digits = scientific.substr(0, e_at);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::stoi(scientific.substr(e_at + 1));
  std::string out = std::signbit(value) ? "-" : "";
  if (exponent >= 21 || exponent <= -7) {
    out += digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0");
    out += exponent > 0 ? "e+" : "e-";
    out += std::to_string(std::abs(exponent));
  } else if (exponent < 0) {
    out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else {
    const auto integer_digits = static_cast<size_t>(exponent + 1);
    if (digits.size() <= integer_digits) {
      out += digits + std::string(integer_digits - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, integer_digits) + "." + digits.substr(integer_digits);
    }
  }
  return out;
}

void AppendDiagnostic(const Value& value, size_t depth, std::string* out) {
  ASSERT(depth <= kMaxNestingDepth, "cbor: value nested deeper than ", kMaxNestingDepth);
  switch (value.type()) {
    case Type::kUnsigned:
      out->append(std::to_string(value.argument()));
      return;
    case Type::kNegative:
      if (value.argument() == std::numeric_limits<uint64_t>::max()) {
        out->append("-18446744073709551616");
      } else {
        out->append("-" + std::to_string(value.argument() + 1));
      }
      return;
    case Type::kBytes:
      out->append("h'" + ToHex(value.data()) + "'");
      return;
    case Type::kText:
      AppendEscapedText(value.data(), out);
      return;
    case Type::kArray:
      out->push_back('[');
      for (size_t i = 0; i < value.items().size(); ++i) {
        if (i > 0) out->append(", ");
        AppendDiagnostic(value.items()[i], depth + 1, out);
      }
      out->push_back(']');
      return;
    case Type::kMap:
      out->push_back('{');
      for (size_t i = 0; i < value.entries().size(); ++i) {
        if (i > 0) out->append(", ");
        AppendDiagnostic(value.entries()[i].key, depth + 1, out);
        out->append(": ");
        AppendDiagnostic(value.entries()[i].value, depth + 1, out);
      }
      out->push_back('}');
      return;
    case Type::kTag:
      out->append(std::to_string(value.argument()) + "(");
      AppendDiagnostic(value.items().front(), depth + 1, out);
      out->push_back(')');
      return;
    case Type::kSimple:
      switch (value.argument()) {
        case kSimpleFalse:
          out->append("false");
          return;
        case kSimpleTrue:
          out->append("true");
          return;
        case kSimpleNull:
          out->append("null");
          return;
        case kSimpleUndefined:
          out->append("undefined");
          return;
        default:
          out->append("simple(" + std::to_string(value.argument()) + ")");
          return;
      }
    case Type::kFloat:
      out->append(FormatFloat(value.float_value()));
      return;
  }
}

}  // namespace

std::string Diagnostic(const Value& value) {
  std::string out;
  AppendDiagnostic(value, 0, &out);
  return out;
}

}  // namespace cloister::crypto::cbor
