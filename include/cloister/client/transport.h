// Transport: how the client library reaches a Cloister service, without sockets of its own.
//
// The client layer may not open sockets (DESIGN.md: only node does), so every request goes
// through this interface. The command line implements it over node::HttpsClient, which
// authenticates the server by the pinned service certificate; tests implement it in memory.
//
// Contract of an implementation: one call is one HTTP exchange with `server` ("host:port"); a
// transport failure (refused, timeout, TLS) is an error, and any HTTP status, including 4xx and
// 5xx, is a Response. Header names are lower case. Implementations need not be thread-safe: use
// one per thread.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "cloister/base/result.h"

namespace cloister::client {

struct Response {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  // The header's value, or nullopt. `name` must be lower case.
  [[nodiscard]] std::optional<std::string> Header(const std::string& name) const;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<Response> Request(const std::string& server, const std::string& method,
                                   const std::string& target, const std::string& body) = 0;
};

// The Error an error response carries: the API's body {"error": {"code", "message"}} (docs/api.md)
// mapped back to an ErrorCode, or a code derived from the HTTP status when the body has none.
Error ErrorFromResponse(const Response& response);

}  // namespace cloister::client
