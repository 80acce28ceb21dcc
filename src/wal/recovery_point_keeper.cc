#include "wal/recovery_point_keeper.h"

#include <algorithm>
#include <chrono>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/sequencer.h"

namespace kaya::wal {

using Clock = std::chrono::steady_clock;

RecoveryPointKeeper::RecoveryPointKeeper(const WalConfig& config, io::Disk& disk)
    : config_(config), disk_(disk) {}

Status RecoveryPointKeeper::open(const RecoveryPoint& point, bool inline_writes,
                                 bool own_thread) {
  KAYA_RETURN_IF_ERROR(create_recovery_point(disk_, point));
  core::MutexLock guard(file_mu_);  // no other thread yet; the analysis asks for it
  file_ = make_file(point);
  base_ = point;
  persisted_lsn_ = point.durable.lsn.value();
  inline_writes_ = inline_writes;
  own_thread_ = own_thread;
  return ok_status();
}

std::unique_ptr<RecoveryPointFile> RecoveryPointKeeper::make_file(
    const RecoveryPoint& point) const {
  // Through a map where the writer maps its segments (preallocate_bytes > 0 on a Disk
  // that can map): a write per round then costs a copy, not a system call. With
  // preallocate_bytes = 0 every write of the writer stays a system call.
  return std::make_unique<RecoveryPointFile>(disk_, point, config_.preallocate_bytes > 0);
}

void RecoveryPointKeeper::start(Sequencer& sequencer) {
  if (!own_thread_) return;
  thread_ = std::thread([this, &sequencer] {
    sequencer.run_guarded([&] {
      core::MutexLock guard(sequencer.mutex());
      Lock& lock = guard.native();
      if (inline_writes_) {
        sync_inline_writes(sequencer, lock);
      } else if (disk_.writes_are_durable()) {
        write_paced(sequencer, lock);
      } else {
        write_after_rounds(sequencer, lock);
      }
    });
  });
}

void RecoveryPointKeeper::stop_locked() {
  stop_ = true;
  cv_.notify_one();
}

void RecoveryPointKeeper::join() {
  if (thread_.joinable()) thread_.join();
}

RecoveryPoint RecoveryPointKeeper::point_locked(const RecordPosition& durable) const {
  RecoveryPoint p = base_;
  p.durable = durable;
  return p;
}

void RecoveryPointKeeper::seal_locked(uint64_t id, uint64_t bytes, uint64_t last_lsn) {
  base_.sealed_segment_id = id;
  base_.sealed_segment_bytes = bytes;
  base_.sealed_last_lsn = Lsn(last_lsn);
}

void RecoveryPointKeeper::written_locked(uint64_t lsn) {
  persisted_lsn_ = std::max(persisted_lsn_, lsn);
  if (own_thread_ && !unsynced_) {
    unsynced_ = true;  // one wake-up per sync interval, not per round
    cv_.notify_one();
  }
}

void RecoveryPointKeeper::synced_locked(uint64_t lsn) {
  persisted_lsn_ = std::max(persisted_lsn_, lsn);
}

Status RecoveryPointKeeper::persist(const RecoveryPoint& point, bool sync) {
  core::MutexLock guard(file_mu_);
  return persist_held(point, sync);
}

Status RecoveryPointKeeper::persist_held(const RecoveryPoint& point, bool sync) {
  if (file_ == nullptr) return ok_status();  // open failed before creating it
  // Recovery judges everything at or below the point as durable: a sealed segment
  // beyond its record would make the tail of the log look sealed.
  KAYA_ASSERT(point.durable.lsn.value() == 0 ||
              point.sealed_last_lsn <= point.durable.lsn);
  const RecoveryPoint& last = file_->last();
  // Writers of the file race (the thread, rotation, release, close): a snapshot older
  // than what the file holds is not written back.
  const bool newer = point.truncation_epoch == last.truncation_epoch &&
                     (point.durable.lsn > last.durable.lsn ||
                      point.sealed_segment_id > last.sealed_segment_id);
  return core::guard([&]() -> Status {
    file_mu_.assert_held();  // called right here, under it
    if (newer) KAYA_RETURN_IF_ERROR(file_->write(point));
    if (sync) KAYA_RETURN_IF_ERROR(file_->sync());
    return ok_status();
  });
}

Result<bool> RecoveryPointKeeper::try_persist(const RecoveryPoint& point) {
  // Without the thread nobody would write it later: the leader waits its turn.
  if (!own_thread_) {
    KAYA_RETURN_IF_ERROR(persist(point, /*sync=*/false));
    return true;
  }
  if (!file_mu_.try_lock()) return false;
  const Status written = persist_held(point, /*sync=*/false);
  file_mu_.unlock();
  KAYA_RETURN_IF_ERROR(written);
  return true;
}

Status RecoveryPointKeeper::reset_locked(RecoveryPoint point) {
  core::MutexLock guard(file_mu_);
  KAYA_ASSERT(file_ != nullptr);  // open() made it
  point.generation = file_->last().generation + 1;
  KAYA_RETURN_IF_ERROR(core::guard([&] { return create_recovery_point(disk_, point); }));
  file_ = make_file(point);
  base_ = point;
  persisted_lsn_ = point.durable.lsn.value();
  unsynced_ = false;
  return ok_status();
}

bool RecoveryPointKeeper::stopped_locked(const Sequencer& sequencer) const
    KAYA_REQUIRES(sequencer.mutex()) {
  return stop_ || sequencer.poisoned_locked();
}

bool RecoveryPointKeeper::behind_locked(const Sequencer& sequencer) const
    KAYA_REQUIRES(sequencer.mutex()) {
  return stopped_locked(sequencer) ||
         sequencer.durable_position_lsn_locked() != persisted_lsn_;
}

bool RecoveryPointKeeper::persist_unlocked(Sequencer& sequencer, Lock& lock, bool sync,
                                           const char* what)
    KAYA_REQUIRES(sequencer.mutex()) {
  const RecoveryPoint point = sequencer.recovery_point_locked();
  lock.unlock();
  Status s = persist(point, sync);
  lock.lock();
  if (!s.ok()) {
    sequencer.poison_locked(core::with_context_or_same(s.error(), [&] { return what; }));
    return false;
  }
  persisted_lsn_ = std::max(persisted_lsn_, point.durable.lsn.value());
  return true;
}

void RecoveryPointKeeper::sync_inline_writes(Sequencer& sequencer, Lock& lock)
    KAYA_REQUIRES(sequencer.mutex()) {
  // The leading threads write it; this thread syncs what they wrote, at the latest one
  // interval after the first write since the last sync.
  const auto interval = std::chrono::milliseconds(config_.recovery_point_sync_ms);
  auto stopped = [&] {
    sequencer.mutex().assert_held();  // (a predicate runs under the lock)
    return stopped_locked(sequencer);
  };
  for (;;) {
    cv_.wait(lock, [&] { return stopped() || unsynced_ || rewrite_; });
    if (stopped()) return;
    if (unsynced_) {
      cv_.wait_until(lock, Clock::now() + interval, stopped);
      if (stopped()) return;
      unsynced_ = false;
      lock.unlock();
      Status s = persist(RecoveryPoint{}, /*sync=*/true);
      lock.lock();
      if (!s.ok()) {
        sequencer.poison_locked(core::with_context_or_same(
            s.error(), [] { return "syncing the recovery point"; }));
        return;
      }
    }
    // A leader skipped its write while the file was busy: the point now, written (and
    // synced within the interval like any leader's write).
    if (rewrite_) {
      rewrite_ = false;
      if (sequencer.durable_position_lsn_locked() != persisted_lsn_) {
        if (!persist_unlocked(sequencer, lock, false, "updating the recovery point")) {
          return;
        }
        unsynced_ = true;
      }
    }
  }
}

void RecoveryPointKeeper::write_paced(Sequencer& sequencer, Lock& lock)
    KAYA_REQUIRES(sequencer.mutex()) {
  // Every write is a sync here, and on a cluster every write costs the storage nodes
  // as much as a record's: the recovery point is written at most once per interval
  // while it changes (the window a power loss leaves on any Disk), not once per round.
  const auto interval = std::chrono::milliseconds(config_.recovery_point_sync_ms);
  auto stopped = [&] {
    sequencer.mutex().assert_held();  // (a predicate runs under the lock)
    return stopped_locked(sequencer);
  };
  Clock::time_point next_write{};
  for (;;) {
    waits_for_change_ = true;
    cv_.wait(lock, [&] {
      sequencer.mutex().assert_held();  // (a predicate runs under the lock)
      return behind_locked(sequencer);
    });
    waits_for_change_ = false;
    if (stopped()) return;
    if (cv_.wait_until(lock, next_write, stopped)) return;
    if (!persist_unlocked(sequencer, lock, false, "updating the recovery point")) return;
    next_write = Clock::now() + interval;
  }
}

void RecoveryPointKeeper::write_after_rounds(Sequencer& sequencer, Lock& lock)
    KAYA_REQUIRES(sequencer.mutex()) {
  // This thread writes it after every round (woken by on_durable_locked) and syncs it
  // at the latest one interval after the first write since the last sync.
  const auto interval = std::chrono::milliseconds(config_.recovery_point_sync_ms);
  bool unsynced = false;         // written since the last sync
  Clock::time_point sync_due{};  // when unsynced: sync by then
  for (;;) {
    auto behind = [&] {
      sequencer.mutex().assert_held();  // (a predicate runs under the lock)
      return behind_locked(sequencer);
    };
    waits_for_change_ = true;
    if (unsynced) {
      cv_.wait_until(lock, sync_due, behind);
    } else {
      cv_.wait(lock, behind);
    }
    waits_for_change_ = false;
    if (stopped_locked(sequencer)) return;
    const bool sync = unsynced && Clock::now() >= sync_due;
    if (!persist_unlocked(sequencer, lock, sync, "updating the recovery point")) return;
    if (sync) {
      unsynced = false;
    } else if (!unsynced) {
      unsynced = true;
      sync_due = Clock::now() + interval;
    }
  }
}

}  // namespace kaya::wal
