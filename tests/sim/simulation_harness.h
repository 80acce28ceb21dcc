// The simulation harness behind run_simulation (simulation.h), shared by its files: the
// class Simulation drives a seeded workload against a Writer on a SimDisk
// (simulation.cc: the run, its steps and restarts; simulation_workload.cc: appends,
// syncs, releases and truncations) and checks every answer against its oracle
// (simulation_recovery_check.cc: recovery and bit flips; simulation_reader_check.cc:
// the readers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/writer.h"
#include "sim/simulation.h"

namespace kaya::sim {

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

inline bool is_io_kind(ErrorKind kind) {
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
  Simulation(uint64_t seed, const SimulationOptions& options);
  SimulationResult run();

 private:
  bool fail(const char* cond, const std::string& msg);

  uint64_t next_lsn() const { return assigned_.size() + 1; }

  // The recovery point is written by the syncing thread itself, so that the order of
  // disk operations, and so a seed's faults, depend on the seed alone.
  static wal::OpenOptions open_options() {
    wal::OpenOptions o;
    o.recovery_point_inline = true;
    return o;
  }

  // The run (simulation.cc).
  void set_live_faults();
  // Ends the writer's process: a power loss (crash) or a clean exit.
  void drop_writer(bool crash);
  bool restart(bool crash);
  bool step();

  // The workload (simulation_workload.cc).
  Record make_record(size_t max_value);
  bool append();
  // Appends 2 to 5 records as one atomic batch (now and then one larger than a
  // segment, refused).
  bool append_batch();
  bool sync();
  // Releases below a random LSN that no open reader still needs.
  bool release();
  // Truncates after a random LSN from the first one kept - 1 to the last (now and then
  // beyond the end, refused), sometimes under a fault scheduled inside the truncation.
  bool truncate();

  // The checks of recovery (simulation_recovery_check.cc).
  // Dry-run recovery (retried after an injected read error) checked against the
  // oracle; then the oracle forgets what the crash took.
  bool check_recovered();
  // Picks a byte of a closed segment (not the last, and at or below the newest one
  // the recovery point names sealed: a segment whose close is still pending lies
  // beyond it), flips it, expects every path to report Corruption without returning
  // the record, and restores it.
  bool bit_flip(bool live);

  // The checks of the readers (simulation_reader_check.cc).
  // The log as a reader opened after `truncations` truncations knows it: a reader
  // returns what it read before a later truncation, never what it removed after it.
  const std::vector<Record>& log_at(size_t truncations) const;
  bool check_read(const Record& r, uint64_t expected_lsn, const std::string& who,
                  size_t truncations);
  // Reading errors allowed while no bit flip is in place.
  bool reader_error(const Error& e, uint64_t epoch, const std::string& who);
  bool log_reader_step(Client& c);
  bool tail_step(Client& c);

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

}  // namespace kaya::sim
