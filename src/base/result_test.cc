// Proves that Result/Error carry values and errors faithfully and that the macros propagate.
#include "cloister/base/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace cloister {
namespace {

Result<int> ParsePositive(int x) {
  if (x <= 0) return InvalidArgumentError("expected a positive number, got ", x);
  return x;
}

Result<int> Doubled(int x) {
  ASSIGN_OR_RETURN(const int value, ParsePositive(x));
  return value * 2;
}

Status CheckBoth(int a, int b) {
  RETURN_IF_ERROR(ParsePositive(a));
  RETURN_IF_ERROR(ParsePositive(b));
  return OkStatus();
}

TEST(ResultTest, HoldsValue) {
  const Result<int> r = ParsePositive(3);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 3);
  EXPECT_EQ(r.value_or(7), 3);
}

TEST(ResultTest, HoldsErrorWithMessage) {
  const Result<int> r = ParsePositive(-2);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "expected a positive number, got -2");
  EXPECT_EQ(r.error().ToString(), "invalid_argument: expected a positive number, got -2");
  EXPECT_EQ(r.value_or(7), 7);
}

TEST(ResultTest, AssignOrReturnPropagates) {
  EXPECT_EQ(*Doubled(4), 8);
  const Result<int> bad = Doubled(0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST(ResultTest, ReturnIfErrorPropagatesFirstError) {
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  const Status s = CheckBoth(1, -5);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("-5"), std::string::npos);
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

TEST(ResultTest, WithContextPrefixesMessage) {
  const Error e = ParseError("bad tag").WithContext("cbor");
  EXPECT_EQ(e.code, ErrorCode::kParse);
  EXPECT_EQ(e.message, "cbor: bad tag");
}

TEST(ResultDeathTest, ValueOnErrorAborts) {
  const Result<int> r = ParsePositive(-1);
  EXPECT_DEATH((void)r.value(), "value\\(\\) on an error Result");
}

TEST(AssertDeathTest, AssertStopsWithMessage) {
  const int x = 3;
  EXPECT_DEATH(ASSERT(x == 4, "x was ", x), "ASSERT failed: x == 4: x was 3");
}

}  // namespace
}  // namespace cloister
