// kaya-wal write with begin ... commit (one atomic batch) and --extensions, run as a
// child process: what it acknowledges, what it appends, and its exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/test_util.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

using kaya::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> dump(const std::string& dir) {
  ToolResult d = run_tool({"dump", dir});
  EXPECT_EQ(d.exit_code, kOk) << d.describe();
  return lines_of(d.out);
}

TEST(KayaWalWriteBatch, LinesBetweenBeginAndCommitAreOneBatchAckedOnce) {
  TempDir tmp;
  ToolResult w = run_tool({"write", tmp.path(), "--extensions", "batches"},
                          "put a 1\nbegin\nput b 2\n# skipped\ndelete a\nnoop\ncommit\n"
                          "put c 3\nbegin\ncommit\n");
  ASSERT_EQ(w.exit_code, kOk) << w.describe();
  EXPECT_THAT(lines_of(w.out), ElementsAre("OK lsn=1 sequence=1 durable=true",
                                           "OK lsn=2..4 sequence=2..4 durable=true",
                                           "OK lsn=5 sequence=5 durable=true"));
  EXPECT_THAT(
      dump(tmp.path()),
      ElementsAre("lsn=1 sequence=1 put key=a value=1",
                  "lsn=2 sequence=2 put key=b value=2", "lsn=3 sequence=3 delete key=a",
                  "lsn=4 sequence=4 noop", "lsn=5 sequence=5 put key=c value=3"));
}

TEST(KayaWalWriteBatch, TheJsonAcknowledgementNamesTheRanges) {
  TempDir tmp;
  ToolResult w = run_tool({"write", tmp.path(), "--extensions", "batches", "--json"},
                          "begin\nput b 2\nput c 3\ncommit\n");
  ASSERT_EQ(w.exit_code, kOk) << w.describe();
  EXPECT_THAT(w.out, HasSubstr("\"first_lsn\":1,\"last_lsn\":2,\"first_sequence\":1,"
                               "\"last_sequence\":2,\"durable\":true"));
}

TEST(KayaWalWriteBatch, BeginWithoutCommitAppendsNothingOfTheBatch) {
  TempDir tmp;
  ToolResult w = run_tool({"write", tmp.path(), "--extensions", "batches"},
                          "put a 1\nbegin\nput b 2\nput c 3\n");
  EXPECT_EQ(w.exit_code, kInvalid) << w.describe();
  EXPECT_TRUE(one_error_line(w, "the input ends inside the batch begun at stdin line 2"))
      << w.describe();
  EXPECT_THAT(dump(tmp.path()), ElementsAre("lsn=1 sequence=1 put key=a value=1"));
}

TEST(KayaWalWriteBatch, MisplacedBeginOrCommitIsAnError) {
  TempDir tmp;
  ToolResult nested = run_tool({"write", tmp.path(), "--extensions", "batches"},
                               "begin\nput a 1\nbegin\ncommit\n");
  EXPECT_EQ(nested.exit_code, kInvalid) << nested.describe();
  EXPECT_TRUE(one_error_line(nested, "stdin line 3")) << nested.describe();
  ToolResult stray = run_tool({"write", tmp.path()}, "commit\n");
  EXPECT_EQ(stray.exit_code, kInvalid) << stray.describe();
  EXPECT_TRUE(one_error_line(stray, "commit without begin")) << stray.describe();
  EXPECT_TRUE(dump(tmp.path()).empty());
}

// A log that has not opted in stays KayaDB v1: a batch or a Bytes record is refused
// (naming the setting), and nothing is appended.
TEST(KayaWalWriteBatch, ExtensionsNeedTheOptIn) {
  TempDir tmp;
  ToolResult batch = run_tool({"write", tmp.path()}, "begin\nput a 1\nput b 2\ncommit\n");
  EXPECT_EQ(batch.exit_code, kInvalid) << batch.describe();
  EXPECT_TRUE(one_error_line(batch, "WalConfig::extensions")) << batch.describe();
  ToolResult bytes = run_tool({"write", tmp.path()}, "bytes x\n");
  EXPECT_EQ(bytes.exit_code, kInvalid) << bytes.describe();
  EXPECT_TRUE(dump(tmp.path()).empty());
  ToolResult bad = run_tool({"write", tmp.path(), "--extensions", "batchez"}, "");
  EXPECT_NE(bad.exit_code, kOk) << bad.describe();
  EXPECT_THAT(bad.err, HasSubstr("unknown extension \"batchez\""));
}

}  // namespace
}  // namespace kaya::tool::testing
