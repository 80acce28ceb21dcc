// Runs the built kaya-wal binary (KAYA_WAL_BIN) as a child process, feeding stdin and
// capturing stdout, stderr and the exit code; plus small file helpers for the tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tools/json_lite.h"

namespace kaya::tool::testing {

// kaya-wal's exit codes (docs/tool.md, "Exit codes and errors"), written out here
// rather than taken from the tool, so that a changed code fails the tests.
inline constexpr int kOk = 0, kIo = 1, kNotFound = 2, kCorruption = 3, kInvalid = 4,
                     kUnsupported = 4, kInvariant = 5, kLock = 6;

struct ToolResult {
  int exit_code = -1;   // 128 + signal number when the child was killed by a signal
  int term_signal = 0;  // the signal that killed the child; 0 when it exited
  std::string out;
  std::string err;

  // For failure messages: exit code and both streams.
  std::string describe() const;
};

// Runs `kaya-wal args...` with `stdin_data` on its stdin (closed after it).
ToolResult run_tool(const std::vector<std::string>& args,
                    const std::string& stdin_data = "");
// run_tool with the child's stdout written to the file `stdout_path` (e.g. /dev/full)
// instead of captured: the result's `out` stays empty.
ToolResult run_tool_to_file(const std::vector<std::string>& args,
                            const std::string& stdin_data,
                            const std::string& stdout_path);

// kaya-wal started in the background, for a test that signals it while it runs:
// stdout and stderr go to files in `output_dir`; `env` ("NAME=value") is added to the
// environment. The destructor kills (SIGKILL) and reaps a child still running.
class BackgroundTool {
 public:
  BackgroundTool(const std::vector<std::string>& args,
                 const std::vector<std::string>& env, const std::string& output_dir);
  ~BackgroundTool();
  BackgroundTool(const BackgroundTool&) = delete;
  BackgroundTool& operator=(const BackgroundTool&) = delete;

  void signal(int signo);
  // Whether the child has not exited yet (reaps it when it has).
  bool running();
  // Waits for the child to exit, at most `timeout_s` seconds; a child still running
  // then is killed (SIGKILL), and the result says so with term_signal 9.
  ToolResult wait(int timeout_s);

 private:
  int pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::string out_path_, err_path_;
};

// The contract for errors: besides "note: " lines, stderr holds exactly one line; it
// starts with "error: " and contains `needle` (a file, offset or line number the error
// must name).
::testing::AssertionResult one_error_line(const ToolResult& r, std::string_view needle);

// Whole-file helpers (throw std::runtime_error on failure, failing the test).
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

// `golden` (a file name in tests/golden) copied to DIR/wal/0000000000000001.wal.
void install_golden(const std::string& dir, const std::string& golden);

// Path of segment `id` under a log directory: DIR/wal/<16 hex>.wal.
std::string segment_file(const std::string& dir, uint64_t id);

// The lines of `text` (without their '\n').
std::vector<std::string> lines_of(const std::string& text);

// The JSON value the tool printed on stdout; a parse error fails the calling test.
inline Json parse_json(const ToolResult& r) {
  std::string error;
  std::optional<Json> v = Json::parse(r.out, &error);
  EXPECT_TRUE(v.has_value()) << error << "\n" << r.describe();
  return v.value_or(Json());
}

}  // namespace kaya::tool::testing
