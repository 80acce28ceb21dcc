// The oracle of kill_test (kill_oracle.h): an append child's output parsed into what
// the test knows, and every recovered log checked against it.
#include "kill_oracle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "crash_disk.h"
#include "kaya/wal/recovery.h"
#include "kill_child.h"
#include "testing/test_util.h"

namespace kaya::crash {

std::optional<std::pair<uint64_t, uint64_t>> batch_around(
    const std::map<uint64_t, uint64_t>& batches, uint64_t lsn) {
  auto it = batches.upper_bound(lsn);
  if (it == batches.begin()) return std::nullopt;
  --it;
  if (lsn >= it->first && lsn < it->second) return *it;
  return std::nullopt;
}

void recover_and_check(const std::string& dir, Oracle& oracle,
                       const std::optional<KilledRun>& run, Totals& totals) {
  KAYA_ASSERT_OK(release_dead_writer(dir));
  auto disk = open_crash_disk(dir, /*create=*/false);
  KAYA_ASSERT_OK(disk);
  std::vector<Found> found;
  std::string visit_error;
  auto report = wal::recover(
      log_config(), **disk, {},
      [&](uint64_t, uint64_t, const wal::RecordView& r) -> Status {
        const uint64_t lsn = r.lsn.value();
        auto id = parse_key(r.key);
        if (visit_error.empty()) {
          if (r.type != wal::RecordType::kPut || !id) {
            visit_error = "LSN " + std::to_string(lsn) + ": not a record the child " +
                          "writes (key '" + std::string(r.key) + "')";
          } else if (r.value != record_value(oracle.seed, *id)) {
            visit_error = "LSN " + std::to_string(lsn) + " (" + std::string(r.key) +
                          "): value differs from the child's";
          } else if (!found.empty() && lsn != found.back().lsn + 1) {
            visit_error = "LSN " + std::to_string(lsn) + " follows LSN " +
                          std::to_string(found.back().lsn);
          }
        }
        if (id) found.push_back({lsn, *id});
        return {};
      });
  ASSERT_TRUE(report.ok()) << "recovery failed: " << report.error().to_string();
  ASSERT_EQ(visit_error, "");
  // A kill leaves a torn tail, or, when appenders wrote their large relaxed records
  // side by side, a later record written and an earlier one not: zeros, then records
  // that were never acknowledged (each waits for every earlier one), moved aside as
  // records after a hole. The checks below prove no acknowledged record went with them.
  for (const wal::Anomaly& a : report->anomalies) {
    ASSERT_TRUE(a.kind == wal::AnomalyKind::kTornTail ||
                a.kind == wal::AnomalyKind::kLostAfterHole)
        << a.to_string();
    (a.kind == wal::AnomalyKind::kTornTail ? totals.torn_tails
                                           : totals.lost_after_holes)++;
  }
  ASSERT_EQ(report->records, found.size());
  totals.records_recovered += found.size();
  const uint64_t last = found.empty() ? 0 : found.back().lsn;
  if (oracle.pending_cut) {
    // The interrupted truncation either happened or did not: the log ends at its cut
    // or where it ended before (the checks below then miss no record of either).
    const uint64_t cut = *oracle.pending_cut;
    const bool had_more = !oracle.known.empty() && oracle.known.rbegin()->first > cut;
    if (!had_more || last <= cut) {
      oracle.known.erase(oracle.known.upper_bound(cut), oracle.known.end());
      oracle.batches.erase(oracle.batches.upper_bound(cut), oracle.batches.end());
      oracle.last_cut = cut;
      if (had_more) totals.truncation_kills_cut++;
    }
    oracle.pending_cut.reset();
  }
  const uint64_t first = found.empty() ? report->next_lsn.value() : found.front().lsn;
  if (found.empty()) {
    ASSERT_EQ(report->next_lsn.value(), oracle.last_cut ? *oracle.last_cut + 1 : 1)
        << "a log without records continues at another LSN";
  } else {
    ASSERT_EQ(report->next_lsn.value(), last + 1);
    ASSERT_LE(first, std::max<uint64_t>(oracle.release_below, 1))
        << "records released above the announced release point";
  }

  // Every known record at or above the log's first LSN is there, unchanged; those
  // below it were released and are forgotten.
  while (!oracle.known.empty() && oracle.known.begin()->first < first) {
    const RecordId gone = oracle.known.begin()->second;
    ASSERT_LT(oracle.known.begin()->first, oracle.release_below)
        << "LSN " << oracle.known.begin()->first << " (" << record_key(gone)
        << ") is missing but was never released";
    oracle.known.erase(oracle.known.begin());
  }
  for (const auto& [lsn, id] : oracle.known) {
    ASSERT_FALSE(found.empty()) << "acknowledged record " << record_key(id) << " at LSN "
                                << lsn << " lost (the log holds no record)";
    ASSERT_LE(lsn, last) << "acknowledged record " << record_key(id) << " at LSN " << lsn
                         << " lost (log ends at LSN " << last << ")";
    ASSERT_EQ(found[lsn - first].id, id)
        << "LSN " << lsn << " holds " << record_key(found[lsn - first].id)
        << ", not the latest record acknowledged there";
  }
  // Never part of a batch: the log neither starts nor ends inside a known one (every
  // record of an acknowledged batch is back, checked above), and no record of a torn
  // batch planted at its end came back.
  std::erase_if(oracle.batches, [&](const auto& b) { return b.second < first; });
  if (auto b = batch_around(oracle.batches, first - 1)) {
    FAIL() << "the log starts at LSN " << first << ", inside the batch of LSNs "
           << b->first << ".." << b->second;
  }
  if (auto b = batch_around(oracle.batches, last)) {
    FAIL() << "the log ends at LSN " << last << ", inside the batch of LSNs " << b->first
           << ".." << b->second;
  }
  for (const Found& f : found) {
    ASSERT_NE(f.id.run, kPlantedRun)
        << "LSN " << f.lsn << " (" << record_key(f.id)
        << ") is part of the torn batch planted at the end of the log: recovery kept "
           "records of a batch whose last record is torn";
  }
  // What was never acknowledged nor seen before is, for each thread of the killed run,
  // what it had in flight: the one record after its last acknowledged one, or all the
  // records of the batch it announced (never a part of them).
  struct Unacked {
    uint64_t first_lsn = 0;
    uint64_t records = 0;
  };
  std::map<uint64_t, Unacked> unacked_per_thread;
  for (const Found& f : found) {
    if (oracle.known.contains(f.lsn)) continue;
    ASSERT_TRUE(run.has_value() && f.id.run == run->run && f.lsn >= run->lowest_lsn)
        << "LSN " << f.lsn << " (" << record_key(f.id)
        << ") was neither acknowledged nor written by the killed child";
    const auto it = run->next_counter.find(f.id.thread);
    const uint64_t next = it == run->next_counter.end() ? 0 : it->second;
    Unacked& u = unacked_per_thread[f.id.thread];
    if (u.records == 0) u.first_lsn = f.lsn;
    ASSERT_EQ(f.id.counter, next + u.records)
        << "LSN " << f.lsn << " (" << record_key(f.id)
        << "): not the append that followed the thread's last acknowledged one";
    ASSERT_EQ(f.lsn, u.first_lsn + u.records)
        << "LSN " << f.lsn << " (" << record_key(f.id)
        << "): the records of a batch are not contiguous";
    u.records++;
    totals.unacked_recovered++;
  }
  for (const auto& [thread, u] : unacked_per_thread) {
    const auto b = run->batch_in_flight.find(thread);
    const uint64_t n = b == run->batch_in_flight.end() ? 1 : b->second.second;
    ASSERT_EQ(u.records, n) << "LSNs " << u.first_lsn << ".."
                            << u.first_lsn + u.records - 1 << ": " << u.records
                            << " of the " << n << " records thread " << thread
                            << " had in flight came back: part of a batch";
    if (n > 1) {
      oracle.batches.emplace(u.first_lsn, u.first_lsn + n - 1);
      totals.batches_in_flight_kept++;
    }
  }
  for (const Found& f : found) oracle.known.emplace(f.lsn, f.id);
  oracle.next_lsn = report->next_lsn.value();
  oracle.first_lsn = first;
  oracle.records = found.size();
  oracle.next_sequence = report->next_sequence ? report->next_sequence->value() : 1;
  oracle.last_segment_id = report->segments.empty() ? 0 : report->segments.back().id;
  oracle.last_segment_valid_bytes =
      report->segments.empty() ? 0 : report->segments.back().valid_bytes;
}

void absorb_append_output(const std::string& out, Oracle& oracle, Totals& totals,
                          bool& opened, KilledRun& killed) {
  killed.lowest_lsn = oracle.next_lsn;
  bool empties = false;  // the pending truncation empties the log
  for (const std::string& line : complete_lines(out)) {
    std::istringstream in(line);
    char tag = 0;
    in >> tag;
    if (tag == 'S') {
      // started; Writer::open follows
    } else if (tag == 'O') {
      uint64_t next = 0;
      in >> next;
      ASSERT_EQ(next, oracle.next_lsn) << "the writer reopened at another LSN";
      opened = true;
    } else if (tag == 'R') {
      uint64_t below = 0;
      in >> below;
      oracle.release_below = std::max(oracle.release_below, below);
      totals.releases++;
    } else if (tag == 'T') {
      uint64_t cut = 0;
      uint64_t first = 0;
      in >> cut >> first;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_FALSE(oracle.pending_cut.has_value()) << "truncations overlap: " << line;
      oracle.pending_cut = cut;
      empties = cut + 1 == first;
    } else if (tag == 'X') {
      uint64_t cut = 0;
      in >> cut;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_EQ(oracle.pending_cut, std::optional<uint64_t>(cut)) << line;
      ASSERT_TRUE(batch_around(oracle.batches, cut).has_value())
          << "a truncation refused an LSN the test knows is not inside a batch: " << line;
      oracle.pending_cut.reset();
      totals.truncations_refused++;
    } else if (tag == 'U') {
      uint64_t cut = 0;
      uint64_t removed = 0;
      in >> cut >> removed;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_EQ(oracle.pending_cut, std::optional<uint64_t>(cut)) << line;
      oracle.pending_cut.reset();
      // No append was in flight (crash_child.cc): the records above the cut are the
      // ones the test knows of, acknowledged or found by the last recovery.
      const auto above = oracle.known.upper_bound(cut);
      ASSERT_EQ(removed, static_cast<uint64_t>(std::distance(above, oracle.known.end())))
          << "the truncation removed records the test does not know of: " << line;
      oracle.known.erase(above, oracle.known.end());
      ASSERT_FALSE(batch_around(oracle.batches, cut).has_value())
          << "a truncation cut inside a batch: " << line;
      oracle.batches.erase(oracle.batches.upper_bound(cut), oracle.batches.end());
      oracle.last_cut = cut;
      killed.lowest_lsn = cut + 1;
      totals.truncations++;
      if (empties) totals.truncations_emptying++;
      totals.records_truncated += removed;
    } else if (tag == 'A') {
      uint64_t lsn = 0;
      char mode = 0;
      RecordId id{killed.run, 0, 0};
      in >> lsn >> mode >> id.thread >> id.counter;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_EQ(mode == 'S', record_is_strict(oracle.seed, id)) << line;
      ASSERT_GE(lsn, killed.lowest_lsn) << "LSN below the log's end: " << line;
      auto [it, inserted] = oracle.known.emplace(lsn, id);
      ASSERT_TRUE(inserted) << "LSN acknowledged twice with no truncation between: "
                            << line;
      ASSERT_FALSE(killed.batch_in_flight.contains(id.thread)) << line;
      killed.next_counter[id.thread] = id.counter + 1;
      (mode == 'S' ? totals.acks_strict : totals.acks_relaxed)++;
    } else if (tag == 'B') {
      RecordId id{killed.run, 0, 0};
      uint64_t n = 0;
      in >> id.thread >> id.counter >> n;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_EQ(n, batch_size(oracle.seed, id)) << line;
      ASSERT_EQ(id.counter, killed.next_counter[id.thread]) << line;
      ASSERT_TRUE(
          killed.batch_in_flight.emplace(id.thread, std::pair(id.counter, n)).second)
          << "two batches in flight in one thread: " << line;
    } else if (tag == 'C') {
      uint64_t lsn = 0;
      char mode = 0;
      RecordId id{killed.run, 0, 0};
      uint64_t n = 0;
      in >> lsn >> mode >> id.thread >> id.counter >> n;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_EQ(mode == 'S', record_is_strict(oracle.seed, id)) << line;
      ASSERT_EQ(killed.batch_in_flight[id.thread], std::pair(id.counter, n))
          << "a batch acknowledged that was not announced: " << line;
      killed.batch_in_flight.erase(id.thread);
      ASSERT_GE(lsn, killed.lowest_lsn) << "LSN below the log's end: " << line;
      for (uint64_t i = 0; i < n; ++i) {
        auto [it, inserted] =
            oracle.known.emplace(lsn + i, RecordId{id.run, id.thread, id.counter + i});
        ASSERT_TRUE(inserted) << "LSN " << lsn + i
                              << " acknowledged twice with no truncation between: "
                              << line;
      }
      oracle.batches.emplace(lsn, lsn + n - 1);
      killed.next_counter[id.thread] = id.counter + n;
      (mode == 'S' ? totals.acks_strict : totals.acks_relaxed)++;
      totals.batches_acked++;
      totals.batch_records_acked += n;
    } else {
      FAIL() << "unexpected line from the child: " << line;
    }
  }
  if (oracle.pending_cut) totals.truncation_kills++;
  totals.batches_in_flight += killed.batch_in_flight.size();
}

}  // namespace kaya::crash
