// What `kaya-wal bench` measures, on the workload engine (tools/workload): a fixed
// number of appends split evenly over threads, through kaya's Writer and through the
// raw store (pwrite (+ fdatasync) on a directory, rados_append on a RADOS location),
// with per-append latency and a progress display.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "kaya/core/build_config.h"
#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/wal/writer.h"
#include "progress.h"
#include "workload.h"

namespace kaya::tool {

struct Workload {
  int threads = 1;
  uint64_t records = 0;       // in total, split evenly over the threads
  uint64_t record_bytes = 0;  // encoded size of each record (header included)
  wal::DurabilityMode mode = wal::DurabilityMode::kStrict;
  ProgressStyle progress = ProgressStyle::kNone;
  // When set (e.g. by StopOnSignal), every thread stops before its next append and the
  // run ends with the records appended so far. Optional; must outlive the run.
  const std::atomic<bool>* stop = nullptr;
};

struct Measurement {
  // Wall time from the first append to the last acknowledgement, the records
  // appended, and each one's latency from the call to its acknowledgement.
  workload::Throughput run;
  uint64_t bytes = 0;
  uint64_t fsyncs = 0;      // real fdatasync calls on record data
  bool has_fsyncs = true;   // false for a store without fsync (RADOS): fsyncs stays 0
  uint64_t dir_fsyncs = 0;  // directory fsyncs (kaya: new segments)
  // kaya: the writer's statistics when the run ended (before the close).
  std::optional<wal::WriterStats> writer;

  double records_per_s() const { return run.per_s(); }
  double mb_per_s() const { return run.seconds > 0 ? bytes / run.seconds / 1e6 : 0; }
  double records_per_fsync() const {
    return fsyncs ? static_cast<double>(run.records) / static_cast<double>(fsyncs) : 0;
  }
};

// Appends the workload as Put records to a new log under `dir` (a Disk root with no
// segments yet) through Writer with default configuration, then closes it. The log is
// left in place. fsyncs are counted before the close (whose final sync is not part of
// the measured run).
Result<Measurement> run_kaya(const Workload& w, const std::string& dir);

// The same records written with raw system calls to `file` (created, truncated): each
// thread takes the next offset from a shared counter, pwrite()s its record there and,
// in strict mode, fdatasync()s before the next one — one fsync per record, no group
// commit. The file is removed afterwards.
Result<Measurement> run_baseline(const Workload& w, const std::string& file);

#if KAYA_HAVE_RADOS
class RadosBaseline;

// The same records appended to RADOS objects through `store` (rados_baseline.h): each
// thread takes the next offset from a shared counter and calls rados_append() with its
// record, which returns once every OSD of the acting set has it; one object takes the
// records until it holds RadosBaseline::kObjectBytes, as one segment would. There is no
// fsync (has_fsyncs false) and no relaxed form: every RADOS write is acknowledged only
// once replicated, so w.mode changes nothing. The caller removes the objects
// (store.remove_objects()).
Result<Measurement> run_rados_baseline(const Workload& w, RadosBaseline& store);
#endif

}  // namespace kaya::tool
