// CBOR (RFC 8949): a value type, a deterministic encoder and a strict, bounded decoder.
//
// CBOR is Cloister's one binary encoding (node-to-node messages, ledger entries, COSE_Sign1), so
// the same value must always give the same bytes and hostile bytes must never hurt the reader.
//
// Invariants:
//  1. Encode() produces RFC 8949 §4.2.1 core deterministic encoding: every argument in its
//     shortest form, definite lengths only, map keys sorted bytewise-lexicographically by their
//     encodings, floats in the shortest of half/single/double that preserves the value (every NaN
//     is written as the half-precision quiet NaN 0xf97e00). Integral floats stay floats.
//  2. Decode() never reads past its input, never allocates for a length the remaining input
//     cannot hold, and never nests deeper than DecodeOptions::max_depth (itself capped by
//     kMaxNestingDepth), so its recursion and memory are bounded by the input size and options.
//  3. Decode() rejects what is not well-formed (truncation, reserved additional information
//     28-30, a break outside an indefinite-length item, two-byte simple values below 32, invalid
//     UTF-8 in text, indefinite-length string chunks of the wrong type), duplicate map keys
//     (compared as values), and trailing bytes (unless DecodePrefix is used). Indefinite lengths
//     are accepted only with DecodeOptions::allow_indefinite; DecodeOptions::require_deterministic
//     additionally rejects anything Encode() would not have produced.
//  4. Decoded values are normalised: indefinite-length strings become one string, and how an
//     argument or float was sized is forgotten, so Encode(Decode(b)) is the deterministic form.
//
// Errors from decoding are kParse with the byte offset of the offending item. Values are plain
// data: copying is deep, and a Value is safe to share read-only between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::crypto::cbor {

// The hard limit on nesting for decoding and encoding (arrays, maps and tags each add a level).
inline constexpr size_t kMaxNestingDepth = 512;

enum class Type {
  kUnsigned,  // major type 0: 0 .. 2^64-1
  kNegative,  // major type 1: -1 .. -2^64 (stored as the argument n, meaning -1 - n)
  kBytes,     // major type 2
  kText,      // major type 3, valid UTF-8
  kArray,     // major type 4
  kMap,       // major type 5, entries in the order given or decoded
  kTag,       // major type 6: a tag number and one enclosed value
  kSimple,    // major type 7 simple values: false (20), true (21), null (22), undefined (23), ...
  kFloat,     // major type 7 floats, held as a double
};

std::string_view TypeName(Type type);

inline constexpr uint8_t kSimpleFalse = 20;
inline constexpr uint8_t kSimpleTrue = 21;
inline constexpr uint8_t kSimpleNull = 22;
inline constexpr uint8_t kSimpleUndefined = 23;

struct MapEntry;

class Value {
 public:
  // The default Value is null.
  Value() = default;

  // Integers. Int() picks unsigned or negative by sign. Negative(n) is the value -1 - n, which
  // reaches -2^64 with n = 2^64 - 1.
  static Value Unsigned(uint64_t value);
  static Value Negative(uint64_t argument);
  static Value Int(int64_t value);
  static Value ByteString(ByteSpan bytes);
  static Value ByteString(Bytes bytes);
  // `text` must be valid UTF-8 (checked with ASSERT: build text from outside with TextChecked).
  static Value Text(std::string text);
  static Result<Value> TextChecked(std::string text);
  static Value Array();
  static Value Array(std::vector<Value> items);
  static Value Map();
  static Value Map(std::vector<MapEntry> entries);
  static Value Tag(uint64_t tag, Value content);
  static Value Bool(bool value);
  static Value Null();
  static Value Undefined();
  // Simple values 0..19 and 32..255 (20..23 are false/true/null/undefined; 24..31 are reserved
  // and ASSERT).
  static Value Simple(uint8_t value);
  static Value Float(double value);

  [[nodiscard]] Type type() const { return type_; }
  [[nodiscard]] bool IsInt() const { return type_ == Type::kUnsigned || type_ == Type::kNegative; }
  [[nodiscard]] bool IsNull() const { return IsSimpleValue(kSimpleNull); }
  [[nodiscard]] bool IsUndefined() const { return IsSimpleValue(kSimpleUndefined); }
  [[nodiscard]] bool IsBool() const {
    return IsSimpleValue(kSimpleFalse) || IsSimpleValue(kSimpleTrue);
  }

  // Typed accessors: a kInvalidArgument error naming the expected and actual types on mismatch.
  // Views and pointers are valid while this Value lives and is not modified.
  [[nodiscard]] Result<int64_t> AsInt() const;  // also fails when out of int64 range
  [[nodiscard]] Result<uint64_t> AsUint() const;
  [[nodiscard]] Result<ByteSpan> AsBytes() const;
  [[nodiscard]] Result<std::string_view> AsText() const;
  [[nodiscard]] Result<bool> AsBool() const;
  [[nodiscard]] Result<double> AsFloat() const;
  [[nodiscard]] Result<uint8_t> AsSimple() const;
  [[nodiscard]] Result<std::span<const Value>> AsArray() const;
  [[nodiscard]] Result<std::span<const MapEntry>> AsMap() const;
  [[nodiscard]] Result<uint64_t> TagNumber() const;
  [[nodiscard]] Result<const Value*> TagContent() const;

  // Raw fields, for code that switched on type(): the argument of kUnsigned/kNegative/kTag/
  // kSimple, the bytes of kBytes/kText, the items of kArray (or the one content of kTag), the
  // entries of kMap, the double of kFloat.
  [[nodiscard]] uint64_t argument() const { return argument_; }
  [[nodiscard]] const Bytes& data() const { return data_; }
  [[nodiscard]] const std::vector<Value>& items() const { return items_; }
  [[nodiscard]] const std::vector<MapEntry>& entries() const { return entries_; }
  [[nodiscard]] double float_value() const { return float_; }

  // Map lookup by key value (first match). Find returns nullptr when absent; Get returns a
  // kNotFound error naming the key; both fail/return nullptr on a non-map.
  [[nodiscard]] const Value* Find(const Value& key) const;
  [[nodiscard]] const Value* Find(std::string_view text_key) const;
  [[nodiscard]] const Value* Find(int64_t int_key) const;
  [[nodiscard]] Result<const Value*> Get(const Value& key) const;
  [[nodiscard]] Result<const Value*> Get(std::string_view text_key) const;
  [[nodiscard]] Result<const Value*> Get(int64_t int_key) const;

  // Builders for arrays and maps (ASSERT on other types). Insert appends without checking for
  // duplicates; Encode() refuses maps with duplicate keys by ASSERT, so check with Find first
  // when the keys come from outside.
  Value& Append(Value item);
  Value& Insert(Value key, Value value);

  // Structural equality: same type and content; map entries compared in order; floats compare
  // by bit pattern except that all NaNs are equal (the encoder writes one NaN).
  friend bool operator==(const Value& a, const Value& b);

 private:
  [[nodiscard]] bool IsSimpleValue(uint8_t simple) const {
    return type_ == Type::kSimple && argument_ == simple;
  }
  [[nodiscard]] Error TypeMismatch(std::string_view expected) const;

  Type type_ = Type::kSimple;
  uint64_t argument_ = kSimpleNull;
  double float_ = 0.0;
  Bytes data_;
  std::vector<Value> items_;
  std::vector<MapEntry> entries_;
};

struct MapEntry {
  Value key;
  Value value;
  friend bool operator==(const MapEntry&, const MapEntry&) = default;
};

struct DecodeOptions {
  // Arrays, maps and tags nest at most this deep (clamped to kMaxNestingDepth).
  size_t max_depth = 64;
  // Total data items in one document (every array element, map key and value counts).
  size_t max_items = 1'000'000;
  // Longest byte or text string, in bytes (after joining indefinite-length chunks).
  size_t max_string_bytes = 64 * 1024 * 1024;
  // Accept indefinite-length strings, arrays and maps (RFC 8949 §3.2.2, §3.2.3).
  bool allow_indefinite = false;
  // Reject anything that is not RFC 8949 §4.2.1 core deterministic encoding (non-shortest
  // arguments or floats, non-canonical NaN, unsorted map keys, indefinite lengths).
  bool require_deterministic = false;
};

// Options for input that must be exactly what Encode() produces (ledger entries, signed data).
inline DecodeOptions DeterministicOptions() {
  DecodeOptions options;
  options.require_deterministic = true;
  return options;
}

// Decodes exactly one data item that spans all of `input`.
Result<Value> Decode(ByteSpan input, const DecodeOptions& options = {});

// Decodes one data item at the start of `input`; *consumed receives its length in bytes.
Result<Value> DecodePrefix(ByteSpan input, size_t* consumed, const DecodeOptions& options = {});

// Deterministic encoding (invariant 1). Requires nesting depth <= kMaxNestingDepth and no
// duplicate keys in any map (ASSERT: these are properties of values our own code builds, and
// every decoded value has them).
Bytes Encode(const Value& value);
void EncodeTo(const Value& value, Bytes* out);

// RFC 8949 §8 diagnostic notation, as RFC 8949 Appendix A prints it: integers in decimal, h'..'
// for bytes, JSON-escaped text (non-ASCII as \uXXXX), [..], {k: v, ..}, tag(content),
// false/true/null/undefined/simple(n), floats as shortest round-trip decimals with a ".0" when
// integral, Infinity/-Infinity/NaN.
std::string Diagnostic(const Value& value);

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points
// above U+10FFFF).
bool IsValidUtf8(ByteSpan text);

}  // namespace cloister::crypto::cbor
