// The writer's recovery point (wal/RECOVERY_POINT, kaya/wal/recovery_point.h): keeps
// the file following the durable records, off the commit path. Internal.
//
// Who writes it (fixed at open):
// - inline (a Disk that can map files, or OpenOptions::recovery_point_inline): the
//   thread that led a sync round, right after it woke the appenders the round covered
//   (Sequencer), a store through a map of the file when the writer maps its segments
//   (else a write), unless a sync of the file is in progress: the leader then skips its
//   write rather than wait behind the fsync, and the keeper's thread writes the point
//   right after its sync; that thread syncs what they wrote at most one
//   recovery_point_sync_ms after the first write since its last sync;
// - otherwise the keeper's thread: after every round, or, on a Disk whose writes are
//   durable, at most once per recovery_point_sync_ms while the durable end moves.
// Rotation, release_before and close write and sync it themselves (persist()).
//
// Lock contract. The state marked "under the writer's mutex" is guarded by
// Sequencer::mu_: every member named *_locked REQUIRES that mutex and returns with it
// held, never releasing it. persist() takes file_mu_, a mutex of its own that guards
// the file; it may be called with or without the writer's mutex (the order is always
// the writer's mutex, then file_mu_, never the reverse). The thread started by
// start() takes the writer's mutex itself and releases it around every persist().
//
// Invariant (asserted in persist()): a point's sealed segment ends at or below its
// durable record.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "core/mutex.h"
#include "kaya/core/status.h"
#include "kaya/io/disk.h"
#include "kaya/wal/config.h"
#include "kaya/wal/recovery_point.h"

namespace kaya::wal {

class Sequencer;

class RecoveryPointKeeper {
 public:
  using Lock = std::unique_lock<std::mutex>;

  RecoveryPointKeeper(const WalConfig& config, io::Disk& disk);
  RecoveryPointKeeper(const RecoveryPointKeeper&) = delete;
  RecoveryPointKeeper& operator=(const RecoveryPointKeeper&) = delete;

  // At open, before any thread runs: creates the file holding `point` (every record
  // kept is durable then). `inline_writes`: the leading threads write it after their
  // rounds; `own_thread`: start() runs the keeper's thread.
  Status open(const RecoveryPoint& point, bool inline_writes, bool own_thread);
  // Starts the keeper's thread (when open() asked for one); it reads the durable end
  // from `sequencer` and poisons it on a failure.
  void start(Sequencer& sequencer);
  // Close: asks the thread to stop (REQUIRES the writer's mutex) ...
  void stop_locked();
  // ... and waits for it (REQUIRES the writer's mutex NOT held).
  void join();

  // The recovery point for durable records ending at `durable`.
  RecoveryPoint point_locked(const RecordPosition& durable) const;
  // Rotation: segment `id` is sealed at `bytes` bytes, its last record `last_lsn`.
  void seal_locked(uint64_t id, uint64_t bytes, uint64_t last_lsn);
  // The durable end moved to `lsn`: wakes the thread when it waits for that.
  void on_durable_locked() {
    if (!inline_writes_ && waits_for_change_) cv_.notify_one();
  }
  // Whether the leader of a round ending at durable `lsn` writes the file now.
  bool due_after_round_locked(uint64_t lsn) const {
    return inline_writes_ && lsn != persisted_lsn_;
  }
  // The leader of a round wrote a point naming durable `lsn`, not synced: the thread
  // syncs it within recovery_point_sync_ms.
  void written_locked(uint64_t lsn);
  // A point naming durable `lsn` was written and synced (rotation).
  void synced_locked(uint64_t lsn);
  // Wakes the thread to see the writer poisoned or stopping.
  void wake_locked() { cv_.notify_one(); }

  // Writes `point` (and syncs the file with `sync`) unless the file holds a newer one
  // already: rotation, release, close and the thread race to write it. A point of
  // another truncation epoch than the file's (a snapshot taken before a truncation)
  // is never written.
  Status persist(const RecoveryPoint& point, bool sync) KAYA_EXCLUDES(file_mu_);
  // A round leader's write (inline): persist(point, false) unless another persist()
  // holds the file (the thread's sync in progress, a rotation's), in which case it
  // writes nothing and returns false (the leader never waits behind an fsync; see
  // skipped_locked()).
  Result<bool> try_persist(const RecoveryPoint& point) KAYA_EXCLUDES(file_mu_);
  // The leader's write was skipped: the thread writes the point after its sync (or a
  // later round does first).
  void skipped_locked() {
    rewrite_ = true;
    cv_.notify_one();
  }
  // Truncation (REQUIRES the writer's mutex): replaces the file with one holding
  // `point` in both slots, durably (create_recovery_point), even though it names an
  // earlier record than the file does; later updates follow `point`.
  Status reset_locked(RecoveryPoint point) KAYA_EXCLUDES(file_mu_);

 private:
  // The file object for a file holding `point`: its slots stored through a map of it
  // when the writer maps its segments.
  std::unique_ptr<RecoveryPointFile> make_file(const RecoveryPoint& point) const;
  // The thread's loop for each way of writing (see the file comment).
  // (Each REQUIRES the writer's mutex: the analysis is told so where they are defined,
  // in the .cc, which sees Sequencer.)
  void sync_inline_writes(Sequencer& sequencer, Lock& lock);
  void write_paced(Sequencer& sequencer, Lock& lock);
  void write_after_rounds(Sequencer& sequencer, Lock& lock);
  bool stopped_locked(const Sequencer& sequencer) const;
  bool behind_locked(const Sequencer& sequencer) const;
  // persist() with file_mu_ held by the caller.
  Status persist_held(const RecoveryPoint& point, bool sync) KAYA_REQUIRES(file_mu_);
  // persist() of the point now, with the writer's mutex released around it; poisons
  // the writer on failure (false).
  bool persist_unlocked(Sequencer& sequencer, Lock& lock, bool sync, const char* what);

  const WalConfig& config_;
  io::Disk& disk_;
  bool inline_writes_ = false;  // fixed at open
  bool own_thread_ = false;     // fixed at open
  // Under the writer's mutex:
  RecoveryPoint base_;  // the facts beside the durable end (limits, sealed segment)
  uint64_t persisted_lsn_ = 0;  // durable LSN the file holds
  bool unsynced_ = false;       // inline: written since the thread's last sync
  bool rewrite_ = false;        // inline: a leader's write was skipped (try_persist)
  // The thread waits for the durable end to move (a round wakes it only then: while it
  // waits out its interval, no round pays a wake-up).
  bool waits_for_change_ = false;
  bool stop_ = false;
  std::condition_variable cv_;  // wakes the thread

  core::Mutex file_mu_;  // after the writer's mutex, never before
  std::unique_ptr<RecoveryPointFile> file_ KAYA_GUARDED_BY(file_mu_);
  std::thread thread_;
};

}  // namespace kaya::wal
