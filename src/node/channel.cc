#include "cloister/node/channel.h"

#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

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

void Channel::Send(ByteSpan payload) {
  if (closed_) return;
  Bytes frame = EncodeFrame(payload);
  queued_bytes_ += frame.size();
  if (queued_bytes_ > options_.max_queued_bytes) {
    Close(UnavailableError("peer is not reading: ", queued_bytes_, " bytes queued, limit ",
                           options_.max_queued_bytes));
    return;
  }
  outbox_.push_back(std::move(frame));
  if (open_) WriteNext();
}

void Channel::WriteNext() {
  if (writing_ || outbox_.empty() || closed_) return;
  writing_ = true;
  asio::async_write(stream_, asio::buffer(outbox_.front()),
                    [self = shared_from_this()](const boost::system::error_code& error, size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (error) {
                        self->Close(IoError("write failed: ", error.message()));
                        return;
                      }
                      self->queued_bytes_ -= self->outbox_.front().size();
                      self->outbox_.pop_front();
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
  outbox_.clear();
  queued_bytes_ = 0;
  if (on_close_) {
    CloseHandler handler = std::move(on_close_);
    handler(reason);
  }
}

}  // namespace cloister::node
