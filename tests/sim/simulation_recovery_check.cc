// The simulation's checks of recovery (simulation_harness.h): after every restart the
// recovered log against the oracle (nothing durable lost, nothing never assigned, never
// a partial batch), and bit flips in closed segments that every path must report.
#include <algorithm>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "kaya/wal/recovery.h"
#include "kaya/wal/recovery_point.h"
#include "sim/simulation_harness.h"
#include "wal/wal_test_util.h"

namespace kaya::sim {

bool Simulation::check_recovered() {
  std::optional<FaultKind> injected;
  if (!crash_only_ && rng_() % 2 == 0) {
    disk_.fail_nth(FaultKind::kReadError, 1 + rng_() % 6);
    injected = FaultKind::kReadError;
  }
  auto log = wal::testing::read_log(disk_, config_);
  if (!log.ok()) {
    SIM_CHECK(injected && log.error().kind() == ErrorKind::kIo,
              "recovery failed: " << log.error().to_string());
    disk_.clear_faults();
    log = wal::testing::read_log(disk_, config_);
    SIM_CHECK(log.ok(),
              "recovery failed after clearing read errors: " << log.error().to_string());
  }
  disk_.clear_faults();
  // A power loss alone is never corruption: beyond the recovery point it leaves a
  // torn tail, or (sectors persisted out of order) records after a hole, which
  // recovery moves aside; the durable records before them are checked below.
  for (const wal::Anomaly& a : log->report.anomalies) {
    SIM_CHECK(a.kind == wal::AnomalyKind::kTornTail ||
                  a.kind == wal::AnomalyKind::kLostAfterHole,
              "unexpected anomaly: " << a.to_string());
    a.kind == wal::AnomalyKind::kTornTail ? result_.torn_tails++
                                          : result_.lost_after_holes++;
  }
  const uint64_t end = log->report.next_lsn.value();  // first LSN not in the log
  // After a failed truncation: exactly the truncated log, or the old one (never a
  // mix: an end between the cut and the durable end).
  const bool truncated = pending_cut_ && end == *pending_cut_ + 1;
  pending_cut_.reset();
  if (truncated && log->records.empty()) {
    first_kept_ = end;  // emptied
    release_floor_ = std::max(release_floor_, end);
  }
  SIM_CHECK(truncated || end >= durable_ + 1,
            "acknowledged durable records lost: log ends before "
                << end << ", durable through " << durable_);
  SIM_CHECK(end <= next_lsn(), "recovered LSN " << end - 1 << " never assigned");
  const auto& got = log->records;
  if (!got.empty()) {
    SIM_CHECK(got.front().lsn.value() <= release_floor_,
              "log starts at " << got.front().lsn.value()
                               << " but nothing was released below " << release_floor_);
    SIM_CHECK(got.back().lsn.value() + 1 == end, "report's next LSN disagrees");
  }
  for (size_t i = 0; i < got.size(); ++i) {
    const uint64_t lsn = got[i].lsn.value();
    SIM_CHECK(i == 0 || lsn == got[i - 1].lsn.value() + 1, "LSN gap at " << lsn);
    SIM_CHECK(got[i] == assigned_[lsn - 1],
              "recovered record at LSN " << lsn << " differs");
    result_.reads_checked++;
  }
  // Never a partial batch: the log ends, and starts, at a batch boundary.
  SIM_CHECK(end == 1 || batch_last_[end - 2] == end - 1,
            "recovery kept part of a batch: the log ends at LSN "
                << end - 1 << ", its batch at " << batch_last_[end - 2]);
  if (!got.empty()) {
    const uint64_t first = got.front().lsn.value();
    SIM_CHECK(first == 1 || batch_last_[first - 2] == first - 1,
              "the log starts at LSN " << first << ", inside a batch");
  }
  assigned_.resize(end - 1);
  batch_last_.resize(end - 1);
  durable_ = end - 1;
  // A release whose directory sync failed did not make its removal durable: the
  // crash can bring that segment back, so the log may start lower than before.
  if (!got.empty()) first_kept_ = got.front().lsn.value();
  return true;
}

bool Simulation::bit_flip(bool live) {
  disk_.clear_faults();
  auto ids = wal::list_segments(disk_);
  SIM_CHECK(ids.ok(), "list_segments: " << ids.error().to_string());
  auto rp = wal::read_recovery_point(disk_);
  SIM_CHECK(rp.ok(), "read_recovery_point: " << rp.error().to_string());
  const uint64_t sealed = rp->has_value() ? (*rp)->sealed_segment_id : 0;
  std::vector<uint64_t> closed;
  for (size_t i = 0; i + 1 < ids->size(); ++i) {
    if ((*ids)[i] <= sealed) closed.push_back((*ids)[i]);
  }
  if (closed.empty()) return set_live_faults(), true;
  const uint64_t id = closed[rng_() % closed.size()];
  const io::RelativePath path = wal::testing::segment(id);
  auto len = disk_.file_len(path);
  SIM_CHECK(len.ok() && *len > 0, "closed segment " << id << " is empty");
  const uint64_t offset = rng_() % *len;
  uint8_t original = 0;
  auto n = disk_.read_at(path, offset, std::span<uint8_t>(&original, 1));
  while (n.ok() && *n == 0) n = disk_.read_at(path, offset, std::span(&original, 1));
  SIM_CHECK(n.ok(), "read_at: " << n.error().to_string());
  const uint8_t flipped = original ^ static_cast<uint8_t>(1 + rng_() % 255);
  auto put = [&](uint8_t byte) {
    return disk_.write_at(path, offset, io::ByteView(&byte, 1)).ok() &&
           disk_.fsync_file(path).ok();
  };
  SIM_CHECK(put(flipped), "could not flip a byte");
  result_.bit_flips_injected++;
  std::ostringstream where;
  where << "bit flip in segment " << id << " offset " << offset << ": ";

  auto log = wal::testing::read_log(disk_, config_);
  SIM_CHECK(!log.ok() && log.error().kind() == ErrorKind::kCorruption,
            where.str() << "recovery did not report corruption"
                        << (log.ok() ? "" : ": " + log.error().to_string()));
  if (!live) {
    // A closed segment is below the recovery point: a default open does not read it
    // (it costs the tail), an open asked for a full scan refuses the log.
    wal::OpenOptions full = open_options();
    full.recovery.full_scan = true;
    auto opened = wal::Writer::open(config_, disk_, full);
    SIM_CHECK(!opened.ok() && opened.error().kind() == ErrorKind::kCorruption,
              where.str() << "Writer::open with a full scan did not refuse a corrupt "
                             "log");
  }
  // A failed release may have removed segments after first_kept_: skip them.
  auto reader = wal::LogReader::open(config_, disk_, Lsn(first_kept_));
  while (!reader.ok() && reader.error().kind() == ErrorKind::kNotFound &&
         first_kept_ < release_floor_) {
    reader = wal::LogReader::open(config_, disk_, Lsn(++first_kept_));
  }
  bool detected = false;
  std::string outcome = "ended at LSN ";
  if (!reader.ok()) {
    outcome = "open: " + reader.error().to_string();
    detected = reader.error().kind() == ErrorKind::kCorruption;
  } else {
    for (;;) {
      const uint64_t pos = (*reader)->position().value();
      auto rec = (*reader)->next();
      if (!rec.ok()) {
        outcome = rec.error().to_string();
        // A flip in a record's version byte reads as UnsupportedVersion (recovery
        // calls the same damage Corruption): reported, not returned as data.
        detected = rec.error().kind() == ErrorKind::kCorruption ||
                   rec.error().kind() == ErrorKind::kUnsupportedVersion;
        break;
      }
      if (!rec->has_value()) {
        outcome += std::to_string(pos);
        break;
      }
      if (!check_read(**rec, pos, where.str() + "LogReader", before_truncation_.size()))
        return false;
    }
  }
  SIM_CHECK(detected, where.str() << "LogReader from LSN " << first_kept_
                                  << " did not report corruption: " << outcome
                                  << (live ? " (live)" : " (restart)"));
  SIM_CHECK(put(original), "could not restore the flipped byte");
  result_.bit_flips_detected++;
  set_live_faults();
  return true;
}

}  // namespace kaya::sim
