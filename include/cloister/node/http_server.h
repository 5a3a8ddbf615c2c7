// HttpServer: the client-facing HTTPS/JSON endpoint (Boost.Beast over TLS 1.3).
//
// Requests are routed by method and path to handlers that answer asynchronously (a write waits
// for its transaction to commit before it responds). Everything a client sends is bounded before
// it is buffered: the header block, the body, the number of connections and the time a
// connection may sit idle. A request that breaks a bound gets a 4xx JSON error that says which
// bound, and the connection is closed; nothing reaches a handler. Error bodies have the CCF shape
// {"error": {"code": "...", "message": "..."}}.
//
// Threading: the server and its connections live on one io_context; handlers run on it and may
// call `respond` later (at most once) from that same io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cloister/base/result.h"
#include "cloister/crypto/x509.h"

namespace cloister::node {

struct HttpRequest {
  std::string method;                          // upper case, e.g. "GET"
  std::string target;                          // as sent, e.g. "/tx/status?id=2.14"
  std::string path;                            // target without the query, percent-decoded
  std::map<std::string, std::string> query;    // percent-decoded; a repeated key keeps the last
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  // The certificate the client presented in the TLS handshake, if any.
  std::optional<crypto::Certificate> client_certificate;

  // The value of query parameter `name`, or NotFound naming it.
  [[nodiscard]] Result<std::string> Query(const std::string& name) const;
  // The value of header `name` (any case), or nullopt.
  [[nodiscard]] std::optional<std::string> Header(const std::string& name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Text(unsigned status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
  // A JSON body given as already-serialised text.
  static HttpResponse Json(unsigned status, std::string json_text);
  // {"error": {"code": code, "message": message}} with `status`.
  static HttpResponse ErrorBody(unsigned status, const std::string& code,
                                const std::string& message);
  // Maps an Error to a status and the error body whose code is ErrorCodeName(error.code):
  // invalid_argument, parse, verification, out_of_range, unsupported -> 400; permission_denied,
  // policy -> 403; not_found -> 404; conflict, already_exists, failed_precondition -> 409;
  // unavailable -> 503; timeout -> 504; anything else -> 500.
  static HttpResponse FromError(const Error& error);
};

using HttpRespond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(const HttpRequest& request, HttpRespond respond)>;

// Exact-path and prefix routes. Exact routes win over prefixes; the longest prefix wins among
// prefixes. A path with a route under another method answers 405, an unknown path 404.
class HttpRouter {
 public:
  void Add(const std::string& method, const std::string& path, HttpHandler handler);
  void AddPrefix(const std::string& method, const std::string& prefix, HttpHandler handler);
  void Dispatch(const HttpRequest& request, HttpRespond respond) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    bool prefix;
    HttpHandler handler;
  };
  std::vector<Route> routes_;
};

struct HttpServerOptions {
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  size_t max_connections = 1024;
  std::chrono::milliseconds idle_timeout{30'000};
  // Time allowed for a handler to respond before the server answers 504 itself.
  std::chrono::milliseconds handler_timeout{30'000};
};

class HttpServer {
 public:
  // `context` and `router` must outlive the server.
  HttpServer(boost::asio::io_context& io, boost::asio::ssl::context& context,
             const HttpRouter& router, HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting; returns the bound port (useful with port 0).
  Result<uint16_t> Listen(const std::string& address, uint16_t port);
  // Stops accepting and closes every connection.
  void Stop();

  [[nodiscard]] size_t connection_count() const;

  class Connection;

 private:
  struct State;
  static void AcceptLoop(const std::shared_ptr<State>& owner);
  std::shared_ptr<State> state_;
};

// Percent-decodes `text` ('+' stays '+'); fails on a malformed escape.
Result<std::string> PercentDecode(std::string_view text);

}  // namespace cloister::node
