// Recovery tests in the style of LevelDB's log_test: build a multi-segment log with the
// Writer, damage it byte by byte, and check what each recovery mode makes of it.
#include "kaya/wal/recovery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kaya/core/crc32c.h"
#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/recording_disk.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using Bytes = std::vector<uint8_t>;
using io::FaultKind;
using io::RelativePath;
using io::SimDisk;
using testing::read_log;
using testing::segment;

constexpr RecoveryMode kModes[] = {RecoveryMode::kDefault, RecoveryMode::kPointInTime,
                                   RecoveryMode::kAbsolute};

// The standard log: nine 95-byte Put records, three per 300-byte segment, so segments
// 1, 2 and 3 each hold 285 bytes and record i (LSN i + 1) sits in segment i / 3 + 1
// at offset (i % 3) * 95.
constexpr int kRecords = 9;
constexpr uint64_t kRecordBytes = 95;
constexpr uint64_t kSegmentBytes = 3 * kRecordBytes;

WalConfig small_config() {
  WalConfig config;
  config.segment_max_bytes = 300;
  config.max_record_bytes = 300;
  return config;
}

std::string key_of(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key-%03d", i);
  return buf;
}
std::string value_of(int i) {
  std::string v = "value-" + std::to_string(i);
  v.resize(40, '.');
  return v;
}

// What was written: positions and contents, in LSN order.
struct Log {
  std::vector<AppendResult> appends;
  std::vector<Record> records;
};

// Opens a writer on the log, appends `payloads` (relaxed), and closes it (which syncs).
void append_records(io::Disk& disk, Log& log, const std::vector<Payload>& payloads,
                    uint64_t extensions = 0) {
  WalConfig config = small_config();
  config.extensions = extensions;
  auto w = Writer::open(config, disk);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  for (const Payload& p : payloads) {
    auto r = (*w)->append(p, DurabilityMode::kRelaxed);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    log.appends.push_back(*r);
    log.records.push_back(
        Record{r->lsn, r->sequence, p.type, std::string(p.key), std::string(p.value)});
  }
  KAYA_ASSERT_OK((*w)->close());
  // The scenarios of this file judge a log as kaya 0.1 or KayaDB left it: without a
  // recovery point, by what follows the damage alone (docs/recovery.md, "no recovery
  // point"). Both sides of a recovery point: recovery_point_test.cc.
  KAYA_ASSERT_OK(disk.remove_file(io::RelativePath::parse("wal/RECOVERY_POINT").value()));
}

Log write_log(io::Disk& disk, int n = kRecords) {
  std::vector<std::string> keys, values;
  for (int i = 0; i < n; ++i) {
    keys.push_back(key_of(i));
    values.push_back(value_of(i));
  }
  std::vector<Payload> payloads;
  for (int i = 0; i < n; ++i) payloads.push_back(Payload::put(keys[i], values[i]));
  Log log;
  append_records(disk, log, payloads);
  return log;
}

// ---------------------------------------------------------------------------------
// Byte surgery. Own little-endian and CRC fix-up code, so that a bug shared with the
// codec cannot hide.

void set_le(Bytes& b, size_t offset, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) b[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}

// Recomputes the header CRC, so that the check after it is the one exercised.
void fix_header_crc(Bytes& rec) {
  Bytes header(rec.begin(), rec.begin() + format::kHeaderLen);
  set_le(header, format::kHeaderCrcOffset, 0, 4);
  set_le(rec, format::kHeaderCrcOffset, crc32c::value(header), 4);
}

Bytes read_range(io::Disk& disk, const RelativePath& path, uint64_t offset,
                 uint64_t len) {
  Bytes out(len);
  auto n = io::read_full(disk, path, offset, out);
  EXPECT_TRUE(n.ok()) << n.error().to_string();
  out.resize(n.ok() ? *n : 0);
  return out;
}

Bytes read_file(io::Disk& disk, const RelativePath& path) {
  auto len = disk.file_len(path);
  EXPECT_TRUE(len.ok()) << len.error().to_string();
  return len.ok() ? read_range(disk, path, 0, *len) : Bytes();
}

void write_segment_at(io::Disk& disk, uint64_t id, uint64_t offset, const Bytes& b) {
  KAYA_ASSERT_OK(disk.write_at(segment(id), offset, b));
}

void flip_byte(io::Disk& disk, uint64_t id, uint64_t offset) {
  Bytes b = read_range(disk, segment(id), offset, 1);
  ASSERT_EQ(b.size(), 1u) << "no byte at segment " << id << " offset " << offset;
  b[0] ^= 0x20;
  write_segment_at(disk, id, offset, b);
}

void truncate_segment(io::Disk& disk, uint64_t id, uint64_t len) {
  KAYA_ASSERT_OK(disk.truncate(segment(id), len));
}

void append_to_segment(io::Disk& disk, uint64_t id, const Bytes& b) {
  KAYA_ASSERT_OK(disk.append(segment(id), b));
}

Bytes record_bytes(io::Disk& disk, const AppendResult& a) {
  return read_range(disk, segment(a.segment_id), a.offset, a.encoded_len);
}

// Rewrites the LSN of the record at `a` and fixes its header CRC: the record stays
// valid, so only the LSN check can catch it.
void reseal_lsn(io::Disk& disk, const AppendResult& a, uint64_t lsn) {
  Bytes rec = record_bytes(disk, a);
  set_le(rec, format::kLsnOffset, lsn, 8);
  fix_header_crc(rec);
  ASSERT_TRUE(decode(rec, 0, small_config().max_record_bytes).ok());
  write_segment_at(disk, a.segment_id, a.offset, rec);
}

// Random bytes that never contain the magic (no 0x41 byte at all).
Bytes garbage(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (uint8_t& x : b) {
    x = static_cast<uint8_t>(rng());
    if (x == 0x41) x = 0x42;
  }
  return b;
}

// Every file (path -> bytes) and directory (path + "/") under the disk's root.
using Snapshot = std::map<std::string, Bytes>;

void snapshot_dir(io::Disk& disk, const RelativePath& dir, Snapshot& out) {
  auto names = disk.list_dir(dir);
  if (!names.ok()) return;  // no such directory: nothing to record
  for (const std::string& name : *names) {
    RelativePath p = dir.join(name).value();
    if (disk.list_dir(p).ok()) {
      out[p.str() + "/"];
      snapshot_dir(disk, p, out);
    } else {
      out[p.str()] = read_file(disk, p);
    }
  }
}

Snapshot snapshot(io::Disk& disk) {
  Snapshot s;
  snapshot_dir(disk, RelativePath(), s);
  return s;
}

// ---------------------------------------------------------------------------------
// Disks and recovery runs.

enum class DiskType { kSim, kFile };

struct TestDisk {
  std::unique_ptr<kaya::testing::TempDir> dir;  // FileDisk only; outlives the disk
  std::unique_ptr<io::Disk> disk;
};

TestDisk make_disk(DiskType type) {
  TestDisk t;
  if (type == DiskType::kSim) {
    t.disk = std::make_unique<SimDisk>();
    return t;
  }
  t.dir = std::make_unique<kaya::testing::TempDir>();
  auto d = io::FileDisk::open(t.dir->path());
  EXPECT_TRUE(d.ok()) << d.error().to_string();
  if (d.ok()) t.disk = std::move(d).value();
  return t;
}

struct Recovered {
  Result<RecoveryReport> report;
  std::vector<Record> records;                           // what the visitor saw
  std::vector<std::pair<uint64_t, uint64_t>> positions;  // (segment, offset) of each
};

Recovered run(io::Disk& disk, const RecoveryOptions& options) {
  std::vector<Record> records;
  std::vector<std::pair<uint64_t, uint64_t>> positions;
  auto r = recover(small_config(), disk, options,
                   [&](uint64_t segment_id, uint64_t offset, const RecordView& v) {
                     records.push_back(v.to_record());
                     positions.emplace_back(segment_id, offset);
                     return ok_status();
                   });
  return Recovered{std::move(r), std::move(records), std::move(positions)};
}

Recovered run(io::Disk& disk, RecoveryMode mode, bool dry_run = false) {
  RecoveryOptions options;
  options.mode = mode;
  options.dry_run = dry_run;
  return run(disk, options);
}

std::string lost_path(uint64_t id, uint64_t offset) {
  // "wal/0000000000000003.wal" -> "wal/lost/0000000000000003.wal[.from-<offset>]"
  std::string s = "wal/lost/" + format::segment_path(id).substr(4);
  if (offset > 0) s += ".from-" + std::to_string(offset);
  return s;
}

std::string describe(const Dropped& d) {
  return "segment " + std::to_string(d.segment_id) + " offset " +
         std::to_string(d.offset) + " bytes " + std::to_string(d.bytes) + " -> '" +
         d.moved_to + "'";
}

// ---------------------------------------------------------------------------------
// One damage scenario, checked in all three modes.

struct Cut {
  uint64_t segment_id;
  uint64_t offset;
  uint64_t bytes;
};

struct Scenario {
  std::string name;
  // Damages the log just written (and may append to it first).
  std::function<void(io::Disk&, Log&)> damage;
  // The one anomaly recovery must find.
  AnomalyKind kind = AnomalyKind::kCorruption;
  uint64_t segment_id = 0;
  uint64_t offset = 0;
  std::optional<Lsn> lsn;
  std::string reason;  // a part of the reason
  // What a tolerant recovery keeps (LSNs 1..kept, in `segments`) and cuts off.
  uint64_t kept = 0;
  std::vector<uint64_t> segments;
  std::vector<Cut> cuts;
  int written = kRecords;  // records of the standard log written before damage()
};

void expect_error(const Result<RecoveryReport>& r, const Scenario& s) {
  ASSERT_FALSE(r.ok()) << "recovery should have failed";
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorruption) << r.error().to_string();
  const std::string& m = r.error().message();
  EXPECT_THAT(m, HasSubstr("segment " + std::to_string(s.segment_id) + " ("));
  EXPECT_THAT(m, HasSubstr(format::segment_path(s.segment_id)));
  // "at offset 95: ..." or "at offset 95 (LSN 8): ..."
  EXPECT_THAT(m, ContainsRegex("at offset " + std::to_string(s.offset) + "[: ]"));
  if (s.lsn) {
    EXPECT_THAT(m, HasSubstr("(LSN " + std::to_string(s.lsn->value()) + ")"));
  }
  EXPECT_THAT(m, HasSubstr(std::string(to_string(s.kind)) + ": "));
  EXPECT_THAT(m, HasSubstr(s.reason));
}

void expect_report(const RecoveryReport& r, const Scenario& s, const Log& log,
                   RecoveryMode mode, bool dry_run, const Snapshot& before) {
  const bool keep_aside = mode == RecoveryMode::kPointInTime;
  EXPECT_EQ(r.mode, mode);
  EXPECT_EQ(r.dry_run, dry_run);
  EXPECT_EQ(r.applied, !dry_run);
  EXPECT_EQ(r.records, s.kept);
  EXPECT_EQ(r.next_lsn, Lsn(s.kept + 1));
  EXPECT_EQ(r.next_sequence, std::optional(SequenceNumber(s.kept + 1)));
  EXPECT_EQ(r.first_lsn, std::optional(Lsn(1)));

  ASSERT_EQ(r.anomalies.size(), 1u);
  const Anomaly& a = r.anomalies[0];
  EXPECT_EQ(a.kind, s.kind);
  EXPECT_EQ(a.segment_id, s.segment_id);
  EXPECT_EQ(a.offset, s.offset);
  EXPECT_EQ(a.lsn, s.lsn);
  EXPECT_THAT(a.reason, HasSubstr(s.reason));

  // Segments kept, each with the records of the log that it still holds.
  EXPECT_EQ(r.segment_ids(), s.segments);
  uint64_t valid_bytes = 0;
  for (const SegmentSummary& summary : r.segments) {
    SCOPED_TRACE("segment " + std::to_string(summary.id));
    EXPECT_EQ(summary.bytes, before.at(format::segment_path(summary.id)).size());
    uint64_t records = 0, bytes = 0;
    std::optional<Lsn> first, last;
    for (const AppendResult& ap : log.appends) {
      if (ap.segment_id != summary.id || ap.lsn.value() > s.kept) continue;
      records++;
      bytes += ap.encoded_len;
      if (!first) first = ap.lsn;
      last = ap.lsn;
    }
    EXPECT_EQ(summary.records, records);
    EXPECT_EQ(summary.valid_bytes, bytes);
    EXPECT_EQ(summary.first_lsn, first);
    EXPECT_EQ(summary.last_lsn, last);
    valid_bytes += bytes;
  }
  EXPECT_EQ(r.valid_bytes, valid_bytes);

  std::vector<std::string> want, got;
  uint64_t bytes_dropped = 0;
  for (const Cut& c : s.cuts) {
    want.push_back(
        describe(Dropped{c.segment_id, c.offset, c.bytes,
                         keep_aside ? lost_path(c.segment_id, c.offset) : ""}));
    bytes_dropped += c.bytes;
  }
  for (const Dropped& d : r.dropped) got.push_back(describe(d));
  EXPECT_EQ(got, want);
  EXPECT_EQ(r.bytes_dropped, bytes_dropped);
}

// After an applied recovery: cut segments end at the cut (or, moved whole, are gone),
// what was cut is in wal/lost/ byte for byte in point-in-time mode, and no other
// segment changed.
void expect_repaired(io::Disk& disk, const Scenario& s, RecoveryMode mode,
                     const Snapshot& before) {
  const bool keep_aside = mode == RecoveryMode::kPointInTime;
  const Snapshot after = snapshot(disk);
  std::map<std::string, bool> cut_paths;
  for (const Cut& c : s.cuts) {
    const std::string path = format::segment_path(c.segment_id);
    SCOPED_TRACE(path);
    cut_paths[path] = true;
    const Bytes& old = before.at(path);
    if (keep_aside && c.offset == 0) {
      EXPECT_FALSE(after.contains(path)) << "moved whole, so it must be gone";
    } else {
      ASSERT_TRUE(after.contains(path));
      EXPECT_EQ(after.at(path), Bytes(old.begin(), old.begin() + c.offset));
    }
    if (keep_aside) {
      const std::string lost = lost_path(c.segment_id, c.offset);
      ASSERT_TRUE(after.contains(lost)) << lost << " is missing";
      EXPECT_EQ(after.at(lost), Bytes(old.begin() + c.offset, old.end()));
    }
  }
  for (const auto& [path, bytes] : before) {
    if (cut_paths.contains(path)) continue;
    ASSERT_TRUE(after.contains(path)) << path << " vanished";
    EXPECT_EQ(after.at(path), bytes) << path << " changed";
  }
  if (!keep_aside) {
    EXPECT_FALSE(after.contains("wal/lost/"));
  }
}

void check_scenario(const Scenario& s, DiskType type = DiskType::kSim) {
  for (RecoveryMode mode : kModes) {
    SCOPED_TRACE(s.name + ", " + std::string(to_string(mode)) + " mode" +
                 (type == DiskType::kFile ? ", FileDisk" : ", SimDisk"));
    TestDisk t = make_disk(type);
    ASSERT_NE(t.disk, nullptr);
    io::Disk& disk = *t.disk;
    Log log = write_log(disk, s.written);
    s.damage(disk, log);
    if (::testing::Test::HasFatalFailure()) return;
    const Snapshot before = snapshot(disk);
    const bool fatal =
        mode == RecoveryMode::kAbsolute ||
        (mode == RecoveryMode::kDefault && s.kind == AnomalyKind::kCorruption);
    const std::vector<Record> prefix(
        log.records.begin(), log.records.begin() + static_cast<ptrdiff_t>(s.kept));

    // A dry run changes no byte and no file, and tells what applying would do.
    Recovered dry = run(disk, mode, /*dry_run=*/true);
    EXPECT_EQ(snapshot(disk), before) << "the dry run changed the disk";
    if (fatal) {
      expect_error(dry.report, s);
      Recovered real = run(disk, mode);
      expect_error(real.report, s);
      EXPECT_EQ(snapshot(disk), before) << "a failed recovery changed the disk";
      continue;
    }
    ASSERT_TRUE(dry.report.ok()) << dry.report.error().to_string();
    expect_report(*dry.report, s, log, mode, /*dry_run=*/true, before);
    EXPECT_EQ(dry.records, prefix);

    // Applying does what the dry run said.
    Recovered real = run(disk, mode);
    ASSERT_TRUE(real.report.ok()) << real.report.error().to_string();
    expect_report(*real.report, s, log, mode, /*dry_run=*/false, before);
    EXPECT_EQ(real.records, prefix);
    expect_repaired(disk, s, mode, before);

    // The second recovery finds a clean log with the same records and changes nothing.
    const Snapshot repaired = snapshot(disk);
    Recovered again = run(disk, mode);
    ASSERT_TRUE(again.report.ok()) << again.report.error().to_string();
    EXPECT_TRUE(again.report->anomalies.empty())
        << again.report->anomalies[0].to_string();
    EXPECT_TRUE(again.report->dropped.empty());
    EXPECT_FALSE(again.report->applied);
    EXPECT_EQ(again.report->next_lsn, real.report->next_lsn);
    EXPECT_EQ(again.report->segment_ids(), s.segments);
    EXPECT_EQ(again.records, prefix);
    EXPECT_EQ(snapshot(disk), repaired);
  }
}

// A log that every mode accepts as it is: nothing reported, nothing changed (but for
// the lock file and the recovery point a repairing recovery creates when the log has
// none yet).
void expect_clean(io::Disk& disk, const std::vector<Record>& records,
                  const std::vector<uint64_t>& segments) {
  const Snapshot before = snapshot(disk);
  auto without_lock = [](Snapshot s) {
    s.erase(std::string(format::kLockFile));
    s.erase(std::string(rp_format::kFile));
    return s;
  };
  for (RecoveryMode mode : kModes) {
    for (bool dry_run : {true, false}) {
      SCOPED_TRACE(std::string(to_string(mode)) + (dry_run ? " dry run" : ""));
      const Snapshot at_start = snapshot(disk);
      Recovered r = run(disk, mode, dry_run);
      ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
      EXPECT_TRUE(r.report->anomalies.empty()) << r.report->anomalies[0].to_string();
      EXPECT_TRUE(r.report->dropped.empty());
      EXPECT_EQ(r.report->bytes_dropped, 0u);
      EXPECT_FALSE(r.report->applied);
      EXPECT_EQ(r.report->records, records.size());
      EXPECT_EQ(r.report->next_lsn, Lsn(records.size() + 1));
      EXPECT_EQ(r.report->segment_ids(), segments);
      EXPECT_EQ(r.records, records);
      if (dry_run) {
        EXPECT_EQ(snapshot(disk), at_start);
      } else {
        EXPECT_EQ(without_lock(snapshot(disk)), without_lock(before));
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// Torn tails: the last record of the last segment is damaged and nothing valid follows.

Scenario torn_last_record(uint64_t byte_in_record, std::string reason) {
  Scenario s;
  s.name = "flip byte " + std::to_string(byte_in_record) + " of the last record";
  s.damage = [byte_in_record](io::Disk& disk, Log&) {
    flip_byte(disk, 3, 2 * kRecordBytes + byte_in_record);
  };
  s.kind = AnomalyKind::kTornTail;
  s.segment_id = 3;
  s.offset = 2 * kRecordBytes;
  // A damaged payload leaves the header, and so the record's LSN, trustworthy.
  if (byte_in_record >= format::kHeaderLen) s.lsn = Lsn(9);
  s.reason = std::move(reason);
  s.kept = 8;
  s.segments = {1, 2, 3};
  s.cuts = {{3, 2 * kRecordBytes, kRecordBytes}};
  return s;
}

TEST(RecoveryTornTailTest, FlippedPayloadByteInTheLastRecord) {
  check_scenario(torn_last_record(60, "bad payload checksum"));
}

TEST(RecoveryTornTailTest, FlippedHeaderByteInTheLastRecord) {
  check_scenario(torn_last_record(format::kLsnOffset, "bad header checksum"));
}

TEST(RecoveryTornTailTest, FlippedByteInTheLastRecordOnFileDisk) {
  check_scenario(torn_last_record(60, "nothing valid follows"), DiskType::kFile);
}

TEST(RecoveryTornTailTest, TruncationAtEveryByteOfTheLastRecordIsATornTail) {
  for (uint64_t len = 2 * kRecordBytes + 1; len < kSegmentBytes; ++len) {
    Scenario s;
    s.name = "segment 3 truncated to " + std::to_string(len) + " bytes";
    s.damage = [len](io::Disk& disk, Log&) { truncate_segment(disk, 3, len); };
    s.kind = AnomalyKind::kTornTail;
    s.segment_id = 3;
    s.offset = 2 * kRecordBytes;
    const bool header_whole = len - s.offset >= format::kHeaderLen;
    s.reason = header_whole ? "partial payload" : "partial header";
    // A whole header verifies and names the record it starts.
    if (header_whole) s.lsn = Lsn(9);
    s.kept = 8;
    s.segments = {1, 2, 3};
    s.cuts = {{3, 2 * kRecordBytes, len - 2 * kRecordBytes}};
    check_scenario(s);
    if (HasFailure()) return;  // one failing length tells enough
  }
}

TEST(RecoveryTornTailTest, TruncationAtARecordBoundaryIsClean) {
  for (uint64_t len : {kSegmentBytes, 2 * kRecordBytes, kRecordBytes, uint64_t{0}}) {
    SCOPED_TRACE("segment 3 truncated to " + std::to_string(len) + " bytes");
    SimDisk disk;
    Log log = write_log(disk);
    truncate_segment(disk, 3, len);
    const size_t kept = 6 + len / kRecordBytes;
    expect_clean(disk,
                 std::vector<Record>(log.records.begin(), log.records.begin() + kept),
                 {1, 2, 3});
  }
}

// Space preallocated by a writer that stopped before filling it reads as zeros: the
// log ends cleanly there, whatever its length (shorter than a header too).
TEST(RecoveryTornTailTest, ZeroFilledTailIsPreallocatedSpaceAndClean) {
  for (size_t zeros : {size_t{1}, size_t{39}, size_t{4096}, size_t{1} << 20}) {
    SCOPED_TRACE(std::to_string(zeros) + " zero bytes after the last record");
    SimDisk disk;
    Log log = write_log(disk);
    append_to_segment(disk, 3, Bytes(zeros, 0));
    expect_clean(disk, log.records, {1, 2, 3});
  }
}

TEST(RecoveryTornTailTest, TornRecordFollowedByZerosIsATornTail) {
  Scenario s;
  s.name = "the last record cut after 50 bytes, then 4096 zero bytes";
  s.damage = [](io::Disk& disk, Log&) {
    truncate_segment(disk, 3, 2 * kRecordBytes + 50);
    append_to_segment(disk, 3, Bytes(4096, 0));
  };
  s.kind = AnomalyKind::kTornTail;
  s.segment_id = 3;
  s.offset = 2 * kRecordBytes;
  s.lsn = Lsn(9);
  s.reason = "bad payload checksum";
  s.kept = 8;
  s.segments = {1, 2, 3};
  s.cuts = {{3, 2 * kRecordBytes, 50 + 4096}};
  check_scenario(s);
}

TEST(RecoveryCorruptionTest, ZeroedRecordFollowedByValidOnesIsCorruption) {
  Scenario s;
  s.name = "record 8 (segment 3, offset 95) zeroed";
  s.damage = [](io::Disk& disk, Log&) {
    write_segment_at(disk, 3, kRecordBytes, Bytes(kRecordBytes, 0));
  };
  s.segment_id = 3;
  s.offset = kRecordBytes;
  s.reason = "followed by a valid record at offset 190";
  s.kept = 7;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kRecordBytes, 2 * kRecordBytes}};
  check_scenario(s);
}

TEST(RecoveryTornTailTest, GarbageTail) {
  Scenario s;
  s.name = "4096 random bytes (no magic) after the last record";
  s.damage = [](io::Disk& disk, Log&) { append_to_segment(disk, 3, garbage(4096, 7)); };
  s.kind = AnomalyKind::kTornTail;
  s.segment_id = 3;
  s.offset = kSegmentBytes;
  s.reason = "nothing valid follows";
  s.kept = 9;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kSegmentBytes, 4096}};
  check_scenario(s);
}

// A Bytes record that carries a complete, valid encoded record in its payload, torn
// inside that payload: the header is intact, so recovery must look for later records
// only past the declared length, and the record inside must not count as one.
TEST(RecoveryTornTailTest, RecordInsideATornPayloadIsNotALogRecord) {
  // After 7 records segment 3 holds one (95 bytes); the Bytes record follows it.
  const Bytes inner = encode(Payload::put("inner", "record"), Lsn(8), SequenceNumber(8))
                          .value();  // carries the very LSN recovery expects next
  const std::string payload = std::string(20, 'x') +
                              std::string(inner.begin(), inner.end()) +
                              std::string(30, 'y');
  const uint64_t outer_len = format::kHeaderLen + payload.size();
  auto write_outer = [payload](io::Disk& disk, Log& log) {
    append_records(disk, log, {Payload::bytes(payload)}, kExtensionBytes);
    ASSERT_EQ(log.appends.back().segment_id, 3u);
    ASSERT_EQ(log.appends.back().offset, kRecordBytes);
  };
  auto scenario = [&](std::string name, std::string reason, uint64_t cut_bytes) {
    Scenario s;
    s.name = std::move(name);
    s.written = 7;
    s.kind = AnomalyKind::kTornTail;
    s.segment_id = 3;
    s.offset = kRecordBytes;
    s.reason = std::move(reason);
    s.kept = 7;
    s.segments = {1, 2, 3};
    s.cuts = {{3, kRecordBytes, cut_bytes}};
    return s;
  };
  for (uint64_t len = 1; len < outer_len; ++len) {
    Scenario s =
        scenario("Bytes record cut after " + std::to_string(len) + " bytes",
                 len < format::kHeaderLen ? "partial header" : "partial payload", len);
    if (len >= format::kHeaderLen) s.lsn = Lsn(8);  // the whole header names it
    s.damage = [write_outer, len](io::Disk& disk, Log& log) {
      write_outer(disk, log);
      truncate_segment(disk, 3, kRecordBytes + len);
    };
    check_scenario(s);
    if (HasFailure()) return;
  }
  // Complete, but with a byte of the trailing filler flipped.
  Scenario s =
      scenario("Bytes record with a bad payload", "bad payload checksum", outer_len);
  s.lsn = Lsn(8);
  s.damage = [write_outer, outer_len](io::Disk& disk, Log& log) {
    write_outer(disk, log);
    flip_byte(disk, 3, kRecordBytes + outer_len - 1);
  };
  check_scenario(s);
}

// ---------------------------------------------------------------------------------
// Corruption: durable data is damaged.

TEST(RecoveryCorruptionTest, FlippedByteInAMiddleRecordOfTheLastSegment) {
  Scenario s;
  s.name = "flip a byte of record 8 (segment 3, offset 95)";
  s.damage = [](io::Disk& disk, Log&) { flip_byte(disk, 3, kRecordBytes + 60); };
  s.segment_id = 3;
  s.offset = kRecordBytes;
  s.lsn = Lsn(8);
  s.reason = "bad payload checksum: stored";
  s.kept = 7;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kRecordBytes, 2 * kRecordBytes}};
  check_scenario(s);
  s.reason = "followed by a valid record at offset 190";
  check_scenario(s);
}

Scenario closed_segment_flip(uint64_t record_in_segment) {
  Scenario s;
  const uint64_t offset = record_in_segment * kRecordBytes;
  s.name = "flip a byte of segment 2 at offset " + std::to_string(offset + 60);
  s.damage = [offset](io::Disk& disk, Log&) { flip_byte(disk, 2, offset + 60); };
  s.segment_id = 2;
  s.offset = offset;
  s.reason = "bad payload checksum";
  s.kept = 3 + record_in_segment;
  s.lsn = Lsn(s.kept + 1);
  s.segments = offset > 0 ? std::vector<uint64_t>{1, 2} : std::vector<uint64_t>{1};
  s.cuts = {{2, offset, kSegmentBytes - offset}, {3, 0, kSegmentBytes}};
  return s;
}

TEST(RecoveryCorruptionTest, FlippedByteInAClosedSegment) {
  Scenario s = closed_segment_flip(1);
  check_scenario(s);
  s.reason = "(not the last segment";
  check_scenario(s);
}

TEST(RecoveryCorruptionTest, FlippedByteInTheFirstRecordOfAClosedSegment) {
  check_scenario(closed_segment_flip(0));
}

TEST(RecoveryCorruptionTest, FlippedByteInAClosedSegmentOnFileDisk) {
  check_scenario(closed_segment_flip(1), DiskType::kFile);
}

// Unknown flags with a fixed header CRC: a record of a newer format, which no mode may
// cut or read as something else. Refused with UnsupportedVersion; nothing changes.
TEST(RecoveryRefusalTest, UnknownFlagsWithAFixedCrcAreRefusedInEveryMode) {
  for (RecoveryMode mode : kModes) {
    for (bool dry_run : {true, false}) {
      SCOPED_TRACE(std::string(to_string(mode)) + (dry_run ? " dry run" : ""));
      SimDisk disk;
      Log log = write_log(disk);
      Bytes rec = record_bytes(disk, log.appends[1]);
      set_le(rec, format::kFlagsOffset, 1, 2);
      fix_header_crc(rec);
      write_segment_at(disk, 1, kRecordBytes, rec);
      Snapshot before = snapshot(disk);
      before.erase(std::string(format::kLockFile));
      Recovered r = run(disk, mode, dry_run);
      ASSERT_FALSE(r.report.ok());
      EXPECT_EQ(r.report.error().kind(), ErrorKind::kUnsupportedVersion);
      EXPECT_THAT(r.report.error().message(),
                  AllOf(HasSubstr("segment 1 ("), HasSubstr("at offset 95 (LSN 2)"),
                        HasSubstr("unknown flags")));
      Snapshot after = snapshot(disk);
      after.erase(std::string(format::kLockFile));
      EXPECT_EQ(after, before);
    }
  }
}

TEST(RecoveryCorruptionTest, ValidRecordAfterGarbage) {
  Scenario s;
  s.name = "garbage, then a copy of record 1, after the last record";
  s.damage = [](io::Disk& disk, Log& log) {
    append_to_segment(disk, 3, garbage(100, 11));
    append_to_segment(disk, 3, record_bytes(disk, log.appends[0]));
  };
  s.segment_id = 3;
  s.offset = kSegmentBytes;
  s.reason =
      "followed by a valid record at offset " + std::to_string(kSegmentBytes + 100);
  s.kept = 9;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kSegmentBytes, 100 + kRecordBytes}};
  check_scenario(s);
}

Scenario missing_middle_segment() {
  Scenario s;
  s.name = "segment 2 deleted";
  s.damage = [](io::Disk& disk, Log&) { KAYA_ASSERT_OK(disk.remove_file(segment(2))); };
  s.segment_id = 3;
  s.offset = 0;
  s.reason = "segment 2 is missing";
  s.kept = 3;
  s.segments = {1};
  s.cuts = {{3, 0, kSegmentBytes}};
  return s;
}

TEST(RecoveryCorruptionTest, MissingMiddleSegment) {
  check_scenario(missing_middle_segment());
}

TEST(RecoveryCorruptionTest, MissingMiddleSegmentOnFileDisk) {
  check_scenario(missing_middle_segment(), DiskType::kFile);
}

TEST(RecoveryCorruptionTest, DuplicatedLastRecordStepsBack) {
  Scenario s;
  s.name = "record 9 appended again";
  s.damage = [](io::Disk& disk, Log& log) {
    append_to_segment(disk, 3, record_bytes(disk, log.appends[8]));
  };
  s.segment_id = 3;
  s.offset = kSegmentBytes;
  s.lsn = Lsn(9);
  s.reason = "LSN steps back: record has LSN 9, expected 10";
  s.kept = 9;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kSegmentBytes, kRecordBytes}};
  check_scenario(s);
}

TEST(RecoveryCorruptionTest, LsnGapInsideASegment) {
  Scenario s;
  s.name = "record 8 resealed with LSN 13";
  s.damage = [](io::Disk& disk, Log& log) { reseal_lsn(disk, log.appends[7], 13); };
  s.segment_id = 3;
  s.offset = kRecordBytes;
  s.lsn = Lsn(13);
  s.reason = "LSN gap: record has LSN 13, expected 8";
  s.kept = 7;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kRecordBytes, 2 * kRecordBytes}};
  check_scenario(s);
}

TEST(RecoveryCorruptionTest, LsnGapAcrossSegments) {
  Scenario s;
  s.name = "record 7 (first of segment 3) resealed with LSN 12";
  s.damage = [](io::Disk& disk, Log& log) { reseal_lsn(disk, log.appends[6], 12); };
  s.segment_id = 3;
  s.offset = 0;
  s.lsn = Lsn(12);
  s.reason = "LSN gap: record has LSN 12, expected 7";
  s.kept = 6;
  s.segments = {1, 2};
  s.cuts = {{3, 0, kSegmentBytes}};
  check_scenario(s);
}

// ---------------------------------------------------------------------------------
// Repeated recovery, dry runs, reports.

TEST(RecoveryTest, CleanLogTwiceInARowGivesTheSameReport) {
  SimDisk disk;
  Log log = write_log(disk);
  for (RecoveryMode mode : kModes) {
    SCOPED_TRACE(to_string(mode));
    Recovered first = run(disk, mode);
    Recovered second = run(disk, mode);
    ASSERT_TRUE(first.report.ok()) << first.report.error().to_string();
    ASSERT_TRUE(second.report.ok()) << second.report.error().to_string();
    EXPECT_EQ(first.records, log.records);
    EXPECT_EQ(second.records, log.records);
    EXPECT_EQ(second.report->records, first.report->records);
    EXPECT_EQ(second.report->valid_bytes, first.report->valid_bytes);
    EXPECT_EQ(second.report->next_sequence, first.report->next_sequence);
    EXPECT_EQ(second.report->next_lsn, Lsn(10));
    EXPECT_TRUE(second.report->anomalies.empty());
    EXPECT_EQ(second.report->segment_ids(), (std::vector<uint64_t>{1, 2, 3}));
  }
  expect_clean(disk, log.records, {1, 2, 3});
}

TEST(RecoveryTest, VisitorSeesEveryRecordWithItsPosition) {
  SimDisk disk;
  Log log = write_log(disk);
  Recovered r = run(disk, RecoveryMode::kDefault, /*dry_run=*/true);
  ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
  ASSERT_EQ(r.positions.size(), log.appends.size());
  for (size_t i = 0; i < log.appends.size(); ++i) {
    EXPECT_EQ(r.positions[i].first, log.appends[i].segment_id) << i;
    EXPECT_EQ(r.positions[i].second, log.appends[i].offset) << i;
  }
  EXPECT_EQ(r.records, log.records);
}

TEST(RecoveryTest, VisitorErrorStopsRecovery) {
  SimDisk disk;
  write_log(disk);
  truncate_segment(disk, 3, 250);
  const Snapshot before = snapshot(disk);
  int seen = 0;
  auto r = recover(small_config(), disk, {}, [&](uint64_t, uint64_t, const RecordView&) {
    return ++seen == 4 ? Status(Error(ErrorKind::kInternal, "engine says stop"))
                       : Status();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInternal);
  EXPECT_EQ(seen, 4);
  EXPECT_EQ(snapshot(disk), before);
}

TEST(RecoveryTest, ReportToStringNamesRecordsAnomaliesAndDrops) {
  SimDisk disk;
  write_log(disk);
  truncate_segment(disk, 3, 250);
  Recovered dry = run(disk, RecoveryMode::kDefault, /*dry_run=*/true);
  ASSERT_TRUE(dry.report.ok()) << dry.report.error().to_string();
  const std::string d = dry.report->to_string();
  EXPECT_THAT(d, HasSubstr("dry run, mode default: 8 records in 3 segments"));
  EXPECT_THAT(d, HasSubstr("next LSN 9"));
  EXPECT_THAT(
      d, HasSubstr("anomaly: segment 3 offset 190 LSN 9: torn tail: partial payload"));
  EXPECT_THAT(d, HasSubstr("would drop segment 3 from offset 190 (60 bytes)"));

  Recovered pit = run(disk, RecoveryMode::kPointInTime);
  ASSERT_TRUE(pit.report.ok()) << pit.report.error().to_string();
  const std::string p = pit.report->to_string();
  EXPECT_THAT(p, HasSubstr("mode point-in-time: 8 records"));
  EXPECT_THAT(p, HasSubstr("dropped segment 3 from offset 190 (60 bytes), kept in " +
                           lost_path(3, 190)));
  EXPECT_EQ(p.find("dry run"), std::string::npos);
}

TEST(RecoveryTest, AnomalyToStringNamesTheLsnWhenKnown) {
  SimDisk disk;
  Log log = write_log(disk);
  append_to_segment(disk, 3, record_bytes(disk, log.appends[8]));
  Recovered r = run(disk, RecoveryMode::kPointInTime, /*dry_run=*/true);
  ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
  ASSERT_EQ(r.report->anomalies.size(), 1u);
  EXPECT_THAT(r.report->anomalies[0].to_string(),
              HasSubstr("segment 3 offset 285 LSN 9: corruption: LSN steps back"));
}

// Dry run and apply agree, also when the planned wal/lost/ name is already taken.
TEST(RecoveryTest, PointInTimeNeverOverwritesWhatIsInLost) {
  SimDisk disk;
  write_log(disk);
  KAYA_ASSERT_OK(disk.create_dir(RelativePath::parse("wal/lost").value()));
  const RelativePath taken = RelativePath::parse(lost_path(3, 190)).value();
  KAYA_ASSERT_OK(disk.append(taken, Bytes{1, 2, 3}));
  truncate_segment(disk, 3, 250);
  Recovered dry = run(disk, RecoveryMode::kPointInTime, /*dry_run=*/true);
  ASSERT_TRUE(dry.report.ok()) << dry.report.error().to_string();
  ASSERT_EQ(dry.report->dropped.size(), 1u);
  EXPECT_EQ(dry.report->dropped[0].moved_to, lost_path(3, 190) + ".1");
  Recovered real = run(disk, RecoveryMode::kPointInTime);
  ASSERT_TRUE(real.report.ok()) << real.report.error().to_string();
  ASSERT_EQ(real.report->dropped.size(), 1u);
  EXPECT_EQ(real.report->dropped[0].moved_to, lost_path(3, 190) + ".1");
  EXPECT_EQ(read_file(disk, taken), (Bytes{1, 2, 3}));
  EXPECT_EQ(read_file(disk, RelativePath::parse(lost_path(3, 190) + ".1").value()).size(),
            60u);
}

// ---------------------------------------------------------------------------------
// Empty logs.

TEST(RecoveryEmptyLogTest, NoWalDirectory) {
  SimDisk disk;
  for (RecoveryMode mode : kModes) {
    for (bool dry_run : {true, false}) {
      SCOPED_TRACE(std::string(to_string(mode)) + (dry_run ? " dry run" : ""));
      Recovered r = run(disk, mode, dry_run);
      ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
      EXPECT_EQ(r.report->next_lsn, Lsn(1));
      EXPECT_FALSE(r.report->next_sequence.has_value());
      EXPECT_FALSE(r.report->first_lsn.has_value());
      EXPECT_EQ(r.report->records, 0u);
      EXPECT_TRUE(r.report->anomalies.empty());
      EXPECT_TRUE(r.report->segments.empty());
      EXPECT_TRUE(r.records.empty());
      EXPECT_TRUE(snapshot(disk).empty()) << "recovery created files";
    }
  }
}

TEST(RecoveryEmptyLogTest, EmptySegment) {
  SimDisk disk;
  KAYA_ASSERT_OK(disk.create_dir(RelativePath::parse("wal").value()));
  KAYA_ASSERT_OK(disk.append(segment(1), Bytes()));
  expect_clean(disk, {}, {1});
  Recovered r = run(disk, RecoveryMode::kAbsolute);
  ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
  ASSERT_EQ(r.report->segments.size(), 1u);
  EXPECT_EQ(r.report->segments[0].bytes, 0u);
  EXPECT_FALSE(r.report->segments[0].first_lsn.has_value());
  EXPECT_FALSE(r.report->next_sequence.has_value());
}

TEST(RecoveryEmptyLogTest, LogOpenedAndClosedWithoutRecords) {
  SimDisk disk;
  Log log;
  append_records(disk, log, {});
  expect_clean(disk, {}, {1});
}

// ---------------------------------------------------------------------------------
// The writer's side: open() recovers.

TEST(RecoveryWriterTest, OpenAfterATornTailContinuesAtTheTornRecord) {
  SimDisk disk;
  Log log = write_log(disk);
  truncate_segment(disk, 3, 250);
  auto w = Writer::open(small_config(), disk);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  const RecoveryReport& report = (*w)->recovery_report();
  EXPECT_EQ(report.records, 8u);
  ASSERT_EQ(report.anomalies.size(), 1u);
  EXPECT_EQ(report.anomalies[0].kind, AnomalyKind::kTornTail);
  EXPECT_EQ(report.anomalies[0].segment_id, 3u);
  EXPECT_EQ(report.anomalies[0].offset, 190u);
  ASSERT_EQ(report.dropped.size(), 1u);
  EXPECT_EQ(describe(report.dropped[0]), "segment 3 offset 190 bytes 60 -> ''");
  EXPECT_TRUE(report.applied);
  EXPECT_EQ((*w)->next_lsn(), Lsn(9));

  auto a = (*w)->append(Payload::put("new", "record"), DurabilityMode::kStrict);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_EQ(a->lsn, Lsn(9));
  EXPECT_EQ(a->sequence, SequenceNumber(9));
  EXPECT_EQ(a->segment_id, 3u);
  EXPECT_EQ(a->offset, 190u);
  KAYA_ASSERT_OK((*w)->close());

  auto back = read_log(disk, small_config());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(back->report.anomalies.empty());
  ASSERT_EQ(back->records.size(), 9u);
  EXPECT_EQ(back->records[7], log.records[7]);
  EXPECT_EQ(back->records[8],
            (Record{Lsn(9), SequenceNumber(9), RecordType::kPut, "new", "record"}));
}

TEST(RecoveryWriterTest, PointInTimeOpenContinuesAfterTheKeptPrefix) {
  SimDisk disk;
  Log log = write_log(disk);
  flip_byte(disk, 2, kRecordBytes + 60);
  const Snapshot before = snapshot(disk);

  auto refused = Writer::open(small_config(), disk);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kCorruption);
  EXPECT_THAT(refused.error().message(), HasSubstr("segment 2 ("));
  EXPECT_THAT(refused.error().message(), HasSubstr("at offset 95"));
  EXPECT_EQ(snapshot(disk), before);

  OpenOptions options;
  options.recovery.mode = RecoveryMode::kPointInTime;
  std::vector<Record> replayed;
  options.replay = [&](uint64_t, uint64_t, const RecordView& r) {
    replayed.push_back(r.to_record());
    return ok_status();
  };
  auto w = Writer::open(small_config(), disk, options);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  EXPECT_EQ(replayed, std::vector<Record>(log.records.begin(), log.records.begin() + 4));
  const RecoveryReport& report = (*w)->recovery_report();
  EXPECT_EQ(report.mode, RecoveryMode::kPointInTime);
  EXPECT_EQ(report.records, 4u);
  EXPECT_EQ(report.next_lsn, Lsn(5));
  ASSERT_EQ(report.anomalies.size(), 1u);
  EXPECT_EQ(report.anomalies[0].kind, AnomalyKind::kCorruption);
  ASSERT_EQ(report.dropped.size(), 2u);
  EXPECT_EQ(describe(report.dropped[0]),
            "segment 2 offset 95 bytes 190 -> '" + lost_path(2, 95) + "'");
  EXPECT_EQ(describe(report.dropped[1]),
            "segment 3 offset 0 bytes 285 -> '" + lost_path(3, 0) + "'");
  EXPECT_EQ((*w)->next_lsn(), Lsn(5));

  // LSNs 5 and 6 fill segment 2; LSN 7 opens a new segment 3.
  std::vector<AppendResult> appended;
  const std::string keys[] = {key_of(100), key_of(101), key_of(102)};
  const std::string value = value_of(100);
  for (const std::string& key : keys) {
    auto a = (*w)->append(Payload::put(key, value), DurabilityMode::kStrict);
    ASSERT_TRUE(a.ok()) << a.error().to_string();
    appended.push_back(*a);
  }
  EXPECT_EQ(appended[0].lsn, Lsn(5));
  EXPECT_EQ(appended[0].segment_id, 2u);
  EXPECT_EQ(appended[0].offset, kRecordBytes);
  EXPECT_EQ(appended[2].lsn, Lsn(7));
  EXPECT_EQ(appended[2].segment_id, 3u);
  EXPECT_EQ(appended[2].offset, 0u);
  KAYA_ASSERT_OK((*w)->close());

  auto back = read_log(disk, small_config());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(back->report.anomalies.empty());
  ASSERT_EQ(back->records.size(), 7u);
  for (size_t i = 0; i < back->records.size(); ++i) {
    EXPECT_EQ(back->records[i].lsn, Lsn(i + 1));
  }
  EXPECT_EQ(read_file(disk, RelativePath::parse(lost_path(3, 0)).value()),
            before.at(format::segment_path(3)));
}

TEST(RecoveryWriterTest, OpenRefusesADryRun) {
  SimDisk disk;
  write_log(disk);
  truncate_segment(disk, 3, 250);
  const Snapshot before = snapshot(disk);
  for (RecoveryMode mode : kModes) {
    OpenOptions options;
    options.recovery.mode = mode;
    options.recovery.dry_run = true;
    auto w = Writer::open(small_config(), disk, options);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_THAT(w.error().message(), HasSubstr("dry-run"));
  }
  EXPECT_EQ(snapshot(disk), before);
}

TEST(RecoveryWriterTest, ReplaySeesEveryRecordInOrderAndTheReportMatches) {
  SimDisk disk;
  Log log = write_log(disk);
  Recovered dry = run(disk, RecoveryMode::kDefault, /*dry_run=*/true);
  ASSERT_TRUE(dry.report.ok()) << dry.report.error().to_string();

  OpenOptions options;
  std::vector<Record> replayed;
  std::vector<std::pair<uint64_t, uint64_t>> positions;
  options.replay = [&](uint64_t segment_id, uint64_t offset, const RecordView& r) {
    replayed.push_back(r.to_record());
    positions.emplace_back(segment_id, offset);
    return ok_status();
  };
  auto w = Writer::open(small_config(), disk, options);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  EXPECT_EQ(replayed, log.records);
  EXPECT_EQ(positions, dry.positions);
  const RecoveryReport& report = (*w)->recovery_report();
  EXPECT_FALSE(report.dry_run);
  EXPECT_EQ(report.records, dry.report->records);
  EXPECT_EQ(report.next_lsn, dry.report->next_lsn);
  EXPECT_EQ(report.next_sequence, dry.report->next_sequence);
  EXPECT_EQ(report.valid_bytes, dry.report->valid_bytes);
  EXPECT_EQ(report.segment_ids(), dry.report->segment_ids());
  EXPECT_TRUE(report.anomalies.empty());
}

TEST(RecoveryWriterTest, ReplayErrorFailsTheOpen) {
  SimDisk disk;
  write_log(disk);
  OpenOptions options;
  options.replay = [](uint64_t, uint64_t, const RecordView& r) {
    return r.lsn == Lsn(5) ? Status(Error(ErrorKind::kInternal, "cannot apply"))
                           : Status();
  };
  auto w = Writer::open(small_config(), disk, options);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind(), ErrorKind::kInternal);
  // The failed open released the lock.
  auto again = Writer::open(small_config(), disk);
  KAYA_EXPECT_OK(again);
}

// ---------------------------------------------------------------------------------
// Locking, short reads and read errors.

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
