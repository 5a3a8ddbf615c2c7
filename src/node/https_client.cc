#include "cloister/node/https_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <ctime>
#include <optional>
#include <type_traits>

#include "cloister/crypto/key.h"

namespace cloister::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// What one attempt on a connection ended with.
struct Exchange {
  boost::system::error_code failure;
  std::string stage;
  // True when the failure happened before any byte of a response arrived on a connection that
  // had already served a request: the server closed it while idle, so the request was not
  // processed and may be sent again on a new connection.
  bool stale = false;
};

bool IsClosedByPeer(const boost::system::error_code& error) {
  return error == asio::error::eof || error == asio::error::connection_reset ||
         error == asio::error::broken_pipe || error == asio::ssl::error::stream_truncated ||
         error == http::error::end_of_stream;
}

// One kept-alive connection over `Stream` (TLS or plain TCP) and the blocking exchange on it.
template <typename Stream>
struct Connection {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  HttpsClientOptions options;
  asio::ssl::context* context = nullptr;  // TLS only
  asio::io_context io;
  std::optional<Stream> stream;  // the kept-alive connection, if any
  std::string connected_to;      // "host:port" of `stream`
  beast::flat_buffer buffer;
  uint64_t connections_opened = 0;

  beast::tcp_stream& Tcp() {
    if constexpr (kTls) {
      return beast::get_lowest_layer(*stream);
    } else {
      return *stream;
    }
  }

  void Drop() {
    if (!stream) return;
    boost::system::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().close();
    stream.reset();
    buffer.clear();
    connected_to.clear();
  }

  // Runs the io_context until the pending operations finish.
  void Run() {
    io.restart();
    io.run();
  }

  Exchange Open(const HostPort& server) {
    Drop();
    Exchange result;
    result.stage = "resolve";
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(server.host, std::to_string(server.port), result.failure);
    if (result.failure) return result;
    if constexpr (kTls) {
      stream.emplace(io, *context);
    } else {
      stream.emplace(io);
    }
    result.stage = "connect";
    Tcp().expires_after(options.timeout);
    Tcp().async_connect(endpoints, [&](const boost::system::error_code& error,
                                       const tcp::endpoint&) {
      if (error) {
        result.failure = error;
        return;
      }
      if constexpr (kTls) {
        result.stage = "TLS handshake";
        stream->async_handshake(asio::ssl::stream_base::client, [&](const auto& handshake_error) {
          result.failure = handshake_error;
        });
      }
    });
    Run();
    if (result.failure) {
      Drop();
      return result;
    }
    // Requests leave as several small writes (TLS records): without TCP_NODELAY, Nagle holds
    // the last one until the server's delayed ACK.
    boost::system::error_code ignored;
    Tcp().socket().set_option(tcp::no_delay(true), ignored);
    ++connections_opened;
    connected_to = server.ToString();
    return result;
  }

  Exchange Send(const http::request<http::string_body>& request,
                http::response_parser<http::string_body>& parser, bool reused) {
    Exchange result;
    result.stage = "write";
    Tcp().expires_after(options.timeout);
    http::async_write(*stream, request, [&](const auto& write_error, size_t) {
      if (write_error) {
        result.failure = write_error;
        return;
      }
      result.stage = "read";
      http::async_read(*stream, buffer, parser,
                       [&](const auto& read_error, size_t) { result.failure = read_error; });
    });
    Run();
    result.stale = reused && result.failure && IsClosedByPeer(result.failure) && !parser.got_some();
    return result;
  }

  // One request, on the kept-alive connection when it goes to the same server. At most two
  // attempts: a kept-alive connection the server has closed while idle is replaced once by a new
  // one (the request never reached the server); any other failure is final.
  Result<HttpsResult> Request(const HostPort& server, const std::string& method,
                              const std::string& target, const std::string& body,
                              const std::string& content_type) {
    http::request<http::string_body> request;
    request.method(http::string_to_verb(method));
    if (request.method() == http::verb::unknown) return InvalidArgumentError("method ", method);
    request.target(target);
    request.version(11);
    request.set(http::field::host, server.host);
    request.keep_alive(options.keep_alive);
    if (!body.empty() || method == "POST") {
      request.set(http::field::content_type, content_type);
      request.body() = body;
      request.prepare_payload();
    }
    std::optional<http::response_parser<http::string_body>> parser;
    Exchange exchange;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = stream && connected_to == server.ToString();
      if (!reused) {
        exchange = Open(server);
        if (exchange.failure) break;
      }
      parser.emplace();
      parser->body_limit(options.max_response_bytes);
      exchange = Send(request, *parser, reused);
      if (!exchange.failure || !exchange.stale) break;
      Drop();
    }
    if (exchange.failure) {
      Drop();
      return IoError(kTls ? "HTTPS " : "HTTP ", method, " ", server.ToString(), target, ": ",
                     exchange.stage, ": ", exchange.failure.message());
    }
    HttpsResult result;
    const auto& response = parser->get();
    result.status = response.result_int();
    for (const auto& field : response) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      result.headers[name] = std::string(field.value());
    }
    result.body = response.body();
    if (!options.keep_alive || !response.keep_alive()) Drop();
    return result;
  }
};

}  // namespace

struct HttpsClient::State {
  std::unique_ptr<asio::ssl::context> context;
  Connection<asio::ssl::stream<beast::tcp_stream>> connection;
};

struct HttpClient::State {
  Connection<beast::tcp_stream> connection;
};

std::optional<std::string> HttpsResult::Header(const std::string& name) const {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto it = headers.find(lower);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

PeerVerifier SignedBy(crypto::Certificate issuer) {
  return [issuer = std::move(issuer)](const crypto::Certificate& peer) -> Status {
    Status signed_by = peer.VerifySignedBy(issuer);
    if (!signed_by.ok()) {
      return VerificationError("server certificate is not issued by the service certificate");
    }
    return OkStatus();
  };
}

HttpsClient::~HttpsClient() {
  if (state_) state_->connection.Drop();
}

Result<std::unique_ptr<HttpsClient>> HttpsClient::Create(PeerVerifier verifier,
                                                         HttpsClientOptions options) {
  ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  ASSIGN_OR_RETURN(crypto::Certificate certificate,
                   SelfSignedIdentity(key, "cloister client", now - 3600, 2 * 86400));
  TlsIdentity identity{key, certificate};
  std::unique_ptr<HttpsClient> client(new HttpsClient());
  client->state_ = std::make_unique<State>();
  ASSIGN_OR_RETURN(client->state_->context,
                   MakeTlsContext(TlsRole::kClient, identity, std::move(verifier)));
  client->state_->connection.options = options;
  client->state_->connection.context = client->state_->context.get();
  return client;
}

uint64_t HttpsClient::connections_opened() const { return state_->connection.connections_opened; }

Result<HttpsResult> HttpsClient::Request(const HostPort& server, const std::string& method,
                                         const std::string& target, const std::string& body,
                                         const std::string& content_type) {
  return state_->connection.Request(server, method, target, body, content_type);
}

HttpClient::HttpClient(HttpsClientOptions options) : state_(std::make_unique<State>()) {
  state_->connection.options = options;
}

HttpClient::~HttpClient() { state_->connection.Drop(); }

uint64_t HttpClient::connections_opened() const { return state_->connection.connections_opened; }

Result<HttpsResult> HttpClient::Request(const HostPort& server, const std::string& method,
                                        const std::string& target, const std::string& body,
                                        const std::string& content_type) {
  return state_->connection.Request(server, method, target, body, content_type);
}

}  // namespace cloister::node
