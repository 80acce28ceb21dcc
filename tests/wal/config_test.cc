#include "kaya/wal/config.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "kaya/core/config.h"  // the forwarding header kept until 0.3
#include "kaya/io/disk.h"
#include "kaya/wal/format.h"
#include "testing/test_util.h"

namespace kaya::wal {
namespace {

void expect_invalid(const WalConfig& config, const std::string& field) {
  Status s = config.validate();
  ASSERT_FALSE(s.ok()) << "expected " << field << " to be refused";
  EXPECT_EQ(s.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(s.error().message().find(field), std::string::npos) << s.error().message();
}

TEST(ConfigTest, DefaultsAreValid) {
  WalConfig config;
  EXPECT_EQ(config.segment_max_bytes, 64u << 20);
  EXPECT_EQ(config.max_record_bytes, 32u << 20);
  EXPECT_TRUE(config.validate().ok());
}

TEST(ConfigTest, NonsenseIsRefusedNamingTheField) {
  WalConfig zero_segment;
  zero_segment.segment_max_bytes = 0;
  expect_invalid(zero_segment, "segment_max_bytes");

  WalConfig tiny_record;
  tiny_record.max_record_bytes = 39;
  expect_invalid(tiny_record, "max_record_bytes");

  WalConfig huge_record;
  huge_record.segment_max_bytes = UINT64_MAX;
  huge_record.max_record_bytes = (1ull << 32) + 40;
  expect_invalid(huge_record, "max_record_bytes");

  WalConfig long_wait;
  long_wait.batch.flush_interval_us = 60'000'000;
  expect_invalid(long_wait, "batch.flush_interval_us");
}

// A record larger than a segment goes alone into a fresh one (as in KayaDB): setting
// only segment_max_bytes is enough.
TEST(ConfigTest, RecordsMayBeLargerThanASegment) {
  WalConfig small_segments;
  small_segments.segment_max_bytes = 1 << 20;
  EXPECT_GT(small_segments.max_record_bytes, small_segments.segment_max_bytes);
  KAYA_EXPECT_OK(small_segments.validate());
  small_segments.segment_max_bytes = format::kHeaderLen;
  KAYA_EXPECT_OK(small_segments.validate());
}

TEST(ConfigTest, ADiskLimitRefusesSegmentsAndRecordsThatDoNotFitNamingItsSource) {
  io::DiskLimits limits;
  limits.max_file_bytes = 8u << 20;
  limits.max_file_bytes_source = "the object size limit of test://disk";
  WalConfig fits;
  fits.segment_max_bytes = 8u << 20;
  fits.max_record_bytes = 1u << 20;
  EXPECT_TRUE(fits.validate(limits).ok());
  EXPECT_TRUE(WalConfig{}.validate(io::DiskLimits{}).ok()) << "no limit of its own";

  const WalConfig too_big{};  // 64 MiB segments
  Status s = too_big.validate(limits);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(s.error().message().find("segment_max_bytes"), std::string::npos)
      << s.error().message();
  EXPECT_NE(s.error().message().find("the object size limit of test://disk"),
            std::string::npos)
      << s.error().message();

  WalConfig nonsense = fits;
  nonsense.segment_max_bytes = 0;
  ASSERT_FALSE(nonsense.validate(limits).ok()) << "validate(limits) includes validate()";
}

// The kaya:: names stay, deprecated, for one minor release: the same types.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static_assert(std::is_same_v<kaya::WalConfig, WalConfig>);
static_assert(std::is_same_v<kaya::BatchConfig, BatchConfig>);
static_assert(std::is_same_v<kaya::DurabilityMode, DurabilityMode>);
#pragma GCC diagnostic pop

}  // namespace
}  // namespace kaya::wal
