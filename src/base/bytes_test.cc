// Proves hex/base64 against RFC 4648 §10 vectors, strict rejection of malformed text, and that
// ByteReader never reads past its input.
#include "cloister/base/bytes.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

TEST(HexTest, RoundTripAndCase) {
  const Bytes data = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(ToHex(data), "0001abff");
  EXPECT_EQ(*FromHex("0001ABff"), data);
  EXPECT_FALSE(FromHex("abc").ok());
  EXPECT_FALSE(FromHex("zz").ok());
  EXPECT_TRUE(FromHex("").ok());
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded);
    EXPECT_EQ(ToString(*Base64Decode(encoded)), plain);
  }
}

TEST(Base64Test, UrlAlphabetWithoutPadding) {
  const Bytes data = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(Base64Encode(data), "+/+/");
  EXPECT_EQ(Base64UrlEncode(data), "-_-_");
  EXPECT_EQ(*Base64UrlDecode("-_-_"), data);
  EXPECT_EQ(Base64UrlEncode(AsBytes("f")), "Zg");
  EXPECT_EQ(ToString(*Base64UrlDecode("Zg")), "f");
}

TEST(Base64Test, RejectsMalformed) {
  EXPECT_FALSE(Base64Decode("Zg=").ok());   // bad length
  EXPECT_FALSE(Base64Decode("Z!==").ok());  // bad character
  EXPECT_FALSE(Base64Decode("Zh==").ok());  // non-zero trailing bits
  EXPECT_FALSE(Base64Decode("-_-_").ok());  // url alphabet in standard decoder
  EXPECT_FALSE(Base64UrlDecode("Z").ok());  // cannot encode whole bytes
}

TEST(ByteReaderTest, ReadsIntegersInBothOrders) {
  const Bytes data = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  ByteReader le(data);
  EXPECT_EQ(*le.U16Le("a"), 0x0201);
  EXPECT_EQ(*le.U16Le("b"), 0x0403);
  EXPECT_EQ(*le.U32Le("c"), 0x08070605u);
  EXPECT_TRUE(le.empty());
  ByteReader be(data);
  EXPECT_EQ(*be.U64Be("d"), 0x0102030405060708ULL);
}

TEST(ByteReaderTest, NamesTheMissingField) {
  const Bytes data = {0x01, 0x02, 0x03};
  ByteReader reader(data, "report");
  ASSERT_TRUE(reader.U8("version").ok());
  const Result<uint32_t> r = reader.U32Le("policy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "report: policy: need 4 bytes at offset 1, have 2");
  EXPECT_EQ(reader.offset(), 1u);  // a failed read does not move the cursor
  EXPECT_FALSE(reader.Take(3, "x").ok());
  EXPECT_EQ(reader.Take(2, "x")->size(), 2u);
}

TEST(ByteWriterTest, WritesWhatReaderReads) {
  Bytes out;
  ByteWriter writer(&out);
  writer.U16Be(0xabcd);
  writer.U32Le(0x11223344);
  writer.U64Be(42);
  ByteReader reader(out);
  EXPECT_EQ(*reader.U16Be("a"), 0xabcd);
  EXPECT_EQ(*reader.U32Le("b"), 0x11223344u);
  EXPECT_EQ(*reader.U64Be("c"), 42u);
  EXPECT_EQ(EncodeBigEndian(0x0102, 4), (Bytes{0, 0, 1, 2}));
}

TEST(BytesTest, ConcatAndZero) {
  const Bytes a = {1, 2};
  const Bytes b = {3};
  EXPECT_EQ(Concat(a, b), (Bytes{1, 2, 3}));
  EXPECT_TRUE(IsAllZero(Bytes(5, 0)));
  EXPECT_FALSE(IsAllZero(a));
}

}  // namespace
}  // namespace cloister
