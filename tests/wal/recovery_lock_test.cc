// Recovery next to a writer (the log's lock), with short reads, and with failing reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/recording_disk.h"
#include "wal/recovery_scenario.h"

namespace kaya::wal {
namespace {

using io::FaultKind;
using io::SimDisk;
using ::testing::HasSubstr;
using namespace recovery_testing;  // NOLINT(google-build-using-namespace)

TEST(RecoveryLockTest, RepairWhileAWriterHoldsTheLogIsALockConflict) {
  for (DiskType type : {DiskType::kSim, DiskType::kFile}) {
    SCOPED_TRACE(type == DiskType::kSim ? "SimDisk" : "FileDisk");
    TestDisk t = make_disk(type);
    ASSERT_NE(t.disk, nullptr);
    Log log = write_log(*t.disk);
    auto w = Writer::open(small_config(), *t.disk);
    ASSERT_TRUE(w.ok()) << w.error().to_string();
    for (RecoveryMode mode : kModes) {
      SCOPED_TRACE(to_string(mode));
      Recovered repair = run(*t.disk, mode);
      ASSERT_FALSE(repair.report.ok());
      EXPECT_EQ(repair.report.error().kind(), ErrorKind::kLockConflict)
          << repair.report.error().to_string();
      Recovered dry = run(*t.disk, mode, /*dry_run=*/true);
      ASSERT_TRUE(dry.report.ok()) << dry.report.error().to_string();
      EXPECT_EQ(dry.records, log.records);
    }
    KAYA_ASSERT_OK((*w)->close());
    w->reset();
    Recovered after = run(*t.disk, RecoveryMode::kDefault);
    KAYA_EXPECT_OK(after.report);
  }
}

// A repairing recovery takes the log's lock before it looks at anything of the log: a
// writer creating the first segment meanwhile must not have its record cut by an
// unlocked repair.
TEST(RecoveryLockTest, ARepairTakesTheLockBeforeReadingTheLog) {
  for (RecoveryMode mode : kModes) {
    SCOPED_TRACE(to_string(mode));
    SimDisk sim;
    write_log(sim);
    truncate_segment(sim, 3, 250);  // a torn tail to repair
    testing::RecordingDisk disk(sim);
    Recovered r = run(disk, mode);
    if (mode == RecoveryMode::kAbsolute) {
      ASSERT_FALSE(r.report.ok());
    } else {
      ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
      EXPECT_TRUE(r.report->applied);
    }
    const std::vector<testing::RecordingDisk::Call> calls = disk.calls();
    ASSERT_FALSE(calls.empty());
    EXPECT_EQ(calls[0].op, "lock_file")
        << "first call: " << calls[0].op << " " << calls[0].path;
    EXPECT_EQ(calls[0].path, format::kLockFile);
  }
}

// While a writer holds the log, a repairing recovery fails before reading anything.
TEST(RecoveryLockTest, ARepairNextToAWriterReadsNothing) {
  SimDisk sim;
  auto w = Writer::open(small_config(), sim);
  KAYA_ASSERT_OK(w);
  KAYA_ASSERT_OK((*w)->append(Payload::put("k", "v"), DurabilityMode::kStrict));
  testing::RecordingDisk disk(sim);
  Recovered r = run(disk, RecoveryMode::kDefault);
  ASSERT_FALSE(r.report.ok());
  EXPECT_EQ(r.report.error().kind(), ErrorKind::kLockConflict);
  const std::vector<testing::RecordingDisk::Call> calls = disk.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, "lock_file");
}

TEST(RecoveryShortReadTest, LoopsOnShortReads) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    io::SimDiskOptions options;
    options.seed = seed;
    options.short_reads = true;
    SimDisk disk(options);
    Log log = write_log(disk, 30);  // ten segments
    for (size_t buffer_bytes : {size_t{1}, size_t{100}, size_t{1} << 20}) {
      SCOPED_TRACE("buffer " + std::to_string(buffer_bytes));
      RecoveryOptions ro;
      ro.dry_run = true;
      ro.buffer_bytes = buffer_bytes;
      Recovered r = run(disk, ro);
      ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
      EXPECT_EQ(r.records, log.records);
      EXPECT_EQ(r.report->next_lsn, Lsn(31));
      EXPECT_EQ(r.report->segments.size(), 10u);
      EXPECT_TRUE(r.report->anomalies.empty()) << r.report->anomalies[0].to_string();
    }
    // A torn tail is still told from corruption when reads come back short.
    truncate_segment(disk, 10, 250);
    Recovered r = run(disk, RecoveryMode::kDefault);
    ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
    EXPECT_EQ(r.report->records, 29u);
    ASSERT_EQ(r.report->anomalies.size(), 1u);
    EXPECT_EQ(r.report->anomalies[0].kind, AnomalyKind::kTornTail);
  }
}

// Every read of the recovery fails in turn: each time the error is Io (never a
// corruption verdict), and nothing changed.
TEST(RecoveryReadErrorTest, ReadErrorIsAnIoErrorAndChangesNothing) {
  for (RecoveryMode mode : kModes) {
    for (bool dry_run : {true, false}) {
      bool reached_the_end = false;
      for (uint64_t n = 1; n < 200 && !reached_the_end; ++n) {
        SCOPED_TRACE(std::string(to_string(mode)) + (dry_run ? " dry run" : "") +
                     ", read " + std::to_string(n) + " fails");
        SimDisk disk;
        write_log(disk);
        const Snapshot before = snapshot(disk);
        disk.fail_nth(FaultKind::kReadError, n);
        Recovered r = run(disk, mode, dry_run);
        if (disk.faults_injected(FaultKind::kReadError) == 0) {
          reached_the_end = true;
          KAYA_EXPECT_OK(r.report);
          continue;
        }
        disk.clear_faults();
        ASSERT_FALSE(r.report.ok());
        EXPECT_EQ(r.report.error().kind(), ErrorKind::kIo)
            << r.report.error().to_string();
        EXPECT_THAT(r.report.error().message(), HasSubstr("injected read error"));
        EXPECT_EQ(snapshot(disk), before);
      }
      EXPECT_TRUE(reached_the_end);
    }
  }
}

// The same with a torn tail, where recovery also reads to tell it from corruption.
TEST(RecoveryReadErrorTest, ReadErrorWhileClassifyingATornTail) {
  for (RecoveryMode mode : {RecoveryMode::kDefault, RecoveryMode::kAbsolute}) {
    bool reached_the_end = false;
    for (uint64_t n = 1; n < 200 && !reached_the_end; ++n) {
      SCOPED_TRACE(std::string(to_string(mode)) + ", read " + std::to_string(n) +
                   " fails");
      SimDisk disk;
      write_log(disk);
      append_to_segment(disk, 3, garbage(1000, 3));
      const Snapshot before = snapshot(disk);
      disk.fail_nth(FaultKind::kReadError, n);
      Recovered r = run(disk, mode);
      if (disk.faults_injected(FaultKind::kReadError) == 0) {
        reached_the_end = true;
        continue;
      }
      disk.clear_faults();
      ASSERT_FALSE(r.report.ok());
      EXPECT_EQ(r.report.error().kind(), ErrorKind::kIo) << r.report.error().to_string();
      EXPECT_EQ(snapshot(disk), before);
    }
    EXPECT_TRUE(reached_the_end);
  }
}

}  // namespace
}  // namespace kaya::wal
