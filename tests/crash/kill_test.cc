// Real crashes on real files. The test starts crash_child (crash_child.cc) on a log
// under a FileDisk, SIGKILLs it at a random instant, recovers the log and checks it
// against what the child acknowledged; then starts the next child on the same log, so
// the kills accumulate. Some iterations kill the child while it runs recovery (after a
// torn record was planted at the end of the log) instead.
//
// A SIGKILL takes the process, not the page cache: every acknowledged append, strict or
// relaxed, must come back, except below a release point the child announced and above
// the LSN a completed truncation kept the log up to; a truncation the kill interrupted
// leaves the log before it or the truncated one, never a hole or a mix. Records
// appended after a truncation take its LSNs again: an LSN must hold the record of the
// latest acknowledged append there. Some iterations kill the child right after it
// announced a truncation, so that kills land inside truncations.
//
// The log is opted into atomic batches, and one append in four is a batch of 2 to 5
// records (crash_record.h, batch_size()): after every recovery the log holds every
// record of each acknowledged batch, and of the batch a thread had in flight at the
// kill all records or none; it never starts or ends inside a batch. Some recovery kills
// run over a torn batch planted at the end of the log (its first records complete, its
// last one torn), which recovery must cut whole.
//
// KAYA_KILLS=<n> sets the number of kills (default 200); KAYA_SEED=<s> replays the
// seed's payloads, delays and choice of iterations (the kill instants follow timing).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "crash_disk.h"
#include "crash_record.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/format.h"
#include "kill_child.h"
#include "kill_oracle.h"
#include "testing/test_util.h"

namespace kaya::crash {
namespace {

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

// $KAYA_KILL_DELAY_SCALE stretches the time before a kill (default 1): a log on a
// cluster, where each write is a network round trip, needs longer runs to see acks.
uint64_t delay_scale() {
  const char* v = std::getenv("KAYA_KILL_DELAY_SCALE");
  return v != nullptr && *v != '\0' ? std::max<uint64_t>(1, std::strtoull(v, nullptr, 10))
                                    : 1;
}

// Runs the appending child for a random time, kills it, then checks the log, unless
// the kill landed inside a truncation and `defer_check` is set: then a recovery child
// meets the interrupted truncation first (recover_and_kill).
void append_and_kill(const std::string& dir, uint64_t run, std::mt19937_64& rng,
                     Oracle& oracle, Totals& totals, bool defer_check) {
  Child child({"append", dir, std::to_string(oracle.seed), std::to_string(run),
               std::to_string(kThreads), std::to_string(kSegmentMaxBytes),
               std::to_string(kReleaseMargin), std::to_string(oracle.first_lsn)});
  ASSERT_TRUE(child.started()) << "fork/pipe failed: " << std::strerror(errno);
  // Mostly kill while appending; now and then from the start of Writer::open on, its
  // recovery included (not while the process is still loading); now and then right
  // after a truncation started (it takes several syncs: the kill mostly lands inside
  // it); and now and then a little after a truncation returned (appends take its LSNs
  // again).
  const uint64_t kind = rng() % 8;
  ASSERT_TRUE(
      child.read_until(Clock::now() + std::chrono::seconds(30), kind < 2 ? "S" : "O "))
      << "the child ended before opening the log:\n"
      << child.out();
  if (kind >= 6) {
    ASSERT_TRUE(child.read_until(Clock::now() + std::chrono::seconds(30),
                                 kind == 6 ? "T " : "U "))
        << "the child ended before truncating:\n"
        << child.out();
  }
  const auto delay =
      kind == 6   ? std::chrono::microseconds(rng() % 3000)
      : kind == 7 ? std::chrono::microseconds((1000 + rng() % 20000) * delay_scale())
                  : std::chrono::microseconds((2000 + rng() % 58000) * delay_scale());
  ASSERT_TRUE(child.read_until(Clock::now() + delay)) << "the child ended by itself:\n"
                                                      << child.out();
  const int status = child.kill_and_wait();
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child " << describe_status(status) << " (its stderr is above)";
  totals.kills++;
  bool opened = false;
  KilledRun killed;
  killed.run = run;
  absorb_append_output(child.out(), oracle, totals, opened, killed);
  if (::testing::Test::HasFatalFailure()) return;
  if (!opened) totals.kills_before_open++;
  if (defer_check && oracle.pending_cut) return;
  recover_and_check(dir, oracle, killed, totals);
}

// Appends a prefix of the record that would come next to the last segment: what a
// write cut short by a crash leaves.
void plant_torn_record(const std::string& dir, std::mt19937_64& rng,
                       const Oracle& oracle) {
  const std::string key = record_key({~0ull, 0, 0});
  const std::string value(rng() % 200, 'x');
  auto encoded = wal::encode(wal::Payload::put(key, value), Lsn(oracle.next_lsn),
                             SequenceNumber(oracle.next_sequence));
  KAYA_ASSERT_OK(encoded);
  const size_t len = 1 + rng() % (encoded->size() - 1);
  // Through the Disk (no lock taken), so that it works on RADOS objects too.
  auto disk = open_crash_disk(dir, /*create=*/false);
  KAYA_ASSERT_OK(disk);
  const auto path =
      io::RelativePath::parse(wal::format::segment_path(oracle.last_segment_id)).value();
  KAYA_ASSERT_OK((*disk)->append(path, io::ByteView(encoded->data(), len)));
}

// Writes the start of the atomic batch that would come next where the last segment's
// records end (before the zeros of preallocated space): its first records complete,
// then a prefix (maybe empty) of the next one, never its last record: what a crash
// leaves of a batch's write cut short. Recovery must cut it whole.
void plant_torn_batch(const std::string& dir, std::mt19937_64& rng,
                      const Oracle& oracle) {
  const uint64_t n = 2 + rng() % 4;
  const uint64_t complete = 1 + rng() % (n - 1);  // records before the torn one
  std::vector<uint8_t> bytes;
  for (uint64_t i = 0; i <= complete; ++i) {
    const RecordId id{kPlantedRun, 0, i};
    const std::string key = record_key(id);
    const std::string value = record_value(oracle.seed, id);
    const wal::Payload payload = wal::Payload::put(key, value);
    std::vector<uint8_t> record(payload.encoded_len());
    KAYA_ASSERT_OK(wal::encode_unsealed(payload, record));
    uint16_t flags = wal::format::kFlagLogBatches;
    if (i + 1 < n) flags |= wal::format::kFlagBatchContinues;
    record[wal::format::kFlagsOffset] = static_cast<uint8_t>(flags & 0xff);
    record[wal::format::kFlagsOffset + 1] = static_cast<uint8_t>(flags >> 8);
    wal::seal(record, Lsn(oracle.next_lsn + i), SequenceNumber(oracle.next_sequence + i));
    if (i == complete) record.resize(rng() % record.size());  // torn
    bytes.insert(bytes.end(), record.begin(), record.end());
  }
  auto disk = open_crash_disk(dir, /*create=*/false);
  KAYA_ASSERT_OK(disk);
  const auto path =
      io::RelativePath::parse(wal::format::segment_path(oracle.last_segment_id)).value();
  KAYA_ASSERT_OK((*disk)->write_at(path, oracle.last_segment_valid_bytes,
                                   io::ByteView(bytes.data(), bytes.size())));
}

// Kills a child that runs recovery over and over; every pass it finished must have
// found the same log, and the next recovery must too. On a log whose truncation a kill
// interrupted (oracle.pending_cut), the first pass completes or forgets it.
void recover_and_kill(const std::string& dir, std::mt19937_64& rng, Oracle& oracle,
                      Totals& totals) {
  const bool pending = oracle.pending_cut.has_value();
  if (pending) totals.recovery_kills_pending_truncation++;
  const bool torn = !pending && rng() % 2 == 0;
  if (torn) {
    const bool batch = rng() % 2 == 0;
    if (batch) {
      plant_torn_batch(dir, rng, oracle);
    } else {
      plant_torn_record(dir, rng, oracle);
    }
    if (::testing::Test::HasFatalFailure()) return;
    (batch ? totals.torn_batches_planted : totals.torn_planted)++;
  }
  const uint64_t records = oracle.records;
  const uint64_t next_lsn = oracle.next_lsn;
  std::vector<std::string> passes;
  // The killed appender's lock (RADOS) when its truncation was left for this child.
  KAYA_ASSERT_OK(release_dead_writer(dir));
  {
    Child child({"recover", dir});
    ASSERT_TRUE(child.started()) << "fork/pipe failed: " << std::strerror(errno);
    // The kill falls within the recovery passes, not the loading of the process.
    ASSERT_TRUE(child.read_until(Clock::now() + std::chrono::seconds(30), "R"))
        << "the child ended before recovering:\n"
        << child.out();
    // Half the kills within the first few passes (the first one repairs), half later.
    const auto delay =
        std::chrono::microseconds(rng() % 2 ? rng() % 3000 : rng() % 100000);
    ASSERT_TRUE(child.read_until(Clock::now() + delay)) << "the child ended by itself:\n"
                                                        << child.out();
    const int status = child.kill_and_wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child " << describe_status(status) << " (its stderr is above)";
    totals.recovery_kills++;
    auto lines = complete_lines(child.out());
    std::erase(lines, "R");
    if (lines.empty()) totals.recovery_kills_in_first_pass++;
    totals.recovery_passes += lines.size();
    passes = lines;
  }
  recover_and_check(dir, oracle, std::nullopt, totals);
  if (!pending) {
    ASSERT_EQ(oracle.records, records);
    ASSERT_EQ(oracle.next_lsn, next_lsn);
  }
  const std::string expected =
      "V " + std::to_string(oracle.records) + " " + std::to_string(oracle.next_lsn);
  for (const std::string& line : passes) {
    ASSERT_EQ(line, expected) << "a recovery pass found another log";
  }
}

uint64_t kills_from_env() {
  const char* v = std::getenv("KAYA_KILLS");
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : 200;
}

TEST(KillTest, AcknowledgedRecordsSurviveSigkill) {
  Oracle oracle;
  oracle.seed = kaya::testing::seed_from_env(1);
  const uint64_t kills = kills_from_env();
  SCOPED_TRACE("seed " + std::to_string(oracle.seed) +
               " (replay: KAYA_SEED=" + std::to_string(oracle.seed) + ")");
  std::mt19937_64 rng(oracle.seed);
  kaya::testing::TempDir tmp;
  // On the RADOS backend (scripts/test-rados.sh) the log is a fresh namespace instead.
  const char* pool = std::getenv("KAYA_CRASH_RADOS_POOL");
  const std::string dir = pool != nullptr && *pool != '\0'
                              ? "rados://" + std::string(pool) + "/log?ns=kill-" +
                                    std::to_string(::getpid()) + "-" +
                                    std::to_string(oracle.seed)
                              : tmp.path();
  SCOPED_TRACE("log " + dir);
  Totals totals;
  const auto start = Clock::now();
  for (uint64_t i = 0; i < kills; ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i));
    if (oracle.pending_cut || (i >= 10 && oracle.records > 0 && rng() % 5 == 0)) {
      recover_and_kill(dir, rng, oracle, totals);
    } else {
      append_and_kill(dir, i, rng, oracle, totals, /*defer_check=*/rng() % 2 == 0);
    }
    if (HasFatalFailure()) return;
  }
  totals.final_records = oracle.records;
  totals.final_next_lsn = oracle.next_lsn;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  std::printf(
      "kill test (seed %llu): %llu append kills (%llu before the writer opened), %llu "
      "recovery kills (%llu in the first pass, %llu passes finished, %llu over a "
      "planted torn record, %llu over a planted torn batch, %llu over an interrupted "
      "truncation); acks checked: %llu strict, %llu relaxed, of which %llu batches "
      "(%llu records); %llu batches in flight at a kill (%llu came back whole, the "
      "others not at all); %llu release points; %llu truncations (%llu emptied the "
      "log, %llu records removed, %llu LSNs refused inside a batch), %llu kills during "
      "one (%llu left the log truncated); %llu unacknowledged records recovered; %llu "
      "torn tails cut; %llu holes with unacknowledged records after them; %llu "
      "records recovered in all; final log: %llu records, next LSN %llu; %lld ms\n",
      ull(oracle.seed), ull(totals.kills), ull(totals.kills_before_open),
      ull(totals.recovery_kills), ull(totals.recovery_kills_in_first_pass),
      ull(totals.recovery_passes), ull(totals.torn_planted),
      ull(totals.torn_batches_planted), ull(totals.recovery_kills_pending_truncation),
      ull(totals.acks_strict), ull(totals.acks_relaxed), ull(totals.batches_acked),
      ull(totals.batch_records_acked), ull(totals.batches_in_flight),
      ull(totals.batches_in_flight_kept), ull(totals.releases), ull(totals.truncations),
      ull(totals.truncations_emptying), ull(totals.records_truncated),
      ull(totals.truncations_refused), ull(totals.truncation_kills),
      ull(totals.truncation_kills_cut), ull(totals.unacked_recovered),
      ull(totals.torn_tails), ull(totals.lost_after_holes), ull(totals.records_recovered),
      ull(totals.final_records), ull(totals.final_next_lsn), static_cast<long long>(ms));
  if (kills >= 50) {
    EXPECT_GT(totals.acks_strict, 0u);
    EXPECT_GT(totals.acks_relaxed, 0u);
    EXPECT_GT(totals.releases, 0u) << "the log never released a segment";
    EXPECT_GT(totals.truncations, 0u) << "the child never truncated the log";
    EXPECT_GT(totals.batches_acked, 0u) << "the child never appended a batch";
    EXPECT_GT(totals.torn_batches_planted, 0u);
  }
}

}  // namespace
}  // namespace kaya::crash
