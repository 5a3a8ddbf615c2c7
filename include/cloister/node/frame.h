// Length-prefixed frames: how node-to-node and client streams are cut into messages.
//
// A frame is a 4-byte big-endian payload length followed by the payload (CBOR for node
// messages). The decoder is fed bytes as they arrive from a socket and yields whole payloads.
// A length above the configured maximum is an error before any allocation, so a hostile peer
// cannot make a node reserve memory it did not send (DESIGN.md: bounded everything).
//
// Invariant: after an error the decoder stays failed; the connection must be closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::node {

inline constexpr size_t kFrameHeaderBytes = 4;
inline constexpr size_t kDefaultMaxFrameBytes = 16u << 20;  // 16 MiB (snapshots are chunked)

// The header and payload of one frame. Requires payload.size() <= UINT32_MAX.
Bytes EncodeFrame(ByteSpan payload);

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame_bytes = kDefaultMaxFrameBytes)
      : max_frame_bytes_(max_frame_bytes) {}

  // Appends received bytes. Fails (and stays failed) on a frame longer than the maximum.
  Status Feed(ByteSpan bytes);
  // The next complete payload, if one has arrived.
  std::optional<Bytes> Next();

  // Bytes held for frames not yet complete (bounded by one maximum frame plus a header).
  [[nodiscard]] size_t buffered_bytes() const { return buffer_.size(); }

 private:
  Status ExtractFrames();

  size_t max_frame_bytes_;
  Bytes buffer_;
  std::deque<Bytes> ready_;
  std::optional<Error> failed_;
};

}  // namespace cloister::node
