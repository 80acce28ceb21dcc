#include "kaya/core/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace kaya {
namespace {

Result<int> half(int v) {
  if (v % 2 != 0) return Error(ErrorKind::kInvalidArgument, "odd: " + std::to_string(v));
  return v / 2;
}

Result<int> quarter(int v) {
  KAYA_ASSIGN_OR_RETURN(int h, half(v));
  KAYA_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

TEST(StatusTest, ResultCarriesValueOrError) {
  auto good = quarter(8);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 2);
  auto bad = quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "odd: 3");
  EXPECT_EQ(bad.error().to_string(), "InvalidArgument: odd: 3");
  EXPECT_EQ(bad.error().with_context("segment 7").message(), "segment 7: odd: 3");
}

Status check_positive(int v) {
  if (v <= 0) return Error(ErrorKind::kInvalidArgument, "not positive");
  return ok_status();
}

Status check_both(int a, int b) {
  KAYA_RETURN_IF_ERROR(check_positive(a));
  KAYA_RETURN_IF_ERROR(check_positive(b));
  return ok_status();
}

TEST(StatusTest, ReturnIfErrorPropagates) {
  EXPECT_TRUE(check_both(1, 2).ok());
  Status s = check_both(1, -2);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "not positive");
}

TEST(StatusTest, ValueOrGivesTheValueOrTheFallback) {
  EXPECT_EQ(quarter(8).value_or(-1), 2);
  EXPECT_EQ(quarter(6).value_or(-1), -1);
  const Result<std::string> text = std::string("kept");
  EXPECT_EQ(text.value_or("fallback"), "kept");
  const Result<std::string> none = Error(ErrorKind::kNotFound, "gone");
  EXPECT_EQ(none.value_or("fallback"), "fallback");
  // Move-only values leave an rvalue Result.
  Result<std::unique_ptr<int>> owned = std::make_unique<int>(7);
  std::unique_ptr<int> got = std::move(owned).value_or(nullptr);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(*got, 7);
  Result<std::unique_ptr<int>> missing = Error(ErrorKind::kNotFound, "no int");
  EXPECT_EQ(std::move(missing).value_or(nullptr), nullptr);
}

// Asking a Result for what it does not hold is the API's one abort, in every build
// (this suite also runs in the optimised build, where an assert would be gone): a
// message naming the call and the error held, then abort.
TEST(StatusDeathTest, ValueOfAnErrorAbortsNamingTheError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Result<int> bad = quarter(6);
  EXPECT_DEATH((void)bad.value(),
               "kaya: Result::value\\(\\) called on a Result holding an error "
               "\\(InvalidArgument: odd: 3\\); check ok\\(\\) first");
  Result<std::string> moved = Error(ErrorKind::kNotFound, "gone");
  EXPECT_DEATH((void)std::move(moved).value(), "holding an error \\(NotFound: gone\\)");
  EXPECT_DEATH((void)*quarter(2),
               "Result::value\\(\\) called on a Result holding an error");
}

TEST(StatusDeathTest, ErrorOfASuccessAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Result<int> good = quarter(8);
  EXPECT_DEATH((void)good.error(),
               "kaya: Result::error\\(\\) called on a Result holding no error");
  const Status fine = ok_status();
  EXPECT_DEATH((void)fine.error(),
               "kaya: Status::error\\(\\) called on a Result holding no error");
}

}  // namespace
}  // namespace kaya
