// Writer::scrub(): the rate-limited full check that finds damage in sealed segments,
// which an open in the default mode no longer reads, and the metrics it keeps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/metrics.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/prometheus_text.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using ::testing::HasSubstr;
using testing::segment;
using Clock = std::chrono::steady_clock;

constexpr auto kStrict = DurabilityMode::kStrict;

WalConfig small_config() {
  WalConfig c;
  c.segment_max_bytes = 4096;
  c.max_record_bytes = 4096;
  c.preallocate_bytes = 0;
  return c;
}

// The content of the `i`th record (a Payload only views its bytes).
struct Content {
  std::string key, value;
  Payload payload() const { return Payload::put(key, value); }
};
Content record(int i) {
  return {"key-" + std::to_string(i), std::string(200, static_cast<char>('a' + i % 26))};
}

std::unique_ptr<Writer> open_writer(io::Disk& disk, const OpenOptions& options = {}) {
  auto w = Writer::open(small_config(), disk, options);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return w.ok() ? std::move(w).value() : nullptr;
}

// Appends `n` strict records; returns their total encoded bytes.
uint64_t append_records(Writer& w, int from, int n) {
  uint64_t bytes = 0;
  for (int i = from; i < from + n; ++i) {
    auto r = w.append(record(i).payload(), kStrict);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    if (r.ok()) bytes += r->encoded_len;
  }
  return bytes;
}

uint64_t unix_ms_now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

ScrubOptions unlimited() {
  ScrubOptions o;
  o.bytes_per_second = 0;
  return o;
}

TEST(ScrubTest, ReadsEveryRecordStillInTheLogAndRecordsTheTime) {
  io::SimDisk disk;
  auto w = open_writer(disk);
  ASSERT_NE(w, nullptr);
  append_records(*w, 0, 100);  // about 6 segments
  auto released = w->release_before(Lsn(40));
  KAYA_ASSERT_OK(released);
  ASSERT_GT(released->segments_removed, 0u);
  const Lsn first = released->first_lsn_kept.value();
  auto ids = list_segments(disk);
  KAYA_ASSERT_OK(ids);

  // What the scrub must read: the records kept, by the log's own account.
  auto contents = testing::read_log(disk, small_config());
  KAYA_ASSERT_OK(contents);
  ASSERT_EQ(contents->records.front().lsn, first);
  uint64_t kept_bytes = 0;
  for (const Record& r : contents->records) kept_bytes += r.payload().encoded_len();

  const WriterStats before = w->stats();
  const uint64_t called_ms = unix_ms_now();
  auto report = w->scrub(unlimited());
  KAYA_ASSERT_OK(report);
  EXPECT_TRUE(report->complete);
  EXPECT_EQ(report->first_lsn, first);
  EXPECT_EQ(report->last_lsn, Lsn(100));
  EXPECT_EQ(report->records, contents->records.size());
  EXPECT_EQ(report->bytes, kept_bytes);
  EXPECT_EQ(report->segments, ids->size());

  const WriterStats after = w->stats();
  EXPECT_EQ(after.full_checks, before.full_checks + 1);
  EXPECT_GE(after.last_full_check_unix_ms, called_ms);
  EXPECT_LE(after.last_full_check_unix_ms, unix_ms_now());
  EXPECT_EQ(after.scrub_bytes, before.scrub_bytes + kept_bytes);
  EXPECT_EQ(after.scrub_corruptions, 0u);

  // The metric an operator alerts on.
  std::string error;
  auto p = kaya::testing::parse_prometheus(to_prometheus(collect_metrics(*w)), &error);
  ASSERT_TRUE(p.has_value()) << error;
  EXPECT_DOUBLE_EQ(p->value("kaya_wal_last_full_check_timestamp_seconds").value(),
                   static_cast<double>(after.last_full_check_unix_ms) / 1000.0);
  EXPECT_EQ(p->value("kaya_wal_full_checks_total"), after.full_checks);
  EXPECT_EQ(p->value("kaya_wal_scrub_bytes_total"), after.scrub_bytes);
  EXPECT_EQ(p->family("kaya_wal_last_full_check_timestamp_seconds")->type, "gauge");
}

TEST(ScrubTest, AnOpenCountsAsAFullCheckOnlyWhenItReadEverySegment) {
  io::SimDisk disk;
  {
    auto w = open_writer(disk);
    ASSERT_NE(w, nullptr);
    append_records(*w, 0, 50);
    KAYA_ASSERT_OK(w->close());
  }
  {
    auto w = open_writer(disk);  // the default: from the recovery point on
    ASSERT_NE(w, nullptr);
    ASSERT_FALSE(w->recovery_report().full_scan);
    EXPECT_EQ(w->stats().full_checks, 0u);
    EXPECT_EQ(w->stats().last_full_check_unix_ms, 0u);
    KAYA_ASSERT_OK(w->close());
  }
  OpenOptions full;
  full.recovery.full_scan = true;
  const uint64_t called_ms = unix_ms_now();
  auto w = open_writer(disk, full);
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->recovery_report().full_scan);
  EXPECT_EQ(w->stats().full_checks, 1u);
  EXPECT_GE(w->stats().last_full_check_unix_ms, called_ms);
}

// The damage open does not see: a bit flipped in a sealed segment below the recovery
// point. The scrub names it; the writer goes on.
TEST(ScrubTest, FindsDamageInASealedSegmentThatOpenDidNotRead) {
  io::SimDisk disk;
  uint64_t second_offset = 0;
  {
    auto w = open_writer(disk);
    ASSERT_NE(w, nullptr);
    auto r1 = w->append(record(0).payload(), kStrict);
    auto r2 = w->append(record(1).payload(), kStrict);
    KAYA_ASSERT_OK(r2);
    second_offset = r2->offset;
    ASSERT_EQ(r2->segment_id, 1u);
    append_records(*w, 2, 60);
    KAYA_ASSERT_OK(w->close());
  }
  // The last byte of LSN 2's payload CRC.
  const uint64_t at = second_offset + record(1).payload().encoded_len() - 1;
  std::vector<uint8_t> byte(1);
  ASSERT_EQ(io::read_full(disk, segment(1), at, byte).value(), 1u);
  byte[0] ^= 0x10;
  KAYA_ASSERT_OK(disk.write_at(segment(1), at, byte));

  auto w = open_writer(disk);
  ASSERT_NE(w, nullptr) << "open reads only what lies beyond the recovery point";
  ASSERT_FALSE(w->recovery_report().full_scan);
  auto report = w->scrub(unlimited());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().kind(), ErrorKind::kCorruption);
  EXPECT_THAT(report.error().message(), HasSubstr("segment 1"));
  EXPECT_THAT(report.error().message(),
              HasSubstr("offset " + std::to_string(second_offset)));
  EXPECT_THAT(report.error().message(), HasSubstr("LSN 2"));
  const WriterStats s = w->stats();
  EXPECT_EQ(s.scrub_corruptions, 1u);
  EXPECT_EQ(s.full_checks, 0u);
  EXPECT_EQ(s.last_full_check_unix_ms, 0u);
  EXPECT_FALSE(s.poisoned);
  auto more = w->append(record(99).payload(), kStrict);
  KAYA_EXPECT_OK(more);
}

TEST(ScrubTest, KeepsItsRate) {
  io::SimDisk disk;
  auto w = open_writer(disk);
  ASSERT_NE(w, nullptr);
  const uint64_t bytes = append_records(*w, 0, 400);  // about 94 KiB
  ScrubOptions o;
  o.bytes_per_second = 256 << 10;
  const Clock::time_point start = Clock::now();
  auto report = w->scrub(o);
  const auto took =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  KAYA_ASSERT_OK(report);
  ASSERT_TRUE(report->complete);
  ASSERT_EQ(report->bytes, bytes);
  // A lower bound only: the last record is due at bytes / rate, and a slow machine
  // only makes the scrub slower.
  const auto due = std::chrono::microseconds(bytes * 1'000'000 / o.bytes_per_second);
  EXPECT_GE(took, due - std::chrono::milliseconds(1));
  EXPECT_GE(report->duration_us + 1000, static_cast<uint64_t>(due.count()));
}

TEST(ScrubTest, AStopRequestEndsItEarlyAndIsNoFullCheck) {
  io::SimDisk disk;
  auto w = open_writer(disk);
  ASSERT_NE(w, nullptr);
  append_records(*w, 0, 400);
  const uint64_t checks = w->stats().full_checks;

  std::stop_source stopped;
  stopped.request_stop();
  ScrubOptions o;
  o.stop = stopped.get_token();
  auto report = w->scrub(o);
  KAYA_ASSERT_OK(report);
  EXPECT_FALSE(report->complete);
  EXPECT_EQ(report->records, 0u);

  // While it paces: 94 KiB at 16 KiB/s would take about 6 s.
  std::stop_source source;
  o.stop = source.get_token();
  o.bytes_per_second = 16 << 10;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    source.request_stop();
  });
  report = w->scrub(o);
  stopper.join();
  KAYA_ASSERT_OK(report);
  EXPECT_FALSE(report->complete);
  EXPECT_GT(report->records, 0u);
  EXPECT_LT(report->records, 400u);
  EXPECT_EQ(w->stats().full_checks, checks);
}

TEST(ScrubTest, ACloseEndsAPacedScrubAndAClosedWriterRefusesOne) {
  io::SimDisk disk;
  auto w = open_writer(disk);
  ASSERT_NE(w, nullptr);
  append_records(*w, 0, 400);
  ScrubOptions o;
  o.bytes_per_second = 16 << 10;
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(w->close().ok());
  });
  auto report = w->scrub(o);
  closer.join();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_THAT(report.error().message(), HasSubstr("closed"));

  report = w->scrub(unlimited());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().kind(), ErrorKind::kInvalidArgument);
}

// A release that overtakes a paced scrub: the records released are skipped, the rest
// is read, and the scrub is complete (it checked everything still in the log).
TEST(ScrubTest, SkipsWhatIsReleasedUnderIt) {
  io::SimDisk disk;
  auto w = open_writer(disk);
  ASSERT_NE(w, nullptr);
  append_records(*w, 0, 400);  // about 25 segments
  ScrubOptions o;
  o.bytes_per_second = 16 << 10;  // about 70 records in the first second
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto rel = w->release_before(Lsn(380));
    EXPECT_TRUE(rel.ok()) << rel.error().to_string();
  });
  auto report = w->scrub(o);
  releaser.join();
  KAYA_ASSERT_OK(report);
  EXPECT_TRUE(report->complete);
  EXPECT_EQ(report->first_lsn, Lsn(1));
  EXPECT_EQ(report->last_lsn, Lsn(400));
  EXPECT_LT(report->records, 100u);
}

// Appends, rotations and releases go on during the scrub: each scrub is complete and
// clean, and reads no further than the durable end at its start.
TEST(ScrubTest, RunsBesideAppendsAndReleases) {
  kaya::testing::TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  auto w = open_writer(**disk);
  ASSERT_NE(w, nullptr);
  append_records(*w, 0, 50);

  std::atomic<bool> done{false};
  std::thread appender([&] {
    for (int i = 50; !done.load(); ++i) {
      auto r = w->append(record(i).payload(), i % 3 ? DurabilityMode::kRelaxed : kStrict);
      if (!r.ok()) {
        ADD_FAILURE() << r.error().to_string();
        return;
      }
      if (i % 40 == 0) {
        auto rel = w->release_before(Lsn(static_cast<uint64_t>(i - 30)));
        if (!rel.ok()) {
          ADD_FAILURE() << rel.error().to_string();
          return;
        }
      }
    }
  });
  // Stops and joins the appender however the loop below ends.
  struct Join {
    std::atomic<bool>& done;
    std::thread& thread;
    ~Join() {
      done = true;
      thread.join();
    }
  } join{done, appender};
  for (int round = 0; round < 30; ++round) {
    const Lsn durable_end = w->stats().durable_lsn_end;
    auto report = w->scrub(unlimited());
    ASSERT_TRUE(report.ok()) << report.error().to_string();
    EXPECT_TRUE(report->complete);
    // Releases may overtake the scrub and remove what it had still to read: then the
    // log starts past the durable end at the scrub's start (the first LSN only grows,
    // so asking afterwards tells). Otherwise the scrub read up to that end.
    auto first = first_lsn(small_config(), **disk);
    KAYA_ASSERT_OK(first);
    if (first->value() < durable_end.value()) {
      ASSERT_TRUE(report->last_lsn.has_value());
      EXPECT_GE(report->last_lsn->value() + 1, durable_end.value());
    }
    if (!report->last_lsn) {
      EXPECT_EQ(report->records, 0u);
      continue;
    }
    EXPECT_LT(report->last_lsn.value(), w->stats().durable_lsn_end);
    // Fewer when a release overtook the scrub (it skips what was released).
    EXPECT_LE(report->records,
              report->last_lsn->value() - report->first_lsn->value() + 1);
  }
  EXPECT_EQ(w->stats().scrub_corruptions, 0u);
}

}  // namespace
}  // namespace kaya::wal
