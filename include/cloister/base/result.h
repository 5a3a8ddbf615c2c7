// Result<T> and Error: how every Cloister function reports failure.
//
// Result<T> holds either a T or an Error, shaped like C++23 std::expected so that code can move
// to it later: has_value(), value(), error(), operator*, operator->. An Error carries a coarse
// code (for programs) and a message that says exactly what was wrong (for people). Errors are
// values: no exception is thrown by Cloister code paths. Results are [[nodiscard]]; ignoring one
// is a compile error under -Werror.
//
//   Result<Bytes> ReadFrame(ByteSpan input);
//   ASSIGN_OR_RETURN(Bytes frame, ReadFrame(input));   // returns the Error on failure
//   RETURN_IF_ERROR(Check(frame));
//
// Invariant: a Result holds exactly one of value or error. value() on an error (or error() on a
// value) is a programming error and stops the process (ASSERT), never undefined behaviour.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "cloister/base/assert.h"

namespace cloister {

enum class ErrorCode : int {
  kInvalidArgument = 1,  // the caller's input is malformed (bad encoding, wrong length)
  kParse,                // bytes from outside do not follow the format
  kVerification,         // a signature, MAC, chain or binding does not verify
  kPolicy,               // genuine, but a policy refuses it
  kNotFound,             // no such key, file, entry or member
  kAlreadyExists,        // a duplicate where uniqueness is required
  kOutOfRange,           // an index, size or time outside the allowed range
  kFailedPrecondition,   // the system is not in a state that allows the operation
  kConflict,             // a concurrent change won (optimistic concurrency, raft term)
  kPermissionDenied,     // the caller is not allowed
  kUnavailable,          // try again later (no leader, not ready, busy)
  kUnsupported,          // a version, algorithm or platform we do not handle
  kCorrupt,              // stored data failed an integrity check
  kIo,                   // the operating system refused (file, socket)
  kTimeout,              // a deadline passed
  kCrypto,               // the crypto library failed (not an input problem)
  kInternal,             // a bug: should not happen
};

// Stable lower-case name of a code ("invalid_argument", ...), used in logs and JSON.
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Returns a copy whose message is "context: message", to say where an error passed through.
  [[nodiscard]] Error WithContext(std::string_view context) const;
  // "code_name: message".
  [[nodiscard]] std::string ToString() const;

  friend bool operator==(const Error&, const Error&) = default;
};

// Shorthands: return InvalidArgument("nonce is ", n, " bytes, expected 12");
namespace error_detail {
template <typename... Parts>
std::string Concat(const Parts&... parts) {
  std::string out;
  auto append = [&out](const auto& part) {
    using Part = std::decay_t<decltype(part)>;
    if constexpr (std::is_convertible_v<Part, std::string_view>) {
      out.append(std::string_view(part));
    } else if constexpr (std::is_same_v<Part, char>) {
      out.push_back(part);
    } else {
      out.append(std::to_string(part));
    }
  };
  (append(parts), ...);
  return out;
}
}  // namespace error_detail

#define CLOISTER_ERROR_FACTORY(Name, Code)                         \
  template <typename... Parts>                                     \
  Error Name(const Parts&... parts) {                              \
    return Error{ErrorCode::Code, error_detail::Concat(parts...)}; \
  }
CLOISTER_ERROR_FACTORY(InvalidArgumentError, kInvalidArgument)
CLOISTER_ERROR_FACTORY(ParseError, kParse)
CLOISTER_ERROR_FACTORY(VerificationError, kVerification)
CLOISTER_ERROR_FACTORY(PolicyError, kPolicy)
CLOISTER_ERROR_FACTORY(NotFoundError, kNotFound)
CLOISTER_ERROR_FACTORY(AlreadyExistsError, kAlreadyExists)
CLOISTER_ERROR_FACTORY(OutOfRangeError, kOutOfRange)
CLOISTER_ERROR_FACTORY(FailedPreconditionError, kFailedPrecondition)
CLOISTER_ERROR_FACTORY(ConflictError, kConflict)
CLOISTER_ERROR_FACTORY(PermissionDeniedError, kPermissionDenied)
CLOISTER_ERROR_FACTORY(UnavailableError, kUnavailable)
CLOISTER_ERROR_FACTORY(UnsupportedError, kUnsupported)
CLOISTER_ERROR_FACTORY(CorruptError, kCorrupt)
CLOISTER_ERROR_FACTORY(IoError, kIo)
CLOISTER_ERROR_FACTORY(TimeoutError, kTimeout)
CLOISTER_ERROR_FACTORY(CryptoError, kCrypto)
CLOISTER_ERROR_FACTORY(InternalError, kInternal)
#undef CLOISTER_ERROR_FACTORY

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  // Implicit from a value or an Error, so functions can `return value;` or `return error;`.
  Result(const T& value) : state_(std::in_place_index<0>, value) {}          // NOLINT
  Result(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}    // NOLINT
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
           !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, Result<T>>)
      Result(U&& value)
      : state_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT

  [[nodiscard]] bool has_value() const { return state_.index() == 0; }
  [[nodiscard]] bool ok() const { return has_value(); }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    ASSERT(has_value(), "value() on an error Result: ", std::get<1>(state_).ToString());
    return std::get<0>(state_);
  }
  const T& value() const& {
    ASSERT(has_value(), "value() on an error Result: ", std::get<1>(state_).ToString());
    return std::get<0>(state_);
  }
  T&& value() && {
    ASSERT(has_value(), "value() on an error Result: ", std::get<1>(state_).ToString());
    return std::get<0>(std::move(state_));
  }
  const Error& error() const& {
    ASSERT(!has_value(), "error() on a Result holding a value");
    return std::get<1>(state_);
  }
  Error&& error() && {
    ASSERT(!has_value(), "error() on a Result holding a value");
    return std::get<1>(std::move(state_));
  }
  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;
  Result() = default;
  Result(Error error) : error_(std::move(error)), has_error_(true) {}  // NOLINT

  [[nodiscard]] bool has_value() const { return !has_error_; }
  [[nodiscard]] bool ok() const { return !has_error_; }
  explicit operator bool() const { return !has_error_; }
  void value() const { ASSERT(!has_error_, "value() on an error Result: ", error_.ToString()); }
  const Error& error() const& {
    ASSERT(has_error_, "error() on a successful Result");
    return error_;
  }
  Error&& error() && {
    ASSERT(has_error_, "error() on a successful Result");
    return std::move(error_);
  }

 private:
  Error error_;
  bool has_error_ = false;
};

using Status = Result<void>;
inline Status OkStatus() { return {}; }

}  // namespace cloister

#define CLOISTER_CONCAT_INNER(a, b) a##b
#define CLOISTER_CONCAT(a, b) CLOISTER_CONCAT_INNER(a, b)

// Evaluates `expr` (a Result<...>); on error returns that Error from the enclosing function.
#define RETURN_IF_ERROR(expr)                     \
  do {                                            \
    auto&& cloister_status_ = (expr);             \
    if (!cloister_status_.has_value()) {          \
      return std::move(cloister_status_).error(); \
    }                                             \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, F());` declares/assigns x from a Result, or returns its Error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  CLOISTER_ASSIGN_OR_RETURN_IMPL(CLOISTER_CONCAT(cloister_result_, __LINE__), lhs, expr)
#define CLOISTER_ASSIGN_OR_RETURN_IMPL(result, lhs, expr) \
  auto result = (expr);                                   \
  if (!result.has_value()) {                              \
    return std::move(result).error();                     \
  }                                                       \
  lhs = std::move(result).value()
