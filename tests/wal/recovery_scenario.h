// The machinery of the recovery tests (recovery_*_test.cc), in the style of LevelDB's
// log_test: build a multi-segment log with the Writer, damage it byte by byte, and check
// what each recovery mode makes of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kaya/io/disk.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/record_bytes.h"
#include "testing/test_util.h"

namespace kaya::wal::recovery_testing {

using kaya::testing::Bytes;

inline constexpr RecoveryMode kModes[] = {
    RecoveryMode::kDefault, RecoveryMode::kPointInTime, RecoveryMode::kAbsolute};

// The standard log: nine 95-byte Put records, three per 300-byte segment, so segments
// 1, 2 and 3 each hold 285 bytes and record i (LSN i + 1) sits in segment i / 3 + 1
// at offset (i % 3) * 95.
inline constexpr int kRecords = 9;
inline constexpr uint64_t kRecordBytes = 95;
inline constexpr uint64_t kSegmentBytes = 3 * kRecordBytes;

WalConfig small_config();
std::string key_of(int i);
std::string value_of(int i);

// What was written: positions and contents, in LSN order.
struct Log {
  std::vector<AppendResult> appends;
  std::vector<Record> records;
};

// Opens a writer on the log, appends `payloads` (relaxed), and closes it (which syncs).
void append_records(io::Disk& disk, Log& log, const std::vector<Payload>& payloads,
                    uint64_t extensions = 0);
// The standard log (its first `n` records).
Log write_log(io::Disk& disk, int n = kRecords);

// ---------------------------------------------------------------------------------
// Byte surgery. Own little-endian and CRC fix-up code (testing/record_bytes.h), so that
// a bug shared with the codec cannot hide.

using kaya::testing::fix_header_crc;
using kaya::testing::set_le;
Bytes read_file(io::Disk& disk, const io::RelativePath& path);
void write_segment_at(io::Disk& disk, uint64_t id, uint64_t offset, const Bytes& b);
void flip_byte(io::Disk& disk, uint64_t id, uint64_t offset);
void truncate_segment(io::Disk& disk, uint64_t id, uint64_t len);
void append_to_segment(io::Disk& disk, uint64_t id, const Bytes& b);
Bytes record_bytes(io::Disk& disk, const AppendResult& a);
// Rewrites the LSN of the record at `a` and fixes its header CRC: the record stays
// valid, so only the LSN check can catch it.
void reseal_lsn(io::Disk& disk, const AppendResult& a, uint64_t lsn);
// Random bytes that never contain the magic (no 0x41 byte at all).
Bytes garbage(size_t n, uint64_t seed);

// Every file (path -> bytes) and directory (path + "/") under the disk's root.
using Snapshot = std::map<std::string, Bytes>;
Snapshot snapshot(io::Disk& disk);

// ---------------------------------------------------------------------------------
// Disks and recovery runs.

enum class DiskType { kSim, kFile };

struct TestDisk {
  std::unique_ptr<kaya::testing::TempDir> dir;  // FileDisk only; outlives the disk
  std::unique_ptr<io::Disk> disk;
};

TestDisk make_disk(DiskType type);

struct Recovered {
  Result<RecoveryReport> report;
  std::vector<Record> records;                           // what the visitor saw
  std::vector<std::pair<uint64_t, uint64_t>> positions;  // (segment, offset) of each
};

Recovered run(io::Disk& disk, const RecoveryOptions& options);
Recovered run(io::Disk& disk, RecoveryMode mode, bool dry_run = false);

// "wal/lost/0000000000000003.wal[.from-<offset>]"
std::string lost_path(uint64_t id, uint64_t offset);
std::string describe(const Dropped& d);

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

// Writes the standard log, damages it, and checks a dry run, an applied recovery and a
// second recovery in every mode: a fatal mode fails naming the anomaly and changes
// nothing; a tolerant one reports and cuts exactly `s.cuts`.
void check_scenario(const Scenario& s, DiskType type = DiskType::kSim);

// A log that every mode accepts as it is: nothing reported, nothing changed (but for
// the lock file and the recovery point a repairing recovery creates when the log has
// none yet).
void expect_clean(io::Disk& disk, const std::vector<Record>& records,
                  const std::vector<uint64_t>& segments);

}  // namespace kaya::wal::recovery_testing
