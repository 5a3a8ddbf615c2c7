#include "cloister/node/http_server.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <set>

namespace cloister::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::map<std::string, std::string>> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    ASSIGN_OR_RETURN(std::string key, PercentDecode(pair.substr(0, eq)));
    std::string value;
    if (eq != std::string_view::npos) {
      ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1)));
    }
    out[std::move(key)] = std::move(value);
  }
  return out;
}

std::optional<crypto::Certificate> PeerCertificate(SSL* ssl) {
  X509* x509 = SSL_get1_peer_certificate(ssl);
  if (x509 == nullptr) return std::nullopt;
  unsigned char* der = nullptr;
  const int size = i2d_X509(x509, &der);
  X509_free(x509);
  if (size <= 0) return std::nullopt;
  const Bytes bytes(der, der + size);
  OPENSSL_free(der);
  Result<crypto::Certificate> certificate = crypto::Certificate::FromDer(bytes);
  if (!certificate.ok()) return std::nullopt;
  return std::move(certificate).value();
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) {
      return ParseError("truncated percent escape at offset ", i, " in '", text, "'");
    }
    const int high = HexValue(text[i + 1]), low = HexValue(text[i + 2]);
    if (high < 0 || low < 0) {
      return ParseError("invalid percent escape at offset ", i, " in '", text, "'");
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

Result<std::string> HttpRequest::Query(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return InvalidArgumentError("missing query parameter '", name, "'");
  return it->second;
}

std::optional<std::string> HttpRequest::Header(const std::string& name) const {
  auto it = headers.find(Lower(name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

HttpResponse HttpResponse::Text(unsigned status, std::string body, std::string content_type) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.content_type = std::move(content_type);
  return response;
}

HttpResponse HttpResponse::Json(unsigned status, std::string json_text) {
  return Text(status, std::move(json_text), "application/json");
}

namespace {

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(ch);
        }
    }
  }
  return out;
}

unsigned StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse:
    case ErrorCode::kVerification:
    case ErrorCode::kOutOfRange:
    case ErrorCode::kUnsupported:
      return 400;
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kPolicy:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
    default:
      return 500;
  }
}

}  // namespace

HttpResponse HttpResponse::ErrorBody(unsigned status, const std::string& code,
                                     const std::string& message) {
  return Json(status, "{\"error\":{\"code\":\"" + JsonEscape(code) + "\",\"message\":\"" +
                          JsonEscape(message) + "\"}}");
}

HttpResponse HttpResponse::FromError(const Error& error) {
  return ErrorBody(StatusFor(error.code), std::string(ErrorCodeName(error.code)), error.message);
}

void HttpRouter::Add(const std::string& method, const std::string& path, HttpHandler handler) {
  routes_.push_back(Route{method, path, false, std::move(handler)});
}

void HttpRouter::AddPrefix(const std::string& method, const std::string& prefix,
                           HttpHandler handler) {
  routes_.push_back(Route{method, prefix, true, std::move(handler)});
}

void HttpRouter::Dispatch(const HttpRequest& request, HttpRespond respond) const {
  const Route* best = nullptr;
  bool path_known = false;
  for (const Route& route : routes_) {
    const bool matches =
        route.prefix ? request.path.starts_with(route.path) : request.path == route.path;
    if (!matches) continue;
    path_known = true;
    if (route.method != request.method) continue;
    if (best == nullptr || (best->prefix && !route.prefix) ||
        (best->prefix && route.prefix && route.path.size() > best->path.size())) {
      best = &route;
    }
  }
  if (best != nullptr) {
    best->handler(request, std::move(respond));
  } else if (path_known) {
    respond(HttpResponse::ErrorBody(405, "method_not_allowed",
                                    request.method + " is not allowed on " + request.path));
  } else {
    respond(HttpResponse::ErrorBody(404, "not_found", "no such endpoint: " + request.path));
  }
}

struct HttpServer::State {
  State(asio::io_context& io_in, asio::ssl::context& context_in, const HttpRouter& router_in,
        HttpServerOptions options_in)
      : io(io_in), context(context_in), router(router_in), options(options_in), acceptor(io_in) {}
  asio::io_context& io;
  asio::ssl::context& context;
  const HttpRouter& router;
  HttpServerOptions options;
  tcp::acceptor acceptor;
  std::set<std::shared_ptr<Connection>> connections;
  bool stopped = false;
};

class HttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::weak_ptr<State> state)
      : state_(std::move(state)),
        stream_(std::move(socket), state_.lock()->context),
        handler_timer_(stream_.get_executor()) {}

  void Start() {
    std::shared_ptr<State> state = state_.lock();
    beast::get_lowest_layer(stream_).expires_after(state->options.idle_timeout);
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this()](const beast::error_code& error) {
                              if (error) return self->Finish();
                              self->client_certificate_ =
                                  PeerCertificate(self->stream_.native_handle());
                              self->Read();
                            });
  }

  void Close() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
    handler_timer_.cancel();
  }

 private:
  void Read() {
    std::shared_ptr<State> state = state_.lock();
    if (!state || state->stopped) return Finish();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(state->options.max_header_bytes));
    parser_->body_limit(state->options.max_body_bytes);
    buffer_.max_size(state->options.max_header_bytes + state->options.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(state->options.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](const beast::error_code& error, size_t) {
                       self->OnRead(error);
                     });
  }

  void OnRead(const beast::error_code& error) {
    if (error == http::error::end_of_stream || error == asio::ssl::error::stream_truncated ||
        error == beast::error::timeout || error == asio::error::operation_aborted ||
        error == asio::error::connection_reset || error == asio::error::eof) {
      return Finish();
    }
    std::shared_ptr<State> state = state_.lock();
    if (!state) return Finish();
    if (error == http::error::header_limit) {
      return Reply(
          HttpResponse::ErrorBody(431, "header_too_large",
                                  "request header exceeds " +
                                      std::to_string(state->options.max_header_bytes) + " bytes"),
          false, 11);
    }
    if (error == http::error::body_limit) {
      return Reply(
          HttpResponse::ErrorBody(
              413, "body_too_large",
              "request body exceeds " + std::to_string(state->options.max_body_bytes) + " bytes"),
          false, 11);
    }
    if (error) {
      return Reply(
          HttpResponse::ErrorBody(400, "bad_request", "malformed HTTP request: " + error.message()),
          false, 11);
    }
    Dispatch(*state);
  }

  void Dispatch(State& state) {
    http::request<http::string_body> message = parser_->release();
    const bool keep_alive = message.keep_alive();
    const unsigned version = message.version();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    const size_t question = request.target.find('?');
    Result<std::string> path = PercentDecode(std::string_view(request.target).substr(0, question));
    Result<std::map<std::string, std::string>> query =
        question == std::string::npos
            ? Result<std::map<std::string, std::string>>(std::map<std::string, std::string>())
            : ParseQuery(std::string_view(request.target).substr(question + 1));
    if (!path.ok() || !query.ok()) {
      return Reply(HttpResponse::FromError(path.ok() ? query.error() : path.error()), false,
                   version);
    }
    request.path = std::move(path).value();
    request.query = std::move(query).value();
    for (const auto& field : message) {
      request.headers[Lower(field.name_string())] = std::string(field.value());
    }
    request.body = std::move(message.body());
    request.client_certificate = client_certificate_;

    auto responded = std::make_shared<bool>(false);
    handler_timer_.expires_after(state.options.handler_timeout);
    handler_timer_.async_wait([self = shared_from_this(), responded, keep_alive,
                               version](const beast::error_code& e) {
      if (e || *responded) return;
      *responded = true;
      self->Reply(HttpResponse::ErrorBody(504, "timeout", "the request was not answered in time"),
                  keep_alive, version);
    });
    beast::get_lowest_layer(stream_).expires_never();
    state.router.Dispatch(request, [self = shared_from_this(), responded, keep_alive,
                                    version](HttpResponse response) {
      if (*responded) return;
      *responded = true;
      self->handler_timer_.cancel();
      self->Reply(std::move(response), keep_alive, version);
    });
  }

  void Reply(HttpResponse response, bool keep_alive, unsigned version) {
    auto message = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    message->set(http::field::server, "cloister");
    message->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    message->keep_alive(keep_alive);
    message->prepare_payload();
    std::shared_ptr<State> state = state_.lock();
    if (!state) return Finish();
    beast::get_lowest_layer(stream_).expires_after(state->options.idle_timeout);
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message](const beast::error_code& error, size_t) {
                        if (error || !message->keep_alive()) return self->Finish();
                        self->Read();
                      });
  }

  void Finish() {
    Close();
    if (std::shared_ptr<State> state = state_.lock()) {
      state->connections.erase(shared_from_this());
    }
  }

  std::weak_ptr<State> state_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  asio::steady_timer handler_timer_;
  std::optional<crypto::Certificate> client_certificate_;
};

HttpServer::HttpServer(asio::io_context& io, asio::ssl::context& context, const HttpRouter& router,
                       HttpServerOptions options)
    : state_(std::make_shared<State>(io, context, router, options)) {}

HttpServer::~HttpServer() { Stop(); }

Result<uint16_t> HttpServer::Listen(const std::string& address, uint16_t port) {
  beast::error_code error;
  const asio::ip::address ip = asio::ip::make_address(address, error);
  if (error) return InvalidArgumentError("invalid listen address '", address, "'");
  const tcp::endpoint endpoint(ip, port);
  state_->acceptor.open(endpoint.protocol(), error);
  if (!error) state_->acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) state_->acceptor.bind(endpoint, error);
  if (!error) state_->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return IoError("cannot listen on ", address, ":", port, ": ", error.message());
  }
  AcceptLoop(state_);
  return state_->acceptor.local_endpoint().port();
}

void HttpServer::AcceptLoop(const std::shared_ptr<State>& owner) {
  std::weak_ptr<State> weak = owner;
  owner->acceptor.async_accept([weak](const beast::error_code& error, tcp::socket socket) {
    std::shared_ptr<State> state = weak.lock();
    if (!state || state->stopped) return;
    if (!error) {
      if (state->connections.size() >= state->options.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        // Responses leave as several small TLS records: without TCP_NODELAY, Nagle holds the
        // last one until the client's delayed ACK (up to 40 ms).
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto connection = std::make_shared<Connection>(std::move(socket), weak);
        state->connections.insert(connection);
        connection->Start();
      }
    }
    if (error == asio::error::operation_aborted) return;
    AcceptLoop(state);
  });
}

void HttpServer::Stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  std::set<std::shared_ptr<Connection>> connections = std::move(state_->connections);
  state_->connections.clear();
  for (const auto& connection : connections) connection->Close();
}

size_t HttpServer::connection_count() const { return state_->connections.size(); }

}  // namespace cloister::node
