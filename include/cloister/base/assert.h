// ASSERT and DEBUG_ASSERT: invariants of our own code.
//
// ASSERT stays on in release builds and stops the process with file, line, condition and
// message: inside a TEE a broken invariant is worse than a crash (a crash loses availability;
// corrupted consensus state can lose safety). DEBUG_ASSERT is for checks too expensive for
// production and compiles away under NDEBUG (its condition is still parsed, never evaluated).
//
// Never ASSERT on input from outside the process (network, files, evidence, clients): such input
// gets a Result error that says what was wrong.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

namespace cloister::assert_detail {

[[noreturn]] void Fail(const char* file, int line, const char* condition, std::string_view message);

inline void AppendPart(std::string& out, std::string_view part) { out.append(part); }
inline void AppendPart(std::string& out, const char* part) { out.append(part); }
inline void AppendPart(std::string& out, const std::string& part) { out.append(part); }
inline void AppendPart(std::string& out, char part) { out.push_back(part); }
template <typename T>
requires std::is_arithmetic_v<T>
void AppendPart(std::string& out, T part) { out.append(std::to_string(part)); }

template <typename... Parts>
[[noreturn]] void FailWith(const char* file, int line, const char* condition,
                           const Parts&... parts) {
  std::string message;
  (AppendPart(message, parts), ...);
  Fail(file, line, condition, message);
}

}  // namespace cloister::assert_detail

#define ASSERT(condition, ...)                                                    \
  do {                                                                            \
    if (!(condition)) [[unlikely]] {                                              \
      ::cloister::assert_detail::FailWith(__FILE__, __LINE__,                     \
                                          #condition __VA_OPT__(, ) __VA_ARGS__); \
    }                                                                             \
  } while (false)

#define UNREACHABLE(...) \
  ::cloister::assert_detail::FailWith(__FILE__, __LINE__, "unreachable" __VA_OPT__(, ) __VA_ARGS__)

#ifdef NDEBUG
#define DEBUG_ASSERT(condition, ...) \
  do {                               \
    if (false && (condition)) {      \
    }                                \
  } while (false)
#else
#define DEBUG_ASSERT(condition, ...) ASSERT(condition __VA_OPT__(, ) __VA_ARGS__)
#endif
