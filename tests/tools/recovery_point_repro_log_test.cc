// Reproductions with a damaged log shape (a hole, LSN 0, zeroed durable segments) and
// verify next to a live writer (what each command must do: recovery_point_repro_util.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/writer.h"
#include "testing/strings.h"
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

// 4a. An empty middle segment: a hole in the log, whichever LSN a reader starts from.
TEST(RecoveryPointRepro, EmptyMiddleSegmentIsCorruptionForVerifyAndDump) {
  TempDir tmp;
  const std::string dir = tmp.path();
  ASSERT_TRUE(write_log(dir, kFourPuts, kOnePerSegment));
  ASSERT_TRUE(std::filesystem::exists(segment_file(dir, 4)));
  std::filesystem::resize_file(segment_file(dir, 2), 0);

  ToolResult v = run_tool({"verify", dir});
  EXPECT_EQ(v.exit_code, kCorruption) << v.describe();
  EXPECT_TRUE(one_error_line(v, kCorruptionKind));

  ToolResult d = run_tool({"dump", dir});
  EXPECT_EQ(d.exit_code, kCorruption) << d.describe();
  EXPECT_TRUE(one_error_line(d, kCorruptionKind));

  ToolResult from3 = run_tool({"dump", dir, "--from-lsn", "3"});
  EXPECT_EQ(from3.exit_code, kCorruption) << from3.describe();
  EXPECT_TRUE(one_error_line(from3, kCorruptionKind));
}

// 4b. LSNs start at 1: a first record with LSN 0 (checksum intact) is corruption for
// every command alike, and write does not continue after it.
TEST(RecoveryPointRepro, FirstRecordWithLsnZeroIsCorruptionForEveryCommand) {
  TempDir tmp;
  const std::string dir = tmp.path();
  ASSERT_TRUE(write_log(dir, "put a 1\n"));
  const std::string seg = segment_file(dir, 1);
  ASSERT_NO_FATAL_FAILURE(set_field<uint64_t>(seg, 0, fmt::kLsnOffset, 0));
  ASSERT_NO_FATAL_FAILURE(reseal_header(seg, 0));
  const Segments before = segments(dir);

  ToolResult v = run_tool({"verify", dir});
  EXPECT_EQ(v.exit_code, kCorruption) << v.describe();
  EXPECT_TRUE(one_error_line(v, kLsnZero));

  ToolResult d = run_tool({"dump", dir});
  EXPECT_EQ(d.exit_code, kCorruption) << d.describe();
  EXPECT_TRUE(one_error_line(d, kLsnZero));

  ToolResult w = run_tool({"write", dir}, "put other x\n");
  EXPECT_EQ(w.exit_code, kCorruption) << w.describe();
  EXPECT_TRUE(one_error_line(w, kAnyError));
  EXPECT_TRUE(unchanged(before, segments(dir)));
}

// 5. Lost writes: the first 50 bytes of segments 3 and 4 (LSN 3 and 4, acknowledged
// as durable) read back as zeros. Zeros below the recovery point are not preallocated
// space: the log lost acknowledged records, and write must not hand out LSN 3 again.
TEST(RecoveryPointRepro, ZeroedDurableSegmentsAtTheEndAreCorruption) {
  TempDir tmp;
  const std::string dir = tmp.path();
  ASSERT_TRUE(write_log(dir, kFourPuts, kOnePerSegment));
  const uint8_t zeros[kPutBytes] = {};
  for (uint64_t id : {3, 4}) {
    ASSERT_NO_FATAL_FAILURE(edit(segment_file(dir, id), 0, zeros));
  }
  const Segments before = segments(dir);
  ASSERT_EQ(before.size(), 4u);

  ToolResult v = run_tool({"verify", dir});
  EXPECT_EQ(v.exit_code, kCorruption) << v.describe();
  EXPECT_TRUE(one_error_line(v, kFirstLostSegment));

  ToolResult d = run_tool({"dump", dir});
  EXPECT_EQ(d.exit_code, kCorruption) << d.describe();
  EXPECT_EQ(lines_of(d.out), kFirstTwoDumped);
  EXPECT_TRUE(one_error_line(d, kAnyError));

  ToolResult w = run_tool({"write", dir}, "put z 9\n");
  EXPECT_EQ(w.exit_code, kCorruption) << w.describe();
  EXPECT_THAT(w.out, Not(HasSubstr("OK lsn=3"))) << w.describe();
  EXPECT_TRUE(one_error_line(w, kCorruptionKind));
  EXPECT_TRUE(unchanged(before, segments(dir)));
}

// verify next to a live writer: beyond the recovery point a write in progress is a
// torn tail, never corruption, and there is no second judgement to disagree with:
// every run exits 0 (it once exited 5 in 10-90 % of runs).
TEST(RecoveryPointRepro, VerifyNextToALiveWriterAlwaysExitsZero) {
  kaya::testing::TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  ASSERT_TRUE(disk.ok()) << disk.error().to_string();
  wal::WalConfig config;
  config.segment_max_bytes = 64 << 10;  // rotations while verify runs
  config.max_record_bytes = 4096;
  auto writer = wal::Writer::open(config, **disk);
  ASSERT_TRUE(writer.ok()) << writer.error().to_string();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> appended{0};
  std::thread appender([&] {
    const std::string value(700, 'v');
    for (uint64_t i = 0; !stop.load(); ++i) {
      const auto mode =
          i % 3 == 0 ? wal::DurabilityMode::kStrict : wal::DurabilityMode::kRelaxed;
      if (!(*writer)
               ->append(
                   wal::Payload::put(kaya::testing::cat("k", std::to_string(i)), value),
                   mode)
               .ok()) {
        return;
      }
      // Paced, so that the log stays small enough for verify to read it 20 times.
      if (++appended % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  for (int run = 0; run < 20; ++run) {
    ToolResult v = run_tool({"verify", dir.path()});
    EXPECT_EQ(v.exit_code, 0) << "run " << run << "\n" << v.describe();
    if (v.exit_code != 0) break;
  }
  stop = true;
  appender.join();
  EXPECT_GT(appended.load(), 0u);
  ASSERT_TRUE((*writer)->close().ok());
  ToolResult after = run_tool({"verify", dir.path()});
  EXPECT_EQ(after.exit_code, 0) << after.describe();
  EXPECT_THAT(after.out, ::testing::HasSubstr("clean"));
}

// What verify says of a tail beyond the recovery point depends on whether a writer
// holds the log: while one does, the tail is a write in progress ("being_written");
// once it has closed, the same bytes are a torn tail. Exit 0 either way.
TEST(RecoveryPointRepro, VerifySaysBeingWrittenWhileAWriterHoldsTheLog) {
  kaya::testing::TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  ASSERT_TRUE(disk.ok()) << disk.error().to_string();
  wal::WalConfig config;
  config.preallocate_bytes = 0;  // records go through write(): the file ends at them
  auto writer = wal::Writer::open(config, **disk);
  ASSERT_TRUE(writer.ok()) << writer.error().to_string();
  for (const char* key : {"a", "b", "c"}) {
    auto r = (*writer)->append(wal::Payload::put(key, "1"), wal::DurabilityMode::kStrict);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
  // The start of a record being written: 20 bytes of a header, beyond the point.
  {
    std::ofstream out(segment_file(dir.path(), 1), std::ios::binary | std::ios::app);
    out << std::string(20, '\xab');
  }

  ToolResult live = run_tool({"verify", dir.path()});
  EXPECT_EQ(live.exit_code, kOk) << live.describe();
  EXPECT_THAT(live.out, StartsWith("ok: ")) << live.describe();
  EXPECT_THAT(live.out, HasSubstr("; being_written; a writer holds the log"))
      << live.describe();
  ToolResult json = run_tool({"verify", "--json", dir.path()});
  EXPECT_EQ(json.exit_code, kOk) << json.describe();
  EXPECT_THAT(json.out, HasSubstr("\"verdict\":\"being_written\"")) << json.describe();
  EXPECT_THAT(json.out, HasSubstr("\"writer_active\":true")) << json.describe();
  ToolResult inspect = run_tool({"inspect", dir.path()});
  EXPECT_EQ(inspect.exit_code, kOk) << inspect.describe();
  EXPECT_THAT(inspect.out, HasSubstr("being_written")) << inspect.describe();

  ASSERT_TRUE((*writer)->close().ok());
  ToolResult closed = run_tool({"verify", "--json", dir.path()});
  EXPECT_EQ(closed.exit_code, kOk) << closed.describe();
  EXPECT_THAT(closed.out, HasSubstr("\"verdict\":\"torn_tail\"")) << closed.describe();
  EXPECT_THAT(closed.out, HasSubstr("\"writer_active\":false")) << closed.describe();
}

}  // namespace
}  // namespace kaya::tool::testing
