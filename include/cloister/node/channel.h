// Channel: one mutually authenticated TLS 1.3 connection carrying length-prefixed frames.
//
// Used for node-to-node traffic (raft messages, join, snapshot chunks). The channel owns its
// socket; it performs the handshake (the peer is accepted only if the context's PeerVerifier
// accepts its certificate), then reads frames and hands each payload to the frame handler, and
// writes queued payloads in order. Writes are coalesced: a payload sent while no write is in
// progress starts one at once; every payload queued while one is in progress (or before the
// handshake completes) leaves in the next write, all in one buffer (fewer TLS writes and
// syscalls than one per frame). Two buffers alternate and keep their capacity. Memory is
// bounded on both sides: an oversized incoming frame or an outgoing queue above
// `max_queued_bytes` (a peer that stopped reading) closes the channel.
//
// Threading: a Channel lives on one io_context thread. Every public member must be called on
// that thread; the handlers are invoked on it. The close handler runs exactly once.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/x509.h"
#include "cloister/node/frame.h"
#include "cloister/node/tls.h"

namespace cloister::node {

struct ChannelOptions {
  size_t max_frame_bytes = kDefaultMaxFrameBytes;
  size_t max_queued_bytes = 64u << 20;
};

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  using FrameHandler = std::function<void(Bytes payload)>;
  using CloseHandler = std::function<void(const Error& reason)>;

  // `context` must outlive the channel.
  static std::shared_ptr<Channel> Create(boost::asio::ip::tcp::socket socket,
                                         boost::asio::ssl::context& context,
                                         ChannelOptions options = {});

  // Starts the handshake in the given role, then the read loop. `on_open` runs once the peer is
  // authenticated (may be null).
  void Start(TlsRole role, std::function<void()> on_open, FrameHandler on_frame,
             CloseHandler on_close);

  // Queues one payload. Payloads sent before the handshake completes are held until it does.
  void Send(ByteSpan payload);
  // Queues several payloads, in order; if no write is in progress they leave in one write.
  void SendAll(std::span<const Bytes> payloads);

  // Closes the connection; the close handler receives `reason`. Idempotent.
  void Close(Error reason);

  [[nodiscard]] bool is_open() const { return open_ && !closed_; }
  // The authenticated peer certificate (after on_open).
  [[nodiscard]] const std::optional<crypto::Certificate>& peer() const { return peer_; }
  // Writes started so far; each carries every frame queued when it starts.
  [[nodiscard]] uint64_t writes_started() const { return writes_started_; }

 private:
  Channel(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context,
          ChannelOptions options);
  void OnHandshake(const boost::system::error_code& error);
  void ReadSome();
  // Appends one frame to the next write; false (and the channel closed) past the queue limit.
  bool Queue(ByteSpan payload);
  void WriteNext();

  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
  ChannelOptions options_;
  FrameDecoder decoder_;
  Bytes pending_;         // frames for the next write
  Bytes writing_buffer_;  // frames of the write in progress (asio reads it until it completes)
  uint64_t writes_started_ = 0;
  bool writing_ = false;
  bool open_ = false;
  bool closed_ = false;
  std::array<uint8_t, 16384> read_buffer_{};
  std::optional<crypto::Certificate> peer_;
  std::function<void()> on_open_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
};

}  // namespace cloister::node
