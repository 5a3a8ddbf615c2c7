// Proves the CBOR codec against RFC 8949 Appendix A, round-trips generated values, and shows that
// every strictness rule and resource limit of the decoder rejects what it should, with the byte
// offset in the message.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <ostream>
#include <string>

#include "cloister/base/rng.h"
#include "cloister/crypto/cbor.h"

namespace cloister::crypto::cbor {

// Lets GoogleTest print values in diagnostic notation.
void PrintTo(const Value& value, std::ostream* out) { *out << Diagnostic(value); }

namespace {

Bytes Hex(std::string_view hex) {
  Result<Bytes> bytes = FromHex(hex);
  EXPECT_TRUE(bytes.ok()) << hex;
  return bytes.value_or(Bytes{});
}

DecodeOptions Lenient() {
  DecodeOptions options;
  options.allow_indefinite = true;
  return options;
}

// One RFC 8949 Appendix A row: the diagnostic notation our decoder prints for it (the RFC's own,
// except that bignums show as their tag 2/3 and indefinite-length items as their joined definite
// form, because the decoder does not interpret tags and normalises lengths), its encoding, and
// whether that encoding is the deterministic one.
struct AppendixExample {
  const char* diagnostic;
  const char* hex;
  bool deterministic;
};

const AppendixExample kAppendixA[] = {
    {"0", "00", true},
    {"1", "01", true},
    {"10", "0a", true},
    {"23", "17", true},
    {"24", "1818", true},
    {"25", "1819", true},
    {"100", "1864", true},
    {"1000", "1903e8", true},
    {"1000000", "1a000f4240", true},
    {"1000000000000", "1b000000e8d4a51000", true},
    {"18446744073709551615", "1bffffffffffffffff", true},
    {"2(h'010000000000000000')", "c249010000000000000000", true},
    {"-18446744073709551616", "3bffffffffffffffff", true},
    {"3(h'010000000000000000')", "c349010000000000000000", true},
    {"-1", "20", true},
    {"-10", "29", true},
    {"-100", "3863", true},
    {"-1000", "3903e7", true},
    {"0.0", "f90000", true},
    {"-0.0", "f98000", true},
    {"1.0", "f93c00", true},
    {"1.1", "fb3ff199999999999a", true},
    {"1.5", "f93e00", true},
    {"65504.0", "f97bff", true},
    {"100000.0", "fa47c35000", true},
    {"3.4028234663852886e+38", "fa7f7fffff", true},
    {"1.0e+300", "fb7e37e43c8800759c", true},
    {"5.960464477539063e-8", "f90001", true},
    {"0.00006103515625", "f90400", true},
    {"-4.0", "f9c400", true},
    {"-4.1", "fbc010666666666666", true},
    {"Infinity", "f97c00", true},
    {"NaN", "f97e00", true},
    {"-Infinity", "f9fc00", true},
    {"Infinity", "fa7f800000", false},
    {"NaN", "fa7fc00000", false},
    {"-Infinity", "faff800000", false},
    {"Infinity", "fb7ff0000000000000", false},
    {"NaN", "fb7ff8000000000000", false},
    {"-Infinity", "fbfff0000000000000", false},
    {"false", "f4", true},
    {"true", "f5", true},
    {"null", "f6", true},
    {"undefined", "f7", true},
    {"simple(16)", "f0", true},
    {"simple(255)", "f8ff", true},
    {"0(\"2013-03-21T20:04:00Z\")", "c074323031332d30332d32315432303a30343a30305a", true},
    {"1(1363896240)", "c11a514b67b0", true},
    {"1(1363896240.5)", "c1fb41d452d9ec200000", true},
    {"23(h'01020304')", "d74401020304", true},
    {"24(h'6449455446')", "d818456449455446", true},
    {"32(\"http://www.example.com\")", "d82076687474703a2f2f7777772e6578616d706c652e636f6d", true},
    {"h''", "40", true},
    {"h'01020304'", "4401020304", true},
    {"\"\"", "60", true},
    {"\"a\"", "6161", true},
    {"\"IETF\"", "6449455446", true},
    {"\"\\\"\\\\\"", "62225c", true},
    {"\"\\u00fc\"", "62c3bc", true},
    {"\"\\u6c34\"", "63e6b0b4", true},
    {"\"\\ud800\\udd51\"", "64f0908591", true},
    {"[]", "80", true},
    {"[1, 2, 3]", "83010203", true},
    {"[1, [2, 3], [4, 5]]", "8301820203820405", true},
    {"[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]",
     "98190102030405060708090a0b0c0d0e0f101112131415161718181819", true},
    {"{}", "a0", true},
    {"{1: 2, 3: 4}", "a201020304", true},
    {"{\"a\": 1, \"b\": [2, 3]}", "a26161016162820203", true},
    {"[\"a\", {\"b\": \"c\"}]", "826161a161626163", true},
    {"{\"a\": \"A\", \"b\": \"B\", \"c\": \"C\", \"d\": \"D\", \"e\": \"E\"}",
     "a56161614161626142616361436164614461656145", true},
    // Indefinite-length items: (_ h'0102', h'030405'), (_ "strea", "ming"), [_ ], ...
    {"h'0102030405'", "5f42010243030405ff", false},
    {"\"streaming\"", "7f657374726561646d696e67ff", false},
    {"[]", "9fff", false},
    {"[1, [2, 3], [4, 5]]", "9f018202039f0405ffff", false},
    {"[1, [2, 3], [4, 5]]", "9f01820203820405ff", false},
    {"[1, [2, 3], [4, 5]]", "83018202039f0405ff", false},
    {"[1, [2, 3], [4, 5]]", "83019f0203ff820405", false},
    {"[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]",
     "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", false},
    {"{\"a\": 1, \"b\": [2, 3]}", "bf61610161629f0203ffff", false},
    {"[\"a\", {\"b\": \"c\"}]", "826161bf61626163ff", false},
    {"{\"Fun\": true, \"Amt\": -2}", "bf6346756ef563416d7421ff", false},
};

// Every Appendix A example decodes to the RFC's value; deterministic ones re-encode to the same
// bytes and pass the deterministic decoder, the others are refused by it.
TEST(CborAppendixA, DecodeEncodeAndDiagnostic) {
  for (const AppendixExample& example : kAppendixA) {
    SCOPED_TRACE(example.hex);
    const Bytes encoded = Hex(example.hex);
    Result<Value> value = Decode(encoded, Lenient());
    ASSERT_TRUE(value.ok()) << value.error().ToString();
    EXPECT_EQ(Diagnostic(*value), example.diagnostic);
    Result<Value> strict = Decode(encoded, DeterministicOptions());
    EXPECT_EQ(strict.ok(), example.deterministic);
    if (example.deterministic) {
      EXPECT_EQ(ToHex(Encode(*value)), example.hex);
    } else {
      // The re-encoding is deterministic and decodes to the same value.
      Result<Value> again = Decode(Encode(*value), DeterministicOptions());
      ASSERT_TRUE(again.ok()) << again.error().ToString();
      EXPECT_EQ(Encode(*again), Encode(*value));
      EXPECT_EQ(Diagnostic(*again).size(), Diagnostic(*value).size());
    }
  }
}

// The indefinite-length examples are refused unless the caller allows indefinite lengths.
TEST(CborAppendixA, IndefiniteNeedsPermission) {
  for (const char* hex : {"5f42010243030405ff", "7f657374726561646d696e67ff", "9fff",
                          "83019f0203ff820405", "826161bf61626163ff"}) {
    Result<Value> value = Decode(Hex(hex));
    ASSERT_FALSE(value.ok()) << hex;
    EXPECT_NE(value.error().message.find("indefinite"), std::string::npos);
  }
}

// Builders produce the Appendix A encodings, including the full negative range and text.
TEST(CborEncode, BuildersMatchAppendixA) {
  EXPECT_EQ(ToHex(Encode(Value::Negative(std::numeric_limits<uint64_t>::max()))),
            "3bffffffffffffffff");
  EXPECT_EQ(ToHex(Encode(Value::Int(-1000))), "3903e7");
  EXPECT_EQ(ToHex(Encode(Value::Int(std::numeric_limits<int64_t>::min()))), "3b7fffffffffffffff");
  EXPECT_EQ(ToHex(Encode(Value::Text("\xc3\xbc"))), "62c3bc");
  Value map = Value::Map();
  map.Insert(Value::Text("b"), Value::Array({Value::Int(2), Value::Int(3)}));
  map.Insert(Value::Text("a"), Value::Int(1));
  EXPECT_EQ(ToHex(Encode(map)), "a26161016162820203");
  EXPECT_EQ(ToHex(Encode(Value::Float(std::nan("")))), "f97e00");
  EXPECT_EQ(ToHex(Encode(Value::Float(-std::numeric_limits<double>::infinity()))), "f9fc00");
}

// Map keys sort bytewise by encoding (RFC 8949 §4.2.1), not length-first (RFC 7049 §3.9):
// 100 (0x1864) sorts before -1 (0x20), and "" (0x60) before [0] (0x8100).
TEST(CborEncode, MapKeysSortBytewise) {
  Value map = Value::Map();
  map.Insert(Value::Int(-1), Value::Int(0));
  map.Insert(Value::Array({Value::Int(0)}), Value::Int(1));
  map.Insert(Value::Text(""), Value::Int(2));
  map.Insert(Value::Int(100), Value::Int(3));
  EXPECT_EQ(ToHex(Encode(map)), "a418640320006002810001");
}

// Floats take the shortest exact width: half subnormals, single, and double when needed.
TEST(CborEncode, ShortestFloats) {
  EXPECT_EQ(ToHex(Encode(Value::Float(std::ldexp(1.0, -24)))), "f90001");
  EXPECT_EQ(ToHex(Encode(Value::Float(std::ldexp(3.0, -25)))), "fa33c00000");  // not a half
  EXPECT_EQ(ToHex(Encode(Value::Float(65504.0))), "f97bff");
  EXPECT_EQ(ToHex(Encode(Value::Float(65505.0))), "fa477fe100");
  EXPECT_EQ(ToHex(Encode(Value::Float(std::ldexp(1.0, -149)))), "fa00000001");
  EXPECT_EQ(ToHex(Encode(Value::Float(0.1))), "fb3fb999999999999a");
  EXPECT_EQ(ToHex(Encode(Value::Float(1e39))), "fb48078287f49c4a1d");
}

// Typed accessors return values or errors that name both types; Get names a missing key.
TEST(CborValue, AccessorsAndLookup) {
  Result<Value> value = Decode(Hex("a3616101616282020361631bffffffffffffffff"));
  ASSERT_TRUE(value.ok()) << value.error().ToString();
  ASSERT_TRUE(value->Get("a").ok());
  EXPECT_EQ(*(*value->Get("a"))->AsInt(), 1);
  Result<std::span<const Value>> array = (*value->Get("b"))->AsArray();
  ASSERT_TRUE(array.ok());
  EXPECT_EQ(array->size(), 2u);
  EXPECT_FALSE((*value->Get("c"))->AsInt().ok());
  EXPECT_EQ(*(*value->Get("c"))->AsUint(), std::numeric_limits<uint64_t>::max());
  Result<const Value*> missing = value->Get("zz");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("zz"), std::string::npos);
  Result<ByteSpan> not_bytes = (*value->Get("a"))->AsBytes();
  ASSERT_FALSE(not_bytes.ok());
  EXPECT_NE(not_bytes.error().message.find("expected byte string, found unsigned integer"),
            std::string::npos);
  EXPECT_FALSE(Value::Negative(uint64_t{1} << 63).AsInt().ok());
  EXPECT_EQ(*Value::Negative((uint64_t{1} << 63) - 1).AsInt(), std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(Value::TextChecked("\xff").ok());
  EXPECT_TRUE(*Value::Bool(true).AsBool());
  EXPECT_TRUE(Value().IsNull());
}

// ---- Round trips over generated values ----

class ValueGenerator {
 public:
  explicit ValueGenerator(uint64_t seed) : rng_(seed) {}

  Value Generate(int depth) {
    const uint64_t kind = rng_.Uniform(depth > 0 ? 12 : 8);
    switch (kind) {
      case 0:
        return Value::Unsigned(Integer());
      case 1:
        return Value::Negative(Integer());
      case 2: {
        Bytes bytes(rng_.Uniform(40));
        rng_.Fill(bytes);
        return Value::ByteString(std::move(bytes));
      }
      case 3:
        return Value::Text(Text());
      case 4:
        return Value::Float(Float());
      case 5:
        return Simple();
      case 6:
        return Value::Int(static_cast<int64_t>(rng_.Uniform(50)) - 25);
      case 7:
        return Value::Text(std::string(rng_.Uniform(4), 'k'));
      case 8:
      case 9: {
        Value array = Value::Array();
        const uint64_t count = rng_.Uniform(6);
        for (uint64_t i = 0; i < count; ++i) array.Append(Generate(depth - 1));
        return array;
      }
      case 10: {
        Value map = Value::Map();
        const uint64_t count = rng_.Uniform(6);
        for (uint64_t i = 0; i < count; ++i) {
          Value key = Generate(depth - 1);
          // Keys are distinct when their encodings are (maps as keys may differ only in order).
          const Bytes key_encoding = Encode(key);
          bool duplicate = false;
          for (const MapEntry& entry : map.entries())
            duplicate |= Encode(entry.key) == key_encoding;
          if (!duplicate) map.Insert(std::move(key), Generate(depth - 1));
        }
        return map;
      }
      default:
        return Value::Tag(Integer(), Generate(depth - 1));
    }
  }

 private:
  // Integers spread over every argument width.
  uint64_t Integer() {
    const uint64_t width_bits = rng_.Uniform(65);
    if (width_bits == 0) return 0;
    const uint64_t value = rng_.Next();
    return width_bits == 64 ? value : value & ((uint64_t{1} << width_bits) - 1);
  }

  std::string Text() {
    static const char* const kPieces[] = {
        "a", "Z", "\"", "\\", "\n", "\xc3\xbc", "\xe6\xb0\xb4", "\xf0\x90\x85\x91", "\x7f", " "};
    std::string text;
    const uint64_t count = rng_.Uniform(12);
    for (uint64_t i = 0; i < count; ++i) text += kPieces[rng_.Uniform(std::size(kPieces))];
    return text;
  }

  double Float() {
    switch (rng_.Uniform(6)) {
      case 0:
        return std::bit_cast<double>(rng_.Next());  // any double, NaNs included
      case 1:
        return static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(rng_.Next())));
      case 2:
        return std::ldexp(static_cast<double>(rng_.Uniform(2048)) - 1024.0,
                          static_cast<int>(rng_.Uniform(50)) - 35);  // halves, subnormals too
      case 3:
        return -0.0;
      case 4:
        return std::numeric_limits<double>::infinity();
      default:
        return static_cast<double>(rng_.Uniform(1000)) / 8.0;
    }
  }

  Value Simple() {
    const auto simple = static_cast<uint8_t>(rng_.Uniform(256));
    if (simple >= 24 && simple < 32) return Value::Null();
    return Value::Simple(simple);
  }

  DeterministicRng rng_;
};

// For 2,000 generated values: the encoding passes the deterministic decoder, decoding and
// re-encoding reproduces the same bytes, and the decoded value equals the original once its maps
// are in encoding order.
TEST(CborRoundTrip, GeneratedValues) {
  ValueGenerator generator(20261125);
  for (int i = 0; i < 2000; ++i) {
    const Value value = generator.Generate(4);
    const Bytes encoded = Encode(value);
    Result<Value> decoded = Decode(encoded, DeterministicOptions());
    ASSERT_TRUE(decoded.ok()) << Diagnostic(value) << ": " << decoded.error().ToString();
    EXPECT_EQ(Encode(*decoded), encoded) << Diagnostic(value);
    EXPECT_EQ(Diagnostic(*decoded).size(), Diagnostic(value).size()) << Diagnostic(value);
    Result<Value> again = Decode(Encode(*decoded), DeterministicOptions());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *decoded);
    // A prefix decode of the value followed by junk stops exactly at the value's end.
    Bytes with_tail = encoded;
    with_tail.push_back(0x00);
    size_t consumed = 0;
    ASSERT_TRUE(DecodePrefix(with_tail, &consumed).ok());
    EXPECT_EQ(consumed, encoded.size());
  }
}

// Every truncation of a generated value's encoding is rejected, never read out of bounds.
TEST(CborRoundTrip, EveryTruncationIsRejected) {
  ValueGenerator generator(7);
  for (int i = 0; i < 200; ++i) {
    const Bytes encoded = Encode(generator.Generate(3));
    for (size_t length = 0; length < encoded.size(); ++length) {
      Result<Value> value = Decode(ByteSpan(encoded).first(length), Lenient());
      EXPECT_FALSE(value.ok()) << ToHex(encoded) << " cut at " << length;
    }
  }
}

// ---- Strictness ----

struct Rejection {
  const char* hex;
  const char* message_part;
};

void ExpectRejected(const Rejection& rejection, const DecodeOptions& options) {
  std::string hex = rejection.hex;
  hex.erase(std::remove(hex.begin(), hex.end(), ' '), hex.end());
  Result<Value> value = Decode(Hex(hex), options);
  ASSERT_FALSE(value.ok()) << rejection.hex << " decoded as " << Diagnostic(*value);
  EXPECT_EQ(value.error().code, ErrorCode::kParse);
  EXPECT_NE(value.error().message.find(rejection.message_part), std::string::npos)
      << rejection.hex << ": " << value.error().message;
}

// Input that is not well-formed is rejected under any options, with what and where.
TEST(CborStrict, NotWellFormedIsRejected) {
  const Rejection kCases[] = {
      {"0100", "at byte 1: 1 trailing bytes"},
      {"1c", "reserved additional information 28"},
      {"3d", "reserved additional information 29"},
      {"5e", "reserved additional information 30"},
      {"fc", "reserved additional information 28"},
      {"8201fe", "at byte 2: reserved additional information 30"},
      {"ff", "break (0xff) outside"},
      {"8101ff", "trailing"},
      {"1f", "indefinite length is not allowed for major type 0"},
      {"3f", "indefinite length is not allowed for major type 1"},
      {"df00", "indefinite length is not allowed for major type 6"},
      {"5f6161ff", "must be a definite byte string"},
      {"7f4161ff", "must be a definite text string"},
      {"5f5f4100ffff", "must be a definite byte string"},
      {"62c328", "not valid UTF-8"},
      {"62c0af", "not valid UTF-8"},      // overlong
      {"63eda080", "not valid UTF-8"},    // surrogate
      {"64f4908080", "not valid UTF-8"},  // above U+10FFFF
      {"61ff", "not valid UTF-8"},
      {"7f61c361bcff", "text chunk is not valid UTF-8"},  // a character split across chunks
      {"a2010101 02", "duplicate key 1"},
      {"a201011801 02", "duplicate key 1"},  // the same key, once not in shortest form
      {"a2f97e0001fa7fc0000002", "duplicate key NaN"},
      {"a2616101616102", "duplicate key \"a\""},
      {"bf0101 0102ff", "duplicate key 1"},
      {"f818", "two-byte simple value 24 below 32"},
      {"f800", "two-byte simple value 0 below 32"},
      {"18", "argument needs 1 bytes, only 0 remain"},
      {"1b0000", "argument needs 8 bytes"},
      {"4201", "string claims 2 bytes, only 1 remain"},
      {"8201", "at byte 0: array claims 2 items, only 1 bytes remain"},
      {"a101", "map claims 1 entries, only 1 bytes remain"},
      {"8242 0000", "at byte 4: input ends where a data item was expected"},
      {"9f01", "no break"},
      {"5f4100", "no break"},
      {"bf01ff", "key without a value"},
      {"", "input ends where a data item was expected"},
  };
  for (const Rejection& rejection : kCases) ExpectRejected(rejection, Lenient());
}

// The deterministic decoder refuses every form Encode() would not produce; the default decoder
// accepts those that are well-formed.
TEST(CborStrict, NonDeterministicRejectedOnlyWhenAsked) {
  const Rejection kCases[] = {
      {"1817", "argument 23 not in its shortest form"},
      {"190017", "not in its shortest form"},
      {"1a000000ff", "not in its shortest form"},
      {"1b00000000ffffffff", "not in its shortest form"},
      {"3800", "not in its shortest form"},
      {"5801ff", "not in its shortest form"},
      {"9800", "not in its shortest form"},
      {"d80100", "not in its shortest form"},
      {"a2020001 00", "not in deterministic order"},
      {"a2200018 6400", "not in deterministic order"},  // length-first order is not ours
      {"fa3f800000", "shorter exact form"},
      {"fb3ff0000000000000", "shorter exact form"},
      {"fb3ff8000000000000", "shorter exact form"},
      {"f97e01", "NaN not encoded as 0xf97e00"},
      {"f9fe00", "NaN not encoded as 0xf97e00"},
  };
  for (const Rejection& rejection : kCases) {
    std::string hex = rejection.hex;
    hex.erase(std::remove(hex.begin(), hex.end(), ' '), hex.end());
    ExpectRejected(rejection, DeterministicOptions());
    EXPECT_TRUE(Decode(Hex(hex)).ok()) << hex;
  }
  DecodeOptions both = DeterministicOptions();
  both.allow_indefinite = true;
  ExpectRejected({"9fff", "indefinite-length item in deterministic input"}, both);
}

// A prefix decode reports how much it consumed and leaves the rest to the caller.
TEST(CborStrict, PrefixDecode) {
  const Bytes input = Hex("8201020304");
  size_t consumed = 0;
  Result<Value> value = DecodePrefix(input, &consumed);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(consumed, 3u);
  EXPECT_EQ(Diagnostic(*value), "[1, 2]");
}

// ---- Resource bombs ----

// Lengths that the input cannot hold are refused before any allocation.
TEST(CborLimits, HugeClaimedLengths) {
  const Rejection kCases[] = {
      {"5b7fffffffffffffff", "exceeds the limit"},  // a 2^63-byte string
      {"7b00000000000fffff", "string claims 1048575 bytes, only 0 remain"},
      {"9bffffffffffffffff00", "array claims 18446744073709551615 items, only 1 bytes remain"},
      {"bb7fffffffffffffff0000", "map claims 9223372036854775807 entries"},
      {"9a000186a0", "array claims 100000 items, only 0 bytes remain"},
  };
  for (const Rejection& rejection : kCases) ExpectRejected(rejection, Lenient());
  DecodeOptions unlimited = Lenient();
  unlimited.max_string_bytes = std::numeric_limits<size_t>::max();
  ExpectRejected({"5b7fffffffffffffff", "string claims 9223372036854775807 bytes, only 0 remain"},
                 unlimited);
}

// 100,000 nested arrays, tags or indefinite arrays stop at the depth limit, even when the caller
// asks for an absurd depth (clamped to kMaxNestingDepth).
TEST(CborLimits, DeepNesting) {
  for (uint8_t opener : {uint8_t{0x81}, uint8_t{0xc1}, uint8_t{0x9f}, uint8_t{0xa1}}) {
    Bytes bomb(100000, opener);
    bomb.push_back(0x00);
    ExpectRejected({ToHex(bomb).c_str(), "nesting deeper than 64 levels"}, Lenient());
    DecodeOptions deep = Lenient();
    deep.max_depth = 1'000'000'000;
    ExpectRejected({ToHex(bomb).c_str(), "nesting deeper than 512 levels"}, deep);
  }
  Bytes ok_depth(64, 0x81);
  ok_depth.push_back(0x00);
  EXPECT_TRUE(Decode(ok_depth).ok());
  ok_depth.insert(ok_depth.begin(), 0x81);
  EXPECT_FALSE(Decode(ok_depth).ok());
}

// The item and string limits hold across the whole document and across string chunks.
TEST(CborLimits, ItemAndStringLimits) {
  DecodeOptions options = Lenient();
  options.max_items = 10;
  Bytes array = Hex("8b");
  array.resize(12, 0x00);
  ExpectRejected({ToHex(array).c_str(), "more than 10 data items"}, options);
  array[0] = 0x8a;
  array.pop_back();
  EXPECT_TRUE(Decode(array, options).ok());
  ExpectRejected({"9f000000000000000000000000ff", "more than 10 data items"}, options);
  ExpectRejected({"82850000000000 8500000000 00", "more than 10 data items"}, options);
  options.max_string_bytes = 4;
  ExpectRejected({"4500000000 00", "exceeds the limit of 4"}, options);
  ExpectRejected({"5f43000000 4200 00ff", "exceeds the limit of 4"}, options);
  EXPECT_TRUE(Decode(Hex("5f430000004100ff"), options).ok());
}

}  // namespace
}  // namespace cloister::crypto::cbor
