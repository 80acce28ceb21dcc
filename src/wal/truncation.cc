#include "wal/truncation.h"

#include <array>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/assert.h"
#include "wal/log_dir.h"
#include "wal/segment_cursor.h"

namespace kaya::wal {
namespace {

std::string num(uint64_t v) { return std::to_string(v); }

// The record `lsn` of the log and where it is.
struct Found {
  Record record;
  RecordPosition position;
};

Result<Found> read_record(const WalConfig& config, io::Disk& disk, uint64_t lsn) {
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<SegmentCursor> cursor,
                        SegmentCursor::open(config, disk, Lsn(lsn), std::nullopt));
  KAYA_ASSIGN_OR_RETURN(std::optional<Record> record, cursor->next());
  if (!record || record->lsn.value() != lsn) {
    return Error(ErrorKind::kInvariantViolation,
                 "truncation: LSN " + num(lsn) + " is durable but could not be read" +
                     (cursor->stalled_on() ? " (" + cursor->stalled_on()->message() + ")"
                                           : std::string()));
  }
  return Found{std::move(*record), cursor->last_position()};
}

// Whether the record at `pos` continues an atomic batch (its flags, from its header:
// read and verified by read_record() just before).
Result<bool> continues_batch(io::Disk& disk, const RecordPosition& pos) {
  std::array<uint8_t, format::kHeaderLen> header{};
  size_t have = 0;
  while (have < header.size()) {  // read_at may return fewer bytes than asked
    KAYA_ASSIGN_OR_RETURN(
        size_t n, disk.read_at(log_dir::segment(pos.segment_id), pos.offset + have,
                               std::span<uint8_t>(header).subspan(have)));
    if (n == 0) {
      return Error(ErrorKind::kInvariantViolation,
                   "truncation: the header of LSN " + num(pos.lsn.value()) +
                       " could not be read again (the segment ends inside it)");
    }
    have += n;
  }
  const uint16_t flags = static_cast<uint16_t>(header[format::kFlagsOffset] |
                                               header[format::kFlagsOffset + 1] << 8);
  return (flags & format::kFlagBatchContinues) != 0;
}

}  // namespace

std::optional<Cut> cut_of(const RecoveryPoint& intent, std::span<const uint64_t> ids) {
  if (intent.durable.lsn.value() > 0) {
    return Cut{intent.durable.segment_id, intent.durable.end_offset()};
  }
  if (ids.empty()) return std::nullopt;
  return Cut{ids.front(), 0};
}

Result<CutReport> carry_out(io::Disk& disk, const RecoveryPoint& intent) {
  KAYA_ASSERT(intent.truncation_pending());
  KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, log_dir::list_segments(disk));
  CutReport report;
  const std::optional<Cut> cut = cut_of(intent, ids);
  if (!cut) return report;
  report.cut = *cut;
  // Highest first: a crash leaves the log ending at a segment boundary, and the intent,
  // still pending, has the next open finish the job.
  bool kept = false;
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    if (*it == cut->segment_id) kept = true;
    if (*it <= cut->segment_id) continue;
    KAYA_ASSIGN_OR_RETURN(uint64_t bytes, disk.file_len(log_dir::segment(*it)));
    KAYA_RETURN_IF_ERROR(log_dir::remove_segment(disk, *it));
    report.segments_removed++;
    report.bytes_removed += bytes;
  }
  if (kept) {
    KAYA_ASSIGN_OR_RETURN(uint64_t len, disk.file_len(log_dir::segment(cut->segment_id)));
    if (len > cut->offset) {
      KAYA_RETURN_IF_ERROR(log_dir::cut_segment(disk, cut->segment_id, cut->offset));
      report.bytes_removed += len - cut->offset;
    }
  }
  // (A missing cut segment is left for the judgement: the log ends before the
  // recovery point.)
  KAYA_RETURN_IF_ERROR(log_dir::sync_dir(disk));
  return report;
}

RecoveryPoint completed(RecoveryPoint intent) {
  intent.incompatible_features &= ~rp_format::kTruncationPendingFeature;
  return intent;
}

Result<RecoveryPoint> plan_truncation(const WalConfig& config, io::Disk& disk,
                                      uint64_t lsn, const RecoveryPoint& now) {
  if (now.truncation_epoch == UINT32_MAX) {
    return Error(ErrorKind::kInvalidArgument,
                 "truncate_after: the log's truncation epochs are used up (epoch " +
                     num(now.truncation_epoch) + ")");
  }
  KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, log_dir::list_segments(disk));
  std::optional<Lsn> first;
  if (!ids.empty()) {
    KAYA_ASSIGN_OR_RETURN(first,
                          log_dir::first_lsn(disk, ids.front(), config.max_record_bytes));
  }
  if (!first) {
    return Error(ErrorKind::kInvariantViolation,
                 "truncate_after(" + num(lsn) +
                     "): the log holds records, but its first segment has no readable "
                     "first record");
  }
  if (lsn + 1 < first->value()) {
    return Error(ErrorKind::kInvalidArgument,
                 "truncate_after(" + num(lsn) + "): the log starts at LSN " +
                     num(first->value()) +
                     " (the records below were released); the lowest LSN it can be "
                     "truncated after is " +
                     num(first->value() - 1) + ", which empties it");
  }
  RecoveryPoint intent = now;
  if (lsn >= first->value()) {
    KAYA_ASSIGN_OR_RETURN(Found kept, read_record(config, disk, lsn));
    KAYA_ASSIGN_OR_RETURN(const bool inside, continues_batch(disk, kept.position));
    if (inside) {
      // A batch is kept whole or not at all (docs/batches.md).
      return Error(ErrorKind::kInvalidArgument,
                   "truncate_after(" + num(lsn) + "): LSN " + num(lsn) +
                       " is inside an atomic batch (more of its records follow); "
                       "truncate after the batch's last record or before its first");
    }
    intent.durable = kept.position;
    intent.truncation_next_sequence = kept.record.sequence.next();
  } else {
    // The log is emptied: the next record takes the first one's LSN and sequence.
    KAYA_ASSIGN_OR_RETURN(Found gone, read_record(config, disk, first->value()));
    intent.durable = RecordPosition{};
    intent.truncation_next_sequence = gone.record.sequence;
  }
  intent.incompatible_features |= rp_format::kTruncationPendingFeature;
  intent.truncation_epoch = now.truncation_epoch + 1;
  intent.truncated_after = Lsn(lsn);
  // The sealed facts must lie at or below the record kept: a sealed segment at or above
  // the cut is not sealed any more (the writer appends to the cut one), and the one
  // before it is checked by a stat at the next open instead.
  const std::optional<Cut> cut = cut_of(intent, ids);
  if (!cut || intent.sealed_segment_id >= cut->segment_id ||
      intent.sealed_last_lsn.value() > lsn) {
    intent.sealed_segment_id = 0;
    intent.sealed_segment_bytes = 0;
    intent.sealed_last_lsn = Lsn(0);
  }
  return intent;
}

Status check_truncation_epoch(io::Disk& disk, uint32_t epoch, uint64_t reading_lsn) {
  KAYA_ASSIGN_OR_RETURN(std::optional<RecoveryPoint> rp, read_recovery_point(disk));
  const uint32_t now = rp ? rp->truncation_epoch : 0;
  if (now == epoch) return ok_status();
  return Error(ErrorKind::kNotFound,
               "the log was truncated while being read (truncation epoch " + num(now) +
                   ", the reader opened at epoch " + num(epoch) +
                   "; the latest truncation kept the records up to LSN " +
                   num(rp ? rp->truncated_after.value() : 0) +
                   ", and the LSNs after it are handed out again): the reader was at "
                   "LSN " +
                   num(reading_lsn) + "; open a new reader");
}

}  // namespace kaya::wal
