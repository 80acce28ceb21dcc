#include "wal/recovery_scan.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/assert.h"
#include "wal/log_dir.h"
#include "wal/segment_reader.h"

namespace kaya::wal {
namespace {

std::string num(uint64_t v) { return std::to_string(v); }

}  // namespace

Status RecoveryScan::run() {
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

void RecoveryScan::sealed_facts(RecoveryPoint& rp) const {
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

Status RecoveryScan::plan() {
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
      KAYA_ASSIGN_OR_RETURN(std::optional<Lsn> first,
                            log_dir::first_lsn(disk_, ids_[idx], view_.max_record_bytes));
      if (first && *first <= *options_.visit_from) break;
    }
    start_index_ = idx;
    start_offset_ = 0;
    previous_.reset();
  }
  return ok_status();
}

Status RecoveryScan::probe_first_record() {
  const uint64_t id = ids_[0];
  SegmentReader reader(disk_, log_dir::segment(id), view_.max_record_bytes, 0,
                       format::kHeaderLen);
  KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> d, reader.next());
  KAYA_ASSIGN_OR_RETURN(std::optional<Spot> bad, judge_first_record(disk_, view_, id, d));
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

void RecoveryScan::set_problem(Spot spot, size_t index) {
  problem_ = Problem{std::move(spot), index};
}

Status RecoveryScan::trust_segment(size_t i) {
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
        judge_spot(view_, Finding::kEndsEarly, id,
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

bool RecoveryScan::below_sealed(uint64_t id) const {
  return view_.rp && id < view_.rp->sealed_segment_id;
}

bool RecoveryScan::check_contiguous(size_t i) {
  if (!log_dir::hole_before(ids_, i)) return true;
  set_problem(missing_segment_spot(view_, ids_[i - 1], ids_[i]), i);
  return false;
}

Status RecoveryScan::scan_segment(size_t i, uint64_t from) {
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

Status RecoveryScan::keep(uint64_t id, const Decoded& d, SegmentSummary& summary) {
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

std::optional<uint64_t> RecoveryScan::lsn_before() const {
  if (batch_) return batch_->records.back().record.lsn.value();
  return previous_;
}

void RecoveryScan::incomplete_batch(size_t i, bool last) {
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

Status RecoveryScan::keep_one(uint64_t id, const Decoded& d, const RecordView& record,
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
      lsn, d.record.sequence, id, d.offset, static_cast<uint32_t>(d.size), d.header_crc};
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

void RecoveryScan::end_of_segment(size_t i, bool last, uint64_t end,
                                  const SegmentSummary& summary) {
  if (last) return;
  if (auto spot = sealed_segment_spot(view_, ids_[i], end, summary.bytes)) {
    set_problem(std::move(*spot), i);
  }
}

void RecoveryScan::check_reached_recovery_point() {
  const RecordPosition* durable = view_.durable();
  if (durable == nullptr) return;
  if (last_ &&
      (last_->segment_id > durable->segment_id ||
       (last_->segment_id == durable->segment_id && last_->offset >= durable->offset))) {
    return;
  }
  const uint64_t id = ids_.empty() ? durable->segment_id : ids_.back();
  const uint64_t offset = report_.segments.empty() || report_.segments.back().id != id
                              ? 0
                              : report_.segments.back().valid_bytes;
  set_problem(ends_early_spot(view_, id, offset), ids_.empty() ? 0 : ids_.size() - 1);
}

}  // namespace kaya::wal
