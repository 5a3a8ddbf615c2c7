#include "cloister/node/frame.h"

#include <algorithm>

namespace cloister::node {

Bytes EncodeFrame(ByteSpan payload) {
  ASSERT(payload.size() <= UINT32_MAX, "frame payload of ", payload.size(), " bytes");
  Bytes out;
  out.reserve(kFrameHeaderBytes + payload.size());
  ByteWriter writer(&out);
  writer.U32Be(static_cast<uint32_t>(payload.size()));
  writer.Append(payload);
  return out;
}

Status FrameDecoder::Feed(ByteSpan bytes) {
  if (failed_) return *failed_;
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  Status status = ExtractFrames();
  if (!status.ok()) {
    failed_ = status.error();
    buffer_.clear();
    buffer_.shrink_to_fit();
  }
  return status;
}

Status FrameDecoder::ExtractFrames() {
  size_t offset = 0;
  while (buffer_.size() - offset >= kFrameHeaderBytes) {
    ByteReader reader(ByteSpan(buffer_).subspan(offset), "frame");
    const uint32_t length = reader.U32Be("length").value();
    if (length > max_frame_bytes_) {
      return InvalidArgumentError("frame of ", length, " bytes exceeds the limit of ",
                                  max_frame_bytes_);
    }
    if (buffer_.size() - offset - kFrameHeaderBytes < length) break;
    const auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(offset + kFrameHeaderBytes);
    ready_.emplace_back(begin, begin + length);
    offset += kFrameHeaderBytes + length;
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(offset));
  return OkStatus();
}

std::optional<Bytes> FrameDecoder::Next() {
  if (ready_.empty()) return std::nullopt;
  Bytes payload = std::move(ready_.front());
  ready_.pop_front();
  return payload;
}

}  // namespace cloister::node
