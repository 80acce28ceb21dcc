// SimDisk's injected faults (failing writes, fsyncs and reads, a full disk, short
// reads), and its fsync hook.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "io/sim_disk_test_util.h"
#include "kaya/io/sim_disk.h"
#include "testing/strings.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using namespace sim_testing;  // NOLINT(google-build-using-namespace)

struct WriteFaultCase {
  FaultKind kind;
  ErrorKind error;
};

void PrintTo(const WriteFaultCase& c, std::ostream* out) { *out << to_string(c.kind); }

class SimDiskWriteFaultTest : public ::testing::TestWithParam<WriteFaultCase> {};

TEST_P(SimDiskWriteFaultTest, FailNthFailsExactlyThatWrite) {
  const auto [kind, error] = GetParam();
  SimDisk disk(no_tear(3));
  disk.fail_nth(kind, 2);
  const std::string payload = "0123456789";
  KAYA_ASSERT_OK(disk.append(P("f"), B("first")));
  auto failed = disk.append(P("f"), B(payload));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), error);
  EXPECT_NE(failed.error().message().find("sim:f"), std::string::npos);
  EXPECT_EQ(disk.faults_injected(kind), 1u);

  std::string after = contents(disk, P("f"));
  ASSERT_TRUE(is_prefix("first", after));
  std::string landed = after.substr(5);
  if (kind == FaultKind::kShortWrite) {
    EXPECT_LT(landed.size(), payload.size());
    EXPECT_TRUE(is_prefix(landed, payload)) << landed;
  } else {
    EXPECT_EQ(landed, "") << "nothing may be written";
  }

  // One-shot: the next write succeeds, also through write_at.
  KAYA_EXPECT_OK(disk.write_at(P("f"), 0, B("F")));
  disk.fail_nth(kind, 1);
  Status overwrite = disk.write_at(P("f"), 0, B("ZZZZ"));
  ASSERT_FALSE(overwrite.ok());
  EXPECT_EQ(overwrite.error().kind(), error);
  EXPECT_EQ(disk.faults_injected(kind), 2u);
  std::string head = contents(disk, P("f")).substr(0, 4);
  if (kind != FaultKind::kShortWrite) {
    EXPECT_EQ(head, "Firs");
  }
  EXPECT_NE(head, "ZZZZ");
}

TEST_P(SimDiskWriteFaultTest, ProbabilityInjectsAndCountsFaults) {
  const auto [kind, error] = GetParam();
  const uint64_t seed = kaya::testing::seed_from_env(11);
  SCOPED_TRACE("seed " + std::to_string(seed));
  SimDiskOptions options = no_tear(seed);
  options.fault_probability[static_cast<size_t>(kind)] = 0.5;
  SimDisk disk(options);
  uint64_t failures = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = disk.append(P("f"), B("abcd"));
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind(), error);
      ++failures;
    }
  }
  EXPECT_EQ(disk.faults_injected(kind), failures);
  EXPECT_GT(failures, 0u);
  EXPECT_LT(failures, 200u);

  disk.clear_faults();
  KAYA_EXPECT_OK(disk.append(P("f"), B("ok")));
  EXPECT_EQ(disk.faults_injected(kind), failures);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, SimDiskWriteFaultTest,
    ::testing::Values(WriteFaultCase{FaultKind::kWriteError, ErrorKind::kIo},
                      WriteFaultCase{FaultKind::kDiskFull, ErrorKind::kDiskFull},
                      WriteFaultCase{FaultKind::kShortWrite, ErrorKind::kIo}),
    [](const ::testing::TestParamInfo<WriteFaultCase>& param_info) {
      return std::string(to_string(param_info.param.kind));
    });

TEST(SimDiskFaultTest, FsyncFailureCapturesNothing) {
  SimDisk disk(no_tear());
  KAYA_ASSERT_OK(disk.append(P("f"), B("abc")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  disk.fail_nth(FaultKind::kFsyncFailure, 1);
  Status failed = disk.fsync_file(P("f"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::kFsyncFailed);
  EXPECT_NE(failed.error().message().find("sim:f"), std::string::npos);
  EXPECT_EQ(*disk.durable_len(P("f")), 0u);

  KAYA_ASSERT_OK(disk.append(P("g"), B("x")));
  disk.fail_nth(FaultKind::kFsyncFailure, 1);
  EXPECT_EQ(disk.fsync_dir(RelativePath()).error().kind(), ErrorKind::kFsyncFailed);
  EXPECT_EQ(disk.faults_injected(FaultKind::kFsyncFailure), 2u);
  EXPECT_EQ(disk.fsync_file_count(), 1u);
  EXPECT_EQ(disk.fsync_dir_count(), 2u);

  disk.crash();
  EXPECT_EQ(contents(disk, P("f")), "");
  EXPECT_EQ(disk.file_len(P("g")).error().kind(), ErrorKind::kNotFound);
}

TEST(SimDiskFaultTest, FsyncFailureByProbability) {
  SimDiskOptions options = no_tear(kaya::testing::seed_from_env(5));
  SCOPED_TRACE("seed " + std::to_string(options.seed));
  SimDisk disk(options);
  KAYA_ASSERT_OK(disk.append(P("f"), B("abc")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  disk.set_fault_probability(FaultKind::kFsyncFailure, 1.0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(disk.fsync_file(P("f")).error().kind(), ErrorKind::kFsyncFailed);
  }
  EXPECT_EQ(disk.faults_injected(FaultKind::kFsyncFailure), 3u);
  EXPECT_EQ(*disk.durable_len(P("f")), 0u);
  disk.set_fault_probability(FaultKind::kFsyncFailure, 0.0);
  KAYA_EXPECT_OK(disk.fsync_file(P("f")));
  EXPECT_EQ(*disk.durable_len(P("f")), 3u);
}

TEST(SimDiskFaultTest, ReadErrorByFailNthAndProbability) {
  SimDisk disk(no_tear(kaya::testing::seed_from_env(9)));
  KAYA_ASSERT_OK(disk.append(P("f"), B("abc")));
  uint8_t buf[3];
  disk.fail_nth(FaultKind::kReadError, 1);
  auto failed = disk.read_at(P("f"), 0, buf);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::kIo);
  EXPECT_NE(failed.error().message().find("sim:f"), std::string::npos);
  KAYA_EXPECT_OK(disk.read_at(P("f"), 0, buf));
  EXPECT_EQ(disk.faults_injected(FaultKind::kReadError), 1u);

  disk.set_fault_probability(FaultKind::kReadError, 1.0);
  EXPECT_EQ(disk.read_at(P("f"), 0, buf).error().kind(), ErrorKind::kIo);
  EXPECT_EQ(disk.faults_injected(FaultKind::kReadError), 2u);
}

TEST(SimDiskFaultTest, CapacityExhaustionIsDiskFullAndWritesNothing) {
  SimDiskOptions options = no_tear();
  options.capacity_bytes = 10;
  SimDisk disk(options);
  KAYA_ASSERT_OK(disk.append(P("a"), B("123456")));
  auto full = disk.append(P("b"), B("12345"));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().kind(), ErrorKind::kDiskFull);
  EXPECT_EQ(*disk.file_len(P("b")), 0u);
  EXPECT_EQ(disk.total_bytes(), 6u);
  KAYA_ASSERT_OK(disk.append(P("b"), B("1234")));
  EXPECT_EQ(disk.total_bytes(), 10u);
  EXPECT_EQ(disk.faults_injected(FaultKind::kDiskFull), 0u);
  // Freeing space makes room again.
  KAYA_ASSERT_OK(disk.remove_file(P("a")));
  KAYA_EXPECT_OK(disk.append(P("b"), B("12345")));
}

TEST(SimDiskFaultTest, ShortReadsStillReadFullyThroughReadFull) {
  SimDiskOptions options = no_tear(kaya::testing::seed_from_env(21));
  SCOPED_TRACE("seed " + std::to_string(options.seed));
  options.short_reads = true;
  SimDisk disk(options);
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>(i * 7);
  KAYA_ASSERT_OK(disk.append(P("f"), B(data)));

  bool saw_short = false;
  for (int i = 0; i < 50; ++i) {
    uint8_t buf[100];
    auto n = disk.read_at(P("f"), 10, buf);
    KAYA_ASSERT_OK(n);
    EXPECT_GT(*n, 0u);
    EXPECT_EQ(std::string(buf, buf + *n), data.substr(10, *n));
    if (*n < sizeof(buf)) saw_short = true;
  }
  EXPECT_TRUE(saw_short);
  EXPECT_EQ(contents(disk, P("f")), data);
}

TEST(SimDiskConcurrencyTest, FsyncHookRunsWithoutTheDiskMutex) {
  SimDisk disk(no_tear());
  KAYA_ASSERT_OK(disk.append(P("f"), B("abc")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  std::mutex mu;
  std::condition_variable cv;
  bool in_hook = false;
  bool release = false;
  disk.set_fsync_hook([&](const RelativePath& path) {
    EXPECT_EQ(path, P("f"));
    std::unique_lock<std::mutex> lock(mu);
    in_hook = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });

  std::thread syncer([&] { KAYA_EXPECT_OK(disk.fsync_file(P("f"))); });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_hook; });
  }
  // The fsync is parked in the hook; the disk must still serve this thread.
  KAYA_EXPECT_OK(disk.append(P("f"), B("def")));
  EXPECT_EQ(*disk.file_len(P("f")), 6u);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  syncer.join();
  // The data is captured after the hook returns, so it includes the append.
  EXPECT_EQ(*disk.durable_len(P("f")), 6u);
  EXPECT_EQ(disk.fsync_file_count(), 1u);
}

}  // namespace
}  // namespace kaya::io
