// A deterministic simulation of kaya on SimDisk (after TigerBeetle's VOPR).
//
// One seed drives everything: several simulated clients interleave strict and relaxed
// appends, syncs, releases, LogReaders and TailingReaders (polled with a zero timeout)
// on one writer, while the driver injects every SimDisk fault kind, crashes (power
// loss), clean restarts and bit flips in durable data. The run is single-threaded, so
// a seed replays exactly. After every restart, and after every read, an oracle checks
// the log: see run_simulation().
#pragma once

#include <cstdint>
#include <string>

#include "kaya/io/sim_disk.h"

namespace kaya::sim {

struct SimulationOptions {
  // Operations per seed.
  uint64_t operations = 100;
  // Simulated clients, each with its own reader and tailing reader.
  int clients = 3;
  // Inject SimDisk faults (a quarter of the seeds are crash-only regardless).
  bool faults = true;
  // Bit flips in closed segments, restored after they were detected.
  bool bit_flips = true;
  // Let release_before() go past the last durable LSN. Writer::release_before must
  // then keep the segment before the first non-durable record; it once did not, and a
  // power loss that tore the unsynced records of the active segment left an empty log
  // whose reopened writer handed out LSNs from 1 again.
  bool release_beyond_durable = true;
};

// What one or more seeds did; `failure` is empty when every invariant held.
struct SimulationResult {
  uint64_t seeds = 0;
  uint64_t operations = 0;
  uint64_t appends = 0;
  uint64_t appends_acked = 0;
  uint64_t syncs_acked = 0;
  uint64_t releases = 0;
  uint64_t segments_released = 0;
  uint64_t truncations = 0;        // truncate_after() calls
  uint64_t records_truncated = 0;  // records they removed
  uint64_t crashes = 0;
  uint64_t restarts = 0;  // clean ones (process exit without power loss)
  uint64_t poisoned = 0;  // writers poisoned by a fault
  uint64_t torn_tails = 0;
  uint64_t lost_after_holes = 0;  // records after a hole moved aside by recovery
  uint64_t faults[io::kFaultKindCount] = {};
  uint64_t bit_flips_injected = 0;
  uint64_t bit_flips_detected = 0;
  uint64_t reads_checked = 0;  // records from readers and recovery compared
  std::string failure;

  void add(const SimulationResult& other);
  // One line: "sim totals: seeds=... operations=... ...".
  std::string to_string() const;
};

// Runs one seed. Invariants checked (a violation stops the run and sets `failure`,
// naming the seed, the operation and what differs):
// - after every restart, recovery finds every acknowledged strict record, and every
//   record a successful sync() or close() covered, unchanged (unless released); what it
//   finds is a contiguous run of what was assigned, ending at or after the durable
//   point; the reopened writer continues right after it (no LSN reused or skipped);
// - a poisoned writer acknowledges no append and no sync;
// - without a bit flip, nothing ever reports Corruption (only torn tails and records
//   after a hole beyond the recovery point, which a power loss of the sector model
//   leaves); read errors
//   yield Io (never Corruption) and succeed once cleared;
// - every bit flip is reported as Corruption by recovery, Writer::open and a LogReader,
//   and the flipped record is never returned;
// - readers return only records equal to the oracle's at that LSN, in order; a default
//   TailingReader only durable ones. After a truncation the oracle holds the records
//   appended since at the LSNs handed out again, so a reader that returned a removed
//   record under a reused LSN fails this check; a reader opened before a truncation
//   may only fail with NotFound;
// - a truncation leaves the next LSN at the LSN truncated after + 1; one that failed
//   (a fault inside it) leaves, after the next restart, exactly the truncated log or
//   the old one, never a mix and never a hole.
SimulationResult run_simulation(uint64_t seed, const SimulationOptions& options);

}  // namespace kaya::sim
