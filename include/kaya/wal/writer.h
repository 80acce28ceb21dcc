/// @file
/// The log writer: appends records with group commit.
///
/// One writer per log: open() takes an exclusive lock (wal/LOCK, flock on FileDisk)
/// that a second open() — in this process or another — fails to get (LockConflict).
///
/// Thread safety: every method may be called from any number of threads at once.
/// Appends are ordered by the LSN they are given; a record is never written before a
/// record with a lower LSN. Strict appends that overlap in time share fsyncs.
///
/// Durability (see docs/durability.md):
/// - append(kStrict) returns once the record and every record before it are on stable
///   storage (written and fdatasync'ed; a new segment's directory entry fsync'ed).
///   Survives a process crash and a power loss.
/// - append(kRelaxed) returns once the operating system has the record (written, not
///   synced). Survives a process crash; a power loss may take it back, together with
///   every later record, never an earlier strict one. sync() or a later strict append
///   makes it durable.
/// - A process crash at any instant leaves a prefix of the appended records. A power
///   loss leaves every durable record; of the records written after the last fsync,
///   storage may keep some sectors and not others: recovery cuts a torn tail and
///   moves records after a hole aside (wal/lost/), never calls it corruption.
/// - The recovery point (wal/RECOVERY_POINT, kaya/wal/recovery_point.h) follows the
///   durable records off the commit path: written after every sync round once the
///   appenders it covered are woken (by the leading thread on a Disk that can map
///   files, else by a thread of its own), synced at rotation (before the next
///   segment exists), close, release_before and at least every
///   WalConfig::recovery_point_sync_ms while it changes. Damage at or below it is
///   corruption; after a crash it lags the durable records by at most about one round
///   (process crash) or one sync interval (power loss; also a process crash on a Disk
///   whose writes are durable, where it is written once per interval):
///   docs/durability.md.
///
/// Failures poison the writer: after a failed write or fsync (or a segment found removed
/// under the writer after an fsync: Disk::still_linked), the appends waiting on it
/// and every later append fail (with the original error kind), the fsync is never
/// retried, and no record is acknowledged until the log is reopened (which recovers
/// what really is on disk). An append that failed may or may not be in the log after
/// recovery; one that succeeded is.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "kaya/core/config.h"
#include "kaya/core/export.h"
#include "kaya/core/histogram.h"
#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/recovery_point.h"

namespace kaya::wal {

/// Where an append put its record, and whether it is durable.
struct AppendResult {
  Lsn lsn;                   ///< the record's LSN
  SequenceNumber sequence;   ///< the record's sequence number
  uint64_t segment_id = 0;   ///< the segment holding it
  uint64_t offset = 0;       ///< of the record's first byte in its segment
  uint64_t encoded_len = 0;  ///< header + payload
  bool durable = false;      ///< on stable storage when append returned
  /// Duration of the fsync that made the record durable (0 when not durable).
  uint64_t fsync_duration_us = 0;
};

/// What release_before() did.
struct ReleaseReport {
  uint64_t segments_removed = 0;  ///< segment files removed
  uint64_t bytes_released = 0;    ///< their bytes
  /// First LSN still in the log after the release (nullopt when the log holds no record).
  std::optional<Lsn> first_lsn_kept;
  /// Why nothing (more) was released, e.g. "segment 7 is the active segment".
  std::string stopped_because;
};

/// How Writer::scrub() reads.
struct ScrubOptions {
  /// Read at most this many bytes of records per second, on average (0: no limit).
  /// The default takes about 16 s per GiB and leaves the disk to the appends.
  uint64_t bytes_per_second = 64ull << 20;
  /// Requesting a stop ends the scrub early (ScrubReport::complete is false).
  std::stop_token stop;
};

/// What Writer::scrub() checked.
struct ScrubReport {
  /// Every record durable when the scrub started and still in the log was read and
  /// verified (false: stopped early through ScrubOptions::stop).
  bool complete = false;
  std::optional<Lsn> first_lsn;  ///< first record checked (nullopt: none)
  std::optional<Lsn> last_lsn;   ///< last record checked (nullopt: none)
  uint64_t records = 0;          ///< records read and verified
  uint64_t bytes = 0;            ///< their bytes (header + payload)
  uint64_t segments = 0;         ///< segments read
  uint64_t duration_us = 0;      ///< wall time, pauses for the rate limit included
};

/// How Writer::open recovers the log before appending to it.
struct OpenOptions {
  /// dry_run is refused (InvalidArgument): the writer needs a repaired log.
  RecoveryOptions recovery;
  /// Called for every record recovered, in LSN order (an engine replays its state here).
  /// Without replay_from it gets every record of the log, which reads every segment.
  RecordVisitor replay;
  /// Replay from this LSN on (e.g. an engine's checkpoint + 1): older segments are not
  /// read (RecoveryOptions::visit_from).
  std::optional<Lsn> replay_from;
  /// Keep the recovery point with no thread of its own: the thread that led a sync
  /// round writes it, right after it has woken the appenders the round covered (also on
  /// a remote Disk, where that is a round trip), and it is synced only at rotation,
  /// close and release_before. The order of disk operations then depends only on the
  /// calls made (a deterministic simulation needs that).
  bool recovery_point_inline = false;
};

/// What a writer did since it was opened (Writer::stats(); metrics: kaya/wal/metrics.h).
struct WriterStats {
  uint64_t records = 0;            ///< records written
  uint64_t bytes = 0;              ///< bytes written
  uint64_t strict_records = 0;     ///< acknowledged strict appends
  uint64_t relaxed_records = 0;    ///< acknowledged relaxed appends
  uint64_t fsyncs = 0;             ///< fsync_file calls made (each a real fdatasync)
  uint64_t dir_fsyncs = 0;         ///< fsync_dir calls made
  uint64_t rotations = 0;          ///< segments closed for a new one
  uint64_t segments_released = 0;  ///< segments removed by release_before()
  uint64_t bytes_released = 0;     ///< bytes removed by release_before()
  uint64_t active_segment_id = 0;  ///< the segment appends go to
  /// Segments in the log: those recovered at open (at least 1), plus those this writer
  /// started, minus those it released.
  uint64_t segments = 0;
  Lsn next_lsn;                 ///< the LSN the next append gets
  Lsn durable_lsn_end;          ///< every LSN below this is durable
  bool poisoned = false;        ///< a failed write or fsync poisoned the writer
  Histogram fsync_duration_us;  ///< per fsync_file
  Histogram records_per_fsync;  ///< records newly made durable by each fsync
  /// Per strict append that led a sync with batch.flush_interval_us > 0: how long it
  /// waited for companions before the fsync started.
  Histogram batch_wait_us;
  /// Full checks of the log: complete scrub() runs, plus the open when its recovery
  /// read every segment (RecoveryReport::full_scan).
  uint64_t full_checks = 0;
  /// When the last full check started, in milliseconds since the Unix epoch (0: none
  /// since the writer opened): every record durable then was read and verified.
  uint64_t last_full_check_unix_ms = 0;
  uint64_t scrub_bytes = 0;        ///< bytes of records read by scrub()
  uint64_t scrub_corruptions = 0;  ///< scrub() runs that ended on Corruption
};

/// The log writer (see the file comment for its contract).
class Writer {
 public:
  /// Opens the log under `disk`'s root: takes the lock, recovers the log, and continues
  /// after the last record found; an empty log starts at LSN 1 and sequence 1. By
  /// default recovery reads only what lies beyond the recovery point (the cost of an
  /// open is the tail, not the log): a torn tail there is cut, records after a hole are
  /// moved to wal/lost/, and damage at or below the recovery point fails with
  /// Corruption and changes nothing (docs/recovery.md). Segments below the recovery
  /// point are not re-read: damage there is found by readers, scrub(),
  /// `kaya-wal verify` and `kaya-wal recover --full`. Then the recovery point is
  /// written anew (created for a log that had none). `disk` must outlive the writer.
  KAYA_API static Result<std::unique_ptr<Writer>> open(const WalConfig& config,
                                                       io::Disk& disk,
                                                       const OpenOptions& options = {});
  /// Like open(), but the next record gets `next_lsn` and `next_sequence`. A non-empty
  /// log must end right before `next_lsn` (InvalidArgument otherwise: it would leave a
  /// hole or reuse LSNs); the sequence is the engine's to choose.
  KAYA_API static Result<std::unique_ptr<Writer>> open_at(
      const WalConfig& config, io::Disk& disk, Lsn next_lsn, SequenceNumber next_sequence,
      const OpenOptions& options = {});

  /// Closes (see close()); an error there is lost: call close() to see it.
  KAYA_API ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  /// Appends one record; see the durability contract above. InvalidArgument (and no
  /// LSN consumed) when the record is larger than max_record_bytes. A strict append
  /// waits at most batch.flush_interval_us for companions, plus the fsync in progress
  /// when it arrived, plus its own.
  KAYA_API Result<AppendResult> append(const Payload& payload, DurabilityMode mode);

  /// Makes every record appended before the call durable.
  KAYA_API Status sync();

  /// Syncs, then releases the log; later appends fail with InvalidArgument. A poisoned
  /// writer fails with its poisoning error (on every call) and issues no more I/O: no
  /// sync, no cut of the active segment; it only releases the lock.
  KAYA_API Status close();

  /// Removes whole segments all of whose records have LSNs below `lsn` (oldest first,
  /// syncing the directory after each, so a crash leaves a contiguous log), never the
  /// active segment, and never a segment that is not followed by a durable record (so
  /// that a power loss cannot leave a log without records, whose next LSN is lost).
  /// Releasing nothing, or an LSN beyond the end, is safe and reported. Readers
  /// positioned in a removed segment get NotFound from their next read.
  KAYA_API Result<ReleaseReport> release_before(Lsn lsn);

  /// Reads and verifies every record of the log up to the durable end as it is when the
  /// call starts, oldest first, at most ScrubOptions::bytes_per_second, on the calling
  /// thread (an engine runs it on a background thread of its own, e.g. once a day).
  /// Open reads only what lies beyond the recovery point; this is how damage to sealed
  /// segments is found while the log is live. Appends, syncs and releases go on
  /// meanwhile (segments released during the scrub are skipped). On success the time
  /// it started becomes WriterStats::last_full_check_unix_ms (when complete).
  /// Errors: Corruption naming segment, offset and LSN (counted in
  /// WriterStats::scrub_corruptions; the writer is not poisoned: the damage is in
  /// records already acknowledged, and what to do about it is the engine's call);
  /// the writer's poisoning error; InvalidArgument when the writer is or gets closed.
  KAYA_API Result<ScrubReport> scrub(const ScrubOptions& options = {});

  /// A consistent snapshot of the writer's statistics.
  KAYA_API WriterStats stats() const;
  /// The LSN the next append gets.
  KAYA_API Lsn next_lsn() const;
  /// What recovery found when the writer was opened.
  const RecoveryReport& recovery_report() const { return recovery_report_; }
  /// The configuration the writer was opened with.
  const WalConfig& config() const { return config_; }
  /// The disk the log is on.
  io::Disk& disk() const { return disk_; }

  /// For readers that follow the log. Waits until the record `lsn` is visible —
  /// durable, or written when `durable_only` is false — or `deadline` passes, and
  /// returns the first LSN not yet visible. Returns early with the poisoning error, or
  /// InvalidArgument once the writer is closed and `lsn` will never be written.
  KAYA_API Result<Lsn> wait_visible(Lsn lsn, bool durable_only,
                                    std::chrono::steady_clock::time_point deadline) const;

 private:
  // A strict append waiting for a sync leader: one per appending thread (a thread_local
  // shared_ptr; durable_waiters_ and the leader waking it hold references, so it
  // outlives a thread that exits right after its wait). The leader records the outcome
  // under mu_, then releases the semaphore: a covered append returns without taking
  // the writer's lock again.
  struct WaitSlot {
    std::binary_semaphore ready{0};
    // Under the writer's mu_:
    uint64_t lsn = 0;
    bool covered = false;  // lsn is durable (else the writer was poisoned)
    uint64_t fsync_us = 0;
  };
  using SlotRef = std::shared_ptr<WaitSlot>;
  using Lock = std::unique_lock<std::mutex>;
  using Clock = std::chrono::steady_clock;

  Writer(const WalConfig& config, io::Disk& disk, std::unique_ptr<io::FileLock> lock);
  static Result<std::unique_ptr<Writer>> open_impl(const WalConfig& config,
                                                   io::Disk& disk,
                                                   const OpenOptions& options,
                                                   std::optional<Lsn> next_lsn,
                                                   SequenceNumber next_sequence);

  // The bodies of the public calls of the same names, which run them through
  // core::guard (no exception crosses the API).
  Result<AppendResult> append_unguarded(const Payload& payload, DurabilityMode mode);
  Result<ReleaseReport> release_before_unguarded(Lsn lsn);
  Result<ScrubReport> scrub_unguarded(const ScrubOptions& options);
  Result<Lsn> wait_visible_unguarded(
      Lsn lsn, bool durable_only, std::chrono::steady_clock::time_point deadline) const;
  // This thread's wait slot, made on first use (append makes it before it takes an LSN,
  // so that no allocation can fail after).
  static SlotRef& wait_slot();
  // Runs a thread's loop; an exception poisons the writer instead of ending the process.
  void run_guarded(void (Writer::*loop)()) noexcept;

  Status usable_locked() const;
  // Mapped mode: makes sure the map covers [offset, offset + len) of the tail segment
  // (allocating a new window there when not; out of memory or disk space for the
  // window, a map of the record alone). Called before the record takes its LSN; out of
  // memory or address space is Internal "out of memory mapping ...".
  Status map_window_locked(uint64_t offset, uint64_t len);
  // Mapped mode: copies the sealed record `bytes` of `lsn` into the map at `offset`.
  Status store_mapped_locked(std::span<const uint8_t> bytes, const RecordPosition& pos);
  // Closes the tail segment (its records written, cut to them when mapped, synced) and
  // starts `tail_segment_id_ + 1`. Holds the lock throughout; needs !writing_.
  Status rotate_locked(Lock& lock);
  // Mapped mode: makes the active segment durable and cuts its unused space off.
  Status finish_mapped_locked();
  // Writes staged records until `lsn` is with the OS (or the writer is poisoned).
  Status wait_written(Lock& lock, uint64_t lsn);
  // Makes `lsn` durable, leading an fsync or waiting for the one in progress. Returns
  // with `lock` held, except after a wait on its slot that ended covered (then
  // released: check lock.owns_lock()).
  Status wait_durable(Lock& lock, uint64_t lsn, bool wait_for_batch,
                      uint64_t* fsync_duration_us);
  // The writing role (needs !writing_): one write of everything staged. With `unlock`
  // the lock is released during the write; returns with it held, poisoned on failure.
  Status write_staged(Lock& lock, bool unlock);
  // One write of `bytes` at `offset` of segment `segment` (no lock needed).
  Status write_out(uint64_t segment, uint64_t offset, std::span<const uint8_t> bytes);
  // fsync_file of a segment, timing it into *us (no lock needed).
  Status timed_fsync(uint64_t segment, uint64_t* us);
  // NotFound when the segment was removed under the writer (Disk::still_linked); no
  // lock needed.
  Status check_linked(uint64_t segment);
  // Counts an fsync of `us` microseconds in the stats (and as the last one when ok).
  void record_fsync_locked(uint64_t us, bool ok);
  void sync_as_leader(Lock& lock);
  void wait_for_companions(Lock& lock);
  bool batch_full_locked() const;
  // One sync (the caller holds the leader role for it), then wakes those it covered.
  void sync_round(Lock& lock, bool wait_for_batch);
  // The syncer thread: leads syncs back to back while appends wait for one.
  void sync_loop();
  // Signals the waiters that durable_lsn_ (or poison) covers; returns them.
  // Never throws: short of memory for the list, it wakes the waiters under the lock.
  std::vector<SlotRef> signal_waiters_locked() noexcept;
  // Never throws (short of memory for the message, the error is "out of memory").
  void poison_locked(const Error& error) noexcept;
  void mark_durable_locked(uint64_t lsn, uint64_t bytes, const RecordPosition& pos);
  // Wakes wait_visible() callers and close() (on cv_) when any wait.
  void notify_progress_locked();
  // The recovery point as the writer knows it now.
  RecoveryPoint recovery_point_locked() const;
  // Writes `point` to the recovery point file (and syncs it with `sync`) unless a newer
  // one is there already. Takes rp_mu_ (never while waiting for mu_).
  Status persist_recovery_point(const RecoveryPoint& point, bool sync);
  // The recovery point thread: syncs the recovery point every
  // config_.recovery_point_sync_ms while it changes, and (when the leading threads do
  // not, rp_inline_ false) writes it after every sync round, off the commit path.
  void recovery_point_loop();

  const WalConfig config_;
  io::Disk& disk_;
  std::unique_ptr<io::FileLock> file_lock_;
  const bool mapped_;  // records go through a map of the segment (see WalConfig)

  RecoveryReport recovery_report_;
  std::mutex release_mu_;  // one release at a time

  mutable std::mutex mu_;
  // For wait_visible(), close() and a sync leader waiting for companions; appenders
  // wait on their own WaitSlot instead, so a sync wakes exactly those it covers.
  mutable std::condition_variable cv_;
  mutable uint64_t cv_waiters_ = 0;
  // Assignment: the next record's numbers and where it will go.
  uint64_t next_lsn_ = 1;
  uint64_t next_sequence_ = 1;
  uint64_t tail_segment_id_ = 0;     // segment the next record goes to
  uint64_t tail_segment_bytes_ = 0;  // its size once every assigned record is written
  std::unique_ptr<io::WritableMap> map_;  // mapped mode: window of the tail segment
  uint64_t prefaulted_end_ = 0;           // file offset: map_ prefaulted up to here
  // Records assigned but not yet with the OS: sealed, contiguous, for the tail segment
  // at staged_offset_, the last one staged_last_lsn_. The writing role swaps the
  // buffer with in_flight_ and writes that outside the lock.
  std::vector<uint8_t> staged_;
  std::vector<uint8_t> in_flight_;
  uint64_t staged_offset_ = 0;
  uint64_t staged_last_lsn_ = 0;
  // Progress: every LSN <= written_lsn_ is with the OS, <= durable_lsn_ is durable.
  uint64_t written_lsn_ = 0;
  uint64_t durable_lsn_ = 0;
  uint64_t last_fsync_duration_us_ = 0;
  bool writing_ = false;  // a thread is writing in_flight_
  bool syncing_ = false;  // a leader is syncing
  bool closed_ = false;
  std::optional<Error> poison_;
  std::vector<SlotRef> durable_waiters_;
  // Acknowledged strict appends (counted without the lock; WriterStats::strict_records).
  std::atomic<uint64_t> strict_acked_{0};
  std::condition_variable syncer_cv_;
  bool syncer_run_ = false;  // waiters were left by a sync: the syncer takes over
  bool stop_syncer_ = false;
  std::thread syncer_;  // started by open once the writer is complete
  // Strict records not yet durable, oldest first, with the time they were queued
  // (only kept when batch.flush_interval_us > 0).
  std::deque<std::pair<uint64_t, Clock::time_point>> unsynced_strict_;
  // Where the last record staged, written and made durable are (for the recovery
  // point), under mu_.
  RecordPosition staged_last_pos_;
  RecordPosition written_pos_;
  RecordPosition durable_pos_;
  // The recovery point's other facts (limits, the newest sealed segment), under mu_.
  RecoveryPoint rp_base_;
  uint64_t rp_persisted_lsn_ = 0;  // durable LSN the file holds, under mu_
  std::mutex rp_mu_;               // guards rp_file_; taken after mu_, never before
  std::unique_ptr<RecoveryPointFile> rp_file_;
  bool rp_inline_ = false;  // the leading thread writes the recovery point
  bool rp_sync_thread_ =
      false;                  // rp_thread_ runs (not OpenOptions::recovery_point_inline)
  bool rp_unsynced_ = false;  // inline: written since the thread's last sync
  std::condition_variable rp_cv_;  // wakes the recovery point thread
  // Under mu_: the recovery point thread waits for the durable end to move (a round
  // wakes it only then: while it waits out its interval, no round pays a wake-up).
  bool rp_waits_for_change_ = false;
  bool stop_rp_ = false;
  std::thread rp_thread_;
  uint64_t assigned_bytes_ = 0;  // bytes ever assigned
  uint64_t durable_bytes_ = 0;   // of which durable
  uint64_t written_bytes_ = 0;   // of which written
  WriterStats stats_;
};

}  // namespace kaya::wal
