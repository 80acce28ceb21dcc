#include "wal/segment_cursor.h"

#include <algorithm>
#include <new>
#include <utility>

#include "core/assert.h"
#include "core/guard.h"
#include "kaya/wal/recovery.h"
#include "wal/log_dir.h"
#include "wal/truncation.h"

namespace kaya::wal {
namespace {

// A release that keeps removing the segments a search probes makes it start over;
// after this many rounds the caller is told to retry.
constexpr int kLocateAttempts = 8;

std::string num(uint64_t v) { return std::to_string(v); }

}  // namespace

SegmentCursor::SegmentCursor(const WalConfig& config, LogView view, io::Disk& disk,
                             uint64_t segment_id, bool segment_listed,
                             std::optional<uint64_t> expected, uint64_t from)
    : config_(config),
      view_(std::move(view)),
      disk_(disk),
      segment_id_(segment_id),
      segment_listed_(segment_listed),
      reader_(std::make_unique<SegmentReader>(disk, log_dir::segment(segment_id),
                                              view_.max_record_bytes)),
      expected_(expected),
      from_(from),
      epoch_(view_.rp ? view_.rp->truncation_epoch : 0) {}

Result<std::unique_ptr<SegmentCursor>> SegmentCursor::open(const WalConfig& config,
                                                           io::Disk& disk, Lsn from,
                                                           std::optional<LiveLog> live,
                                                           bool read_up_to_damage) {
  if (from.value() == 0) {
    return Error(ErrorKind::kInvalidArgument, "cannot read from LSN 0: LSNs start at 1");
  }
  if (live && from > live->next_lsn) {
    return Error(ErrorKind::kInvalidArgument,
                 "LSN " + num(from.value()) +
                     " is past the end of the log: its next LSN is " +
                     num(live->next_lsn.value()));
  }
  KAYA_ASSIGN_OR_RETURN(LogView view, open_log_view(disk, config));
  std::optional<ReadStart> start;
  std::optional<Damage> damage;
  for (int attempt = 0; attempt < kLocateAttempts && !start; ++attempt) {
    KAYA_ASSIGN_OR_RETURN(
        start, locate_start(view, disk, from, read_up_to_damage ? &damage : nullptr));
  }
  if (!start) {
    return Error(ErrorKind::kNotFound, "the segments probed while looking for LSN " +
                                           num(from.value()) +
                                           " kept being released; open the reader again");
  }
  // Where a log with no record on disk starts: a live writer knows; without one, the
  // first record that shows up fixes it (check_lsn()).
  std::optional<uint64_t> expected = start->first_lsn;
  if (!expected && live) expected = live->start_if_empty.value();
  // A log a truncation emptied continues after the LSN it truncated after.
  if (!expected && view.rp && view.rp->truncation_epoch > 0 &&
      view.rp->durable.lsn.value() == 0) {
    expected = view.rp->truncated_after.next().value();
  }
  if (!start->first_lsn && live && from < live->start_if_empty) {
    return Error(ErrorKind::kNotFound, "LSN " + num(from.value()) +
                                           " is not in the log: the log starts at LSN " +
                                           num(live->start_if_empty.value()) +
                                           " (not written yet)");
  }
  std::unique_ptr<SegmentCursor> cursor(
      new SegmentCursor(config, std::move(view), disk, start->segment_id, start->listed,
                        expected, from.value()));
  cursor->damage_ = std::move(damage);
  Result<bool> seek = cursor->seek();
  // Damage below `from`: no record from `from` on comes before it.
  if (!seek.ok() && read_up_to_damage && seek.error().kind() == ErrorKind::kCorruption) {
    cursor->damage_.emplace(Damage{0, std::move(seek).error()});
    return cursor;
  }
  KAYA_ASSIGN_OR_RETURN(bool found, std::move(seek));
  // Without a writer, the records on disk are the whole log.
  const uint64_t end = cursor->expected_.value_or(1);
  if (!found && !live && end < from.value()) {
    return Error(ErrorKind::kInvalidArgument, "LSN " + num(from.value()) +
                                                  " is past the end of the log: its "
                                                  "next LSN is " +
                                                  num(end));
  }
  return cursor;
}

Result<bool> SegmentCursor::seek() {
  for (;;) {
    KAYA_ASSIGN_OR_RETURN(std::optional<RecordView> r, advance());
    if (!r) return false;
    if (r->lsn.value() >= from_) {
      lookahead_ = r;
      return true;
    }
  }
}

Result<std::optional<RecordView>> SegmentCursor::next_view(
    std::optional<Lsn> visible_end) {
  limit_ = visible_end;
  batch_waiting_ = false;
  if (lookahead_) {
    // seek() stopped inside an atomic batch it read whole (lookahead_ up to its last
    // LSN): the batch comes out once its end is visible.
    if (limit_ && lookahead_->lsn.value() <= batch_last_ &&
        batch_last_ >= limit_->value()) {
      batch_waiting_ = true;
      return std::optional<RecordView>();
    }
    return std::exchange(lookahead_, std::nullopt);
  }
  for (;;) {
    KAYA_ASSIGN_OR_RETURN(std::optional<RecordView> r, advance());
    // Records below from_ show up here when the cursor was opened at an LSN that
    // was not on disk yet (a tailing reader ahead of the writes), or in a log that was
    // empty then.
    if (!r || r->lsn.value() >= from_) return r;
  }
}

Result<std::optional<Record>> SegmentCursor::next() {
  KAYA_ASSIGN_OR_RETURN(std::optional<RecordView> view, next_view());
  return own(view);
}

Result<std::optional<Record>> SegmentCursor::own(
    const std::optional<RecordView>& view) const {
  if (!view) return std::optional<Record>();
  try {
    return std::optional<Record>(view->to_record());
  } catch (const std::bad_alloc&) {
    // The record was read; its copy for the caller does not fit: say which.
    return core::out_of_memory_while([&] {
      return "copying the record with LSN " + std::to_string(view->lsn.value()) + " (" +
             std::to_string(view->key.size() + view->value.size()) +
             " bytes of key and value) of " + describe_segment(disk_, segment_id_) +
             " for the caller";
    });
  }
}

Lsn SegmentCursor::position() const {
  if (lookahead_) return lookahead_->lsn;
  return Lsn(std::max(expected_.value_or(from_), from_));
}

Result<std::optional<RecordView>> SegmentCursor::advance() {
  KAYA_ASSIGN_OR_RETURN(std::optional<RecordView> r, read_record());
  // The log as read ends before the damage kept: its end is that damage (the records
  // of the segments before it all came out, up to a clean end or a torn tail, which
  // only the damage after it makes it not the end of the log).
  if (!r && damage_) return damage_->error;
  return r;
}

Result<std::optional<RecordView>> SegmentCursor::read_record() {
  stalled_on_.reset();
  // Whether the segment after the current one exists, once asked. When it does, the
  // writer had finished the current one before creating it, so the current one is
  // read once more (bytes may have arrived since we met its end) and is then final.
  std::optional<bool> next_exists;
  for (;;) {
    if (damage_ && segment_id_ >= damage_->segment_id) return damage_->error;
    reader_->clear_eof();
    auto d = reader_->next();
    if (!d.ok()) {
      if (d.error().kind() != ErrorKind::kNotFound) return std::move(d).error();
      // A log that had no segment at all when the cursor was opened.
      if (!segment_listed_) return std::optional<RecordView>();
      // Released under us. If the next segment exists the LSN of its first record
      // proves whether we had read everything of this one (check_lsn()).
      KAYA_RETURN_IF_ERROR(check_not_truncated(/*always=*/true));
      KAYA_ASSIGN_OR_RETURN(bool exists, segment_exists(segment_id_ + 1));
      if (!exists) return released_error();
      enter_segment(segment_id_ + 1, /*previous_released=*/true);
      next_exists.reset();
      continue;
    }
    segment_listed_ = true;
    if (*d && (*d)->ok()) {
      KAYA_ASSIGN_OR_RETURN(bool continues, check_lsn(**d));
      if (!continues) return std::optional<RecordView>();
      // Bytes read after a truncation began may hold records that reuse LSNs.
      KAYA_RETURN_IF_ERROR(check_not_truncated());
      if (batch_left_ == 0 && ((*d)->flags & format::kFlagBatchContinues) != 0) {
        KAYA_ASSIGN_OR_RETURN(bool whole, read_batch(**d));
        if (!whole) return std::optional<RecordView>();
        d = reader_->next();  // the batch's first record again, from the buffer
        KAYA_RETURN_IF_ERROR(d.status());
        KAYA_ASSERT(*d && (*d)->ok() && batch_left_ > 0);
      }
      if (batch_left_ > 0) batch_left_--;
      // Records come out contiguous (check_lsn() judged this one against expected_).
      KAYA_ASSERT(!expected_ || (*d)->record.lsn.value() == *expected_);
      last_position_ = RecordPosition{(*d)->record.lsn,
                                      (*d)->record.sequence,
                                      segment_id_,
                                      (*d)->offset,
                                      static_cast<uint32_t>((*d)->size),
                                      (*d)->header_crc};
      expected_ = (*d)->record.lsn.value() + 1;
      previous_released_ = false;
      return std::optional<RecordView>((*d)->record);
    }
    // The segment after a released one held a record when the release ran: without
    // one now, we cannot tell what we missed.
    if (previous_released_) {
      KAYA_RETURN_IF_ERROR(check_not_truncated(/*always=*/true));
      return released_error();
    }
    if (!next_exists) {
      KAYA_ASSIGN_OR_RETURN(next_exists, segment_exists(segment_id_ + 1));
      if (*next_exists) continue;  // read the now final segment once more
    }
    if (!*d) {
      // A clean end of the segment.
      if (!*next_exists) {
        // The end of the log, unless a release removed this segment (and the next
        // one) after the read that met its end. Releases remove the oldest first: if
        // this segment still exists, the next one did not when we asked.
        KAYA_ASSIGN_OR_RETURN(bool here, segment_exists(segment_id_));
        // (A truncation that cut the log below this end goes unnoticed here: a poll
        // at the end reads a header, not the recovery point. It is noticed with the
        // first bytes read past it, before any record is returned from them.)
        if (!here) {
          KAYA_RETURN_IF_ERROR(check_not_truncated(/*always=*/true));
          return released_error();
        }
        return std::optional<RecordView>();
      }
      enter_segment(segment_id_ + 1, false);
      next_exists.reset();
      continue;
    }
    return on_bad_record(**d, *next_exists);
  }
}

Result<bool> SegmentCursor::read_batch(const Decoded& first) {
  // The views of `first` move with the buffer: only its position is kept.
  const uint64_t offset = first.offset;
  const Lsn first_lsn = first.record.lsn;
  const std::optional<uint64_t> expected = expected_;
  KAYA_RETURN_IF_ERROR(reader_->hold(offset));
  Result<std::optional<uint64_t>> last = read_to_batch_end(offset, first_lsn);
  // Whole or not, the cursor goes back to before the batch's first record (the reader
  // has every byte up to where it stopped in its buffer).
  KAYA_RETURN_IF_ERROR(reader_->rewind());
  reader_->release();
  expected_ = expected;
  KAYA_RETURN_IF_ERROR(last.status());
  if (!*last) return false;
  batch_last_ = **last;
  if (limit_ && batch_last_ >= limit_->value()) {
    batch_waiting_ = true;
    return false;
  }
  batch_left_ = batch_last_ - first_lsn.value() + 1;
  return true;
}

Result<std::optional<uint64_t>> SegmentCursor::read_to_batch_end(uint64_t offset,
                                                                 Lsn first_lsn) {
  expected_ = first_lsn.value() + 1;
  Lsn last = first_lsn;
  std::optional<bool> next_exists;
  for (;;) {
    reader_->clear_eof();
    KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> d, reader_->next());
    if (d && d->ok()) {
      KAYA_ASSIGN_OR_RETURN(bool continues, check_lsn(*d));
      if (!continues) return std::optional<uint64_t>();  // (stalled_on_ says why)
      KAYA_RETURN_IF_ERROR(check_not_truncated());
      last = d->record.lsn;
      expected_ = last.value() + 1;
      if ((d->flags & format::kFlagBatchContinues) == 0) {
        return std::optional<uint64_t>(last.value());
      }
      continue;
    }
    // The batch's records end here. When a later segment exists, this one was
    // finished first: it is read once more, and is then final.
    if (!next_exists) {
      KAYA_ASSIGN_OR_RETURN(next_exists, segment_exists(segment_id_ + 1));
      if (*next_exists) continue;
    }
    std::optional<Spot> then;
    if (d) {
      KAYA_RETURN_IF_ERROR(check_not_truncated(/*always=*/true));
      KAYA_ASSIGN_OR_RETURN(then,
                            judge_bad_record(disk_, view_, reader_->path(), segment_id_,
                                             !*next_exists, *next_exists, *d));
    }
    const Spot spot = incomplete_batch_spot(view_, segment_id_, offset, first_lsn, last,
                                            std::move(then), !*next_exists);
    switch (spot.verdict) {
      case Verdict::kTornTail:
        // As far as a reader can tell, the batch is being written: wait or stop.
        batch_waiting_ = true;
        [[fallthrough]];
      case Verdict::kLostAfterHole:
        stalled_on_ = spot.to_error(disk_);
        return std::optional<uint64_t>();
      case Verdict::kCorruption:
      case Verdict::kNewerFormat:
      case Verdict::kOverLimit:
        break;
    }
    return spot.to_error(disk_);
  }
}

Result<std::optional<RecordView>> SegmentCursor::on_bad_record(const Decoded& bad,
                                                               bool next_exists) {
  // Bytes a truncation cut through, or wrote anew, read as a bad record.
  KAYA_RETURN_IF_ERROR(check_not_truncated(/*always=*/true));
  KAYA_ASSIGN_OR_RETURN(Spot spot,
                        judge_bad_record(disk_, view_, reader_->path(), segment_id_,
                                         !next_exists, next_exists, bad));
  switch (spot.verdict) {
    case Verdict::kTornTail:
    case Verdict::kLostAfterHole:
      // The log ends here, as far as recovery is concerned (a torn tail, or records
      // after a hole that it would move aside); a caller that knows a record must be
      // there reports why.
      stalled_on_ = spot.to_error(disk_);
      return std::optional<RecordView>();
    case Verdict::kCorruption:
    case Verdict::kNewerFormat:
    case Verdict::kOverLimit:
      break;
  }
  return spot.to_error(disk_);
}

Result<bool> SegmentCursor::check_lsn(const Decoded& d) {
  // A truncation was pending when the cursor opened: the records above its cut are
  // not part of the log any more (the next open removes them).
  if (view_.rp && view_.rp->truncation_pending() &&
      d.record.lsn > view_.rp->truncated_after) {
    return false;
  }
  // Unknown only before the first record of a log that was empty at open().
  std::optional<uint64_t> previous;
  if (expected_) previous = *expected_ - 1;
  const bool last = false;  // the table does not depend on it for a verified record
  std::optional<Spot> spot = judge_lsn(view_, segment_id_, last, d, previous);
  if (!spot) spot = check_against_recovery_point(view_, segment_id_, last, d);
  if (!spot) return true;
  // An LSN out of order where a truncation cut and appends went on: say so.
  KAYA_RETURN_IF_ERROR(check_not_truncated(/*always=*/true));
  if (previous_released_) return released_error();
  if (spot->verdict == Verdict::kLostAfterHole) {
    // Records after a hole beyond the recovery point: the log ends before them.
    stalled_on_ = spot->to_error(disk_);
    return false;
  }
  return spot->to_error(disk_);
}

void SegmentCursor::enter_segment(uint64_t id, bool previous_released) {
  segment_id_ = id;
  segment_listed_ = true;
  previous_released_ = previous_released;
  reader_ = std::make_unique<SegmentReader>(disk_, log_dir::segment(id),
                                            view_.max_record_bytes);
  checked_reads_ = 0;
}

Result<bool> SegmentCursor::segment_exists(uint64_t id) {
  auto len = disk_.file_len(log_dir::segment(id));
  if (len.ok()) return true;
  if (len.error().kind() == ErrorKind::kNotFound) return false;
  return std::move(len).error();
}

Status SegmentCursor::check_not_truncated(bool always) {
  if (!always && reader_->reads() == checked_reads_) return ok_status();
  KAYA_RETURN_IF_ERROR(check_truncation_epoch(disk_, epoch_, position().value()));
  checked_reads_ = reader_->reads();
  return ok_status();
}

Error SegmentCursor::released_error() const {
  // previous_released_: the segment that was released is the one before this one.
  const uint64_t id = previous_released_ ? segment_id_ - 1 : segment_id_;
  std::string next_lsn = expected_ ? num(*expected_) : "unknown";
  return Error(ErrorKind::kNotFound,
               "segment " + num(id) + " was released while being read (next LSN " +
                   next_lsn + "); open a new reader at or after the log's first LSN");
}

}  // namespace kaya::wal
