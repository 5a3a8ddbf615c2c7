// HttpsClient: a small blocking HTTPS/1.1 client over TLS 1.3, for the joiner (which talks to
// the service before its own loop runs) and for the command line's client transport.
//
// The server is authenticated by a PeerVerifier (tls.h), typically "the certificate is signed by
// the pinned service certificate": host names play no part, because a service is identified by
// its key, not by DNS. Each request uses a fresh connection; every request has a deadline and a
// bound on the response size, so a stalled or hostile server cannot hold the caller forever.
#pragma once

#include <chrono>
#include <map>
#include <memory>
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

  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;
  ~HttpsClient();

 private:
  HttpsClient() = default;
  struct State;
  std::unique_ptr<State> state_;
};

// A verifier accepting exactly the certificates issued (signed) by `issuer`.
PeerVerifier SignedBy(crypto::Certificate issuer);

}  // namespace cloister::node
