// Sequencer, part two: group commit. A strict append leads a sync round itself when
// none runs (no hand-off to another thread, which matters when appends come one at a
// time) and otherwise waits on its own slot; the syncer thread leads the rounds back
// to back while appends wait. A round covers everything assigned when it starts,
// writes what is staged, fsyncs once and wakes exactly the waiters it covered.

#include <algorithm>
#include <string>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/sequencer.h"

namespace kaya::wal {
namespace {

uint64_t micros_since(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

}  // namespace

Status Sequencer::wait_durable(Lock& lock, uint64_t lsn, bool wait_for_batch,
                               uint64_t* fsync_duration_us) {
  const uint32_t epoch = epoch_;
  Status s = ok_status();
  for (;;) {
    // A truncation meanwhile decided: kept records are durable, cut ones fail.
    s = cut_check_locked(lsn, epoch);
    if (!s.ok() || durable_lsn_ >= lsn) break;
    if (poison_) {
      s = usable_locked();
      break;
    }
    if (!syncing_ && !truncating_) {
      // No sync runs: this append leads one itself. Whoever arrives while it runs
      // waits; if anyone does, the syncer thread takes over for the next round.
      sync_round(lock, wait_for_batch);
      if (syncer_wanted_locked() && !poison_) wake_syncer_locked();
      continue;
    }
    // Wait on this thread's slot until a sync covers `lsn` or the writer is poisoned.
    // (Made before the append took its LSN; sync() and close() make it here.)
    SlotRef slot;
    try {
      slot = wait_slot();
      durable_waiters_.push_back(slot);
    } catch (const std::bad_alloc&) {
      // No memory to queue up: wait for any progress instead (every sync round ends
      // with one) and look again, leading the next round if none runs.
      wait_progress(lock);
      continue;
    }
    slot->lsn = lsn;
    slot->covered = false;
    unlock(lock);
    slot->ready.acquire();
    if (slot->covered) {
      if (fsync_duration_us) *fsync_duration_us = slot->fsync_us;
      return ok_status();  // nothing more to do under the lock: it is not taken again
    }
    relock(lock);
  }
  if (s.ok() && fsync_duration_us) *fsync_duration_us = last_fsync_duration_us_;
  unlock(lock);
  return s;
}

void Sequencer::sync_round(Lock& lock, bool wait_for_batch) {
  syncing_ = true;
  try {
    if (wait_for_batch) wait_for_companions(lock);
    sync_as_leader(lock);
  } catch (...) {
    // Out of memory on a failure path (its message): the round ends poisoned, and the
    // leader role is given back whatever happened.
    if (!lock.owns_lock()) lock.lock();  // (the analysis assumes it held here)
    poison_locked(core::error_from_exception());
  }
  release_sync_role_locked();
  // A rotation during the round left a close for the syncer thread.
  if (closing_count_ > 0 && !poison_ && closes_in_background_) wake_syncer_locked();
  // Wake exactly the waiters this sync covered, outside the writer's lock.
  std::vector<SlotRef> woken = signal_waiters_locked();
  notify_progress_locked();
  const bool write_rp =
      !poison_ && rp_.due_after_round_locked(durable_position_lsn_locked());
  const RecoveryPoint point = write_rp ? recovery_point_locked() : RecoveryPoint{};
  unlock(lock);
  for (const SlotRef& slot : woken) slot->ready.release();
  woken.clear();  // drops the references outside the lock too
  // Inline: the recovery point follows now, after the covered appenders are woken;
  // the recovery point thread syncs it within recovery_point_sync_ms. While that
  // thread (or a rotation) syncs the file, the write is left to it: the leader, often
  // an appender about to return, never waits behind an fsync.
  Result<bool> written = write_rp ? rp_.try_persist(point) : Result<bool>(false);
  relock(lock);
  if (!written.ok()) {
    poison_locked(core::with_context_or_same(
        written.error(), [] { return "updating the recovery point"; }));
  } else if (*written) {
    rp_.written_locked(point.durable.lsn.value());
  } else if (write_rp) {
    rp_.skipped_locked();
  }
}

void Sequencer::close_round(Lock& lock) {
  syncing_ = true;
  try {
    (void)close_sealed(lock, /*unlock=*/true);  // a failure poisons
  } catch (...) {
    if (!lock.owns_lock()) lock.lock();  // (the analysis assumes it held here)
    poison_locked(core::error_from_exception());
  }
  release_sync_role_locked();
  // Strict appends that arrived meanwhile, and a rotation waiting for the role.
  std::vector<SlotRef> woken = signal_waiters_locked();
  notify_progress_locked();
  unlock(lock);
  for (const SlotRef& slot : woken) slot->ready.release();
  woken.clear();
  relock(lock);
}

void Sequencer::sync_as_leader(Lock& lock) {
  // Cover everything queued when the sync starts (but not what keeps arriving, so a
  // stream of relaxed appends cannot starve it).
  const uint64_t target = next_lsn_ - 1;
  if (!wait_written(lock, target).ok()) return;
  // Segments sealed before are closed first: their records are durable before any of
  // a later segment.
  if (!close_sealed(lock, /*unlock=*/true).ok()) return;
  const uint64_t covered_lsn = written_lsn_;
  const uint64_t covered_bytes = written_bytes_;
  const RecordPosition covered_pos = written_pos_;
  const uint64_t segment = segment_.id_locked();
  if (covered_lsn <= durable_lsn_) return;  // a rotation synced it meanwhile
  unlock(lock);
  uint64_t us;
  Status s = segment_.fsync(segment, &us);
  const bool synced = s.ok();
  // One cheap check per round (FileDisk: a statx), before anything is acknowledged.
  if (synced) s = segment_.check_linked(segment);
  relock(lock);
  record_fsync_locked(us, synced);
  if (!s.ok()) {
    const uint64_t from = durable_lsn_ + 1;
    poison_locked(core::with_context_or_same(s.error(), [&] {
      return "fsync covering LSN " + std::to_string(from) + ".." +
             std::to_string(covered_lsn);
    }));
    return;
  }
  // The fsync covered the records of one segment only: the earlier ones were made
  // durable when their segment was closed (close_sealed()).
  KAYA_ASSERT_ELSE(covered_pos.segment_id == segment, poison_locked);
  Status marked = mark_durable_locked(covered_lsn, covered_bytes, covered_pos);
  if (!marked.ok()) poison_locked(marked.error());
}

Status Sequencer::mark_durable_locked(uint64_t lsn, uint64_t bytes,
                                      const RecordPosition& pos) {
  if (lsn <= durable_lsn_) return ok_status();
  // Only records with the OS are made durable: durable <= written < next; and none of
  // a segment after one whose close is pending.
  KAYA_ASSERT(lsn <= written_lsn_ && written_lsn_ < next_lsn_);
  KAYA_ASSERT(pos.segment_id <= oldest_open_segment_locked());
  KAYA_ASSERT(bytes <= written_bytes_ && bytes >= durable_bytes_);
  KAYA_ASSERT(pos.lsn.value() == lsn);
  stats_.records_per_fsync.record(lsn - durable_lsn_);
  durable_lsn_ = lsn;
  durable_bytes_ = bytes;
  durable_pos_ = pos;
  // The recovery point follows, off the path.
  rp_.on_durable_locked();
  while (!unsynced_strict_.empty() && unsynced_strict_.front().first <= lsn) {
    unsynced_strict_.pop_front();
  }
  notify_progress_locked();
  wake_completer_locked();
  return ok_status();
}

void Sequencer::record_fsync_locked(uint64_t us, bool ok) {
  stats_.fsyncs++;
  stats_.fsync_duration_us.record(us);
  if (ok) last_fsync_duration_us_ = us;
}

bool Sequencer::batch_full_locked() const {
  const BatchConfig& batch = config_.batch;
  const uint64_t records = next_lsn_ - 1 - durable_lsn_;
  const uint64_t bytes = assigned_bytes_ - durable_bytes_;
  return (batch.max_records > 0 && records >= batch.max_records) ||
         (batch.max_bytes > 0 && bytes >= batch.max_bytes);
}

void Sequencer::wait_for_companions(Lock& lock) {
  const BatchConfig& batch = config_.batch;
  if (batch.flush_interval_us == 0 || unsynced_strict_.empty()) return;
  const auto deadline = unsynced_strict_.front().second +
                        std::chrono::microseconds(batch.flush_interval_us);
  const auto start = Clock::now();
  cv_waiters_++;
  while (!poison_ && !batch_full_locked() && Clock::now() < deadline) {
    cv_.wait_until(lock, deadline);
  }
  cv_waiters_--;
  stats_.batch_wait_us.record(micros_since(start));
}

std::vector<Sequencer::SlotRef> Sequencer::signal_waiters_locked() noexcept {
  std::vector<SlotRef> woken;
  try {
    woken.reserve(durable_waiters_.size());
  } catch (const std::bad_alloc&) {
    // Out of memory: the waiters are woken right here, under the lock, instead.
  }
  size_t kept = 0;
  for (SlotRef& slot : durable_waiters_) {
    if (poison_ || slot->lsn <= durable_lsn_) {
      slot->covered = slot->lsn <= durable_lsn_;
      slot->fsync_us = last_fsync_duration_us_;
      if (woken.size() < woken.capacity()) {
        woken.push_back(slot);  // within the capacity: no allocation
      } else {
        slot->ready.release();
      }
    } else {
      durable_waiters_[kept++] = slot;
    }
  }
  durable_waiters_.resize(kept);
  return woken;
}

void Sequencer::sync_loop() {
  // Back-to-back syncs while appends wait for them, as one I/O thread would do: no
  // hand-off between rounds.
  core::MutexLock guard(mu_);
  Lock& lock = guard.native();
  for (;;) {
    syncer_cv_.wait(lock, [&] {
      mu_.assert_held();  // (a predicate runs under the lock)
      return stop_syncer_ || (syncer_run_ && !syncing_);
    });
    if (stop_syncer_) return;
    syncer_run_ = false;
    syncer_busy_ = true;
    while (!poison_ && !syncing_ && !truncating_ &&
           (syncer_wanted_locked() || closing_count_ > 0)) {
      if (!durable_waiters_.empty() || durable_lsn_ < async_strict_lsn_) {
        sync_round(lock, /*wait_for_batch=*/true);
      } else if (closing_count_ > 0) {
        close_round(lock);
      } else if (writing_) {
        wait_progress(lock);  // async relaxed records staged behind a write in flight
      } else if (staged_.empty() || !write_staged(lock, /*unlock=*/true).ok()) {
        break;  // poisoned (or nothing left to write)
      }
    }
    syncer_busy_ = false;
  }
}

}  // namespace kaya::wal
