// What recovery, inspection and the readers share when they meet a problem in a log:
// the recovery point that places it, the record limit, and the one judgement
// (kaya/wal/judgement.h) that says what it means. Internal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kaya/core/status.h"
#include "kaya/io/disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/config.h"
#include "kaya/wal/judgement.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/recovery_point.h"

namespace kaya::wal {

// A log as judging needs it: its recovery point (if any) and the record limit.
struct LogView {
  std::optional<RecoveryPoint> rp;
  // Records up to this size are read: the larger of the configured limit and the
  // one the recovery point recorded.
  uint64_t max_record_bytes = 0;

  // Where a spot at `offset` of segment `segment_id` lies.
  Where where(uint64_t segment_id, uint64_t offset) const;
  // The recovery point's record, when it names one.
  const RecordPosition* durable() const {
    return rp && rp->durable.lsn.value() > 0 ? &rp->durable : nullptr;
  }
};

// Reads the recovery point (unless `ignore_recovery_point`: a rebuild judges the log
// as if it had none). Errors: the recovery point's (Corruption, UnsupportedVersion).
Result<LogView> open_log_view(io::Disk& disk, const WalConfig& config,
                              bool ignore_recovery_point = false);

// A judged problem.
struct Spot {
  Verdict verdict = Verdict::kCorruption;
  Finding finding = Finding::kDamagedHeader;
  uint64_t segment_id = 0;
  uint64_t offset = 0;
  std::optional<Lsn> lsn;  // of the record there, when a verified header names it
  std::string reason;      // "<finding>: <detail> (<why>)"

  // The anomaly recovery and inspection report for it.
  Anomaly anomaly() const;
  // As an error naming segment, offset and LSN (kind from the verdict; Corruption for
  // the verdicts that do not refuse, for callers that accept no loss).
  Error to_error(io::Disk& disk) const;
};

// Judges `finding` at (segment_id, offset): `detail` says exactly what was found.
Spot judge_spot(const LogView& view, Finding finding, uint64_t segment_id,
                uint64_t offset, std::optional<Lsn> lsn, const std::string& detail,
                bool last_segment, Follows follows = Follows::kNothing);

// An atomic batch whose records from its first one (at `offset` in segment
// `segment_id`, LSN `first_lsn`) to LSN `last_lsn` verify, but whose last record is not
// there: `then` is the problem the segment's valid records end at (nullopt: the
// segment ends there; `last_segment` says whether more segments follow). The spot
// starts at the batch's first record, where recovery cuts or refuses; a verdict that
// refuses the log whatever is cut (a newer format, a record over the limit) stays
// `then`'s. Recovery and inspection word it alike from here.
Spot incomplete_batch_spot(const LogView& view, uint64_t segment_id, uint64_t offset,
                           Lsn first_lsn, Lsn last_lsn, std::optional<Spot> then,
                           bool last_segment);

// Judges the bad or incomplete record `bad` read in segment `segment_id` (the file at
// `path`), looking for a valid record after it when the table needs to know
// (`later_segments`: a segment after this one exists, which counts as something valid
// following).
Result<Spot> judge_bad_record(io::Disk& disk, const LogView& view,
                              const io::RelativePath& path, uint64_t segment_id,
                              bool last_segment, bool later_segments, const Decoded& bad);

// Judges the first record of segment `id`, a segment that is not the last, as read at
// offset 0 (`first`, from a header read; nullopt: the segment ends there): nullopt when
// it is a valid record; otherwise the spot (an empty or all-zero segment, or a bad
// record, a segment after it counting as something valid following).
Result<std::optional<Spot>> judge_first_record(io::Disk& disk, const LogView& view,
                                               uint64_t id,
                                               const std::optional<Decoded>& first);

// Judges the LSN of the valid record `d`: nullopt when it continues the log after
// `previous` (the LSN before it; nullopt at the start of a scan, where any LSN but 0
// continues).
std::optional<Spot> judge_lsn(const LogView& view, uint64_t segment_id, bool last_segment,
                              const Decoded& d, std::optional<uint64_t> previous);

// Checks the valid record `d` of segment `segment_id` against the recovery point:
// a Spot (kMismatch) when it overlaps the recorded record's place without being it.
std::optional<Spot> check_against_recovery_point(const LogView& view, uint64_t segment_id,
                                                 bool last_segment, const Decoded& d);

// The spots about whole segments and the recovery point, judged and worded here once:
// - segment `next` follows `previous` with ids missing between them (judged where the
//   first missing one belongs, reported at `next`, where a kept log stops);
Spot missing_segment_spot(const LogView& view, uint64_t previous, uint64_t next);
// - sealed segment `id` (not the last), `bytes` long, whose records end at `end`: an
//   empty or all-zero segment, or a zero tail; nullopt when its records fill it;
std::optional<Spot> sealed_segment_spot(const LogView& view, uint64_t id, uint64_t end,
                                        uint64_t bytes);
// - the log ends at (`id`, `offset`) before the recovery point's record.
Spot ends_early_spot(const LogView& view, uint64_t id, uint64_t offset);

// "segment 3 (/path/wal/0000000000000003.wal)".
std::string describe_segment(io::Disk& disk, uint64_t id);

}  // namespace kaya::wal
