// wal_bench's relaxed cases (relaxed1, relaxed64, relaxed4k): the baseline and kaya
// one after the other, each for the whole time or the whole log; and the memory case,
// a relaxed one-thread run over 16 segments.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "wal_bench_cases.h"

namespace kaya::bench::wal_cases {
namespace {

constexpr uint64_t kMemorySegmentBytes = 8ull << 20;
constexpr uint64_t kMemoryLogBytes = 16 * kMemorySegmentBytes;
constexpr int kRelaxed4kThreads[] = {1, 4, 16, 64};

// The one-thread raw loop over `kind` of file; records/s.
double raw_loop(const std::string& dir, RawLog::Kind kind, size_t record_bytes, bool sync,
                double seconds) {
  RawLog log(raw_path(dir, kind), kind);
  const std::vector<uint8_t> record = raw_record(record_bytes);
  return run_appenders(1, seconds,
                       [&](int, uint64_t) { return log.append(record, sync); })
      .per_s();
}

}  // namespace

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
// one pwrite per record (the baseline), and the same loop into 64 MiB files each
// fdatasync'ed in the background once written (a reference: what making the bytes
// durable as kaya's closes do costs the loop). kaya and the loops take turns in going
// first.
void relaxed_4k(const std::string& dir, uint64_t log_bytes, Report& report) {
  const uint64_t records = log_bytes / kLarge;
  const std::vector<uint8_t> record = raw_record(kLarge);
  bool raw_first = true;
  for (const int threads : kRelaxed4kThreads) {
    Throughput raw;
    Throughput synced;
    KayaRun k;
    auto run_raw = [&] {
      auto log = workload::SharedFile::create(dir + "/raw-shared");
      if (!log.ok()) die(log.error().to_string());
      raw = run_records(threads, records,
                        [&](int, uint64_t) { return (*log)->append(record, false); });
      // The same loop into 64 MiB files fdatasync'ed one by one in the background.
      SyncedFiles files(dir, wal::WalConfig{}.segment_max_bytes, log_bytes);
      synced = run_records(threads, records,
                           [&](int, uint64_t) { return files.append(record); });
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
          {"raw_p99_us", p99(raw.latency_us)},
          // The loop that also makes its files durable as it goes, as kaya does.
          {"synced_loop_rec_per_s", synced.per_s()},
          {"kaya_vs_synced_loop",
           synced.per_s() > 0 ? k.appends.per_s() / synced.per_s() : 0}}});
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

}  // namespace kaya::bench::wal_cases
