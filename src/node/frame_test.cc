// Proves frames survive arbitrary splitting of the byte stream and that an oversized length is
// refused before anything is allocated, leaving the decoder failed.
#include "cloister/node/frame.h"

#include <gtest/gtest.h>

#include "cloister/base/rng.h"

namespace cloister::node {
namespace {

TEST(FrameTest, RoundTripsUnderRandomSplits) {
  DeterministicRng rng(11);
  std::vector<Bytes> payloads;
  Bytes stream;
  for (int i = 0; i < 200; ++i) {
    Bytes payload(rng.Uniform(300));
    rng.Fill(payload);
    const Bytes frame = EncodeFrame(payload);
    stream.insert(stream.end(), frame.begin(), frame.end());
    payloads.push_back(std::move(payload));
  }
  FrameDecoder decoder(1024);
  std::vector<Bytes> received;
  size_t offset = 0;
  while (offset < stream.size()) {
    const size_t chunk = std::min<size_t>(stream.size() - offset, 1 + rng.Uniform(97));
    ASSERT_TRUE(decoder.Feed(ByteSpan(stream).subspan(offset, chunk)).ok());
    offset += chunk;
    while (std::optional<Bytes> payload = decoder.Next()) received.push_back(std::move(*payload));
  }
  EXPECT_EQ(received, payloads);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(FrameTest, OversizedFrameFailsAndStaysFailed) {
  FrameDecoder decoder(16);
  const Bytes header = {0x7f, 0xff, 0xff, 0xff};
  const Status status = decoder.Feed(header);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("exceeds the limit of 16"), std::string::npos);
  EXPECT_FALSE(decoder.Feed(EncodeFrame(Bytes(4))).ok());
  EXPECT_FALSE(decoder.Next().has_value());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

// A read may carry a valid frame and the header of an oversized one: the valid frame stays
// deliverable (the channel hands it over, then closes), nothing after the bad header is.
TEST(FrameTest, FramesBeforeAnOversizedHeaderInTheSameFeedStayDeliverable) {
  FrameDecoder decoder(16);
  Bytes bytes = EncodeFrame(Bytes(10, 0xaa));
  const Bytes oversized = EncodeFrame(Bytes(17, 0xbb));
  bytes.insert(bytes.end(), oversized.begin(), oversized.end());
  EXPECT_FALSE(decoder.Feed(bytes).ok());
  const std::optional<Bytes> first = decoder.Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, Bytes(10, 0xaa));
  EXPECT_FALSE(decoder.Next().has_value());
  EXPECT_FALSE(decoder.Feed(EncodeFrame(Bytes(4))).ok());
  EXPECT_FALSE(decoder.Next().has_value());
}

TEST(FrameTest, EmptyPayloadIsAFrame) {
  FrameDecoder decoder;
  ASSERT_TRUE(decoder.Feed(EncodeFrame({})).ok());
  const std::optional<Bytes> payload = decoder.Next();
  ASSERT_TRUE(payload.has_value());
  EXPECT_TRUE(payload->empty());
}

}  // namespace
}  // namespace cloister::node
