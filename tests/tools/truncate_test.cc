// kaya-wal truncate, run as a child process: what it removes, what it prints, and its
// exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

using kaya::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kOk = 0, kNotFound = 2, kInvalid = 4, kLock = 6;

// Writes `n` records (put k1 v .. put kn v) to the log in `dir`, in small segments.
void write_records(const std::string& dir, int n) {
  std::string input;
  for (int i = 1; i <= n; ++i) input += "put k" + std::to_string(i) + " v\n";
  ToolResult w = run_tool({"write", dir, "--segment-max-bytes", "200"}, input);
  ASSERT_EQ(w.exit_code, kOk) << w.describe();
}

std::vector<std::string> dumped_keys(const std::string& dir) {
  ToolResult d = run_tool({"dump", dir});
  EXPECT_EQ(d.exit_code, kOk) << d.describe();
  std::vector<std::string> keys;
  for (const std::string& line : lines_of(d.out)) {
    const size_t at = line.find("key=");
    if (at != std::string::npos)
      keys.push_back(line.substr(at + 4, line.find(' ', at) - at - 4));
  }
  return keys;
}

TEST(KayaWalTruncate, RemovesTheRecordsAfterTheLsnAndTheNextWriteContinues) {
  TempDir tmp;
  write_records(tmp.path(), 10);
  ToolResult t = run_tool({"truncate", tmp.path(), "--after", "3"});
  ASSERT_EQ(t.exit_code, kOk) << t.describe();
  EXPECT_THAT(t.out, HasSubstr("truncated after LSN 3: removed 7 records"));
  EXPECT_THAT(t.out, HasSubstr("next LSN 4, truncation epoch 1"));
  EXPECT_THAT(dumped_keys(tmp.path()), ElementsAre("k1", "k2", "k3"));
  ToolResult w = run_tool({"write", tmp.path()}, "put again v\n");
  ASSERT_EQ(w.exit_code, kOk) << w.describe();
  EXPECT_THAT(w.out, HasSubstr("lsn=4 "));
}

TEST(KayaWalTruncate, JsonReportsWhatWasRemoved) {
  TempDir tmp;
  write_records(tmp.path(), 4);
  ToolResult t = run_tool({"truncate", tmp.path(), "--after", "0", "--json"});
  ASSERT_EQ(t.exit_code, kOk) << t.describe();
  EXPECT_THAT(t.out, HasSubstr("\"truncated_after\":0"));
  EXPECT_THAT(t.out, HasSubstr("\"next_lsn\":1"));
  EXPECT_THAT(t.out, HasSubstr("\"records_removed\":4"));
  EXPECT_THAT(t.out, HasSubstr("\"epoch\":1"));
  EXPECT_TRUE(dumped_keys(tmp.path()).empty());
}

TEST(KayaWalTruncate, BeyondTheEndExits4AndChangesNothing) {
  TempDir tmp;
  write_records(tmp.path(), 5);
  ToolResult t = run_tool({"truncate", tmp.path(), "--after", "6"});
  EXPECT_EQ(t.exit_code, kInvalid) << t.describe();
  EXPECT_TRUE(one_error_line(t, "beyond the end of the log, whose last LSN is 5"));
  EXPECT_EQ(dumped_keys(tmp.path()).size(), 5u);
}

TEST(KayaWalTruncate, UsageMistakesExit4) {
  TempDir tmp;
  write_records(tmp.path(), 2);
  ToolResult missing = run_tool({"truncate", tmp.path()});
  EXPECT_EQ(missing.exit_code, kInvalid) << missing.describe();
  EXPECT_TRUE(one_error_line(missing, "--after LSN is required"));
  ToolResult bad = run_tool({"truncate", tmp.path(), "--after", "x"});
  EXPECT_EQ(bad.exit_code, kInvalid) << bad.describe();
  EXPECT_EQ(dumped_keys(tmp.path()).size(), 2u);
}

TEST(KayaWalTruncate, NoLogExits2) {
  TempDir tmp;
  ToolResult t = run_tool({"truncate", tmp.path() + "/none", "--after", "1"});
  EXPECT_EQ(t.exit_code, kNotFound) << t.describe();
}

TEST(KayaWalTruncate, RefusedWhileAWriterHoldsTheLog) {
  TempDir tmp;
  write_records(tmp.path(), 3);
  auto disk = io::FileDisk::open(tmp.path());
  KAYA_ASSERT_OK(disk);
  auto writer = wal::Writer::open(wal::WalConfig{}, **disk);
  KAYA_ASSERT_OK(writer);
  ToolResult t = run_tool({"truncate", tmp.path(), "--after", "1"});
  EXPECT_EQ(t.exit_code, kLock) << t.describe();
  EXPECT_TRUE(one_error_line(t, "LockConflict"));
  KAYA_ASSERT_OK((*writer)->close());
  EXPECT_EQ(dumped_keys(tmp.path()).size(), 3u);
}

}  // namespace
}  // namespace kaya::tool::testing
