// End to end: a Writer on FaultDisk over FileDisk, faults injected on the system-call
// write path; every acknowledged record survives and the writer poisons.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/fault_disk_testing.h"
#include "kaya/io/fault_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "testing/strings.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using ::testing::HasSubstr;
using wal::Payload;
using wal::Record;
using wal::Writer;
using namespace fault_testing;  // NOLINT(google-build-using-namespace)

TEST_F(WriterOnFaultDisk, FsyncFailurePoisonsAndIsNeverRetried) {
  append_ok(10);
  fault_->fail_nth(FaultKind::kFsyncFailure);
  uint64_t fsyncs_before = fault_->inner_fsync_file_count();
  uint64_t dir_fsyncs_before = fault_->inner_fsync_dir_count();
  auto r = append(11, kStrict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kFsyncFailed) << r.error().to_string();
  expect_poisoned(ErrorKind::kFsyncFailed);
  writer_.reset();  // close() must not fsync a poisoned log either
  EXPECT_EQ(fault_->faults_injected(FaultKind::kFsyncFailure), 1u);
  EXPECT_EQ(fault_->inner_fsync_file_count(), fsyncs_before);
  EXPECT_EQ(fault_->inner_fsync_dir_count(), dir_fsyncs_before);

  // The record whose fsync failed did reach the file (page cache): it may come back.
  auto plain = FileDisk::open(dir_.path()).value();
  auto w = reopen_and_check(*plain, 1);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->recovery_report().anomalies.empty());
}

TEST_F(WriterOnFaultDisk, WriteErrorPoisonsAndLosesNothingAcknowledged) {
  append_ok(10);
  fault_->fail_nth(FaultKind::kWriteError);
  uint64_t fsyncs_before = fault_->inner_fsync_file_count();
  auto r = append(11, kStrict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo) << r.error().to_string();
  expect_poisoned(ErrorKind::kIo);
  writer_.reset();
  EXPECT_EQ(fault_->inner_fsync_file_count(), fsyncs_before);

  auto plain = FileDisk::open(dir_.path()).value();
  auto w = reopen_and_check(*plain, 0);  // nothing of record 11 was written
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->recovery_report().anomalies.empty());
}

TEST_F(WriterOnFaultDisk, ShortWritePoisonsAndReopenCutsTheTornTail) {
  append_ok(10);
  uint64_t len_before = file_->file_len(path(wal::format::segment_path(1))).value();
  fault_->fail_nth(FaultKind::kShortWrite);
  auto r = append(11, kStrict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo) << r.error().to_string();
  expect_poisoned(ErrorKind::kIo);
  writer_.reset();
  uint64_t torn_len = file_->file_len(path(wal::format::segment_path(1))).value();
  uint64_t record_len = Payload::put(key_of(11), value_of(11)).encoded_len();
  EXPECT_EQ(torn_len, len_before + record_len / 2) << "half of record 11 landed";

  auto plain = FileDisk::open(dir_.path()).value();
  wal::RecoveryReport report;
  auto w = reopen_and_check(*plain, 0, &report);
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(report.anomalies.size(), 1u) << report.to_string();
  EXPECT_EQ(report.anomalies[0].kind, wal::AnomalyKind::kTornTail);
  EXPECT_EQ(report.anomalies[0].segment_id, 1u);
  EXPECT_EQ(report.anomalies[0].offset, len_before);
  EXPECT_EQ(report.bytes_dropped, torn_len - len_before);
}

// RecoveryPointFaults: a failed write of the recovery point (on its own thread, after
// the round it follows was acknowledged) poisons the writer like any failed write; every
// record acknowledged before stays.
TEST_F(WriterOnFaultDisk, RecoveryPointWriteErrorPoisonsAndLosesNothingAcknowledged) {
  append_ok(10);
  fault_->spare_paths(
      [](const RelativePath& p) { return p.str() != wal::rp_format::kFile; });
  fault_->fail_nth(FaultKind::kWriteError);
  std::optional<Error> failure;
  for (uint64_t i = 11; i < 100'000 && !failure; ++i) {
    auto r = append(i, kStrict);
    if (!r.ok()) failure = r.error();
  }
  ASSERT_TRUE(failure.has_value()) << "the recovery point was never written";
  EXPECT_EQ(failure->kind(), ErrorKind::kIo) << failure->to_string();
  EXPECT_THAT(failure->message(), HasSubstr("recovery point"));
  EXPECT_EQ(fault_->faults_injected(FaultKind::kWriteError), 1u);
  expect_poisoned(ErrorKind::kIo);
  writer_.reset();
  auto plain = FileDisk::open(dir_.path()).value();
  ASSERT_NE(reopen_and_check(*plain, 0), nullptr);
}

TEST_F(WriterOnFaultDisk, DiskFullPoisonsThenReopenWorksOnceCleared) {
  append_ok(10);
  fault_->fail_nth(FaultKind::kDiskFull);
  auto r = append(11, kStrict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kDiskFull) << r.error().to_string();
  fault_->clear_faults();
  expect_poisoned(ErrorKind::kDiskFull);  // clearing the fault does not unpoison
  EXPECT_EQ(fault_->faults_injected(FaultKind::kDiskFull), 1u);

  // Reopen on the same FaultDisk, its fault cleared.
  auto w = reopen_and_check(*fault_, 0);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->recovery_report().anomalies.empty());
}

TEST_F(WriterOnFaultDisk, ConcurrentStrictAppendsAroundAnFsyncFailure) {
  append_ok(1);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  fault_->fail_nth(FaultKind::kFsyncFailure, 20);
  std::mutex mu;
  std::vector<std::pair<uint64_t, std::string>> acked;  // lsn, key
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kPerThread; ++k) {
        std::string key =
            kaya::testing::cat("t", std::to_string(t), ":", std::to_string(k));
        auto r = writer_->append(Payload::put(key, "v"), kStrict);
        if (!r.ok()) {
          EXPECT_EQ(r.error().kind(), ErrorKind::kFsyncFailed) << r.error().to_string();
          continue;
        }
        std::lock_guard lock(mu);
        acked.emplace_back(r->lsn.value(), key);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(writer_->stats().poisoned);
  writer_.reset();

  auto plain = FileDisk::open(dir_.path()).value();
  std::vector<Record> got;
  wal::OpenOptions options;
  options.replay = [&](uint64_t, uint64_t, const wal::RecordView& r) {
    got.push_back(r.to_record());
    return ok_status();
  };
  auto w = Writer::open({}, *plain, options);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k].lsn.value(), k + 1);
  for (const auto& [lsn, key] : acked) {
    ASSERT_LE(lsn, got.size()) << "acknowledged LSN " << lsn << " lost";
    EXPECT_EQ(got[lsn - 1].key, key);
  }
  EXPECT_EQ((*w)->next_lsn().value(), got.size() + 1);
}

}  // namespace
}  // namespace kaya::io
