// Reproductions with one damaged or unusual record: bit rot below the recovery point, a
// record above the default size limit, a header of a newer kaya (what each command must
// do: recovery_point_repro_util.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>

#include "kaya/wal/format.h"
#include "testing/test_util.h"
#include "tools/recovery_point_repro_util.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

namespace fmt = kaya::wal::format;
using kaya::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace rp_repro;  // NOLINT(google-build-using-namespace)

// 1. Bit rot in the last record of a cleanly closed log. The record was acknowledged
// as durable and sits below the recovery point, so it is corruption, not a torn tail:
// verify and dump report it, and write refuses the log instead of overwriting LSN 3.
void expect_last_durable_record_is_corruption(const std::string& dir,
                                              const Segments& damaged) {
  ToolResult v = run_tool({"verify", dir});
  EXPECT_EQ(v.exit_code, kCorruption) << v.describe();
  EXPECT_TRUE(one_error_line(v, kSegment1));
  EXPECT_TRUE(one_error_line(v, kOffsetOfThirdRecord));
  EXPECT_TRUE(one_error_line(v, kLsn3));

  ToolResult d = run_tool({"dump", dir});
  EXPECT_EQ(d.exit_code, kCorruption) << d.describe();
  EXPECT_EQ(lines_of(d.out), kFirstTwoDumped);
  EXPECT_TRUE(one_error_line(d, kCorruptionKind));

  ToolResult w = run_tool({"write", dir}, "put other x\n");
  EXPECT_EQ(w.exit_code, kCorruption) << w.describe();
  EXPECT_THAT(w.out, Not(HasSubstr("OK lsn=3"))) << w.describe();
  EXPECT_TRUE(one_error_line(w, kCorruptionKind));
  EXPECT_TRUE(unchanged(damaged, segments(dir)));
}

TEST(RecoveryPointRepro, BitFlipInLastDurableRecordIsCorruption) {
  TempDir tmp;
  const std::string dir = tmp.path();
  ASSERT_TRUE(write_log(dir, kThreePuts));
  const std::string seg = segment_file(dir, 1);
  ASSERT_EQ(read_file(seg).size(), 3 * kPutBytes);
  // The last byte: the value of LSN 3.
  ASSERT_NO_FATAL_FAILURE(flip_bit(seg, 3 * kPutBytes - 1, 0x01));
  expect_last_durable_record_is_corruption(dir, segments(dir));
}

TEST(RecoveryPointRepro, BitFlipInLastDurableRecordLsnIsCorruption) {
  TempDir tmp;
  const std::string dir = tmp.path();
  ASSERT_TRUE(write_log(dir, kThreePuts));
  const std::string seg = segment_file(dir, 1);
  // LSN 3 now reads as 7, and the header checksum no longer holds.
  ASSERT_NO_FATAL_FAILURE(flip_bit(seg, kLastOfThreeOffset + fmt::kLsnOffset, 0x04));
  expect_last_durable_record_is_corruption(dir, segments(dir));
}

// 2. A record above the default --max-record-bytes (32 MiB), written with a raised
// limit. The recovery point keeps the writer's limit and readers take the larger of
// the configured and the recorded one.
constexpr std::string_view kBigKey = "big";
constexpr size_t kBigValueBytes = 40'000'000;
const std::vector<std::string> kBigLimits = {"--max-record-bytes", "50000000",
                                             "--segment-max-bytes", "50000000"};

std::string big_value() { return std::string(kBigValueBytes, 'v'); }

void write_big_log(const std::string& dir) {
  ASSERT_TRUE(write_log(dir, "put " + std::string(kBigKey) + " " + big_value() + "\n",
                        kBigLimits));
  ASSERT_EQ(std::filesystem::file_size(segment_file(dir, 1)),
            fmt::kHeaderLen + fmt::kPutFixedLen + kBigKey.size() + kBigValueBytes);
}

TEST(RecoveryPointRepro, RecordAboveDefaultLimitIsReadWithTheRecordedLimit) {
  TempDir tmp;
  const std::string dir = tmp.path();
  ASSERT_NO_FATAL_FAILURE(write_big_log(dir));
  EXPECT_TRUE(std::filesystem::exists(dir + "/" + std::string(kRecoveryPointFile)));

  ToolResult v = run_tool({"verify", dir});
  EXPECT_EQ(v.exit_code, kOk) << brief(v);
  EXPECT_THAT(v.out, HasSubstr("1 record")) << brief(v);

  ToolResult d = run_tool({"dump", dir});
  EXPECT_EQ(d.exit_code, kOk) << brief(d);
  EXPECT_TRUE(d.out == "lsn=1 sequence=1 put key=" + std::string(kBigKey) +
                           " value=" + big_value() + "\n")
      << brief(d);

  ToolResult w = run_tool({"write", dir}, "put k v\n");
  EXPECT_EQ(w.exit_code, kOk) << brief(w);
  EXPECT_THAT(w.out, StartsWith("OK lsn=2 ")) << brief(w);
}

// The same log without its recovery point, as a kaya before recovery points left it:
// nothing records the writer's limit, so the record cannot be told from a damaged
// length. It is not a torn tail to drop: readers stop and name the flag to raise.
TEST(RecoveryPointRepro, RecordAboveLimitWithoutRecoveryPointNamesTheFlag) {
  TempDir tmp;
  const std::string dir = tmp.path();
  ASSERT_NO_FATAL_FAILURE(write_big_log(dir));
  std::filesystem::remove(dir + "/" + std::string(kRecoveryPointFile));
  const Segments before = segments(dir);

  ToolResult v = run_tool({"verify", dir});
  EXPECT_EQ(v.exit_code, kInvalid) << brief(v);
  EXPECT_TRUE(one_error_line(v, kRaiseRecordLimitFlag));

  // Raising the limit as the error says reads the record.
  ToolResult raised = run_tool({"verify", dir, "--max-record-bytes", "50000000"});
  EXPECT_EQ(raised.exit_code, kOk) << brief(raised);

  ToolResult w = run_tool({"write", dir}, "put k v\n");
  EXPECT_EQ(w.exit_code, kInvalid) << brief(w);
  EXPECT_TRUE(one_error_line(w, kAnyError));
  EXPECT_TRUE(unchanged(before, segments(dir)));
}

// 3. A complete last record whose v1 header checksum holds but that this kaya cannot
// read: written by a newer kaya, so UnsupportedVersion (exit 4) wherever it is, never
// a torn tail. With the checksum left stale the same edit is a damaged header below
// the recovery point: corruption (exit 3).
struct NewerHeader {
  std::string name;
  size_t field_offset;  // of a u16 field
  uint16_t value;
  bool reseal;
  int exit_code;
  std::string_view needle;
};

void PrintTo(const NewerHeader& c, std::ostream* os) { *os << c.name; }

class RecoveryPointReproHeader : public ::testing::TestWithParam<NewerHeader> {};

TEST_P(RecoveryPointReproHeader, LastRecordIsRefusedNotDropped) {
  const NewerHeader& c = GetParam();
  TempDir tmp;
  const std::string dir = tmp.path();
  ASSERT_TRUE(write_log(dir, kThreePuts));
  const std::string seg = segment_file(dir, 1);
  ASSERT_NO_FATAL_FAILURE(set_field(seg, kLastOfThreeOffset, c.field_offset, c.value));
  if (c.reseal) {
    ASSERT_NO_FATAL_FAILURE(reseal_header(seg, kLastOfThreeOffset));
  }
  const Segments before = segments(dir);

  ToolResult v = run_tool({"verify", dir});
  EXPECT_EQ(v.exit_code, c.exit_code) << v.describe();
  EXPECT_TRUE(one_error_line(v, c.needle));
  EXPECT_TRUE(one_error_line(v, kOffsetOfThirdRecord));

  ToolResult d = run_tool({"dump", dir});
  EXPECT_EQ(d.exit_code, c.exit_code) << d.describe();
  EXPECT_TRUE(one_error_line(d, kAnyError));

  ToolResult w = run_tool({"write", dir}, "put other x\n");
  EXPECT_EQ(w.exit_code, c.exit_code) << w.describe();
  EXPECT_THAT(w.out, Not(HasSubstr("OK lsn=3"))) << w.describe();
  EXPECT_TRUE(one_error_line(w, kAnyError));
  EXPECT_TRUE(unchanged(before, segments(dir)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RecoveryPointReproHeader,
    ::testing::Values(
        NewerHeader{"version2", fmt::kVersionOffset, 2, true, kInvalid,
                    kUnsupportedVersion},
        NewerHeader{"flags1", fmt::kFlagsOffset, 1, true, kInvalid, kUnknownFlags},
        NewerHeader{"type9", fmt::kTypeOffset, 9, true, kInvalid, kUnknownType},
        NewerHeader{"version2_stale_crc", fmt::kVersionOffset, 2, false, kCorruption,
                    kBadHeaderChecksum}),
    [](const ::testing::TestParamInfo<NewerHeader>& param_info) {
      return param_info.param.name;
    });

}  // namespace
}  // namespace kaya::tool::testing
