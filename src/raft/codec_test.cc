#include "cloister/raft/codec.h"

#include <gtest/gtest.h>

namespace cloister::raft {
namespace {

Message FullMessage() {
  return Message{.type = MessageType::kAppend,
                 .from = 3,
                 .to = 1000000007,
                 .term = 42,
                 .log_term = 41,
                 .index = 300,
                 .commit = 299,
                 .context = 7,
                 .reject_hint = UINT64_MAX,
                 .reject = true,
                 .force = true,
                 .entries = {Entry{.term = 42, .index = 301, .data = ToBytes("put a 1")},
                             Entry{.term = 42,
                                   .index = 302,
                                   .type = EntryType::kConfChange,
                                   .data = EncodeConfChange({ConfChangeType::kRemoveNode, 2})}},
                 .snapshot = Snapshot{.index = 9,
                                      .term = 2,
                                      .config = {.voters = {1, 3}, .learners = {4}},
                                      .data = ToBytes("state")}};
}

// Every field of a message survives encoding and decoding.
TEST(CodecTest, RoundTripsEveryField) {
  const Message m = FullMessage();
  auto decoded = DecodeMessage(EncodeMessage(m));
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, m);
}

// A minimal message round-trips and stays small (varints).
TEST(CodecTest, SmallMessageIsCompact) {
  const Message m{.type = MessageType::kHeartbeat, .from = 1, .to = 2, .term = 5, .commit = 9};
  const Bytes encoded = EncodeMessage(m);
  EXPECT_LE(encoded.size(), 16u);
  auto decoded = DecodeMessage(encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, m);
}

// Every proper prefix of an encoding is rejected, never read past.
TEST(CodecTest, RejectsEveryTruncation) {
  const Bytes encoded = EncodeMessage(FullMessage());
  for (size_t n = 0; n < encoded.size(); ++n) {
    auto decoded = DecodeMessage(ByteSpan(encoded.data(), n));
    EXPECT_FALSE(decoded.ok()) << "prefix of " << n << " bytes accepted";
  }
}

// Trailing bytes, unknown versions, types and flags are refused with a message naming them.
TEST(CodecTest, RejectsMalformedHeaders) {
  Bytes encoded = EncodeMessage(FullMessage());
  Bytes trailing = encoded;
  trailing.push_back(0);
  auto r = DecodeMessage(trailing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("trailing"), std::string::npos) << r.error().message;

  Bytes version = encoded;
  version[0] = 2;
  r = DecodeMessage(version);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);

  Bytes type = encoded;
  type[1] = 11;
  r = DecodeMessage(type);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("type"), std::string::npos);

  Bytes flags = encoded;
  flags[2] = 0x80;
  r = DecodeMessage(flags);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("flags"), std::string::npos);
}

// Sender 0, non-minimal varints, overlong varints and huge counts are refused.
TEST(CodecTest, RejectsBadFields) {
  const Bytes zero_from = {1, 7, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(DecodeMessage(zero_from).ok());
  const Bytes non_minimal = {1, 7, 0, 0x81, 0x00, 2, 0, 0, 0, 0, 0, 0, 0};
  auto r = DecodeMessage(non_minimal);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("minimal"), std::string::npos) << r.error().message;
  Bytes overlong = {1, 7, 0};
  for (int i = 0; i < 10; ++i) overlong.push_back(0xff);
  overlong.push_back(1);
  EXPECT_FALSE(DecodeMessage(overlong).ok());
  // Entry count of 2^32 with no bytes behind it.
  const Bytes huge = {1, 7, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10};
  r = DecodeMessage(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("entry count"), std::string::npos) << r.error().message;
}

// A snapshot listing a member as both voter and learner is refused.
TEST(CodecTest, RejectsOverlappingSnapshotConfig) {
  Message m = FullMessage();
  m.snapshot->config.learners.insert(1);
  auto r = DecodeMessage(EncodeMessage(m));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("both voter and learner"), std::string::npos);
}

// Conf changes round-trip; unknown types, id 0 and trailing bytes are refused.
TEST(CodecTest, ConfChangeRoundTripAndRejects) {
  const ConfChange c{ConfChangeType::kPromoteLearner, 300};
  auto decoded = DecodeConfChange(EncodeConfChange(c));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, c);
  EXPECT_FALSE(DecodeConfChange(Bytes{1, 4, 1}).ok());
  EXPECT_FALSE(DecodeConfChange(Bytes{1, 1, 0}).ok());
  EXPECT_FALSE(DecodeConfChange(Bytes{1, 1, 1, 0}).ok());
  EXPECT_FALSE(DecodeConfChange(Bytes{1, 1}).ok());
}

}  // namespace
}  // namespace cloister::raft
