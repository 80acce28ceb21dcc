#include "bench_workload.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "appenders.h"
#include "kaya/wal/writer.h"
#include "log_location.h"
#if KAYA_HAVE_RADOS
#include "rados_baseline.h"
#endif

namespace kaya::tool {
namespace {

// Runs the workload's appends on the engine, its progress shown under `label`. The
// seconds are bench's own: the wall time of the whole run, the threads' start
// included, not only from their common start as the engine counts them (a run of a
// few hundred relaxed records takes less than the millisecond the JSON shows).
Result<workload::Throughput> run_appends(const Workload& w, const std::string& label,
                                         const workload::AppendFn& append) {
  const auto start = workload::Clock::now();
  Result<workload::Throughput> run = [&] {
    std::atomic<uint64_t> done{0};
    ProgressMeter meter(w.progress, label, w.records, done);
    return workload::run({.threads = w.threads,
                          .quota = workload::Quota::kSplit,
                          .records = w.records,
                          .stop = w.stop,
                          .done = &done},
                         append);
  }();
  if (run.ok()) {
    run->seconds = std::chrono::duration<double>(workload::Clock::now() - start).count();
  }
  return run;
}

Result<Measurement> measure(const Workload& w, const std::string& label,
                            const workload::AppendFn& append) {
  Measurement m;
  KAYA_ASSIGN_OR_RETURN(m.run, run_appends(w, label, append));
  m.bytes = m.run.records * w.record_bytes;
  return m;
}

}  // namespace

Result<Measurement> run_kaya(const Workload& w, const std::string& dir) {
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::Disk> disk, open_log_for_write(dir));
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<wal::Writer> writer,
                        wal::Writer::open(wal::WalConfig{}, *disk));
  const workload::PutRecords records(w.record_bytes, workload::PutRecords::Keys::kNamed);
  KAYA_ASSIGN_OR_RETURN(Measurement m, measure(w, "kaya", [&](int thread, uint64_t i) {
                          return records.append(*writer, w.mode, thread, i);
                        }));
  const wal::WriterStats stats = writer->stats();
  m.fsyncs = stats.fsyncs;
  m.dir_fsyncs = stats.dir_fsyncs;
  m.writer = stats;
  if (stats.bytes != m.bytes) {
    return Error(ErrorKind::kInvariantViolation,
                 "the writer wrote " + std::to_string(stats.bytes) + " bytes for " +
                     std::to_string(m.run.records) + " records of " +
                     std::to_string(w.record_bytes) + " bytes");
  }
  KAYA_RETURN_IF_ERROR(writer->close());
  return m;
}

Result<Measurement> run_baseline(const Workload& w, const std::string& file) {
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<workload::SharedFile> out,
                        workload::SharedFile::create(file));
  const std::vector<uint8_t> record(w.record_bytes, 'v');
  const bool sync = w.mode == wal::DurabilityMode::kStrict;
  KAYA_ASSIGN_OR_RETURN(Measurement m, measure(w, "baseline", [&](int, uint64_t) {
                          return out->append(record, sync);
                        }));
  if (sync) m.fsyncs = m.run.records;
  return m;
}

#if KAYA_HAVE_RADOS
Result<Measurement> run_rados_baseline(const Workload& w, RadosBaseline& store) {
  const std::string record(w.record_bytes, 'v');
  std::atomic<uint64_t> next_offset{0};
  KAYA_ASSIGN_OR_RETURN(Measurement m, measure(w, "baseline", [&](int, uint64_t) {
                          return store.append(next_offset.fetch_add(w.record_bytes),
                                              record);
                        }));
  m.has_fsyncs = false;
  return m;
}
#endif

}  // namespace kaya::tool
