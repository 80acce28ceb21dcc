// Atomic batches (Writer::append_batch, docs/batches.md): contiguous LSNs in one
// segment and one write, refused without the opt-in or when larger than a segment;
// and recovery keeps a batch whole or not at all, judged by the one judgement
// (docs/format.md, "Incomplete batches"); the readers and inspection see a batch
// whole or not at all.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/inspect.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

namespace fs = std::filesystem;
using kaya::testing::TempDir;

constexpr auto kStrict = DurabilityMode::kStrict;
constexpr auto kRelaxed = DurabilityMode::kRelaxed;

WalConfig batch_config() {
  WalConfig config;
  config.extensions = kExtensionBatches;
  return config;
}

// Puts of `keys` (views: the strings must outlive the payloads) with one value.
std::vector<Payload> puts(const std::vector<std::string>& keys) {
  std::vector<Payload> out;
  for (const std::string& k : keys) out.push_back(Payload::put(k, "value"));
  return out;
}

TEST(BatchTest, ABatchTakesContiguousLsnsInOneSegment) {
  io::SimDisk disk;
  auto w = Writer::open(batch_config(), disk);
  KAYA_ASSERT_OK(w);
  KAYA_ASSERT_OK((*w)->append(Payload::put("a", "1"), kStrict));
  const std::vector<std::string> keys = {"b", "c", "d"};
  const std::vector<Payload> batch = puts(keys);
  auto r = (*w)->append_batch(batch, kStrict);
  KAYA_ASSERT_OK(r);
  EXPECT_EQ(r->first_lsn, Lsn(2));
  EXPECT_EQ(r->last_lsn, Lsn(4));
  EXPECT_EQ(r->first_sequence, SequenceNumber(2));
  EXPECT_EQ(r->segment_id, 1u);
  EXPECT_EQ(r->offset, Payload::put("a", "1").encoded_len());
  uint64_t len = 0;
  for (const Payload& p : batch) len += p.encoded_len();
  EXPECT_EQ(r->encoded_len, len);
  EXPECT_TRUE(r->durable);
  auto relaxed = (*w)->append_batch(puts({"e", "f"}), kRelaxed);
  KAYA_ASSERT_OK(relaxed);
  EXPECT_EQ(relaxed->first_lsn, Lsn(5));
  EXPECT_EQ(relaxed->last_lsn, Lsn(6));
  EXPECT_EQ((*w)->next_lsn(), Lsn(7));
  EXPECT_EQ((*w)->stats().strict_records, 4u);
  EXPECT_EQ((*w)->stats().relaxed_records, 2u);
  KAYA_ASSERT_OK((*w)->close());

  auto log = testing::read_log(disk);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->records.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(log->records[i].lsn, Lsn(i + 1));
    EXPECT_EQ(log->records[i].key, std::string(1, static_cast<char>('a' + i)));
  }
}

TEST(BatchTest, ABatchIsRefusedWithoutTheOptInAndTakesNoLsn) {
  io::SimDisk disk;
  auto w = Writer::open(WalConfig{}, disk);
  KAYA_ASSERT_OK(w);
  auto r = (*w)->append_batch(puts({"a", "b"}), kStrict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("WalConfig::extensions"), std::string::npos)
      << r.error().message();
  EXPECT_EQ((*w)->next_lsn(), Lsn(1));
  // One payload is a plain append: no opt-in needed, a v1 record.
  auto one = (*w)->append_batch(puts({"a"}), kStrict);
  KAYA_ASSERT_OK(one);
  EXPECT_EQ(one->first_lsn, Lsn(1));
  EXPECT_EQ(one->last_lsn, Lsn(1));
  KAYA_ASSERT_OK((*w)->close());
  EXPECT_EQ((*w)->extensions(), 0u);
}

TEST(BatchTest, EmptyOversizedAndUnsupportedBatchesAreRefused) {
  io::SimDisk disk;
  WalConfig config = batch_config();
  config.segment_max_bytes = 200;
  config.max_record_bytes = 200;
  auto w = Writer::open(config, disk);
  KAYA_ASSERT_OK(w);
  auto empty = (*w)->append_batch({}, kStrict);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind(), ErrorKind::kInvalidArgument);
  // Three records of 90 bytes: 270 > segment_max_bytes 200.
  const std::string value(90 - 40 - 8 - 1, 'x');
  const std::vector<Payload> big = {Payload::put("a", value), Payload::put("b", value),
                                    Payload::put("c", value)};
  ASSERT_EQ(big[0].encoded_len(), 90u);
  auto too_big = (*w)->append_batch(big, kStrict);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(too_big.error().message().find("segment_max_bytes"), std::string::npos)
      << too_big.error().message();
  // Bytes records in a batch need the Bytes opt-in too.
  auto bytes = (*w)->append_batch(
      std::vector<Payload>{Payload::bytes("x"), Payload::noop()}, kStrict);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ((*w)->next_lsn(), Lsn(1));
  KAYA_ASSERT_OK((*w)->close());
}

// Batches that do not fit in the tail segment start the next one: no batch spans
// segments.
TEST(BatchTest, ABatchNeverSpansSegments) {
  io::SimDisk disk;
  WalConfig config = batch_config();
  config.segment_max_bytes = 400;
  config.max_record_bytes = 400;
  auto w = Writer::open(config, disk);
  KAYA_ASSERT_OK(w);
  std::vector<BatchResult> results;
  for (int i = 0; i < 12; ++i) {
    std::vector<std::string> keys;
    for (int k = 0; k <= i % 4; ++k)
      keys.push_back(std::to_string(i) + "-" + std::to_string(k));
    auto r = (*w)->append_batch(puts(keys), i % 2 ? kStrict : kRelaxed);
    KAYA_ASSERT_OK(r);
    results.push_back(*r);
  }
  KAYA_ASSERT_OK((*w)->close());
  std::vector<uint64_t> segment_of;  // by LSN - 1
  auto report = recover(config, disk, {}, [&](uint64_t id, uint64_t, const RecordView&) {
    segment_of.push_back(id);
    return ok_status();
  });
  KAYA_ASSERT_OK(report);
  EXPECT_GT(report->segments.size(), 2u);
  for (const BatchResult& r : results) {
    for (uint64_t lsn = r.first_lsn.value(); lsn <= r.last_lsn.value(); ++lsn) {
      ASSERT_LE(lsn, segment_of.size());
      EXPECT_EQ(segment_of[lsn - 1], r.segment_id) << "LSN " << lsn;
    }
  }
}

// A truncation keeps a batch whole: after its last record or before its first, never
// inside it.
TEST(BatchTest, TruncationInsideABatchIsRefused) {
  io::SimDisk disk;
  auto w = Writer::open(batch_config(), disk);
  KAYA_ASSERT_OK(w);
  KAYA_ASSERT_OK((*w)->append(Payload::put("a", "1"), kStrict));
  KAYA_ASSERT_OK((*w)->append_batch(puts({"b", "c", "d"}), kStrict));
  KAYA_ASSERT_OK((*w)->append(Payload::put("e", "5"), kStrict));
  for (uint64_t inside : {2, 3}) {
    auto r = (*w)->truncate_after(Lsn(inside));
    ASSERT_FALSE(r.ok()) << inside;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(r.error().message().find("inside an atomic batch"), std::string::npos)
        << r.error().message();
  }
  EXPECT_EQ((*w)->next_lsn(), Lsn(6));
  KAYA_ASSERT_OK((*w)->truncate_after(Lsn(4)));  // after the batch
  KAYA_ASSERT_OK((*w)->truncate_after(Lsn(1)));  // before it
  KAYA_ASSERT_OK((*w)->close());
  auto log = testing::read_log(disk, batch_config());
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), 1u);
}

// --- recovery of incomplete batches ----------------------------------------------

// A log of two Puts (LSN 1, 2) whose recovery point names LSN 2, then a batch of three
// (LSN 3..5), then with `tail` one more Put (LSN 6): the batch lies beyond the recovery
// point unless `covered`.
struct BatchLog {
  TempDir dir;
  std::unique_ptr<io::FileDisk> disk;
  BatchResult batch;
  uint64_t last_record_offset = 0;  // of the batch's last record (LSN 5)
  std::string segment() const { return dir.path() + "/" + format::segment_path(1); }
};

void write_batch_log(BatchLog& log, bool covered, bool tail) {
  auto disk = io::FileDisk::open(log.dir.path());
  ASSERT_TRUE(disk.ok());
  log.disk = std::move(disk).value();
  const fs::path rp = fs::path(log.dir.path()) / "wal" / "RECOVERY_POINT";
  const fs::path saved = fs::path(log.dir.path()) / "rp.saved";
  {
    auto w = Writer::open(batch_config(), *log.disk);
    KAYA_ASSERT_OK(w);
    KAYA_ASSERT_OK((*w)->append_batch(puts({"a"}), kStrict));
    KAYA_ASSERT_OK((*w)->append_batch(puts({"b"}), kStrict));
    KAYA_ASSERT_OK((*w)->close());
  }
  fs::copy_file(rp, saved);
  {
    auto w = Writer::open(batch_config(), *log.disk);
    KAYA_ASSERT_OK(w);
    auto r = (*w)->append_batch(puts({"c", "d", "e"}), kStrict);
    KAYA_ASSERT_OK(r);
    log.batch = *r;
    log.last_record_offset = r->offset + Payload::put("c", "value").encoded_len() * 2;
    if (tail) KAYA_ASSERT_OK((*w)->append(Payload::put("f", "v-f"), kStrict));
    KAYA_ASSERT_OK((*w)->close());
  }
  if (!covered) fs::copy_file(saved, rp, fs::copy_options::overwrite_existing);
}

// Damages the payload of the batch's last record (its CRC no longer matches).
void damage_last_record(const BatchLog& log) {
  std::fstream f(log.segment(), std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(log.last_record_offset + 45));
  f.put('#');
}

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

// --- readers and inspection -------------------------------------------------------

// The bytes of the segment file from `offset` on.
std::string segment_bytes_from(const BatchLog& log, uint64_t offset) {
  std::ifstream f(log.segment(), std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void append_to_segment(const BatchLog& log, const std::string& bytes) {
  std::ofstream f(log.segment(), std::ios::binary | std::ios::app);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A LogReader that meets a batch whose last record is not written yet returns none of
// it and stops as at the end of the log; once the last record is there, it returns the
// whole batch, in order, and the views of all its records stay valid until the call
// after its last.
TEST(BatchReaderTest, ALogReaderReturnsNoPartOfABatchUntilItIsWhole) {
  BatchLog log;
  write_batch_log(log, /*covered=*/false, /*tail=*/true);
  // A write in progress: the batch's last record (LSN 5) half there, LSN 6 not yet.
  const uint64_t torn_at = log.last_record_offset + 20;
  const std::string rest = segment_bytes_from(log, torn_at);
  fs::resize_file(log.segment(), torn_at);

  auto reader = LogReader::open(batch_config(), *log.disk, Lsn(1));
  KAYA_ASSERT_OK(reader);
  std::vector<std::string> keys;
  for (const Record& r : (*reader)->records()) keys.push_back(r.key);
  EXPECT_FALSE((*reader)->error().has_value()) << (*reader)->error()->to_string();
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"})) << "part of the batch came out";
  EXPECT_EQ((*reader)->position(), Lsn(3));
  ASSERT_TRUE((*reader)->stalled_on().has_value());
  EXPECT_NE((*reader)->stalled_on()->message().find("atomic batch from LSN 3"),
            std::string::npos)
      << (*reader)->stalled_on()->to_string();
  auto again = (*reader)->next();  // still incomplete: still nothing
  KAYA_ASSERT_OK(again);
  EXPECT_FALSE(again->has_value());

  append_to_segment(log, rest);
  std::vector<RecordView> views;
  for (;;) {
    auto v = (*reader)->next_view();
    KAYA_ASSERT_OK(v);
    if (!v->has_value()) break;
    views.push_back(**v);
    if (views.back().key == "e") break;  // the batch's last record
  }
  ASSERT_EQ(views.size(), 3u);
  // Every view of the batch still reads its record (the call after the last one has
  // not been made).
  for (size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(views[i].lsn, Lsn(3 + i));
    EXPECT_EQ(views[i].key, std::string(1, static_cast<char>('c' + i)));
    EXPECT_EQ(views[i].value, "value");
  }
  auto f = (*reader)->next();
  KAYA_ASSERT_OK(f);
  ASSERT_TRUE(f->has_value());
  EXPECT_EQ((*f)->key, "f");
}

// At or below the recovery point, a batch missing its last record is Corruption for a
// reader too, and it returns none of the batch before the error.
TEST(BatchReaderTest, ALogReaderReportsAnIncompleteDurableBatchBeforeAnyOfIt) {
  BatchLog log;
  write_batch_log(log, /*covered=*/true, /*tail=*/false);
  fs::resize_file(log.segment(), log.last_record_offset + 20);
  auto reader = LogReader::open(batch_config(), *log.disk, Lsn(1));
  KAYA_ASSERT_OK(reader);
  std::vector<std::string> keys;
  for (const Record& r : (*reader)->records()) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE((*reader)->error().has_value());
  EXPECT_EQ((*reader)->error()->kind(), ErrorKind::kCorruption);
  EXPECT_NE((*reader)->error()->message().find("atomic batch from LSN 3"),
            std::string::npos)
      << (*reader)->error()->to_string();
}

// A batch larger than the reader's buffer (1 MiB) comes out whole, and the views of
// all its records stay valid until the call after its last: the buffer holds the
// whole batch.
TEST(BatchReaderTest, ViewsOfABatchLargerThanTheReadBufferStayValid) {
  io::SimDisk disk;
  auto w = Writer::open(batch_config(), disk);
  KAYA_ASSERT_OK(w);
  KAYA_ASSERT_OK((*w)->append(Payload::put("a", "1"), kStrict));
  const std::vector<std::string> keys = {"b", "c", "d"};
  std::vector<std::string> values;
  for (char c : {'x', 'y', 'z'}) values.emplace_back(600 << 10, c);
  std::vector<Payload> batch;
  for (size_t i = 0; i < keys.size(); ++i)
    batch.push_back(Payload::put(keys[i], values[i]));
  KAYA_ASSERT_OK((*w)->append_batch(batch, kStrict));
  KAYA_ASSERT_OK((*w)->append(Payload::put("e", "2"), kStrict));
  KAYA_ASSERT_OK((*w)->close());

  auto reader = LogReader::open(batch_config(), disk, Lsn(2));
  KAYA_ASSERT_OK(reader);
  std::vector<RecordView> views;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto v = (*reader)->next_view();
    KAYA_ASSERT_OK(v);
    ASSERT_TRUE(v->has_value());
    views.push_back(**v);
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(views[i].key, keys[i]);
    EXPECT_TRUE(views[i].value == values[i])
        << "the view of record " << i << " no longer reads its value";
  }
  auto e = (*reader)->next();
  KAYA_ASSERT_OK(e);
  ASSERT_TRUE(e->has_value());
  EXPECT_EQ((*e)->key, "e");
}

// A LogReader following a writer it shares nothing with (each has its own FileDisk on
// one directory, as with a writer of another process) while the writer appends batches
// and rotates: whenever the reader stops at the end of what is written, it has
// returned whole batches only, and in the end every record, in order.
TEST(BatchReaderTest, ALogReaderFollowingAWriterStopsOnlyBetweenBatches) {
  TempDir dir;
  auto writer_disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(writer_disk);
  auto reader_disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(reader_disk);
  WalConfig config = batch_config();
  config.segment_max_bytes = 4096;
  config.max_record_bytes = 4096;
  auto w = Writer::open(config, **writer_disk);
  KAYA_ASSERT_OK(w);
  constexpr uint64_t kBatches = 400;
  // Key "<batch>/<index>/<size>"; batch k has 1 + k % 4 records.
  auto key = [](uint64_t k, uint64_t i) {
    return std::to_string(k) + "/" + std::to_string(i) + "/" + std::to_string(1 + k % 4);
  };
  uint64_t total = 0;
  for (uint64_t k = 0; k < kBatches; ++k) total += 1 + k % 4;
  KAYA_ASSERT_OK((*w)->append(Payload::put(key(0, 0), "v"), kRelaxed));
  std::thread writer([&] {
    const std::string value(100, 'v');
    for (uint64_t k = 1; k < kBatches; ++k) {
      std::vector<std::string> keys;
      for (uint64_t i = 0; i < 1 + k % 4; ++i) keys.push_back(key(k, i));
      std::vector<Payload> batch;
      for (const std::string& kk : keys) batch.push_back(Payload::put(kk, value));
      auto r = (*w)->append_batch(batch, k % 5 == 0 ? kStrict : kRelaxed);
      if (!r.ok()) {
        ADD_FAILURE() << r.error().to_string();
        return;
      }
    }
  });
  auto reader = LogReader::open(config, **reader_disk, Lsn(1));
  KAYA_ASSERT_OK(reader);
  uint64_t read = 0;
  uint64_t batch = 0;
  uint64_t index = 0;  // of the next record in `batch`
  uint64_t stops = 0;
  const auto guard = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (read < total && std::chrono::steady_clock::now() < guard) {
    auto r = (*reader)->next();
    KAYA_ASSERT_OK(r);
    if (!r->has_value()) {
      ASSERT_EQ(index, 0u) << "the reader stopped inside batch " << batch << " after "
                           << index << " of its " << 1 + batch % 4 << " records";
      stops++;
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ((*r)->key, key(batch, index)) << "at LSN " << (*r)->lsn.value();
    read++;
    if (++index == 1 + batch % 4) {
      batch++;
      index = 0;
    }
  }
  writer.join();
  EXPECT_EQ(read, total) << "the liveness guard passed";
  EXPECT_GT(stops, 0u) << "the reader never caught up with the writer";
  KAYA_ASSERT_OK((*w)->close());
}

// A reader opened inside a whole batch reads its rest.
TEST(BatchReaderTest, ALogReaderOpenedInsideABatchReadsItsRest) {
  BatchLog log;
  write_batch_log(log, /*covered=*/true, /*tail=*/true);
  auto reader = LogReader::open(batch_config(), *log.disk, Lsn(4));
  KAYA_ASSERT_OK(reader);
  std::vector<std::string> keys;
  for (const Record& r : (*reader)->records()) keys.push_back(r.key);
  EXPECT_FALSE((*reader)->error().has_value());
  EXPECT_EQ(keys, (std::vector<std::string>{"d", "e", "f"}));
}

// A tailing reader waits at a batch being made durable, then returns all of it.
TEST(BatchReaderTest, ATailingReaderReturnsABatchWholeOnceDurable) {
  io::SimDisk disk;
  testing::FsyncGate gate(disk);
  auto w = Writer::open(batch_config(), disk);
  KAYA_ASSERT_OK(w);
  KAYA_ASSERT_OK((*w)->append(Payload::put("a", "1"), kStrict));
  auto reader = TailingReader::open(**w, Lsn(1));
  KAYA_ASSERT_OK(reader);
  gate.close();
  const std::vector<std::string> keys = {"b", "c", "d"};
  const std::vector<Payload> batch = puts(keys);
  auto held =
      std::async(std::launch::async, [&] { return (*w)->append_batch(batch, kStrict); });
  gate.wait_for_held();  // the batch is written, its fsync in progress
  auto r = (*reader)->next(std::chrono::seconds(10));
  KAYA_ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->key, "a");
  r = (*reader)->next(std::chrono::milliseconds(10));
  KAYA_ASSERT_OK(r);
  EXPECT_FALSE(r->has_value()) << "returned a record of a batch not durable yet";
  gate.open();
  KAYA_ASSERT_OK(held.get());
  std::vector<std::string> got;
  for (const RecordView& v : (*reader)->record_views(std::chrono::seconds(10))) {
    got.emplace_back(v.key);
    if (got.size() == keys.size()) break;
  }
  EXPECT_EQ(got, keys);
  KAYA_ASSERT_OK((*w)->close());
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
