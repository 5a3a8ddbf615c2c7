#include "cloister/node/channel.h"

#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

#include "cloister/base/assert.h"

namespace cloister::node {

namespace asio = boost::asio;

std::shared_ptr<Channel> Channel::Create(asio::ip::tcp::socket socket, asio::ssl::context& context,
                                         ChannelOptions options) {
  return std::shared_ptr<Channel>(new Channel(std::move(socket), context, options));
}

Channel::Channel(asio::ip::tcp::socket socket, asio::ssl::context& context, ChannelOptions options)
    : stream_(std::move(socket), context), options_(options), decoder_(options.max_frame_bytes) {}

void Channel::Start(TlsRole role, std::function<void()> on_open, FrameHandler on_frame,
                    CloseHandler on_close) {
  on_open_ = std::move(on_open);
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  boost::system::error_code ignored;
  stream_.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
  stream_.async_handshake(
      role == TlsRole::kServer ? asio::ssl::stream_base::server : asio::ssl::stream_base::client,
      [self = shared_from_this()](const boost::system::error_code& error) {
        self->OnHandshake(error);
      });
}

void Channel::OnHandshake(const boost::system::error_code& error) {
  if (closed_) return;
  if (error) {
    Close(PermissionDeniedError("TLS handshake failed: ", error.message()));
    return;
  }
  X509* x509 = SSL_get1_peer_certificate(stream_.native_handle());
  if (x509 != nullptr) {
    unsigned char* der = nullptr;
    const int size = i2d_X509(x509, &der);
    X509_free(x509);
    if (size > 0) {
      const Bytes bytes(der, der + size);
      OPENSSL_free(der);
      Result<crypto::Certificate> certificate = crypto::Certificate::FromDer(bytes);
      if (certificate.ok()) peer_ = std::move(certificate).value();
    }
  }
  open_ = true;
  if (on_open_) on_open_();
  if (closed_) return;
  ReadSome();
  WriteNext();
}

namespace {

// A write buffer above this capacity is released once written (a snapshot chunk), not kept.
constexpr size_t kRetainedBufferBytes = 1u << 20;

}  // namespace

bool Channel::Queue(ByteSpan payload) {
  if (closed_) return false;
  ASSERT(payload.size() <= UINT32_MAX, "frame payload of ", payload.size(), " bytes");
  const size_t queued =
      pending_.size() + writing_buffer_.size() + kFrameHeaderBytes + payload.size();
  if (queued > options_.max_queued_bytes) {
    Close(UnavailableError("peer is not reading: ", queued, " bytes queued, limit ",
                           options_.max_queued_bytes));
    return false;
  }
  ByteWriter writer(&pending_);
  writer.U32Be(static_cast<uint32_t>(payload.size()));
  writer.Append(payload);
  return true;
}

void Channel::Send(ByteSpan payload) {
  if (Queue(payload) && open_) WriteNext();
}

void Channel::SendAll(std::span<const Bytes> payloads) {
  for (const Bytes& payload : payloads) {
    if (!Queue(payload)) return;
  }
  if (open_) WriteNext();
}

void Channel::WriteNext() {
  if (writing_ || pending_.empty() || closed_) return;
  writing_ = true;
  ++writes_started_;
  // writing_buffer_ is empty here (cleared when the previous write completed): the swap hands
  // its capacity to the next round of frames.
  writing_buffer_.swap(pending_);
  asio::async_write(stream_, asio::buffer(writing_buffer_),
                    [self = shared_from_this()](const boost::system::error_code& error, size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (error) {
                        self->Close(IoError("write failed: ", error.message()));
                        return;
                      }
                      self->writing_buffer_.clear();
                      if (self->writing_buffer_.capacity() > kRetainedBufferBytes) {
                        Bytes().swap(self->writing_buffer_);
                      }
                      self->WriteNext();
                    });
}

void Channel::ReadSome() {
  stream_.async_read_some(
      asio::buffer(read_buffer_),
      [self = shared_from_this()](const boost::system::error_code& error, size_t size) {
        if (self->closed_) return;
        if (error) {
          self->Close(error == asio::error::eof ? UnavailableError("peer closed the connection")
                                                : IoError("read failed: ", error.message()));
          return;
        }
        // Frames complete before a bad header in the same read are delivered, then the
        // connection closes: what a read happens to coalesce must not change what is delivered.
        const Status fed = self->decoder_.Feed(ByteSpan(self->read_buffer_).first(size));
        while (std::optional<Bytes> payload = self->decoder_.Next()) {
          self->on_frame_(std::move(*payload));
          if (self->closed_) return;
        }
        if (!fed.ok()) {
          self->Close(fed.error());
          return;
        }
        self->ReadSome();
      });
}

void Channel::Close(Error reason) {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  // writing_buffer_ stays: a write in progress may still read it until its handler runs.
  pending_.clear();
  if (on_close_) {
    CloseHandler handler = std::move(on_close_);
    handler(reason);
  }
}

}  // namespace cloister::node
