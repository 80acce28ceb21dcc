// kaya-wal dump, run as a child process: where it starts, what it shows of a damaged
// log, and segment files printed on their own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "testing/test_util.h"
#include "tools/json_lite.h"
#include "tools/tool_runner.h"
#include "tools/write_dump_util.h"

namespace kaya::tool::testing {
namespace {

using kaya::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace write_dump;  // NOLINT(google-build-using-namespace)

TEST(KayaWalDump, FromLsnStartsThereAndRefusesWhatIsNotInTheLog) {
  TempDir tmp;
  ASSERT_EQ(write(tmp.path(), "put a 1\nput b 2\nput c 3\nput d 4\n").exit_code, kOk);
  ToolResult d = run_tool({"dump", tmp.path(), "--from-lsn", "3"});
  ASSERT_EQ(d.exit_code, kOk) << d.describe();
  EXPECT_THAT(lines_of(d.out), ElementsAre(StartsWith("lsn=3 "), StartsWith("lsn=4 ")));
  ToolResult end = run_tool({"dump", tmp.path(), "--from-lsn=5"});
  EXPECT_EQ(end.exit_code, kOk) << end.describe();
  EXPECT_EQ(end.out, "");
  ToolResult past = run_tool({"dump", tmp.path(), "--from-lsn", "6"});
  EXPECT_EQ(past.exit_code, kInvalid);
  EXPECT_TRUE(one_error_line(past, "LSN 6 is past the end"));
  ToolResult zero = run_tool({"dump", tmp.path(), "--from-lsn", "0"});
  EXPECT_EQ(zero.exit_code, kInvalid);
  EXPECT_TRUE(one_error_line(zero, "--from-lsn"));
}

TEST(KayaWalDump, ReleasedLsnIsNotFoundAndTheDefaultStartsAtTheFirstKept) {
  TempDir tmp;
  std::string input;
  for (int i = 0; i < 9; ++i) input += "put key" + std::to_string(i) + " value\n";
  ASSERT_EQ(write(tmp.path(), input, {"--segment-max-bytes", "200"}).exit_code, kOk);
  // What release_before leaves on disk: the oldest segment gone.
  std::filesystem::remove(segment_file(tmp.path(), 1));
  ToolResult released = run_tool({"dump", tmp.path(), "--from-lsn", "1"});
  EXPECT_EQ(released.exit_code, kNotFound) << released.describe();
  EXPECT_TRUE(one_error_line(released, "LSN 1 has been released"));
  ToolResult d = run_tool({"dump", tmp.path()});
  ASSERT_EQ(d.exit_code, kOk) << d.describe();
  const std::vector<std::string> lines = lines_of(d.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines.front(), StartsWith("lsn=4 "));
  EXPECT_THAT(lines.back(), StartsWith("lsn=9 "));
}

TEST(KayaWalDump, MissingSegmentShowsTheRecordsBeforeTheHole) {
  TempDir tmp;
  std::string input;
  for (int i = 0; i < 9; ++i) input += "put key" + std::to_string(i) + " value\n";
  ASSERT_EQ(write(tmp.path(), input, {"--segment-max-bytes", "200"}).exit_code, kOk);
  std::filesystem::remove(segment_file(tmp.path(), 2));
  ToolResult d = run_tool({"dump", tmp.path()});
  EXPECT_EQ(d.exit_code, kCorruption) << d.describe();
  EXPECT_THAT(lines_of(d.out), ElementsAre(StartsWith("lsn=1 "), StartsWith("lsn=2 "),
                                           StartsWith("lsn=3 ")));
  EXPECT_TRUE(one_error_line(d, "segment 2 is missing"));
}

TEST(KayaWalDump, TornTailEndsTheOutputWithANote) {
  TempDir tmp;
  install_golden(tmp.path(), "torn.wal");
  ToolResult d = run_tool({"dump", tmp.path()});
  EXPECT_EQ(d.exit_code, kOk) << d.describe();
  EXPECT_EQ(d.out, "lsn=1 sequence=1 put key=user:1 value=Ada\n");
  EXPECT_THAT(d.err, StartsWith("note: the log ends early: segment 1 ("));
  EXPECT_THAT(d.err, HasSubstr("at offset 57 (LSN 2): torn tail: partial payload"));
}

TEST(KayaWalDump, CorruptionShowsTheValidPrefixThenTheError) {
  TempDir tmp;
  install_golden(tmp.path(), "bad_payload_crc.wal");
  ToolResult d = run_tool({"dump", tmp.path(), "--json"});
  EXPECT_EQ(d.exit_code, kCorruption) << d.describe();
  std::vector<Json> records = json_lines(d.out);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["key"].str(), "user:1");
  EXPECT_TRUE(one_error_line(d, "offset 57"));
  EXPECT_THAT(d.err, HasSubstr("0000000000000001.wal"));
}

// Damaged twice: a record in segment 1, and segment 3 missing. The records stop at the
// damage the reader meets first, and the error is that damage's; from an LSN past the
// damaged record (in segment 2), the records up to the hole, then the hole's error, as
// the reader reads a log damaged only once from there.
TEST(KayaWalDump, TheErrorIsThatOfTheDamageWhereTheRecordsStop) {
  TempDir tmp;
  std::string input;
  for (int i = 0; i < 12; ++i) {
    input += "put key-" + std::to_string(i) + " value-" + std::to_string(i) + "\n";
  }
  ASSERT_EQ(write(tmp.path(), input, {"--segment-max-bytes", "180"}).exit_code, kOk);
  ASSERT_TRUE(std::filesystem::exists(segment_file(tmp.path(), 4)));
  std::string bytes = read_file(segment_file(tmp.path(), 1));
  bytes[60 + 50] ^= 0x01;  // in the payload of the second record
  write_file(segment_file(tmp.path(), 1), bytes);
  std::filesystem::remove(segment_file(tmp.path(), 3));

  ToolResult d = run_tool({"dump", tmp.path()});
  EXPECT_EQ(d.exit_code, kCorruption) << d.describe();
  EXPECT_EQ(d.out, "lsn=1 sequence=1 put key=key-0 value=value-0\n");
  EXPECT_TRUE(one_error_line(d, "at offset 60 (LSN 2)"));
  ToolResult from4 = run_tool({"dump", tmp.path(), "--from-lsn", "4"});
  EXPECT_EQ(from4.exit_code, kCorruption) << from4.describe();
  EXPECT_THAT(lines_of(from4.out), ElementsAre(StartsWith("lsn=4 "), StartsWith("lsn=5 "),
                                               StartsWith("lsn=6 ")));
  EXPECT_TRUE(one_error_line(from4, "segment 3 is missing"));
}

// Nine 60-byte Puts (LSN i + 1 is "put key-i value-i"), three per 180-byte segment.
std::string nine_records_in_three_segments(const std::string& dir) {
  std::string input;
  for (int i = 0; i < 9; ++i) {
    input += "put key-" + std::to_string(i) + " value-" + std::to_string(i) + "\n";
  }
  ToolResult w = write(dir, input, {"--segment-max-bytes", "180"});
  EXPECT_EQ(w.exit_code, kOk) << w.describe();
  EXPECT_TRUE(std::filesystem::exists(segment_file(dir, 3)));
  return input;
}

// What recovery moved aside can be printed for salvage: a segment file in wal/lost/,
// or any copy of a segment, dumps like a log, with a note that it was read alone.
TEST(KayaWalDump, ASegmentFileOnItsOwnIsPrintedWithANote) {
  TempDir tmp;
  nine_records_in_three_segments(tmp.path());
  const std::string copy = tmp.path() + "/copy-of-segment-1";
  write_file(copy, read_file(segment_file(tmp.path(), 1)));
  // A missing segment at or below the recovery point is corruption; point-in-time
  // recovery keeps segment 1 and moves segment 3 to wal/lost/.
  std::filesystem::remove(segment_file(tmp.path(), 2));
  ToolResult pit = run_tool({"recover", tmp.path(), "--mode", "point-in-time"});
  ASSERT_EQ(pit.exit_code, kOk) << pit.describe();
  const std::string lost = tmp.path() + "/wal/lost/0000000000000003.wal";
  ASSERT_TRUE(std::filesystem::exists(lost)) << pit.describe();

  ToolResult d = run_tool({"dump", lost});
  ASSERT_EQ(d.exit_code, kOk) << d.describe();
  EXPECT_THAT(lines_of(d.out),
              ElementsAre("lsn=7 sequence=7 put key=key-6 value=value-6",
                          "lsn=8 sequence=8 put key=key-7 value=value-7",
                          "lsn=9 sequence=9 put key=key-8 value=value-8"));
  EXPECT_EQ(d.err, "note: " + lost +
                       " was read on its own as one segment file: LSN continuity with "
                       "other files is not checked\n");
  ToolResult j = run_tool({"dump", lost, "--json", "--from-lsn", "8"});
  ASSERT_EQ(j.exit_code, kOk) << j.describe();
  std::vector<Json> records = json_lines(j.out);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["lsn"].u64(), 8u);
  EXPECT_EQ(records[0]["key"].str(), "key-7");
  EXPECT_EQ(records[1]["value"].str(), "value-8");

  // The name does not matter: a copy of segment 1 elsewhere.
  ToolResult c = run_tool({"dump", copy});
  ASSERT_EQ(c.exit_code, kOk) << c.describe();
  EXPECT_THAT(lines_of(c.out), ElementsAre(StartsWith("lsn=1 "), StartsWith("lsn=2 "),
                                           StartsWith("lsn=3 ")));
}

// Damage inside the file: the records before it, then the error naming the file and
// offset (exit 3), as for a log; an LSN out of order within the file is damage too.
TEST(KayaWalDump, DamageInASegmentFileIsReportedWithItsOffset) {
  TempDir tmp;
  nine_records_in_three_segments(tmp.path());
  const std::string file = tmp.path() + "/damaged.wal";
  std::string bytes = read_file(segment_file(tmp.path(), 1));
  bytes[60 + 50] ^= 0x01;  // in the payload of the second record
  write_file(file, bytes);
  ToolResult d = run_tool({"dump", file});
  EXPECT_EQ(d.exit_code, kCorruption) << d.describe();
  EXPECT_EQ(d.out, "lsn=1 sequence=1 put key=key-0 value=value-0\n");
  EXPECT_TRUE(one_error_line(d, file + ": corrupt at offset 60: bad payload checksum"));

  // Segment 1's first record, then segment 3's: LSN 1 then 7.
  const std::string spliced = tmp.path() + "/spliced.wal";
  write_file(spliced, read_file(segment_file(tmp.path(), 1)).substr(0, 60) +
                          read_file(segment_file(tmp.path(), 3)));
  ToolResult o = run_tool({"dump", spliced});
  EXPECT_EQ(o.exit_code, kCorruption) << o.describe();
  EXPECT_EQ(o.out, "lsn=1 sequence=1 put key=key-0 value=value-0\n");
  EXPECT_TRUE(one_error_line(o, spliced + ": corrupt at offset 60"));
}

}  // namespace
}  // namespace kaya::tool::testing
