/// @file
/// Recovery: reads the log, judges every problem it meets with the one damage
/// judgement (kaya/wal/judgement.h, docs/recovery.md's table) and, unless it is a dry
/// run, repairs what the chosen mode allows.
///
/// The recovery point (kaya/wal/recovery_point.h) places each problem: at or below it,
/// data was durable and damage is corruption; beyond it, an incomplete or invalid
/// record that nothing valid follows is a torn tail (cut), and records after a hole are
/// moved to wal/lost/ and reported. A log without a recovery point (written by KayaDB
/// or kaya 0.1) is judged by what follows alone; recover() then creates the file.
///
/// In the default mode only what lies beyond the recovery point is read (an open costs
/// the tail, not the log); point-in-time and absolute recovery, `full_scan`, and a
/// replay from the first record read every segment. The report says which segments
/// were read.
///
/// Memory stays bounded by the largest record plus a fixed buffer, whatever the log size.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kaya/core/export.h"
#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/config.h"
#include "kaya/wal/judgement.h"
#include "kaya/wal/recovery_point.h"

/// The log: format, codec, writer, recovery, readers, inspection, metrics.
namespace kaya::wal {

/// What recovery accepts to drop (docs/recovery.md).
enum class RecoveryMode {
  /// Drop a torn tail; fail with Corruption (changing nothing) on corruption.
  kDefault,
  /// Keep the valid prefix up to the first problem of any kind and cut off the rest,
  /// moving what is cut off aside (wal/lost/), never deleting it. For an operator who
  /// accepts losing what follows the damage.
  kPointInTime,
  /// Accept no loss at all: any anomaly, even a torn tail, fails with Corruption.
  kAbsolute,
};
/// "default", "point-in-time" or "absolute".
KAYA_API std::string_view to_string(RecoveryMode mode);

/// How recover() runs.
struct RecoveryOptions {
  RecoveryMode mode = RecoveryMode::kDefault;  ///< What it may drop
  /// Report what applying would do, changing no byte and no file (and taking no lock).
  bool dry_run = false;
  /// Read and check every segment, also in the default mode (which otherwise reads
  /// only what lies beyond the recovery point).
  bool full_scan = false;
  /// Ignore the recovery point, judge the log as if it had none (full scan), and write
  /// a new one from what is found. For a recovery point that is unreadable or does not
  /// match the log (e.g. segments restored from a backup). Not with dry_run.
  bool rebuild_recovery_point = false;
  /// The visitor gets the records from this LSN on (an engine replays from its
  /// checkpoint); segments wholly below it are not read when the recovery point allows.
  /// nullopt: from the first record, which reads every segment.
  std::optional<Lsn> visit_from;
  /// Read buffer; a record larger than this is read with a buffer of its own size.
  size_t buffer_bytes = 1 << 20;
};

/// What a problem is: the judgement's verdict (kaya/wal/judgement.h): kTornTail,
/// kLostAfterHole, kCorruption, kNewerFormat or kOverLimit.
using AnomalyKind = Verdict;

/// Something wrong that recovery found.
struct KAYA_API Anomaly {
  AnomalyKind kind = AnomalyKind::kTornTail;  ///< Torn tail or corruption
  uint64_t segment_id = 0;                    ///< Segment it is in
  uint64_t offset = 0;                        ///< Where in the segment it starts
  std::optional<Lsn> lsn;                     ///< of the record at `offset`, when known
  std::string reason;                         ///< What is wrong, in words
  /// "segment 3 (wal/0000000000000003.wal) offset 4096 LSN 17: torn tail: ..."
  std::string to_string() const;
};

/// Bytes recovery drops (or, in a dry run, would drop).
struct Dropped {
  uint64_t segment_id = 0;  ///< Segment the bytes are (were) in
  uint64_t offset = 0;      ///< from here to the end of the segment
  uint64_t bytes = 0;       ///< How many
  /// Where the bytes were kept ("" for a torn tail, which is truncated: it was never
  /// acknowledged), e.g. "wal/lost/0000000000000003.wal".
  std::string moved_to;
};

/// One segment that recovery kept.
struct SegmentSummary {
  uint64_t id = 0;               ///< Segment id
  uint64_t bytes = 0;            ///< file length before recovery
  uint64_t valid_bytes = 0;      ///< bytes of the valid records kept
  uint64_t records = 0;          ///< valid records kept
  std::optional<Lsn> first_lsn;  ///< LSN of its first record (nullopt: none)
  std::optional<Lsn> last_lsn;   ///< LSN of its last record (nullopt: none)
  /// Its records were read and checked by this recovery (false: below the recovery
  /// point, trusted; bytes and valid_bytes are then its length, records and the LSNs
  /// unknown, 0 and nullopt; below the recovery point's newest sealed segment the
  /// length is not looked at either, and reads 0).
  bool scanned = true;
};

/// What recover() found and did.
struct KAYA_API RecoveryReport {
  RecoveryMode mode = RecoveryMode::kDefault;  ///< The mode it ran in
  bool dry_run = false;                        ///< True: nothing was changed
  Lsn next_lsn;  ///< LSN for the writer's next record (1 for an empty log)
  /// Sequence after the last record's (nullopt for an empty log).
  std::optional<SequenceNumber> next_sequence;
  std::optional<Lsn> first_lsn;  ///< of the first record kept
  uint64_t records = 0;          ///< valid records kept
  uint64_t valid_bytes =
      0;  ///< bytes of the valid records kept, in the segments measured
  std::vector<SegmentSummary> segments;  ///< segments kept, in id order
  std::vector<Anomaly> anomalies;        ///< what is wrong (recovery stops at the first)
  std::vector<Dropped> dropped;          ///< what was (or would be) dropped
  uint64_t bytes_dropped = 0;            ///< bytes dropped (or that would be), in all
  bool applied = false;                  ///< the drops were carried out and synced
  uint64_t duration_us = 0;              ///< wall time of the recovery
  /// Every segment was read (false: only what lies beyond the recovery point).
  bool full_scan = false;
  /// The log had a recovery point (false: judged by what follows alone).
  bool had_recovery_point = false;
  /// The recovery point after recovery: what the log's file says, or (when it had
  /// none, or a repair changed the log) what recovery wrote or, in a dry run, would
  /// write. nullopt for a log without records and without a recovery point.
  std::optional<RecoveryPoint> recovery_point;
  /// The format extensions the log is opted into (kExtensionBytes, kExtensionBatches
  /// bits): its recovery point's, plus the markers found in the records read, plus
  /// Bytes for a log without a recovery point in which a Bytes record was read (kaya
  /// 0.1's logs). docs/format.md, "Opting in".
  uint64_t extensions = 0;
  /// Recovery wrote the recovery point file (created, rebuilt or lowered by a repair).
  bool recovery_point_written = false;
  /// A truncation (Writer::truncate_after) was pending: recovery removed the records
  /// above the LSN it truncates after before it judged the log (a dry run judged the
  /// log without them, and removed nothing).
  std::optional<Lsn> completed_truncation_after;

  /// Ids of the segments kept, in order.
  std::vector<uint64_t> segment_ids() const;
  /// Multi-line human summary.
  std::string to_string() const;
};

/// Called for every valid record kept, in LSN order; the view is valid during the call.
/// An error returned by the visitor stops recovery and is returned.
using RecordVisitor =
    std::function<Status(uint64_t segment_id, uint64_t offset, const RecordView& record)>;

/// Recovers the log under `disk`. Unless dry_run, takes the log's lock before anything
/// of the log is read and holds it for the duration (LockConflict while a writer has
/// the log open; a log without a wal/ directory is empty, and nothing is created), and
/// creates the recovery point when the log has none. Errors: Corruption (default and
/// absolute modes; also a recovery point that is unreadable or does not match the log),
/// UnsupportedVersion and InvalidArgument (a record this library cannot or may not
/// read: every mode, nothing changed), I/O errors, LockConflict. In point-in-time mode,
/// damage is reported in the report, not as an error. Running it twice gives the same
/// report the second time, minus what the first one repaired.
KAYA_API Result<RecoveryReport> recover(const WalConfig& config, io::Disk& disk,
                                        const RecoveryOptions& options = {},
                                        const RecordVisitor& visitor = {});

/// The segment ids under wal/, sorted (other file names are ignored).
KAYA_API Result<std::vector<uint64_t>> list_segments(io::Disk& disk);

}  // namespace kaya::wal
