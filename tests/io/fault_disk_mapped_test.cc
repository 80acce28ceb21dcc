// End to end on the mapped write path: a Writer on FaultDisk over FileDisk whose
// segment space is allocated ahead.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

#include "io/fault_disk_testing.h"
#include "kaya/io/fault_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using ::testing::HasSubstr;
using namespace fault_testing;  // NOLINT(google-build-using-namespace)

// The mapped path: segment space is allocated ahead (every 4 KiB here); relaxed
// records are stored through a map of it, strict ones written into it by the sync
// leader. Faults come from allocating the space, from those writes and from fsync.
class WriterOnFaultDiskMapped : public WriterOnFaultDisk {
 protected:
  wal::WalConfig config() const override {
    wal::WalConfig c;
    c.preallocate_bytes = 4096;
    return c;
  }
  // Relaxed appends until one fails (at most `limit`): the only write operations on
  // FaultDisk are then allocations. Returns the failure.
  std::optional<Error> append_until_failure(int limit) {
    for (int k = 0; k < limit; ++k) {
      auto r = append(acked_.size() + 1, kRelaxed);
      if (!r.ok()) return r.error();
    }
    return std::nullopt;
  }
};

TEST_F(WriterOnFaultDiskMapped, AllocationErrorPoisonsAndLosesNothingAcknowledged) {
  append_ok(10);
  fault_->fail_nth(FaultKind::kWriteError);
  std::optional<Error> failure = append_until_failure(500);
  ASSERT_TRUE(failure.has_value()) << "no new space was ever allocated";
  EXPECT_EQ(failure->kind(), ErrorKind::kIo) << failure->to_string();
  EXPECT_THAT(failure->message(), HasSubstr("allocate space in"));
  expect_poisoned(ErrorKind::kIo);
  writer_.reset();
  // The poisoned writer left its preallocated space: zeros after the last record.
  const RelativePath segment1 = path(wal::format::segment_path(1));
  EXPECT_EQ(file_->file_len(segment1).value() % 4096, 0u);

  auto plain = FileDisk::open(dir_.path()).value();
  wal::RecoveryReport report;
  auto w = reopen_and_check(*plain, 0, &report);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(report.anomalies.empty()) << report.to_string();
  EXPECT_EQ(report.bytes_dropped, 0u);
}

TEST_F(WriterOnFaultDiskMapped, DiskFullForAWindowFallsBackToSpaceForTheRecord) {
  append_ok(10);
  fault_->fail_nth(FaultKind::kDiskFull);
  EXPECT_EQ(append_until_failure(300), std::nullopt);
  EXPECT_EQ(fault_->faults_injected(FaultKind::kDiskFull), 1u);
  EXPECT_FALSE(writer_->stats().poisoned);
  KAYA_ASSERT_OK(writer_->close());
  auto plain = FileDisk::open(dir_.path()).value();
  auto w = reopen_and_check(*plain, 0);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->recovery_report().anomalies.empty());
}

TEST_F(WriterOnFaultDiskMapped,
       WriteErrorOfAStrictBatchPoisonsAndLosesNothingAcknowledged) {
  append_ok(10);
  // Room for record 11 in the current window, so the next write operation is the
  // leader's write of the staged record, not an allocation.
  ASSERT_EQ(fault_->faults_injected(FaultKind::kWriteError), 0u);
  const uint64_t len = file_->file_len(path(wal::format::segment_path(1))).value();
  ASSERT_EQ(len % 4096, 0u);
  fault_->fail_nth(FaultKind::kWriteError);
  auto r = append(11, kStrict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo) << r.error().to_string();
  EXPECT_THAT(r.error().message(), HasSubstr("writing LSN 11..11"));
  expect_poisoned(ErrorKind::kIo);
  writer_.reset();
  auto plain = FileDisk::open(dir_.path()).value();
  auto w = reopen_and_check(*plain, 0);  // nothing of record 11 was written
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->recovery_report().anomalies.empty());
}

TEST_F(WriterOnFaultDiskMapped, FsyncFailurePoisonsAndIsNeverRetried) {
  append_ok(10);
  fault_->fail_nth(FaultKind::kFsyncFailure);
  uint64_t fsyncs_before = fault_->inner_fsync_file_count();
  auto r = append(11, kStrict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kFsyncFailed) << r.error().to_string();
  expect_poisoned(ErrorKind::kFsyncFailed);
  writer_.reset();  // close() neither syncs nor cuts the preallocated space
  EXPECT_EQ(fault_->inner_fsync_file_count(), fsyncs_before);
  auto plain = FileDisk::open(dir_.path()).value();
  auto w = reopen_and_check(*plain, 1);  // record 11 is in the page cache
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->recovery_report().anomalies.empty());
}

TEST_F(WriterOnFaultDiskMapped, RecoveryPointMapErrorPoisonsAndLosesNothingAcknowledged) {
  // On the mapped path the recovery point is stored through a map of its file, made by
  // the first round's write of it: that is where its write can fail (a store cannot;
  // its writeback fails the file's sync). A failed map is the write's failure.
  fault_->spare_paths(
      [](const RelativePath& p) { return p.str() != wal::rp_format::kFile; });
  fault_->fail_nth(FaultKind::kWriteError);
  std::optional<Error> failure;
  for (uint64_t i = 1; i <= 100 && !failure; ++i) {
    auto r = append(i, kStrict);
    if (!r.ok()) failure = r.error();
  }
  ASSERT_TRUE(failure.has_value()) << "the recovery point was never written";
  EXPECT_EQ(failure->kind(), ErrorKind::kIo) << failure->to_string();
  EXPECT_THAT(failure->message(), HasSubstr("recovery point"));
  EXPECT_THAT(failure->message(), HasSubstr("allocate space in"));
  EXPECT_EQ(fault_->faults_injected(FaultKind::kWriteError), 1u);
  expect_poisoned(ErrorKind::kIo);
  writer_.reset();
  auto plain = FileDisk::open(dir_.path()).value();
  auto w = reopen_and_check(*plain, 0);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->recovery_report().anomalies.empty());
}

}  // namespace
}  // namespace kaya::io
