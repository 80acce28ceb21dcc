// KAYA_ASSERT and KAYA_ASSERT_ELSE: a failed invariant is an InvariantViolation naming
// file, line and condition (release behaviour), or an abort saying the same (Debug and
// sanitizer builds).
#include "core/assert.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace kaya {
namespace {

using ::testing::MatchesRegex;

Status check_order(uint64_t durable, uint64_t written) {
  KAYA_ASSERT(durable <= written);
  return ok_status();
}

// The writer's form: the handler sees the error first.
Status check_with_handler(uint64_t durable, uint64_t written, std::string* seen) {
  auto handler = [&](Error e) -> Status {
    *seen = e.message();
    return e;
  };
  KAYA_ASSERT_ELSE(durable <= written, handler);
  return ok_status();
}

class AssertTest : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = core::assertions_abort(); }
  void TearDown() override { core::set_assertions_abort(saved_); }
  bool saved_ = false;
};

TEST_F(AssertTest, AHoldingInvariantCostsNothingAndReturnsOk) {
  core::set_assertions_abort(true);
  EXPECT_TRUE(check_order(1, 2).ok());
  std::string seen;
  EXPECT_TRUE(check_with_handler(2, 2, &seen).ok());
  EXPECT_EQ(seen, "");
}

TEST_F(AssertTest, InReleaseAFailureIsAnInvariantViolationNamingFileLineAndCondition) {
  core::set_assertions_abort(false);
  Status s = check_order(3, 2);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::kInvariantViolation);
  EXPECT_THAT(s.error().message(),
              MatchesRegex("invariant violated at .*assert_test\\.cc:[0-9]+: "
                           "durable <= written .*"));
  std::string seen;
  Status handled = check_with_handler(3, 2, &seen);
  EXPECT_EQ(handled.error().kind(), ErrorKind::kInvariantViolation);
  EXPECT_EQ(seen, handled.error().message());
}

TEST_F(AssertTest, WhereAssertionsAbortAFailureAbortsNamingFileAndLine) {
  EXPECT_DEATH(
      {
        core::set_assertions_abort(true);
        (void)check_order(3, 2);
      },
      "kaya: invariant violated at .*assert_test\\.cc:[0-9]+: durable <= written");
}

}  // namespace
}  // namespace kaya
