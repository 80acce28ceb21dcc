// The simulation's run (simulation.h): the seed's configuration and disk, the steps
// drawn at random, the writer's restarts and crashes, and the totals of a run.
#include <algorithm>
#include <array>
#include <memory>
#include <sstream>
#include <string>

#include "kaya/wal/recovery_point.h"
#include "sim/simulation_harness.h"

namespace kaya::sim {

Simulation::Simulation(uint64_t seed, const SimulationOptions& options)
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
  config_.preallocate_bytes = std::array<uint64_t, 4>{0, 64, 1000, 1 << 20}[seed / 4 % 4];
  clients_.resize(static_cast<size_t>(std::max(1, options.clients)));
  result_.seeds = 1;
}

SimulationResult Simulation::run() {
  if (restart(/*crash=*/false)) {
    for (op_ = 0; op_ < options_.operations; ++op_) {
      result_.operations++;
      if (!step()) break;
    }
    if (result_.failure.empty()) restart(rng_() % 2 == 0);
  }
  drop_writer(/*crash=*/false);
  for (int k = 0; k < io::kFaultKindCount; ++k) {
    result_.faults[k] = disk_.faults_injected(static_cast<FaultKind>(k)) - uncounted_[k];
  }
  return result_;
}

bool Simulation::fail(const char* cond, const std::string& msg) {
  std::ostringstream os;
  os << "seed " << seed_ << " op " << op_ << ": " << msg << " [" << cond << "]";
  result_.failure = os.str();
  return false;
}

void Simulation::set_live_faults() {
  disk_.clear_faults();
  if (crash_only_) return;
  for (int k = 0; k < io::kFaultKindCount; ++k) {
    disk_.set_fault_probability(static_cast<FaultKind>(k), fault_p_);
  }
}

void Simulation::drop_writer(bool crash) {
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
    if (!writer_->stats().poisoned && writer_->close().ok()) durable_ = assigned_.size();
    writer_.reset();
  }
}

bool Simulation::restart(bool crash) {
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
    disk_.fail_nth(static_cast<FaultKind>(rng_() % io::kFaultKindCount), 1 + rng_() % 6);
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
            "reopened writer's next LSN " << writer_->next_lsn().value() << ", expected "
                                          << next_lsn());
  const auto& report = writer_->recovery_report();
  first_kept_ = report.first_lsn ? report.first_lsn->value() : next_lsn();
  fault_p_ = crash_only_ ? 0.0 : 0.001 * static_cast<double>(rng_() % 8);
  set_live_faults();
  return true;
}

bool Simulation::step() {
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
