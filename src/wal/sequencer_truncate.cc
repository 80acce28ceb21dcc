// Sequencer, part four: truncate_after. The order on disk is truncation.h's; here the
// writer's side: no append takes an LSN meanwhile, what was assigned is written and
// synced first (the records kept must be durable in the truncated log), and the
// appends in flight above the cut fail.

#include <algorithm>
#include <string>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/sequencer.h"

namespace kaya::wal {

void Sequencer::wait_not_truncating(Lock& lock) {
  while (truncating_) wait_progress(lock);
}

bool Sequencer::cut_locked(uint64_t lsn, uint32_t epoch) const {
  return !(epoch == epoch_ || (epoch_ - epoch == 1 && lsn <= last_cut_));
}

Status Sequencer::cut_check_locked(uint64_t lsn, uint32_t epoch) const {
  if (!cut_locked(lsn, epoch)) return ok_status();
  return Error(ErrorKind::kInvalidArgument,
               "LSN " + std::to_string(lsn) +
                   " was removed by a truncation (truncation epoch " +
                   std::to_string(epoch_) + ", the log kept the records up to LSN " +
                   std::to_string(last_cut_) +
                   ") before this call completed; the LSN is handed out again");
}

uint32_t Sequencer::truncation_epoch() const {
  core::MutexLock lock(mu_);
  return epoch_;
}

Status Sequencer::flush_for_cut(Lock& lock) {
  // No I/O of another thread may be in flight: the lock is held from here on.
  cv_waiters_++;
  while (write_in_flight_locked() || syncing_) cv_.wait(lock);
  cv_waiters_--;
  KAYA_RETURN_IF_ERROR(usable_locked());
  KAYA_RETURN_IF_ERROR(write_staged(lock, /*unlock=*/false));
  KAYA_ASSERT_ELSE(
      written_lsn_ + 1 == next_lsn_ && staged_.empty() && written_ahead_.empty(),
      poison_with_locked);
  KAYA_RETURN_IF_ERROR(close_sealed(lock, /*unlock=*/false));
  if (written_lsn_ == durable_lsn_) return ok_status();
  const uint64_t segment = segment_.id_locked();
  uint64_t us;
  Status s = segment_.fsync(segment, &us);
  record_fsync_locked(us, s.ok());
  if (s.ok()) s = segment_.check_linked(segment);
  if (!s.ok()) poison_locked(s.error());
  return s;
}

Result<TruncateReport> Sequencer::truncate_after(uint64_t lsn, io::Disk& disk) {
  core::MutexLock guard(mu_);
  Lock& lock = guard.native();
  wait_not_truncating(lock);
  KAYA_RETURN_IF_ERROR(usable_locked());
  if (lsn >= next_lsn_) {
    return Error(ErrorKind::kInvalidArgument,
                 "truncate_after(" + std::to_string(lsn) +
                     "): beyond the end of the log, whose last LSN is " +
                     std::to_string(next_lsn_ - 1) + " (nothing was changed)");
  }
  TruncateReport report;
  report.next_lsn = Lsn(lsn + 1);
  report.epoch = epoch_;
  if (lsn + 1 == next_lsn_) return report;  // nothing above it

  truncating_ = true;
  // Whichever way it ends, appends go on, and strict ones waiting get a sync round.
  auto done = [&] {
    mu_.assert_held();  // called below, under the lock
    truncating_ = false;
    if (syncer_wanted_locked() && !poison_) wake_syncer_locked();
    cv_.notify_all();
  };
  Status flushed = flush_for_cut(lock);
  if (!flushed.ok()) {
    done();
    return flushed.error();
  }
  Result<RecoveryPoint> intent =
      plan_truncation(config_, disk, lsn, recovery_point_locked());
  if (!intent.ok()) {
    // Refused (or unreadable): nothing changed, and what was flushed is durable.
    Status marked = mark_durable_locked(written_lsn_, written_bytes_, written_pos_);
    if (!marked.ok()) poison_locked(marked.error());
    for (const SlotRef& slot : signal_waiters_locked()) slot->ready.release();
    done();
    return intent.error();
  }
  // The intent first, durably; then the cut; then the recovery point without it. A
  // failure leaves the intent for the next open to complete: the writer is poisoned.
  segment_.drop_map_locked();
  Status intended = rp_.reset_locked(*intent);
  Result<CutReport> cut =
      intended.ok() ? carry_out(disk, *intent) : Result<CutReport>(intended.error());
  Status s = cut.ok() ? rp_.reset_locked(completed(*intent)) : cut.status();
  if (!s.ok()) {
    // The intent may be in place (even a failed creation may have renamed it there):
    // the log may be the truncated one now, and the next open finds which. Nothing
    // above the cut is visible any more, and readers opened before learn of the new
    // epoch.
    epoch_ = intent->truncation_epoch;
    last_cut_ = lsn;
    written_lsn_ = durable_lsn_ = std::min(durable_lsn_, lsn);
    poison_locked(core::with_context_or_same(s.error(), [&] {
      return "truncating after LSN " + std::to_string(lsn) +
             " (the next open completes the truncation)";
    }));
    done();
    return usable_locked().error();
  }
  report.records_removed = next_lsn_ - 1 - lsn;
  report.segments_removed = cut->segments_removed;
  report.epoch = intent->truncation_epoch;
  continue_after_cut_locked(*intent, *cut);
  done();
  return report;
}

void Sequencer::continue_after_cut_locked(const RecoveryPoint& intent,
                                          const CutReport& cut) {
  const uint64_t lsn = intent.truncated_after.value();
  // The recovery point names the last record kept (none when the log was emptied).
  KAYA_ASSERT_ELSE(intent.durable.lsn.value() == lsn || intent.durable.lsn.value() == 0,
                   poison_locked);
  segment_.truncated_locked(cut.cut.segment_id, cut.cut.offset);
  next_lsn_ = lsn + 1;
  next_sequence_ = intent.truncation_next_sequence.value();
  written_lsn_ = lsn;
  durable_lsn_ = lsn;
  written_pos_ = intent.durable;
  durable_pos_ = intent.durable;
  durable_bytes_ = written_bytes_ = assigned_bytes_;
  unsynced_strict_.clear();
  epoch_ = intent.truncation_epoch;
  last_cut_ = lsn;
  stats_.truncations++;
  stats_.segments_truncated += cut.segments_removed;
  // Every strict append waiting learns its fate: kept (durable, acknowledged) or cut
  // (it fails, cut_check_locked()).
  for (const SlotRef& slot : durable_waiters_) {
    slot->covered = slot->lsn <= lsn;
    slot->fsync_us = last_fsync_duration_us_;
    slot->ready.release();
  }
  durable_waiters_.clear();
  // Async appends above the cut fail (their entries settle on the epoch), and the
  // syncer has nothing left to do for them.
  async_strict_lsn_ = std::min(async_strict_lsn_, lsn);
  async_relaxed_lsn_ = std::min(async_relaxed_lsn_, lsn);
  notify_progress_locked();
  wake_completer_locked();
}

}  // namespace kaya::wal
