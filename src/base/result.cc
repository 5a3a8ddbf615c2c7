#include "cloister/base/result.h"

#include <cstdio>
#include <cstdlib>

namespace cloister {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kParse:
      return "parse";
    case ErrorCode::kVerification:
      return "verification";
    case ErrorCode::kPolicy:
      return "policy";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kOutOfRange:
      return "out_of_range";
    case ErrorCode::kFailedPrecondition:
      return "failed_precondition";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kCorrupt:
      return "corrupt";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kCrypto:
      return "crypto";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

Error Error::WithContext(std::string_view context) const {
  std::string text(context);
  text.append(": ");
  text.append(message);
  return Error{code, std::move(text)};
}

std::string Error::ToString() const {
  std::string text(ErrorCodeName(code));
  text.append(": ");
  text.append(message);
  return text;
}

namespace assert_detail {

void Fail(const char* file, int line, const char* condition, std::string_view message) {
  std::fprintf(stderr, "%s:%d: ASSERT failed: %s%s%.*s\n", file, line, condition,
               message.empty() ? "" : ": ", static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace assert_detail
}  // namespace cloister
