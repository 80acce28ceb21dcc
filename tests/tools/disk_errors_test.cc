// kaya-wal on a file system that gets in the way: a log of thousands of segments under
// a low limit of open files, and errors that name the real problem (permission
// denied, a symbolic link loop, a dangling symbolic link where a segment should be, a
// record too large for the address space).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "testing/proc_fds.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

using kaya::testing::FileLimit;
using kaya::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// `count` puts whose records never fit twice in 60 bytes: one segment each.
std::string puts(int count) {
  std::string input;
  for (int i = 1; i <= count; ++i) input += "put k" + std::to_string(i) + " value\n";
  return input;
}

size_t segment_count(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/wal")) {
    n += entry.path().extension() == ".wal" ? 1 : 0;
  }
  return n;
}

// The scenario: with 64 files allowed, one `write` rotates 5,000 times, and
// every command reads the 5,000 segments.
TEST(DiskErrors, FiveThousandSegmentsUnderALimitOf64OpenFiles) {
  constexpr int kRecords = 5000;
  TempDir tmp(kaya::testing::memory_temp_base());  // 5,000 rotations sync 20,000 times
  const std::string dir = tmp.path() + "/log";
  FileLimit limit(64);
  ASSERT_TRUE(limit.ok());

  ToolResult w = run_tool({"write", dir, "--segment-max-bytes", "60"}, puts(kRecords));
  ASSERT_EQ(w.exit_code, kOk) << w.describe().substr(0, 2000);
  EXPECT_THAT(w.out, HasSubstr("OK lsn=5000 "));
  ASSERT_EQ(segment_count(dir), static_cast<size_t>(kRecords));

  ToolResult dump = run_tool({"dump", dir});
  ASSERT_EQ(dump.exit_code, kOk) << dump.err;
  EXPECT_EQ(lines_of(dump.out).size(), static_cast<size_t>(kRecords));
  EXPECT_THAT(dump.out, HasSubstr("lsn=5000 sequence=5000 put key=k5000 value=value"));
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"inspect", dir},
                                             {"verify", dir},
                                             {"recover", dir, "--dry-run", "--full"},
                                             {"recover", dir, "--full"}}) {
    ToolResult r = run_tool(args);
    EXPECT_EQ(r.exit_code, kOk) << args[0] << " " << args.back() << "\n" << r.err;
  }
  // A writer continues the log.
  ToolResult more = run_tool({"write", dir, "--segment-max-bytes", "60"}, puts(3));
  EXPECT_EQ(more.exit_code, kOk) << more.err;
  EXPECT_THAT(more.out, HasSubstr("OK lsn=5003 "));
}

// Runs `kaya-wal args...` with `resource` limited to `limit` (set in the child, which
// starts with its standard streams only: run_tool's parent needs more for its pipes
// than a low RLIMIT_NOFILE allows). stdin reads `stdin_path`; stdout and stderr go
// through files in `scratch`.
ToolResult run_with_limit(const std::vector<std::string>& args, int resource,
                          rlim_t limit, const std::string& scratch,
                          const std::string& stdin_path = "/dev/null") {
  std::vector<std::string> argv_storage = {KAYA_WAL_BIN};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out_path = scratch + "/stdout", err_path = scratch + "/stderr";
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = ::open(stdin_path.c_str(), O_RDONLY);
    if (out < 0 || err < 0 || in < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0 ||
        ::dup2(in, 0) < 0) {
      ::_exit(126);
    }
    ::close(out);
    ::close(err);
    ::close(in);
    const rlimit both = {limit, limit};
    if (::setrlimit(resource, &both) != 0) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ToolResult r;
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  return r;
}

// With 8 files allowed (three of them the standard streams) a log of a few segments
// still dumps.
TEST(DiskErrors, ASmallLogDumpsUnderALimitOf8OpenFiles) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/log";
  ToolResult w = run_tool({"write", dir, "--segment-max-bytes", "60"}, puts(7));
  ASSERT_EQ(w.exit_code, kOk) << w.err;
  ASSERT_EQ(segment_count(dir), 7u);
  ToolResult dump = run_with_limit({"dump", dir}, RLIMIT_NOFILE, 8, tmp.path());
  EXPECT_EQ(dump.exit_code, kOk) << dump.err;
  EXPECT_EQ(lines_of(dump.out).size(), 7u) << dump.out;
}

// The sanitizers reserve terabytes of address space: under them no RLIMIT_AS can
// leave the tool room to start.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// A 30 MB record under `ulimit -v 150000`: the memory for it (buffers, the map of its
// place in the segment) runs out, and the append fails with out of memory before it
// takes an LSN. It failed with "Io: map ... Cannot allocate memory" after taking one,
// which poisoned the writer (and close then failed too).
TEST(DiskErrors, ARecordTooLargeForTheAddressSpaceIsRefusedBeforeItsLsn) {
  if (kSanitized) GTEST_SKIP() << "RLIMIT_AS cannot be used under a sanitizer";
  TempDir tmp;
  const std::string dir = tmp.path() + "/log";
  const std::string input = tmp.path() + "/input";
  write_file(input, kaya::testing::cat("put k ", std::string(30000000, 'x'), "\n"));
  ToolResult big =
      run_with_limit({"write", dir}, RLIMIT_AS, rlim_t{150000} << 10, tmp.path(), input);
  EXPECT_EQ(big.exit_code, kIo) << big.describe().substr(0, 2000);
  EXPECT_TRUE(one_error_line(big, "stdin line 1: Internal: out of memory"))
      << big.describe().substr(0, 2000);
  EXPECT_THAT(big.err, Not(HasSubstr("poisoned")));
  EXPECT_THAT(big.out, Not(HasSubstr("OK lsn=")));
  // With memory, the next record gets LSN 1, and it is the log's only record.
  ToolResult next = run_tool({"write", dir}, "put a b\n");
  ASSERT_EQ(next.exit_code, kOk) << next.err;
  EXPECT_THAT(next.out, HasSubstr("OK lsn=1 "));
  ToolResult dump = run_tool({"dump", dir});
  ASSERT_EQ(dump.exit_code, kOk) << dump.err;
  EXPECT_EQ(lines_of(dump.out).size(), 1u) << dump.out.substr(0, 200);
  EXPECT_THAT(dump.out, HasSubstr("lsn=1 sequence=1 put key=a value=b"));
}

// A log holding a 100 MB record read under `ulimit -v 150000` (it aborted with an
// uncaught std::bad_alloc, exit 134): verify, inspect and recover stream the record and
// need no copy of it, so they succeed; dump, which needs a copy of it (and then its
// escaped text), says it ran out of memory, naming the record's LSN, after printing
// the ones before.
// No reader changes the log.
TEST(DiskErrors, ARecordTooLargeForTheAddressSpaceIsNamedByEveryReader) {
  if (kSanitized) GTEST_SKIP() << "RLIMIT_AS cannot be used under a sanitizer";
  TempDir tmp;
  const std::string dir = tmp.path() + "/log";
  const std::string input = tmp.path() + "/input";
  write_file(input, kaya::testing::cat("put a b\nput k ", std::string(100000000, 'x'),
                                       "\nput c d\n"));
  ToolResult w = run_with_limit({"write", dir, "--segment-max-bytes", "268435456",
                                 "--max-record-bytes", "134217728"},
                                RLIMIT_NOFILE, 64, tmp.path(), input);
  ASSERT_EQ(w.exit_code, kOk) << w.describe().substr(0, 2000);
  ASSERT_THAT(w.out, HasSubstr("OK lsn=3 "));
  const std::string before = read_file(segment_file(dir, 1));
  constexpr rlim_t kLimit = rlim_t{150000} << 10;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"verify", dir}, {"inspect", dir}, {"recover", dir, "--dry-run"}}) {
    SCOPED_TRACE(args[0]);
    ToolResult r = run_with_limit(args, RLIMIT_AS, kLimit, tmp.path());
    EXPECT_EQ(r.exit_code, kOk) << r.describe().substr(0, 2000);
    EXPECT_THAT(r.out, HasSubstr("3 records")) << r.describe().substr(0, 2000);
  }
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"dump", dir}, {"dump", dir, "--json"}}) {
    SCOPED_TRACE(args.back());
    ToolResult r = run_with_limit(args, RLIMIT_AS, kLimit, tmp.path());
    EXPECT_EQ(r.exit_code, kIo) << r.describe().substr(0, 2000);
    EXPECT_TRUE(one_error_line(r, "LSN 2")) << r.describe().substr(0, 2000);
    EXPECT_THAT(r.err, HasSubstr("out of memory")) << r.describe().substr(0, 2000);
    EXPECT_EQ(lines_of(r.out).size(), 1u) << r.out.substr(0, 200);
  }
  EXPECT_TRUE(read_file(segment_file(dir, 1)) == before) << "a reader changed the log";
  ToolResult dump = run_tool({"dump", dir});
  ASSERT_EQ(dump.exit_code, kOk) << dump.err.substr(0, 2000);
  EXPECT_EQ(lines_of(dump.out).size(), 3u);
}

// A 200 MB line on write's stdin under `ulimit -v 150000`: the tool's own reading runs
// out of memory; the records before the line stay acknowledged, the exit is an error
// (it aborted with an uncaught std::bad_alloc, exit 134).
TEST(DiskErrors, AStdinLineTooLargeForTheAddressSpaceIsAnErrorNotAnAbort) {
  if (kSanitized) GTEST_SKIP() << "RLIMIT_AS cannot be used under a sanitizer";
  TempDir tmp;
  const std::string dir = tmp.path() + "/log";
  const std::string input = tmp.path() + "/input";
  write_file(input,
             kaya::testing::cat("put a b\nput k ", std::string(200000000, 'x'), "\n"));
  ToolResult w =
      run_with_limit({"write", dir}, RLIMIT_AS, rlim_t{150000} << 10, tmp.path(), input);
  EXPECT_EQ(w.term_signal, 0) << w.describe().substr(0, 2000);
  EXPECT_EQ(w.exit_code, kIo) << w.describe().substr(0, 2000);
  EXPECT_THAT(w.out, HasSubstr("OK lsn=1 "));
  EXPECT_TRUE(one_error_line(w, "stdin line 2: out of memory reading the line"))
      << w.describe().substr(0, 2000);
  ToolResult dump = run_tool({"dump", dir});
  ASSERT_EQ(dump.exit_code, kOk) << dump.err;
  EXPECT_EQ(lines_of(dump.out).size(), 1u) << dump.out.substr(0, 200);
}

TEST(DiskErrors, ASymbolicLinkLoopIsNamedAsSuch) {
  TempDir tmp;
  const std::string loop = tmp.path() + "/loop";
  ASSERT_EQ(::symlink("loop", loop.c_str()), 0);
  const std::string log = tmp.path() + "/log";
  ASSERT_TRUE(std::filesystem::create_directory(log));
  ASSERT_EQ(::symlink("wal", (log + "/wal").c_str()), 0);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"dump", loop},
                                             {"verify", loop},
                                             {"inspect", loop},
                                             {"dump", log},
                                             {"verify", log},
                                             {"inspect", log},
                                             {"recover", log, "--dry-run"},
                                             {"write", log}}) {
    ToolResult r = run_tool(args, "put k v\n");
    EXPECT_EQ(r.exit_code, kIo) << args[0] << " " << args[1] << "\n" << r.describe();
    EXPECT_TRUE(one_error_line(r, "Too many levels of symbolic links"))
        << args[0] << " " << args[1];
    EXPECT_THAT(r.err, HasSubstr(args[1])) << args[0];
  }
}

// A dangling link as the last segment: every command fails naming it (before, dump
// exited 0 without the segment's records).
TEST(DiskErrors, ADanglingSymbolicLinkAsASegmentIsAnErrorEverywhere) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/log";
  ToolResult w = run_tool({"write", dir, "--segment-max-bytes", "60"}, puts(3));
  ASSERT_EQ(w.exit_code, kOk) << w.err;
  const std::string last = segment_file(dir, 3);
  const std::string target = tmp.path() + "/moved-away.wal";
  ASSERT_EQ(::rename(last.c_str(), target.c_str()), 0);
  const std::string gone = tmp.path() + "/gone.wal";
  ASSERT_EQ(::symlink(gone.c_str(), last.c_str()), 0);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"dump", dir},
                                             {"inspect", dir},
                                             {"verify", dir},
                                             {"recover", dir, "--dry-run"},
                                             {"recover", dir},
                                             {"write", dir}}) {
    ToolResult r = run_tool(args, "put k v\n");
    EXPECT_EQ(r.exit_code, kIo) << args[0] << "\n" << r.describe();
    EXPECT_TRUE(one_error_line(r, last)) << args[0];
    EXPECT_THAT(r.err, HasSubstr("dangling symbolic link")) << args[0];
    EXPECT_THAT(r.err, HasSubstr(gone)) << args[0];
  }
  EXPECT_FALSE(std::filesystem::exists(gone)) << "a command created the link's target";
}

// Runs the tool as user nobody when the test runs as root (who may read anything):
// its exit code and stderr.
ToolResult run_unprivileged(const std::vector<std::string>& args) {
  const std::string text = kaya::testing::run_unprivileged([&] {
    const ToolResult r = run_tool(args);
    return std::to_string(r.exit_code) + "\n" + r.err;
  });
  ToolResult r;
  const size_t eol = text.find('\n');
  if (eol == std::string::npos || text.starts_with("the unprivileged child failed")) {
    r.err = text;
    return r;
  }
  r.exit_code = std::stoi(text.substr(0, eol));
  r.err = text.substr(eol + 1);
  return r;
}

// Permission denied on the way to the log, or on wal/, is said as such: not "no such
// file or directory" (NotFound).
TEST(DiskErrors, PermissionDeniedIsReportedAsSuch) {
  TempDir tmp;
  ASSERT_EQ(::chmod(tmp.path().c_str(), 0755), 0);
  const std::string closed = tmp.path() + "/closed";
  ASSERT_TRUE(std::filesystem::create_directory(closed));
  const std::string hidden = closed + "/log";
  const std::string open_log = tmp.path() + "/log";
  for (const std::string& dir : {hidden, open_log}) {
    ToolResult w = run_tool({"write", dir}, "put k v\n");
    ASSERT_EQ(w.exit_code, kOk) << w.err;
  }
  ASSERT_EQ(::chmod(closed.c_str(), 0700), 0);
  ASSERT_EQ(::chmod((open_log + "/wal").c_str(), 0700), 0);
  for (const std::string& dir : {hidden, open_log}) {
    for (const char* command : {"dump", "inspect", "verify"}) {
      ToolResult r = run_unprivileged({command, dir});
      EXPECT_EQ(r.exit_code, kIo) << command << " " << dir << "\n" << r.describe();
      EXPECT_TRUE(one_error_line(r, "Permission denied")) << command << " " << dir;
      EXPECT_THAT(r.err, HasSubstr(dir)) << command;
    }
  }
}

}  // namespace
}  // namespace kaya::tool::testing
