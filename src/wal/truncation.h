// Suffix truncation (Writer::truncate_after, docs/truncation.md): the intent recorded in
// the recovery point, carrying it out on the log's files, and what readers are told
// when a truncation overtakes them. Internal.
//
// Order on disk, so that a crash at any instant leaves the old log or the truncated one:
// 1. the intent (the pending bit, the new epoch, the LSN cut after, the next sequence,
//    and the recovery point lowered to the last record kept) is written durably
//    (create_recovery_point: the old file or the new one, never a mix);
// 2. carry_out(): the segments above the cut are removed, highest first, each removal
//    durable before the next (a crash leaves the log ending at a segment boundary,
//    never a hole); then the cut segment is cut and synced, then wal/;
// 3. the recovery point without the pending bit is written durably.
// From step 1 on, every reader of the log treats the records above the cut as gone, and
// Writer::open / recover() complete step 2 and 3 before they judge anything. carry_out()
// is idempotent: running it again after a crash in step 2 completes the same cut.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "kaya/core/config.h"
#include "kaya/core/status.h"
#include "kaya/io/disk.h"
#include "kaya/wal/recovery_point.h"

namespace kaya::wal {

// Where a truncation cuts: the segments above `segment_id` go, and segment `segment_id`
// keeps its first `offset` bytes.
struct Cut {
  uint64_t segment_id = 0;
  uint64_t offset = 0;
};

// The cut a pending `intent` asks for in a log with the segments `ids` (ascending):
// right after the record the intent's durable position names, or, when it names none
// (the truncation empties the log), at offset 0 of the first segment. nullopt for a log
// without segments.
std::optional<Cut> cut_of(const RecoveryPoint& intent, std::span<const uint64_t> ids);

// What carry_out() removed.
struct CutReport {
  Cut cut;
  uint64_t segments_removed = 0;
  uint64_t bytes_removed = 0;
};

// Step 2 above, for a durable `intent` (truncation_pending()).
Result<CutReport> carry_out(io::Disk& disk, const RecoveryPoint& intent);

// The recovery point once the truncation is done: the pending bit cleared.
RecoveryPoint completed(RecoveryPoint intent);

// The intent for truncating the log after `lsn`, read from the log on `disk` (every
// record of which is durable) and the writer's recovery point `now`: the record `lsn`
// is found (or the first record, when `lsn` is the one before it), and the recovery
// point lowered to it. InvalidArgument when `lsn` lies below the first record's LSN - 1
// (released) or the log's truncation epochs are used up.
Result<RecoveryPoint> plan_truncation(const WalConfig& config, io::Disk& disk,
                                      uint64_t lsn, const RecoveryPoint& now);

// Whether the log's truncation epoch still is `epoch` (the one a reader opened with):
// an error for the reader otherwise (NotFound, naming the new epoch and the LSN the
// log was truncated after: the records after it were removed and their LSNs are
// handed out again). Reads the recovery point (one small read).
Status check_truncation_epoch(io::Disk& disk, uint32_t epoch, uint64_t reading_lsn);

}  // namespace kaya::wal
