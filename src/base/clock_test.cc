// Proves RFC 3339 parsing and formatting agree with known instants and reject malformed text.
#include "cloister/base/clock.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

TEST(Rfc3339Test, KnownInstants) {
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339("2000-02-29T12:34:56Z"), 951827696);
  EXPECT_EQ(*ParseRfc3339("2026-11-25T03:08:26.123+00:00"), 1795576106);
  EXPECT_EQ(*ParseRfc3339("2026-11-25T05:08:26+02:00"), 1795576106);
  EXPECT_EQ(FormatRfc3339(951827696), "2000-02-29T12:34:56Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
}

TEST(Rfc3339Test, RoundTrip) {
  for (int64_t t = -86400 * 400; t < int64_t{86400} * 365 * 200; t += 86400 * 37 + 3601) {
    EXPECT_EQ(*ParseRfc3339(FormatRfc3339(t)), t);
  }
}

TEST(Rfc3339Test, RejectsMalformed) {
  EXPECT_FALSE(ParseRfc3339("2023-02-29T00:00:00Z").ok());  // not a leap year
  EXPECT_FALSE(ParseRfc3339("2024-13-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2024-01-01 00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2024-01-01T00:00:00").ok());
  EXPECT_FALSE(ParseRfc3339("2024-01-01T00:00:00Zjunk").ok());
}

TEST(ManualClockTest, MovesOnlyWhenTold) {
  ManualClock clock(1000);
  EXPECT_EQ(clock.UnixMillis(), 1000);
  clock.AdvanceMillis(5);
  EXPECT_EQ(clock.UnixMillis(), 1005);
  EXPECT_EQ(clock.MonotonicNanos(), 5'000'000);
}

}  // namespace
}  // namespace cloister
