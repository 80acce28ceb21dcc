// The machinery of the recovery tests: the standard log, byte surgery, recovery runs
// and the check of one damage scenario in all three modes (recovery_scenario.h).
#include "wal/recovery_scenario.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "kaya/core/crc32c.h"
#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery_point.h"
#include "wal/wal_test_util.h"

namespace kaya::wal::recovery_testing {

using io::RelativePath;
using io::SimDisk;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using testing::segment;

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

void append_records(io::Disk& disk, Log& log, const std::vector<Payload>& payloads,
                    uint64_t extensions) {
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

Log write_log(io::Disk& disk, int n) {
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

namespace {

Bytes read_range(io::Disk& disk, const RelativePath& path, uint64_t offset,
                 uint64_t len) {
  Bytes out(len);
  auto n = io::read_full(disk, path, offset, out);
  EXPECT_TRUE(n.ok()) << n.error().to_string();
  out.resize(n.ok() ? *n : 0);
  return out;
}

}  // namespace

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

void reseal_lsn(io::Disk& disk, const AppendResult& a, uint64_t lsn) {
  Bytes rec = record_bytes(disk, a);
  set_le(rec, format::kLsnOffset, lsn, 8);
  fix_header_crc(rec);
  ASSERT_TRUE(decode(rec, 0, small_config().max_record_bytes).ok());
  write_segment_at(disk, a.segment_id, a.offset, rec);
}

Bytes garbage(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (uint8_t& x : b) {
    x = static_cast<uint8_t>(rng());
    if (x == 0x41) x = 0x42;
  }
  return b;
}

namespace {

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

}  // namespace

Snapshot snapshot(io::Disk& disk) {
  Snapshot s;
  snapshot_dir(disk, RelativePath(), s);
  return s;
}

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

Recovered run(io::Disk& disk, RecoveryMode mode, bool dry_run) {
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

namespace {

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

}  // namespace

void check_scenario(const Scenario& s, DiskType type) {
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

}  // namespace kaya::wal::recovery_testing
