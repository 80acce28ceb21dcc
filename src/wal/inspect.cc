#include "kaya/wal/inspect.h"

#include <string>

#include "wal/segment_reader.h"

namespace kaya::wal {
namespace {

std::string num(uint64_t v) { return std::to_string(v); }

// The decoder's detail usually starts with the problem's name already; recovery words
// its reasons the same way, so that both tools name a problem identically.
std::string problem_reason(const Decoded& d) {
  const std::string_view name = to_string(d.problem);
  return d.detail.starts_with(name) ? d.detail : std::string(name) + ": " + d.detail;
}

void set_problem(SegmentInspection& s, SegmentState state, uint64_t offset,
                 std::optional<Lsn> lsn, DecodeProblem problem, std::string reason) {
  s.state = state;
  s.problem_offset = offset;
  s.problem_lsn = lsn;
  s.problem = problem;
  s.reason = std::move(reason);
}

// Classifies the bad record `d` like recovery does (see recovery.cc scan_segment).
Status classify_bad_record(io::Disk& disk, const io::RelativePath& path,
                           uint64_t max_record_bytes, bool is_last, const Decoded& d,
                           SegmentInspection& s) {
  const std::string reason = problem_reason(d);
  // A header that passed its checksum names the damaged record's LSN.
  const std::optional<Lsn> lsn = d.size > 0 && d.outcome == DecodeOutcome::kInvalid
                                     ? std::optional<Lsn>(d.record.lsn)
                                     : std::nullopt;
  if (!is_last) {
    set_problem(s, SegmentState::kCorrupt, d.offset, lsn, d.problem,
                reason + " (not the last segment)");
    return ok_status();
  }
  KAYA_ASSIGN_OR_RETURN(
      std::optional<uint64_t> later,
      find_valid_record(disk, path, resync_offset(d), max_record_bytes));
  if (later) {
    set_problem(s, SegmentState::kCorrupt, d.offset, lsn, d.problem,
                reason + ", followed by a valid record at offset " + num(*later));
  } else {
    set_problem(s, SegmentState::kTornTail, d.offset, lsn, d.problem,
                reason + " (nothing valid follows: a write cut short by a crash)");
  }
  return ok_status();
}

Anomaly segment_anomaly(const SegmentInspection& s) {
  return Anomaly{s.state == SegmentState::kTornTail ? AnomalyKind::kTornTail
                                                    : AnomalyKind::kCorruption,
                 s.id, s.problem_offset, s.problem_lsn, s.reason};
}

// The LSN check between segments that recovery makes on a segment's first record.
// `expected` 0 means unknown (LSNs start at 1).
std::optional<Anomaly> check_first_lsn(const SegmentInspection& s, uint64_t expected) {
  if (expected == 0 || !s.first_lsn || s.first_lsn->value() == expected) {
    return std::nullopt;
  }
  const uint64_t lsn = s.first_lsn->value();
  return Anomaly{AnomalyKind::kCorruption, s.id, 0, s.first_lsn,
                 std::string(lsn < expected ? "LSN steps back" : "LSN gap") +
                     ": record has LSN " + num(lsn) + ", expected " + num(expected) +
                     " (first record of the segment)"};
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
  }
  return "unknown";
}

std::string SegmentInspection::state_string() const {
  switch (state) {
    case SegmentState::kClean:
      return "clean";
    case SegmentState::kTornTail:
      return "torn tail of " + num(problem_bytes()) + " bytes at offset " +
             num(problem_offset) + ": " + reason;
    case SegmentState::kCorrupt:
      return "corrupt at offset " + num(problem_offset) + ": " + reason;
  }
  return "unknown";
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

Result<SegmentInspection> inspect_segment(io::Disk& disk, const io::RelativePath& path,
                                          uint64_t max_record_bytes, bool is_last) {
  SegmentInspection s;
  s.id = format::parse_segment_file_name(path.filename()).value_or(0);
  s.path = disk.describe(path);
  SegmentReader reader(disk, path, max_record_bytes);
  for (;;) {
    KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> d, reader.next());
    if (!d) break;
    if (!d->ok()) {
      KAYA_RETURN_IF_ERROR(
          classify_bad_record(disk, path, max_record_bytes, is_last, *d, s));
      break;
    }
    const Lsn lsn = d->record.lsn;
    if (s.last_lsn && lsn != s.last_lsn->next()) {
      const uint64_t expected = s.last_lsn->next().value();
      set_problem(s, SegmentState::kCorrupt, d->offset, lsn, DecodeProblem::kNone,
                  std::string(lsn.value() < expected ? "LSN steps back" : "LSN gap") +
                      ": record has LSN " + num(lsn.value()) + ", expected " +
                      num(expected));
      break;
    }
    if (!s.first_lsn) s.first_lsn = lsn;
    s.last_lsn = lsn;
    s.last_sequence = d->record.sequence;
    s.records++;
    // decode() accepts only the types format.h knows, which the array covers.
    const auto type = static_cast<size_t>(d->record.type);
    if (type < s.records_by_type.size()) s.records_by_type[type]++;
    s.valid_bytes = d->offset + d->size;
  }
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
  return s;
}

Result<LogInspection> inspect_log(const WalConfig& config, io::Disk& disk) {
  KAYA_RETURN_IF_ERROR(config.validate());
  KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, list_segments(disk));
  LogInspection log;
  // The LSN the next record must carry, as recovery tracks it (0: unknown); forgotten
  // after a segment with a problem, whose lost records make the next check meaningless.
  uint64_t expected = 0;
  bool stopped = false;  // recovery would have stopped at an earlier anomaly
  for (size_t i = 0; i < ids.size(); ++i) {
    const size_t anomalies_before = log.anomalies.size();
    // Log-level problems sit at offset 0 of this segment: recovery keeps none of it.
    bool log_problem = false;
    if (i > 0 && ids[i] != ids[i - 1] + 1) {
      log.anomalies.push_back(Anomaly{AnomalyKind::kCorruption, ids[i], 0, std::nullopt,
                                      "segment " + num(ids[i - 1] + 1) +
                                          " is missing: the log has a hole before "
                                          "this segment"});
      log_problem = true;
    }
    KAYA_ASSIGN_OR_RETURN(SegmentInspection s,
                          inspect_segment(disk, segment_path(ids[i]),
                                          config.max_record_bytes, i + 1 == ids.size()));
    if (!log_problem) {
      if (auto gap = check_first_lsn(s, expected)) {
        log.anomalies.push_back(*gap);
        log_problem = true;
      }
    }
    // A problem inside the segment still leaves recovery the records before it.
    if (!stopped && !log_problem) {
      log.recoverable_records += s.records;
      if (s.last_lsn) log.next_lsn = s.last_lsn->next();
    }
    if (s.state != SegmentState::kClean) log.anomalies.push_back(segment_anomaly(s));
    if (log.anomalies.size() > anomalies_before) stopped = true;

    if (s.state != SegmentState::kClean) {
      expected = 0;
    } else if (s.last_lsn) {
      expected = s.last_lsn->next().value();
    }
    log.bytes += s.bytes;
    log.records += s.records;
    if (s.first_lsn && !log.first_lsn) log.first_lsn = s.first_lsn;
    if (s.last_lsn) log.last_lsn = s.last_lsn;
    log.segments.push_back(std::move(s));
  }
  return log;
}

}  // namespace kaya::wal
