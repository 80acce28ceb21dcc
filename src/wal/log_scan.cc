#include "wal/log_scan.h"

#include <algorithm>
#include <utility>

#include "wal/log_dir.h"
#include "wal/segment_reader.h"

namespace kaya::wal {
namespace {

std::string num(uint64_t v) { return std::to_string(v); }

Finding finding_of(const Decoded& bad, bool zeros) {
  if (is_newer_format(bad.problem)) return Finding::kNewerFormat;
  switch (bad.problem) {
    case DecodeProblem::kPartialHeader:
      return Finding::kPartialHeader;
    case DecodeProblem::kPartialPayload:
      return Finding::kPartialPayload;
    case DecodeProblem::kOversizedPayload:
      return Finding::kOverLimit;
    case DecodeProblem::kBadPayloadChecksum:
    case DecodeProblem::kMalformedPayload:
      return Finding::kDamagedPayload;
    default:
      return zeros ? Finding::kZeros : Finding::kDamagedHeader;
  }
}

// The decoder's detail usually starts with the problem's name already.
std::string detail_of(const Decoded& d) {
  const std::string_view name = to_string(d.problem);
  return d.detail.starts_with(name) ? d.detail : std::string(name) + ": " + d.detail;
}

}  // namespace

Where LogView::where(uint64_t segment_id, uint64_t offset) const {
  if (!rp) return Where::kNoRecoveryPoint;
  const RecordPosition* d = durable();
  if (d == nullptr) return Where::kBeyond;
  if (segment_id != d->segment_id) {
    return segment_id < d->segment_id ? Where::kCovered : Where::kBeyond;
  }
  return offset < d->end_offset() ? Where::kCovered : Where::kBeyond;
}

Result<LogView> open_log_view(io::Disk& disk, const WalConfig& config,
                              bool ignore_recovery_point) {
  LogView view;
  view.max_record_bytes = config.max_record_bytes;
  if (ignore_recovery_point) return view;
  KAYA_ASSIGN_OR_RETURN(view.rp, read_recovery_point(disk));
  if (view.rp)
    view.max_record_bytes = std::max(view.max_record_bytes, view.rp->max_record_bytes);
  return view;
}

Anomaly Spot::anomaly() const {
  return Anomaly{verdict, segment_id, offset, lsn, reason};
}

Error Spot::to_error(io::Disk& disk) const {
  std::string msg = describe_segment(disk, segment_id) + " at offset " + num(offset);
  if (lsn) msg += " (LSN " + num(lsn->value()) + ")";
  msg += ": " + std::string(to_string(verdict)) + ": " + reason;
  return Error(error_kind(verdict).value_or(ErrorKind::kCorruption), msg);
}

Spot judge_spot(const LogView& view, Finding finding, uint64_t segment_id,
                uint64_t offset, std::optional<Lsn> lsn, const std::string& detail,
                bool last_segment, Follows follows) {
  const Where where = view.where(segment_id, offset);
  Spot s;
  s.verdict = judge(where, last_segment, finding, follows);
  s.finding = finding;
  s.segment_id = segment_id;
  s.offset = offset;
  s.lsn = lsn;
  // Details of the decoder and of LSN checks open with their own name; the findings
  // about whole segments and the recovery point get theirs here.
  const bool named = finding != Finding::kEndsEarly && finding != Finding::kMismatch &&
                     finding != Finding::kEmptySegment;
  s.reason = (named ? detail : std::string(to_string(finding)) + ": " + detail) + " (" +
             std::string(explain(where, last_segment, finding, follows)) + ")";
  return s;
}

Spot incomplete_batch_spot(const LogView& view, uint64_t segment_id, uint64_t offset,
                           Lsn first_lsn, Lsn last_lsn, std::optional<Spot> then,
                           bool last_segment) {
  const std::string what =
      "incomplete batch: the atomic batch from LSN " + std::to_string(first_lsn.value()) +
      " ends before its last record (LSN " + std::to_string(last_lsn.value()) +
      " is the last that verifies";
  if (!then) {
    // The segment ends there: in the last segment nothing follows; a later segment
    // holds records.
    return judge_spot(view, Finding::kIncompleteBatch, segment_id, offset, first_lsn,
                      what + ", then the segment ends)", last_segment,
                      last_segment ? Follows::kNothing : Follows::kValidRecord);
  }
  switch (then->verdict) {
    case Verdict::kTornTail:
    case Verdict::kLostAfterHole:
      return judge_spot(view, Finding::kIncompleteBatch, segment_id, offset, first_lsn,
                        what + "; then " + then->reason + ")", last_segment,
                        then->verdict == Verdict::kTornTail ? Follows::kNothing
                                                            : Follows::kValidRecord);
    case Verdict::kCorruption:
      // Refused; a point-in-time recovery keeps the records before the batch.
      then->reason += "; " + what + "), so the batch is cut whole";
      then->offset = offset;
      then->lsn = first_lsn;
      return std::move(*then);
    case Verdict::kNewerFormat:
    case Verdict::kOverLimit:
      break;  // refused in every mode; nothing is cut
  }
  return std::move(*then);
}

Result<Spot> judge_bad_record(io::Disk& disk, const LogView& view,
                              const io::RelativePath& path, uint64_t segment_id,
                              bool last_segment, bool later_segments,
                              const Decoded& bad) {
  bool zeros = false;
  if (bad.problem == DecodeProblem::kBadMagic) {
    uint8_t magic[4] = {1, 1, 1, 1};
    KAYA_ASSIGN_OR_RETURN(size_t n, io::read_full(disk, path, bad.offset, magic));
    zeros = n == 4 && std::all_of(magic, magic + 4, [](uint8_t b) { return b == 0; });
  }
  const Finding finding = finding_of(bad, zeros);
  std::optional<Lsn> lsn =
      bad.header_verified ? std::optional<Lsn>(bad.record.lsn) : std::nullopt;
  // A damaged header does not name its record, but the recovery point may.
  if (const RecordPosition* p = view.durable();
      !lsn && p != nullptr && p->segment_id == segment_id && p->offset == bad.offset) {
    lsn = p->lsn;
  }
  std::string detail = detail_of(bad);
  Follows follows = Follows::kNothing;
  if (needs_follows(view.where(segment_id, bad.offset), last_segment, finding)) {
    const uint64_t from = resync_offset(bad);
    KAYA_ASSIGN_OR_RETURN(Resync later,
                          find_valid_record(disk, path, from, view.max_record_bytes));
    if (later.found) {
      follows = Follows::kValidRecord;
      detail += ", followed by a valid record at offset " + num(*later.found);
    } else if (later_segments) {
      follows = Follows::kValidRecord;
      detail += ", followed by segment " + num(segment_id + 1);
    } else if (later.gave_up) {
      follows = Follows::kUndetermined;
      detail += "; the search for a valid record after it, from offset " + num(from) +
                ", " + later.gave_up_detail();
    }
  }
  return judge_spot(view, finding, segment_id, bad.offset, lsn, detail, last_segment,
                    follows);
}

Result<std::optional<Spot>> judge_first_record(io::Disk& disk, const LogView& view,
                                               uint64_t id,
                                               const std::optional<Decoded>& first) {
  if (!first) return sealed_segment_spot(view, id, 0, 0);
  if (first->ok()) return std::optional<Spot>();
  KAYA_ASSIGN_OR_RETURN(Spot spot, judge_bad_record(disk, view, log_dir::segment(id), id,
                                                    /*last_segment=*/false,
                                                    /*later_segments=*/true, *first));
  return std::optional<Spot>(std::move(spot));
}

std::optional<Spot> judge_lsn(const LogView& view, uint64_t segment_id, bool last_segment,
                              const Decoded& d, std::optional<uint64_t> previous) {
  const uint64_t lsn = d.record.lsn.value();
  auto spot = [&](Finding f, const std::string& detail) {
    return std::optional<Spot>(
        judge_spot(view, f, segment_id, d.offset, d.record.lsn, detail, last_segment));
  };
  if (lsn == 0) return spot(Finding::kLsnZero, "LSN 0: LSNs start at 1");
  // No writer hands out the last LSN: the one after it could not be represented.
  if (lsn == UINT64_MAX) {
    return spot(Finding::kLsnExhausted,
                "LSN space exhausted: record has LSN 18446744073709551615, which no "
                "writer hands out");
  }
  if (!previous) return std::nullopt;
  const uint64_t expected = *previous + 1;
  if (lsn == expected) return std::nullopt;
  const Finding f = lsn < expected ? Finding::kLsnStepBack : Finding::kLsnGap;
  return spot(f, std::string(to_string(f)) + ": record has LSN " + num(lsn) +
                     ", expected " + num(expected));
}

std::optional<Spot> check_against_recovery_point(const LogView& view, uint64_t segment_id,
                                                 bool last_segment, const Decoded& d) {
  const RecordPosition* p = view.durable();
  if (p == nullptr || segment_id != p->segment_id) return std::nullopt;
  const uint64_t end = d.offset + d.size;
  if (end <= p->offset || d.offset > p->offset) return std::nullopt;
  if (d.offset == p->offset && d.record.lsn == p->lsn && d.size == p->length &&
      d.header_crc == p->header_crc) {
    return std::nullopt;
  }
  return judge_spot(view, Finding::kMismatch, segment_id, d.offset, d.record.lsn,
                    "the recovery point names LSN " + num(p->lsn.value()) +
                        " at offset " + num(p->offset) + " (" + num(p->length) +
                        " bytes), the log has LSN " + num(d.record.lsn.value()) +
                        " at offset " + num(d.offset) + " (" + num(d.size) + " bytes)",
                    last_segment);
}

Spot missing_segment_spot(const LogView& view, uint64_t previous, uint64_t next) {
  const uint64_t missing = previous + 1;
  Spot spot = judge_spot(
      view, Finding::kMissingSegment, missing, 0, std::nullopt,
      "segment " + num(missing) + " is missing: the log has a hole before this segment",
      false);
  spot.segment_id = next;
  return spot;
}

std::optional<Spot> sealed_segment_spot(const LogView& view, uint64_t id, uint64_t end,
                                        uint64_t bytes) {
  if (end == 0) {
    return judge_spot(view, Finding::kEmptySegment, id, 0, std::nullopt,
                      bytes == 0 ? "segment holds no record" : "segment holds only zeros",
                      false);
  }
  if (end < bytes) {
    // Beyond the recovery point a sealed segment's cut may not be durable yet (a
    // power loss before its close: docs/durability.md, "Rotation"): its zero tail is
    // the space the cut removed, and whether records are missing shows at the next
    // segment's first LSN, which is checked against this segment's last.
    if (view.where(id, end) == Where::kBeyond) return std::nullopt;
    return judge_spot(view, Finding::kZeros, id, end, std::nullopt,
                      "zeros from offset " + num(end) + " to the end of the " +
                          num(bytes) + "-byte segment",
                      false);
  }
  return std::nullopt;
}

Spot ends_early_spot(const LogView& view, uint64_t id, uint64_t offset) {
  const RecordPosition* rp = view.durable();
  return judge_spot(view, Finding::kEndsEarly, id, offset, std::nullopt,
                    "the log ends at segment " + num(id) + " offset " + num(offset) +
                        " but the recovery point names LSN " +
                        num(rp ? rp->lsn.value() : 0) + " at segment " +
                        num(rp ? rp->segment_id : 0) + " offset " +
                        num(rp ? rp->offset : 0),
                    true);
}

std::string describe_segment(io::Disk& disk, uint64_t id) {
  return "segment " + num(id) + " (" + disk.describe(log_dir::segment(id)) + ")";
}

}  // namespace kaya::wal
