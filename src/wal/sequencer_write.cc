// Sequencer, the writing role: records stored through the map or staged, the one
// write of everything staged, the appenders' own writes of large relaxed records, and
// the progress they make (written_lsn_, in LSN order).

#include <algorithm>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/sequencer.h"

namespace kaya::wal {
namespace {

// Staging buffers larger than this are given back after their write, so one burst of
// large records does not pin its memory for the writer's lifetime.
constexpr size_t kMaxKeptStagingBytes = 1 << 20;

}  // namespace

Status Sequencer::store_locked(std::span<const uint8_t> bytes, uint64_t first_lsn,
                               uint64_t offset, const RecordPosition& last) {
  // Under the lock, in LSN order, after every earlier record: a process killed at any
  // instant leaves a prefix of the records (at most the last one torn, or the batch
  // being stored incomplete, which recovery cuts whole), never a record after a hole.
  KAYA_ASSERT_ELSE(first_lsn == written_lsn_ + 1, poison_with_locked);
  KAYA_ASSERT_ELSE(offset == written_end_locked(last.segment_id), poison_with_locked);
  Status s = segment_.store_locked(bytes, offset);
  if (!s.ok()) {
    poison_locked(core::with_context_or_same(
        s.error(), [&] { return "storing LSN " + std::to_string(first_lsn); }));
    return usable_locked();
  }
  return mark_written_locked(first_lsn, last.lsn.value(), bytes.size(), last);
}

Status Sequencer::stage_locked(std::span<const uint8_t> bytes, uint64_t first_lsn,
                               uint64_t offset, const RecordPosition& last) {
  if (staged_.empty()) {
    staged_offset_ = offset;
    staged_first_lsn_ = first_lsn;
  } else {
    // Staged records are contiguous: one write puts them in place.
    KAYA_ASSERT_ELSE(first_lsn == staged_last_lsn_ + 1, poison_with_locked);
    KAYA_ASSERT_ELSE(offset == staged_offset_ + staged_.size(), poison_with_locked);
  }
  staged_.insert(staged_.end(), bytes.begin(), bytes.end());  // reserved: no allocation
  staged_last_lsn_ = last.lsn.value();
  staged_last_pos_ = last;
  return ok_status();
}

uint64_t Sequencer::written_end_locked(uint64_t id) const {
  return written_pos_.segment_id == id ? written_pos_.end_offset() : 0;
}

Status Sequencer::wait_written(Lock& lock, uint64_t lsn) {
  const uint32_t epoch = epoch_;
  for (;;) {
    KAYA_RETURN_IF_ERROR(cut_check_locked(lsn, epoch));
    if (written_lsn_ >= lsn) break;
    if (poison_) return usable_locked();
    if (!writing_ && !staged_.empty()) {
      KAYA_RETURN_IF_ERROR(write_staged(lock, true));
    } else {
      wait_progress(lock);  // the writes in flight before `lsn` complete
    }
  }
  return ok_status();
}

Status Sequencer::write_staged(Lock& lock, bool unlock) {
  if (staged_.empty()) return ok_status();
  // (Records written by their own appenders may precede the staged ones.)
  const uint64_t first = staged_first_lsn_;
  const uint64_t last = staged_last_lsn_;
  const RecordPosition last_pos = staged_last_pos_;
  const uint64_t offset = staged_offset_;
  const uint64_t segment = segment_.id_locked();
  writing_ = true;
  in_flight_.swap(staged_);  // appends go on staging into the other buffer
  Status s = io_released_if(lock, unlock,
                            [&] { return segment_.write(segment, offset, in_flight_); });
  writing_ = false;
  const uint64_t bytes = in_flight_.size();
  in_flight_.clear();
  if (in_flight_.capacity() > kMaxKeptStagingBytes) in_flight_.shrink_to_fit();
  if (!s.ok()) {
    poison_locked(core::with_context_or_same(s.error(), [&] {
      return "writing LSN " + std::to_string(first) + ".." + std::to_string(last);
    }));
    return usable_locked();
  }
  KAYA_ASSERT_ELSE(last_pos.segment_id == segment, poison_with_locked);
  return complete_write_locked(Written{first, offset, bytes, last_pos});
}

Status Sequencer::write_own(Lock& lock, std::span<const uint8_t> bytes,
                            uint64_t first_lsn, uint64_t offset,
                            const RecordPosition& last) {
  // No copy and no hand-off: the record goes from the appender's buffer to its place
  // in the preallocated tail while other appenders write theirs. A process killed
  // meanwhile may leave a later record written and an earlier one not (zeros before
  // it): neither was acknowledged, and recovery finds them beyond the recovery point,
  // records after a hole (docs/durability.md, "Relaxed appends").
  const uint64_t segment = segment_.id_locked();
  WaitSlot* const slot = wait_slot().get();  // made by append_batch, before the LSN
  own_writes_++;
  Status s =
      io_released_if(lock, true, [&] { return segment_.write(segment, offset, bytes); });
  own_writes_--;
  if (!s.ok()) {
    poison_locked(core::with_context_or_same(s.error(), [&] {
      return "writing LSN " + std::to_string(first_lsn) + ".." +
             std::to_string(last.lsn.value());
    }));
  } else if (!poison_) {
    // (A write completing after a failure counts for nothing: the writer is poisoned
    // and acknowledges no more.)
    s = complete_write_locked(Written{first_lsn, offset, bytes.size(), last, slot});
  }
  // A rotation, truncation or close waits for the writes in flight to end.
  if (own_writes_ == 0) notify_progress_locked();
  const uint32_t epoch = epoch_;
  while (s.ok() && !poison_ && written_lsn_ < last.lsn.value()) {
    // Completed ahead of an earlier record: woken by the write that makes it written
    // (complete_write_locked) or by a poisoning, never by another completion.
    unlock(lock);
    slot->ready.acquire();
    relock(lock);
    s = cut_check_locked(last.lsn.value(), epoch);
  }
  if (poison_) return usable_locked();
  return s;
}

Status Sequencer::complete_write_locked(const Written& w) {
  if (w.first != written_lsn_ + 1) {
    // An earlier record's write is still in flight: this one waits for it here
    // (the room was reserved before its LSN was taken).
    KAYA_ASSERT_ELSE(w.first > written_lsn_ + 1, poison_with_locked);
    KAYA_ASSERT_ELSE(written_ahead_.size() < written_ahead_.capacity(),
                     poison_with_locked);
    written_ahead_.push_back(w);
    return ok_status();
  }
  // Each write went where the records before it end, and was as long as they are.
  auto mark = [this](const Written& next) -> Status {
    mu_.assert_held();  // (called below, under the lock)
    KAYA_ASSERT_ELSE(next.offset == written_end_locked(next.last.segment_id),
                     poison_with_locked);
    KAYA_ASSERT_ELSE(next.last.end_offset() == next.offset + next.bytes,
                     poison_with_locked);
    return mark_written_locked(next.first, next.last.lsn.value(), next.bytes, next.last);
  };
  bool own = true;  // `w` is the caller's own: it is not woken
  for (Written next = w;;) {
    const Status marked = mark(next);
    // Its appender looks again: written, or (a failed check) the writer is poisoned;
    // out of written_ahead_ now, no poisoning would wake it.
    if (!own && next.waiter != nullptr) next.waiter->ready.release();
    KAYA_RETURN_IF_ERROR(marked);
    own = false;
    // The write completed ahead that follows, if any.
    const uint64_t want = written_lsn_ + 1;
    auto it = std::find_if(written_ahead_.begin(), written_ahead_.end(),
                           [want](const Written& a) { return a.first == want; });
    if (it == written_ahead_.end()) return ok_status();
    next = *it;
    *it = written_ahead_.back();
    written_ahead_.pop_back();
  }
}

Status Sequencer::mark_written_locked(uint64_t first, uint64_t last, uint64_t bytes,
                                      const RecordPosition& last_pos) {
  // Written in LSN order, only what was assigned: durable <= written < next.
  KAYA_ASSERT_ELSE(first == written_lsn_ + 1 && first <= last, poison_with_locked);
  KAYA_ASSERT_ELSE(last < next_lsn_ && last_pos.lsn.value() == last, poison_with_locked);
  KAYA_ASSERT_ELSE(written_bytes_ + bytes <= assigned_bytes_, poison_with_locked);
  written_lsn_ = last;
  written_pos_ = last_pos;
  written_bytes_ += bytes;
  stats_.records += last - first + 1;
  stats_.bytes += bytes;
  notify_progress_locked();
  wake_completer_locked();
  return ok_status();
}

}  // namespace kaya::wal
