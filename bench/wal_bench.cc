// Append throughput, commit latency and memory of kaya's Writer, each case next to a
// raw-syscall baseline measured in the same run (see baselines.h and the README's
// Benchmarks section).
//
// The strict cases interleave kaya and their baselines, because the disk's fdatasync
// speed drifts by up to 2x within seconds on a shared VM: in 8 rounds each contestant
// appends for one slice of S/8 (S in all), the order changing from round to round
// (run_interleaved). Every log or file stays open across its slices and continues
// where it stopped; figures are over all its slices (records / seconds, latencies
// merged, kaya's WriterStats and the ideal's fsyncs at the end). The relaxed cases
// run the baseline for S, then kaya for S.
//
//   wal_bench [--dir DIR] [--seconds S] [--runs N] [--json] [--cases LIST]
//
// Cases (--cases takes a comma-separated subset of the keys):
//   strict1      strict, 1 thread, 128 B vs the best one-thread pwrite+fdatasync loop
//                (growing, fallocated and zero-filled file); --records R appends of
//                each (default 20000, in 8 interleaved slices; 0: by time, S)
//   strict64     strict, 64 threads, 128 B vs ideal group commit; records per fsync;
//                p99 commit latency vs the p99 of one fdatasync (kaya's own fsyncs in
//                that run, and the ideal baseline's)
//   strict64-4k  strict, 64 threads, 4 KiB vs ideal group commit
//   relaxed1     relaxed, 1 thread, 128 B vs a one-thread pwrite-per-record loop
//   relaxed64    relaxed, 64 threads, 128 B (target 2M rec/s; the pwrite loop as a
//                reference)
//   relaxed4k    relaxed, 4 KiB, 1 / 4 / 16 / 64 threads, each a log of --log-mib MiB
//                (default 1024: 16 segments of 64 MiB, so rotations happen) vs the same
//                bytes written by as many threads with one pwrite per record at offsets
//                from a shared counter (a growing file, no fsync); baseline and kaya
//                take turns in going first
//   async1       strict, 128 B: ONE thread issuing append_async (a callback per
//                record, the writer's completion thread running them) vs 64 threads
//                appending synchronously to another log, interleaved (target 0.9x)
//   async1-4k    the same with 4 KiB records
//   memory       peak RSS of a relaxed one-thread run over 16 segments of 8 MiB, at
//                the end vs after the first quarter; with strict64/strict64-4k/relaxed64,
//                also kaya's peak RSS with 64 threads vs the ideal baseline's (for the
//                strict cases from a separate short run, each alone: see
//                strict_many_threads)
// Only the public Writer API is used for kaya. Figures are the medians of --runs.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "appenders.h"
#include "baselines.h"
#include "bench_util.h"
#include "json.h"
#include "kaya_log.h"

namespace kaya::bench {
namespace {

constexpr size_t kSmall = 128;
constexpr size_t kLarge = 4096;
constexpr int kManyThreads = 64;
constexpr uint64_t kMemorySegmentBytes = 8ull << 20;
constexpr uint64_t kMemoryLogBytes = 16 * kMemorySegmentBytes;
// Slices per contestant in the interleaved (strict) cases.
constexpr int kRounds = 8;
// The separate runs measuring 64-thread peak RSS next to an interleaved strict case
// last this share of --seconds each (peak RSS levels off within a fraction of a
// second).
constexpr double kMemoryRunShare = 0.25;

const std::vector<std::string> kAllCases = {"strict1",  "strict64",  "strict64-4k",
                                            "relaxed1", "relaxed64", "relaxed4k",
                                            "async1",   "async1-4k", "memory"};
constexpr int kRelaxed4kThreads[] = {1, 4, 16, 64};

struct Options {
  CommonOptions common;
  double seconds = 2.0;
  uint64_t strict1_records = 20000;  // 0: strict1 by time
  uint64_t log_mib = 1024;           // relaxed4k
  std::set<std::string> cases{kAllCases.begin(), kAllCases.end()};
};

// A run of kaya appends from `threads` threads into a new log (or the sum of slices).
struct KayaRun {
  Throughput appends;
  wal::WriterStats stats;     // taken before close()
  uint64_t peak_rss_kib = 0;  // 0 when interleaved (not measured)
};

double mib(uint64_t kib) { return kib_to_mib(kib); }
double p99(const Histogram& h) { return static_cast<double>(h.percentile(99)); }

std::vector<uint8_t> raw_record(size_t bytes) { return std::vector<uint8_t>(bytes, 'v'); }

KayaRun kaya_appends(const std::string& dir, int threads, size_t record_bytes,
                     wal::DurabilityMode mode, double seconds) {
  KayaRun run;
  reset_peak_rss();
  KayaLog log(dir, record_bytes);
  run.appends =
      run_appenders(threads, seconds, [&](int, uint64_t) { return log.append(mode); });
  run.peak_rss_kib = peak_rss_kib();
  run.stats = log.finish();
  return run;
}

std::string raw_path(const std::string& dir, RawLog::Kind kind) {
  return dir + "/raw-" + RawLog::name(kind);
}

// The one-thread raw loop over `kind` of file; records/s.
double raw_loop(const std::string& dir, RawLog::Kind kind, size_t record_bytes, bool sync,
                double seconds) {
  RawLog log(raw_path(dir, kind), kind);
  const std::vector<uint8_t> record = raw_record(record_bytes);
  return run_appenders(1, seconds,
                       [&](int, uint64_t) { return log.append(record, sync); })
      .per_s();
}

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

double per_fsync(uint64_t records, uint64_t fsyncs) {
  return fsyncs ? static_cast<double>(records) / static_cast<double>(fsyncs) : 0;
}

// Peak RSS of the 64-thread cases of one run, kaya's and the ideal baseline's.
struct ManyThreadMemory {
  uint64_t kaya_kib = 0;
  uint64_t ideal_kib = 0;
};

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
    best = std::max(best, per_s);
  }
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

void relaxed(const std::string& dir, int threads, double seconds, Report& report,
             ManyThreadMemory& memory) {
  const double pwrite_per_s =
      raw_loop(dir, RawLog::Kind::kGrowing, kSmall, false, seconds);
  const KayaRun k =
      kaya_appends(dir, threads, kSmall, wal::DurabilityMode::kRelaxed, seconds);
  const Details details = {{"kaya_p99_commit_us", p99(k.appends.latency_us)}};
  if (threads == 1) {
    report.add({"relaxed 1T 128 B",
                "rec/s",
                "1T pwrite loop",
                {{Goal::kRatioAtLeast, 2.0}, {Goal::kKayaAtLeast, 1e6}},
                kSmall},
               {k.appends.per_s(), pwrite_per_s, details});
    return;
  }
  memory.kaya_kib = std::max(memory.kaya_kib, k.peak_rss_kib);
  report.add({"relaxed 64T 128 B",
              "rec/s",
              "1T pwrite loop (reference)",
              {{Goal::kKayaAtLeast, 2e6}},
              kSmall},
             {k.appends.per_s(), pwrite_per_s, details});
}

// Relaxed 4 KiB records from 1, 4, 16 and 64 threads, each into a new log of
// `log_bytes` (several segments), next to the same threads writing the same bytes with
// one pwrite per record. The two take turns in going first.
void relaxed_4k(const std::string& dir, uint64_t log_bytes, Report& report) {
  const uint64_t records = log_bytes / kLarge;
  const std::vector<uint8_t> record = raw_record(kLarge);
  bool raw_first = true;
  for (const int threads : kRelaxed4kThreads) {
    Throughput raw;
    KayaRun k;
    auto run_raw = [&] {
      auto log = workload::SharedFile::create(dir + "/raw-shared");
      if (!log.ok()) die(log.error().to_string());
      raw = run_records(threads, records,
                        [&](int, uint64_t) { return (*log)->append(record, false); });
    };
    auto run_kaya = [&] {
      KayaLog log(dir, kLarge);
      k.appends = run_records(threads, records, [&](int, uint64_t) {
        return log.append(wal::DurabilityMode::kRelaxed);
      });
      k.stats = log.finish();
    };
    if (raw_first) run_raw();
    run_kaya();
    if (!raw_first) run_raw();
    raw_first = !raw_first;
    const std::string t = std::to_string(threads);
    report.add(
        {"relaxed " + t + "T 4 KiB, log " + std::to_string(log_bytes >> 20) + " MiB",
         "rec/s",
         t + "T pwrite loop",
         {{Goal::kRatioAtLeast, 1.0}},
         kLarge},
        {k.appends.per_s(),
         raw.per_s(),
         {{"segments", static_cast<double>(k.stats.rotations + 1)},
          {"kaya_fsyncs", static_cast<double>(k.stats.fsyncs)},
          {"kaya_p99_commit_us", p99(k.appends.latency_us)},
          {"raw_p99_us", p99(raw.latency_us)}}});
  }
}

// Peak RSS while one thread appends a log of 16 segments: after the first quarter
// (the baseline) and at the end. A writer whose memory grew with the log would show
// a ratio above 1.
void memory_over_log_size(const std::string& dir, Report& report) {
  const std::string root = dir + "/kaya-memory";
  auto disk = fresh_disk(root);
  wal::WalConfig config;
  config.segment_max_bytes = kMemorySegmentBytes;
  config.max_record_bytes = kMemorySegmentBytes / 8;
  reset_peak_rss();
  const uint64_t rss_before = rss_kib();
  auto writer = open_writer(*disk, config);
  const workload::PutRecords put(kSmall, workload::PutRecords::Keys::kNone);
  const uint64_t records = kMemoryLogBytes / kSmall;
  uint64_t peak_quarter = 0;
  for (uint64_t i = 0; i < records; ++i) {
    if (i == records / 4) peak_quarter = peak_rss_kib();
    ok_or_die(put.append(*writer, wal::DurabilityMode::kRelaxed, 0, i));
  }
  const uint64_t peak_end = peak_rss_kib();
  const wal::WriterStats stats = writer->stats();
  ok_or_die(writer->close());
  writer.reset();
  disk.reset();
  std::filesystem::remove_all(root);
  report.add({"memory: log of 16 segments",
              "MiB",
              "peak RSS after 1/4 of the log",
              {{Goal::kRatioAtMost, 1.05}}},
             {mib(peak_end),
              mib(peak_quarter),
              {{"rss_before_mib", mib(rss_before)},
               {"segments", static_cast<double>(stats.rotations + 1)},
               {"log_mib", static_cast<double>(stats.bytes) / (1 << 20)}}});
}

Options parse(int argc, char** argv) {
  Options o;
  std::vector<Flag> flags = common_flags(o.common);
  flags.push_back(
      {"seconds", "S", "time of kaya and of each baseline per case (default 2)",
       [&o](const std::string& v) { o.seconds = to_double("seconds", v, 0.05, 600); }});
  flags.push_back({"records", "R",
                   "strict1: appends of kaya and of each baseline (default 20000; 0: "
                   "for --seconds)",
                   [&o](const std::string& v) {
                     o.strict1_records = to_u64("records", v, 0, 100'000'000);
                   }});
  flags.push_back(
      {"log-mib", "M",
       "relaxed4k: MiB each contestant writes per thread count (default "
       "1024)",
       [&o](const std::string& v) { o.log_mib = to_u64("log-mib", v, 1, 1 << 20); }});
  flags.push_back({"cases", "LIST",
                   "comma-separated subset of strict1,strict64,strict64-4k,relaxed1,"
                   "relaxed64,relaxed4k,async1,async1-4k,memory (default: all)",
                   [&o](const std::string& v) {
                     o.cases.clear();
                     std::stringstream in(v);
                     for (std::string c; std::getline(in, c, ',');) {
                       if (std::find(kAllCases.begin(), kAllCases.end(), c) ==
                           kAllCases.end()) {
                         die("--cases: unknown case '" + c + "'");
                       }
                       o.cases.insert(c);
                     }
                   }});
  parse_flags(argc, argv,
              "usage: wal_bench [--dir DIR] [--seconds S] [--records R] [--log-mib M] "
              "[--runs N] [--json] [--cases LIST]\n\nAppends through kaya's Writer next "
              "to raw-syscall "
              "baselines measured in the same run; see the comment atop wal_bench.cc.",
              flags);
  return o;
}

void one_run(const Options& o, const std::string& dir, Report& report) {
  auto wanted = [&](const char* key) { return o.cases.count(key) > 0; };
  ManyThreadMemory memory;
  ManyThreadMemory* strict_memory = wanted("memory") ? &memory : nullptr;
  if (wanted("strict1")) strict_one_thread(dir, o.seconds, o.strict1_records, report);
  if (wanted("strict64")) {
    strict_many_threads(dir, kSmall, o.seconds, report, strict_memory);
  }
  if (wanted("strict64-4k")) {
    strict_many_threads(dir, kLarge, o.seconds, report, strict_memory);
  }
  if (wanted("relaxed1")) relaxed(dir, 1, o.seconds, report, memory);
  if (wanted("relaxed64")) relaxed(dir, kManyThreads, o.seconds, report, memory);
  if (wanted("relaxed4k")) relaxed_4k(dir, o.log_mib << 20, report);
  if (wanted("async1")) async_one_thread(dir, kSmall, o.seconds, report);
  if (wanted("async1-4k")) async_one_thread(dir, kLarge, o.seconds, report);
  if (!wanted("memory")) return;
  memory_over_log_size(dir, report);
  if (memory.kaya_kib == 0) return;
  report.add({"memory: 64 threads",
              "MiB",
              "peak RSS, ideal group commit 64T",
              {{Goal::kRatioAtMost, 1.25}}},
             {mib(memory.kaya_kib), mib(memory.ideal_kib), {}});
}

}  // namespace
}  // namespace kaya::bench

int main(int argc, char** argv) {
  using namespace kaya::bench;
  const Options o = parse(argc, argv);
  ScratchDir dir(o.common.dir, "kaya-wal-bench");
  std::string cases;
  for (const std::string& c : o.cases) cases += (cases.empty() ? "" : ",") + c;
  if (!o.common.json) {
    std::printf("wal_bench: %.2f s per case, %d run%s, cases %s, dir %s\n\n", o.seconds,
                o.common.runs, o.common.runs == 1 ? "" : "s", cases.c_str(),
                dir.describe().c_str());
    std::fflush(stdout);
  }
  const Report report = run_suite(o.common.runs, o.common.json,
                                  [&](int, Report& r) { one_run(o, dir.path(), r); });
  if (o.common.json) {
    const std::string settings = kaya::tool::JsonObject()
                                     .real("seconds", o.seconds)
                                     .num("strict1_records", o.strict1_records)
                                     .num("log_mib", o.log_mib)
                                     .str("cases", cases)
                                     .str("dir", dir.path())
                                     .build();
    std::printf("%s\n", report.to_json("wal_bench", settings).c_str());
  }
  return 0;
}
