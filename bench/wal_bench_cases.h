// The cases of wal_bench (see the comment atop wal_bench.cc) and what they share: each
// case appends through kaya's Writer next to a raw-syscall baseline and adds its rows
// to the report. wal_bench.cc holds the flags and runs the chosen cases; the strict and
// asynchronous cases are in wal_bench_strict.cc, the relaxed and memory cases in
// wal_bench_relaxed.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "appenders.h"
#include "baselines.h"
#include "bench_util.h"
#include "kaya_log.h"

namespace kaya::bench::wal_cases {

constexpr size_t kSmall = 128;
constexpr size_t kLarge = 4096;
constexpr int kManyThreads = 64;

// A run of kaya appends from `threads` threads into a new log (or the sum of slices).
struct KayaRun {
  Throughput appends;
  wal::WriterStats stats;     // taken before close()
  uint64_t peak_rss_kib = 0;  // 0 when interleaved (not measured)
};

inline double mib(uint64_t kib) { return kib_to_mib(kib); }
inline double p99(const Histogram& h) { return static_cast<double>(h.percentile(99)); }

inline std::vector<uint8_t> raw_record(size_t bytes) {
  return std::vector<uint8_t>(bytes, 'v');
}

inline KayaRun kaya_appends(const std::string& dir, int threads, size_t record_bytes,
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

inline std::string raw_path(const std::string& dir, RawLog::Kind kind) {
  return dir + "/raw-" + RawLog::name(kind);
}

inline double per_fsync(uint64_t records, uint64_t fsyncs) {
  return fsyncs ? static_cast<double>(records) / static_cast<double>(fsyncs) : 0;
}

// Peak RSS of the 64-thread cases of one run, kaya's and the ideal baseline's.
struct ManyThreadMemory {
  uint64_t kaya_kib = 0;
  uint64_t ideal_kib = 0;
};

// strict1: the three one-thread pwrite+fdatasync loops and kaya, interleaved; `records`
// appends of each (0: for `seconds`).
void strict_one_thread(const std::string& dir, double seconds, uint64_t records,
                       Report& report);
// strict64 and strict64-4k; with `memory`, also their 64-thread peak RSS.
void strict_many_threads(const std::string& dir, size_t record_bytes, double seconds,
                         Report& report, ManyThreadMemory* memory);
// relaxed1 and relaxed64 (whose peak RSS goes into `memory`).
void relaxed(const std::string& dir, int threads, double seconds, Report& report,
             ManyThreadMemory& memory);
// relaxed4k: each thread count writes a log of `log_bytes`.
void relaxed_4k(const std::string& dir, uint64_t log_bytes, Report& report);
// async1 and async1-4k.
void async_one_thread(const std::string& dir, size_t record_bytes, double seconds,
                      Report& report);
// memory: peak RSS over a log of 16 segments.
void memory_over_log_size(const std::string& dir, Report& report);

}  // namespace kaya::bench::wal_cases
