// Sequencer, part three: close, and the writer's progress as the rest of the writer
// and its callers see it: stats, visibility for tailing readers, the live log for a
// scrub, the active segment and the recovery point for a release.

#include <algorithm>
#include <string>

#include "core/guard.h"
#include "wal/sequencer.h"

namespace kaya::wal {

Status Sequencer::close() {
  if (completing() == this) {
    return Error(ErrorKind::kInvalidArgument,
                 "close() called from a completion of append_async: it would wait for "
                 "that completion to return; close the writer from another thread");
  }
  core::MutexLock guard(mu_);
  Lock& lock = guard.native();
  wait_not_truncating(lock);
  // A poisoned writer reports its poisoning on every close, the first included.
  // (Each lambda below runs right where it is written, under the lock: the analysis,
  // which looks at a lambda on its own, is told so.)
  auto poisoned = [&] {
    return core::guard([&] {
      mu_.assert_held();
      return usable_locked();
    });
  };
  if (closed_) return poison_ ? poisoned() : ok_status();
  // Admit no new append, then let every admitted one be written and synced, and wait
  // for all I/O in flight: the lock is released only once no byte can reach the log
  // from this writer any more. A poisoned writer issues no more I/O: after a failure
  // nothing it still holds may be made durable, nor any file cut (docs/durability.md).
  closed_ = true;
  cv_waiters_++;
  // Whatever throws (out of memory), the threads are stopped and the lock released
  // below: every step is guarded.
  Status s = poison_ ? poisoned() : core::guard([&] {
    mu_.assert_held();
    return wait_written(lock, next_lsn_ - 1);
  });
  if (s.ok()) {
    s = core::guard([&] {
      mu_.assert_held();
      return wait_durable(lock, next_lsn_ - 1, false, nullptr);
    });
    // wait_durable returned without it (unless it threw first); the analysis, outside
    // the lambda, assumes it held all along.
    if (!lock.owns_lock()) lock.lock();
  }
  cv_.wait(lock, [&] {
    mu_.assert_held();
    return !write_in_flight_locked() && !syncing_;
  });
  // Every async append is settled now (written and synced, or failed): its completion
  // runs before the log is released.
  wait_completions(lock);
  cv_waiters_--;
  // A close a sync round did not take (everything was durable already).
  if (s.ok() && !poison_ && closing_count_ > 0) {
    s = core::guard([&] {
      mu_.assert_held();
      return close_sealed(lock, /*unlock=*/false);
    });
  }
  stop_syncer_ = true;
  stop_completer_ = true;
  syncer_cv_.notify_one();
  completer_cv_.notify_one();
  rp_.stop_locked();
  unlock(lock);
  if (syncer_.joinable()) syncer_.join();
  if (completer_.joinable()) completer_.join();
  rp_.join();
  relock(lock);
  // The syncer or the recovery point thread may have failed meanwhile.
  if (s.ok() && poison_) s = poisoned();
  // A log removed after the last round: close() must not report it closed cleanly.
  if (s.ok()) {
    s = segment_.check_linked(segment_.id_locked());
    if (!s.ok()) poison_locked(s.error());
  }
  if (s.ok() && segment_.mapped()) {
    s = segment_.finish_locked(&stats_.fsyncs);
    if (!s.ok()) poison_locked(s.error());
  }
  if (s.ok() && !poison_) {
    // Everything appended is durable: the recovery point says so, durably.
    s = rp_.persist(recovery_point_locked(), /*sync=*/true);
    if (!s.ok()) poison_locked(s.error());
  }
  segment_.drop_map_locked();
  log_lock_.reset();
  cv_.notify_all();
  return s;
}

WriterStats Sequencer::stats(uint64_t recovered_segments) const {
  core::MutexLock lock(mu_);
  WriterStats out = stats_;
  out.strict_records = strict_acked_.load(std::memory_order_relaxed);
  out.active_segment_id = segment_.id_locked();
  out.next_lsn = Lsn(next_lsn_);
  out.durable_lsn_end = Lsn(durable_lsn_ + 1);
  out.poisoned = poison_.has_value();
  out.async_in_flight_bytes = async_in_flight_bytes_;
  // Metrics: recovery kept these segments (an empty log gets a new first one).
  out.segments = std::max<uint64_t>(1, recovered_segments) + out.rotations -
                 out.segments_released - out.segments_truncated;
  return out;
}

Lsn Sequencer::next_lsn() const {
  core::MutexLock lock(mu_);
  return Lsn(next_lsn_);
}

Result<Lsn> Sequencer::wait_visible(Lsn lsn, bool durable_only,
                                    Clock::time_point deadline) const {
  core::MutexLock guard(mu_);
  Lock& lock = guard.native();
  for (;;) {
    // Once poisoned, written records whose fsync failed may be gone from the device
    // even if the page cache still shows them: only durable ones stay visible.
    const uint64_t visible = durable_only || poison_ ? durable_lsn_ : written_lsn_;
    if (visible >= lsn.value()) return Lsn(visible + 1);
    if (poison_ || closed_) {
      if (poison_) return usable_locked().error();
      return Error(ErrorKind::kInvalidArgument, "the writer was closed before LSN " +
                                                    std::to_string(lsn.value()) +
                                                    " became visible");
    }
    cv_waiters_++;
    const std::cv_status waited = cv_.wait_until(lock, deadline);
    cv_waiters_--;
    if (waited == std::cv_status::timeout) {
      return Lsn((durable_only ? durable_lsn_ : written_lsn_) + 1);
    }
  }
}

Result<uint64_t> Sequencer::active_segment() const {
  core::MutexLock lock(mu_);
  KAYA_RETURN_IF_ERROR(usable_locked());
  return oldest_open_segment_locked();
}

RecoveryPoint Sequencer::recovery_point() const {
  core::MutexLock lock(mu_);
  return recovery_point_locked();
}

void Sequencer::count_release(uint64_t bytes) {
  core::MutexLock lock(mu_);
  stats_.segments_released++;
  stats_.bytes_released += bytes;
}

Result<LiveLog> Sequencer::live_log() const {
  core::MutexLock lock(mu_);
  KAYA_RETURN_IF_ERROR(usable_locked());
  return LiveLog{Lsn(next_lsn_), Lsn(durable_lsn_ + 1)};
}

bool Sequencer::pause(Clock::time_point until, const std::stop_token& stop) const {
  core::MutexLock guard(mu_);
  Lock& lock = guard.native();
  while (!closed_ && !stop.stop_requested() && Clock::now() < until) {
    // Slices, so that a stop request (which does not notify cv_) is seen soon.
    const Clock::time_point slice =
        std::min(until, Clock::now() + std::chrono::milliseconds(20));
    cv_waiters_++;
    cv_.wait_until(lock, slice);
    cv_waiters_--;
  }
  return closed_;
}

void Sequencer::count_scrub(uint64_t bytes, bool complete, uint64_t started_unix_ms,
                            bool corruption) {
  core::MutexLock lock(mu_);
  stats_.scrub_bytes += bytes;
  if (complete) {
    stats_.full_checks++;
    stats_.last_full_check_unix_ms = started_unix_ms;
  }
  if (corruption) stats_.scrub_corruptions++;
}

}  // namespace kaya::wal
