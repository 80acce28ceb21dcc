// kaya-wal's usage contract, run as a child process: help, version, usage mistakes and
// their exit codes, and locations it cannot use.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kaya/core/version.h"
#include "kaya/io/rados_disk.h"
#include "testing/test_util.h"
#include "tools/tool_runner.h"
#include "tools/write_dump_util.h"

namespace kaya::tool::testing {
namespace {

using kaya::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace write_dump;  // NOLINT(google-build-using-namespace)

TEST(KayaWalCli, HelpListsEveryCommandAndEachCommandHasHelp) {
  ToolResult top = run_tool({"--help"});
  ASSERT_EQ(top.exit_code, kOk);
  for (const char* command : {"write", "dump", "inspect", "verify", "recover", "bench"}) {
    EXPECT_THAT(top.out, HasSubstr(std::string("  ") + command + " "));
    ToolResult help = run_tool({command, "--help"});
    EXPECT_EQ(help.exit_code, kOk) << command;
    EXPECT_THAT(help.out, StartsWith(std::string("usage: kaya-wal ") + command));
    EXPECT_EQ(help.err, "");
  }
  EXPECT_THAT(run_tool({"write", "--help"}).out, HasSubstr("\\xHH"));
}

// -h and `help` are --help, at the top and for every command.
TEST(KayaWalCli, ShortHelpFlagPrintsTheSameUsage) {
  const ToolResult top = run_tool({"--help"});
  ASSERT_EQ(top.exit_code, kOk) << top.describe();
  EXPECT_THAT(top.out, HasSubstr("[--help | -h]"));
  for (const char* flag : {"-h", "help"}) {
    ToolResult r = run_tool({flag});
    EXPECT_EQ(r.exit_code, kOk) << flag << r.describe();
    EXPECT_EQ(r.out, top.out) << flag;
    EXPECT_EQ(r.err, "") << flag;
  }
  for (const char* command : {"write", "dump", "inspect", "verify", "recover", "bench"}) {
    ToolResult r = run_tool({command, "-h"});
    EXPECT_EQ(r.exit_code, kOk) << command << r.describe();
    EXPECT_EQ(r.out, run_tool({command, "--help"}).out) << command;
  }
}

// `--version` and `version` print the library's version and record format.
TEST(KayaWalCli, VersionNamesTheLibraryAndTheFormat) {
  for (const char* flag : {"--version", "version"}) {
    ToolResult v = run_tool({flag});
    EXPECT_EQ(v.exit_code, kOk) << v.describe();
    EXPECT_EQ(v.out, "kaya-wal " + std::string(kaya::version()) +
                         " (log record format version 1)\n");
    EXPECT_EQ(v.err, "");
  }
  EXPECT_THAT(run_tool({"--help"}).out, HasSubstr("--version"));
  ToolResult extra = run_tool({"--version", "x"});
  EXPECT_EQ(extra.exit_code, kInvalid) << extra.describe();
}

TEST(KayaWalCli, UsageMistakesExitFourWithOneErrorLine) {
  TempDir tmp;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "missing command"},
      {{"frob"}, "unknown command \"frob\""},
      {{"dump"}, "missing argument"},
      {{"dump", tmp.path(), "extra"}, "unexpected argument \"extra\""},
      {{"dump", tmp.path(), "--bogus"}, "unknown flag --bogus"},
      {{"dump", tmp.path(), "--from-lsn"}, "--from-lsn needs a value"},
      {{"dump", tmp.path(), "--from-lsn", "x1"}, "not a non-negative decimal integer"},
      {{"dump", tmp.path(), "--json", "--json"}, "--json given twice"},
      {{"dump", tmp.path(), "--json=yes"}, "--json takes no value"},
      {{"write", tmp.path(), "--durability", "fast"}, "not one of strict, relaxed"},
      {{"recover", tmp.path(), "--mode", "yolo"}, "not one of default"},
      {{"bench", "--threads", "0"}, "out of range"},
      {{"bench", "--size", "47"}, "out of range"},
  };
  for (const auto& [args, needle] : cases) {
    ToolResult r = run_tool(args);
    EXPECT_EQ(r.exit_code, kInvalid) << r.describe();
    EXPECT_TRUE(one_error_line(r, needle));
  }
}

TEST(KayaWalCli, MissingLogIsNotFoundAndAFileInsteadOfADirectoryIsIo) {
  TempDir tmp;
  const std::string missing = tmp.path() + "/nope";
  for (const char* command : {"dump", "inspect", "verify", "recover"}) {
    ToolResult r = run_tool({command, missing});
    EXPECT_EQ(r.exit_code, kNotFound) << command << r.describe();
    EXPECT_TRUE(one_error_line(r, missing));
    // An existing directory without wal/ is not mistaken for an empty log.
    ToolResult empty = run_tool({command, tmp.path()});
    EXPECT_EQ(empty.exit_code, kNotFound) << command << empty.describe();
    EXPECT_TRUE(one_error_line(empty, "no wal/ directory"));
  }
  const std::string file = tmp.path() + "/plain-file";
  write_file(file, "x");
  for (const char* command : {"write", "verify", "recover"}) {
    ToolResult r = run_tool({command, file}, "noop\n");
    EXPECT_EQ(r.exit_code, kIo) << command << r.describe();
    EXPECT_TRUE(one_error_line(r, file));
  }
  // dump and inspect read a file as one segment: this one is none.
  for (const char* command : {"dump", "inspect"}) {
    ToolResult r = run_tool({command, file});
    EXPECT_EQ(r.exit_code, kInvalid) << command << r.describe();
    EXPECT_TRUE(one_error_line(r, file + ": not a kaya segment"));
  }
}

TEST(KayaWalCli, PointingAtTheWalDirectoryItselfGivesAHint) {
  TempDir tmp;
  install_golden(tmp.path(), "valid.wal");
  ToolResult r = run_tool({"verify", tmp.path() + "/wal"});
  EXPECT_EQ(r.exit_code, kNotFound);
  EXPECT_TRUE(one_error_line(r, "pass its parent directory"));
}

// A RADOS location is accepted wherever a directory is; built without librados, the
// tool says so (exit 4). Either way a malformed location is a usage error.
TEST(KayaWalCli, RadosLocationsNeedTheBackendAndAWellFormedName) {
  ToolResult bad = run_tool({"dump", "rados:///no-pool"});
  EXPECT_EQ(bad.exit_code, kInvalid) << bad.describe();
  EXPECT_TRUE(one_error_line(bad, "the pool name is empty"));
#if !KAYA_HAVE_RADOS
  for (const char* command : {"write", "dump", "verify", "inspect", "recover"}) {
    ToolResult r = run_tool({command, "rados://kaya/log"}, "put k v\n");
    EXPECT_EQ(r.exit_code, kInvalid) << command << r.describe();
    EXPECT_TRUE(one_error_line(r, "kaya-wal was built without the RADOS backend"));
  }
#endif
}

}  // namespace
}  // namespace kaya::tool::testing
