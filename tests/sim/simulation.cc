#include "sim/simulation.h"

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <vector>

#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "wal/wal_test_util.h"

namespace kaya::sim {
namespace {

using io::FaultKind;
using wal::Record;

// Stops the run with a message when `cond` does not hold.
#define SIM_CHECK(cond, msg)             \
  do {                                   \
    if (!(cond)) {                       \
      std::ostringstream sim_os_;        \
      sim_os_ << msg;                    \
      return fail(#cond, sim_os_.str()); \
    }                                    \
  } while (0)

bool is_io_kind(ErrorKind kind) {
  return kind == ErrorKind::kIo || kind == ErrorKind::kDiskFull ||
         kind == ErrorKind::kFsyncFailed;
}

struct Client {
  std::unique_ptr<wal::LogReader> reader;
  uint64_t reader_epoch = 0;  // releases when the reader was opened
  size_t reader_log = 0;      // truncations when the reader was opened
  std::unique_ptr<wal::TailingReader> tail;
  bool tail_relaxed = false;
  uint64_t tail_epoch = 0;
  size_t tail_log = 0;
};

class Simulation {
 public:
  Simulation(uint64_t seed, const SimulationOptions& options)
      : seed_(seed),
        options_(options),
        rng_(seed),
        crash_only_(seed % 4 == 0 || !options.faults),
        // Half the seeds lose power the harsh way: each 512-byte sector written since
        // the last fsync keeps its old or its new content, and a file's length may
        // persist ahead of its data (io::CrashPersistence::kSectors). Independently,
        // half of them may keep a new file's entry that was never synced (a segment a
        // rotation created, before its close synced the directory).
        disk_(io::SimDiskOptions{.seed = seed,
                                 .tear_on_crash = true,
                                 .short_reads = seed % 3 == 0,
                                 .persistence = seed % 2 == 1
                                                    ? io::CrashPersistence::kSectors
                                                    : io::CrashPersistence::kPrefix,
                                 .new_entries_may_survive = seed / 2 % 2 == 1}) {
    // Segments from 256 bytes: records larger than a segment go alone into their own.
    config_.segment_max_bytes = 256 + rng_() % 2304;
    config_.max_record_bytes = 512;
    // Bytes records and atomic batches are appended too.
    config_.extensions = wal::kExtensionBytes | wal::kExtensionBatches;
    // Both write paths: system calls (0) and maps of small to large windows.
    config_.preallocate_bytes =
        std::array<uint64_t, 4>{0, 64, 1000, 1 << 20}[seed / 4 % 4];
    clients_.resize(static_cast<size_t>(std::max(1, options.clients)));
    result_.seeds = 1;
  }

  SimulationResult run() {
    if (restart(/*crash=*/false)) {
      for (op_ = 0; op_ < options_.operations; ++op_) {
        result_.operations++;
        if (!step()) break;
      }
      if (result_.failure.empty()) restart(rng_() % 2 == 0);
    }
    drop_writer(/*crash=*/false);
    for (int k = 0; k < io::kFaultKindCount; ++k) {
      result_.faults[k] =
          disk_.faults_injected(static_cast<FaultKind>(k)) - uncounted_[k];
    }
    return result_;
  }

 private:
  bool fail(const char* cond, const std::string& msg) {
    std::ostringstream os;
    os << "seed " << seed_ << " op " << op_ << ": " << msg << " [" << cond << "]";
    result_.failure = os.str();
    return false;
  }

  uint64_t next_lsn() const { return assigned_.size() + 1; }

  // The recovery point is written by the syncing thread itself, so that the order of
  // disk operations, and so a seed's faults, depend on the seed alone.
  static wal::OpenOptions open_options() {
    wal::OpenOptions o;
    o.recovery_point_inline = true;
    return o;
  }

  Record make_record(size_t max_value) {
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

  void set_live_faults() {
    disk_.clear_faults();
    if (crash_only_) return;
    for (int k = 0; k < io::kFaultKindCount; ++k) {
      disk_.set_fault_probability(static_cast<FaultKind>(k), fault_p_);
    }
  }

  // Ends the writer's process: a power loss (crash) or a clean exit.
  void drop_writer(bool crash) {
    for (Client& c : clients_) {
      c.reader.reset();
      c.tail.reset();
      c.reader_log = c.tail_log = 0;
    }
    before_truncation_.clear();  // no reader needs them any more
    if (!writer_) return;
    if (crash) {
      // Like testing::crash_with_writer (the faults that keep the dying writer's
      // threads off the disk are in force before the crash, so none of its writes or
      // fsyncs lands after it), but they are not counted as injected.
      uint64_t before[io::kFaultKindCount];
      for (int k = 0; k < io::kFaultKindCount; ++k) {
        before[k] = disk_.faults_injected(static_cast<FaultKind>(k));
      }
      disk_.set_fault_probability(FaultKind::kFsyncFailure, 1.0);
      disk_.set_fault_probability(FaultKind::kWriteError, 1.0);
      disk_.crash();
      writer_.reset();
      for (int k = 0; k < io::kFaultKindCount; ++k) {
        uncounted_[k] += disk_.faults_injected(static_cast<FaultKind>(k)) - before[k];
      }
      disk_.clear_faults();
    } else {
      disk_.clear_faults();
      if (!writer_->stats().poisoned && writer_->close().ok())
        durable_ = assigned_.size();
      writer_.reset();
    }
  }

  bool restart(bool crash) {
    if (writer_) {
      if (writer_->stats().poisoned) result_.poisoned++;
      crash ? result_.crashes++ : result_.restarts++;
    }
    drop_writer(crash);
    const bool was_pending = pending_cut_.has_value();
    if (!check_recovered()) return false;
    // (A pending truncation is completed by the open: no flip in what it removes.)
    if (options_.bit_flips && !crash_only_ && !was_pending && rng_() % 3 == 0) {
      if (!bit_flip(/*live=*/false)) return false;
    }
    // Open, possibly under one injected fault; errors must be I/O kinds, and the
    // open succeeds once the faults are cleared.
    if (!crash_only_ && rng_() % 2 == 0) {
      disk_.fail_nth(static_cast<FaultKind>(rng_() % io::kFaultKindCount),
                     1 + rng_() % 6);
    }
    auto opened = wal::Writer::open(config_, disk_, open_options());
    if (!opened.ok()) {
      SIM_CHECK(is_io_kind(opened.error().kind()),
                "Writer::open under a fault: " << opened.error().to_string());
      disk_.clear_faults();
      opened = wal::Writer::open(config_, disk_, open_options());
    }
    disk_.clear_faults();
    SIM_CHECK(opened.ok(), "Writer::open: " << opened.error().to_string());
    writer_ = std::move(opened).value();
    SIM_CHECK(writer_->next_lsn().value() == next_lsn(),
              "reopened writer's next LSN " << writer_->next_lsn().value()
                                            << ", expected " << next_lsn());
    const auto& report = writer_->recovery_report();
    first_kept_ = report.first_lsn ? report.first_lsn->value() : next_lsn();
    fault_p_ = crash_only_ ? 0.0 : 0.001 * static_cast<double>(rng_() % 8);
    set_live_faults();
    return true;
  }

  // Dry-run recovery (retried after an injected read error) checked against the
  // oracle; then the oracle forgets what the crash took.
  bool check_recovered() {
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
      SIM_CHECK(log.ok(), "recovery failed after clearing read errors: "
                              << log.error().to_string());
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

  // Picks a byte of a closed segment (not the last, and at or below the newest one
  // the recovery point names sealed: a segment whose close is still pending lies
  // beyond it), flips it, expects every path to report Corruption without returning
  // the record, and restores it.
  bool bit_flip(bool live) {
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

  // The log as a reader opened after `truncations` truncations knows it: a reader
  // returns what it read before a later truncation, never what it removed after it.
  const std::vector<Record>& log_at(size_t truncations) const {
    return truncations < before_truncation_.size() ? before_truncation_[truncations]
                                                   : assigned_;
  }

  bool check_read(const Record& r, uint64_t expected_lsn, const std::string& who,
                  size_t truncations) {
    const std::vector<Record>& log = log_at(truncations);
    const uint64_t lsn = r.lsn.value();
    SIM_CHECK(lsn == expected_lsn,
              who << " returned LSN " << lsn << " at position " << expected_lsn);
    SIM_CHECK(lsn >= 1 && lsn <= log.size(),
              who << " returned LSN " << lsn << " that was never assigned");
    SIM_CHECK(r == log[lsn - 1], who << " returned a wrong record at LSN " << lsn);
    result_.reads_checked++;
    return true;
  }

  // Appends 2 to 5 records as one atomic batch (now and then one larger than a
  // segment, refused).
  bool append_batch() {
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
      SIM_CHECK(!too_big || res.error().kind() == ErrorKind::kInvalidArgument ||
                    poisoned_before,
                "oversized batch: " << res.error().to_string());
      return true;
    }
    SIM_CHECK(!poisoned_before, "a poisoned writer acknowledged a batch");
    SIM_CHECK(!too_big,
              "a batch larger than a segment (or a record over the limit) was accepted");
    SIM_CHECK(
        res->first_lsn == before && res->last_lsn.value() == before.value() + n - 1,
        "batch got LSNs " << res->first_lsn.value() << ".." << res->last_lsn.value());
    result_.appends_acked++;
    if (mode == wal::DurabilityMode::kStrict) {
      SIM_CHECK(res->durable, "strict batch acknowledged but not durable");
      durable_ = assigned_.size();
    }
    return true;
  }

  bool append() {
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
      SIM_CHECK(!too_big || res.error().kind() == ErrorKind::kInvalidArgument ||
                    poisoned_before,
                "oversized append: " << res.error().to_string());
      return true;
    }
    SIM_CHECK(!poisoned_before,
              "a poisoned writer acknowledged LSN " << res->lsn.value());
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

  bool sync() {
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

  // Releases below a random LSN that no open reader still needs.
  bool release() {
    // Past the durable point only with release_beyond_durable (see SimulationOptions):
    // release_before must keep what a crash needs to remember the next LSN.
    uint64_t limit =
        options_.release_beyond_durable ? next_lsn() : std::max<uint64_t>(durable_, 1);
    for (const Client& c : clients_) {
      if (c.reader) limit = std::min(limit, c.reader->position().value());
      if (c.tail) limit = std::min(limit, c.tail->position().value());
    }
    const uint64_t lsn =
        first_kept_ + rng_() % (limit - std::min(limit, first_kept_) + 1);
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

  // Truncates after a random LSN from the first one kept - 1 to the last (now and then
  // beyond the end, refused), sometimes under a fault scheduled inside the truncation.
  bool truncate() {
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

  // Reading errors allowed while no bit flip is in place.
  bool reader_error(const Error& e, uint64_t epoch, const std::string& who) {
    const bool released = epoch != release_epoch_;
    SIM_CHECK(is_io_kind(e.kind()) || (released && e.kind() == ErrorKind::kNotFound),
              who << " failed: " << e.to_string());
    return true;
  }

  bool log_reader_step(Client& c) {
    if (!c.reader) {
      const uint64_t from = first_kept_ + rng_() % (next_lsn() - first_kept_ + 1);
      auto r = wal::LogReader::open(config_, disk_, Lsn(from));
      if (!r.ok()) {
        // A poisoned writer may have assigned LSNs that never reached the disk.
        if (r.error().kind() == ErrorKind::kInvalidArgument &&
            writer_->stats().poisoned) {
          return true;
        }
        return reader_error(r.error(), from < release_floor_ ? ~0ull : release_epoch_,
                            "LogReader::open");
      }
      c.reader = std::move(r).value();
      c.reader_epoch = release_epoch_;
      c.reader_log = before_truncation_.size();
      SIM_CHECK(c.reader->position().value() == from, "LogReader opened elsewhere");
    }
    for (int i = 1 + static_cast<int>(rng_() % 6); i > 0; --i) {
      const uint64_t pos = c.reader->position().value();
      auto rec = c.reader->next();
      if (!rec.ok()) {
        c.reader.reset();
        return reader_error(rec.error(), c.reader_epoch, "LogReader::next");
      }
      if (!rec->has_value()) {
        // (A reader opened before a truncation may find no record where it stands,
        // the segment cut below its offset, until bytes arrive there.)
        SIM_CHECK(writer_->stats().poisoned || pos >= next_lsn() ||
                      pos >= writer_->stats().next_lsn.value() ||
                      c.reader_log < before_truncation_.size(),
                  "LogReader ended at " << pos << " before the written end");
        break;
      }
      if (!check_read(**rec, pos, "LogReader", c.reader_log)) return false;
    }
    if (rng_() % 4 == 0) c.reader.reset();
    return true;
  }

  bool tail_step(Client& c) {
    if (!c.tail) {
      const uint64_t from = first_kept_ + rng_() % (next_lsn() - first_kept_ + 1);
      c.tail_relaxed = rng_() % 2 == 0;
      auto t = wal::TailingReader::open(
          *writer_, Lsn(from), wal::TailOptions{.include_relaxed = c.tail_relaxed});
      if (!t.ok())
        return reader_error(t.error(), from < release_floor_ ? ~0ull : release_epoch_,
                            "TailingReader::open");
      c.tail = std::move(t).value();
      c.tail_epoch = release_epoch_;
      c.tail_log = before_truncation_.size();
    }
    for (int i = 1 + static_cast<int>(rng_() % 6); i > 0; --i) {
      const uint64_t pos = c.tail->position().value();
      auto rec = c.tail->next(std::chrono::microseconds(0));
      if (!rec.ok()) {
        c.tail.reset();
        return reader_error(rec.error(), c.tail_epoch, "TailingReader::next");
      }
      if (!rec->has_value()) break;
      if (!check_read(**rec, pos, "TailingReader", c.tail_log)) return false;
      if (!c.tail_relaxed) {
        const uint64_t durable_end = writer_->stats().durable_lsn_end.value();
        SIM_CHECK(pos < durable_end, "default TailingReader returned LSN "
                                         << pos
                                         << " before it was durable (durable below "
                                         << durable_end << ")");
      }
    }
    if (rng_() % 4 == 0) c.tail.reset();
    return true;
  }

  bool step() {
    Client& c = clients_[rng_() % clients_.size()];
    const uint64_t roll = rng_() % 100;
    if (roll < 45) return append();
    if (roll < 52) return sync();
    if (roll < 56) return release();
    if (roll < 58) return truncate();
    if (roll < 67) return log_reader_step(c);
    if (roll < 78) return tail_step(c);
    if (roll < 82) {
      if (!crash_only_) {
        disk_.fail_nth(static_cast<FaultKind>(rng_() % io::kFaultKindCount),
                       1 + rng_() % 4);
      }
      return true;
    }
    if (roll < 84) {
      // (Not over a pending truncation, which removes what lies above its cut.)
      if (options_.bit_flips && !crash_only_ && !pending_cut_) {
        return bit_flip(/*live=*/true);
      }
      return true;
    }
    if (roll < 87) return restart(/*crash=*/true);
    if (roll < 89) return restart(/*crash=*/false);
    return append();
  }

  const uint64_t seed_;
  const SimulationOptions options_;
  std::mt19937_64 rng_;
  const bool crash_only_;
  io::SimDisk disk_;
  wal::WalConfig config_;
  std::unique_ptr<wal::Writer> writer_;
  std::vector<Client> clients_;
  // Oracle: every record given an LSN (index i holds LSN i + 1); records [0, durable_)
  // must survive anything.
  std::vector<Record> assigned_;
  // For each LSN in assigned_ (index LSN - 1), the last LSN of its batch (itself for
  // a record appended alone).
  std::vector<uint64_t> batch_last_;
  uint64_t durable_ = 0;
  uint64_t first_kept_ = 1;     // first LSN still in the log, as far as we know
  uint64_t release_floor_ = 1;  // largest LSN given to release_before()
  uint64_t release_epoch_ = 0;  // bumped by every release that may have removed files,
                                // and every truncation that removed records
  // A truncation after this LSN failed: the log is the old one or the truncated one.
  std::optional<uint64_t> pending_cut_;
  // The oracle's records before each truncation since the last restart (readers opened
  // before it are checked against them).
  std::vector<std::vector<Record>> before_truncation_;
  double fault_p_ = 0;
  uint64_t uncounted_[io::kFaultKindCount] = {};
  uint64_t op_ = 0;
  SimulationResult result_;
};

#undef SIM_CHECK

}  // namespace

void SimulationResult::add(const SimulationResult& o) {
  seeds += o.seeds;
  operations += o.operations;
  appends += o.appends;
  appends_acked += o.appends_acked;
  syncs_acked += o.syncs_acked;
  releases += o.releases;
  truncations += o.truncations;
  records_truncated += o.records_truncated;
  segments_released += o.segments_released;
  crashes += o.crashes;
  restarts += o.restarts;
  poisoned += o.poisoned;
  torn_tails += o.torn_tails;
  for (int k = 0; k < io::kFaultKindCount; ++k) faults[k] += o.faults[k];
  lost_after_holes += o.lost_after_holes;
  bit_flips_injected += o.bit_flips_injected;
  bit_flips_detected += o.bit_flips_detected;
  reads_checked += o.reads_checked;
  if (failure.empty()) failure = o.failure;
}

std::string SimulationResult::to_string() const {
  std::ostringstream os;
  os << "sim totals: seeds=" << seeds << " operations=" << operations
     << " appends=" << appends << " acked=" << appends_acked
     << " syncs_acked=" << syncs_acked << " releases=" << releases
     << " segments_released=" << segments_released << " truncations=" << truncations
     << " records_truncated=" << records_truncated << " crashes=" << crashes
     << " restarts=" << restarts << " poisoned=" << poisoned
     << " torn_tails=" << torn_tails << " lost_after_holes=" << lost_after_holes
     << " faults{";
  for (int k = 0; k < io::kFaultKindCount; ++k) {
    os << (k ? " " : "") << io::to_string(static_cast<FaultKind>(k)) << "=" << faults[k];
  }
  os << "} bit_flips=" << bit_flips_injected << "/" << bit_flips_detected
     << " detected reads_checked=" << reads_checked;
  return os.str();
}

SimulationResult run_simulation(uint64_t seed, const SimulationOptions& options) {
  return Simulation(seed, options).run();
}

}  // namespace kaya::sim
