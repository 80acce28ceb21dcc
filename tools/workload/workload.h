// The workload engine of kaya's two benchmark harnesses, `kaya-wal bench` and
// bench/wal_bench: threads started together append records until a count or a time
// is reached, each append timed from the call to its acknowledgement, and the run's
// totals. What the threads append to (kaya's Writer, a raw file, RADOS, an ideal group
// commit) is the caller's AppendFn; appenders.h has the ones both harnesses use.
//
// Above the library like the tool: kaya's public headers only. Reentrant: runs share
// nothing, each call owns its threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "kaya/core/histogram.h"
#include "kaya/core/status.h"

namespace kaya::workload {

// The clock every figure is taken with.
using Clock = std::chrono::steady_clock;
// Whole microseconds from `start` to now, as the latencies are recorded.
uint64_t micros_since(Clock::time_point start);

// What a run of appends measured.
struct Throughput {
  double seconds = 0;    // from the common start to the last acknowledgement
  uint64_t records = 0;  // acknowledged appends
  Histogram latency_us;  // per append: call to acknowledgement

  double per_s() const {
    return seconds > 0 ? static_cast<double>(records) / seconds : 0;
  }
  // Adds a further slice of the same appender's appends: seconds and records summed,
  // latencies merged (per_s() is then over all the slices).
  void add(const Throughput& slice);
};

// How many appends a run makes.
enum class Quota {
  // `records` in total, split evenly: thread t makes its appends 0..share-1, the
  // first `records % threads` threads one more than the others.
  kSplit,
  // `records` in total, each thread taking the next from a shared count until none is
  // left (a faster thread makes more).
  kShared,
  // For `seconds`: each thread finishes the append in progress when time is up.
  kTime,
};

struct Plan {
  int threads = 1;
  Quota quota = Quota::kSplit;
  uint64_t records = 0;  // kSplit, kShared
  double seconds = 0;    // kTime
  // Optional, must outlive the run: once set (e.g. by a signal), every thread stops
  // before its next append and the run ends with the appends made so far.
  const std::atomic<bool>* stop = nullptr;
  // Optional, must outlive the run: advanced after each acknowledged append, for a
  // progress display (one atomic add per append, shared by the threads).
  std::atomic<uint64_t>* done = nullptr;
};

// `thread` (0..threads-1) makes its `index`-th append (0, 1, ... per thread) and
// returns once it is acknowledged. Called from all the run's threads at once.
using AppendFn = std::function<Status(int thread, uint64_t index)>;

// Starts plan.threads threads, which begin together (once all are running), each
// calling append() until the plan's quota is reached, timing every call. The first
// failed append stops every thread before its next one, and its error is returned
// once all have finished; so is a thread that cannot be started (Internal).
Result<Throughput> run(const Plan& plan, const AppendFn& append);

}  // namespace kaya::workload
