// Sequencer, part five: asynchronous appends. An async append is assigned and staged
// like a synchronous one, then, instead of waiting, queues an entry; the syncer thread
// writes and syncs its record with everyone else's (group_commit.cc), and the
// completion thread runs the completions of the entries whose records are complete,
// in order, outside the lock. The bytes of the entries not yet taken by the
// completion thread are bounded (WalConfig::async_max_in_flight_bytes).

#include <algorithm>
#include <string>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/sequencer.h"

namespace kaya::wal {
namespace {

// The sequencer whose completion thread this is.
thread_local const Sequencer* t_completing = nullptr;

}  // namespace

const Sequencer* Sequencer::completing() { return t_completing; }

Result<Lsn> Sequencer::append_async(const Payload& payload, DurabilityMode mode,
                                    Completion done) {
  KAYA_ASSIGN_OR_RETURN(BatchResult r,
                        append_batch(std::span<const Payload>(&payload, 1), mode, &done));
  return r.first_lsn;
}

Status Sequencer::admit_async(Lock& lock, uint64_t len) {
  const uint64_t bound = config_.async_max_in_flight_bytes;
  // A record larger than the bound goes alone, or it could never go.
  while (async_in_flight_bytes_ > 0 && async_in_flight_bytes_ + len > bound) {
    if (completing() == this) {
      return Error(ErrorKind::kInvalidArgument,
                   "append_async from a completion at the in-flight bound (" +
                       std::to_string(async_in_flight_bytes_) + " of " +
                       std::to_string(bound) +
                       " bytes, WalConfig::async_max_in_flight_bytes): the room it would "
                       "wait for is made by the thread it runs on; nothing was appended");
    }
    wait_progress(lock);
    wait_not_truncating(lock);
    KAYA_RETURN_IF_ERROR(usable_locked());
  }
  if (!completer_.joinable()) {
    completer_ = std::thread([this] { run_guarded([this] { completion_loop(); }); });
  }
  async_in_flight_bytes_ += len;
  stats_.async_in_flight_bytes_peak =
      std::max(stats_.async_in_flight_bytes_peak, async_in_flight_bytes_);
  return ok_status();
}

void Sequencer::unadmit_async_locked(uint64_t len) {
  KAYA_ASSERT_ELSE(async_in_flight_bytes_ >= len, poison_locked);
  async_in_flight_bytes_ -= len;
  notify_progress_locked();  // appenders waiting for room
}

Result<BatchResult> Sequencer::queue_async(Lock& lock, std::span<uint8_t> bytes,
                                           uint64_t count, DurabilityMode mode,
                                           Completion done) {
  const uint64_t len = bytes.size();
  Status room = make_room(lock, len, count);
  if (!room.ok()) {
    unadmit_async_locked(len);
    return room.error();
  }
  // The entry's node exists before the LSN is taken; from here to its last line the
  // lock is held, so the queue stays in assignment order.
  std::list<AsyncEntry> node;
  try {
    node.emplace_back();
  } catch (const std::bad_alloc&) {
    unadmit_async_locked(len);
    return core::out_of_memory_while([] { return std::string("queueing an append"); });
  }
  RecordPosition last;
  Result<AppendResult> first = assign_and_stage(lock, bytes, count, mode, &last, true);
  if (!first.ok()) {
    unadmit_async_locked(len);
    return first.error();
  }
  AsyncEntry& entry = node.front();
  entry.result = *first;
  entry.epoch = epoch_;
  entry.mode = mode;
  entry.done = std::move(done);
  async_queue_.splice(async_queue_.end(), node);
  uint64_t& async_lsn =
      mode == DurabilityMode::kStrict ? async_strict_lsn_ : async_relaxed_lsn_;
  async_lsn = last.lsn.value();
  stats_.async_appends++;
  poke_syncer_locked();
  wake_completer_locked();
  return staged_batch(*first, last.lsn, len);
}

bool Sequencer::complete_locked(const AsyncEntry& entry) const {
  // Once poisoned, only durable records count: a written one whose fsync failed may be
  // gone from the device (as for wait_visible()).
  const uint64_t lsn = entry.result.lsn.value();
  return durable_lsn_ >= lsn ||
         (entry.mode == DurabilityMode::kRelaxed && written_lsn_ >= lsn && !poison_);
}

bool Sequencer::settled_locked(const AsyncEntry& entry) const {
  return cut_locked(entry.result.lsn.value(), entry.epoch) || complete_locked(entry) ||
         poison_.has_value();
}

void Sequencer::settle_locked(AsyncEntry& entry) const noexcept {
  const uint64_t lsn = entry.result.lsn.value();
  try {
    Status cut = cut_check_locked(lsn, entry.epoch);
    if (!cut.ok()) {
      entry.error = cut.error();
      return;
    }
    if (!complete_locked(entry)) {
      entry.error = usable_locked().error();  // poisoned
      return;
    }
    const bool durable = durable_lsn_ >= lsn;
    entry.result.durable = durable;
    entry.result.fsync_duration_us = durable ? last_fsync_duration_us_ : 0;
  } catch (...) {
    entry.error = core::out_of_memory();
  }
}

void Sequencer::completion_loop() {
  t_completing = this;
  std::list<AsyncEntry> settled;
  core::MutexLock guard(mu_);
  Lock& lock = guard.native();
  for (;;) {
    completer_waiting_ = true;
    completer_cv_.wait(lock, [&] {
      mu_.assert_held();  // (a predicate runs under the lock)
      return stop_completer_ ||
             (!async_queue_.empty() && settled_locked(async_queue_.front()));
    });
    completer_waiting_ = false;
    // Take the settled prefix, fixing each outcome now (under the lock, so that a
    // poisoning cannot fall between two of them and break the order).
    auto end = async_queue_.begin();
    uint64_t bytes = 0;
    uint64_t strict = 0;
    while (end != async_queue_.end() && settled_locked(*end)) {
      settle_locked(*end);
      bytes += end->result.encoded_len;
      if (!end->error) {
        if (end->mode == DurabilityMode::kStrict) {
          strict++;
        } else {
          stats_.relaxed_records++;
        }
      }
      ++end;
    }
    if (end == async_queue_.begin()) {
      if (stop_completer_) return;  // close() saw the queue empty
      continue;
    }
    settled.splice(settled.end(), async_queue_, async_queue_.begin(), end);
    if (async_in_flight_bytes_ < bytes) [[unlikely]] {
      // The count is off: poisoned, yet every completion still runs (close waits).
      poison_locked(core::invariant_violated(__FILE__, __LINE__,
                                             "async_in_flight_bytes_ >= bytes"));
      bytes = async_in_flight_bytes_;
    }
    async_in_flight_bytes_ -= bytes;
    delivering_ = true;
    notify_progress_locked();  // room for appenders waiting at the bound
    unlock(lock);
    strict_acked_.fetch_add(strict, std::memory_order_relaxed);
    for (AsyncEntry& entry : settled) {
      try {
        if (entry.error) {
          entry.done(*entry.error);
        } else {
          entry.done(entry.result);
        }
      } catch (...) {
        // writer.h: an exception a completion throws is dropped.
      }
    }
    settled.clear();  // the callbacks (and what they hold) are destroyed unlocked too
    relock(lock);
    delivering_ = false;
    notify_progress_locked();  // close() waits for the completions to return
  }
}

void Sequencer::wait_completions(Lock& lock) {
  // REQUIRES: cv_waiters_ counts this thread (close()).
  cv_.wait(lock, [&] {
    mu_.assert_held();  // (a predicate runs under the lock)
    return async_queue_.empty() && !delivering_;
  });
}

}  // namespace kaya::wal
