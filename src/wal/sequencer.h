// Sequencing and group commit: the writer's LSN and sequence assignment, the staging
// of records for one write per batch, the writing role, the sync leader and the syncer
// thread, the strict appends waiting for a sync, and the writer's poison. Internal;
// Writer (writer.cc) is its public face, SegmentWriter and RecoveryPointKeeper the
// rooms it drives.
//
// Append, in order: encode and CRC outside the lock (append()); under mu_, rotate when
// the tail is full, assign the LSN, seal, and store the record in the map or stage it
// (assign_and_stage_locked()); a relaxed append makes it written (wait_written(), or
// for a large record in mapped mode its own write, write_own()); a
// strict one leads an fsync or waits on its slot for the one in progress
// (wait_durable(), group_commit.cc).
//
// Lock contract. mu_ guards everything below marked "under mu_", and the state of
// the SegmentWriter and RecoveryPointKeeper it was given. Each function is of one of
// four kinds, and returns in the lock state it promises whatever path it takes:
// - no suffix, no Lock parameter (the public calls, the *_unlocked helpers): REQUIRES
//   mu_ NOT held; takes it itself and returns without it;
// - *_locked: REQUIRES mu_ held; never releases it;
// - a `Lock& lock` parameter: REQUIRES `lock` held on entry; may release it while it
//   waits or does I/O; RETURNS WITH IT HELD;
// - wait_durable(): REQUIRES `lock` held; RETURNS WITH IT RELEASED, whatever path it
//   takes (a strict append woken by its sync leader never takes mu_ again).
// Disk I/O happens with mu_ released, except close, a truncation's flush, and a
// rotation that finds kMaxClosing segments still closing (once per segment at most).
// The kinds are annotations clang checks (-Wthread-safety): docs/architecture.md,
// "Lock contracts".
//
// Invariants (asserted where they change): every LSN <= written_lsn_ is with the OS
// (writes complete in any order; written_lsn_ moves over them in LSN order),
// every LSN <= durable_lsn_ is durable, and durable_lsn_ <= written_lsn_ < next_lsn_;
// bytes likewise (durable <= written <= assigned); staged records are contiguous in
// LSN and offset and follow what was written; a segment is sealed only once every
// record assigned to it is written; no record of a segment is made durable while an
// earlier segment's close is pending (closing_), so durable records stay a prefix.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "core/guard.h"
#include "core/mutex.h"
#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/config.h"
#include "kaya/wal/writer.h"
#include "wal/recovery_point_keeper.h"
#include "wal/segment_cursor.h"
#include "wal/segment_writer.h"
#include "wal/truncation.h"

namespace kaya::wal {

class Sequencer {
 public:
  using Lock = std::unique_lock<std::mutex>;
  using Clock = std::chrono::steady_clock;

  // Where a writer continues, found by recovery (writer.cc).
  struct Start {
    uint64_t next_lsn = 1;
    uint64_t next_sequence = 1;
    RecordPosition durable;  // the last record kept (the recovery point's)
    uint64_t full_checks = 0;
    uint64_t last_full_check_unix_ms = 0;
    uint32_t truncation_epoch = 0;  // the recovery point's
    uint64_t extensions = 0;        // the log's (kExtensionBytes, kExtensionBatches)
    // A rotation wakes the syncer thread to close the sealed segment; off
    // (OpenOptions::recovery_point_inline), the next sync round or a later rotation
    // closes it, so that the order of disk operations depends only on the calls made.
    bool closes_in_background = true;
  };

  // `log_lock` (wal/LOCK) is released at close(), once no byte can reach the log.
  Sequencer(const WalConfig& config, SegmentWriter& segment, RecoveryPointKeeper& rp,
            std::unique_ptr<io::FileLock> log_lock);
  // The threads must have been stopped (close()).
  ~Sequencer();
  Sequencer(const Sequencer&) = delete;
  Sequencer& operator=(const Sequencer&) = delete;

  // Sets where appends continue and starts the syncer thread (before any append).
  void start(const Start& start);

  // The public calls (writer.h has their contracts). None throws but append().
  Result<AppendResult> append(const Payload& payload, DurabilityMode mode);
  // Writer::append_batch: the records are encoded into one buffer, take contiguous
  // LSNs in one segment and go to the disk with one write. With `done`, asynchronous:
  // returns once the records are staged, and `done` (moved from) gets the outcome on
  // the completion thread (sequencer_async.cc).
  using Completion = std::function<void(const Result<AppendResult>&)>;
  Result<BatchResult> append_batch(std::span<const Payload> payloads, DurabilityMode mode,
                                   Completion* done = nullptr);
  // Writer::append_async.
  Result<Lsn> append_async(const Payload& payload, DurabilityMode mode, Completion done);
  // The sequencer whose completion thread this is (nullptr on any other thread).
  static const Sequencer* completing();
  Status sync();
  Status close();
  WriterStats stats(uint64_t recovered_segments) const;
  Lsn next_lsn() const;
  Result<Lsn> wait_visible(Lsn lsn, bool durable_only, Clock::time_point deadline) const;
  uint32_t truncation_epoch() const;
  // The log's extensions (set by start(), constant after).
  uint64_t extensions() const { return extensions_; }
  // writer.h, Writer::truncate_after (sequencer_truncate.cc): holds mu_ throughout,
  // like a rotation; the caller serialises it with releases.
  Result<TruncateReport> truncate_after(uint64_t lsn, io::Disk& disk);

  // For release_before (retention.cc): the oldest segment still written or closing
  // (or the poisoning error), the recovery point now, and the count of what was
  // released.
  Result<uint64_t> active_segment() const;
  RecoveryPoint recovery_point() const;
  void count_release(uint64_t bytes);
  // For scrub (scrub.cc): the records durable now (or the poisoning error), a pause
  // until `until` that ends early on close or `stop` (returns whether the writer is
  // closed), and the count of a scrub.
  Result<LiveLog> live_log() const;
  bool pause(Clock::time_point until, const std::stop_token& stop) const;
  void count_scrub(uint64_t bytes, bool complete, uint64_t started_unix_ms,
                   bool corruption);

  // For the recovery point thread (recovery_point_keeper.cc).
  core::Mutex& mutex() const KAYA_RETURN_CAPABILITY(mu_) { return mu_; }
  bool poisoned_locked() const KAYA_REQUIRES(mu_) { return poison_.has_value(); }
  // The LSN of the last record known durable by its position (0 after an open_at of
  // an empty log, until a record is made durable).
  uint64_t durable_position_lsn_locked() const KAYA_REQUIRES(mu_) {
    return durable_pos_.lsn.value();
  }
  RecoveryPoint recovery_point_locked() const KAYA_REQUIRES(mu_) {
    return rp_.point_locked(durable_pos_);
  }
  // Never throws (short of memory for the message, the error is "out of memory").
  void poison_locked(const Error& error) noexcept KAYA_REQUIRES(mu_);
  // poison_locked(error), then `error`: the handler of KAYA_ASSERT_ELSE in the writer.
  Error poison_with_locked(Error error) noexcept KAYA_REQUIRES(mu_) {
    poison_locked(error);
    return error;
  }
  // Runs a thread's body; an exception poisons the writer instead of ending the
  // process. REQUIRES mu_ NOT held (the body takes it).
  template <typename Body>
  void run_guarded(Body&& body) noexcept {
    try {
      body();
    } catch (...) {
      poison_unlocked(core::error_from_exception());
    }
  }

 private:
  // A strict append waiting for a sync leader: one per appending thread (a
  // thread_local shared_ptr; durable_waiters_ and the leader waking it hold
  // references, so it outlives a thread that exits right after its wait). The leader
  // records the outcome under mu_, then releases the semaphore: a covered append
  // returns without taking mu_ again.
  struct WaitSlot {
    std::binary_semaphore ready{0};
    // Under mu_:
    uint64_t lsn = 0;
    bool covered = false;  // lsn is durable (else the writer was poisoned)
    uint64_t fsync_us = 0;
  };
  using SlotRef = std::shared_ptr<WaitSlot>;

  void poison_unlocked(const Error& error) noexcept;
  // sequencer_truncate.cc. Waits while a truncation runs (appends, sync and close wait
  // for it before they look at the log).
  void wait_not_truncating(Lock& lock) KAYA_REQUIRES(mu_);
  // An error when a truncation since `epoch` (the one current when the record `lsn`
  // was assigned, or a sync started) removed `lsn`. A call spanning two truncations
  // fails whatever they cut (its record may still be in the log, as for any failed
  // append).
  Status cut_check_locked(uint64_t lsn, uint32_t epoch) const KAYA_REQUIRES(mu_);
  // Whether cut_check_locked() fails (allocates nothing).
  bool cut_locked(uint64_t lsn, uint32_t epoch) const KAYA_REQUIRES(mu_);
  // The truncation's first step: every assigned record written and fsynced.
  Status flush_for_cut(Lock& lock) KAYA_REQUIRES(mu_);
  // Its last: the writer continues right after the cut (the log's state `intent`,
  // `cut`), and every waiting strict append learns whether its record was kept.
  void continue_after_cut_locked(const RecoveryPoint& intent, const CutReport& cut)
      KAYA_REQUIRES(mu_);
  // This thread's wait slot, made on first use (append makes it before it takes an
  // LSN, so that no allocation can fail after).
  static SlotRef& wait_slot();

  // sequencer_async.cc: asynchronous appends. One per append_async, in the order of
  // assignment (LSN order within a truncation epoch), until its completion starts.
  struct AsyncEntry {
    AppendResult result;
    uint32_t epoch = 0;  // epoch_ when the LSN was assigned
    DurabilityMode mode = DurabilityMode::kStrict;
    Completion done;
    std::optional<Error> error;  // the outcome, once settled: this error, or `result`
  };
  // Waits (releasing `lock`) until `len` more bytes are within the bound, then counts
  // them; an error counts nothing.
  Status admit_async(Lock& lock, uint64_t len) KAYA_REQUIRES(mu_);
  // Makes room (rotating), assigns and stages the records (`bytes`, `count` of them)
  // and queues `done` for their completion; on an error nothing is queued and the
  // bytes admit_async counted are given back.
  Result<BatchResult> queue_async(Lock& lock, std::span<uint8_t> bytes, uint64_t count,
                                  DurabilityMode mode, Completion done)
      KAYA_REQUIRES(mu_);
  // Gives back bytes counted by admit_async (the append failed after it).
  void unadmit_async_locked(uint64_t len) KAYA_REQUIRES(mu_);
  // The entry's record is complete (durable, or written for a relaxed one on a writer
  // not poisoned); the entry's outcome is known (pure), and fixed.
  bool complete_locked(const AsyncEntry& entry) const KAYA_REQUIRES(mu_);
  bool settled_locked(const AsyncEntry& entry) const KAYA_REQUIRES(mu_);
  void settle_locked(AsyncEntry& entry) const noexcept KAYA_REQUIRES(mu_);
  // Wakes the completion thread when the front entry has settled.
  void wake_completer_locked() KAYA_REQUIRES(mu_) {
    if (completer_waiting_ && !async_queue_.empty() &&
        settled_locked(async_queue_.front())) {
      completer_cv_.notify_one();
    }
  }
  // The syncer has work: strict appends waiting, or async records to write or sync.
  bool syncer_wanted_locked() const KAYA_REQUIRES(mu_) {
    return !durable_waiters_.empty() || durable_lsn_ < async_strict_lsn_ ||
           written_lsn_ < async_relaxed_lsn_;
  }
  // Hands the syncer the work (when it is not at it already).
  void poke_syncer_locked() KAYA_REQUIRES(mu_) {
    if (!syncer_busy_ && !syncer_run_ && syncer_wanted_locked()) wake_syncer_locked();
  }
  // The syncer thread has work (a close, waiters, async records): it runs as soon as no
  // one holds the sync role. The one way to hand it work.
  void wake_syncer_locked() KAYA_REQUIRES(mu_) {
    syncer_run_ = true;
    syncer_cv_.notify_one();
  }
  // Gives the sync role back (after sync_round(), close_round(), a rotation's own
  // close). The syncer thread waits for `syncer_run_ && !syncing_`: work handed to it
  // while the role was held found it taken and left it asleep, so it is woken now.
  void release_sync_role_locked() KAYA_REQUIRES(mu_) {
    syncing_ = false;
    if (syncer_run_) syncer_cv_.notify_one();
  }
  // The completion thread: runs the completions of the settled entries, in order.
  void completion_loop();
  // Waits until every completion has returned (close()).
  void wait_completions(Lock& lock) KAYA_REQUIRES(mu_);

  // sequencer.cc: assignment and staging (the writing role: sequencer_write.cc).
  Status usable_locked() const KAYA_REQUIRES(mu_);
  // What a batch staged at `first`, ending at `last_lsn`, has to say before it is
  // written or durable (append_batch and append_async both report it).
  static BatchResult staged_batch(const AppendResult& first, Lsn last_lsn,
                                  uint64_t encoded_len);
  // Encodes `payloads` as consecutive records into `bytes` (exactly their length),
  // flagged as one batch when `batch`.
  Status encode_records(std::span<const Payload> payloads, bool batch,
                        std::span<uint8_t> bytes) const;
  // Assigns `count` records (the encoded `bytes`, back to back) contiguous LSNs and
  // one place in the tail segment, seals and stores or stages them. The result names
  // the first record; encoded_len is that of all; `last` gets the last one's position.
  // With `async`, a relaxed record is left staged (the syncer writes it) and the
  // call never releases the lock.
  Result<AppendResult> assign_and_stage(Lock& lock, std::span<uint8_t> bytes,
                                        uint64_t count, DurabilityMode mode,
                                        RecordPosition* last, bool async = false)
      KAYA_REQUIRES(mu_);
  // The records [first_lsn, last.lsn] (`bytes`, from the offset of the first) are
  // stored through the map / staged for the next write.
  Status store_locked(std::span<const uint8_t> bytes, uint64_t first_lsn, uint64_t offset,
                      const RecordPosition& last) KAYA_REQUIRES(mu_);
  Status stage_locked(std::span<const uint8_t> bytes, uint64_t first_lsn, uint64_t offset,
                      const RecordPosition& last) KAYA_REQUIRES(mu_);
  // Waits for and checks what append and append_batch share: the room for `len`
  // bytes of `count` records in the tail segment (rotating), under mu_.
  Status make_room(Lock& lock, uint64_t len, uint64_t count) KAYA_REQUIRES(mu_);

  // sequencer_write.cc. Writes staged records until `lsn` is with the OS (or the
  // writer is poisoned).
  Status wait_written(Lock& lock, uint64_t lsn) KAYA_REQUIRES(mu_);
  // A large relaxed record in mapped mode (writes_own()): its appender writes the
  // records [first_lsn, last.lsn] (`bytes`, at `offset` of the tail) itself with the
  // lock released, beside other appenders' writes, then waits until every earlier
  // record is written too: a relaxed append is acknowledged in LSN order whatever
  // order the writes complete in. Poisons on failure.
  Status write_own(Lock& lock, std::span<const uint8_t> bytes, uint64_t first_lsn,
                   uint64_t offset, const RecordPosition& last) KAYA_REQUIRES(mu_);
  // Whether a record of `len` bytes in `mode` is one write_own() takes (when nothing is
  // staged before it). Fixed by the configuration: no lock needed.
  bool writes_own(uint64_t len, DurabilityMode mode, bool async) const {
    return mode == DurabilityMode::kRelaxed && !async && segment_.mapped() &&
           !segment_.stores(len);
  }
  // A write that completed: the records [first, last.lsn], `bytes` long from `offset`;
  // `waiter`: the slot of the appender that wrote them (write_own), released once they
  // are written in order.
  struct Written {
    uint64_t first = 0;
    uint64_t offset = 0;
    uint64_t bytes = 0;
    RecordPosition last;
    WaitSlot* waiter = nullptr;
  };
  // Records a completed write: written_lsn_ moves over it once every earlier record is
  // written, and over the writes completed ahead of it that follow (written_ahead_).
  Status complete_write_locked(const Written& w) KAYA_REQUIRES(mu_);
  // A write of records is in flight (the staged batch's or an appender's own).
  bool write_in_flight_locked() const KAYA_REQUIRES(mu_) {
    return writing_ || own_writes_ > 0;
  }
  // The writes not yet counted in written_lsn_: in flight, completed ahead, and the
  // staged batch's to come. written_ahead_ holds fewer, and its capacity is at least
  // this (reserved as each write is first counted here).
  size_t writes_outstanding_locked() const KAYA_REQUIRES(mu_) {
    return own_writes_ + written_ahead_.size() + (writing_ ? 1 : 0) +
           (staged_.empty() ? 0 : 1);
  }
  // The writing role (needs !writing_): one write of everything staged. With
  // `unlock` the lock is released during the write. Poisons on failure.
  Status write_staged(Lock& lock, bool unlock) KAYA_REQUIRES(mu_);
  // The staged bytes [first, last] are with the OS.
  Status mark_written_locked(uint64_t first, uint64_t last, uint64_t bytes,
                             const RecordPosition& last_pos) KAYA_REQUIRES(mu_);
  // sequencer_rotation.cc. Seals the tail (every record written, the segment cut to
  // them) and starts the next segment; the sealed segment's close (fsync, recovery point)
  // is left to the next sync round or the syncer thread (close_sealed()). Holds the lock
  // throughout; needs !writing_, and !syncing_ when kMaxClosing closes are pending (it
  // then closes the oldest itself).
  Status rotate_locked(Lock& lock) KAYA_REQUIRES(mu_);
  // Closes the sealed segments, oldest first: fsync and link check, the directory
  // synced (the next segment's entry), their records durable, the recovery point
  // sealed at the segment's end and synced. REQUIRES the
  // sync role (syncing_) or, with `unlock` false, that no other I/O can start (the
  // lock held throughout). Poisons on failure.
  Status close_sealed(Lock& lock, bool unlock) KAYA_REQUIRES(mu_);
  // The syncer's round when closes are pending and no strict append waits.
  void close_round(Lock& lock) KAYA_REQUIRES(mu_);
  // The oldest segment whose close is not yet durable: the tail when none is pending.
  uint64_t oldest_open_segment_locked() const KAYA_REQUIRES(mu_) {
    return closing_count_ > 0 ? closing_[closing_head_].segment : segment_.id_locked();
  }
  // The end of the records written to segment `id` (0 when none is).
  uint64_t written_end_locked(uint64_t id) const KAYA_REQUIRES(mu_);
  // Wakes wait_visible() callers, close() and scrub pauses (on cv_) when any wait.
  void notify_progress_locked() KAYA_REQUIRES(mu_) {
    if (cv_waiters_ > 0) cv_.notify_all();
  }
  // The two steps of a Lock& function that does I/O or waits with the lock released
  // (the kinds above), told to the analysis: between them no member guarded by mu_
  // may be touched.
  void unlock(Lock& lock) const KAYA_RELEASE(mu_) KAYA_NO_THREAD_SAFETY_ANALYSIS {
    lock.unlock();
  }
  void relock(Lock& lock) const KAYA_ACQUIRE(mu_) KAYA_NO_THREAD_SAFETY_ANALYSIS {
    lock.lock();
  }
  // Runs `io` (which must not throw: a core::guard'ed Disk call) with the lock released
  // when `release`, else under it. The analysis checks `io` as a function of its own,
  // holding nothing: it cannot touch a member guarded by mu_ either way.
  template <typename Io>
  Status io_released_if(Lock& lock, bool release, Io&& io) const
      KAYA_REQUIRES(mu_) KAYA_NO_THREAD_SAFETY_ANALYSIS {
    if (release) lock.unlock();
    Status s = io();
    if (release) lock.lock();
    return s;
  }
  // Waits on cv_ for any progress.
  void wait_progress(Lock& lock) const KAYA_REQUIRES(mu_);

  // group_commit.cc: the sync leader, the syncer, the waiters.
  Status wait_durable(Lock& lock, uint64_t lsn, bool wait_for_batch,
                      uint64_t* fsync_duration_us) KAYA_RELEASE(mu_);
  // One sync (the caller holds the leader role for it), then wakes those it covered
  // and (inline) writes the recovery point.
  void sync_round(Lock& lock, bool wait_for_batch) KAYA_REQUIRES(mu_);
  void sync_as_leader(Lock& lock) KAYA_REQUIRES(mu_);
  void wait_for_companions(Lock& lock) KAYA_REQUIRES(mu_);
  bool batch_full_locked() const KAYA_REQUIRES(mu_);
  // Records [.., lsn] are durable. Returns an InvariantViolation when they were not
  // written (the caller poisons).
  Status mark_durable_locked(uint64_t lsn, uint64_t bytes, const RecordPosition& pos)
      KAYA_REQUIRES(mu_);
  // Counts an fsync of `us` microseconds (and as the last one when ok).
  void record_fsync_locked(uint64_t us, bool ok) KAYA_REQUIRES(mu_);
  // Signals the waiters that durable_lsn_ (or poison) covers; returns them. Never
  // throws: short of memory for the list, it wakes the waiters under the lock.
  std::vector<SlotRef> signal_waiters_locked() noexcept KAYA_REQUIRES(mu_);
  // The syncer thread: leads syncs back to back while appends wait for one.
  void sync_loop();

  // The log's extensions and their marker, the flags of every record (set by start()).
  uint64_t extensions_ = 0;
  uint16_t marker_flags_ = format::kFlagsV1;
  // InvalidArgument naming WalConfig::extensions unless the log is opted into
  // `extension`; `what` is what needs it ("a Bytes record").
  Status require_extension(uint64_t extension, std::string_view what) const;

  const WalConfig& config_;
  SegmentWriter& segment_;
  RecoveryPointKeeper& rp_;
  std::unique_ptr<io::FileLock> log_lock_ KAYA_GUARDED_BY(mu_);  // under mu_

  mutable core::Mutex mu_;
  // For wait_visible(), close(), scrub pauses and a sync leader waiting for
  // companions; appenders wait on their own WaitSlot instead, so a sync wakes exactly
  // those it covers.
  mutable std::condition_variable cv_;
  mutable uint64_t cv_waiters_ KAYA_GUARDED_BY(mu_) = 0;
  // Under mu_. Assignment: the next record's numbers.
  uint64_t next_lsn_ KAYA_GUARDED_BY(mu_) = 1;
  uint64_t next_sequence_ KAYA_GUARDED_BY(mu_) = 1;
  // Records assigned but not yet with the OS: sealed, contiguous, for the tail segment
  // at staged_offset_, LSNs staged_first_lsn_ to staged_last_lsn_ (at
  // staged_last_pos_). The writing
  // role swaps the buffer with in_flight_ and writes that outside the lock.
  std::vector<uint8_t> staged_ KAYA_GUARDED_BY(mu_);
  std::vector<uint8_t> in_flight_;
  uint64_t staged_offset_ KAYA_GUARDED_BY(mu_) = 0;
  uint64_t staged_first_lsn_ KAYA_GUARDED_BY(mu_) = 0;
  uint64_t staged_last_lsn_ KAYA_GUARDED_BY(mu_) = 0;
  RecordPosition staged_last_pos_ KAYA_GUARDED_BY(mu_);
  // Progress: every LSN <= written_lsn_ is with the OS, <= durable_lsn_ is durable;
  // the positions of those records (for the recovery point) and the bytes.
  uint64_t written_lsn_ KAYA_GUARDED_BY(mu_) = 0;
  uint64_t durable_lsn_ KAYA_GUARDED_BY(mu_) = 0;
  RecordPosition written_pos_ KAYA_GUARDED_BY(mu_);
  RecordPosition durable_pos_ KAYA_GUARDED_BY(mu_);
  uint64_t assigned_bytes_ KAYA_GUARDED_BY(mu_) = 0;  // bytes ever assigned
  uint64_t written_bytes_ KAYA_GUARDED_BY(mu_) = 0;   // of which written
  uint64_t durable_bytes_ KAYA_GUARDED_BY(mu_) = 0;   // of which durable
  uint64_t last_fsync_duration_us_ KAYA_GUARDED_BY(mu_) = 0;
  bool writing_ KAYA_GUARDED_BY(mu_) = false;  // a thread is writing in_flight_
  // Appenders writing their own records (write_own), and the writes that completed
  // while an earlier record's was still in flight, in no order; its capacity is
  // reserved before a record takes its LSN (writes_outstanding_locked()).
  uint64_t own_writes_ KAYA_GUARDED_BY(mu_) = 0;
  std::vector<Written> written_ahead_ KAYA_GUARDED_BY(mu_);
  bool syncing_ KAYA_GUARDED_BY(mu_) = false;  // a leader is syncing
  bool closed_ KAYA_GUARDED_BY(mu_) = false;
  bool truncating_ KAYA_GUARDED_BY(mu_) =
      false;  // truncate_after() runs: no append takes an LSN
  uint32_t epoch_ KAYA_GUARDED_BY(mu_) = 0;  // the log's truncation epoch
  uint64_t last_cut_ KAYA_GUARDED_BY(mu_) =
      0;  // the LSN the latest truncation kept records up to
  std::optional<Error> poison_ KAYA_GUARDED_BY(mu_);
  std::vector<SlotRef> durable_waiters_ KAYA_GUARDED_BY(mu_);
  // Sealed segments whose close is not yet durable, oldest first (a ring, so that a
  // rotation allocates nothing): each with its sealed size and its last record.
  struct Closing {
    uint64_t segment = 0;
    uint64_t length = 0;
    uint64_t last_lsn = 0;  // 0: the log had no record yet
    uint64_t bytes = 0;     // written_bytes_ at its end
    RecordPosition last_pos;
  };
  // At most this many closes in flight: the records not yet durable on a power loss
  // stay bounded by kMaxClosing + 1 segments.
  static constexpr size_t kMaxClosing = 2;
  std::array<Closing, kMaxClosing> closing_ KAYA_GUARDED_BY(mu_){};
  size_t closing_head_ KAYA_GUARDED_BY(mu_) = 0;
  size_t closing_count_ KAYA_GUARDED_BY(mu_) = 0;
  bool closes_in_background_ = true;  // fixed at start()
  // Strict records not yet durable, oldest first, with the time they were queued
  // (only kept when batch.flush_interval_us > 0).
  std::deque<std::pair<uint64_t, Clock::time_point>> unsynced_strict_
      KAYA_GUARDED_BY(mu_);
  WriterStats stats_ KAYA_GUARDED_BY(mu_);
  std::condition_variable syncer_cv_;
  bool syncer_run_ KAYA_GUARDED_BY(mu_) =
      false;  // waiters were left by a sync: the syncer takes over
  bool stop_syncer_ KAYA_GUARDED_BY(mu_) = false;
  // Acknowledged strict appends (counted without the lock;
  // WriterStats::strict_records).
  std::atomic<uint64_t> strict_acked_{0};
  std::thread syncer_;
  bool syncer_busy_ KAYA_GUARDED_BY(mu_) =
      false;  // under mu_: the syncer is past its wait, at work

  // Asynchronous appends (sequencer_async.cc), under mu_: the entries not yet taken by
  // the completion thread (a list: its nodes are allocated before the LSN is taken,
  // and a settled prefix is spliced off without allocating), the highest LSN of an
  // async strict (relaxed) record, the bytes in flight.
  std::list<AsyncEntry> async_queue_ KAYA_GUARDED_BY(mu_);
  uint64_t async_strict_lsn_ KAYA_GUARDED_BY(mu_) = 0;
  uint64_t async_relaxed_lsn_ KAYA_GUARDED_BY(mu_) = 0;
  uint64_t async_in_flight_bytes_ KAYA_GUARDED_BY(mu_) = 0;
  bool completer_waiting_ KAYA_GUARDED_BY(mu_) = false;
  bool delivering_ KAYA_GUARDED_BY(mu_) =
      false;  // the completion thread runs completions
  bool stop_completer_ KAYA_GUARDED_BY(mu_) = false;
  std::condition_variable completer_cv_;
  std::thread completer_;  // started by the first append_async
};

}  // namespace kaya::wal
