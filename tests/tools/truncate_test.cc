// kaya-wal truncate, run as a child process: what it removes, what it prints, and its
// exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kaya/io/fault_disk.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

using kaya::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

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

// A log of LSNs 1..20 in small segments whose truncation after LSN 8 stopped right
// after its intent became durable (the first removal's directory sync fails): the
// intent is pending, the highest segment may be gone, the others above the cut are
// there. Returns the segment the cut falls in.
uint64_t leave_pending_truncation(const std::string& dir) {
  auto file = io::FileDisk::open(dir);
  EXPECT_TRUE(file.ok());
  if (!file.ok()) return 0;
  io::FaultDisk disk(**file);
  wal::WalConfig config;
  config.segment_max_bytes = 200;
  {
    auto w = wal::Writer::open(config, disk);
    EXPECT_TRUE(w.ok());
    if (!w.ok()) return 0;
    for (int i = 1; i <= 20; ++i) {
      std::string key = "k";
      key += std::to_string(i);
      EXPECT_TRUE(
          (*w)->append(wal::Payload::put(key, "v"), wal::DurabilityMode::kStrict).ok());
    }
    disk.fail_nth(io::FaultKind::kFsyncFailure, 4);
    EXPECT_FALSE((*w)->truncate_after(Lsn(8)).ok());
  }
  auto rp = wal::read_recovery_point(**file);
  EXPECT_TRUE(rp.ok() && rp->has_value() && (*rp)->truncation_pending())
      << "the sync count of the intent changed";
  return rp.ok() && rp->has_value() ? (*rp)->durable.segment_id : 0;
}

TEST(KayaWalTruncate, InspectAndVerifyReportAPendingTruncationAndJudgeTheLogAtItsCut) {
  TempDir tmp;
  const uint64_t cut_segment = leave_pending_truncation(tmp.path());
  ASSERT_NE(cut_segment, 0u);
  // Damage above the cut is not the log's: recovery removes it unread.
  {
    auto disk = io::FileDisk::open(tmp.path());
    KAYA_ASSERT_OK(disk);
    auto ids = wal::list_segments(**disk);
    KAYA_ASSERT_OK(ids);
    ASSERT_GT(ids->back(), cut_segment) << "no segment above the cut is left";
    const uint8_t junk[4] = {'j', 'u', 'n', 'k'};
    KAYA_ASSERT_OK((*disk)->write_at(
        io::RelativePath::parse(wal::format::segment_path(cut_segment + 1)).value(), 0,
        io::ByteView(junk, sizeof(junk))));
  }
  ToolResult inspect = run_tool({"inspect", tmp.path()});
  ASSERT_EQ(inspect.exit_code, kOk) << inspect.describe();
  EXPECT_THAT(inspect.out, HasSubstr("a truncation after LSN 8 (epoch 1) is pending: "
                                     "recovery first removes the "));
  EXPECT_THAT(inspect.out, HasSubstr("where the pending truncation cuts it"));
  EXPECT_THAT(inspect.out, HasSubstr("total: 8 records, LSN 1..8, "));
  EXPECT_THAT(inspect.out, HasSubstr("; clean\n"));
  EXPECT_THAT(inspect.out, HasSubstr("then recovery keeps 8 records (next LSN 9)"));
  EXPECT_THAT(inspect.out, Not(HasSubstr("problems")));

  ToolResult json = run_tool({"inspect", tmp.path(), "--json"});
  ASSERT_EQ(json.exit_code, kOk) << json.describe();
  EXPECT_THAT(json.out, HasSubstr("\"pending_truncation\":{\"after\":8,\"epoch\":1,"));
  EXPECT_THAT(json.out, HasSubstr("\"anomalies\":[]"));
  EXPECT_THAT(json.out, HasSubstr("\"truncation_cut\":"));

  ToolResult verify = run_tool({"verify", tmp.path()});
  ToolResult dry = run_tool({"recover", tmp.path(), "--dry-run"});
  EXPECT_EQ(verify.exit_code, kOk) << verify.describe();
  EXPECT_EQ(verify.exit_code, dry.exit_code) << dry.describe();
  EXPECT_THAT(verify.out, HasSubstr("ok: " + tmp.path() + ": 8 records, LSN 1..8, "));
  EXPECT_THAT(verify.out, HasSubstr("; clean; a truncation after LSN 8 (epoch 1) is "
                                    "pending"));
  ToolResult verify_json = run_tool({"verify", tmp.path(), "--json"});
  EXPECT_EQ(verify_json.exit_code, kOk) << verify_json.describe();
  EXPECT_THAT(verify_json.out, HasSubstr("\"verdict\":\"clean\""));
  EXPECT_THAT(verify_json.out, HasSubstr("\"pending_truncation\":{\"after\":8,"));

  // Once recovery has completed it, nothing is pending.
  ToolResult recover = run_tool({"recover", tmp.path()});
  ASSERT_EQ(recover.exit_code, kOk) << recover.describe();
  ToolResult after = run_tool({"verify", tmp.path(), "--json"});
  EXPECT_EQ(after.exit_code, kOk) << after.describe();
  EXPECT_THAT(after.out, HasSubstr("\"pending_truncation\":null"));
  EXPECT_THAT(after.out, HasSubstr("\"records\":8,"));
}

}  // namespace
}  // namespace kaya::tool::testing
