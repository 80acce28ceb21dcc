#include "kaya/wal/inspect.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/log_dir.h"
#include "wal/log_scan.h"
#include "wal/segment_reader.h"
#include "wal/truncation.h"

namespace kaya::wal {
namespace {

std::string num(uint64_t v) { return std::to_string(v); }

SegmentState state_of(Verdict v) {
  switch (v) {
    case Verdict::kTornTail:
      return SegmentState::kTornTail;
    case Verdict::kLostAfterHole:
      return SegmentState::kLostAfterHole;
    case Verdict::kCorruption:
      return SegmentState::kCorrupt;
    case Verdict::kNewerFormat:
      return SegmentState::kNewerFormat;
    case Verdict::kOverLimit:
      return SegmentState::kOverLimit;
  }
  return SegmentState::kCorrupt;
}

void set_problem(SegmentInspection& s, const Spot& spot, DecodeProblem problem) {
  s.state = state_of(spot.verdict);
  s.problem_offset = spot.offset;
  s.problem_lsn = spot.lsn;
  s.problem = problem;
  s.finding = spot.finding;
  s.reason = spot.reason;
}

// Scans segment `id` (at `path`) as a part of the log `view` describes, accepting the
// records of an atomic batch only once its last record verifies (as recovery does).
// `previous`:
// the LSN of the record before the segment's first, when known. Sets *reached_rp when
// the recovery point's record was read and matched. `visitor` (optional) sees each
// record accepted. `cut`: a pending truncation cuts the segment there, and the scan
// ends at it.
Result<SegmentInspection> scan(io::Disk& disk, const LogView& view,
                               const io::RelativePath& path, uint64_t id, bool is_last,
                               std::optional<uint64_t> previous, bool* reached_rp,
                               const RecordVisitor& visitor = {},
                               std::optional<uint64_t> cut = std::nullopt) {
  SegmentInspection s;
  s.id = id;
  s.path = disk.describe(path);
  s.truncation_cut = cut;
  SegmentReader reader(disk, path, view.max_record_bytes);
  const RecordPosition* rp = view.durable();
  auto accept = [&](const Decoded& d) -> Status {
    if (rp != nullptr && id == rp->segment_id && d.offset == rp->offset) {
      *reached_rp = true;
    }
    if (visitor) KAYA_RETURN_IF_ERROR(visitor(id, d.offset, d.record));
    const Lsn lsn = d.record.lsn;
    if (!s.first_lsn) s.first_lsn = lsn;
    s.last_lsn = lsn;
    s.last_sequence = d.record.sequence;
    s.records++;
    // decode() accepts only the types format.h knows, which the array covers.
    const auto type = static_cast<size_t>(d.record.type);
    if (type < s.records_by_type.size()) s.records_by_type[type]++;
    s.valid_bytes = d.offset + d.size;
    return ok_status();
  };
  // The atomic batch being read: its first record's offset and LSN; the reader holds
  // its bytes, to go back and accept them once its last record verifies.
  std::optional<std::pair<uint64_t, Lsn>> batch;
  // The first problem, and the decoder's word for it.
  std::optional<Spot> problem;
  DecodeProblem decode_problem = DecodeProblem::kNone;
  for (;;) {
    if (cut && reader.offset() >= *cut) break;
    KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> d, reader.next());
    if (!d) break;
    if (!d->ok()) {
      KAYA_ASSIGN_OR_RETURN(
          problem, judge_bad_record(disk, view, path, id, is_last, !is_last, *d));
      decode_problem = d->problem;
      break;
    }
    problem = judge_lsn(view, id, is_last, *d, previous);
    if (!problem) problem = check_against_recovery_point(view, id, is_last, *d);
    if (problem) break;
    previous = d->record.lsn.value();
    const bool continues = (d->flags & format::kFlagBatchContinues) != 0;
    if (continues && !batch) {
      batch.emplace(d->offset, d->record.lsn);
      KAYA_RETURN_IF_ERROR(reader.hold(d->offset));
    }
    if (continues) continue;
    if (batch) {
      // Its last record: the batch is whole; its records again, from the buffer.
      KAYA_RETURN_IF_ERROR(reader.rewind());
      reader.release();
      batch.reset();
      for (;;) {
        KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> r, reader.next());
        KAYA_ASSERT(r && r->ok());
        KAYA_RETURN_IF_ERROR(accept(*r));
        if ((r->flags & format::kFlagBatchContinues) == 0) break;
      }
      continue;
    }
    KAYA_RETURN_IF_ERROR(accept(*d));
  }
  if (batch) {
    // The segment's valid records end inside the batch: none of it is accepted, and
    // the problem starts at its first record.
    reader.release();
    problem = incomplete_batch_spot(view, id, batch->first, batch->second,
                                    Lsn(previous.value()), std::move(problem), is_last);
  }
  if (problem) set_problem(s, *problem, decode_problem);
  // The scan ends at the end of the file or on a problem, right after the last record
  // accepted (the reader has passed a record whose LSN is out of order).
  const uint64_t stop =
      s.state == SegmentState::kClean ? reader.offset() : s.problem_offset;
  if (stop != s.valid_bytes) {
    return Error(ErrorKind::kInvariantViolation,
                 s.path + ": inspection accepted records up to offset " +
                     num(s.valid_bytes) + " but stopped at offset " + num(stop));
  }
  // Measured after the scan, so that it covers every byte read even while a writer
  // appends (bytes written since then read as a clean end or a write in progress).
  KAYA_ASSIGN_OR_RETURN(s.bytes, disk.file_len(path));
  if (s.bytes < reader.offset()) {
    return Error(ErrorKind::kInvariantViolation,
                 s.path + " is " + num(s.bytes) +
                     " bytes long but was read up to offset " + num(reader.offset()) +
                     ": it was truncated during the scan");
  }
  // A segment that is not the last was sealed: it holds records up to its end.
  if (s.state == SegmentState::kClean && !is_last) {
    if (auto spot = sealed_segment_spot(view, id, s.valid_bytes, s.bytes)) {
      set_problem(s, *spot, DecodeProblem::kNone);
    }
  }
  return s;
}

}  // namespace

std::string_view to_string(SegmentState state) {
  switch (state) {
    case SegmentState::kClean:
      return "clean";
    case SegmentState::kTornTail:
      return "torn tail";
    case SegmentState::kCorrupt:
      return "corrupt";
    case SegmentState::kLostAfterHole:
      return to_string(Verdict::kLostAfterHole);
    case SegmentState::kNewerFormat:
      return to_string(Verdict::kNewerFormat);
    case SegmentState::kOverLimit:
      return to_string(Verdict::kOverLimit);
  }
  return "unknown";
}

std::optional<Anomaly> SegmentInspection::anomaly() const {
  if (state == SegmentState::kClean) return std::nullopt;
  for (Verdict v : {Verdict::kTornTail, Verdict::kLostAfterHole, Verdict::kCorruption,
                    Verdict::kNewerFormat, Verdict::kOverLimit}) {
    if (state_of(v) == state) return Anomaly{v, id, problem_offset, problem_lsn, reason};
  }
  return std::nullopt;
}

std::string SegmentInspection::state_string() const {
  return core::guard_value([&]() -> std::string {
    switch (state) {
      case SegmentState::kClean:
        return "clean";
      case SegmentState::kTornTail:
        return "torn tail of " + num(problem_bytes()) + " bytes at offset " +
               num(problem_offset) + ": " + reason;
      case SegmentState::kCorrupt:
      case SegmentState::kLostAfterHole:
      case SegmentState::kNewerFormat:
      case SegmentState::kOverLimit:
        return std::string(to_string(state)) + " at offset " + num(problem_offset) +
               ": " + reason;
    }
    return "unknown";
  });
}

bool LogInspection::corrupt() const {
  for (const Anomaly& a : anomalies) {
    if (a.kind == AnomalyKind::kCorruption) return true;
  }
  return false;
}

bool LogInspection::torn_tail() const {
  for (const Anomaly& a : anomalies) {
    if (a.kind == AnomalyKind::kTornTail) return true;
  }
  return false;
}

bool LogInspection::being_written() const {
  return writer_active && !corrupt() && refusal() == nullptr &&
         (torn_tail() || lost_after_hole());
}

bool LogInspection::lost_after_hole() const {
  for (const Anomaly& a : anomalies) {
    if (a.kind == AnomalyKind::kLostAfterHole) return true;
  }
  return false;
}

const Anomaly* LogInspection::refusal() const {
  for (const Anomaly& a : anomalies) {
    if (a.kind == AnomalyKind::kNewerFormat || a.kind == AnomalyKind::kOverLimit) {
      return &a;
    }
  }
  return nullptr;
}

Result<SegmentInspection> inspect_segment(io::Disk& disk, const io::RelativePath& path,
                                          uint64_t max_record_bytes, bool is_last,
                                          const RecordVisitor& visitor) {
  return core::guard([&]() -> Result<SegmentInspection> {
    LogView view;  // a file on its own: no recovery point
    view.max_record_bytes = max_record_bytes;
    const uint64_t id = format::parse_segment_file_name(path.filename()).value_or(0);
    bool reached = false;
    return scan(disk, view, path, id, is_last, std::nullopt, &reached, visitor);
  });
}

namespace {

// Counts the records of segment `id` from `offset` on, up to the first one that does
// not decode (what lies above a pending truncation's cut: not judged).
Result<uint64_t> count_records(io::Disk& disk, const LogView& view, uint64_t id,
                               uint64_t offset) {
  SegmentReader reader(disk, log_dir::segment(id), view.max_record_bytes, offset);
  uint64_t records = 0;
  for (;;) {
    KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> d, reader.next());
    if (!d || !d->ok()) return records;
    records++;
  }
}

// The pending truncation of the log `view` describes, if any, with what lies above its
// cut among the segments `ids`, which lose the ones it removes whole.
Result<std::optional<PendingTruncation>> pending_truncation(io::Disk& disk,
                                                            const LogView& view,
                                                            std::vector<uint64_t>& ids) {
  if (!view.rp || !view.rp->truncation_pending()) {
    return std::optional<PendingTruncation>();
  }
  PendingTruncation t;
  t.after = view.rp->truncated_after;
  t.epoch = view.rp->truncation_epoch;
  const std::optional<Cut> cut = cut_of(*view.rp, ids);
  if (!cut) return std::optional<PendingTruncation>(std::move(t));
  t.cut_segment_id = cut->segment_id;
  t.cut_offset = cut->offset;
  for (uint64_t id : ids) {
    if (id < cut->segment_id) continue;
    const uint64_t from = id == cut->segment_id ? cut->offset : 0;
    KAYA_ASSIGN_OR_RETURN(uint64_t len, disk.file_len(log_dir::segment(id)));
    if (len <= from) continue;
    t.bytes += len - from;
    KAYA_ASSIGN_OR_RETURN(uint64_t records, count_records(disk, view, id, from));
    t.records += records;
    if (id > cut->segment_id) t.segments_removed.push_back(id);
  }
  std::erase_if(ids, [&](uint64_t id) { return id > cut->segment_id; });
  return std::optional<PendingTruncation>(std::move(t));
}

// Inspects the segments `ids` of the log `view` describes (with a pending truncation:
// up to its cut).
Result<LogInspection> inspect_segments(const LogView& view, io::Disk& disk,
                                       const std::vector<uint64_t>& ids,
                                       const std::optional<PendingTruncation>& pending) {
  LogInspection log;
  log.recovery_point = view.rp;
  log.pending_truncation = pending;
  // The LSN of the last record recovery would have read (nullopt: unknown); forgotten
  // after a segment with a problem, whose lost records make the next check meaningless.
  std::optional<uint64_t> previous;
  bool stopped = false;  // recovery would have stopped at an earlier anomaly
  bool reached_rp = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    const size_t anomalies_before = log.anomalies.size();
    const bool last = i + 1 == ids.size();
    // Log-level problems sit at offset 0 of this segment: recovery keeps none of it.
    bool log_problem = false;
    if (log_dir::hole_before(ids, i)) {
      const Spot spot = missing_segment_spot(view, ids[i - 1], ids[i]);
      log.anomalies.push_back(spot.anomaly());
      log_problem = true;
      previous.reset();
    }
    std::optional<uint64_t> cut;
    if (pending && pending->cut_segment_id == ids[i]) cut = pending->cut_offset;
    KAYA_ASSIGN_OR_RETURN(SegmentInspection s,
                          scan(disk, view, log_dir::segment(ids[i]), ids[i], last,
                               previous, &reached_rp, {}, cut));
    // A problem inside the segment still leaves recovery the records before it.
    if (!stopped && !log_problem) {
      log.recoverable_records += s.records;
      if (s.last_lsn) log.next_lsn = s.last_lsn->next();
    }
    if (auto a = s.anomaly()) log.anomalies.push_back(*a);
    if (log.anomalies.size() > anomalies_before) stopped = true;

    if (s.state != SegmentState::kClean) {
      previous.reset();
    } else if (s.last_lsn) {
      previous = s.last_lsn->value();
    }
    log.bytes += cut ? std::min(s.bytes, *cut) : s.bytes;
    log.records += s.records;
    if (s.first_lsn && !log.first_lsn) log.first_lsn = s.first_lsn;
    if (s.last_lsn) log.last_lsn = s.last_lsn;
    log.segments.push_back(std::move(s));
  }
  // A log a truncation emptied continues where the truncation left it, as recovery
  // has it.
  if (log.recoverable_records == 0 && view.rp && view.rp->truncation_epoch > 0) {
    log.next_lsn = view.rp->truncated_after.next();
  }
  // A log that reads cleanly must reach the record its recovery point names.
  if (const RecordPosition* rp = view.durable();
      rp != nullptr && !reached_rp && log.anomalies.empty()) {
    const uint64_t id = ids.empty() ? rp->segment_id : ids.back();
    const uint64_t offset = log.segments.empty() ? 0 : log.segments.back().valid_bytes;
    log.anomalies.push_back(ends_early_spot(view, id, offset).anomaly());
  }
  return log;
}

// A writer's release_before may overtake an inspection: it makes a newer recovery
// point durable, then removes the oldest segments one by one. A segment gone mid-scan
// (NotFound) or a recovery point naming a segment below the first one listed means
// that happened: the inspection starts over with both read again.
constexpr int kReleaseAttempts = 8;

}  // namespace

Result<LogInspection> inspect_log(const WalConfig& config, io::Disk& disk) {
  return core::guard([&]() -> Result<LogInspection> {
    KAYA_RETURN_IF_ERROR(config.validate());
    // Asked without taking the lock, which a writer opening meanwhile would meet.
    auto writer_holds_lock = [&] {
      Result<bool> held = log_dir::locked(disk);
      return held.ok() && *held;
    };
    const bool writer_at_start = writer_holds_lock();
    for (int attempt = 1;; ++attempt) {
      const bool last_attempt = attempt == kReleaseAttempts;
      KAYA_ASSIGN_OR_RETURN(LogView view, open_log_view(disk, config));
      KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, log_dir::list_segments(disk));
      // (A truncation completing meanwhile removes segments: NotFound, read again.)
      Result<std::optional<PendingTruncation>> pending =
          pending_truncation(disk, view, ids);
      if (!last_attempt && !pending.ok() &&
          pending.error().kind() == ErrorKind::kNotFound) {
        continue;
      }
      if (!pending.ok()) return std::move(pending).error();
      const RecordPosition* rp = view.durable();
      if (!last_attempt && rp != nullptr && !ids.empty() &&
          rp->segment_id < ids.front()) {
        continue;
      }
      Result<LogInspection> log = inspect_segments(view, disk, ids, *pending);
      if (!last_attempt && !log.ok() && log.error().kind() == ErrorKind::kNotFound) {
        continue;
      }
      if (log.ok()) log->writer_active = writer_at_start || writer_holds_lock();
      return log;
    }
  });
}

}  // namespace kaya::wal
