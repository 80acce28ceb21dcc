// Tests of the inspection library (kaya/wal/inspect.h): byte surgery on a log built by
// the Writer, and a seeded property test that inspection classifies every damage
// exactly like a dry-run recovery does.
#include "kaya/wal/inspect.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"

namespace kaya::wal {
namespace {

using ::testing::HasSubstr;
using Bytes = std::vector<uint8_t>;

// Nine 95-byte Puts, three per 300-byte segment: record i (LSN i + 1) is in segment
// i / 3 + 1 at offset (i % 3) * 95.
constexpr int kRecords = 9;
constexpr uint64_t kRecordBytes = 95;

WalConfig small_config() {
  WalConfig config;
  config.segment_max_bytes = 300;
  config.max_record_bytes = 300;
  return config;
}

io::RelativePath seg(uint64_t id) {
  return io::RelativePath::parse(format::segment_path(id)).value();
}

// Without `keep_recovery_point` the log is judged as kaya 0.1 or KayaDB left it: by
// what follows the damage alone (docs/recovery.md, "no recovery point").
void write_log(io::Disk& disk, bool keep_recovery_point = false) {
  auto w = Writer::open(small_config(), disk);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  for (int i = 0; i < kRecords; ++i) {
    std::string key = "key-" + std::to_string(100 + i);
    std::string value(40, static_cast<char>('a' + i));
    auto r = (*w)->append(Payload::put(key, value), DurabilityMode::kRelaxed);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_EQ(r->encoded_len, kRecordBytes);
  }
  KAYA_ASSERT_OK((*w)->close());
  if (!keep_recovery_point) {
    KAYA_ASSERT_OK(
        disk.remove_file(io::RelativePath::parse("wal/RECOVERY_POINT").value()));
  }
}

Bytes read_all(io::Disk& disk, const io::RelativePath& path) {
  auto len = disk.file_len(path);
  if (!len.ok()) return {};
  Bytes b(*len);
  auto n = io::read_full(disk, path, 0, b);
  EXPECT_TRUE(n.ok());
  return b;
}

// Every file of the log and its bytes, to prove that inspection changed nothing.
std::map<std::string, Bytes> snapshot(io::Disk& disk) {
  std::map<std::string, Bytes> files;
  auto ids = list_segments(disk);
  EXPECT_TRUE(ids.ok());
  for (uint64_t id : *ids) files[seg(id).str()] = read_all(disk, seg(id));
  return files;
}

Result<LogInspection> inspect(io::Disk& disk) {
  return inspect_log(small_config(), disk);
}

TEST(InspectLog, CleanLogHasEverySegmentCleanAndNothingToRepair) {
  io::SimDisk disk;
  write_log(disk);
  auto log = inspect(disk);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->segments.size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) {
    const SegmentInspection& s = log->segments[i];
    EXPECT_EQ(s.id, i + 1);
    EXPECT_EQ(s.state, SegmentState::kClean);
    EXPECT_EQ(s.records, 3u);
    EXPECT_EQ(s.bytes, 3 * kRecordBytes);
    EXPECT_EQ(s.valid_bytes, s.bytes);
    EXPECT_EQ(s.first_lsn, Lsn(3 * i + 1));
    EXPECT_EQ(s.last_lsn, Lsn(3 * i + 3));
    EXPECT_EQ(s.records_by_type[static_cast<size_t>(RecordType::kPut)], 3u);
    EXPECT_EQ(s.state_string(), "clean");
  }
  EXPECT_TRUE(log->anomalies.empty());
  EXPECT_EQ(log->records, 9u);
  EXPECT_EQ(log->recoverable_records, 9u);
  EXPECT_EQ(log->next_lsn, Lsn(10));
  EXPECT_EQ(log->first_lsn, Lsn(1));
  EXPECT_EQ(log->last_lsn, Lsn(9));
  EXPECT_FALSE(log->corrupt());
  EXPECT_FALSE(log->torn_tail());
}

TEST(InspectLog, EmptyLogIsCleanAndStartsAtLsnOne) {
  io::SimDisk disk;
  auto log = inspect(disk);
  KAYA_ASSERT_OK(log);
  EXPECT_TRUE(log->segments.empty());
  EXPECT_EQ(log->next_lsn, Lsn(1));
  EXPECT_EQ(log->first_problem(), nullptr);
}

TEST(InspectLog, CutLastRecordIsATornTailAndNotCorruption) {
  io::SimDisk disk;
  write_log(disk);
  KAYA_ASSERT_OK(disk.truncate(seg(3), 2 * kRecordBytes + 50));
  auto log = inspect(disk);
  KAYA_ASSERT_OK(log);
  const SegmentInspection& s = log->segments[2];
  EXPECT_EQ(s.state, SegmentState::kTornTail);
  EXPECT_EQ(s.problem_offset, 2 * kRecordBytes);
  EXPECT_EQ(s.problem_bytes(), 50u);
  EXPECT_EQ(s.problem, DecodeProblem::kPartialPayload);
  EXPECT_THAT(s.state_string(), HasSubstr("torn tail of 50 bytes at offset 190"));
  EXPECT_TRUE(log->torn_tail());
  EXPECT_FALSE(log->corrupt());
  EXPECT_EQ(log->recoverable_records, 8u);
  EXPECT_EQ(log->next_lsn, Lsn(9));
}

// The same cut in a log whose recovery point names the last record: the record was
// durable, so it is corruption, never a torn tail.
TEST(InspectLog, CutLastRecordAtTheRecoveryPointIsCorruption) {
  io::SimDisk disk;
  write_log(disk, /*keep_recovery_point=*/true);
  KAYA_ASSERT_OK(disk.truncate(seg(3), 2 * kRecordBytes + 50));
  auto log = inspect(disk);
  KAYA_ASSERT_OK(log);
  ASSERT_TRUE(log->recovery_point.has_value());
  EXPECT_EQ(log->recovery_point->durable.lsn, Lsn(9));
  const SegmentInspection& s = log->segments[2];
  EXPECT_EQ(s.state, SegmentState::kCorrupt);
  EXPECT_EQ(s.problem_offset, 2 * kRecordBytes);
  EXPECT_EQ(s.problem_lsn, Lsn(9));
  EXPECT_THAT(s.reason, HasSubstr("at or below the recovery point"));
  EXPECT_TRUE(log->corrupt());
  EXPECT_FALSE(log->torn_tail());
}

TEST(InspectLog, DamageInAClosedSegmentIsCorruptionAndLaterSegmentsAreStillScanned) {
  io::SimDisk disk;
  write_log(disk);
  Bytes b = read_all(disk, seg(1));
  b[kRecordBytes + 60] ^= 0x01;  // payload of LSN 2
  KAYA_ASSERT_OK(disk.write_at(seg(1), 0, b));
  auto log = inspect(disk);
  KAYA_ASSERT_OK(log);
  const SegmentInspection& s = log->segments[0];
  EXPECT_EQ(s.state, SegmentState::kCorrupt);
  EXPECT_EQ(s.problem_offset, kRecordBytes);
  EXPECT_EQ(s.problem_lsn, Lsn(2));
  EXPECT_EQ(s.problem, DecodeProblem::kBadPayloadChecksum);
  EXPECT_THAT(s.reason, HasSubstr("not the last segment"));
  // Unlike recovery, inspection goes on: the later segments are intact.
  EXPECT_EQ(log->segments[1].state, SegmentState::kClean);
  EXPECT_EQ(log->segments[2].state, SegmentState::kClean);
  EXPECT_EQ(log->records, 7u);
  ASSERT_EQ(log->anomalies.size(), 1u);
  EXPECT_EQ(log->anomalies[0].kind, AnomalyKind::kCorruption);
  EXPECT_EQ(log->anomalies[0].segment_id, 1u);
  EXPECT_EQ(log->anomalies[0].offset, kRecordBytes);
  EXPECT_EQ(log->recoverable_records, 1u);
  EXPECT_EQ(log->next_lsn, Lsn(2));
}

TEST(InspectLog, MissingMiddleSegmentIsCorruptionAtTheNextSegment) {
  io::SimDisk disk;
  write_log(disk);
  KAYA_ASSERT_OK(disk.remove_file(seg(2)));
  auto log = inspect(disk);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->anomalies.size(), 1u);
  const Anomaly& a = log->anomalies[0];
  EXPECT_EQ(a.kind, AnomalyKind::kCorruption);
  EXPECT_EQ(a.segment_id, 3u);
  EXPECT_EQ(a.offset, 0u);
  EXPECT_THAT(a.reason, HasSubstr("segment 2 is missing"));
  EXPECT_EQ(log->recoverable_records, 3u);
  EXPECT_EQ(log->next_lsn, Lsn(4));
}

TEST(InspectLog, LsnGapBetweenSegmentsIsCorruption) {
  io::SimDisk disk;
  write_log(disk);
  // Segment 3 rewritten with LSNs 20.. : each record is valid on its own.
  KAYA_ASSERT_OK(disk.truncate(seg(3), 0));
  for (uint64_t lsn = 20; lsn < 22; ++lsn) {
    auto rec = encode(Payload::put("k", "v"), Lsn(lsn), SequenceNumber(lsn));
    KAYA_ASSERT_OK(rec);
    KAYA_ASSERT_OK(disk.append(seg(3), *rec));
  }
  auto log = inspect(disk);
  KAYA_ASSERT_OK(log);
  // The segment's first record does not continue the log: judged where it stands.
  EXPECT_EQ(log->segments[2].state, SegmentState::kCorrupt);
  EXPECT_EQ(log->segments[2].problem_lsn, Lsn(20));
  ASSERT_EQ(log->anomalies.size(), 1u);
  EXPECT_EQ(log->anomalies[0].segment_id, 3u);
  EXPECT_EQ(log->anomalies[0].lsn, Lsn(20));
  EXPECT_THAT(log->anomalies[0].reason,
              HasSubstr("LSN gap: record has LSN 20, expected 7"));
  EXPECT_EQ(log->next_lsn, Lsn(7));
}

// A writer that appends, rotates and releases its oldest segments while the log is
// inspected: a release may remove a segment being read or the one the recovery point
// read first names; the inspection never calls that corruption or an error.
TEST(InspectLog, BesideAWriterThatReleasesIsNeverCorruptOrAnError) {
  kaya::testing::TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  WalConfig config = small_config();
  auto w = Writer::open(config, **disk);
  KAYA_ASSERT_OK(w);
  Writer& writer = **w;
  std::atomic<bool> done{false};
  std::thread appender([&] {
    const std::string value(60, 'v');
    for (uint64_t i = 1; !done.load(); ++i) {
      auto r = writer.append(Payload::put("k", value), DurabilityMode::kStrict);
      if (!r.ok()) {
        ADD_FAILURE() << r.error().to_string();
        return;
      }
      if (i % 7 == 0) {
        auto released = writer.release_before(Lsn(i - 3));
        if (!released.ok()) {
          ADD_FAILURE() << released.error().to_string();
          return;
        }
      }
    }
  });
  struct Join {
    std::atomic<bool>& done;
    std::thread& thread;
    ~Join() {
      done = true;
      thread.join();
    }
  } join{done, appender};
  for (int run = 0; run < 300; ++run) {
    auto log = inspect_log(config, **disk);
    ASSERT_TRUE(log.ok()) << "run " << run << ": " << log.error().to_string();
    EXPECT_FALSE(log->corrupt())
        << "run " << run << ": " << log->anomalies[0].to_string();
    ASSERT_EQ(log->refusal(), nullptr);
    EXPECT_TRUE(log->writer_active);
  }
}

TEST(InspectSegment, TheSameBadTailIsTornOnlyInTheLastSegment) {
  io::SimDisk disk;
  write_log(disk);
  KAYA_ASSERT_OK(disk.truncate(seg(2), kRecordBytes + 10));
  auto last = inspect_segment(disk, seg(2), 300, /*is_last=*/true);
  KAYA_ASSERT_OK(last);
  EXPECT_EQ(last->state, SegmentState::kTornTail);
  auto middle = inspect_segment(disk, seg(2), 300, /*is_last=*/false);
  KAYA_ASSERT_OK(middle);
  EXPECT_EQ(middle->state, SegmentState::kCorrupt);
  EXPECT_EQ(middle->problem_offset, kRecordBytes);
  EXPECT_EQ(middle->problem, DecodeProblem::kPartialHeader);
  EXPECT_EQ(middle->records, 1u);
}

// The visitor sees exactly the records the scan counts: in order, up to the problem.
TEST(InspectSegment, VisitorSeesTheAcceptedRecordsAndCanStopTheScan) {
  io::SimDisk disk;
  write_log(disk);
  KAYA_ASSERT_OK(disk.truncate(seg(2), 2 * kRecordBytes + 10));
  std::vector<std::pair<uint64_t, Record>> seen;
  auto s = inspect_segment(disk, seg(2), 300, true,
                           [&](uint64_t id, uint64_t offset, const RecordView& r) {
                             EXPECT_EQ(id, 2u);
                             seen.emplace_back(offset, r.to_record());
                             return ok_status();
                           });
  KAYA_ASSERT_OK(s);
  EXPECT_EQ(s->state, SegmentState::kTornTail);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, 0u);
  EXPECT_EQ(seen[0].second.lsn, Lsn(4));
  EXPECT_EQ(seen[0].second.key, "key-103");
  EXPECT_EQ(seen[1].first, kRecordBytes);
  EXPECT_EQ(seen[1].second.lsn, Lsn(5));

  int calls = 0;
  auto stopped = inspect_segment(disk, seg(1), 300, true,
                                 [&](uint64_t, uint64_t, const RecordView&) -> Status {
                                   ++calls;
                                   return Error(ErrorKind::kIo, "reader went away");
                                 });
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().kind(), ErrorKind::kIo);
  EXPECT_EQ(calls, 1);
}

TEST(InspectSegment, MissingFileIsNotFound) {
  io::SimDisk disk;
  auto s = inspect_segment(disk, seg(7), 300, true);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::kNotFound);
}

// One random kind of damage, as a crash, a bad disk or an operator could do it.
void damage(io::SimDisk& disk, std::mt19937_64& rng, std::string& what) {
  const uint64_t id = 1 + rng() % 3;
  const auto file_len = disk.file_len(seg(id));
  if (!file_len.ok()) return;  // removed by an earlier damage
  const uint64_t len = *file_len;
  uint64_t kind = rng() % 5;
  if (len < kRecordBytes && kind != 2) kind = 3;  // too short to flip, cut or copy from
  what += what.empty() ? "" : "; ";
  switch (kind) {
    case 0: {
      const uint64_t at = rng() % len;
      Bytes b = read_all(disk, seg(id));
      b[at] ^= static_cast<uint8_t>(1 + rng() % 255);
      (void)disk.write_at(seg(id), 0, b);
      what += "flip segment " + std::to_string(id) + " offset " + std::to_string(at);
      break;
    }
    case 1: {
      const uint64_t to = rng() % len;
      (void)disk.truncate(seg(id), to);
      what += "truncate segment " + std::to_string(id) + " to " + std::to_string(to);
      break;
    }
    case 2:
      (void)disk.remove_file(seg(id));
      what += "remove segment " + std::to_string(id);
      break;
    case 3: {
      const Bytes tail(1 + rng() % 120, rng() % 2 ? 0 : static_cast<uint8_t>(rng()));
      (void)disk.append(seg(id), tail);
      what += "append " + std::to_string(tail.size()) + " bytes to segment " +
              std::to_string(id);
      break;
    }
    default: {
      // A whole record duplicated: an LSN steps back.
      const Bytes b = read_all(disk, seg(id));
      (void)disk.append(seg(id), Bytes(b.begin(), b.begin() + kRecordBytes));
      what += "duplicate the first record of segment " + std::to_string(id);
    }
  }
}

TEST(InspectLog, ClassifiesEveryDamageLikeDryRunRecoveryAndChangesNothing) {
  const uint64_t first = kaya::testing::seed_from_env(1);
  const uint64_t count = kaya::testing::seed_count_from_env(300);
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) +
                 " (replay: KAYA_SEED=" + std::to_string(seed) + " KAYA_SEEDS=1)");
    io::SimDisk disk;
    // Both sides of the table: with the recovery point a closed log's damage is all at
    // or below it; without one it is judged by what follows.
    const bool with_rp = seed % 2 == 0;
    write_log(disk, with_rp);
    std::mt19937_64 rng(seed);
    std::string what = with_rp ? "with a recovery point" : "without a recovery point";
    const uint64_t damages = 1 + rng() % 2;
    for (uint64_t n = 0; n < damages; ++n) damage(disk, rng, what);
    SCOPED_TRACE(what);
    const auto before = snapshot(disk);
    const uint64_t fsyncs = disk.fsync_file_count() + disk.fsync_dir_count();

    auto log = inspect(disk);
    KAYA_ASSERT_OK(log);
    RecoveryOptions pit;
    pit.mode = RecoveryMode::kPointInTime;
    pit.dry_run = true;
    auto report = recover(small_config(), disk, pit);
    KAYA_ASSERT_OK(report);
    EXPECT_EQ(log->recoverable_records, report->records);
    EXPECT_EQ(log->next_lsn, report->next_lsn);
    ASSERT_EQ(log->first_problem() != nullptr, !report->anomalies.empty());
    if (log->first_problem()) {
      EXPECT_EQ(log->first_problem()->kind, report->anomalies[0].kind);
      EXPECT_EQ(log->first_problem()->segment_id, report->anomalies[0].segment_id);
      EXPECT_EQ(log->first_problem()->offset, report->anomalies[0].offset);
    }
    RecoveryOptions strict;
    strict.dry_run = true;
    strict.full_scan = true;  // reads what inspection reads, also below the point
    EXPECT_EQ(recover(small_config(), disk, strict).ok(), !log->corrupt());

    EXPECT_EQ(snapshot(disk), before);
    EXPECT_EQ(disk.fsync_file_count() + disk.fsync_dir_count(), fsyncs);
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace kaya::wal
