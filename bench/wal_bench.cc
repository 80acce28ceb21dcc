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
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "json.h"
#include "wal_bench_cases.h"

namespace kaya::bench::wal_cases {
namespace {

const std::vector<std::string> kAllCases = {"strict1",  "strict64",  "strict64-4k",
                                            "relaxed1", "relaxed64", "relaxed4k",
                                            "async1",   "async1-4k", "memory"};

struct Options {
  CommonOptions common;
  double seconds = 2.0;
  uint64_t strict1_records = 20000;  // 0: strict1 by time
  uint64_t log_mib = 1024;           // relaxed4k
  std::set<std::string> cases{kAllCases.begin(), kAllCases.end()};
};

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
}  // namespace kaya::bench::wal_cases

int main(int argc, char** argv) {
  using namespace kaya::bench;
  using namespace kaya::bench::wal_cases;
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
