// kaya-wal on a RADOS location: the commands work as on a directory, a second writer
// exits with code 6 naming the holder of the log, and bench sets kaya against raw
// rados_append calls and leaves no baseline object behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "kaya/wal/writer.h"
#include "rados_test_util.h"
#include "testing/test_util.h"
#include "tools/json_lite.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string location_of(const io::RadosDiskOptions& options) {
  return "rados://" + options.pool + "/" + options.prefix +
         "?ns=" + options.object_namespace;
}

TEST(RadosToolTest, WriteDumpVerifyOnARadosLocation) {
  const std::string log = location_of(rados_testing::test_options("tool"));
  ToolResult w = run_tool({"write", log}, "put user:1 Ada\ndelete user:2\n");
  ASSERT_EQ(w.exit_code, 0) << w.describe();
  EXPECT_EQ(w.out,
            "OK lsn=1 sequence=1 durable=true\nOK lsn=2 sequence=2 durable=true\n");
  ToolResult d = run_tool({"dump", log, "--json"});
  ASSERT_EQ(d.exit_code, 0) << d.describe();
  EXPECT_EQ(
      d.out,
      "{\"lsn\":1,\"sequence\":1,\"type\":\"put\",\"key\":\"user:1\",\"value\":"
      "\"Ada\"}\n{\"lsn\":2,\"sequence\":2,\"type\":\"delete\",\"key\":\"user:2\"}\n");
  ToolResult v = run_tool({"verify", log});
  EXPECT_EQ(v.exit_code, 0) << v.describe();
  ToolResult i = run_tool({"inspect", log});
  EXPECT_EQ(i.exit_code, 0) << i.describe();
  EXPECT_NE(i.out.find("clean"), std::string::npos) << i.out;
}

TEST(RadosToolTest, MissingLogIsNotFound) {
  const std::string log = location_of(rados_testing::test_options("tool-missing"));
  ToolResult d = run_tool({"dump", log});
  EXPECT_EQ(d.exit_code, 2) << d.describe();
  EXPECT_TRUE(one_error_line(d, "holds no kaya log"));
}

TEST(RadosToolTest, SecondWriterExitsWithLockConflict) {
  const io::RadosDiskOptions options = rados_testing::test_options("tool-lock");
  auto disk = rados_testing::open_test_disk(options);
  KAYA_ASSERT_OK(disk);
  auto writer = wal::Writer::open({}, **disk);
  KAYA_ASSERT_OK(writer);
  for (const char* command : {"write", "recover"}) {
    ToolResult r = run_tool({command, location_of(options)}, "put k v\n");
    EXPECT_EQ(r.exit_code, 6) << command << ": " << r.describe();
    EXPECT_TRUE(one_error_line(r, "is locked by client.")) << command;
  }
  KAYA_ASSERT_OK(
      (*writer)->append(wal::Payload::put("k", "v"), wal::DurabilityMode::kStrict));
}

// What the log's root holds once bench is done: the log's wal/ and nothing of the
// baseline (whose objects sit beside it, "<prefix>/bench-baseline-...").
std::vector<std::string> root_entries(const io::RadosDiskOptions& options) {
  auto disk = rados_testing::open_test_disk(options);
  EXPECT_TRUE(disk.ok()) << disk.error().to_string();
  if (!disk.ok()) return {};
  auto entries = (*disk)->list_dir(io::RelativePath());
  EXPECT_TRUE(entries.ok()) << entries.error().to_string();
  if (!entries.ok()) return {};
  return *entries;
}

TEST(RadosToolTest, BenchBaselineIsRawRadosAppendToOneObject) {
  const io::RadosDiskOptions options = rados_testing::test_options("tool-bench");
  ToolResult r = run_tool({"bench", "--dir", location_of(options), "--threads", "4",
                           "--records", "400", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "") << "--json must print nothing else";
  const Json j = parse_json(r);
  EXPECT_EQ(j["kaya"]["records"].u64(), 400u);
  const Json& base = j["baseline"];
  EXPECT_EQ(base["records"].u64(), 400u);
  EXPECT_EQ(base["bytes"].u64(), 400u * 128u);
  EXPECT_EQ(base["latency_us"]["count"].u64(), 400u);
  EXPECT_THAT(base["method"].str(), HasSubstr("4 threads"));
  EXPECT_THAT(base["method"].str(), HasSubstr("rados_append of 128 bytes"));
  EXPECT_THAT(base["method"].str(), HasSubstr("to one object"));
  // No fsync on RADOS: the keys stay, at 0.
  EXPECT_EQ(base["fsyncs"].u64(), 0u);
  EXPECT_EQ(base["records_per_fsync"].number(), 0.0);
  EXPECT_GT(j["ratio"].number(), 0);
  EXPECT_THAT(root_entries(options), ElementsAre("wal"));
  ToolResult v = run_tool({"verify", location_of(options)});
  EXPECT_EQ(v.exit_code, 0) << v.describe();
}

TEST(RadosToolTest, BenchTextHasARadosAppendRow) {
  const io::RadosDiskOptions options = rados_testing::test_options("tool-bench-text");
  ToolResult r = run_tool(
      {"bench", "--dir", location_of(options), "--threads", "2", "--records", "100"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  std::vector<std::string> lines = lines_of(r.out);
  const auto row = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.rfind("rados_append ", 0) == 0;
  });
  ASSERT_NE(row, lines.end()) << r.out;
  EXPECT_THAT(*row, HasSubstr(" n/a ")) << "no fsync column for RADOS";
  EXPECT_THAT(r.out, Not(HasSubstr("pwrite")));
  EXPECT_THAT(r.out, HasSubstr("baseline: the same 100 records, 2 threads, each a "
                               "synchronous rados_append of 128 bytes to one object"));
  EXPECT_THAT(r.err, Not(HasSubstr("local file system")));
  EXPECT_THAT(root_entries(options), ElementsAre("wal"));
}

}  // namespace
}  // namespace kaya::tool::testing
