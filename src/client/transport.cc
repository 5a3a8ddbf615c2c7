#include "cloister/client/transport.h"

#include <nlohmann/json.hpp>

namespace cloister::client {
namespace {

ErrorCode CodeForStatus(unsigned status) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kConflict;
    case 413:
      return ErrorCode::kOutOfRange;
    case 503:
      return ErrorCode::kUnavailable;
    case 504:
      return ErrorCode::kTimeout;
    default:
      return status >= 500 ? ErrorCode::kInternal : ErrorCode::kInvalidArgument;
  }
}

std::optional<ErrorCode> CodeForName(std::string_view name) {
  for (int value = static_cast<int>(ErrorCode::kInvalidArgument);
       value <= static_cast<int>(ErrorCode::kInternal); ++value) {
    const auto code = static_cast<ErrorCode>(value);
    if (ErrorCodeName(code) == name) return code;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> Response::Header(const std::string& name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

Error ErrorFromResponse(const Response& response) {
  Error error{CodeForStatus(response.status),
              "HTTP " + std::to_string(response.status) + " without an error body"};
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error;
  auto detail = body.find("error");
  if (detail == body.end() || !detail->is_object()) return error;
  auto code = detail->find("code");
  auto message = detail->find("message");
  if (code != detail->end() && code->is_string()) {
    if (std::optional<ErrorCode> known = CodeForName(code->get<std::string>())) {
      error.code = *known;
    }
  }
  if (message != detail->end() && message->is_string()) {
    error.message = "HTTP " + std::to_string(response.status) + ": " + message->get<std::string>();
  }
  return error;
}

}  // namespace cloister::client
