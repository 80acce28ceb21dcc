// Seeded crash test on SimDisk: random appends in both modes, syncs, rotations,
// injected faults and crashes (with torn tails), checked after each recovery against
// an oracle. Any failure names its seed; replay one with KAYA_SEED=<seed>
// (and KAYA_SEEDS=1), or sweep more with KAYA_SEEDS=<n>.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <random>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using io::FaultKind;

struct Totals {
  uint64_t seeds = 0;
  uint64_t appends = 0;
  uint64_t acked_strict = 0;
  uint64_t acked_large_relaxed = 0;  // relaxed records of 2 KiB or more
  uint64_t crashes = 0;
  uint64_t clean_restarts = 0;
  uint64_t torn_tails = 0;
  uint64_t lost_after_holes = 0;
  uint64_t poisoned = 0;
  uint64_t faults[io::kFaultKindCount] = {};
};

struct Oracle {
  // Every record that was given an LSN, in LSN order (index i holds LSN i + 1).
  std::vector<Record> assigned;
  // Records [0, durable) were acknowledged strict, or covered by a successful sync(),
  // or were present after a recovery: they must all come back.
  size_t durable = 0;
};

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

Record make_record(std::mt19937_64& rng, uint64_t lsn) {
  Record r;
  r.lsn = Lsn(lsn);
  r.sequence = SequenceNumber(lsn);
  r.type = static_cast<RecordType>(1 + rng() % 4);
  auto text = [&](size_t max) {
    std::string s(rng() % (max + 1), '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  };
  if (r.type == RecordType::kPut || r.type == RecordType::kDelete) r.key = text(24);
  if (r.type == RecordType::kPut || r.type == RecordType::kBytes) {
    // One value in sixteen of 2 KiB or more: a relaxed one is then written by the
    // appender itself (write_own in the writer) rather than stored or staged.
    r.value = rng() % 16 == 0 ? text(1500) + std::string(2048, 'L') : text(300);
  }
  return r;
}

// Checks the recovered log against the oracle; then the oracle forgets what was lost.
// Neither a crash nor an injected write/fsync fault damages durable data, so recovery
// must always succeed: cutting at most a torn tail, or moving aside what follows a
// hole beyond the recovery point (a power loss while a sealed segment's close was
// pending: docs/durability.md, "Rotation").
void check_recovered(io::SimDisk& disk, const WalConfig& config, Oracle& oracle,
                     Totals& totals) {
  auto log = testing::read_log(disk, config);
  ASSERT_TRUE(log.ok()) << "recovery failed: " << log.error().to_string();
  for (const Anomaly& a : log->report.anomalies) {
    ASSERT_TRUE(a.kind == AnomalyKind::kTornTail || a.kind == AnomalyKind::kLostAfterHole)
        << a.to_string();
    (a.kind == AnomalyKind::kTornTail ? totals.torn_tails : totals.lost_after_holes)++;
  }
  const auto& got = log->records;
  ASSERT_GE(got.size(), oracle.durable) << "an acknowledged durable record was lost";
  ASSERT_LE(got.size(), oracle.assigned.size()) << "recovered records never appended";
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i], oracle.assigned[i]) << "record at LSN " << i + 1 << " differs";
  }
  oracle.assigned.resize(got.size());
  oracle.durable = got.size();
}

void run_seed(uint64_t seed, Totals& totals) {
  std::mt19937_64 rng(seed);
  const bool crash_only = seed % 4 == 0;
  io::SimDisk disk(io::SimDiskOptions{.seed = seed, .tear_on_crash = true});
  WalConfig config;
  // Segments from 128 bytes: records larger than a segment go alone into their own.
  config.segment_max_bytes = 128 + rng() % 4480;
  config.max_record_bytes = 4096;
  config.extensions = kExtensionBytes;  // make_record writes Bytes records too
  // Both write paths: system calls (0) and maps of small to large windows.
  config.preallocate_bytes = std::array<uint64_t, 4>{0, 64, 1000, 1 << 20}[seed / 4 % 4];
  Oracle oracle;
  const int restarts = 3 + static_cast<int>(rng() % 4);
  for (int restart = 0; restart < restarts; ++restart) {
    SCOPED_TRACE("restart " + std::to_string(restart));
    disk.clear_faults();
    check_recovered(disk, config, oracle, totals);
    if (::testing::Test::HasFatalFailure()) return;
    auto opened = Writer::open(config, disk);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    std::unique_ptr<Writer> w = std::move(opened).value();
    ASSERT_EQ(w->next_lsn().value(), oracle.assigned.size() + 1)
        << "LSN reused or skipped";

    if (!crash_only) {
      const double p = 0.002 * static_cast<double>(rng() % 10);
      for (FaultKind k : {FaultKind::kFsyncFailure, FaultKind::kWriteError,
                          FaultKind::kDiskFull, FaultKind::kShortWrite}) {
        disk.set_fault_probability(k, p);
      }
    }
    uint64_t faults_before[io::kFaultKindCount];
    for (int k = 0; k < io::kFaultKindCount; ++k) {
      faults_before[k] = disk.faults_injected(static_cast<FaultKind>(k));
    }
    const int ops = 20 + static_cast<int>(rng() % 80);
    for (int op = 0; op < ops; ++op) {
      if (rng() % 16 == 0) {
        const size_t before = oracle.assigned.size();
        if (w->sync().ok()) oracle.durable = before;
        continue;
      }
      Record r = make_record(rng, oracle.assigned.size() + 1);
      const auto mode = rng() % 2 ? DurabilityMode::kStrict : DurabilityMode::kRelaxed;
      const Lsn lsn_before = w->next_lsn();
      auto result = w->append(r.payload(), mode);
      totals.appends++;
      if (w->next_lsn() != lsn_before) oracle.assigned.push_back(r);
      if (result.ok()) {
        ASSERT_EQ(result->lsn, r.lsn) << "LSNs must be handed out in order, once";
        if (mode == DurabilityMode::kRelaxed && result->encoded_len >= 2048) {
          totals.acked_large_relaxed++;
        }
        if (mode == DurabilityMode::kStrict) {
          oracle.durable = oracle.assigned.size();
          totals.acked_strict++;
        }
      } else {
        ASSERT_TRUE(w->stats().poisoned)
            << "a failed append must poison the writer: " << result.error().to_string();
      }
    }
    disk.clear_faults();
    for (int k = 0; k < io::kFaultKindCount; ++k) {
      totals.faults[k] +=
          disk.faults_injected(static_cast<FaultKind>(k)) - faults_before[k];
    }
    if (w->stats().poisoned) totals.poisoned++;
    if (rng() % 3 != 0) {
      testing::crash_with_writer(disk, w);
      totals.crashes++;
    } else {
      w.reset();  // clean close (or a poisoned writer given up)
      totals.clean_restarts++;
    }
  }
  totals.seeds++;
  disk.clear_faults();
  check_recovered(disk, config, oracle, totals);
}

TEST(CrashTest, AcknowledgedRecordsSurviveAndRecoveryYieldsAPrefix) {
  const uint64_t first = kaya::testing::seed_from_env(1);
  const uint64_t count = kaya::testing::sweep_seed_count(1000, 200);
  Totals totals;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) +
                 " (replay: KAYA_SEED=" + std::to_string(seed) + " KAYA_SEEDS=1)");
    run_seed(seed, totals);
    if (HasFatalFailure()) return;
  }
  std::printf(
      "crash test: %llu seeds, %llu appends (%llu strict acknowledged, %llu relaxed "
      "of 2 KiB or more acknowledged), %llu crashes, "
      "%llu clean restarts, %llu torn tails cut, %llu moved aside after a hole, %llu "
      "writers poisoned; faults: fsync %llu, write %llu, disk full %llu, short write "
      "%llu\n",
      ull(totals.seeds), ull(totals.appends), ull(totals.acked_strict),
      ull(totals.acked_large_relaxed), ull(totals.crashes), ull(totals.clean_restarts),
      ull(totals.torn_tails), ull(totals.lost_after_holes), ull(totals.poisoned),
      ull(totals.faults[0]), ull(totals.faults[2]), ull(totals.faults[3]),
      ull(totals.faults[4]));
  if (count >= 100) {
    EXPECT_GT(totals.torn_tails, 0u) << "the sweep never produced a torn tail";
    EXPECT_GT(totals.poisoned, 0u) << "the sweep never poisoned a writer";
    EXPECT_GT(totals.acked_large_relaxed, 0u)
        << "no relaxed record of 2 KiB or more was acknowledged";
  }
}

}  // namespace
}  // namespace kaya::wal
