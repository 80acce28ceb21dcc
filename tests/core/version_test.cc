#include "kaya/core/version.h"

#include <gtest/gtest.h>

#include <string>

#include "kaya/wal/format.h"

namespace kaya {
namespace {

TEST(VersionTest, RunTimeVersionIsTheProjectVersion) {
  EXPECT_EQ(version(), KAYA_PROJECT_VERSION);
  const Version v = version_numbers();
  EXPECT_EQ(std::to_string(v.major) + "." + std::to_string(v.minor) + "." +
                std::to_string(v.patch),
            KAYA_PROJECT_VERSION);
  EXPECT_EQ(v.major, kVersionMajor);
  EXPECT_EQ(v.minor, kVersionMinor);
}

TEST(VersionTest, FormatVersionIsTheOneInFormatH) {
  EXPECT_EQ(wal::format_version(), wal::format::kVersion);
  EXPECT_EQ(wal::format_version(), 1);
}

}  // namespace
}  // namespace kaya
