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

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>

#include "kaya/core/export.h"
#include "kaya/core/histogram.h"
#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/config.h"
#include "kaya/wal/recovery.h"

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

/// Where append_batch() put its records, and whether they are durable.
struct BatchResult {
  Lsn first_lsn;  ///< the first payload's LSN; the others follow, one apart
  Lsn last_lsn;   ///< the last payload's LSN
  SequenceNumber first_sequence;  ///< the first payload's sequence number (likewise)
  uint64_t segment_id = 0;        ///< the segment holding every record of the batch
  uint64_t offset = 0;            ///< of the first record's first byte in that segment
  uint64_t encoded_len = 0;       ///< bytes of all its records, headers included
  bool durable = false;           ///< on stable storage when append_batch returned
  /// Duration of the fsync that made the batch durable (0 when not durable).
  uint64_t fsync_duration_us = 0;
};

/// The completion of an asynchronous append (Writer::append_async): called once, with
/// the append's outcome, on the writer's completion thread (see append_async for what
/// it may do).
using AppendCallback = std::function<void(const Result<AppendResult>&)>;

/// A handle on the outcome of an asynchronous append (Writer::append_async without a
/// callback). Copyable; every copy refers to the same append. It may outlive the
/// writer: close() completes every append first.
class KAYA_API AppendFuture {
 public:
  /// The LSN the append was given.
  Lsn lsn() const;
  /// The append has completed: wait() returns at once.
  bool ready() const;
  /// Waits until the append completes and returns its outcome (what its callback would
  /// get). Called on the writer's completion thread before the append completed, it
  /// would wait for itself: InvalidArgument instead, at once.
  Result<AppendResult> wait() const;

  /// The shared state of the handle (writer.cc).
  struct State;

 private:
  friend class Writer;
  explicit AppendFuture(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
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

/// What truncate_after() did.
struct TruncateReport {
  /// The LSN the next append gets: the LSN truncated after, plus one.
  Lsn next_lsn;
  /// The log's truncation epoch after the call (Writer::truncation_epoch); unchanged
  /// when nothing was removed.
  uint32_t epoch = 0;
  uint64_t records_removed = 0;   ///< records above the cut, durable or not
  uint64_t segments_removed = 0;  ///< segment files removed whole
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
  /// close and release_before; and a rotation's close of the sealed segment runs in the
  /// next sync round (or the second rotation after it), never on the writer's syncer
  /// thread. The order of disk operations then depends only on the calls made (a
  /// deterministic simulation needs that).
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
  uint64_t scrub_bytes = 0;         ///< bytes of records read by scrub()
  uint64_t scrub_corruptions = 0;   ///< scrub() runs that ended on Corruption
  uint64_t truncations = 0;         ///< truncate_after() calls that removed records
  uint64_t segments_truncated = 0;  ///< segment files truncate_after() removed whole
  uint64_t async_appends = 0;       ///< appends accepted by append_async()
  /// Encoded bytes of the asynchronous appends accepted and not yet completed.
  uint64_t async_in_flight_bytes = 0;
  /// The most async_in_flight_bytes has been since the writer opened.
  uint64_t async_in_flight_bytes_peak = 0;
};

/// The log writer (see the file comment for its contract). Its state is private to the
/// library (one pointer here): a change inside the writer changes no user's layout.
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

  /// Appends `payloads` as one atomic batch (docs/batches.md): they get contiguous
  /// LSNs and sequence numbers, in order, are encoded into one buffer and reach the
  /// tail segment with one write, and after any crash or power loss recovery yields
  /// all of them or none. Durability as for append(): strict returns once the whole
  /// batch is durable, relaxed once the OS has it (a power loss then takes the whole
  /// batch or none of it, with every later record).
  ///
  /// The log must be opted into batches (WalConfig::extensions, kExtensionBatches;
  /// else InvalidArgument naming the setting, and nothing is appended); a batch of one
  /// payload is a plain append and needs no opt-in. A batch never spans segments: the
  /// writer starts the next segment first when the batch would not fit in the tail
  /// one, and a batch larger than segment_max_bytes (all its records, headers
  /// included) is refused with InvalidArgument, as are an empty batch and a record
  /// larger than max_record_bytes. A refused batch takes no LSN.
  KAYA_API Result<BatchResult> append_batch(std::span<const Payload> payloads,
                                            DurabilityMode mode);

  /// Appends one record asynchronously (docs/async.md): it takes its LSN, is staged like
  /// the record of append() and returns that LSN at once, without waiting for any
  /// I/O; `done` is called later with what append() would have returned, once the
  /// record is durable (kStrict) or with the OS (kRelaxed), or with the error that
  /// failed it. An error returned here (the checks of append(), a closed or poisoned
  /// writer) appends nothing, takes no LSN, and `done` is never called.
  ///
  /// - Order: completions run in LSN order, strict and relaxed alike (a relaxed
  ///   completion waits for the strict ones before it), one at a time, on one thread
  ///   the writer owns (the completion thread, started by the first append_async), never
  ///   while the writer holds a lock. No thread per append: the records are written
  ///   and synced by the writer's group commit (strict ones by its syncer thread,
  ///   sharing fsyncs with every other append), and a slow completion delays the
  ///   completions after it, not the I/O.
  /// - Failures: when the writer is poisoned, every append whose completion has not
  ///   started and whose record is not durable gets the poisoning error, in LSN order
  ///   (a relaxed record written before the failure included: the device may not have
  ///   it). One removed by truncate_after() gets its InvalidArgument; the completions
  ///   of appends made before a truncation come before those made after it.
  /// - Back-pressure: the bytes of the appends accepted and not yet completed are
  ///   bounded by WalConfig::async_max_in_flight_bytes. At the bound append_async waits
  ///   (on the calling thread) until completions make room: an engine that appends
  ///   faster than its disk is slowed to the disk's pace, as by a bounded queue, with
  ///   no retry loop to write and no error that means "not now" (an event loop that
  ///   must never block keeps its own count of bytes in flight below the bound).
  /// - A completion may call append_async, append, append_batch, sync, stats and the
  ///   other calls of this writer, with these exceptions, which fail at once with
  ///   InvalidArgument instead of waiting for themselves: append_async at the bound
  ///   (the room it waits for is made by the thread it runs on), AppendFuture::wait()
  ///   for an append not yet complete, and close(). A blocking call (a strict append,
  ///   sync) is allowed and delays the completions after it. A completion must not
  ///   destroy the writer, and should not throw (an exception it throws is dropped).
  /// - close() waits until every completion has returned.
  KAYA_API Result<Lsn> append_async(const Payload& payload, DurabilityMode mode,
                                    AppendCallback done);
  /// append_async() with a handle instead of a callback: the handle's wait() returns
  /// the outcome.
  KAYA_API Result<AppendFuture> append_async(const Payload& payload, DurabilityMode mode);

  /// Makes every record appended before the call durable. When a truncate_after()
  /// running meanwhile removed some of them, InvalidArgument naming the truncation: the
  /// records it kept are durable (a truncation makes them so first), the others are
  /// gone.
  KAYA_API Status sync();

  /// Syncs, waits for every completion of append_async to return, then releases the
  /// log; later appends fail with InvalidArgument. Called from a completion:
  /// InvalidArgument at once, and nothing changes. A poisoned writer fails with its
  /// poisoning error (on every call) and issues no more I/O: no sync, no cut of the
  /// active segment; it only releases the lock.
  KAYA_API Status close();

  /// Removes whole segments all of whose records have LSNs below `lsn` (oldest first,
  /// syncing the directory after each, so a crash leaves a contiguous log), never the
  /// active segment, and never a segment that is not followed by a durable record (so
  /// that a power loss cannot leave a log without records, whose next LSN is lost).
  /// Releasing nothing, or an LSN beyond the end, is safe and reported. Readers
  /// positioned in a removed segment get NotFound from their next read.
  KAYA_API Result<ReleaseReport> release_before(Lsn lsn);

  /// Removes every record with an LSN above `lsn`, durably: a crash at any instant
  /// leaves the log as it was or truncated, never a hole or a mix (docs/truncation.md).
  /// The next append gets `lsn` + 1 and the sequence number the first removed record
  /// had; LSNs above `lsn` are handed out again.
  ///
  /// - Range: `lsn` from the log's first LSN - 1 (which empties the log; the next
  ///   append still gets the first LSN, and a reopened log continues there: LSNs never
  ///   restart from 1) to next_lsn() - 1 (nothing to remove: no change, no new epoch).
  ///   Beyond the end, below the first LSN - 1 (released records), or inside an atomic
  ///   batch (append_batch: more of its records follow `lsn`): InvalidArgument, and
  ///   nothing changes.
  /// - Durability: every record appended before the call is written and fsynced first,
  ///   so the records kept are durable when it returns. Then the intent (the LSN and a
  ///   new truncation epoch) is made durable in the recovery point, the segments above
  ///   the cut are removed (highest first) and the cut segment is cut and synced, and
  ///   the intent is cleared. A crash after the intent leaves it for the next open (or
  ///   recover()), which completes the truncation before it judges the log; a kaya that
  ///   does not know truncation refuses such a log (UnsupportedVersion). A failed write
  ///   or sync poisons the writer like a failed append.
  /// - Appends: none takes an LSN while the call runs (they wait, then get `lsn` + 1
  ///   on). Appends in flight above the cut fail with InvalidArgument naming the
  ///   truncation; those at or below it succeed (their records are durable). An append
  ///   in flight across two truncations fails whatever they cut (its record may still be
  ///   in the log, as for any failed append). sync() waiting for records that are cut
  ///   fails the same way.
  /// - Readers opened before the truncation, whatever their position, fail with
  ///   NotFound naming the new epoch (and, for a LogReader, the LSN truncated after): a
  ///   TailingReader at its next call (a call waiting meanwhile, at its timeout), a
  ///   LogReader (also in another process) at its next read of the log's files that
  ///   brings bytes. Neither ever returns a record whose LSN was handed
  ///   out again; what they returned before was in the log when they read it. Open a
  ///   new reader (at or below `lsn` + 1).
  /// - One truncation or release_before at a time; a scrub() overtaken by a truncation
  ///   ends with NotFound (not counted as corruption).
  KAYA_API Result<TruncateReport> truncate_after(Lsn lsn);

  /// The log's truncation epoch: how many truncations removed records from it (kept in
  /// the recovery point; 0 for a log never truncated). A reader that opened at another
  /// epoch reads a log whose LSNs may have been handed out again.
  KAYA_API uint32_t truncation_epoch() const;

  /// The format extensions the log is opted into (kExtensionBytes, kExtensionBatches
  /// bits, kaya/wal/config.h): what it had when opened plus WalConfig::extensions.
  KAYA_API uint64_t extensions() const;

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
  KAYA_API const RecoveryReport& recovery_report() const;
  /// The configuration the writer was opened with.
  KAYA_API const WalConfig& config() const;
  /// The disk the log is on.
  KAYA_API io::Disk& disk() const;

  /// For readers that follow the log. Waits until the record `lsn` is visible —
  /// durable, or written when `durable_only` is false — or `deadline` passes, and
  /// returns the first LSN not yet visible. Returns early with the poisoning error, or
  /// InvalidArgument once the writer is closed and `lsn` will never be written.
  KAYA_API Result<Lsn> wait_visible(Lsn lsn, bool durable_only,
                                    std::chrono::steady_clock::time_point deadline) const;

 private:
  struct Impl;  // the sequencer, the segment writer, retention (src/wal/writer.cc)
  explicit Writer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kaya::wal
