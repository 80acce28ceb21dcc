// kaya-wal's own output and messages: a write to stdout that fails is an error (never
// a silent exit 0), and what the user typed is quoted in bounded length, with the
// problem named.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/test_util.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

using kaya::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// A log of `n` strict puts in DIR.
void write_log(const std::string& dir, int n) {
  std::string lines;
  for (int i = 1; i <= n; ++i) {
    lines += "put key" + std::to_string(i) + " value" + std::to_string(i) + "\n";
  }
  ToolResult w = run_tool({"write", dir}, lines);
  ASSERT_EQ(w.exit_code, kOk) << w.describe();
}

// /dev/full takes no byte: every write to it fails with ENOSPC.
constexpr const char* kFull = "/dev/full";

TEST(KayaWalOutput, EveryCommandReportsAStdoutItCannotWrite) {
  TempDir dir;
  write_log(dir.path(), 3);
  const std::string segment = segment_file(dir.path(), 1);
  const std::vector<std::vector<std::string>> commands = {
      {"dump", dir.path()},
      {"dump", dir.path(), "--json"},
      {"dump", segment},
      {"inspect", dir.path()},
      {"inspect", dir.path(), "--json"},
      {"inspect", segment},
      {"verify", dir.path()},
      {"verify", dir.path(), "--json"},
      {"recover", dir.path(), "--dry-run"},
      {"recover", dir.path(), "--dry-run", "--json"},
      {"--version"},
      {"--help"},
      {"dump", "--help"},
  };
  for (const std::vector<std::string>& args : commands) {
    std::string shown;
    for (const std::string& a : args) shown += a + " ";
    SCOPED_TRACE(shown);
    // Sanity: the same command succeeds with a stdout it can write.
    ToolResult fine = run_tool(args);
    EXPECT_EQ(fine.exit_code, kOk) << fine.describe();
    ToolResult r = run_tool_to_file(args, "", kFull);
    EXPECT_EQ(r.exit_code, kIo) << r.describe();
    EXPECT_TRUE(one_error_line(r, "writing to stdout: No space left on device"));
  }
}

TEST(KayaWalOutput, WriteStopsAppendingWhenItCannotAcknowledge) {
  TempDir dir;
  ToolResult r = run_tool_to_file({"write", dir.path()},
                                  "put a 1\nput b 2\nput c 3\nput d 4\n", kFull);
  EXPECT_EQ(r.exit_code, kIo) << r.describe();
  // The error names the line whose acknowledgement was lost, and its LSN.
  EXPECT_TRUE(one_error_line(r, "acknowledging stdin line 1 (LSN 1)"));
  EXPECT_THAT(r.err, HasSubstr("writing to stdout: No space left on device"));
  // Appending stopped at once: the unreported record is in the log (it was durable
  // before its acknowledgement could be printed), nothing after it.
  ToolResult dump = run_tool({"dump", dir.path()});
  ASSERT_EQ(dump.exit_code, kOk) << dump.describe();
  EXPECT_EQ(lines_of(dump.out),
            std::vector<std::string>{"lsn=1 sequence=1 put key=a value=1"});
}

TEST(KayaWalOutput, AHugeUnknownWordIsQuotedShort) {
  TempDir dir;
  const std::string word(1 << 20, 'w');
  ToolResult r = run_tool({"write", dir.path()}, word + " a b\n");
  EXPECT_EQ(r.exit_code, kInvalid) << r.describe().substr(0, 2000);
  EXPECT_TRUE(
      one_error_line(r, "(1048576 bytes)\" (expected put, delete, noop or bytes)"));
  EXPECT_LT(r.err.size(), 400u) << "the error line echoes the input whole";
}

TEST(KayaWalOutput, LinesOfSpacesAreNamedAsSuch) {
  TempDir dir;
  ToolResult blank = run_tool({"write", dir.path()}, "put a 1\n   \n");
  EXPECT_EQ(blank.exit_code, kInvalid) << blank.describe();
  EXPECT_TRUE(one_error_line(blank, "stdin line 2"));
  EXPECT_THAT(blank.err, HasSubstr("the line holds only spaces"));
  EXPECT_THAT(blank.err, Not(HasSubstr("unknown command \"\"")));

  ToolResult indented = run_tool({"write", dir.path()}, " put a 1\n");
  EXPECT_EQ(indented.exit_code, kInvalid) << indented.describe();
  EXPECT_TRUE(one_error_line(indented, "stdin line 1"));
  EXPECT_THAT(indented.err, HasSubstr("the line starts with a space"));
}

TEST(KayaWalOutput, NumbersOutOfRangeAreSaidToBe) {
  TempDir dir;
  ToolResult big =
      run_tool({"write", dir.path(), "--segment-max-bytes", "18446744073709551616"}, "");
  EXPECT_EQ(big.exit_code, kInvalid) << big.describe();
  EXPECT_TRUE(
      one_error_line(big,
                     "--segment-max-bytes 18446744073709551616 is out of range [0, "
                     "18446744073709551615]"));

  ToolResult word = run_tool({"write", dir.path(), "--segment-max-bytes", "12k"}, "");
  EXPECT_EQ(word.exit_code, kInvalid) << word.describe();
  EXPECT_TRUE(one_error_line(word, "\"12k\" is not a non-negative decimal integer"));
}

TEST(KayaWalOutput, ARefusedSegmentSizeIsOneErrorLine) {
  TempDir dir;
  ToolResult r = run_tool({"write", dir.path(), "--segment-max-bytes", "0"}, "");
  EXPECT_EQ(r.exit_code, kInvalid) << r.describe();
  EXPECT_TRUE(one_error_line(r, "segment_max_bytes"));

  // A small segment size alone is accepted as it is: nothing else changes.
  ToolResult ok = run_tool({"write", dir.path(), "--segment-max-bytes", "4096"}, "");
  EXPECT_EQ(ok.exit_code, kOk) << ok.describe();
  EXPECT_EQ(ok.err, "");
}

}  // namespace
}  // namespace kaya::tool::testing
