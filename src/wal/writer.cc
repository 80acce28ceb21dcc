// The public Writer: a facade over the rooms in src/wal that do the work (pimpl).
//   Sequencer (sequencer.h): LSNs, staging, group commit, poison; drives
//   SegmentWriter (segment_writer.h): the tail segment and its files, and
//   RecoveryPointKeeper (recovery_point_keeper.h): the recovery point;
//   Retention (retention.h): release_before; scrub (scrub.h).
// Every public call runs its body through core::guard: no exception crosses the API.

#include "kaya/wal/writer.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/log_dir.h"
#include "wal/recovery_internal.h"
#include "wal/recovery_point_keeper.h"
#include "wal/retention.h"
#include "wal/scrub.h"
#include "wal/segment_writer.h"
#include "wal/sequencer.h"

namespace kaya::wal {

struct Writer::Impl {
  Impl(const WalConfig& config_in, io::Disk& disk_in,
       std::unique_ptr<io::FileLock> log_lock)
      : config(config_in),
        disk(disk_in),
        segment(config, disk),
        rp(config, disk),
        sequencer(config, segment, rp, std::move(log_lock)),
        retention(config, disk, sequencer, rp, extent_mu) {}

  static Result<std::unique_ptr<Writer>> open(const WalConfig& config, io::Disk& disk,
                                              const OpenOptions& options,
                                              std::optional<Lsn> next_lsn,
                                              SequenceNumber next_sequence);

  const WalConfig config;
  io::Disk& disk;
  RecoveryReport recovery_report;
  SegmentWriter segment;
  RecoveryPointKeeper rp;
  Sequencer sequencer;
  // One release or truncation at a time.
  std::mutex extent_mu;
  Retention retention;
};

namespace {

// Refuses what no open can do: a bad configuration, LSN 0 or the last LSN, a dry run.
Status check_open(const WalConfig& config, io::Disk& disk, const OpenOptions& options,
                  std::optional<Lsn> next_lsn) {
  KAYA_RETURN_IF_ERROR(config.validate(disk.limits()));
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
  return ok_status();
}

uint64_t unix_ms(std::chrono::system_clock::time_point t) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch())
          .count());
}

}  // namespace

Result<std::unique_ptr<Writer>> Writer::Impl::open(const WalConfig& config,
                                                   io::Disk& disk,
                                                   const OpenOptions& options,
                                                   std::optional<Lsn> next_lsn,
                                                   SequenceNumber next_sequence) {
  KAYA_RETURN_IF_ERROR(check_open(config, disk, options, next_lsn));
  KAYA_RETURN_IF_ERROR(log_dir::ensure_dir(disk));
  KAYA_ASSIGN_OR_RETURN(auto log_lock, log_dir::lock(disk));
  RecoveryOptions recovery = options.recovery;
  if (options.replay_from) recovery.visit_from = options.replay_from;
  const auto recovery_started = std::chrono::system_clock::now();
  KAYA_ASSIGN_OR_RETURN(RecoveryReport report,
                        recover_locked(config, disk, recovery, options.replay,
                                       /*persist=*/false));

  // From here on a failure destroys the writer, whose close() releases the lock.
  std::unique_ptr<Writer> w(
      new Writer(std::make_unique<Impl>(config, disk, std::move(log_lock))));
  Impl& impl = *w->impl_;
  Sequencer::Start start;
  start.next_lsn = report.next_lsn.value();
  start.next_sequence = report.next_sequence.value_or(SequenceNumber::first()).value();
  // A log that a truncation emptied still knows its next LSN.
  const bool truncated =
      report.recovery_point && report.recovery_point->truncation_epoch > 0;
  if (next_lsn) {
    if ((report.records > 0 || truncated) && next_lsn->value() != start.next_lsn) {
      return Error(ErrorKind::kInvalidArgument,
                   "open_at: the log ends before LSN " + std::to_string(start.next_lsn) +
                       ", cannot continue at LSN " + std::to_string(next_lsn->value()) +
                       " (that would leave a hole or reuse LSNs)");
    }
    start.next_lsn = next_lsn->value();
    start.next_sequence = next_sequence.value();
  }
  KAYA_RETURN_IF_ERROR(impl.segment.open(report));
  // The recovery point, written anew: every record kept is durable now.
  RecoveryPoint rp = report.recovery_point.value_or(RecoveryPoint{});
  rp.generation++;
  rp.max_record_bytes = std::max(rp.max_record_bytes, config.max_record_bytes);
  // The log opts into the configured extensions, one way: the recovery point records
  // them before any record that carries their marker is written.
  const uint64_t extensions = report.extensions | config.extensions;
  rp.incompatible_features |= extensions;
  if (next_lsn && report.records == 0 && !truncated) {
    // open_at on an empty log: no record to name; the file records the limits only.
    rp.durable = RecordPosition{};
  }
  // The writer continues right after the record the recovery point names.
  KAYA_ASSERT(rp.durable.lsn.value() == 0 ||
              rp.durable.lsn.value() + 1 == start.next_lsn);
  // Where a write costs a copy into the page cache (a Disk that can map files), the
  // leading thread writes the recovery point itself after waking the appenders: cheaper
  // than waking another thread every round. Elsewhere (a remote Disk, where a write is a
  // round trip) a thread of its own writes it: after every round, or at most once per
  // recovery_point_sync_ms where every write is durable. Either way that thread syncs it.
  KAYA_RETURN_IF_ERROR(impl.rp.open(rp, options.recovery_point_inline || disk.can_map(),
                                    !options.recovery_point_inline));
  start.durable = rp.durable;
  start.truncation_epoch = rp.truncation_epoch;
  start.extensions = extensions;
  start.closes_in_background = !options.recovery_point_inline;
  if (report.full_scan) {
    // Recovery read and verified every segment: a full check, as of its start.
    start.full_checks = 1;
    start.last_full_check_unix_ms = unix_ms(recovery_started);
  }
  impl.recovery_report = std::move(report);
  impl.sequencer.start(start);
  impl.rp.start(impl.sequencer);
  return w;
}

Result<std::unique_ptr<Writer>> Writer::open(const WalConfig& config, io::Disk& disk,
                                             const OpenOptions& options) {
  return core::guard([&] {
    return Impl::open(config, disk, options, std::nullopt, SequenceNumber::first());
  });
}

Result<std::unique_ptr<Writer>> Writer::open_at(const WalConfig& config, io::Disk& disk,
                                                Lsn next_lsn,
                                                SequenceNumber next_sequence,
                                                const OpenOptions& options) {
  return core::guard(
      [&] { return Impl::open(config, disk, options, next_lsn, next_sequence); });
}

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Writer::~Writer() { (void)close(); }

Result<AppendResult> Writer::append(const Payload& payload, DurabilityMode mode) {
  return core::guard([&] { return impl_->sequencer.append(payload, mode); });
}

Result<BatchResult> Writer::append_batch(std::span<const Payload> payloads,
                                         DurabilityMode mode) {
  return core::guard([&] { return impl_->sequencer.append_batch(payloads, mode); });
}

Result<Lsn> Writer::append_async(const Payload& payload, DurabilityMode mode,
                                 AppendCallback done) {
  return core::guard(
      [&] { return impl_->sequencer.append_async(payload, mode, std::move(done)); });
}

struct AppendFuture::State {
  Lsn lsn;
  const Sequencer* sequencer = nullptr;  // whose completion thread completes it
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::optional<Result<AppendResult>> outcome;  // under mu
};

Result<AppendFuture> Writer::append_async(const Payload& payload, DurabilityMode mode) {
  return core::guard([&]() -> Result<AppendFuture> {
    auto state = std::make_shared<AppendFuture::State>();
    state->sequencer = &impl_->sequencer;
    // The completion may run before the LSN is stored: it touches only the outcome.
    KAYA_ASSIGN_OR_RETURN(
        Lsn lsn,
        impl_->sequencer.append_async(
            payload, mode, [state](const Result<AppendResult>& r) {
              std::lock_guard<std::mutex> lock(state->mu);
              try {
                state->outcome = r;
              } catch (...) {
                state->outcome.emplace(core::out_of_memory());  // copying the message
              }
              state->cv.notify_all();
            }));
    {
      std::lock_guard<std::mutex> lock(state->mu);
      state->lsn = lsn;
    }
    return AppendFuture(std::move(state));
  });
}

Lsn AppendFuture::lsn() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->lsn;
}

bool AppendFuture::ready() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->outcome.has_value();
}

Result<AppendResult> AppendFuture::wait() const {
  return core::guard([&]() -> Result<AppendResult> {
    std::unique_lock<std::mutex> lock(state_->mu);
    if (!state_->outcome && Sequencer::completing() == state_->sequencer) {
      return Error(
          ErrorKind::kInvalidArgument,
          "AppendFuture::wait() for LSN " + std::to_string(state_->lsn.value()) +
              " on the writer's completion thread, before that append completed: "
              "it would wait for itself");
    }
    state_->cv.wait(lock, [&] { return state_->outcome.has_value(); });
    return *state_->outcome;
  });
}

Status Writer::sync() {
  return core::guard([&] { return impl_->sequencer.sync(); });
}

Status Writer::close() { return impl_->sequencer.close(); }

Result<ReleaseReport> Writer::release_before(Lsn lsn) {
  return core::guard([&] { return impl_->retention.release_before(lsn); });
}

Result<TruncateReport> Writer::truncate_after(Lsn lsn) {
  return core::guard([&] {
    std::lock_guard<std::mutex> extent(impl_->extent_mu);
    return impl_->sequencer.truncate_after(lsn.value(), impl_->disk);
  });
}

uint32_t Writer::truncation_epoch() const { return impl_->sequencer.truncation_epoch(); }

uint64_t Writer::extensions() const { return impl_->sequencer.extensions(); }

Result<ScrubReport> Writer::scrub(const ScrubOptions& options) {
  return core::guard(
      [&] { return wal::scrub(impl_->config, impl_->disk, impl_->sequencer, options); });
}

WriterStats Writer::stats() const {
  return impl_->sequencer.stats(impl_->recovery_report.segments.size());
}

Lsn Writer::next_lsn() const { return impl_->sequencer.next_lsn(); }

const RecoveryReport& Writer::recovery_report() const { return impl_->recovery_report; }

const WalConfig& Writer::config() const { return impl_->config; }

io::Disk& Writer::disk() const { return impl_->disk; }

Result<Lsn> Writer::wait_visible(Lsn lsn, bool durable_only,
                                 std::chrono::steady_clock::time_point deadline) const {
  return core::guard(
      [&] { return impl_->sequencer.wait_visible(lsn, durable_only, deadline); });
}

}  // namespace kaya::wal
