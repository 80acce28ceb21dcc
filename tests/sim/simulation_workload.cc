// The simulation's workload (simulation_harness.h): single appends and atomic batches
// of random records (now and then too large), syncs, releases and truncations, each
// answer checked against the oracle as it comes.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "sim/simulation_harness.h"

namespace kaya::sim {

Record Simulation::make_record(size_t max_value) {
  Record r;
  r.lsn = Lsn(next_lsn());
  r.sequence = SequenceNumber(next_lsn());
  r.type = static_cast<wal::RecordType>(1 + rng_() % 4);
  auto text = [&](size_t max) {
    std::string s(rng_() % (max + 1), '\0');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  };
  if (r.type == wal::RecordType::kPut || r.type == wal::RecordType::kDelete) {
    r.key = text(24);
  }
  if (r.type == wal::RecordType::kPut || r.type == wal::RecordType::kBytes) {
    r.value = text(max_value);
  }
  return r;
}

bool Simulation::append() {
  if (rng_() % 4 == 0) return append_batch();
  const bool oversize = rng_() % 40 == 0;
  Record r = make_record(oversize ? 1000 : 16 + rng_() % 400);
  if (oversize) {
    r.type = wal::RecordType::kBytes;
    r.key.clear();
    r.value.assign(600, 'x');
  }
  const auto mode =
      rng_() % 2 ? wal::DurabilityMode::kStrict : wal::DurabilityMode::kRelaxed;
  const bool poisoned_before = writer_->stats().poisoned;
  const Lsn before = writer_->next_lsn();
  auto res = writer_->append(r.payload(), mode);
  result_.appends++;
  const bool too_big = r.payload().encoded_len() > config_.max_record_bytes;
  if (writer_->next_lsn() != before) {
    SIM_CHECK(!too_big, "an oversized record consumed an LSN");
    SIM_CHECK(writer_->next_lsn() == before.next(), "LSN skipped");
    assigned_.push_back(r);
    batch_last_.push_back(r.lsn.value());
  }
  if (!res.ok()) {
    SIM_CHECK(too_big || writer_->stats().poisoned,
              "a failed append must poison the writer: " << res.error().to_string());
    SIM_CHECK(
        !too_big || res.error().kind() == ErrorKind::kInvalidArgument || poisoned_before,
        "oversized append: " << res.error().to_string());
    return true;
  }
  SIM_CHECK(!poisoned_before, "a poisoned writer acknowledged LSN " << res->lsn.value());
  SIM_CHECK(!too_big, "an oversized record was accepted");
  SIM_CHECK(res->lsn == r.lsn,
            "append got LSN " << res->lsn.value() << ", expected " << r.lsn.value());
  result_.appends_acked++;
  if (mode == wal::DurabilityMode::kStrict) {
    SIM_CHECK(res->durable, "strict append acknowledged but not durable");
    durable_ = assigned_.size();
  }
  return true;
}

bool Simulation::append_batch() {
  const size_t n = 2 + rng_() % 4;
  std::vector<Record> records;
  const bool oversize = rng_() % 20 == 0;
  for (size_t i = 0; i < n; ++i) {
    records.push_back(make_record(oversize ? 500 : 16 + rng_() % 100));
    records.back().lsn = Lsn(next_lsn() + i);
    records.back().sequence = SequenceNumber(next_lsn() + i);
  }
  std::vector<wal::Payload> payloads;
  uint64_t bytes = 0;
  bool record_too_big = false;
  for (const Record& r : records) {
    payloads.push_back(r.payload());
    bytes += r.payload().encoded_len();
    record_too_big |= r.payload().encoded_len() > config_.max_record_bytes;
  }
  const bool too_big = record_too_big || bytes > config_.segment_max_bytes;
  const auto mode =
      rng_() % 2 ? wal::DurabilityMode::kStrict : wal::DurabilityMode::kRelaxed;
  const bool poisoned_before = writer_->stats().poisoned;
  const Lsn before = writer_->next_lsn();
  auto res = writer_->append_batch(payloads, mode);
  result_.appends++;
  if (writer_->next_lsn() != before) {
    SIM_CHECK(!too_big, "an oversized batch consumed LSNs");
    SIM_CHECK(writer_->next_lsn().value() == before.value() + n,
              "a batch of " << n << " took LSNs " << before.value() << ".."
                            << writer_->next_lsn().value() - 1);
    for (Record& r : records) {
      assigned_.push_back(std::move(r));
      batch_last_.push_back(before.value() + n - 1);
    }
  }
  if (!res.ok()) {
    SIM_CHECK(too_big || writer_->stats().poisoned,
              "a failed batch must poison the writer: " << res.error().to_string());
    SIM_CHECK(
        !too_big || res.error().kind() == ErrorKind::kInvalidArgument || poisoned_before,
        "oversized batch: " << res.error().to_string());
    return true;
  }
  SIM_CHECK(!poisoned_before, "a poisoned writer acknowledged a batch");
  SIM_CHECK(!too_big,
            "a batch larger than a segment (or a record over the limit) was accepted");
  SIM_CHECK(res->first_lsn == before && res->last_lsn.value() == before.value() + n - 1,
            "batch got LSNs " << res->first_lsn.value() << ".." << res->last_lsn.value());
  result_.appends_acked++;
  if (mode == wal::DurabilityMode::kStrict) {
    SIM_CHECK(res->durable, "strict batch acknowledged but not durable");
    durable_ = assigned_.size();
  }
  return true;
}

bool Simulation::sync() {
  const bool poisoned_before = writer_->stats().poisoned;
  const size_t covered = assigned_.size();
  Status s = writer_->sync();
  if (s.ok()) {
    SIM_CHECK(!poisoned_before, "a poisoned writer acknowledged a sync");
    durable_ = covered;
    result_.syncs_acked++;
  } else {
    SIM_CHECK(writer_->stats().poisoned,
              "failed sync without poison: " << s.error().to_string());
  }
  return true;
}

bool Simulation::release() {
  // Past the durable point only with release_beyond_durable (see SimulationOptions):
  // release_before must keep what a crash needs to remember the next LSN.
  uint64_t limit =
      options_.release_beyond_durable ? next_lsn() : std::max<uint64_t>(durable_, 1);
  for (const Client& c : clients_) {
    if (c.reader) limit = std::min(limit, c.reader->position().value());
    if (c.tail) limit = std::min(limit, c.tail->position().value());
  }
  const uint64_t lsn = first_kept_ + rng_() % (limit - std::min(limit, first_kept_) + 1);
  auto rep = writer_->release_before(Lsn(lsn));
  result_.releases++;
  if (!rep.ok()) {
    SIM_CHECK(is_io_kind(rep.error().kind()),
              "release_before(" << lsn << "): " << rep.error().to_string());
    release_floor_ = std::max(release_floor_, lsn);
    release_epoch_++;
    return true;
  }
  release_floor_ = std::max(release_floor_, lsn);
  if (rep->segments_removed > 0) release_epoch_++;
  result_.segments_released += rep->segments_removed;
  if (rep->first_lsn_kept) {
    SIM_CHECK(rep->first_lsn_kept->value() <= lsn || rep->segments_removed == 0 ||
                  rep->first_lsn_kept->value() <= next_lsn(),
              "release kept from " << rep->first_lsn_kept->value());
    first_kept_ = std::max(first_kept_, rep->first_lsn_kept->value());
  }
  return true;
}

bool Simulation::truncate() {
  const uint64_t low = first_kept_ - 1;
  uint64_t lsn = low + rng_() % (next_lsn() - low);
  // A batch is kept whole: the cut goes after the last record of the batch it hits
  // (truncation refuses an LSN inside one: batch_test).
  if (lsn >= 1 && lsn < next_lsn()) lsn = batch_last_[lsn - 1];
  const bool beyond = rng_() % 10 == 0;
  if (beyond) lsn = next_lsn() + rng_() % 3;
  if (!crash_only_ && rng_() % 3 == 0) {
    disk_.fail_nth(rng_() % 2 ? FaultKind::kFsyncFailure : FaultKind::kWriteError,
                   1 + rng_() % 8);
  }
  const bool poisoned_before = writer_->stats().poisoned;
  before_truncation_.push_back(assigned_);
  auto rep = writer_->truncate_after(Lsn(lsn));
  set_live_faults();
  result_.truncations++;
  if (!rep.ok()) {
    const ErrorKind kind = rep.error().kind();
    if (beyond || lsn < release_floor_) {
      SIM_CHECK(
          kind == ErrorKind::kInvalidArgument || is_io_kind(kind) || poisoned_before,
          "truncate_after(" << lsn << "): " << rep.error().to_string());
      if (kind == ErrorKind::kInvalidArgument) {
        before_truncation_.pop_back();  // nothing changed
        return true;
      }
    }
    if (!writer_->stats().poisoned) {
      // Reading the log to plan the cut failed: refused, nothing changed.
      SIM_CHECK(kind == ErrorKind::kIo,
                "a truncation failed without poisoning the "
                "writer: "
                    << rep.error().to_string());
      before_truncation_.pop_back();
      return true;
    }
    // The next restart finds the old log or the truncated one.
    if (!poisoned_before && !beyond) {
      pending_cut_ = lsn;
      release_epoch_++;  // the intent may be durable: readers may fail (NotFound)
    } else {
      before_truncation_.pop_back();
    }
    return true;
  }
  SIM_CHECK(!poisoned_before, "a poisoned writer truncated the log");
  SIM_CHECK(!beyond, "truncate_after(" << lsn << ") beyond the end was accepted");
  SIM_CHECK(rep->next_lsn.value() == lsn + 1 && writer_->next_lsn().value() == lsn + 1,
            "after truncate_after(" << lsn << ") the next LSN is "
                                    << writer_->next_lsn().value());
  if (lsn + 1 < next_lsn()) {
    SIM_CHECK(rep->records_removed == next_lsn() - 1 - lsn, "records_removed");
    assigned_.resize(lsn);
    batch_last_.resize(lsn);
    durable_ = lsn;    // what is kept was made durable first
    release_epoch_++;  // readers opened before may fail (NotFound)
    result_.records_truncated += rep->records_removed;
    if (first_kept_ > lsn) {
      // Emptied: the log starts at the next record.
      first_kept_ = lsn + 1;
      release_floor_ = std::max(release_floor_, lsn + 1);
    }
  } else {
    before_truncation_.pop_back();  // nothing removed, no new epoch
  }
  return true;
}

}  // namespace kaya::sim
