#include "kaya/wal/writer.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/guard.h"
#include "kaya/wal/recovery.h"
#include "wal/endian.h"
#include "wal/log_dir.h"
#include "wal/recovery_internal.h"
#include "wal/segment_reader.h"

namespace kaya::wal {
namespace {

// Staging buffers larger than this are given back after their write, so one burst of
// large records does not pin its memory for the writer's lifetime.
constexpr size_t kMaxKeptStagingBytes = 1 << 20;

// Relaxed stores into the map prefault this much ahead at a time (WritableMap::prefault).
constexpr uint64_t kPrefaultBytes = 64 << 10;

// Appends hold the lock for a copy of a record (about 100 ns): a thread that finds it
// taken retries this many times before it sleeps in the kernel, which with many
// appending threads costs more than the wait (relaxed, 64 threads on 2 cores: about
// 1.4x the throughput; see bench/wal_bench.cc, case relaxed64).
constexpr int kAppendLockSpins = 50;

std::unique_lock<std::mutex> lock_spinning(std::mutex& mu) {
  for (int i = 0; i < kAppendLockSpins; ++i) {
    if (mu.try_lock()) return std::unique_lock<std::mutex>(mu, std::adopt_lock);
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  return std::unique_lock<std::mutex>(mu);
}

uint64_t micros_since(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

}  // namespace

Result<std::unique_ptr<Writer>> Writer::open(const WalConfig& config, io::Disk& disk,
                                             const OpenOptions& options) {
  return core::guard([&] {
    return open_impl(config, disk, options, std::nullopt, SequenceNumber::first());
  });
}

Result<std::unique_ptr<Writer>> Writer::open_at(const WalConfig& config, io::Disk& disk,
                                                Lsn next_lsn,
                                                SequenceNumber next_sequence,
                                                const OpenOptions& options) {
  return core::guard(
      [&] { return open_impl(config, disk, options, next_lsn, next_sequence); });
}

Result<std::unique_ptr<Writer>> Writer::open_impl(const WalConfig& config, io::Disk& disk,
                                                  const OpenOptions& options,
                                                  std::optional<Lsn> next_lsn,
                                                  SequenceNumber next_sequence) {
  KAYA_RETURN_IF_ERROR(config.validate());
  KAYA_RETURN_IF_ERROR(disk.check_config(config));
  if (next_lsn && next_lsn->value() == 0) {
    return Error(ErrorKind::kInvalidArgument, "open_at: LSNs start at 1, got 0");
  }
  if (options.recovery.dry_run) {
    return Error(
        ErrorKind::kInvalidArgument,
        "Writer::open cannot use a dry-run recovery: the writer needs a repaired "
        "log (call recover() with dry_run for a report)");
  }
  if (next_lsn && next_lsn->value() == UINT64_MAX) {
    return Error(ErrorKind::kInvalidArgument,
                 "open_at: LSN 18446744073709551615 is the last; no writer hands it out");
  }
  KAYA_RETURN_IF_ERROR(log_dir::ensure_dir(disk));
  KAYA_ASSIGN_OR_RETURN(auto lock, log_dir::lock(disk));
  RecoveryOptions recovery = options.recovery;
  if (options.replay_from) recovery.visit_from = options.replay_from;
  const auto recovery_started = std::chrono::system_clock::now();
  KAYA_ASSIGN_OR_RETURN(RecoveryReport report,
                        recover_locked(config, disk, recovery, options.replay,
                                       /*persist=*/false));

  std::unique_ptr<Writer> w(new Writer(config, disk, std::move(lock)));
  uint64_t lsn = report.next_lsn.value();
  uint64_t sequence = report.next_sequence.value_or(SequenceNumber::first()).value();
  if (next_lsn) {
    if (report.records > 0 && next_lsn->value() != lsn) {
      return Error(ErrorKind::kInvalidArgument,
                   "open_at: the log ends before LSN " + std::to_string(lsn) +
                       ", cannot continue at LSN " + std::to_string(next_lsn->value()) +
                       " (that would leave a hole or reuse LSNs)");
    }
    lsn = next_lsn->value();
    sequence = next_sequence.value();
  }
  const std::vector<uint64_t> ids = report.segment_ids();
  const uint64_t segment = ids.empty() ? format::kFirstSegmentId : ids.back();
  uint64_t segment_bytes = 0;
  if (ids.empty()) {
    KAYA_RETURN_IF_ERROR(log_dir::create(disk, segment));
  } else {
    // Appends continue right after the last record: space a crashed writer had
    // preallocated past it goes, and records a crashed process left with the OS become
    // durable before any new one is acknowledged, so a later power loss cannot open a
    // hole before them.
    segment_bytes = report.segments.back().valid_bytes;
    KAYA_RETURN_IF_ERROR(log_dir::trim_tail(disk, segment, segment_bytes));
  }
  // The recovery point, written anew: every record kept is durable now.
  RecoveryPoint rp = report.recovery_point.value_or(RecoveryPoint{});
  rp.generation++;
  rp.max_record_bytes = std::max(rp.max_record_bytes, config.max_record_bytes);
  if (next_lsn && report.records == 0) {
    // open_at on an empty log: no record to name; the file records the limits only.
    rp.durable = RecordPosition{};
  }
  KAYA_RETURN_IF_ERROR(create_recovery_point(disk, rp));
  w->rp_file_ = std::make_unique<RecoveryPointFile>(disk, rp);
  w->rp_base_ = rp;
  w->durable_pos_ = rp.durable;
  w->written_pos_ = rp.durable;
  w->rp_persisted_lsn_ = rp.durable.lsn.value();

  w->next_lsn_ = lsn;
  w->next_sequence_ = sequence;
  w->tail_segment_id_ = segment;
  w->tail_segment_bytes_ = segment_bytes;
  w->written_lsn_ = lsn - 1;
  w->durable_lsn_ = lsn - 1;
  if (report.full_scan) {
    // Recovery read and verified every segment: a full check, as of its start.
    w->stats_.full_checks = 1;
    w->stats_.last_full_check_unix_ms =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  recovery_started.time_since_epoch())
                                  .count());
  }
  w->recovery_report_ = std::move(report);
  w->syncer_ =
      std::thread([writer = w.get()] { writer->run_guarded(&Writer::sync_loop); });
  // Where a write costs a copy into the page cache (a Disk that can map files), the
  // leading thread writes the recovery point itself after waking the appenders: cheaper
  // than waking another thread every round. Elsewhere (a remote Disk, where a write is a
  // round trip) a thread of its own writes it: after every round, or at most once per
  // recovery_point_sync_ms where every write is durable. Either way that thread syncs it.
  w->rp_inline_ = options.recovery_point_inline || disk.can_map();
  w->rp_sync_thread_ = !options.recovery_point_inline;
  if (w->rp_sync_thread_) {
    w->rp_thread_ = std::thread(
        [writer = w.get()] { writer->run_guarded(&Writer::recovery_point_loop); });
  }
  return w;
}

Writer::Writer(const WalConfig& config, io::Disk& disk,
               std::unique_ptr<io::FileLock> lock)
    : config_(config),
      disk_(disk),
      file_lock_(std::move(lock)),
      mapped_(config.preallocate_bytes > 0 && disk.can_map()) {}

Writer::~Writer() { (void)close(); }

Status Writer::usable_locked() const {
  if (poison_) {
    return Error(poison_->kind(), "the writer is poisoned by an earlier failure (" +
                                      poison_->message() +
                                      "); reopen the log to recover and continue");
  }
  if (closed_) return Error(ErrorKind::kInvalidArgument, "the writer is closed");
  return ok_status();
}

void Writer::poison_locked(const Error& error) noexcept {
  if (!poison_) {
    try {
      poison_ = error;
    } catch (...) {
      poison_ = core::out_of_memory();  // allocates nothing
    }
  }
  stats_.poisoned = true;
  staged_.clear();
  map_.reset();
  for (const SlotRef& slot : signal_waiters_locked()) slot->ready.release();
  cv_.notify_all();
  rp_cv_.notify_one();
}

void Writer::notify_progress_locked() {
  if (cv_waiters_ > 0) cv_.notify_all();
}

Result<AppendResult> Writer::append(const Payload& payload, DurabilityMode mode) {
  return core::guard([&] { return append_unguarded(payload, mode); });
}

Writer::SlotRef& Writer::wait_slot() {
  thread_local SlotRef slot;
  if (slot == nullptr) slot = std::make_shared<WaitSlot>();
  return slot;
}

Result<AppendResult> Writer::append_unguarded(const Payload& payload,
                                              DurabilityMode mode) {
  // Every allocation the record needs happens before it takes an LSN: one that fails
  // refuses the append (Internal, "out of memory ...") and leaves the writer as it was.
  // Encoding and the payload CRC happen before the lock; only the header is sealed
  // under it, since it carries the LSN.
  const uint64_t len = payload.encoded_len();
  if (len > config_.max_record_bytes) {
    return Error(ErrorKind::kInvalidArgument,
                 "record of " + std::to_string(len) + " bytes exceeds max_record_bytes " +
                     std::to_string(config_.max_record_bytes));
  }
  // Records are copied into the staging buffer or the map under the lock, so small
  // ones are encoded into a per-thread buffer: no allocation per append.
  constexpr uint64_t kScratchMax = 64 << 10;
  thread_local std::vector<uint8_t> scratch;
  std::vector<uint8_t> owned;
  std::span<uint8_t> bytes;
  try {
    if (len <= kScratchMax) {
      // Grows to the largest record this thread appended (at least a page), so memory
      // per appending thread stays near its record size.
      if (scratch.size() < len) scratch.resize(std::max<uint64_t>(len, 4096));
      bytes = std::span<uint8_t>(scratch.data(), len);
    } else {
      owned.resize(len);
      bytes = owned;
    }
    if (mode == DurabilityMode::kStrict) wait_slot();
  } catch (const std::bad_alloc&) {
    return core::out_of_memory_while(
        [&] { return "encoding a record of " + std::to_string(len) + " bytes"; });
  }
  KAYA_RETURN_IF_ERROR(encode_unsealed(payload, bytes));

  Lock lock = lock_spinning(mu_);
  KAYA_RETURN_IF_ERROR(usable_locked());
  // Rotation needs every earlier record written; a write in flight finishes first
  // (whoever wakes first rotates, the others find the new segment).
  while (tail_segment_bytes_ > 0 &&
         tail_segment_bytes_ + len > config_.segment_max_bytes) {
    if (writing_) {
      cv_waiters_++;
      cv_.wait(lock);
      cv_waiters_--;
      KAYA_RETURN_IF_ERROR(usable_locked());
      continue;
    }
    Status s = rotate_locked(lock);
    if (!s.ok()) {
      poison_locked(s.error());
      return s.error();
    }
  }
  if (next_lsn_ == UINT64_MAX || next_sequence_ == UINT64_MAX) {
    return Error(ErrorKind::kInvalidArgument,
                 "the log's LSN or sequence space is exhausted (next LSN " +
                     std::to_string(next_lsn_) + ", next sequence " +
                     std::to_string(next_sequence_) + ")");
  }
  // A relaxed record goes straight into the map when every earlier one is written: an
  // append is a copy. Everything else is staged and written with one system call per
  // batch, strict records by the sync leader right before its fsync: a store through
  // the map into a page the last fsync cleaned would take a page fault under the lock.
  const bool store =
      mapped_ && mode == DurabilityMode::kRelaxed && staged_.empty() && !writing_;
  const bool queue_strict =
      mode == DurabilityMode::kStrict && config_.batch.flush_interval_us > 0;
  if (mapped_) {
    // The record's place in the segment is allocated and mapped before it takes an
    // LSN too: a map is address space, which runs out like memory (a large record
    // under ulimit -v: mmap fails with ENOMEM), and a record refused for want of it
    // leaves the writer as it was. Any other failure (a full disk) poisons.
    Status s = map_window_locked(tail_segment_bytes_, len);
    if (!s.ok()) {
      if (!core::is_out_of_memory(s.error())) poison_locked(s.error());
      return s.error();
    }
  }
  try {
    // Room in the staging buffer and the batch queue, before the LSN is taken (the
    // lock is held from here until the record is staged).
    if (!store && staged_.capacity() - staged_.size() < len) {
      staged_.reserve(std::max<size_t>(staged_.size() + len, 2 * staged_.capacity()));
    }
    if (queue_strict) unsynced_strict_.emplace_back(next_lsn_, Clock::now());
  } catch (const std::bad_alloc&) {
    return core::out_of_memory_while(
        [&] { return "staging a record of " + std::to_string(len) + " bytes"; });
  }
  AppendResult result;
  result.lsn = Lsn(next_lsn_++);
  result.sequence = SequenceNumber(next_sequence_++);
  result.segment_id = tail_segment_id_;
  result.offset = tail_segment_bytes_;
  result.encoded_len = len;
  const uint64_t lsn = result.lsn.value();
  seal(bytes, result.lsn, result.sequence);
  const RecordPosition pos{result.lsn,
                           result.sequence,
                           result.segment_id,
                           result.offset,
                           static_cast<uint32_t>(len),
                           load_u32(bytes.data() + format::kHeaderCrcOffset)};
  tail_segment_bytes_ += len;
  assigned_bytes_ += len;
  if (store) {
    KAYA_RETURN_IF_ERROR(store_mapped_locked(bytes, pos));
  } else {
    if (staged_.empty()) staged_offset_ = result.offset;
    staged_.insert(staged_.end(), bytes.begin(), bytes.end());  // reserved: no allocation
    staged_last_lsn_ = lsn;
    staged_last_pos_ = pos;
    if (mode == DurabilityMode::kRelaxed) {
      KAYA_RETURN_IF_ERROR(wait_written(lock, lsn));
    } else if (config_.batch.flush_interval_us > 0 && batch_full_locked()) {
      notify_progress_locked();  // a leader waiting for companions has them
    }
  }
  if (mode == DurabilityMode::kRelaxed) {
    stats_.relaxed_records++;
    result.durable = durable_lsn_ >= lsn;
    return result;
  }
  KAYA_RETURN_IF_ERROR(wait_durable(lock, lsn, true, &result.fsync_duration_us));
  strict_acked_.fetch_add(1, std::memory_order_relaxed);
  result.durable = true;
  return result;
}

Status Writer::store_mapped_locked(std::span<const uint8_t> bytes,
                                   const RecordPosition& pos) {
  const uint64_t lsn = pos.lsn.value();
  const uint64_t offset = pos.offset;
  // Under the lock, in LSN order, after every earlier record: a process killed at any
  // instant leaves a prefix of the records (at most the last one torn), never a record
  // after a hole.
  const uint64_t len = bytes.size();
  if (offset + len > prefaulted_end_) {
    // Pages are made writable a chunk at a time, with one call: a page fault per page
    // under the lock cost more than the copies. Prefaulted pages no record reached yet
    // are written back as zeros by the next fsync: at most one chunk of them.
    const uint64_t map_end = map_->offset() + map_->data().size();
    const uint64_t from = std::max(prefaulted_end_, offset);
    const uint64_t to = std::min(map_end, std::max(offset + len, from + kPrefaultBytes));
    map_->prefault(from - map_->offset(), to - map_->offset());
    prefaulted_end_ = to;
  }
  const uint64_t at = offset - map_->offset();
  std::memcpy(map_->data().data() + at, bytes.data(), len);
  Status s = core::guard([&] { return map_->publish(at, at + len); });
  if (!s.ok()) {
    poison_locked(core::with_context_or_same(
        s.error(), [&] { return "storing LSN " + std::to_string(lsn); }));
    return usable_locked();
  }
  written_lsn_ = lsn;
  written_pos_ = pos;
  written_bytes_ += len;
  stats_.records++;
  stats_.bytes += len;
  notify_progress_locked();
  return ok_status();
}

Status Writer::map_window_locked(uint64_t offset, uint64_t len) {
  if (map_ != nullptr && offset >= map_->offset() &&
      offset + len <= map_->offset() + map_->data().size()) {
    return ok_status();
  }
  // A window of preallocate_bytes (or the record), not past the segment's limit.
  const uint64_t room = config_.segment_max_bytes > offset
                            ? config_.segment_max_bytes - offset
                            : uint64_t{0};
  const uint64_t window = std::max(len, std::min(config_.preallocate_bytes, room));
  map_.reset();
  const io::RelativePath path = log_dir::segment(tail_segment_id_);
  auto map = [&](uint64_t bytes) {
    return core::guard([&] { return disk_.map_for_write(path, offset, bytes); });
  };
  auto mapped = map(window);
  if (!mapped.ok() && window > len &&
      (mapped.error().kind() == ErrorKind::kDiskFull ||
       core::is_out_of_memory(mapped.error()))) {
    // Near a full disk, or short of memory or address space, room for this record
    // alone may still be there.
    mapped = map(len);
  }
  if (!mapped.ok() && mapped.error().message() == core::out_of_memory().message()) {
    return core::out_of_memory_while([&] {
      return "mapping [" + std::to_string(offset) + ", " + std::to_string(offset + len) +
             ") of " + disk_.describe(path) + " for a record of " + std::to_string(len) +
             " bytes";
    });
  }
  KAYA_ASSIGN_OR_RETURN(map_, std::move(mapped));
  prefaulted_end_ = offset;
  return ok_status();
}

Status Writer::rotate_locked(Lock& lock) {
  // The closing segment is durable (and cut to its records) before the next one
  // receives a record, so a crash always leaves a prefix; the new segment's entry is
  // durable before any strict acknowledgement can depend on it. Done under the lock:
  // once per segment.
  const uint64_t old_segment = tail_segment_id_;
  KAYA_RETURN_IF_ERROR(write_staged(lock, /*unlock=*/false));
  if (mapped_) {
    map_.reset();
    KAYA_RETURN_IF_ERROR(core::guard([&] {
      return disk_.truncate(log_dir::segment(old_segment), tail_segment_bytes_);
    }));
  }
  uint64_t us;
  Status s = timed_fsync(old_segment, &us);
  record_fsync_locked(us, s.ok());
  KAYA_RETURN_IF_ERROR(s);
  KAYA_RETURN_IF_ERROR(check_linked(old_segment));
  mark_durable_locked(written_lsn_, written_bytes_, written_pos_);
  for (const SlotRef& slot : signal_waiters_locked()) slot->ready.release();
  if (old_segment == UINT64_MAX) {
    return Error(ErrorKind::kInvalidArgument,
                 "segment id 18446744073709551615 is the last: the log cannot rotate");
  }
  // The recovery point covers the sealed segment, durably, before the next segment
  // exists: a segment that is not the last is then always at or below it.
  if (written_lsn_ > 0) {
    rp_base_.sealed_segment_id = old_segment;
    rp_base_.sealed_segment_bytes = tail_segment_bytes_;
    rp_base_.sealed_last_lsn = Lsn(written_lsn_);
  }
  KAYA_RETURN_IF_ERROR(persist_recovery_point(recovery_point_locked(), /*sync=*/true));
  rp_persisted_lsn_ = durable_pos_.lsn.value();
  stats_.dir_fsyncs++;
  KAYA_RETURN_IF_ERROR(
      core::guard([&] { return log_dir::create_segment(disk_, old_segment + 1); }));
  stats_.rotations++;
  tail_segment_id_ = old_segment + 1;
  tail_segment_bytes_ = 0;
  return ok_status();
}

Status Writer::finish_mapped_locked() {
  return core::guard([&]() -> Status {
    // First a sync, which fails after a simulated crash, so that a dead writer changes
    // nothing; then the unused space goes and the cut is made durable.
    const io::RelativePath path = log_dir::segment(tail_segment_id_);
    stats_.fsyncs++;
    KAYA_RETURN_IF_ERROR(disk_.fsync_file(path));
    map_.reset();
    KAYA_RETURN_IF_ERROR(disk_.truncate(path, tail_segment_bytes_));
    stats_.fsyncs++;
    return disk_.fsync_file(path);
  });
}

Status Writer::wait_written(Lock& lock, uint64_t lsn) {
  while (written_lsn_ < lsn) {
    if (poison_) return usable_locked();
    if (!writing_) {
      KAYA_RETURN_IF_ERROR(write_staged(lock, true));
    } else {
      cv_waiters_++;
      cv_.wait(lock);
      cv_waiters_--;
    }
  }
  return ok_status();
}

Status Writer::write_out(uint64_t segment, uint64_t offset,
                         std::span<const uint8_t> bytes) {
  return core::guard([&]() -> Status {
    const io::RelativePath path = log_dir::segment(segment);
    // Mapped mode: the space is allocated (map_window_locked), the file that long.
    if (mapped_) return disk_.write_at(path, offset, bytes);
    KAYA_ASSIGN_OR_RETURN(uint64_t at, disk_.append(path, bytes));
    if (at != offset) {
      return Error(ErrorKind::kInvariantViolation,
                   disk_.describe(path) + ": records for offset " +
                       std::to_string(offset) + " landed at " + std::to_string(at) +
                       "; another process may be writing this log");
    }
    return ok_status();
  });
}

Status Writer::write_staged(Lock& lock, bool unlock) {
  if (staged_.empty()) return ok_status();
  const uint64_t first = written_lsn_ + 1;
  const uint64_t last = staged_last_lsn_;
  const RecordPosition last_pos = staged_last_pos_;
  const uint64_t offset = staged_offset_;
  const uint64_t segment = tail_segment_id_;
  writing_ = true;
  in_flight_.swap(staged_);  // appends go on staging into the other buffer
  if (unlock) lock.unlock();
  Status s = write_out(segment, offset, in_flight_);
  if (unlock) lock.lock();
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
  written_lsn_ = last;
  written_pos_ = last_pos;
  written_bytes_ += bytes;
  stats_.records += last - first + 1;
  stats_.bytes += bytes;
  notify_progress_locked();
  return ok_status();
}

Status Writer::timed_fsync(uint64_t segment, uint64_t* us) {
  const auto start = Clock::now();
  Status s = core::guard([&] { return disk_.fsync_file(log_dir::segment(segment)); });
  *us = micros_since(start);
  return s;
}

Status Writer::check_linked(uint64_t segment) {
  // An fsync of a file that was unlinked (rm -r wal/ under the writer) succeeds, and so
  // do writes through its open descriptor: only this check keeps the writer from
  // acknowledging records that are in no file any more.
  return core::guard([&]() -> Status {
    const io::RelativePath path = log_dir::segment(segment);
    KAYA_ASSIGN_OR_RETURN(bool linked, disk_.still_linked(path));
    if (linked) return ok_status();
    return Error(ErrorKind::kNotFound,
                 disk_.describe(path) +
                     " was removed while the writer had it open (the segment or its "
                     "directory was deleted): records written to it are in no file; "
                     "restore the log from a copy, or reopen it to continue after what "
                     "is left");
  });
}

void Writer::record_fsync_locked(uint64_t us, bool ok) {
  stats_.fsyncs++;
  stats_.fsync_duration_us.record(us);
  if (ok) last_fsync_duration_us_ = us;
}

Status Writer::wait_durable(Lock& lock, uint64_t lsn, bool wait_for_batch,
                            uint64_t* fsync_duration_us) {
  while (durable_lsn_ < lsn) {
    if (poison_) return usable_locked();
    if (!syncing_) {
      // No sync runs: this append leads one itself (no hand-off to another thread,
      // which matters when appends come one at a time). Whoever arrives while it runs
      // waits; if anyone does, the syncer thread takes over for the next round.
      sync_round(lock, wait_for_batch);
      if (!durable_waiters_.empty() && !poison_) {
        syncer_run_ = true;
        syncer_cv_.notify_one();
      }
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
      cv_waiters_++;
      cv_.wait(lock);
      cv_waiters_--;
      continue;
    }
    slot->lsn = lsn;
    slot->covered = false;
    lock.unlock();
    slot->ready.acquire();
    if (slot->covered) {
      if (fsync_duration_us) *fsync_duration_us = slot->fsync_us;
      return ok_status();  // without the writer's lock: nothing more to do under it
    }
    lock.lock();
  }
  if (fsync_duration_us) *fsync_duration_us = last_fsync_duration_us_;
  return ok_status();
}

void Writer::sync_round(Lock& lock, bool wait_for_batch) {
  syncing_ = true;
  try {
    if (wait_for_batch) wait_for_companions(lock);
    sync_as_leader(lock);
  } catch (...) {
    // Out of memory on a failure path (its message): the round ends poisoned, and the
    // leader role is given back whatever happened.
    if (!lock.owns_lock()) lock.lock();
    poison_locked(core::error_from_exception());
  }
  syncing_ = false;
  // Wake exactly the waiters this sync covered, outside the writer's lock.
  std::vector<SlotRef> woken = signal_waiters_locked();
  notify_progress_locked();
  const bool write_rp =
      rp_inline_ && !poison_ && durable_pos_.lsn.value() != rp_persisted_lsn_;
  const RecoveryPoint point = write_rp ? recovery_point_locked() : RecoveryPoint{};
  lock.unlock();
  for (const SlotRef& slot : woken) slot->ready.release();
  woken.clear();  // drops the references outside the lock too
  // Inline: the recovery point follows now, after the covered appenders are woken;
  // the recovery point thread syncs it within recovery_point_sync_ms.
  Status s = write_rp ? persist_recovery_point(point, /*sync=*/false) : ok_status();
  lock.lock();
  if (!s.ok()) {
    poison_locked(core::with_context_or_same(
        s.error(), [] { return "updating the recovery point"; }));
  } else if (write_rp) {
    rp_persisted_lsn_ = std::max(rp_persisted_lsn_, point.durable.lsn.value());
    if (rp_sync_thread_ && !rp_unsynced_) {
      rp_unsynced_ = true;  // one wake-up per sync interval, not per round
      rp_cv_.notify_one();
    }
  }
}

void Writer::sync_loop() {
  // Back-to-back syncs while appends wait for them, as one I/O thread would do: no
  // hand-off between rounds.
  Lock lock(mu_);
  for (;;) {
    syncer_cv_.wait(lock, [&] { return stop_syncer_ || (syncer_run_ && !syncing_); });
    if (stop_syncer_) return;
    syncer_run_ = false;
    while (!poison_ && !syncing_ && !durable_waiters_.empty()) {
      sync_round(lock, /*wait_for_batch=*/true);
    }
  }
}

void Writer::run_guarded(void (Writer::*loop)()) noexcept {
  // An exception leaving a thread would end the process: it poisons the writer instead
  // (the loops keep their state consistent; only allocations fail here).
  try {
    (this->*loop)();
  } catch (...) {
    Error error = core::error_from_exception();
    Lock lock(mu_);
    poison_locked(error);
  }
}

std::vector<Writer::SlotRef> Writer::signal_waiters_locked() noexcept {
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

bool Writer::batch_full_locked() const {
  const BatchConfig& batch = config_.batch;
  const uint64_t records = next_lsn_ - 1 - durable_lsn_;
  const uint64_t bytes = assigned_bytes_ - durable_bytes_;
  return (batch.max_records > 0 && records >= batch.max_records) ||
         (batch.max_bytes > 0 && bytes >= batch.max_bytes);
}

void Writer::wait_for_companions(Lock& lock) {
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

void Writer::sync_as_leader(Lock& lock) {
  // Cover everything queued when the sync starts (but not what keeps arriving, so a
  // stream of relaxed appends cannot starve it).
  const uint64_t target = next_lsn_ - 1;
  if (!wait_written(lock, target).ok()) return;
  const uint64_t covered_lsn = written_lsn_;
  const uint64_t covered_bytes = written_bytes_;
  const RecordPosition covered_pos = written_pos_;
  const uint64_t segment = tail_segment_id_;
  if (covered_lsn <= durable_lsn_) return;  // a rotation synced it meanwhile
  lock.unlock();
  uint64_t us;
  Status s = timed_fsync(segment, &us);
  const bool synced = s.ok();
  // One cheap check per round (FileDisk: a statx), before anything is acknowledged.
  if (synced) s = check_linked(segment);
  lock.lock();
  record_fsync_locked(us, synced);
  if (!s.ok()) {
    poison_locked(core::with_context_or_same(s.error(), [&] {
      return "fsync covering LSN " + std::to_string(durable_lsn_ + 1) + ".." +
             std::to_string(covered_lsn);
    }));
    return;
  }
  mark_durable_locked(covered_lsn, covered_bytes, covered_pos);
}

void Writer::mark_durable_locked(uint64_t lsn, uint64_t bytes,
                                 const RecordPosition& pos) {
  if (lsn <= durable_lsn_) return;
  stats_.records_per_fsync.record(lsn - durable_lsn_);
  durable_lsn_ = lsn;
  durable_bytes_ = bytes;
  durable_pos_ = pos;
  // The recovery point follows, off the path.
  if (!rp_inline_ && rp_waits_for_change_) rp_cv_.notify_one();
  while (!unsynced_strict_.empty() && unsynced_strict_.front().first <= lsn) {
    unsynced_strict_.pop_front();
  }
  notify_progress_locked();
}

Status Writer::sync() {
  return core::guard([&]() -> Status {
    Lock lock(mu_);
    KAYA_RETURN_IF_ERROR(usable_locked());
    const uint64_t target = next_lsn_ - 1;
    KAYA_RETURN_IF_ERROR(wait_written(lock, target));
    return wait_durable(lock, target, false, nullptr);
  });
}

Status Writer::close() {
  Lock lock(mu_);
  // A poisoned writer reports its poisoning on every close, the first included.
  auto poisoned = [&] { return core::guard([&] { return usable_locked(); }); };
  if (closed_) return poison_ ? poisoned() : ok_status();
  // Admit no new append, then let every admitted one be written and synced, and wait
  // for all I/O in flight: the lock is released only once no byte can reach the log
  // from this writer any more. A poisoned writer issues no more I/O: after a failure
  // nothing it still holds may be made durable, nor any file cut (docs/durability.md).
  closed_ = true;
  cv_waiters_++;
  // Whatever throws (out of memory), the threads are stopped and the lock released
  // below: every step is guarded.
  Status s = poison_ ? poisoned()
                     : core::guard([&] { return wait_written(lock, next_lsn_ - 1); });
  if (s.ok()) {
    s = core::guard([&] { return wait_durable(lock, next_lsn_ - 1, false, nullptr); });
  }
  if (!lock.owns_lock()) lock.lock();
  cv_.wait(lock, [&] { return !writing_ && !syncing_; });
  cv_waiters_--;
  stop_syncer_ = true;
  syncer_cv_.notify_one();
  stop_rp_ = true;
  rp_cv_.notify_one();
  if (syncer_.joinable() || rp_thread_.joinable()) {
    lock.unlock();
    if (syncer_.joinable()) syncer_.join();
    if (rp_thread_.joinable()) rp_thread_.join();
    lock.lock();
  }
  // The syncer or the recovery point thread may have failed meanwhile.
  if (s.ok() && poison_) s = poisoned();
  // A log removed after the last round: close() must not report it closed cleanly.
  if (s.ok()) {
    s = check_linked(tail_segment_id_);
    if (!s.ok()) poison_locked(s.error());
  }
  if (s.ok() && mapped_) {
    s = finish_mapped_locked();
    if (!s.ok()) poison_locked(s.error());
  }
  if (s.ok() && !poison_) {
    // Everything appended is durable: the recovery point says so, durably.
    s = persist_recovery_point(recovery_point_locked(), /*sync=*/true);
    if (!s.ok()) poison_locked(s.error());
  }
  map_.reset();
  file_lock_.reset();
  cv_.notify_all();
  return s;
}

WriterStats Writer::stats() const {
  Lock lock(mu_);
  WriterStats out = stats_;
  out.strict_records = strict_acked_.load(std::memory_order_relaxed);
  out.active_segment_id = tail_segment_id_;
  out.next_lsn = Lsn(next_lsn_);
  out.durable_lsn_end = Lsn(durable_lsn_ + 1);
  out.poisoned = poison_.has_value();
  // Metrics: recovery kept these segments (an empty log gets a new first one).
  out.segments = std::max<uint64_t>(1, recovery_report_.segments.size()) + out.rotations -
                 out.segments_released;
  return out;
}

Result<Lsn> Writer::wait_visible(Lsn lsn, bool durable_only,
                                 std::chrono::steady_clock::time_point deadline) const {
  return core::guard([&] { return wait_visible_unguarded(lsn, durable_only, deadline); });
}

Result<Lsn> Writer::wait_visible_unguarded(
    Lsn lsn, bool durable_only, std::chrono::steady_clock::time_point deadline) const {
  Lock lock(mu_);
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

Result<ReleaseReport> Writer::release_before(Lsn lsn) {
  return core::guard([&] { return release_before_unguarded(lsn); });
}

Result<ReleaseReport> Writer::release_before_unguarded(Lsn lsn) {
  std::lock_guard<std::mutex> release_lock(release_mu_);
  uint64_t active;
  {
    Lock lock(mu_);
    KAYA_RETURN_IF_ERROR(usable_locked());
    active = tail_segment_id_;
  }
  KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, log_dir::list_segments(disk_));
  // The recovery point must not name a record in a segment about to go: it is brought
  // up to the durable end first (which lies in a segment that stays).
  RecoveryPoint rp;
  {
    Lock lock(mu_);
    rp = recovery_point_locked();
  }
  KAYA_RETURN_IF_ERROR(persist_recovery_point(rp, /*sync=*/true));
  ReleaseReport report;
  size_t i = 0;
  for (; i < ids.size(); ++i) {
    const uint64_t id = ids[i];
    if (id >= active) {
      report.stopped_because = "segment " + std::to_string(id) + " is the active segment";
      break;
    }
    if (i + 1 >= ids.size() || log_dir::hole_before(ids, i + 1)) {
      return Error(ErrorKind::kCorruption, disk_.describe(log_dir::segment(id + 1)) +
                                               " is missing: the log has a hole " +
                                               "after segment " + std::to_string(id) +
                                               "; nothing more was released");
    }
    // Segment `id` holds LSNs below the first LSN of the segment after it.
    KAYA_ASSIGN_OR_RETURN(std::optional<Lsn> next_first,
                          log_dir::first_lsn(disk_, id + 1, config_.max_record_bytes));
    if (!next_first) {
      report.stopped_because = "segment " + std::to_string(id + 1) +
                               " has no record yet, so the end of " + "segment " +
                               std::to_string(id) + " is not known from the disk";
      break;
    }
    if (next_first->value() > lsn.value()) {
      report.stopped_because = "segment " + std::to_string(id) +
                               " holds LSNs at or above " + std::to_string(lsn.value());
      break;
    }
    // Keep a segment until a *durable* record follows it: if every record left after
    // the release could be lost in a power loss, recovery would find an empty log and
    // the next writer would hand out LSNs again from 1.
    // The durable end is taken from the recovery point made durable above (not the
    // writer's newer one): the record that point names must stay in the log.
    const uint64_t durable_lsn = rp.durable.lsn.value();
    if (next_first->value() > durable_lsn) {
      report.stopped_because = "the first record after segment " + std::to_string(id) +
                               " (LSN " + std::to_string(next_first->value()) +
                               ") is not durable yet; sync() first";
      break;
    }
    KAYA_ASSIGN_OR_RETURN(uint64_t bytes, disk_.file_len(log_dir::segment(id)));
    // Removals become durable one by one, oldest first: a crash can never leave a hole
    // in the middle of the log.
    KAYA_RETURN_IF_ERROR(log_dir::remove_segment(disk_, id));
    report.segments_removed++;
    report.bytes_released += bytes;
    Lock lock(mu_);
    stats_.segments_released++;
    stats_.bytes_released += bytes;
  }
  if (i < ids.size()) {
    KAYA_ASSIGN_OR_RETURN(report.first_lsn_kept,
                          log_dir::first_lsn(disk_, ids[i], config_.max_record_bytes));
  }
  return report;
}

RecoveryPoint Writer::recovery_point_locked() const {
  RecoveryPoint p = rp_base_;
  p.durable = durable_pos_;
  return p;
}

Status Writer::persist_recovery_point(const RecoveryPoint& point, bool sync) {
  std::lock_guard<std::mutex> guard(rp_mu_);
  if (rp_file_ == nullptr) return ok_status();  // open failed before creating it
  const RecoveryPoint& last = rp_file_->last();
  // Writers of the file race (the recovery point thread, rotation, release, close):
  // a snapshot older than what the file holds is not written back.
  const bool newer = point.durable.lsn > last.durable.lsn ||
                     point.sealed_segment_id > last.sealed_segment_id;
  return core::guard([&]() -> Status {
    if (newer) KAYA_RETURN_IF_ERROR(rp_file_->write(point));
    if (sync) KAYA_RETURN_IF_ERROR(rp_file_->sync());
    return ok_status();
  });
}

void Writer::recovery_point_loop() {
  const auto interval = std::chrono::milliseconds(config_.recovery_point_sync_ms);
  Lock lock(mu_);
  auto stopped = [&] { return stop_rp_ || poison_.has_value(); };
  if (rp_inline_) {
    // The leading threads write it; this thread syncs what they wrote, at the latest
    // one interval after the first write since the last sync.
    for (;;) {
      rp_cv_.wait(lock, [&] { return stopped() || rp_unsynced_; });
      if (stopped()) return;
      rp_cv_.wait_until(lock, Clock::now() + interval, stopped);
      if (stopped()) return;
      rp_unsynced_ = false;
      lock.unlock();
      Status s = persist_recovery_point(RecoveryPoint{}, /*sync=*/true);
      lock.lock();
      if (!s.ok()) {
        poison_locked(core::with_context_or_same(
            s.error(), [] { return "syncing the recovery point"; }));
        return;
      }
    }
  }
  if (disk_.writes_are_durable()) {
    // Every write is a sync here, and on a cluster every write costs the storage nodes
    // as much as a record's: the recovery point is written at most once per interval
    // while it changes (the window a power loss leaves on any Disk), not once per round.
    Clock::time_point next_write{};
    for (;;) {
      rp_waits_for_change_ = true;
      rp_cv_.wait(lock, [&] {
        return stopped() || durable_pos_.lsn.value() != rp_persisted_lsn_;
      });
      rp_waits_for_change_ = false;
      if (stopped()) return;
      if (rp_cv_.wait_until(lock, next_write, stopped)) return;
      const RecoveryPoint point = recovery_point_locked();
      lock.unlock();
      Status s = persist_recovery_point(point, /*sync=*/false);
      lock.lock();
      if (!s.ok()) {
        poison_locked(core::with_context_or_same(
            s.error(), [] { return "updating the recovery point"; }));
        return;
      }
      rp_persisted_lsn_ = std::max(rp_persisted_lsn_, point.durable.lsn.value());
      next_write = Clock::now() + interval;
    }
  }
  // This thread writes it after every round (woken by mark_durable_locked) and syncs it
  // at the latest one interval after the first write since the last sync.
  bool unsynced = false;         // written since the last sync
  Clock::time_point sync_due{};  // when unsynced: sync by then
  for (;;) {
    auto behind = [&] {
      return stopped() || durable_pos_.lsn.value() != rp_persisted_lsn_;
    };
    rp_waits_for_change_ = true;
    if (unsynced) {
      rp_cv_.wait_until(lock, sync_due, behind);
    } else {
      rp_cv_.wait(lock, behind);
    }
    rp_waits_for_change_ = false;
    if (stopped()) return;
    const bool sync = unsynced && Clock::now() >= sync_due;
    const RecoveryPoint point = recovery_point_locked();
    lock.unlock();
    Status s = persist_recovery_point(point, sync);
    lock.lock();
    if (!s.ok()) {
      poison_locked(core::with_context_or_same(
          s.error(), [] { return "updating the recovery point"; }));
      return;
    }
    rp_persisted_lsn_ = std::max(rp_persisted_lsn_, point.durable.lsn.value());
    if (sync) {
      unsynced = false;
    } else if (!unsynced) {
      unsynced = true;
      sync_due = Clock::now() + interval;
    }
  }
}

Lsn Writer::next_lsn() const {
  Lock lock(mu_);
  return Lsn(next_lsn_);
}

}  // namespace kaya::wal
