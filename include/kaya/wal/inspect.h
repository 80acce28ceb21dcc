/// @file
/// Inspection: a read-only scan of segments that describes what is in them and what is
/// wrong with them, judged by the one damage judgement recovery uses
/// (kaya/wal/judgement.h, docs/recovery.md): with the log's recovery point, damage at
/// or below it is corruption; beyond it, a torn tail or records after a hole.
///
/// Unlike recovery, inspection does not stop at the first problem of the log: it scans
/// every segment (each up to its own first problem), so an operator sees the whole
/// picture. `LogInspection::anomalies` lists the problems in log order; the first one
/// is what recovery would stop at.
///
/// A log whose truncation (Writer::truncate_after) is pending (its intent is durable in
/// the recovery point, a crash came before it completed) is inspected as recovery will
/// read it, ending at the cut: what lies above the cut is counted apart (the
/// LogInspection::pending_truncation fields), neither as the log's contents nor as
/// damage.
///
/// Inspection never writes, creates, truncates or locks anything, so it may run while a
/// writer appends (beyond the recovery point the active segment may then show a write
/// in progress, never corruption). Memory: one read buffer plus the largest record,
/// whatever the log size.
#pragma once

#include <array>
#include <cstdint>
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
#include "kaya/wal/recovery.h"
#include "kaya/wal/recovery_point.h"

namespace kaya::wal {

/// What inspection found in one segment (its first problem's verdict).
enum class SegmentState {
  kClean,          ///< valid records to the end of the file
  kTornTail,       ///< ends in a torn tail
  kCorrupt,        ///< damaged durable data at problem_offset
  kLostAfterHole,  ///< records after a hole beyond the recovery point
  kNewerFormat,    ///< a record of a newer format at problem_offset
  kOverLimit,      ///< a record over every record limit at problem_offset
};
/// "clean", "torn tail", "corrupt", "lost after a hole", "newer format",
/// "over the limit".
KAYA_API std::string_view to_string(SegmentState state);

/// What inspect_segment() found in one segment file.
struct KAYA_API SegmentInspection {
  uint64_t id = 0;     ///< parsed from the file name; 0 when it is not a segment name
  std::string path;    ///< as the disk describes it (the full path on a FileDisk)
  uint64_t bytes = 0;  ///< file length, measured when the scan ended
  /// Valid records before the first problem.
  uint64_t records = 0;
  /// The offset just past the last valid record before the first problem.
  uint64_t valid_bytes = 0;
  std::optional<Lsn> first_lsn;                 ///< of the first valid record
  std::optional<Lsn> last_lsn;                  ///< of the last valid record
  std::optional<SequenceNumber> last_sequence;  ///< of the last valid record
  /// Valid records by type, indexed by RecordType value (index 0 is unused).
  std::array<uint64_t, static_cast<size_t>(RecordType::kBytes) + 1> records_by_type{};

  SegmentState state = SegmentState::kClean;  ///< Clean, torn tail or corrupt
  /// kTornTail / kCorrupt: where the first problem starts.
  uint64_t problem_offset = 0;
  /// The record's LSN, when its header passed its checksum.
  std::optional<Lsn> problem_lsn;
  /// A pending truncation cuts this segment here: the bytes from this offset on are
  /// not judged and not counted in records or valid_bytes (nullopt: no cut here).
  std::optional<uint64_t> truncation_cut;
  /// kNone for an LSN out of order (the record itself decodes fine) and for an
  /// incomplete atomic batch that the segment's end cuts short.
  DecodeProblem problem = DecodeProblem::kNone;
  /// The judgement's finding at the first problem (kaya/wal/judgement.h; e.g.
  /// Finding::kIncompleteBatch at the first record of an atomic batch whose last
  /// record is not there); nullopt when clean.
  std::optional<Finding> finding;
  std::string reason;  ///< The problem in words (empty when clean)

  /// Bytes from the problem to the end of the file (0 when clean).
  uint64_t problem_bytes() const {
    return state == SegmentState::kClean ? 0 : bytes - problem_offset;
  }
  /// "clean", "torn tail of 44 bytes at offset 57: ..." or "corrupt at offset 57: ...".
  std::string state_string() const;
  /// The first problem as an anomaly (nullopt when clean).
  std::optional<Anomaly> anomaly() const;
};

/// A truncation whose intent is durable but which did not complete: recovery removes
/// what lies above the cut before it judges the log.
struct PendingTruncation {
  Lsn after;           ///< the LSN the log is truncated after (the last record kept)
  uint32_t epoch = 0;  ///< the truncation epoch it gives the log
  /// Records read above the cut (in each segment up to its first bad record, which is
  /// not judged: it goes with the rest).
  uint64_t records = 0;
  uint64_t bytes = 0;  ///< bytes above the cut, in the cut segment and the ones above
  /// Segments above the cut, removed whole, in id order.
  std::vector<uint64_t> segments_removed;
  uint64_t cut_segment_id = 0;  ///< the segment cut (0: the log has no segment)
  uint64_t cut_offset = 0;      ///< where it is cut
};

/// What inspect_log() found in a whole log.
struct KAYA_API LogInspection {
  /// Every segment file, in id order (with a pending truncation: up to the cut one).
  std::vector<SegmentInspection> segments;
  /// Every problem, in log order: each segment's own (torn tail or corruption) and the
  /// log's (missing segment ids, LSN gaps between segments).
  std::vector<Anomaly> anomalies;

  /// Sum of the segments' lengths (with a pending truncation: what it leaves of them).
  uint64_t bytes = 0;
  uint64_t records = 0;          ///< valid records of all segments (also after a problem)
  std::optional<Lsn> first_lsn;  ///< of the first valid record
  std::optional<Lsn> last_lsn;   ///< of the last valid record

  /// What default-mode recovery would keep: the records before the first anomaly.
  uint64_t recoverable_records = 0;
  /// The LSN a writer would continue at after default-mode recovery (1 for an empty
  /// log).
  Lsn next_lsn;

  /// The log's recovery point (nullopt: it has none).
  std::optional<RecoveryPoint> recovery_point;
  /// A truncation the recovery point says is pending (nullopt: none): the log was
  /// inspected as ending at its cut, as recovery will leave it.
  std::optional<PendingTruncation> pending_truncation;
  /// A writer held the log's lock (wal/LOCK) when the inspection started or when it
  /// ended (io::Disk::lock_held; false when the Disk cannot tell): a torn tail or
  /// records after a hole beyond the recovery point may be writes in progress.
  bool writer_active = false;
  /// writer_active, and the first problem lies beyond the recovery point (a torn tail
  /// or records after a hole): the tail is being written, not damaged.
  bool being_written() const;

  bool corrupt() const;          ///< some anomaly is corruption: recovery would fail
  bool torn_tail() const;        ///< the log ends in a torn tail
  bool lost_after_hole() const;  ///< records after a hole would be moved aside
  /// The first anomaly that no recovery may get past (a record of a newer format or
  /// over every limit), if any: recovery refuses the log.
  const Anomaly* refusal() const;
  /// The first anomaly (what recovery stops at), if any.
  const Anomaly* first_problem() const {
    return anomalies.empty() ? nullptr : &anomalies.front();
  }
};

/// Scans one segment file on its own, judged as in a log without a recovery point.
/// `is_last` says whether it is the last segment of its log: only there can a bad
/// record be a torn tail. Checks every record and that LSNs are contiguous within the
/// segment. `visitor`, when given, is called for each record the scan accepts (the
/// ones `records` counts: valid and in LSN order, before the first problem), in file
/// order, with the segment id (0 for a file not named like a segment) and the record's
/// offset; an error it returns stops the scan and is returned. Errors: NotFound when
/// the file does not exist, I/O errors; problems in the data are reported in the
/// result, not as errors.
KAYA_API Result<SegmentInspection> inspect_segment(io::Disk& disk,
                                                   const io::RelativePath& path,
                                                   uint64_t max_record_bytes,
                                                   bool is_last,
                                                   const RecordVisitor& visitor = {});

/// Scans every segment of the log under `disk` (an empty or absent wal/ directory is
/// an empty log), judging with its recovery point. InvalidArgument for an invalid
/// config; the recovery point's errors (Corruption when unreadable, UnsupportedVersion);
/// I/O errors.
KAYA_API Result<LogInspection> inspect_log(const WalConfig& config, io::Disk& disk);

}  // namespace kaya::wal
