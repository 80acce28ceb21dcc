// SimDisk's crash and fault model (the Disk contract itself is in
// disk_contract_test.cc).
#include "kaya/io/sim_disk.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "testing/test_util.h"

namespace kaya::io {
namespace {

RelativePath P(std::string_view text) { return *RelativePath::parse(text); }

ByteView B(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

SimDiskOptions no_tear(uint64_t seed = 1) {
  SimDiskOptions options;
  options.seed = seed;
  options.tear_on_crash = false;
  return options;
}

std::string contents(SimDisk& disk, const RelativePath& path) {
  auto len = disk.file_len(path);
  if (!len.ok()) return "<" + len.error().to_string() + ">";
  std::string out(*len, '\0');
  auto n =
      read_full(disk, path, 0,
                std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  if (!n.ok()) return "<" + n.error().to_string() + ">";
  out.resize(*n);
  return out;
}

bool is_prefix(const std::string& prefix, const std::string& of) {
  return of.compare(0, prefix.size(), prefix) == 0 && prefix.size() <= of.size();
}

TEST(SimDiskCrashTest, KeepsOnlySyncedData) {
  SimDisk disk(no_tear());
  KAYA_ASSERT_OK(disk.create_dir(P("wal")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  KAYA_ASSERT_OK(disk.append(P("wal/1.wal"), B("abc")));
  KAYA_ASSERT_OK(disk.fsync_file(P("wal/1.wal")));
  KAYA_ASSERT_OK(disk.fsync_dir(P("wal")));
  KAYA_ASSERT_OK(disk.append(P("wal/1.wal"), B("def")));
  EXPECT_EQ(*disk.durable_len(P("wal/1.wal")), 3u);

  disk.crash();
  EXPECT_EQ(contents(disk, P("wal/1.wal")), "abc");
  EXPECT_EQ(disk.total_bytes(), 3u);
  // Appends continue after the surviving bytes.
  auto off = disk.append(P("wal/1.wal"), B("X"));
  KAYA_ASSERT_OK(off);
  EXPECT_EQ(*off, 3u);
}

TEST(SimDiskCrashTest, UnsyncedNewFileVanishesUnlessItsDirectoryWasSynced) {
  SimDisk disk(no_tear());
  KAYA_ASSERT_OK(disk.append(P("lost"), B("data")));
  KAYA_ASSERT_OK(disk.fsync_file(P("lost")));  // data durable, entry not
  EXPECT_EQ(disk.durable_len(P("lost")).error().kind(), ErrorKind::kNotFound);

  // Entry durable in a directory whose own entry is not: lost too.
  KAYA_ASSERT_OK(disk.create_dir(P("d")));
  KAYA_ASSERT_OK(disk.append(P("d/x"), B("xx")));
  KAYA_ASSERT_OK(disk.fsync_file(P("d/x")));
  KAYA_ASSERT_OK(disk.fsync_dir(P("d")));

  disk.crash();
  EXPECT_EQ(disk.file_len(P("lost")).error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(disk.list_dir(P("d")).error().kind(), ErrorKind::kNotFound);
  EXPECT_TRUE(disk.list_dir(RelativePath())->empty());

  // The same again with every directory synced: everything survives.
  KAYA_ASSERT_OK(disk.append(P("kept"), B("data")));
  KAYA_ASSERT_OK(disk.fsync_file(P("kept")));
  KAYA_ASSERT_OK(disk.create_dir(P("d")));
  KAYA_ASSERT_OK(disk.append(P("d/x"), B("xx")));
  KAYA_ASSERT_OK(disk.fsync_file(P("d/x")));
  KAYA_ASSERT_OK(disk.fsync_dir(P("d")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  disk.crash();
  EXPECT_EQ(contents(disk, P("kept")), "data");
  EXPECT_EQ(contents(disk, P("d/x")), "xx");
}

TEST(SimDiskCrashTest, DurableEntryWithoutFileSyncComesBackEmpty) {
  SimDisk disk(no_tear());
  KAYA_ASSERT_OK(disk.append(P("f"), B("hello")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  EXPECT_EQ(*disk.durable_len(P("f")), 0u);
  disk.crash();
  EXPECT_EQ(contents(disk, P("f")), "");
}

TEST(SimDiskCrashTest, DurableEntryWithoutFileSyncComesBackAsTornPrefix) {
  const uint64_t base = kaya::testing::seed_from_env(100);
  std::set<std::string> seen;
  for (uint64_t seed = base; seed < base + 32; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SimDiskOptions options;
    options.seed = seed;
    SimDisk disk(options);
    KAYA_ASSERT_OK(disk.append(P("f"), B("hello")));
    KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    disk.crash();
    std::string got = contents(disk, P("f"));
    EXPECT_TRUE(is_prefix(got, "hello")) << got;
    seen.insert(got);
  }
  EXPECT_GT(seen.size(), 1u) << "tearing never varied";
}

TEST(SimDiskCrashTest, FileOverwrittenBelowDurableLengthKeepsDurableBytes) {
  SimDisk disk(SimDiskOptions{.tear_on_crash = false});
  KAYA_ASSERT_OK(disk.append(P("f"), B("abcdef")));
  KAYA_ASSERT_OK(disk.fsync_file(P("f")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  KAYA_ASSERT_OK(disk.truncate(P("f"), 2));
  KAYA_ASSERT_OK(disk.append(P("f"), B("XYZWVU")));
  disk.crash();
  EXPECT_EQ(contents(disk, P("f")), "abcdef");
}

// Writes in place since the last fsync reach the platter in file order up to a random
// point: what survives is the new bytes up to there, then the durable ones.
TEST(SimDiskCrashTest, OverwritesAreTornInFileOrder) {
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    SimDisk disk(SimDiskOptions{.seed = seed});
    KAYA_ASSERT_OK(disk.append(P("f"), B("abcdefgh")));
    KAYA_ASSERT_OK(disk.fsync_file(P("f")));
    KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    KAYA_ASSERT_OK(disk.write_at(P("f"), 2, B("XYZ")));
    disk.crash();
    const std::string got = contents(disk, P("f"));
    EXPECT_TRUE(got == "abcdefgh" || got == "abXdefgh" || got == "abXYefgh" ||
                got == "abXYZfgh")
        << got;
    seen.insert(got);
  }
  EXPECT_EQ(seen.size(), 4u) << "every tear point should occur in 64 seeds";
}

// The bytes of a file after a crash that tore 200 unsynced bytes after 4 synced ones.
std::string torn_after_crash(uint64_t seed, const std::string& unsynced) {
  SimDiskOptions options;
  options.seed = seed;
  SimDisk disk(options);
  EXPECT_TRUE(disk.append(P("f"), B("SYNC")).ok());
  EXPECT_TRUE(disk.fsync_file(P("f")).ok());
  EXPECT_TRUE(disk.fsync_dir(RelativePath()).ok());
  for (size_t i = 0; i < unsynced.size(); i += 20) {
    EXPECT_TRUE(disk.append(P("f"), B(unsynced.substr(i, 20))).ok());
  }
  disk.crash();
  return contents(disk, P("f"));
}

TEST(SimDiskCrashTest, TearingKeepsAPrefixDeterministicallyPerSeed) {
  std::string unsynced;
  for (int i = 0; i < 200; ++i) unsynced += static_cast<char>('a' + i % 26);
  const std::string full = "SYNC" + unsynced;
  const uint64_t base = kaya::testing::seed_from_env(1);
  std::set<size_t> lengths;
  for (uint64_t seed = base; seed < base + 16; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::string got = torn_after_crash(seed, unsynced);
    EXPECT_GE(got.size(), 4u);
    EXPECT_TRUE(is_prefix(got, full)) << got;
    EXPECT_EQ(torn_after_crash(seed, unsynced), got) << "same seed, different tear";
    lengths.insert(got.size());
  }
  EXPECT_GT(lengths.size(), 1u) << "tear length never varied across seeds";
}

TEST(SimDiskCrashTest, RenameIsDurableOnlyAfterDirectorySync) {
  for (bool sync_dir : {false, true}) {
    SCOPED_TRACE(sync_dir ? "directory synced" : "directory not synced");
    SimDisk disk(no_tear());
    KAYA_ASSERT_OK(disk.append(P("CURRENT"), B("old")));
    KAYA_ASSERT_OK(disk.fsync_file(P("CURRENT")));
    KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    KAYA_ASSERT_OK(disk.append(P("CURRENT.tmp"), B("new")));
    KAYA_ASSERT_OK(disk.fsync_file(P("CURRENT.tmp")));
    KAYA_ASSERT_OK(disk.rename(P("CURRENT.tmp"), P("CURRENT")));
    if (sync_dir) KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    // The synced bytes moved with the file.
    EXPECT_EQ(*disk.durable_len(P("CURRENT")), 3u);

    disk.crash();
    EXPECT_EQ(contents(disk, P("CURRENT")), sync_dir ? "new" : "old");
    EXPECT_EQ(disk.file_len(P("CURRENT.tmp")).error().kind(), ErrorKind::kNotFound);
  }
}

TEST(SimDiskCrashTest, CrashReleasesLocksAndStaleLockObjectsReleaseNothing) {
  SimDisk disk;
  auto before = disk.lock_file(P("LOCK"));
  KAYA_ASSERT_OK(before);
  disk.crash();
  auto after = disk.lock_file(P("LOCK"));
  KAYA_ASSERT_OK(after);
  before->reset();  // the pre-crash holder goes away late
  auto third = disk.lock_file(P("LOCK"));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().kind(), ErrorKind::kLockConflict);
}

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
