// What kill_test (kill_test.cc) knows about the log and how it learns it: the oracle of
// acknowledged records, batches, releases and truncations; the parsing of an append
// child's output into it; and the check of a recovered log against it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "crash_record.h"
#include "kaya/wal/config.h"

namespace kaya::crash {

inline constexpr uint64_t kThreads = 4;
inline constexpr uint64_t kSegmentMaxBytes = 8 << 10;
inline constexpr uint64_t kReleaseMargin = 500;  // records kept behind the newest ack
inline constexpr uint64_t kMaxRecordBytes = 4096;

inline wal::WalConfig log_config() {
  wal::WalConfig config;
  config.segment_max_bytes = kSegmentMaxBytes;
  config.max_record_bytes = kMaxRecordBytes;
  return config;
}

struct Totals {
  uint64_t kills = 0;
  uint64_t kills_before_open = 0;  // the child had not opened the writer yet
  uint64_t recovery_kills = 0;
  uint64_t recovery_kills_in_first_pass = 0;
  uint64_t recovery_passes = 0;                    // completed by children later killed
  uint64_t recovery_kills_pending_truncation = 0;  // over an interrupted truncation
  uint64_t torn_planted = 0;
  uint64_t acks_strict = 0;
  uint64_t acks_relaxed = 0;
  uint64_t batches_acked = 0;           // of those acks, atomic batches
  uint64_t batch_records_acked = 0;     // records in them
  uint64_t batches_in_flight = 0;       // announced (B) and not acknowledged at a kill
  uint64_t batches_in_flight_kept = 0;  // of those, recovered whole (else none of it)
  uint64_t torn_batches_planted = 0;
  uint64_t truncations_refused = 0;  // an LSN inside a batch (the child tries the next)
  uint64_t releases = 0;
  uint64_t truncations = 0;           // completed (the child announced the return)
  uint64_t truncations_emptying = 0;  // of those, after the first LSN - 1
  uint64_t records_truncated = 0;     // removed by them
  uint64_t truncation_kills = 0;      // the kill landed inside a truncation
  uint64_t truncation_kills_cut = 0;  // of those, the log came back truncated
  uint64_t unacked_recovered = 0;     // written but not acknowledged when killed
  uint64_t torn_tails = 0;
  uint64_t lost_after_holes = 0;   // unacknowledged records after a hole, moved aside
  uint64_t records_recovered = 0;  // summed over every recovery
  uint64_t final_records = 0;
  uint64_t final_next_lsn = 0;
};

// What the test knows about the log.
struct Oracle {
  uint64_t seed = 0;
  // Segments holding only records below this may have been released.
  uint64_t release_below = 0;
  // Every acknowledged record and every record a recovery found, by LSN, minus those
  // gone from the log's front (released) and those a completed truncation removed: the
  // latest record acknowledged or found at each LSN.
  std::map<uint64_t, RecordId> known;
  // The LSN the last completed truncation kept the log up to (nullopt: none yet): a
  // log without records has the next LSN after it.
  std::optional<uint64_t> last_cut;
  // A truncation the kill interrupted: the log is the one before it or the truncated
  // one, which the next recovery tells.
  std::optional<uint64_t> pending_cut;
  uint64_t next_lsn = 1;   // after the last recovery
  uint64_t first_lsn = 1;  // after the last recovery (next_lsn when no record)
  uint64_t records = 0;
  uint64_t next_sequence = 1;
  uint64_t last_segment_id = 0;
  uint64_t last_segment_valid_bytes = 0;  // where its records end (zeros may follow)
  // The atomic batches among the known records: first LSN -> last LSN.
  std::map<uint64_t, uint64_t> batches;
};

// The run of the records plant_torn_batch() writes: no child has it.
inline constexpr uint64_t kPlantedRun = ~0ull - 1;

struct Found {
  uint64_t lsn;
  RecordId id;
};

// What the killed append child did that recovery may find beyond its acknowledgements:
// at most one record per thread, the one after its last acknowledged (an append that
// returned but was not announced, or was being written), at an LSN from `lowest_lsn` on
// (the next LSN when it opened, or after its last truncation).
struct KilledRun {
  uint64_t run = 0;
  uint64_t lowest_lsn = 1;
  std::map<uint64_t, uint64_t> next_counter;  // per thread (0: nothing acknowledged)
  // Per thread, the batch it announced (B) and was not acknowledged (C) for: its first
  // counter and number of records. A thread without one had a plain append in flight.
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> batch_in_flight;
};

// The batch of `batches` that LSN `lsn` lies strictly inside of (more of its records
// follow `lsn`), if any: its first and last LSN.
std::optional<std::pair<uint64_t, uint64_t>> batch_around(
    const std::map<uint64_t, uint64_t>& batches, uint64_t lsn);

// Recovers the log (default mode, applied) and checks it against the oracle; then the
// oracle learns what the log holds. `run` is the run whose child was just killed (its
// unacknowledged records may be present), or none after a recovery kill.
void recover_and_check(const std::string& dir, Oracle& oracle,
                       const std::optional<KilledRun>& run, Totals& totals);

// Parses an append child's output into the oracle: acknowledged records, releases and
// truncations; `killed` learns what recovery may find beyond the acknowledgements.
void absorb_append_output(const std::string& out, Oracle& oracle, Totals& totals,
                          bool& opened, KilledRun& killed);

}  // namespace kaya::crash
