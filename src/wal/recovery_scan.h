// One pass over the log for recovery (recovery.cc): where reading starts, the records
// it keeps, and the first problem, judged by the one judgement (kaya/wal/judgement.h).
// Internal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "kaya/core/status.h"
#include "kaya/io/disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/recovery_point.h"
#include "wal/log_scan.h"
#include "wal/truncation.h"

namespace kaya::wal {

// The first problem found: everything from (segment, offset) on is not kept.
struct Problem {
  Spot spot;
  size_t segment_index;  // into the listed ids
};

// One pass over the log for recover_locked(): where it starts, the records it keeps,
// and the first problem, judged.
class RecoveryScan {
 public:
  // `end`: the log ends there (a dry run over a pending truncation's cut; the
  // segments after it are not listed in `ids`).
  RecoveryScan(io::Disk& disk, const LogView& view, const RecoveryOptions& options,
               const RecordVisitor& visitor, std::vector<uint64_t> ids,
               std::optional<Cut> end, RecoveryReport& report)
      : disk_(disk),
        view_(view),
        options_(options),
        visitor_(visitor),
        ids_(std::move(ids)),
        end_(end),
        report_(report) {}

  Status run();

  const std::optional<Problem>& problem() const { return problem_; }
  std::optional<uint64_t> last_lsn() const { return previous_; }
  const std::optional<RecordPosition>& last_position() const { return last_; }
  // The extension markers found in the flags of the records kept and read.
  uint64_t markers() const { return markers_; }
  // Whether a Bytes record was among them.
  bool saw_bytes() const { return saw_bytes_; }
  // Sealed-segment facts of the log as kept: the segment before the last kept one.
  void sealed_facts(RecoveryPoint& rp) const;

 private:
  // Where reading starts: everything from the first segment, or (default mode, a
  // recovery point, no full replay) the recovery point's record.
  Status plan();

  // The log's first record, when the scan does not start there: one header read.
  Status probe_first_record();

  void set_problem(Spot spot, size_t index);

  // A segment at or below the recovery point that is not read: its id and, for the
  // first one, its first record are checked (one header); from the recovery point's
  // sealed segment on, its length too (a stat). Below that segment no length is looked
  // at: a stat per segment was most of an open's cost on a long log, and the damage it
  // could show is found by the readers, verify, a full recovery and the scrub.
  Status trust_segment(size_t i);

  // Below the recovery point's sealed segment: trusted without a look at its length.
  bool below_sealed(uint64_t id) const;

  // False (and the problem set) when segment i does not follow segment i-1.
  bool check_contiguous(size_t i);

  Status scan_segment(size_t i, uint64_t from);

  // A record of an atomic batch is held until the batch's last record verifies: the
  // batch is kept (and visited) whole or not at all (docs/format.md, "Incomplete
  // batches").
  Status keep(uint64_t id, const Decoded& d, SegmentSummary& summary);

  // The LSN of the last record read and verified (held in a batch or kept).
  std::optional<uint64_t> lsn_before() const;

  // Segment i ended (or a problem was found in it) inside an atomic batch: nothing of
  // the batch is kept, and what is cut or refused starts at its first record.
  void incomplete_batch(size_t i, bool last);

  Status keep_one(uint64_t id, const Decoded& d, const RecordView& record,
                  SegmentSummary& summary);

  // The reader found the end of segment i (or zeros running to it) at `end`.
  void end_of_segment(size_t i, bool last, uint64_t end, const SegmentSummary& summary);

  // The scan ended without a problem: it must have passed the recovery point's record.
  void check_reached_recovery_point();

  io::Disk& disk_;
  const LogView& view_;
  const RecoveryOptions& options_;
  const RecordVisitor& visitor_;
  const std::vector<uint64_t> ids_;
  const std::optional<Cut> end_;
  RecoveryReport& report_;
  size_t start_index_ = 0;
  uint64_t start_offset_ = 0;
  std::optional<uint64_t> previous_;    // LSN of the last record kept
  std::optional<RecordPosition> last_;  // where it is
  std::optional<Problem> problem_;
  uint64_t last_scan_whole_ = 0;  // the last segment read from its first byte
  uint64_t markers_ = 0;
  bool saw_bytes_ = false;
  // The records of an atomic batch read so far, held until its last one.
  struct HeldRecord {
    Decoded decoded;  // its position and header (key and value cleared)
    Record record;    // its content
  };
  struct PendingBatch {
    uint64_t offset = 0;  // of its first record
    Lsn first_lsn;
    std::vector<HeldRecord> records;
  };
  std::optional<PendingBatch> batch_;
};

}  // namespace kaya::wal
