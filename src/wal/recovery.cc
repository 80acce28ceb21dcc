#include "kaya/wal/recovery.h"

#include <chrono>

#include "wal/recovery_internal.h"
#include "wal/segment_reader.h"

namespace kaya::wal {
namespace {

// Where the cut-off data of point-in-time recovery is kept.
constexpr std::string_view kLostDir = "wal/lost";

// The first problem found: everything from (segment, offset) on is not kept.
struct Problem {
  AnomalyKind kind;
  size_t segment_index;  // into the scanned id list
  uint64_t offset;
  std::optional<Lsn> lsn;
  std::string reason;
};

std::string describe_segment(io::Disk& disk, uint64_t id) {
  return "segment " + std::to_string(id) + " (" + disk.describe(segment_path(id)) + ")";
}

Error problem_error(io::Disk& disk, const Anomaly& a, RecoveryMode mode) {
  std::string msg =
      describe_segment(disk, a.segment_id) + " at offset " + std::to_string(a.offset);
  if (a.lsn) msg += " (LSN " + std::to_string(a.lsn->value()) + ")";
  msg += ": " + std::string(to_string(a.kind)) + ": " + a.reason;
  if (a.kind == AnomalyKind::kTornTail) {
    msg +=
        "; absolute recovery accepts no loss (the default mode would drop this "
        "never-acknowledged tail)";
  } else {
    msg += "; durable data is damaged and recovery changed nothing";
    if (mode != RecoveryMode::kPointInTime) {
      msg +=
          " (point-in-time recovery keeps the records before it and moves the rest "
          "to wal/lost/)";
    }
  }
  return Error(ErrorKind::kCorruption, msg);
}

// Scans segment `id` into `report`, streaming records to `visitor`. Returns the
// segment's first problem, if any. `expected` is the LSN the next record must carry.
Result<std::optional<Problem>> scan_segment(
    io::Disk& disk, const WalConfig& config, const RecoveryOptions& options, uint64_t id,
    size_t index, bool last, std::optional<uint64_t>& expected, RecoveryReport& report,
    SegmentSummary& summary, const RecordVisitor& visitor) {
  SegmentReader reader(disk, segment_path(id), config.max_record_bytes, 0,
                       options.buffer_bytes);
  for (;;) {
    KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> d, reader.next());
    if (!d) return std::optional<Problem>();
    if (!d->ok()) {
      // The detail usually starts with the problem's name already.
      const std::string_view name = to_string(d->problem);
      const std::string reason =
          d->detail.starts_with(name) ? d->detail : std::string(name) + ": " + d->detail;
      // A header that passed its checksum names the damaged record's LSN.
      const std::optional<Lsn> bad_lsn =
          d->size > 0 && d->outcome == DecodeOutcome::kInvalid
              ? std::optional<Lsn>(d->record.lsn)
              : std::nullopt;
      if (!last) {
        return std::optional<Problem>(Problem{AnomalyKind::kCorruption, index, d->offset,
                                              bad_lsn,
                                              reason + " (not the last segment)"});
      }
      KAYA_ASSIGN_OR_RETURN(auto later,
                            find_valid_record(disk, reader.path(), resync_offset(*d),
                                              config.max_record_bytes));
      if (later) {
        return std::optional<Problem>(Problem{
            AnomalyKind::kCorruption, index, d->offset, bad_lsn,
            reason + ", followed by a valid record at offset " + std::to_string(*later)});
      }
      return std::optional<Problem>(
          Problem{AnomalyKind::kTornTail, index, d->offset, bad_lsn,
                  reason + " (nothing valid follows: a write cut short by a crash)"});
    }
    const Lsn lsn = d->record.lsn;
    if (expected && lsn.value() != *expected) {
      return std::optional<Problem>(
          Problem{AnomalyKind::kCorruption, index, d->offset, lsn,
                  std::string(lsn.value() < *expected ? "LSN steps back" : "LSN gap") +
                      ": record has LSN " + std::to_string(lsn.value()) + ", expected " +
                      std::to_string(*expected)});
    }
    expected = lsn.value() + 1;
    if (!report.first_lsn) report.first_lsn = lsn;
    if (!summary.first_lsn) summary.first_lsn = lsn;
    summary.last_lsn = lsn;
    summary.records++;
    summary.valid_bytes += d->size;
    report.records++;
    report.valid_bytes += d->size;
    report.next_sequence = d->record.sequence.next();
    if (visitor) KAYA_RETURN_IF_ERROR(visitor(id, d->offset, d->record));
  }
}

// A name under wal/lost/ that is not taken yet.
Result<io::RelativePath> lost_name(io::Disk& disk, uint64_t id, uint64_t offset) {
  std::string base =
      std::string(kLostDir) + "/" + std::string(segment_path(id).filename());
  if (offset > 0) base += ".from-" + std::to_string(offset);
  for (int n = 0;; ++n) {
    KAYA_ASSIGN_OR_RETURN(
        io::RelativePath p,
        io::RelativePath::parse(n == 0 ? base : base + "." + std::to_string(n)));
    auto len = disk.file_len(p);
    if (!len.ok() && len.error().kind() == ErrorKind::kNotFound) return p;
    if (!len.ok()) return std::move(len).error();
  }
}

// Copies bytes [offset, end) of `from` into the new file `to`, durably.
Status copy_tail(io::Disk& disk, const io::RelativePath& from, uint64_t offset,
                 const io::RelativePath& to) {
  std::vector<uint8_t> buf(1 << 20);
  KAYA_RETURN_IF_ERROR(disk.append(to, io::ByteView()).status());
  for (;;) {
    KAYA_ASSIGN_OR_RETURN(size_t n, io::read_full(disk, from, offset, buf));
    if (n == 0) break;
    KAYA_RETURN_IF_ERROR(disk.append(to, io::ByteView(buf.data(), n)).status());
    offset += n;
  }
  return disk.fsync_file(to);
}

// Plans (and unless dry_run, carries out) what `problem` makes recovery drop.
Status drop(io::Disk& disk, const RecoveryOptions& options,
            const std::vector<uint64_t>& ids, const Problem& problem,
            RecoveryReport& report) {
  const bool keep_aside = options.mode == RecoveryMode::kPointInTime;
  const io::RelativePath lost_dir = io::RelativePath::parse(kLostDir).value();
  if (keep_aside && !options.dry_run) {
    KAYA_RETURN_IF_ERROR(disk.create_dir(lost_dir));
    KAYA_RETURN_IF_ERROR(disk.fsync_dir(segment_dir()));
  }
  for (size_t i = problem.segment_index; i < ids.size(); ++i) {
    const uint64_t id = ids[i];
    const io::RelativePath path = segment_path(id);
    Dropped d;
    d.segment_id = id;
    d.offset = i == problem.segment_index ? problem.offset : 0;
    KAYA_ASSIGN_OR_RETURN(uint64_t len, disk.file_len(path));
    d.bytes = len - d.offset;
    if (keep_aside) {
      KAYA_ASSIGN_OR_RETURN(io::RelativePath to, lost_name(disk, id, d.offset));
      d.moved_to = to.str();
      if (!options.dry_run) {
        if (d.offset == 0) {
          KAYA_RETURN_IF_ERROR(disk.rename(path, to));
        } else {
          KAYA_RETURN_IF_ERROR(copy_tail(disk, path, d.offset, to));
        }
      }
    }
    if (!options.dry_run && (d.offset > 0 || !keep_aside)) {
      KAYA_RETURN_IF_ERROR(disk.truncate(path, d.offset));
      KAYA_RETURN_IF_ERROR(disk.fsync_file(path));
    }
    report.bytes_dropped += d.bytes;
    report.dropped.push_back(std::move(d));
  }
  if (!options.dry_run) {
    if (keep_aside) KAYA_RETURN_IF_ERROR(disk.fsync_dir(lost_dir));
    KAYA_RETURN_IF_ERROR(disk.fsync_dir(segment_dir()));
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

std::string_view to_string(AnomalyKind kind) {
  return kind == AnomalyKind::kTornTail ? "torn tail" : "corruption";
}

std::string Anomaly::to_string() const {
  std::string s =
      "segment " + std::to_string(segment_id) + " offset " + std::to_string(offset);
  if (lsn) s += " LSN " + std::to_string(lsn->value());
  return s + ": " + std::string(wal::to_string(kind)) + ": " + reason;
}

std::vector<uint64_t> RecoveryReport::segment_ids() const {
  std::vector<uint64_t> ids;
  for (const SegmentSummary& s : segments) ids.push_back(s.id);
  return ids;
}

std::string RecoveryReport::to_string() const {
  std::string s = std::string(dry_run ? "dry run, " : "") + "mode " +
                  std::string(wal::to_string(mode)) + ": " + std::to_string(records) +
                  " records in " + std::to_string(segments.size()) + " segments (" +
                  std::to_string(valid_bytes) + " bytes), next LSN " +
                  std::to_string(next_lsn.value()) + ", " + std::to_string(duration_us) +
                  " us\n";
  for (const Anomaly& a : anomalies) s += "  anomaly: " + a.to_string() + "\n";
  for (const Dropped& d : dropped) {
    s += "  " + std::string(applied ? "dropped" : "would drop") + " segment " +
         std::to_string(d.segment_id) + " from offset " + std::to_string(d.offset) +
         " (" + std::to_string(d.bytes) + " bytes)";
    if (!d.moved_to.empty()) s += ", kept in " + d.moved_to;
    s += "\n";
  }
  return s;
}

Result<std::vector<uint64_t>> list_segments(io::Disk& disk) {
  auto names = disk.list_dir(segment_dir());
  if (!names.ok()) {
    if (names.error().kind() == ErrorKind::kNotFound) return std::vector<uint64_t>();
    return std::move(names).error();
  }
  std::vector<uint64_t> ids;
  for (const std::string& name : *names) {
    if (auto id = format::parse_segment_file_name(name)) ids.push_back(*id);
  }
  return ids;  // list_dir is sorted, and so are fixed-width hex names
}

Result<RecoveryReport> recover(const WalConfig& config, io::Disk& disk,
                               const RecoveryOptions& options,
                               const RecordVisitor& visitor) {
  // A repair must not race a live writer. A log without segments needs no repair (and
  // may not even have the wal/ directory the lock file lives in).
  std::unique_ptr<io::FileLock> lock;
  if (!options.dry_run) {
    KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, list_segments(disk));
    if (!ids.empty()) {
      KAYA_ASSIGN_OR_RETURN(
          lock, disk.lock_file(io::RelativePath::parse(format::kLockFile).value()));
    }
  }
  return recover_locked(config, disk, options, visitor);
}

Result<RecoveryReport> recover_locked(const WalConfig& config, io::Disk& disk,
                                      const RecoveryOptions& options,
                                      const RecordVisitor& visitor) {
  KAYA_RETURN_IF_ERROR(config.validate());
  const auto start = std::chrono::steady_clock::now();
  RecoveryReport report;
  report.mode = options.mode;
  report.dry_run = options.dry_run;
  KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, list_segments(disk));
  std::optional<uint64_t> expected;
  std::optional<Problem> problem;
  for (size_t i = 0; i < ids.size() && !problem; ++i) {
    if (i > 0 && ids[i] != ids[i - 1] + 1) {
      problem = Problem{AnomalyKind::kCorruption, i, 0, std::nullopt,
                        "segment " + std::to_string(ids[i - 1] + 1) +
                            " is missing: the log has a hole before this segment"};
      break;
    }
    SegmentSummary summary;
    summary.id = ids[i];
    KAYA_ASSIGN_OR_RETURN(summary.bytes, disk.file_len(segment_path(ids[i])));
    KAYA_ASSIGN_OR_RETURN(
        problem, scan_segment(disk, config, options, ids[i], i, i + 1 == ids.size(),
                              expected, report, summary, visitor));
    // A segment cut at offset 0 keeps nothing; in point-in-time mode it moves aside.
    if (!problem || problem->offset > 0 || options.mode != RecoveryMode::kPointInTime) {
      report.segments.push_back(summary);
    }
  }
  report.next_lsn = Lsn(expected.value_or(1));
  if (problem) {
    Anomaly a{problem->kind, ids[problem->segment_index], problem->offset, problem->lsn,
              problem->reason};
    report.anomalies.push_back(a);
    const bool fatal = options.mode == RecoveryMode::kAbsolute ||
                       (options.mode == RecoveryMode::kDefault &&
                        problem->kind == AnomalyKind::kCorruption);
    if (fatal) return problem_error(disk, a, options.mode);
    KAYA_RETURN_IF_ERROR(drop(disk, options, ids, *problem, report));
  }
  report.duration_us =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count());
  return report;
}

}  // namespace kaya::wal
