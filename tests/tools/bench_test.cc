// kaya-wal bench with tiny settings: the JSON is complete and consistent, the text
// names the baseline, and --dir keeps a log that verifies; stopped by SIGINT or
// SIGTERM it removes what is not the user's. No timing assertions: speed is for the
// benchmark to report, not for tests to judge.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "testing/test_util.h"
#include "tools/json_lite.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

using kaya::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

void expect_consistent(const Json& m, uint64_t records, uint64_t record_bytes) {
  EXPECT_EQ(m["records"].u64(), records);
  EXPECT_EQ(m["bytes"].u64(), records * record_bytes);
  EXPECT_GT(m["seconds"].number(), 0);
  EXPECT_GT(m["records_per_s"].number(), 0);
  const Json& l = m["latency_us"];
  EXPECT_LE(l["p50"].u64(), l["p99"].u64());
  EXPECT_LE(l["p99"].u64(), l["p999"].u64());
  EXPECT_LE(l["p999"].u64(), l["max"].u64());
}

TEST(KayaWalBench, JsonReportsBothRunsOfTheSameWorkload) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/bench";
  ToolResult r = run_tool({"bench", "--dir", dir, "--records", "200", "--threads", "2",
                           "--size", "100", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "") << "--json must print nothing else";
  EXPECT_EQ(lines_of(r.out).size(), 1u);
  Json j = parse_json(r);
  EXPECT_EQ(j["records"].u64(), 200u);
  EXPECT_EQ(j["threads"].u64(), 2u);
  EXPECT_EQ(j["record_bytes"].u64(), 100u);
  EXPECT_EQ(j["durability"].str(), "strict");
  EXPECT_TRUE(j["kept"].boolean());
  expect_consistent(j["kaya"], 200, 100);
  expect_consistent(j["baseline"], 200, 100);
  // Strict: kaya syncs at least once and never more than once per record; the
  // baseline syncs every record.
  EXPECT_GE(j["kaya"]["fsyncs"].u64(), 1u);
  EXPECT_LE(j["kaya"]["fsyncs"].u64(), 200u);
  EXPECT_GE(j["kaya"]["records_per_fsync"].number(), 1.0);
  EXPECT_EQ(j["baseline"]["fsyncs"].u64(), 200u);
  EXPECT_THAT(j["baseline"]["method"].str(), HasSubstr("2 threads"));
  EXPECT_THAT(j["baseline"]["method"].str(), HasSubstr("fdatasync"));
  EXPECT_GT(j["ratio"].number(), 0);
  // kaya's writer statistics, in the metrics schema (docs/metrics.md).
  const Json& writer = j["kaya"]["writer"];
  EXPECT_EQ(writer["records"].u64(), 200u);
  EXPECT_EQ(writer["bytes"].u64(), 200u * 100u);
  EXPECT_EQ(writer["strict_records"].u64(), 200u);
  EXPECT_EQ(writer["fsyncs"].u64(), j["kaya"]["fsyncs"].u64());
  EXPECT_EQ(writer["fsync_duration_us"]["count"].u64(), writer["fsyncs"].u64());
  EXPECT_EQ(j["kaya"]["latency_us"]["count"].u64(), 200u);
  EXPECT_FALSE(j["baseline"].has("writer"));

  // The kept log holds exactly the benchmark's records; the baseline file is gone.
  EXPECT_FALSE(std::filesystem::exists(dir + "/baseline.dat"));
  ToolResult v = run_tool({"verify", dir, "--json"});
  ASSERT_EQ(v.exit_code, 0) << v.describe();
  EXPECT_EQ(parse_json(v)["totals"]["records"].u64(), 200u);
  ToolResult again = run_tool({"bench", "--dir", dir, "--records", "10"});
  EXPECT_EQ(again.exit_code, 4);
  EXPECT_TRUE(one_error_line(again, "already holds a log"));
}

TEST(KayaWalBench, RelaxedBaselineDoesNotSync) {
  ToolResult r = run_tool({"bench", "--records", "200", "--threads", "2", "--durability",
                           "relaxed", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  Json j = parse_json(r);
  EXPECT_EQ(j["durability"].str(), "relaxed");
  EXPECT_FALSE(j["kept"].boolean());
  EXPECT_FALSE(std::filesystem::exists(j["dir"].str())) << "temporary dir not removed";
  EXPECT_EQ(j["baseline"]["fsyncs"].u64(), 0u);
  EXPECT_THAT(j["baseline"]["method"].str(), HasSubstr("no fdatasync"));
  expect_consistent(j["kaya"], 200, 128);
}

TEST(KayaWalBench, TextNamesTheBaselineAndTheRatio) {
  ToolResult r = run_tool({"bench", "--records", "200", "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_THAT(r.out, HasSubstr("200 strict appends of 128 bytes from 2 threads"));
  EXPECT_THAT(r.out, HasSubstr("kaya strict"));
  EXPECT_THAT(r.out, HasSubstr("pwrite+fdatasync"));
  EXPECT_THAT(r.out, HasSubstr("p99.9 us"));
  EXPECT_THAT(r.out, HasSubstr("ratio kaya/baseline: "));
  EXPECT_THAT(r.out, HasSubstr("baseline: the same 200 records, 2 threads"));
}

// Without a directory for temporary files: an I/O error naming it, not a crash.
TEST(KayaWalBench, MissingTmpdirIsAnErrorNamingIt) {
  TempDir tmp;
  const std::string missing = tmp.path() + "/no-such-dir";
  BackgroundTool bench({"bench", "--records", "10"}, {"TMPDIR=" + missing}, tmp.path());
  ToolResult r = bench.wait(60);
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_TRUE(one_error_line(r, "TMPDIR=" + missing));
}

// The entries of `dir` whose name starts with `prefix`.
std::vector<std::string> entries(const std::string& dir, std::string_view prefix) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().filename().string().starts_with(prefix)) found.push_back(e.path());
  }
  return found;
}

// Waits (at most a minute: a bound, not a timing assertion) until `dir` holds the
// first segment of a log, i.e. until the bench is appending.
bool wait_for_segment(const std::string& dir, BackgroundTool& bench) {
  const std::string segment = segment_file(dir, 1);
  for (int i = 0; i < 3000 && bench.running(); ++i) {
    if (std::filesystem::exists(segment)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::filesystem::exists(segment);
}

// A run far longer than the test (strict appends of ten million records) stopped by
// SIGINT: the temporary directory is removed and the exit code is 128 + 2, from an
// exit, not from dying of the signal.
TEST(KayaWalBench, InterruptRemovesTheTemporaryDirectoryAndExits130) {
  TempDir tmp;
  const std::string tmpdir = tmp.path() + "/tmp";
  std::filesystem::create_directory(tmpdir);
  BackgroundTool bench({"bench", "--records", "10000000", "--threads", "2"},
                       {"TMPDIR=" + tmpdir}, tmp.path());
  std::string dir;
  for (int i = 0; i < 3000 && dir.empty() && bench.running(); ++i) {
    const std::vector<std::string> found = entries(tmpdir, "kaya-bench-");
    if (!found.empty()) dir = found.front();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(dir.empty()) << bench.wait(0).describe();
  ASSERT_TRUE(wait_for_segment(dir, bench)) << bench.wait(0).describe();
  bench.signal(SIGINT);
  ToolResult r = bench.wait(60);
  EXPECT_EQ(r.term_signal, 0) << r.describe();
  EXPECT_EQ(r.exit_code, 128 + SIGINT) << r.describe();
  EXPECT_FALSE(std::filesystem::exists(dir)) << r.describe();
  EXPECT_THAT(entries(tmpdir, ""), IsEmpty());
  EXPECT_THAT(r.err, HasSubstr("note: bench stopped by SIGINT; dir " + dir + " removed"));
  EXPECT_EQ(r.out, "") << "an interrupted run reports no figures";
}

// With --dir the log is the user's: SIGTERM keeps it, closed cleanly (it verifies),
// and removes only the baseline file.
TEST(KayaWalBench, TerminateKeepsTheUsersDirectoryWithAValidLog) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/bench";
  BackgroundTool bench({"bench", "--dir", dir, "--records", "10000000", "--threads", "2"},
                       {}, tmp.path());
  ASSERT_TRUE(wait_for_segment(dir, bench)) << bench.wait(0).describe();
  bench.signal(SIGTERM);
  ToolResult r = bench.wait(60);
  EXPECT_EQ(r.term_signal, 0) << r.describe();
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.describe();
  EXPECT_THAT(r.err, HasSubstr("note: bench stopped by SIGTERM; dir " + dir + " kept"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/baseline.dat"));
  ToolResult v = run_tool({"verify", dir});
  EXPECT_EQ(v.exit_code, 0) << v.describe();
  EXPECT_THAT(v.out, HasSubstr("; clean;"));
}

}  // namespace
}  // namespace kaya::tool::testing
