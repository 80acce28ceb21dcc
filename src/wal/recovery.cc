#include "kaya/wal/recovery.h"

#include <chrono>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/log_dir.h"
#include "wal/log_scan.h"
#include "wal/recovery_internal.h"
#include "wal/recovery_repair.h"
#include "wal/recovery_scan.h"
#include "wal/truncation.h"

namespace kaya::wal {

Result<std::vector<uint64_t>> list_segments(io::Disk& disk) {
  return core::guard([&] { return log_dir::list_segments(disk); });
}

namespace {

// The extensions the log is opted into (docs/format.md, "Opting in"): what its recovery
// point records (also the one a rebuild replaces, when it is readable), plus every
// marker in the records read; a log without a recovery point (kaya 0.1's) in which a
// Bytes record was read is opted into Bytes.
uint64_t log_extensions(io::Disk& disk, const RecoveryOptions& options,
                        const LogView& view, const RecoveryScan& scan) {
  uint64_t extensions = scan.markers();
  if (view.rp) {
    extensions |= view.rp->extensions();
  } else if (scan.saw_bytes()) {
    extensions |= rp_format::kBytesFeature;
  }
  if (options.rebuild_recovery_point) {
    Result<std::optional<RecoveryPoint>> old = read_recovery_point(disk);
    if (old.ok() && old->has_value()) extensions |= (*old)->extensions();
  }
  return extensions;
}

uint64_t micros_since(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

// A truncation whose intent is durable is completed before the log is judged
// (truncation.h); a dry run judges the log as it will be, ending at the cut (`end`).
// Returns the log's recovery point as the truncation left it, when the log was ever
// truncated: a rebuild (which ignores the recovery point) keeps its truncation facts,
// and a log the truncation emptied its next LSN.
Result<std::optional<RecoveryPoint>> complete_truncation(io::Disk& disk,
                                                         const RecoveryOptions& options,
                                                         LogView& view,
                                                         std::optional<Cut>& end,
                                                         RecoveryReport& report) {
  std::optional<RecoveryPoint> rp = view.rp;
  if (options.rebuild_recovery_point) {
    Result<std::optional<RecoveryPoint>> read = read_recovery_point(disk);
    if (read.ok()) rp = *read;  // else: nothing to keep, which is why it is rebuilt
  }
  if (!rp || rp->truncation_epoch == 0) return std::optional<RecoveryPoint>();
  if (!rp->truncation_pending()) return rp;
  report.completed_truncation_after = rp->truncated_after;
  if (options.dry_run) {
    KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, log_dir::list_segments(disk));
    end = cut_of(*rp, ids);
    return rp;
  }
  KAYA_RETURN_IF_ERROR(carry_out(disk, *rp).status());
  const RecoveryPoint done = completed(*rp);
  KAYA_RETURN_IF_ERROR(create_recovery_point(disk, done));
  report.recovery_point_written = true;
  if (view.rp) view.rp = done;
  return std::optional<RecoveryPoint>(done);
}

}  // namespace

Result<RecoveryReport> recover(const WalConfig& config, io::Disk& disk,
                               const RecoveryOptions& options,
                               const RecordVisitor& visitor) {
  return core::guard([&]() -> Result<RecoveryReport> {
    if (options.dry_run) return recover_locked(config, disk, options, visitor, true);
    KAYA_RETURN_IF_ERROR(config.validate());
    // A repair must not race a live writer: the lock comes before anything of the log is
    // looked at. (Listed first, a writer creating the first segment between the listing
    // and the scan had its first record cut as a torn tail by an unlocked repair.)
    auto lock = log_dir::lock(disk);
    if (!lock.ok()) {
      if (lock.error().kind() != ErrorKind::kNotFound) return std::move(lock).error();
      // No wal/ directory for the lock file, so no segment: nothing to read or repair.
      // (What a writer creates from now on is its own, under its lock.)
      RecoveryReport report;
      report.mode = options.mode;
      report.next_lsn = Lsn(1);
      report.full_scan = true;
      return report;
    }
    return recover_locked(config, disk, options, visitor, /*persist=*/true);
  });
}

Result<RecoveryReport> recover_locked(const WalConfig& config, io::Disk& disk,
                                      const RecoveryOptions& options,
                                      const RecordVisitor& visitor, bool persist) {
  KAYA_RETURN_IF_ERROR(config.validate());
  if (options.rebuild_recovery_point && options.dry_run) {
    return Error(ErrorKind::kInvalidArgument,
                 "rebuilding the recovery point writes it: not with a dry run");
  }
  const auto start = std::chrono::steady_clock::now();
  RecoveryReport report;
  report.mode = options.mode;
  report.dry_run = options.dry_run;
  KAYA_ASSIGN_OR_RETURN(LogView view,
                        open_log_view(disk, config, options.rebuild_recovery_point));
  std::optional<Cut> end;
  KAYA_ASSIGN_OR_RETURN(const std::optional<RecoveryPoint> truncation,
                        complete_truncation(disk, options, view, end, report));
  report.had_recovery_point = view.rp.has_value();
  KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, log_dir::list_segments(disk));
  if (end) std::erase_if(ids, [&](uint64_t id) { return id > end->segment_id; });
  RecoveryScan scan(disk, view, options, visitor, ids, end, report);
  KAYA_RETURN_IF_ERROR(scan.run());

  report.extensions = log_extensions(disk, options, view, scan);
  report.next_lsn = Lsn(scan.last_lsn() ? *scan.last_lsn() + 1 : 1);
  if (!scan.last_lsn() && truncation) {
    // A log a truncation emptied continues where the truncation left it.
    report.next_lsn = truncation->truncated_after.next();
    report.next_sequence = truncation->truncation_next_sequence;
  }
  KAYA_ASSERT(!report.first_lsn || *report.first_lsn < report.next_lsn);
  if (report.first_lsn && !report.full_scan) {
    report.records = report.next_lsn.value() - report.first_lsn->value();
  } else {
    for (const SegmentSummary& s : report.segments) report.records += s.records;
  }
  // What the recovery point says once recovery is done.
  std::optional<RecoveryPoint> rp;
  if (view.rp || scan.last_position() || truncation) {
    RecoveryPoint next = view.rp.value_or(RecoveryPoint{});
    if (truncation) {
      next.truncation_epoch = truncation->truncation_epoch;
      next.truncated_after = truncation->truncated_after;
      next.truncation_next_sequence = truncation->truncation_next_sequence;
      next = completed(next);  // (a dry run: what it would write)
    }
    next.max_record_bytes = view.max_record_bytes;
    next.incompatible_features |= report.extensions;
    next.durable = scan.last_position().value_or(RecordPosition{});
    next.sealed_segment_id = 0;
    next.sealed_segment_bytes = 0;
    next.sealed_last_lsn = Lsn(0);
    scan.sealed_facts(next);
    // The point names the last record kept, the one before the writer's next LSN.
    KAYA_ASSERT(next.durable.lsn.value() == 0 ||
                next.durable.lsn.value() + 1 == report.next_lsn.value());
    rp = next;
  }
  bool write_rp =
      persist && !options.dry_run && rp && (!view.rp || options.rebuild_recovery_point);
  if (const auto& problem = scan.problem()) {
    const Spot& spot = problem->spot;
    report.anomalies.push_back(spot.anomaly());
    if (!recoverable(spot, options.mode)) return problem_error(disk, spot, options.mode);
    // A cut at or below the recovery point (point-in-time) lowers it first, so that a
    // crash in between leaves a recovery point the log still reaches.
    const bool lowers =
        view.rp && view.where(spot.segment_id, spot.offset) == Where::kCovered;
    if (lowers && !options.dry_run && rp) {
      KAYA_RETURN_IF_ERROR(create_recovery_point(disk, *rp));
      report.recovery_point_written = true;
      write_rp = false;
    }
    KAYA_RETURN_IF_ERROR(drop(disk, options, ids, *problem, report));
  }
  if (!options.dry_run) {
    // A segment kept before the last whose cut a power loss undid (its zero tail,
    // beyond the recovery point, followed by the next LSN: docs/durability.md,
    // "Rotation") is cut again, durably, before any recovery point names it sealed.
    for (size_t i = 0; i + 1 < report.segments.size(); ++i) {
      const SegmentSummary& s = report.segments[i];
      if (s.scanned && s.valid_bytes < s.bytes) {
        KAYA_RETURN_IF_ERROR(log_dir::trim_tail(disk, s.id, s.valid_bytes));
      }
    }
  }
  if (write_rp) {
    // What a crashed process left with the OS is made durable before the recovery
    // point says it is.
    if (rp->durable.lsn.value() > 0) {
      KAYA_RETURN_IF_ERROR(log_dir::sync_segment(disk, rp->durable.segment_id));
    }
    KAYA_RETURN_IF_ERROR(create_recovery_point(disk, *rp));
    report.recovery_point_written = true;
  }
  report.recovery_point = rp;
  report.duration_us = micros_since(start);
  return report;
}

}  // namespace kaya::wal
