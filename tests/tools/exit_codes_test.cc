// kaya-wal's exit code of each error kind (docs/tool.md), and the library's deprecated
// kaya::exit_code() giving the same codes until it is removed in 0.3.
#include "exit_codes.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace kaya::tool {
namespace {

const std::vector<std::pair<ErrorKind, int>> kCodes = {
    {ErrorKind::kNotFound, 2},
    {ErrorKind::kCorruption, 3},
    {ErrorKind::kInvalidArgument, 4},
    {ErrorKind::kUnsupportedVersion, 4},
    {ErrorKind::kInvariantViolation, 5},
    {ErrorKind::kLockConflict, 6},
    {ErrorKind::kIo, 1},
    {ErrorKind::kDiskFull, 1},
    {ErrorKind::kFsyncFailed, 1},
    {ErrorKind::kInternal, 1},
};

TEST(ExitCodesTest, EachKindHasTheCodeDocsToolMdGives) {
  for (const auto& [kind, code] : kCodes) {
    EXPECT_EQ(exit_code_for(kind), code) << to_string(kind);
  }
}

TEST(ExitCodesTest, TheDeprecatedLibraryFunctionGivesTheSameCodes) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  for (const auto& [kind, code] : kCodes) {
    EXPECT_EQ(kaya::exit_code(kind), code) << to_string(kind);
  }
#pragma GCC diagnostic pop
}

}  // namespace
}  // namespace kaya::tool
