// Sequencer, part one: the appends, encoding, LSN assignment and the choice between a
// store and staging, poison. The writing role is in sequencer_write.cc, rotation and
// the close of sealed segments in sequencer_rotation.cc, the sync leader, the syncer
// and the waiters in group_commit.cc; close and what the rest of the writer reads of
// the progress in sequencer_progress.cc.

#include "wal/sequencer.h"

#include <algorithm>
#include <string>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/codec_internal.h"
#include "wal/endian.h"

namespace kaya::wal {
namespace {

// Appends hold the lock for a copy of a record (about 100 ns): a thread that finds it
// taken retries this many times before it sleeps in the kernel, which with many
// appending threads costs more than the wait (relaxed, 64 threads on 2 cores: about
// 1.4x the throughput; see bench/wal_bench_relaxed.cc, case relaxed64).
constexpr int kAppendLockSpins = 50;

void lock_spinning(core::Mutex& mu) KAYA_ACQUIRE(mu) KAYA_NO_THREAD_SAFETY_ANALYSIS {
  for (int i = 0; i < kAppendLockSpins; ++i) {
    if (mu.try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  mu.lock();
}

// Records up to this size are encoded into a per-thread buffer: no allocation per
// append (they are copied into the staging buffer or the map under the lock).
constexpr uint64_t kScratchMax = 64 << 10;

}  // namespace

Sequencer::Sequencer(const WalConfig& config, SegmentWriter& segment,
                     RecoveryPointKeeper& rp, std::unique_ptr<io::FileLock> log_lock)
    : config_(config), segment_(segment), rp_(rp), log_lock_(std::move(log_lock)) {}

Sequencer::~Sequencer() {
  if (syncer_.joinable() || completer_.joinable()) {
    {
      core::MutexLock lock(mu_);
      stop_syncer_ = true;
      stop_completer_ = true;
      syncer_cv_.notify_one();
      completer_cv_.notify_one();
    }
    if (syncer_.joinable()) syncer_.join();
    if (completer_.joinable()) completer_.join();
  }
}

void Sequencer::start(const Start& start) {
  core::MutexLock lock(mu_);  // no other thread yet; the analysis asks for it
  next_lsn_ = start.next_lsn;
  next_sequence_ = start.next_sequence;
  epoch_ = start.truncation_epoch;
  extensions_ = start.extensions;
  closes_in_background_ = start.closes_in_background;
  marker_flags_ = static_cast<uint16_t>(extensions_ & format::kExtensionMarkerFlags);
  written_lsn_ = start.next_lsn - 1;
  durable_lsn_ = start.next_lsn - 1;
  written_pos_ = start.durable;
  durable_pos_ = start.durable;
  stats_.full_checks = start.full_checks;
  stats_.last_full_check_unix_ms = start.last_full_check_unix_ms;
  syncer_ = std::thread([this] { run_guarded([this] { sync_loop(); }); });
}

Status Sequencer::usable_locked() const {
  if (poison_) {
    return Error(poison_->kind(), "the writer is poisoned by an earlier failure (" +
                                      poison_->message() +
                                      "); reopen the log to recover and continue");
  }
  if (closed_) return Error(ErrorKind::kInvalidArgument, "the writer is closed");
  return ok_status();
}

void Sequencer::poison_locked(const Error& error) noexcept {
  if (!poison_) {
    try {
      poison_ = error;
    } catch (...) {
      poison_ = core::out_of_memory();  // allocates nothing
    }
  }
  stats_.poisoned = true;
  staged_.clear();
  // The appenders whose writes completed ahead learn of it (the vector keeps its
  // capacity: clearing allocates nothing).
  for (const Written& w : written_ahead_) {
    if (w.waiter != nullptr) w.waiter->ready.release();
  }
  written_ahead_.clear();
  segment_.drop_map_locked();
  for (const SlotRef& slot : signal_waiters_locked()) slot->ready.release();
  cv_.notify_all();
  completer_cv_.notify_one();  // every async append pending now fails
  rp_.wake_locked();
}

void Sequencer::poison_unlocked(const Error& error) noexcept {
  core::MutexLock lock(mu_);
  poison_locked(error);
}

Sequencer::SlotRef& Sequencer::wait_slot() {
  thread_local SlotRef slot;
  if (slot == nullptr) slot = std::make_shared<WaitSlot>();
  return slot;
}

void Sequencer::wait_progress(Lock& lock) const {
  cv_waiters_++;
  cv_.wait(lock);
  cv_waiters_--;
}

Status Sequencer::require_extension(uint64_t extension, std::string_view what) const {
  if ((extensions_ & extension) != 0) return ok_status();
  return Error(ErrorKind::kInvalidArgument,
               std::string(what) + " needs the log to be opted into the " +
                   extensions_to_string(extension) +
                   " extension (WalConfig::extensions; the log's extensions: " +
                   extensions_to_string(extensions_) +
                   "); a log without it stays a KayaDB v1 log (docs/format.md, "
                   "\"Extensions\")");
}

Result<AppendResult> Sequencer::append(const Payload& payload, DurabilityMode mode) {
  KAYA_ASSIGN_OR_RETURN(BatchResult r,
                        append_batch(std::span<const Payload>(&payload, 1), mode));
  AppendResult result;
  result.lsn = r.first_lsn;
  result.sequence = r.first_sequence;
  result.segment_id = r.segment_id;
  result.offset = r.offset;
  result.encoded_len = r.encoded_len;
  result.durable = r.durable;
  result.fsync_duration_us = r.fsync_duration_us;
  return result;
}

BatchResult Sequencer::staged_batch(const AppendResult& first, Lsn last_lsn,
                                    uint64_t encoded_len) {
  BatchResult result;
  result.first_lsn = first.lsn;
  result.last_lsn = last_lsn;
  result.first_sequence = first.sequence;
  result.segment_id = first.segment_id;
  result.offset = first.offset;
  result.encoded_len = encoded_len;
  return result;
}

Status Sequencer::encode_records(std::span<const Payload> payloads, bool batch,
                                 std::span<uint8_t> bytes) const {
  uint64_t at = 0;
  for (size_t i = 0; i < payloads.size(); ++i) {
    const uint64_t len = payloads[i].encoded_len();
    const std::span<uint8_t> record = bytes.subspan(at, len);
    KAYA_RETURN_IF_ERROR(encode_unsealed(payloads[i], record));
    uint16_t flags = marker_flags_;
    if (batch && i + 1 < payloads.size()) flags |= format::kFlagBatchContinues;
    if (flags != format::kFlagsV1) set_unsealed_flags(record, flags);
    at += len;
  }
  return ok_status();
}

Result<BatchResult> Sequencer::append_batch(std::span<const Payload> payloads,
                                            DurabilityMode mode, Completion* done) {
  // Every allocation the records need happens before they take an LSN: one that fails
  // refuses the append (Internal, "out of memory ...") and leaves the writer as it was.
  // Encoding and the payload CRCs happen before the lock; only the headers are sealed
  // under it, since they carry the LSNs.
  const bool batch = payloads.size() != 1;
  if (payloads.empty()) {
    return Error(ErrorKind::kInvalidArgument, "append_batch: the batch is empty");
  }
  if (batch) KAYA_RETURN_IF_ERROR(require_extension(kExtensionBatches, "a batch"));
  uint64_t total = 0;
  for (size_t i = 0; i < payloads.size(); ++i) {
    const Payload& payload = payloads[i];
    if (payload.type == RecordType::kBytes) {
      KAYA_RETURN_IF_ERROR(require_extension(kExtensionBytes, "a Bytes record"));
    }
    const uint64_t len = payload.encoded_len();
    if (len > config_.max_record_bytes) {
      return Error(ErrorKind::kInvalidArgument,
                   (batch ? "record " + std::to_string(i) + " of the batch: " : "") +
                       "record of " + std::to_string(len) +
                       " bytes exceeds max_record_bytes " +
                       std::to_string(config_.max_record_bytes));
    }
    total += len;
  }
  if (batch && total > config_.segment_max_bytes) {
    // A batch never spans segments (docs/batches.md).
    return Error(ErrorKind::kInvalidArgument,
                 "a batch of " + std::to_string(payloads.size()) + " records and " +
                     std::to_string(total) + " bytes is larger than segment_max_bytes " +
                     std::to_string(config_.segment_max_bytes) +
                     " (a batch never spans segments)");
  }
  thread_local std::vector<uint8_t> scratch;
  std::vector<uint8_t> owned;
  std::span<uint8_t> bytes;
  try {
    if (total <= kScratchMax) {
      // Grows to the largest record this thread appended (at least a page), so memory
      // per appending thread stays near its record size.
      if (scratch.size() < total) scratch.resize(std::max<uint64_t>(total, 4096));
      bytes = std::span<uint8_t>(scratch.data(), total);
    } else {
      owned.resize(total);
      bytes = owned;
    }
    // A strict append may wait on it for a sync, a large relaxed one for the writes
    // before its own (write_own()).
    if (done == nullptr &&
        (mode == DurabilityMode::kStrict || writes_own(total, mode, false))) {
      wait_slot();
    }
  } catch (const std::bad_alloc&) {
    return core::out_of_memory_while([&] {
      return batch ? "encoding a batch of " + std::to_string(payloads.size()) +
                         " records and " + std::to_string(total) + " bytes"
                   : "encoding a record of " + std::to_string(total) + " bytes";
    });
  }
  KAYA_RETURN_IF_ERROR(encode_records(payloads, batch, bytes));

  lock_spinning(mu_);
  core::MutexLock guard(mu_, std::adopt_lock);
  Lock& lock = guard.native();
  wait_not_truncating(lock);
  KAYA_RETURN_IF_ERROR(usable_locked());
  if (done != nullptr) {
    KAYA_RETURN_IF_ERROR(admit_async(lock, total));
    return queue_async(lock, bytes, payloads.size(), mode, std::move(*done));
  }
  KAYA_RETURN_IF_ERROR(make_room(lock, total, payloads.size()));
  RecordPosition last;
  KAYA_ASSIGN_OR_RETURN(AppendResult first,
                        assign_and_stage(lock, bytes, payloads.size(), mode, &last));
  BatchResult result = staged_batch(first, last.lsn, total);
  if (mode == DurabilityMode::kRelaxed) {
    stats_.relaxed_records += payloads.size();
    result.durable = durable_lsn_ >= last.lsn.value();
    return result;
  }
  KAYA_RETURN_IF_ERROR(
      wait_durable(lock, last.lsn.value(), true, &result.fsync_duration_us));
  strict_acked_.fetch_add(payloads.size(), std::memory_order_relaxed);
  result.durable = true;
  return result;
}

Status Sequencer::make_room(Lock& lock, uint64_t len, uint64_t count) {
  // Rotation needs every earlier record written; a write in flight finishes first
  // (whoever wakes first rotates, the others find the new segment), and so does a sync
  // round when the rotation must close a segment itself (kMaxClosing pending).
  while (segment_.full_for_locked(len)) {
    if (write_in_flight_locked() || (closing_count_ == kMaxClosing && syncing_)) {
      wait_progress(lock);
      KAYA_RETURN_IF_ERROR(usable_locked());
      continue;
    }
    Status s = rotate_locked(lock);
    if (!s.ok()) {
      poison_locked(s.error());
      return s.error();
    }
  }
  if (UINT64_MAX - next_lsn_ < count || UINT64_MAX - next_sequence_ < count) {
    return Error(ErrorKind::kInvalidArgument,
                 "the log's LSN or sequence space is exhausted (next LSN " +
                     std::to_string(next_lsn_) + ", next sequence " +
                     std::to_string(next_sequence_) + ", " + std::to_string(count) +
                     " records)");
  }
  return ok_status();
}

Result<AppendResult> Sequencer::assign_and_stage(Lock& lock, std::span<uint8_t> bytes,
                                                 uint64_t count, DurabilityMode mode,
                                                 RecordPosition* last, bool async) {
  const uint64_t len = bytes.size();
  // A small relaxed record goes straight into the map when every earlier one is
  // written: an append is a copy (SegmentWriter::stores()). Everything else is staged
  // and written with one system call per batch, strict records by the sync leader
  // right before its fsync: a store through the map into a page the last fsync cleaned
  // would take a page fault under the lock.
  const bool store = segment_.stores(len) && mode == DurabilityMode::kRelaxed &&
                     staged_.empty() && !write_in_flight_locked();
  // A large relaxed record is written by its appender (write_own()), unless records
  // are staged before it (staged records are contiguous: it joins them).
  const bool own_write = writes_own(len, mode, async) && staged_.empty();
  const bool queue_strict =
      mode == DurabilityMode::kStrict && config_.batch.flush_interval_us > 0;
  if (segment_.mapped()) {
    // The record's place in the segment is allocated and mapped before it takes an
    // LSN too: a map is address space, which runs out like memory (a large record
    // under ulimit -v: mmap fails with ENOMEM), and a record refused for want of it
    // leaves the writer as it was. Any other failure (a full disk) poisons.
    Status s = segment_.map_locked(segment_.bytes_locked(), len);
    if (!s.ok()) {
      if (!core::is_out_of_memory(s.error())) poison_locked(s.error());
      return s.error();
    }
  }
  try {
    // Room in the staging buffer and the batch queue, before the LSN is taken (the
    // lock is held from here until the record is staged).
    if (own_write || (!store && staged_.empty())) {
      // A new write (this record's own, or a new staged batch's): every write not yet
      // counted in written_lsn_ may complete ahead of an earlier one, and has its room.
      written_ahead_.reserve(writes_outstanding_locked() + 1);
    }
    if (!own_write && !store && staged_.capacity() - staged_.size() < len) {
      staged_.reserve(std::max<size_t>(staged_.size() + len, 2 * staged_.capacity()));
    }
    if (queue_strict) unsynced_strict_.emplace_back(next_lsn_, Clock::now());
  } catch (const std::bad_alloc&) {
    return core::out_of_memory_while(
        [&] { return "staging a record of " + std::to_string(len) + " bytes"; });
  }
  Result<uint64_t> offset = segment_.reserve_locked(len);
  if (!offset.ok()) return poison_with_locked(offset.error());
  AppendResult result;
  result.lsn = Lsn(next_lsn_);
  result.sequence = SequenceNumber(next_sequence_);
  result.segment_id = segment_.id_locked();
  result.offset = *offset;
  result.encoded_len = len;
  // Each record sealed with its LSN and sequence number, in order (the lengths come
  // from the headers encode_records() wrote).
  RecordPosition pos;
  for (uint64_t i = 0, at = 0; i < count; ++i) {
    const uint64_t record_len =
        format::kHeaderLen + load_u32(bytes.data() + at + format::kPayloadLenOffset);
    const std::span<uint8_t> record = bytes.subspan(at, record_len);
    const Lsn lsn(next_lsn_++);
    const SequenceNumber sequence(next_sequence_++);
    seal(record, lsn, sequence);
    pos = RecordPosition{lsn,
                         sequence,
                         result.segment_id,
                         *offset + at,
                         static_cast<uint32_t>(record_len),
                         load_u32(record.data() + format::kHeaderCrcOffset)};
    at += record_len;
  }
  *last = pos;
  assigned_bytes_ += len;
  if (store) {
    KAYA_RETURN_IF_ERROR(store_locked(bytes, result.lsn.value(), result.offset, pos));
    return result;
  }
  if (own_write) {
    KAYA_RETURN_IF_ERROR(write_own(lock, bytes, result.lsn.value(), result.offset, pos));
    return result;
  }
  KAYA_RETURN_IF_ERROR(stage_locked(bytes, result.lsn.value(), result.offset, pos));
  if (mode == DurabilityMode::kRelaxed) {
    if (!async) KAYA_RETURN_IF_ERROR(wait_written(lock, pos.lsn.value()));
  } else if (config_.batch.flush_interval_us > 0 && batch_full_locked()) {
    notify_progress_locked();  // a leader waiting for companions has them
  }
  return result;
}

Status Sequencer::sync() {
  core::MutexLock guard(mu_);
  Lock& lock = guard.native();
  wait_not_truncating(lock);
  KAYA_RETURN_IF_ERROR(usable_locked());
  const uint64_t target = next_lsn_ - 1;
  KAYA_RETURN_IF_ERROR(wait_written(lock, target));
  return wait_durable(lock, target, false, nullptr);
}

}  // namespace kaya::wal
