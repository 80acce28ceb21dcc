// Regression tests for recovery with a persisted recovery point (wal/RECOVERY_POINT:
// the highest position known durable and the writer's max_record_bytes), run through
// the kaya-wal binary. Each test damages a log the way a disk can and states what
// verify, dump and write must then do:
//
// - damage at or below the recovery point is corruption (exit 3), never a torn tail
//   that recovery may drop and a writer may overwrite;
// - a record that is complete and whose v1 header checksum holds, but that uses a
//   version, flag or type this kaya does not know, was written by a newer kaya
//   (exit 4), whatever its position;
// - a record larger than the reader's configured limit is read when the recovery
//   point records a writer limit that allows it; without a recovery point the error
//   names the flag to raise;
// - verify and dump (with or without --from-lsn) judge the same bytes the same way;
// - a write that refuses a damaged log leaves every segment byte as it was.
//
// Read-only commands run before write, so that each sees the damaged log and not what
// a write made of it.
//
// Each expected substring of an error is one constant below.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kaya/core/crc32c.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/writer.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

namespace fmt = kaya::wal::format;
using kaya::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int kOk = 0, kCorruption = 3, kInvalid = 4;

// Substrings the one stderr error line must contain. Loose on purpose.
constexpr std::string_view kSegment1 = "segment 1";
constexpr std::string_view kOffsetOfThirdRecord = "offset 100";  // 2 records of 50
constexpr std::string_view kLsn3 = "LSN 3";
constexpr std::string_view kRaiseRecordLimitFlag = "--max-record-bytes";
constexpr std::string_view kUnsupportedVersion = "unsupported version";
constexpr std::string_view kUnknownFlags = "unknown flags";
constexpr std::string_view kUnknownType = "unknown type";
constexpr std::string_view kBadHeaderChecksum = "header checksum";
constexpr std::string_view kLsnZero = "LSN 0";
constexpr std::string_view kFirstLostSegment = "segment 3";
constexpr std::string_view kCorruptionKind = "Corruption";
// Where no wording is asked for: the one error line of the tool's error contract.
constexpr std::string_view kAnyError = "error: ";

// The recovery point's file under the log directory.
constexpr std::string_view kRecoveryPointFile = "wal/RECOVERY_POINT";

// Three Puts of 50 bytes each (40 header + 8 lengths + 1 key + 1 value): LSN n at
// offset 50 * (n - 1) of segment 1, 150 bytes in all.
constexpr std::string_view kThreePuts = "put a 1\nput b 2\nput c 3\n";
constexpr size_t kPutBytes = 50;
constexpr size_t kLastOfThreeOffset = 2 * kPutBytes;
const std::vector<std::string> kFirstTwoDumped = {"lsn=1 sequence=1 put key=a value=1",
                                                  "lsn=2 sequence=2 put key=b value=2"};

// Four strict Puts, one per segment (a 60-byte segment holds one 50-byte record).
constexpr std::string_view kFourPuts = "put a 1\nput b 2\nput c 3\nput d 4\n";
const std::vector<std::string> kOnePerSegment = {"--segment-max-bytes", "60",
                                                 "--durability", "strict"};

// ToolResult::describe() with each stream cut short: dump of a 40 MB value must not
// flood a failure message.
std::string brief(const ToolResult& r) {
  constexpr size_t kMax = 2000;
  auto cut = [](const std::string& s) {
    return s.size() <= kMax
               ? s
               : s.substr(0, kMax) + "... (" + std::to_string(s.size()) + " bytes)\n";
  };
  return "exit code " + std::to_string(r.exit_code) + "\n--- stdout:\n" + cut(r.out) +
         "--- stderr:\n" + cut(r.err);
}

::testing::AssertionResult write_log(const std::string& dir, std::string_view input,
                                     std::vector<std::string> flags = {}) {
  std::vector<std::string> args = {"write", dir};
  args.insert(args.end(), flags.begin(), flags.end());
  const ToolResult w = run_tool(args, std::string(input));
  if (w.exit_code != kOk) {
    return ::testing::AssertionFailure() << "writing the log failed: " << brief(w);
  }
  return ::testing::AssertionSuccess();
}

// Every segment file of the log (wal/*.wal, not wal/lost/) by name, with its bytes.
using Segments = std::map<std::string, std::string>;
Segments segments(const std::string& dir) {
  Segments out;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/wal")) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && fmt::parse_segment_file_name(name)) {
      out[name] = read_file(e.path().string());
    }
  }
  return out;
}

// Compares segment sets without printing their bytes (one holds 40 MB).
::testing::AssertionResult unchanged(const Segments& before, const Segments& after) {
  std::string diff;
  for (const auto& [name, bytes] : before) {
    const auto it = after.find(name);
    if (it == after.end()) {
      diff += " " + name + " is gone;";
      continue;
    }
    if (it->second == bytes) continue;
    size_t at = 0;
    while (at < bytes.size() && at < it->second.size() && bytes[at] == it->second[at]) {
      ++at;
    }
    diff += " " + name + " changed (" + std::to_string(bytes.size()) + " -> " +
            std::to_string(it->second.size()) + " bytes, first difference at offset " +
            std::to_string(at) + ");";
  }
  for (const auto& [name, bytes] : after) {
    if (!before.contains(name)) diff += " " + name + " is new;";
  }
  if (diff.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the segments changed:" << diff;
}

// Byte surgery on one file.
void edit(const std::string& path, size_t offset, std::span<const uint8_t> bytes) {
  std::string data = read_file(path);
  ASSERT_LE(offset + bytes.size(), data.size()) << path;
  std::memcpy(data.data() + offset, bytes.data(), bytes.size());
  write_file(path, data);
}

void flip_bit(const std::string& path, size_t offset, uint8_t mask) {
  std::string data = read_file(path);
  ASSERT_LT(offset, data.size()) << path;
  data[offset] = static_cast<char>(data[offset] ^ mask);
  write_file(path, data);
}

template <typename T>
void set_field(const std::string& path, size_t record_offset, size_t field_offset,
               T value) {
  uint8_t le[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) le[i] = static_cast<uint8_t>(value >> (8 * i));
  edit(path, record_offset + field_offset, le);
}

// Recomputes the header CRC of the record at `record_offset` (CRC32C of the 40 header
// bytes with the CRC field zeroed), so that a changed field passes the checksum and
// the check after it is the one exercised.
void reseal_header(const std::string& path, size_t record_offset) {
  const std::string data = read_file(path);
  ASSERT_LE(record_offset + fmt::kHeaderLen, data.size()) << path;
  uint8_t header[fmt::kHeaderLen];
  std::memcpy(header, data.data() + record_offset, fmt::kHeaderLen);
  std::memset(header + fmt::kHeaderCrcOffset, 0, 4);
  set_field<uint32_t>(path, record_offset, fmt::kHeaderCrcOffset,
                      kaya::crc32c::value(header));
}

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
