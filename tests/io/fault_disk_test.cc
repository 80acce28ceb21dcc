// FaultDisk on its own, then end to end: a Writer on FaultDisk over FileDisk, faults
// injected into real I/O, and recovery by a new Writer on a plain FileDisk.
#include "kaya/io/fault_disk.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "testing/strings.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using wal::Payload;
using wal::Record;
using wal::Writer;

constexpr auto kStrict = wal::DurabilityMode::kStrict;
constexpr auto kRelaxed = wal::DurabilityMode::kRelaxed;

RelativePath path(std::string_view text) { return RelativePath::parse(text).value(); }

ByteView bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string read_all(Disk& disk, std::string_view name) {
  uint64_t len = disk.file_len(path(name)).value();
  std::string out(len, '\0');
  auto n = read_full(disk, path(name), 0,
                     {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  EXPECT_TRUE(n.ok());
  return out;
}

// ---------------------------------------------------------------------------------
// FaultDisk alone.

TEST(FaultDiskTest, ForwardsWhenNoFaultIsScheduled) {
  TempDir dir;
  auto file = FileDisk::open(dir.path()).value();
  FaultDisk disk(*file);
  KAYA_ASSERT_OK(disk.append(path("a"), bytes_of("hello")));
  KAYA_ASSERT_OK(disk.fsync_file(path("a")));
  KAYA_ASSERT_OK(disk.fsync_dir(path("")));
  EXPECT_EQ(read_all(*file, "a"), "hello");
  EXPECT_EQ(disk.inner_fsync_file_count(), 1u);
  EXPECT_EQ(disk.inner_fsync_dir_count(), 1u);
  EXPECT_EQ(disk.describe(path("a")), file->describe(path("a")));
  for (int k = 0; k < kFaultKindCount; ++k) {
    EXPECT_EQ(disk.faults_injected(static_cast<FaultKind>(k)), 0u);
  }
}

TEST(FaultDiskTest, FailsTheNthOperationOfAKindOnly) {
  TempDir dir;
  auto file = FileDisk::open(dir.path()).value();
  FaultDisk disk(*file);
  disk.fail_nth(FaultKind::kFsyncFailure, 2);
  KAYA_ASSERT_OK(disk.append(path("a"), bytes_of("x")));  // not an fsync: not counted
  KAYA_ASSERT_OK(disk.fsync_file(path("a")));
  auto failed = disk.fsync_dir(path(""));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::kFsyncFailed);
  EXPECT_NE(failed.error().message().find("injected"), std::string::npos);
  KAYA_ASSERT_OK(disk.fsync_file(path("a")));  // the schedule fired once
  EXPECT_EQ(disk.faults_injected(FaultKind::kFsyncFailure), 1u);
  EXPECT_EQ(disk.inner_fsync_file_count(), 2u);
  EXPECT_EQ(disk.inner_fsync_dir_count(), 0u);  // the failed one never reached it
}

TEST(FaultDiskTest, WriteFaultsWriteNothingOrAStrictPrefix) {
  TempDir dir;
  auto file = FileDisk::open(dir.path()).value();
  FaultDisk disk(*file);
  KAYA_ASSERT_OK(disk.append(path("a"), bytes_of("0123")));

  disk.fail_nth(FaultKind::kWriteError);
  auto r = disk.append(path("a"), bytes_of("abcdef"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo);
  disk.fail_nth(FaultKind::kDiskFull);
  r = disk.append(path("a"), bytes_of("abcdef"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kDiskFull);
  EXPECT_EQ(read_all(*file, "a"), "0123");

  // A short append cuts across parts: 3 + 5 bytes, the first 4 land.
  disk.fail_nth(FaultKind::kShortWrite);
  ByteView parts[] = {bytes_of("abc"), bytes_of("defgh")};
  r = disk.append(path("a"), std::span<const ByteView>(parts));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo);
  EXPECT_EQ(read_all(*file, "a"), "0123abcd");

  disk.fail_nth(FaultKind::kShortWrite);
  auto s = disk.write_at(path("a"), 0, bytes_of("WXYZ"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::kIo);
  EXPECT_EQ(read_all(*file, "a"), "WX23abcd");

  disk.fail_nth(FaultKind::kReadError);
  uint8_t buf[4];
  auto rd = disk.read_at(path("a"), 0, buf);
  ASSERT_FALSE(rd.ok());
  EXPECT_EQ(rd.error().kind(), ErrorKind::kIo);

  EXPECT_EQ(disk.faults_injected(FaultKind::kWriteError), 1u);
  EXPECT_EQ(disk.faults_injected(FaultKind::kDiskFull), 1u);
  EXPECT_EQ(disk.faults_injected(FaultKind::kShortWrite), 2u);
  EXPECT_EQ(disk.faults_injected(FaultKind::kReadError), 1u);
}

TEST(FaultDiskTest, WriteKindsAreConsultedInOrderAndOnlyOneFires) {
  TempDir dir;
  auto file = FileDisk::open(dir.path()).value();
  FaultDisk disk(*file);
  disk.fail_nth(FaultKind::kWriteError);
  disk.fail_nth(FaultKind::kDiskFull);
  auto r = disk.append(path("a"), bytes_of("abc"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo);
  // kDiskFull was not consulted for that call: it fires on the next one.
  r = disk.append(path("a"), bytes_of("abc"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kDiskFull);
  disk.clear_faults();
  KAYA_ASSERT_OK(disk.append(path("a"), bytes_of("abc")));
}

// ---------------------------------------------------------------------------------
// End to end: Writer on FaultDisk over FileDisk.

std::string key_of(uint64_t i) { return "key:" + std::to_string(i); }
std::string value_of(uint64_t i) { return std::string(200 + i % 50, char('a' + i % 26)); }

// The system-call write path (preallocate_bytes = 0), where every batch is a write
// that can fail; WriterOnFaultDiskMapped below covers the mapped path.
class WriterOnFaultDisk : public ::testing::Test {
 protected:
  virtual wal::WalConfig config() const {
    wal::WalConfig c;
    c.preallocate_bytes = 0;
    return c;
  }

  void SetUp() override {
    auto opened = FileDisk::open(dir_.path());
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    file_ = std::move(opened).value();
    fault_ = std::make_unique<FaultDisk>(*file_);
    // The faults aim at the log's segments and directory; the recovery point, written
    // by a thread of its own, would take them at an unpredictable moment (its own
    // failures: RecoveryPointFaults below).
    fault_->spare_paths(
        [](const RelativePath& p) { return p.str() == wal::rp_format::kFile; });
    auto w = Writer::open(config(), *fault_);
    ASSERT_TRUE(w.ok()) << w.error().to_string();
    writer_ = std::move(w).value();
  }

  // Appends record `i`; records it as acknowledged when the append succeeds.
  Result<wal::AppendResult> append(uint64_t i, wal::DurabilityMode mode) {
    auto r = writer_->append(Payload::put(key_of(i), value_of(i)), mode);
    if (r.ok()) {
      EXPECT_EQ(r->lsn.value(), i) << "LSNs are 1, 2, 3, ...";
      acked_.push_back(i);
    }
    return r;
  }

  // Some acknowledged strict and relaxed appends (1..n).
  void append_ok(uint64_t n) {
    for (uint64_t i = acked_.size() + 1; i <= n; ++i) {
      auto r = append(i, i % 3 == 0 ? kRelaxed : kStrict);
      ASSERT_TRUE(r.ok()) << r.error().to_string();
    }
  }

  // The failing append and later ones all fail with `kind`; the writer is poisoned.
  void expect_poisoned(ErrorKind kind) {
    uint64_t next = acked_.size() + 1;
    for (auto mode : {kStrict, kRelaxed, kStrict}) {
      auto r = writer_->append(Payload::put(key_of(next), value_of(next)), mode);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().kind(), kind) << r.error().to_string();
    }
    auto s = writer_->sync();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind(), kind);
    EXPECT_TRUE(writer_->stats().poisoned);
  }

  // Closes the poisoned writer, reopens the directory with a new Writer on a plain
  // FileDisk and checks: every acknowledged record is back, in order, followed by at
  // most `may_extra` records (failed appends that did reach the file), and the log
  // continues right after the last record recovered.
  std::unique_ptr<Writer> reopen_and_check(Disk& disk, uint64_t may_extra,
                                           wal::RecoveryReport* report_out = nullptr) {
    writer_.reset();
    std::vector<Record> got;
    wal::OpenOptions options;
    options.replay = [&](uint64_t, uint64_t, const wal::RecordView& r) {
      got.push_back(r.to_record());
      return ok_status();
    };
    auto w = Writer::open({}, disk, options);
    EXPECT_TRUE(w.ok()) << w.error().to_string();
    if (!w.ok()) return nullptr;
    std::unique_ptr<Writer> writer = std::move(w).value();
    EXPECT_GE(got.size(), acked_.size());
    EXPECT_LE(got.size(), acked_.size() + may_extra);
    for (size_t k = 0; k < got.size(); ++k) {
      uint64_t i = k + 1;
      EXPECT_EQ(got[k].lsn.value(), i);
      EXPECT_EQ(got[k].key, key_of(i));
      EXPECT_EQ(got[k].value, value_of(i));
    }
    uint64_t next = got.size() + 1;
    EXPECT_EQ(writer->next_lsn().value(), next);
    auto r = writer->append(Payload::put(key_of(next), value_of(next)), kStrict);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    if (r.ok()) {
      EXPECT_EQ(r->lsn.value(), next);
    }
    if (report_out != nullptr) *report_out = writer->recovery_report();
    return writer;
  }

  TempDir dir_;
  std::unique_ptr<FileDisk> file_;
  std::unique_ptr<FaultDisk> fault_;
  std::unique_ptr<Writer> writer_;
  std::vector<uint64_t> acked_;
};

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

// ---------------------------------------------------------------------------------
// A real full disk: a 1 MiB tmpfs. Needs root (CAP_SYS_ADMIN) to mount.
//
// tmpfs keeps everything in memory: fdatasync is a no-op there, so this test checks
// the ENOSPC path (DiskFull, poisoning, recovery), not durability across power loss.

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

class TmpfsMount {
 public:
  explicit TmpfsMount(const std::string& dir) : dir_(dir) {
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=1m") == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

TEST(RealDiskFullTest, TmpfsFullPoisonsAndRecoversAfterFreeingSpace) {
  if (::geteuid() != 0) GTEST_SKIP() << "not root: cannot mount a tmpfs";
  TempDir dir;  // destroyed after the mount guard below has unmounted
  TmpfsMount mount(dir.path());
  if (!mount.mounted()) {
    GTEST_SKIP() << "mount -t tmpfs -o size=1m on " << dir.path()
                 << " failed: " << mount.error();
  }

  std::vector<std::string> acked;  // value of LSN i at index i - 1
  {
    auto disk = FileDisk::open(dir.path()).value();
    // A filler file to free later (64 KiB).
    std::string filler(64 << 10, 'f');
    KAYA_ASSERT_OK(disk->append(path("filler"), bytes_of(filler)));
    KAYA_ASSERT_OK(disk->fsync_file(path("filler")));

    auto w = Writer::open({}, *disk);
    ASSERT_TRUE(w.ok()) << w.error().to_string();
    std::unique_ptr<Writer> writer = std::move(w).value();
    std::optional<Error> failure;
    for (uint64_t i = 1; i <= 1000 && !failure; ++i) {  // 1000 * 4 KiB > 1 MiB
      std::string value(4096, char('a' + i % 26));
      auto r = writer->append(Payload::put(key_of(i), value), kStrict);
      if (r.ok()) {
        ASSERT_EQ(r->lsn.value(), i);
        acked.push_back(value);
      } else {
        failure = r.error();
      }
    }
    ASSERT_TRUE(failure.has_value()) << "1 MiB tmpfs never filled up";
    EXPECT_EQ(failure->kind(), ErrorKind::kDiskFull) << failure->to_string();
    EXPECT_GT(acked.size(), 100u);
    EXPECT_TRUE(writer->stats().poisoned);
    auto again = writer->append(Payload::put("after", "x"), kStrict);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().kind(), ErrorKind::kDiskFull);
    writer.reset();
    KAYA_ASSERT_OK(disk->remove_file(path("filler")));
  }

  auto disk = FileDisk::open(dir.path()).value();
  std::vector<Record> got;
  wal::OpenOptions options;
  options.replay = [&](uint64_t, uint64_t, const wal::RecordView& r) {
    got.push_back(r.to_record());
    return ok_status();
  };
  auto w = Writer::open({}, *disk, options);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  std::unique_ptr<Writer> writer = std::move(w).value();
  // The failed append was never acknowledged; a partial write of it is a torn tail.
  ASSERT_GE(got.size(), acked.size());
  ASSERT_LE(got.size(), acked.size() + 1);
  for (size_t k = 0; k < acked.size(); ++k) {
    EXPECT_EQ(got[k].lsn.value(), k + 1);
    EXPECT_EQ(got[k].key, key_of(k + 1));
    EXPECT_EQ(got[k].value, acked[k]);
  }
  uint64_t next = got.size() + 1;
  for (int k = 0; k < 4; ++k, ++next) {
    auto r = writer->append(Payload::put(key_of(next), std::string(4096, 'z')), kStrict);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->lsn.value(), next);
  }
}

}  // namespace
}  // namespace kaya::io
