// Channel: one mutually authenticated TLS 1.3 connection carrying length-prefixed frames.
//
// Used for node-to-node traffic (raft messages, join, snapshot chunks). The channel owns its
// socket; it performs the handshake (the peer is accepted only if the context's PeerVerifier
// accepts its certificate), then reads frames and hands each payload to the frame handler, and
// writes queued payloads in order. Memory is bounded on both sides: an oversized incoming frame
// or an outgoing queue above `max_queued_bytes` (a peer that stopped reading) closes the channel.
//
// Threading: a Channel lives on one io_context thread. Every public member must be called on
// that thread; the handlers are invoked on it. The close handler runs exactly once.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

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

  // Closes the connection; the close handler receives `reason`. Idempotent.
  void Close(Error reason);

  [[nodiscard]] bool is_open() const { return open_ && !closed_; }
  // The authenticated peer certificate (after on_open).
  [[nodiscard]] const std::optional<crypto::Certificate>& peer() const { return peer_; }

 private:
  Channel(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context,
          ChannelOptions options);
  void OnHandshake(const boost::system::error_code& error);
  void ReadSome();
  void WriteNext();

  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
  ChannelOptions options_;
  FrameDecoder decoder_;
  std::deque<Bytes> outbox_;
  size_t queued_bytes_ = 0;
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
