// kaya-wal on a RADOS location: the commands work as on a directory, and a second
// writer exits with code 6 naming the holder of the log.
#include <gtest/gtest.h>

#include "kaya/wal/writer.h"
#include "rados_test_util.h"
#include "testing/test_util.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

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
  KAYA_ASSERT_OK((*writer)->append(wal::Payload::put("k", "v"), DurabilityMode::kStrict));
}

}  // namespace
}  // namespace kaya::tool::testing
