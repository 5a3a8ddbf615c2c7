// Clock: time as an input. Code that needs the time takes a Clock& (or a timestamp argument), so
// tests and the simulator control it and no safety decision hides a clock read.
//
// Wall time (UnixMillis) is what the host tells us and may lie (HOST_ATTACKS.md H8): use it for
// certificate validity and logs, never for consensus safety. Monotonic time is for timeouts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cloister/base/result.h"

namespace cloister {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since 1970-01-01T00:00:00Z, as the host reports it.
  virtual int64_t UnixMillis() const = 0;
  // Nanoseconds from an arbitrary origin; never decreases.
  virtual int64_t MonotonicNanos() const = 0;
};

// The operating system's clocks. Only the node layer should construct one.
class SystemClock final : public Clock {
 public:
  int64_t UnixMillis() const override;
  int64_t MonotonicNanos() const override;
};

// A clock that moves only when told to (tests, simulator).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t unix_millis = 0) : unix_millis_(unix_millis) {}
  int64_t UnixMillis() const override { return unix_millis_; }
  int64_t MonotonicNanos() const override { return monotonic_nanos_; }
  void AdvanceMillis(int64_t millis) {
    unix_millis_ += millis;
    monotonic_nanos_ += millis * 1'000'000;
  }
  void SetUnixMillis(int64_t unix_millis) { unix_millis_ = unix_millis; }

 private:
  int64_t unix_millis_;
  int64_t monotonic_nanos_ = 0;
};

// Parses an RFC 3339 timestamp ("2024-05-01T12:00:00Z"; fractional seconds are accepted and
// dropped, numeric offsets such as "+02:00" are applied) into Unix seconds.
Result<int64_t> ParseRfc3339(std::string_view text);
// Formats Unix seconds as "YYYY-MM-DDTHH:MM:SSZ".
std::string FormatRfc3339(int64_t unix_seconds);

}  // namespace cloister
