#include "kaya/core/status.h"

#include <gtest/gtest.h>

namespace kaya {
namespace {

TEST(StatusTest, ExitCodesFollowTheSpec) {
  EXPECT_EQ(exit_code(ErrorKind::kNotFound), 2);
  EXPECT_EQ(exit_code(ErrorKind::kCorruption), 3);
  EXPECT_EQ(exit_code(ErrorKind::kInvalidArgument), 4);
  EXPECT_EQ(exit_code(ErrorKind::kUnsupportedVersion), 4);
  EXPECT_EQ(exit_code(ErrorKind::kInvariantViolation), 5);
  EXPECT_EQ(exit_code(ErrorKind::kLockConflict), 6);
  EXPECT_EQ(exit_code(ErrorKind::kIo), 1);
  EXPECT_EQ(exit_code(ErrorKind::kDiskFull), 1);
  EXPECT_EQ(exit_code(ErrorKind::kFsyncFailed), 1);
  EXPECT_EQ(exit_code(ErrorKind::kInternal), 1);
}

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

}  // namespace
}  // namespace kaya
