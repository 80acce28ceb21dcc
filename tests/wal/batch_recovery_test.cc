// Recovery and inspection of incomplete atomic batches: a batch is kept whole or not at
// all, judged by the one judgement (docs/format.md, "Incomplete batches"): cut whole or
// moved aside beyond the recovery point, corruption at or below it; inspection reports
// an incomplete batch as recovery does.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kaya/wal/inspect.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/batch_test_util.h"
#include "wal/wal_test_util.h"
#include "wal/writer_test_util.h"

namespace kaya::wal {
namespace {

namespace fs = std::filesystem;
using namespace batch_testing;  // NOLINT(google-build-using-namespace)

std::vector<std::string> keys_of(const std::vector<Record>& records) {
  std::vector<std::string> keys;
  for (const Record& r : records) keys.push_back(r.key);
  return keys;
}

TEST(BatchRecoveryTest, ATornBatchBeyondTheRecoveryPointIsCutWhole) {
  BatchLog log;
  write_batch_log(log, /*covered=*/false, /*tail=*/false);
  // The batch's last record half written.
  fs::resize_file(log.segment(), log.last_record_offset + 20);
  auto dry = testing::read_log(*log.disk, batch_config());
  KAYA_ASSERT_OK(dry);
  EXPECT_EQ(keys_of(dry->records), (std::vector<std::string>{"a", "b"}))
      << "the visitor gets none of the batch";
  ASSERT_EQ(dry->report.anomalies.size(), 1u);
  const Anomaly& a = dry->report.anomalies[0];
  EXPECT_EQ(a.kind, AnomalyKind::kTornTail) << a.to_string();
  EXPECT_EQ(a.offset, log.batch.offset) << "cut from the batch's first record";
  EXPECT_NE(a.reason.find("atomic batch from LSN 3"), std::string::npos) << a.reason;

  auto w = Writer::open(batch_config(), *log.disk);
  KAYA_ASSERT_OK(w);
  EXPECT_EQ((*w)->next_lsn(), Lsn(3));
  KAYA_ASSERT_OK((*w)->close());
  EXPECT_EQ(fs::file_size(log.segment()), log.batch.offset);
}

// The batch's records stop verifying before its last, and a valid record follows:
// the batch and what follows are moved to wal/lost/, never deleted.
TEST(BatchRecoveryTest, ABatchBeforeAHoleBeyondTheRecoveryPointIsMovedAside) {
  BatchLog log;
  write_batch_log(log, /*covered=*/false, /*tail=*/true);
  damage_last_record(log);
  auto report = recover(batch_config(), *log.disk);
  KAYA_ASSERT_OK(report);
  ASSERT_EQ(report->anomalies.size(), 1u);
  EXPECT_EQ(report->anomalies[0].kind, AnomalyKind::kLostAfterHole)
      << report->anomalies[0].to_string();
  EXPECT_EQ(report->anomalies[0].offset, log.batch.offset);
  ASSERT_EQ(report->dropped.size(), 1u);
  EXPECT_NE(report->dropped[0].moved_to, "");
  EXPECT_EQ(report->next_lsn, Lsn(3));
  auto back = testing::read_log(*log.disk, batch_config());
  KAYA_ASSERT_OK(back);
  EXPECT_EQ(keys_of(back->records), (std::vector<std::string>{"a", "b"}));
}

// At or below the recovery point the batch was acknowledged whole: a missing part is
// Corruption, and nothing changes.
TEST(BatchRecoveryTest, AnIncompleteBatchAtOrBelowTheRecoveryPointIsCorruption) {
  BatchLog log;
  write_batch_log(log, /*covered=*/true, /*tail=*/true);
  // The batch's last record (LSN 5) damaged, LSN 6 valid after it; the recovery
  // point names LSN 6.
  damage_last_record(log);
  const uint64_t size = fs::file_size(log.segment());
  RecoveryOptions options;
  options.full_scan = true;
  auto report = recover(batch_config(), *log.disk, options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().kind(), ErrorKind::kCorruption) << report.error().to_string();
  EXPECT_EQ(fs::file_size(log.segment()), size);
  // Point-in-time keeps the records before the batch, never part of it.
  options.mode = RecoveryMode::kPointInTime;
  auto pit = recover(batch_config(), *log.disk, options);
  KAYA_ASSERT_OK(pit);
  EXPECT_EQ(pit->next_lsn, Lsn(3));
  EXPECT_EQ(fs::file_size(log.segment()), log.batch.offset);
}

// Without a recovery point (lost): a batch cut short at the end of the last segment is
// a torn tail, cut whole.
TEST(BatchRecoveryTest, WithoutARecoveryPointATornBatchIsCutWhole) {
  BatchLog log;
  write_batch_log(log, /*covered=*/true, /*tail=*/false);
  fs::remove(fs::path(log.dir.path()) / "wal" / "RECOVERY_POINT");
  fs::resize_file(log.segment(), log.last_record_offset);  // the last record is gone
  auto report = recover(batch_config(), *log.disk);
  KAYA_ASSERT_OK(report);
  ASSERT_EQ(report->anomalies.size(), 1u);
  EXPECT_EQ(report->anomalies[0].kind, AnomalyKind::kTornTail);
  EXPECT_EQ(report->next_lsn, Lsn(3));
  EXPECT_EQ(report->extensions, kExtensionBatches) << "the marker keeps the opt-in";
}

// inspect_log() judges an incomplete batch as recovery does: at its first record,
// with recovery's words, and counts none of its records as recoverable.
TEST(BatchInspectTest, AnIncompleteBatchIsReportedAsRecoveryReportsIt) {
  BatchLog log;
  write_batch_log(log, /*covered=*/false, /*tail=*/false);
  fs::resize_file(log.segment(), log.last_record_offset + 20);
  auto dry = testing::read_log(*log.disk, batch_config());
  KAYA_ASSERT_OK(dry);
  ASSERT_EQ(dry->report.anomalies.size(), 1u);
  auto inspection = inspect_log(batch_config(), *log.disk);
  KAYA_ASSERT_OK(inspection);
  ASSERT_EQ(inspection->anomalies.size(), 1u);
  const Anomaly& a = inspection->anomalies[0];
  EXPECT_EQ(a.kind, AnomalyKind::kTornTail);
  EXPECT_EQ(a.offset, log.batch.offset);
  EXPECT_EQ(a.lsn, std::optional<Lsn>(Lsn(3)));
  EXPECT_EQ(a.reason, dry->report.anomalies[0].reason);
  ASSERT_EQ(inspection->segments.size(), 1u);
  EXPECT_EQ(inspection->segments[0].records, 2u);
  EXPECT_EQ(inspection->segments[0].valid_bytes, log.batch.offset);
  EXPECT_EQ(inspection->recoverable_records, 2u);
  EXPECT_EQ(inspection->next_lsn, Lsn(3));

  // At or below the recovery point: Corruption, as for recovery.
  BatchLog covered;
  write_batch_log(covered, /*covered=*/true, /*tail=*/true);
  damage_last_record(covered);
  auto c = inspect_log(batch_config(), *covered.disk);
  KAYA_ASSERT_OK(c);
  ASSERT_FALSE(c->anomalies.empty());
  EXPECT_EQ(c->anomalies[0].kind, AnomalyKind::kCorruption);
  EXPECT_EQ(c->anomalies[0].offset, covered.batch.offset);
  EXPECT_NE(c->anomalies[0].reason.find("so the batch is cut whole"), std::string::npos)
      << c->anomalies[0].reason;
}

}  // namespace
}  // namespace kaya::wal
