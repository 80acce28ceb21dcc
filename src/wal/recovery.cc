#include "kaya/wal/recovery.h"

#include <chrono>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/log_dir.h"
#include "wal/log_scan.h"
#include "wal/recovery_internal.h"
#include "wal/segment_reader.h"
#include "wal/truncation.h"

namespace kaya::wal {
namespace {

std::string num(uint64_t v) { return std::to_string(v); }

// The first problem found: everything from (segment, offset) on is not kept.
struct Problem {
  Spot spot;
  size_t segment_index;  // into the listed ids
};

Error problem_error(io::Disk& disk, const Spot& spot, RecoveryMode mode) {
  Error e = spot.to_error(disk);
  std::string msg = e.message();
  switch (spot.verdict) {
    case Verdict::kTornTail:
    case Verdict::kLostAfterHole:
      msg += "; absolute recovery accepts no loss (the default mode would ";
      msg += spot.verdict == Verdict::kTornTail ? "drop this never-acknowledged tail)"
                                                : "move these records to wal/lost/)";
      break;
    case Verdict::kCorruption:
      msg += "; recovery changed nothing";
      if (mode != RecoveryMode::kPointInTime) {
        msg +=
            " (point-in-time recovery keeps the records before it and moves the rest "
            "to wal/lost/)";
      }
      break;
    case Verdict::kNewerFormat:
    case Verdict::kOverLimit:
      msg += "; recovery changed nothing";
      break;
  }
  return Error(e.kind(), msg);
}

// Whether a recovery in `mode` carries on past `spot` (dropping from it on) rather
// than failing.
bool recoverable(const Spot& spot, RecoveryMode mode) {
  switch (spot.verdict) {
    case Verdict::kNewerFormat:
    case Verdict::kOverLimit:
      return false;
    case Verdict::kCorruption:
      return mode == RecoveryMode::kPointInTime;
    case Verdict::kTornTail:
    case Verdict::kLostAfterHole:
      return mode != RecoveryMode::kAbsolute;
  }
  return false;
}

// Plans (and unless dry_run, carries out) what `problem` makes recovery drop.
Status drop(io::Disk& disk, const RecoveryOptions& options,
            const std::vector<uint64_t>& ids, const Problem& problem,
            RecoveryReport& report) {
  // A torn tail was never acknowledged; anything else that is cut may have been, so it
  // is kept.
  const bool keep_aside = options.mode == RecoveryMode::kPointInTime ||
                          problem.spot.verdict != Verdict::kTornTail;
  if (keep_aside && !options.dry_run) {
    KAYA_RETURN_IF_ERROR(log_dir::create_lost_dir(disk));
  }
  for (size_t i = problem.segment_index; i < ids.size(); ++i) {
    const uint64_t id = ids[i];
    Dropped d;
    d.segment_id = id;
    d.offset = i == problem.segment_index ? problem.spot.offset : 0;
    KAYA_ASSIGN_OR_RETURN(uint64_t len, disk.file_len(log_dir::segment(id)));
    KAYA_ASSERT(d.offset <= len);  // a problem is found inside the file it names
    d.bytes = len - d.offset;
    if (keep_aside) {
      KAYA_ASSIGN_OR_RETURN(io::RelativePath to, log_dir::lost_name(disk, id, d.offset));
      d.moved_to = to.str();
      if (!options.dry_run) {
        KAYA_RETURN_IF_ERROR(log_dir::set_aside(disk, id, d.offset, to));
      }
    }
    if (!options.dry_run && (d.offset > 0 || !keep_aside)) {
      KAYA_RETURN_IF_ERROR(log_dir::cut_segment(disk, id, d.offset));
    }
    report.bytes_dropped += d.bytes;
    report.dropped.push_back(std::move(d));
  }
  if (!options.dry_run) {
    KAYA_RETURN_IF_ERROR(keep_aside ? log_dir::sync_after_set_aside(disk)
                                    : log_dir::sync_dir(disk));
    report.applied = true;
  }
  return ok_status();
}

}  // namespace

std::string_view to_string(RecoveryMode mode) {
  switch (mode) {
    case RecoveryMode::kDefault:
      return "default";
    case RecoveryMode::kPointInTime:
      return "point-in-time";
    case RecoveryMode::kAbsolute:
      return "absolute";
  }
  return "unknown";
}

std::string Anomaly::to_string() const {
  return core::guard_value([&]() -> std::string {
    std::string s =
        "segment " + std::to_string(segment_id) + " offset " + std::to_string(offset);
    if (lsn) s += " LSN " + std::to_string(lsn->value());
    return s + ": " + std::string(wal::to_string(kind)) + ": " + reason;
  });
}

std::vector<uint64_t> RecoveryReport::segment_ids() const {
  std::vector<uint64_t> ids;
  for (const SegmentSummary& s : segments) ids.push_back(s.id);
  return ids;
}

std::string RecoveryReport::to_string() const {
  return core::guard_value([&]() -> std::string {
    std::string s =
        std::string(dry_run ? "dry run, " : "") + "mode " +
        std::string(wal::to_string(mode)) + ": " + std::to_string(records) +
        " records in " + std::to_string(segments.size()) + " segments (" +
        std::to_string(valid_bytes) + " bytes), next LSN " +
        std::to_string(next_lsn.value()) + ", " + std::to_string(duration_us) + " us; " +
        (full_scan ? "every segment read" : "read from the recovery point on") +
        (had_recovery_point ? "" : " (the log had no recovery point)") + "\n";
    if (completed_truncation_after) {
      s += std::string(dry_run ? "  a pending truncation would be completed"
                               : "  completed a pending truncation") +
           ": records after LSN " + std::to_string(completed_truncation_after->value()) +
           (dry_run ? " are not part of the log\n" : " removed\n");
    }
    for (const Anomaly& a : anomalies) s += "  anomaly: " + a.to_string() + "\n";
    for (const Dropped& d : dropped) {
      s += "  " + std::string(applied ? "dropped" : "would drop") + " segment " +
           std::to_string(d.segment_id) + " from offset " + std::to_string(d.offset) +
           " (" + std::to_string(d.bytes) + " bytes)";
      if (!d.moved_to.empty()) s += ", kept in " + d.moved_to;
      s += "\n";
    }
    return s;
  });
}

Result<std::vector<uint64_t>> list_segments(io::Disk& disk) {
  return core::guard([&] { return log_dir::list_segments(disk); });
}

namespace {

// One pass over the log for recover_locked(): where it starts, the records it keeps,
// and the first problem, judged.
class RecoveryScan {
 public:
  // `end`: the log ends there (a dry run over a pending truncation's cut; the
  // segments after it are not listed in `ids`).
  RecoveryScan(io::Disk& disk, const LogView& view, const RecoveryOptions& options,
               const RecordVisitor& visitor, std::vector<uint64_t> ids,
               std::optional<Cut> end, RecoveryReport& report)
      : disk_(disk),
        view_(view),
        options_(options),
        visitor_(visitor),
        ids_(std::move(ids)),
        end_(end),
        report_(report) {}

  Status run() {
    KAYA_RETURN_IF_ERROR(plan());
    report_.full_scan = start_index_ == 0 && start_offset_ == 0;
    if (!report_.full_scan && !ids_.empty()) KAYA_RETURN_IF_ERROR(probe_first_record());
    for (size_t i = 0; i < start_index_ && !problem_; ++i) {
      KAYA_RETURN_IF_ERROR(trust_segment(i));
    }
    for (size_t i = start_index_; i < ids_.size() && !problem_; ++i) {
      KAYA_RETURN_IF_ERROR(scan_segment(i, i == start_index_ ? start_offset_ : 0));
    }
    if (!problem_) check_reached_recovery_point();
    return ok_status();
  }

  const std::optional<Problem>& problem() const { return problem_; }
  std::optional<uint64_t> last_lsn() const { return previous_; }
  const std::optional<RecordPosition>& last_position() const { return last_; }
  // The extension markers found in the flags of the records kept and read.
  uint64_t markers() const { return markers_; }
  // Whether a Bytes record was among them.
  bool saw_bytes() const { return saw_bytes_; }
  // Sealed-segment facts of the log as kept: the segment before the last kept one.
  void sealed_facts(RecoveryPoint& rp) const {
    const size_t kept = report_.segments.size();
    if (kept < 2) return;
    const SegmentSummary& sealed = report_.segments[kept - 2];
    if (!sealed.scanned && below_sealed(sealed.id)) return;  // its length is not known
    rp.sealed_segment_id = sealed.id;
    rp.sealed_segment_bytes = sealed.valid_bytes;
    const SegmentSummary& tail = report_.segments[kept - 1];
    if (sealed.last_lsn) {
      rp.sealed_last_lsn = *sealed.last_lsn;
    } else if (tail.first_lsn && tail.id == last_scan_whole_) {
      rp.sealed_last_lsn = Lsn(tail.first_lsn->value() - 1);
    } else if (view_.rp && view_.rp->sealed_segment_id == sealed.id) {
      rp.sealed_last_lsn = view_.rp->sealed_last_lsn;
    } else {
      rp.sealed_segment_id = 0;  // not known without reading it
      rp.sealed_segment_bytes = 0;
    }
  }

 private:
  // Where reading starts: everything from the first segment, or (default mode, a
  // recovery point, no full replay) the recovery point's record.
  Status plan() {
    const RecordPosition* durable = view_.durable();
    const bool full = options_.mode != RecoveryMode::kDefault || options_.full_scan ||
                      durable == nullptr || (visitor_ && !options_.visit_from);
    if (full || ids_.empty()) return ok_status();
    const auto it = std::lower_bound(ids_.begin(), ids_.end(), durable->segment_id);
    if (it == ids_.end() || *it != durable->segment_id) {
      // Judged where the recovery point's record should be: it is missing.
      set_problem(
          judge_spot(view_, Finding::kEndsEarly, durable->segment_id, 0, durable->lsn,
                     describe_segment(disk_, durable->segment_id) +
                         ", which holds the recovery point's record (LSN " +
                         num(durable->lsn.value()) + "), does not exist",
                     true),
          static_cast<size_t>(it - ids_.begin()));
      start_index_ = ids_.size();
      return ok_status();
    }
    start_index_ = static_cast<size_t>(it - ids_.begin());
    start_offset_ = durable->offset;
    previous_ = durable->lsn.value() - 1;
    // A replay from an earlier LSN starts at the segment holding it (found by walking
    // back over the segments' first records).
    if (visitor_ && options_.visit_from && *options_.visit_from < durable->lsn) {
      size_t idx = start_index_;
      for (; idx > 0; --idx) {
        KAYA_ASSIGN_OR_RETURN(
            std::optional<Lsn> first,
            log_dir::first_lsn(disk_, ids_[idx], view_.max_record_bytes));
        if (first && *first <= *options_.visit_from) break;
      }
      start_index_ = idx;
      start_offset_ = 0;
      previous_.reset();
    }
    return ok_status();
  }

  // The log's first record, when the scan does not start there: one header read.
  Status probe_first_record() {
    const uint64_t id = ids_[0];
    SegmentReader reader(disk_, log_dir::segment(id), view_.max_record_bytes, 0,
                         format::kHeaderLen);
    KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> d, reader.next());
    KAYA_ASSIGN_OR_RETURN(std::optional<Spot> bad,
                          judge_first_record(disk_, view_, id, d));
    if (bad) {
      set_problem(std::move(*bad), 0);
      return ok_status();
    }
    if (auto spot = judge_lsn(view_, id, false, *d, std::nullopt)) {
      set_problem(std::move(*spot), 0);
      return ok_status();
    }
    report_.first_lsn = d->record.lsn;
    return ok_status();
  }

  void set_problem(Spot spot, size_t index) {
    problem_ = Problem{std::move(spot), index};
  }

  // A segment at or below the recovery point that is not read: its id and, for the
  // first one, its first record are checked (one header); from the recovery point's
  // sealed segment on, its length too (a stat). Below that segment no length is looked
  // at: a stat per segment was most of an open's cost on a long log, and the damage it
  // could show is found by the readers, verify, a full recovery and the scrub.
  Status trust_segment(size_t i) {
    const uint64_t id = ids_[i];
    if (!check_contiguous(i)) return ok_status();
    SegmentSummary summary;
    summary.id = id;
    summary.scanned = false;
    if (below_sealed(id)) {
      report_.segments.push_back(summary);
      return ok_status();
    }
    KAYA_ASSIGN_OR_RETURN(summary.bytes, disk_.file_len(log_dir::segment(id)));
    summary.valid_bytes = summary.bytes;
    if (summary.bytes == 0) {
      set_problem(*sealed_segment_spot(view_, id, 0, 0), i);
      return ok_status();
    }
    if (view_.rp && view_.rp->sealed_segment_id == id &&
        summary.bytes != view_.rp->sealed_segment_bytes) {
      set_problem(
          judge_spot(
              view_, Finding::kEndsEarly, id,
              std::min(summary.bytes, view_.rp->sealed_segment_bytes), std::nullopt,
              "segment is " + num(summary.bytes) + " bytes long but was sealed at " +
                  num(view_.rp->sealed_segment_bytes) + " bytes",
              false),
          i);
      return ok_status();
    }
    report_.valid_bytes += summary.bytes;
    report_.segments.push_back(summary);
    return ok_status();
  }

  // Below the recovery point's sealed segment: trusted without a look at its length.
  bool below_sealed(uint64_t id) const {
    return view_.rp && id < view_.rp->sealed_segment_id;
  }

  // False (and the problem set) when segment i does not follow segment i-1.
  bool check_contiguous(size_t i) {
    if (!log_dir::hole_before(ids_, i)) return true;
    set_problem(missing_segment_spot(view_, ids_[i - 1], ids_[i]), i);
    return false;
  }

  Status scan_segment(size_t i, uint64_t from) {
    const uint64_t id = ids_[i];
    const bool last = i + 1 == ids_.size();
    if (!check_contiguous(i)) return ok_status();
    SegmentSummary summary;
    summary.id = id;
    KAYA_ASSIGN_OR_RETURN(summary.bytes, disk_.file_len(log_dir::segment(id)));
    summary.valid_bytes = from;
    if (from == 0) last_scan_whole_ = id;
    SegmentReader reader(disk_, log_dir::segment(id), view_.max_record_bytes, from,
                         options_.buffer_bytes);
    const bool cut_here = end_ && end_->segment_id == id;
    for (;;) {
      if (cut_here && reader.offset() >= end_->offset) break;
      KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> d, reader.next());
      if (!d) {
        end_of_segment(i, last, reader.offset(), summary);
        break;
      }
      if (!d->ok()) {
        KAYA_ASSIGN_OR_RETURN(
            Spot spot,
            judge_bad_record(disk_, view_, log_dir::segment(id), id, last, !last, *d));
        set_problem(std::move(spot), i);
        break;
      }
      if (auto spot = judge_lsn(view_, id, last, *d, lsn_before())) {
        set_problem(std::move(*spot), i);
        break;
      }
      if (auto spot = check_against_recovery_point(view_, id, last, *d)) {
        set_problem(std::move(*spot), i);
        break;
      }
      KAYA_RETURN_IF_ERROR(keep(id, *d, summary));
    }
    if (batch_) incomplete_batch(i, last);
    // A segment cut at offset 0 keeps nothing, unless it is where a kept prefix ends
    // in place (a truncated torn tail).
    const bool cut_whole = problem_ && problem_->segment_index == i &&
                           problem_->spot.offset == 0 &&
                           (options_.mode == RecoveryMode::kPointInTime ||
                            problem_->spot.verdict != Verdict::kTornTail);
    if (!cut_whole) {
      report_.valid_bytes += summary.valid_bytes;
      report_.segments.push_back(summary);
    }
    return ok_status();
  }

  // A record of an atomic batch is held until the batch's last record verifies: the
  // batch is kept (and visited) whole or not at all (docs/format.md, "Incomplete
  // batches").
  Status keep(uint64_t id, const Decoded& d, SegmentSummary& summary) {
    const bool continues = (d.flags & format::kFlagBatchContinues) != 0;
    if (!batch_ && !continues) return keep_one(id, d, d.record, summary);
    if (!batch_) batch_.emplace(PendingBatch{d.offset, d.record.lsn, {}});
    Decoded held = d;
    held.record.key = {};  // views into the read buffer: the content is copied below
    held.record.value = {};
    batch_->records.push_back(HeldRecord{std::move(held), d.record.to_record()});
    if (continues) return ok_status();
    std::vector<HeldRecord> records = std::move(batch_->records);
    batch_.reset();
    for (const HeldRecord& h : records) {
      const Record& r = h.record;
      KAYA_RETURN_IF_ERROR(keep_one(
          id, h.decoded, RecordView{r.lsn, r.sequence, r.type, r.key, r.value}, summary));
    }
    return ok_status();
  }

  // The LSN of the last record read and verified (held in a batch or kept).
  std::optional<uint64_t> lsn_before() const {
    if (batch_) return batch_->records.back().record.lsn.value();
    return previous_;
  }

  // Segment i ended (or a problem was found in it) inside an atomic batch: nothing of
  // the batch is kept, and what is cut or refused starts at its first record.
  void incomplete_batch(size_t i, bool last) {
    const PendingBatch batch = std::move(*batch_);
    batch_.reset();
    std::optional<Spot> then;
    if (problem_) then = std::move(problem_->spot);
    Spot spot =
        incomplete_batch_spot(view_, ids_[i], batch.offset, batch.first_lsn,
                              batch.records.back().record.lsn, std::move(then), last);
    if (problem_) {
      problem_->spot = std::move(spot);
    } else {
      set_problem(std::move(spot), i);
    }
  }

  Status keep_one(uint64_t id, const Decoded& d, const RecordView& record,
                  SegmentSummary& summary) {
    const Lsn lsn = d.record.lsn;
    // What is kept is a prefix: LSNs contiguous (judge_lsn() passed), records back to
    // back from where the scan of the segment started.
    KAYA_ASSERT(!previous_ || lsn.value() == *previous_ + 1);
    KAYA_ASSERT(d.offset == summary.valid_bytes && d.size >= format::kHeaderLen);
    previous_ = lsn.value();
    markers_ |= d.flags & format::kExtensionMarkerFlags;
    if (d.record.type == RecordType::kBytes) saw_bytes_ = true;
    last_ = RecordPosition{
        lsn,         d.record.sequence, id, d.offset, static_cast<uint32_t>(d.size),
        d.header_crc};
    if (!report_.first_lsn) report_.first_lsn = lsn;
    if (!summary.first_lsn) summary.first_lsn = lsn;
    summary.last_lsn = lsn;
    summary.records++;
    summary.valid_bytes = d.offset + d.size;
    report_.next_sequence = d.record.sequence.next();
    if (visitor_ && (!options_.visit_from || lsn >= *options_.visit_from)) {
      return visitor_(id, d.offset, record);
    }
    return ok_status();
  }

  // The reader found the end of segment i (or zeros running to it) at `end`.
  void end_of_segment(size_t i, bool last, uint64_t end, const SegmentSummary& summary) {
    if (last) return;
    if (auto spot = sealed_segment_spot(view_, ids_[i], end, summary.bytes)) {
      set_problem(std::move(*spot), i);
    }
  }

  // The scan ended without a problem: it must have passed the recovery point's record.
  void check_reached_recovery_point() {
    const RecordPosition* durable = view_.durable();
    if (durable == nullptr) return;
    if (last_ && (last_->segment_id > durable->segment_id ||
                  (last_->segment_id == durable->segment_id &&
                   last_->offset >= durable->offset))) {
      return;
    }
    const uint64_t id = ids_.empty() ? durable->segment_id : ids_.back();
    const uint64_t offset = report_.segments.empty() || report_.segments.back().id != id
                                ? 0
                                : report_.segments.back().valid_bytes;
    set_problem(ends_early_spot(view_, id, offset), ids_.empty() ? 0 : ids_.size() - 1);
  }

  io::Disk& disk_;
  const LogView& view_;
  const RecoveryOptions& options_;
  const RecordVisitor& visitor_;
  const std::vector<uint64_t> ids_;
  const std::optional<Cut> end_;
  RecoveryReport& report_;
  size_t start_index_ = 0;
  uint64_t start_offset_ = 0;
  std::optional<uint64_t> previous_;    // LSN of the last record kept
  std::optional<RecordPosition> last_;  // where it is
  std::optional<Problem> problem_;
  uint64_t last_scan_whole_ = 0;  // the last segment read from its first byte
  uint64_t markers_ = 0;
  bool saw_bytes_ = false;
  // The records of an atomic batch read so far, held until its last one.
  struct HeldRecord {
    Decoded decoded;  // its position and header (key and value cleared)
    Record record;    // its content
  };
  struct PendingBatch {
    uint64_t offset = 0;  // of its first record
    Lsn first_lsn;
    std::vector<HeldRecord> records;
  };
  std::optional<PendingBatch> batch_;
};

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
