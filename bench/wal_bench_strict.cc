// wal_bench's strict cases (strict1, strict64, strict64-4k, async1, async1-4k): kaya
// and its baselines take turns in kRounds slices, because fdatasync speed drifts
// within seconds.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "wal_bench_cases.h"

namespace kaya::bench::wal_cases {
namespace {

// Slices per contestant in the interleaved (strict) cases.
constexpr int kRounds = 8;
// The separate runs measuring 64-thread peak RSS next to an interleaved strict case
// last this share of --seconds each (peak RSS levels off within a fraction of a
// second).
constexpr double kMemoryRunShare = 0.25;

// The ideal group commit baseline for `threads` appenders of `record_bytes` records.
struct IdealLog {
  IdealLog(const std::string& dir, int threads, size_t record_bytes)
      : records(static_cast<size_t>(threads), raw_record(record_bytes)),
        ideal(dir + "/ideal-group-commit", threads) {}
  Status append(int thread) {
    ideal.append(thread, records[static_cast<size_t>(thread)]);
    return ok_status();
  }

  std::vector<std::vector<uint8_t>> records;  // one per appender
  IdealGroupCommit ideal;
};

// A run of the ideal baseline (or the sum of slices).
struct IdealRun {
  Throughput appends;
  uint64_t fsyncs = 0;
  Histogram fsync_us;
  uint64_t peak_rss_kib = 0;  // 0 when interleaved (not measured)
};

IdealRun ideal_group_commit(const std::string& dir, int threads, size_t record_bytes,
                            double seconds) {
  IdealRun run;
  reset_peak_rss();
  IdealLog log(dir, threads, record_bytes);
  run.appends =
      run_appenders(threads, seconds, [&](int t, uint64_t) { return log.append(t); });
  run.peak_rss_kib = peak_rss_kib();
  run.fsyncs = log.ideal.fsyncs();
  run.fsync_us = log.ideal.fsync_us();
  return run;
}

}  // namespace

// The three one-thread pwrite+fdatasync loops and kaya, interleaved.
void strict_one_thread(const std::string& dir, double seconds, uint64_t records,
                       Report& report) {
  using Kind = RawLog::Kind;
  const std::vector<Kind> kinds = {Kind::kGrowing, Kind::kFallocated, Kind::kZeroFilled};
  std::vector<std::unique_ptr<RawLog>> raw;
  for (Kind kind : kinds) {
    raw.push_back(std::make_unique<RawLog>(raw_path(dir, kind), kind));
  }
  const std::vector<uint8_t> record = raw_record(kSmall);
  KayaLog kaya(dir, kSmall);
  std::vector<AppendFn> contestants;  // the raw loops, then kaya
  for (const auto& log : raw) {
    contestants.push_back(
        [&record, &log = *log](int, uint64_t) { return log.append(record, true); });
  }
  contestants.push_back(
      [&kaya](int, uint64_t) { return kaya.append(wal::DurabilityMode::kStrict); });
  const std::vector<Throughput> totals =
      records > 0 ? run_interleaved_records(1, records, kRounds, contestants)
                  : run_interleaved(1, seconds, kRounds, contestants);
  KayaRun k;
  k.appends = totals.back();
  k.stats = kaya.finish();

  Details details;
  double best = 0;
  for (size_t i = 0; i < kinds.size(); ++i) {
    const double per_s = totals[i].per_s();
    details.emplace_back(std::string(RawLog::name(kinds[i])) + "_rec_per_s", per_s);
    details.emplace_back(std::string(RawLog::name(kinds[i])) + "_p50_us",
                         static_cast<double>(totals[i].latency_us.percentile(50)));
    best = std::max(best, per_s);
  }
  // Where kaya's time per append goes: its fdatasync (every append waits for one) and
  // the whole append, next to each loop's pwrite + fdatasync above.
  details.emplace_back("kaya_p50_us",
                       static_cast<double>(k.appends.latency_us.percentile(50)));
  details.emplace_back("kaya_fsync_p50_us",
                       static_cast<double>(k.stats.fsync_duration_us.percentile(50)));
  details.emplace_back("kaya_rec_per_fsync",
                       per_fsync(k.appends.records, k.stats.fsyncs));
  details.emplace_back("records", static_cast<double>(k.appends.records));
  report.add({"strict 1T 128 B",
              "rec/s",
              "best 1T pwrite+fdatasync loop",
              {{Goal::kRatioAtLeast, 1.0}},
              kSmall},
             {k.appends.per_s(), best, details});
}

// Ideal group commit and kaya with 64 threads, interleaved. With `memory`, their peak
// RSS comes from a separate short run of each alone afterwards: while interleaved both
// are alive, so one's peak would include the other's memory.
void strict_many_threads(const std::string& dir, size_t record_bytes, double seconds,
                         Report& report, ManyThreadMemory* memory) {
  IdealRun ideal;
  KayaRun k;
  {
    IdealLog ideal_log(dir, kManyThreads, record_bytes);
    KayaLog kaya(dir, record_bytes);
    const std::vector<Throughput> totals = run_interleaved(
        kManyThreads, seconds, kRounds,
        {[&](int t, uint64_t) { return ideal_log.append(t); },
         [&](int, uint64_t) { return kaya.append(wal::DurabilityMode::kStrict); }});
    ideal.appends = totals[0];
    ideal.fsyncs = ideal_log.ideal.fsyncs();
    ideal.fsync_us = ideal_log.ideal.fsync_us();
    k.appends = totals[1];
    k.stats = kaya.finish();
  }
  if (memory != nullptr) {
    const double alone = seconds * kMemoryRunShare;
    memory->ideal_kib =
        std::max(memory->ideal_kib,
                 ideal_group_commit(dir, kManyThreads, record_bytes, alone).peak_rss_kib);
    memory->kaya_kib = std::max(
        memory->kaya_kib,
        kaya_appends(dir, kManyThreads, record_bytes, wal::DurabilityMode::kStrict, alone)
            .peak_rss_kib);
  }
  const double kaya_per_fsync = per_fsync(k.appends.records, k.stats.fsyncs);
  const double ideal_per_fsync = per_fsync(ideal.appends.records, ideal.fsyncs);
  const std::string size = record_bytes == kSmall ? "128 B" : "4 KiB";
  report.add({"strict 64T " + size,
              "rec/s",
              "ideal group commit 64T",
              {{Goal::kRatioAtLeast, 0.9}},
              static_cast<double>(record_bytes)},
             {k.appends.per_s(),
              ideal.appends.per_s(),
              {{"kaya_p99_commit_us", p99(k.appends.latency_us)},
               {"ideal_p99_commit_us", p99(ideal.appends.latency_us)}}});
  if (record_bytes != kSmall) return;
  report.add({"strict 64T 128 B rec/fsync",
              "rec/fsync",
              "ideal group commit",
              {{Goal::kKayaAtLeast, 30}}},
             {kaya_per_fsync, ideal_per_fsync, {}});
  const Details latency = {{"kaya_p50_commit_us", k.appends.latency_us.percentile(50)},
                           {"kaya_p99_fdatasync_us", p99(k.stats.fsync_duration_us)},
                           {"ideal_p99_fdatasync_us", p99(ideal.fsync_us)},
                           {"ideal_p99_commit_us", p99(ideal.appends.latency_us)}};
  report.add({"strict 64T p99 commit (own)",
              "us",
              "p99 fdatasync in kaya's run",
              {{Goal::kRatioAtMost, 2.0}}},
             {p99(k.appends.latency_us), p99(k.stats.fsync_duration_us), latency});
  report.add({"strict 64T p99 commit (ideal)",
              "us",
              "p99 fdatasync of ideal's I/O",
              {{Goal::kRatioAtMost, 2.0}}},
             {p99(k.appends.latency_us), p99(ideal.fsync_us), {}});
}

// One thread appending asynchronously (strict) and 64 threads appending synchronously
// to another log, taking turns (which goes first alternates) in kRounds rounds.
void async_one_thread(const std::string& dir, size_t record_bytes, double seconds,
                      Report& report) {
  Throughput async;
  Throughput sync;
  wal::WriterStats async_stats;
  wal::WriterStats sync_stats;
  std::filesystem::create_directories(dir + "/async");
  std::filesystem::create_directories(dir + "/sync");
  {
    KayaLog async_log(dir + "/async", record_bytes);
    KayaLog sync_log(dir + "/sync", record_bytes);
    const double slice = seconds / kRounds;
    for (int round = 0; round < kRounds; ++round) {
      for (int turn = 0; turn < 2; ++turn) {
        if ((round + turn) % 2 == 0) {
          async.add(async_log.append_async_for(wal::DurabilityMode::kStrict, slice));
        } else {
          sync.add(run_appenders(kManyThreads, slice, [&](int, uint64_t) {
            return sync_log.append(wal::DurabilityMode::kStrict);
          }));
        }
      }
    }
    async_stats = async_log.finish();
    sync_stats = sync_log.finish();
  }
  std::filesystem::remove_all(dir + "/async");
  std::filesystem::remove_all(dir + "/sync");
  const std::string size = record_bytes == kSmall ? "128 B" : "4 KiB";
  report.add(
      {"async strict 1T " + size,
       "rec/s",
       "sync strict 64T",
       {{Goal::kRatioAtLeast, 0.9}},
       static_cast<double>(record_bytes)},
      {async.per_s(),
       sync.per_s(),
       {{"async_rec_per_fsync", per_fsync(async.records, async_stats.fsyncs)},
        {"sync_rec_per_fsync", per_fsync(sync.records, sync_stats.fsyncs)},
        {"async_peak_in_flight_mib",
         static_cast<double>(async_stats.async_in_flight_bytes_peak) / (1 << 20)}}});
}

}  // namespace kaya::bench::wal_cases
