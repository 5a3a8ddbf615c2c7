// HttpsClient: a small blocking HTTPS/1.1 client over TLS 1.3, for the joiner (which talks to
// the service before its own loop runs) and for the command line's client transport.
//
// The server is authenticated by a PeerVerifier (tls.h), typically "the certificate is signed by
// the pinned service certificate": host names play no part, because a service is identified by
// its key, not by DNS. Every request has a deadline and a bound on the response size, so a
// stalled or hostile server cannot hold the caller forever.
//
// Connections are kept alive (HTTP/1.1 persistent connections): a client holds at most one open
// connection and reuses it while requests go to the same server, so a stream of requests pays
// one TCP and TLS handshake. A connection the server closed while idle (idle timeout, restart)
// is detected when the next request finds it closed before any byte of a response arrived; the
// request is then sent once more on a new connection (it never reached the server). Any other
// failure drops the connection and is returned. A response with "Connection: close" closes it.
//
// Thread safety: none (the connection is state); use one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cloister/base/result.h"
#include "cloister/crypto/x509.h"
#include "cloister/node/config.h"
#include "cloister/node/tls.h"

namespace cloister::node {

struct HttpsResult {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  [[nodiscard]] std::optional<std::string> Header(const std::string& name) const;
};

struct HttpsClientOptions {
  std::chrono::milliseconds timeout{15'000};
  size_t max_response_bytes = 16u << 20;
  // Keep the connection open between requests (false: one connection per request).
  bool keep_alive = true;
};

class HttpsClient {
 public:
  // A client trusting servers whose certificate `verifier` accepts. It presents a throwaway
  // self-signed certificate (the API does not authenticate clients by certificate).
  static Result<std::unique_ptr<HttpsClient>> Create(PeerVerifier verifier,
                                                     HttpsClientOptions options = {});

  // One request to `server`. Transport failures (refused, timeout, TLS) are errors; any HTTP
  // status is a result.
  Result<HttpsResult> Request(const HostPort& server, const std::string& method,
                              const std::string& target, const std::string& body = "",
                              const std::string& content_type = "application/json");

  // TCP+TLS connections this client has opened so far (tests, benchmarks).
  [[nodiscard]] uint64_t connections_opened() const;

  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;
  ~HttpsClient();

 private:
  HttpsClient() = default;
  struct State;
  std::unique_ptr<State> state_;
};

// HttpClient: the same client over plain HTTP/1.1 (no TLS, no authentication of the server), with
// the same keep-alive, deadline and size bounds. For load generation against services that speak
// plain HTTP on loopback (etcd's JSON gateway in `cloister bench --etcd`); never for Cloister's
// API, whose server must be authenticated. Thread safety: none; one client per thread.
class HttpClient {
 public:
  explicit HttpClient(HttpsClientOptions options = {});
  Result<HttpsResult> Request(const HostPort& server, const std::string& method,
                              const std::string& target, const std::string& body = "",
                              const std::string& content_type = "application/json");
  [[nodiscard]] uint64_t connections_opened() const;

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A verifier accepting exactly the certificates issued (signed) by `issuer`.
PeerVerifier SignedBy(crypto::Certificate issuer);

}  // namespace cloister::node
