// Sequencer, rotation: the full tail sealed and the next segment started under the
// lock, and the close of each sealed segment (its fsync, the next segment's directory
// entry, the recovery point sealed at its end) off the append path.

#include <string>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/sequencer.h"

namespace kaya::wal {

Status Sequencer::rotate_locked(Lock& lock) {
  // The closing segment is cut to its records before the next one receives a record,
  // so a process crash (the page cache keeps both) always leaves a prefix. Its fsync
  // and the recovery point's seal are left to the next sync round or the syncer thread
  // (close_sealed()): until they are durable no record of a later segment is made
  // durable, and a power loss in between leaves the later segments' records beyond
  // the recovery point, after a hole (docs/durability.md, "Rotation"). Done under the
  // lock: once per segment.
  const uint64_t old_segment = segment_.id_locked();
  KAYA_RETURN_IF_ERROR(write_staged(lock, /*unlock=*/false));
  // Every record assigned to the segment is written before it is sealed.
  KAYA_ASSERT(!write_in_flight_locked() && staged_.empty() && written_ahead_.empty() &&
              written_lsn_ + 1 == next_lsn_);
  KAYA_ASSERT(written_end_locked(old_segment) == segment_.bytes_locked());
  if (closing_count_ == kMaxClosing) {
    // Closes fall behind the rotations: this append closes the oldest ones itself
    // (make_room() waited for a sync round in progress to end).
    KAYA_ASSERT(!syncing_);
    syncing_ = true;
    Status closed = close_sealed(lock, /*unlock=*/false);
    release_sync_role_locked();
    for (const SlotRef& slot : signal_waiters_locked()) slot->ready.release();
    KAYA_RETURN_IF_ERROR(closed);
  }
  KAYA_RETURN_IF_ERROR(segment_.can_start_next_locked());
  KAYA_RETURN_IF_ERROR(segment_.seal_locked());
  Closing& closing = closing_[(closing_head_ + closing_count_) % kMaxClosing];
  closing.segment = old_segment;
  closing.length = segment_.bytes_locked();
  closing.last_lsn = written_lsn_ > 0 ? written_lsn_ : 0;
  closing.bytes = written_bytes_;
  closing.last_pos = written_pos_;
  closing_count_++;
  // The new segment's directory entry is synced by this close, after its fsync (a
  // directory sync then waits for none of the sealed segment's data), before any record
  // of the new segment can be made durable.
  KAYA_RETURN_IF_ERROR(segment_.start_next_locked());
  stats_.rotations++;
  // The close runs off the append path: the syncer thread takes it unless a sync round
  // in progress does it first (without background closes: the next round, or the
  // rotation that finds kMaxClosing pending).
  if (closes_in_background_) wake_syncer_locked();
  return ok_status();
}

Status Sequencer::close_sealed(Lock& lock, bool unlock) {
  while (closing_count_ > 0) {
    // A writer poisoned meanwhile (another thread's failed write or fsync, with the
    // lock released around this close's I/O) issues no more I/O, and makes nothing
    // more durable: not even what this close's fsync, in flight then, covered.
    if (poison_) return usable_locked();
    const Closing c = closing_[closing_head_];
    uint64_t us = 0;
    bool synced = false;
    bool dir_synced = false;
    Status s = io_released_if(lock, unlock, [&] {
      Status done = segment_.fsync(c.segment, &us);
      synced = done.ok();
      if (synced) done = segment_.check_linked(c.segment);
      // The next segment's directory entry (rotate_locked()).
      dir_synced = done.ok();
      if (dir_synced) done = segment_.sync_dir();
      return done;
    });
    record_fsync_locked(us, synced);
    if (dir_synced) stats_.dir_fsyncs++;
    if (!s.ok()) {
      return poison_with_locked(core::with_context_or_same(
          s.error(), [&] { return "closing segment " + std::to_string(c.segment); }));
    }
    if (poison_) return usable_locked();
    if (c.last_lsn > 0) {
      Status marked = mark_durable_locked(c.last_lsn, c.bytes, c.last_pos);
      if (!marked.ok()) return poison_with_locked(marked.error());
      rp_.seal_locked(c.segment, c.length, c.last_lsn);
    }
    // The recovery point covers the closed segment, durably, before any record of a
    // later one is made durable.
    const RecoveryPoint point = recovery_point_locked();
    s = io_released_if(lock, unlock, [&] { return rp_.persist(point, /*sync=*/true); });
    if (!s.ok()) return poison_with_locked(s.error());
    rp_.synced_locked(point.durable.lsn.value());
    closing_head_ = (closing_head_ + 1) % kMaxClosing;
    closing_count_--;
    notify_progress_locked();
  }
  return ok_status();
}

}  // namespace kaya::wal
