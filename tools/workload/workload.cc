#include "workload.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace kaya::workload {
namespace {

// What the threads of one run share.
class Run {
 public:
  Run(const Plan& plan, const AppendFn& append)
      : plan_(plan),
        append_(append),
        latency_(static_cast<size_t>(plan.threads)),
        counts_(static_cast<size_t>(plan.threads), 0),
        start_line_(plan.threads + 1) {}

  // A thread's loop: appends until its quota is reached or the run halts.
  void appender(int thread) {
    const uint64_t share = split_share(thread);
    std::atomic<uint64_t>* const done = plan_.done;
    start_line_.arrive_and_wait();
    Histogram& h = latency_[static_cast<size_t>(thread)];
    uint64_t n = 0;
    while (more(n, share)) {
      const auto begin = Clock::now();
      Status s = append_(thread, n);
      if (!s.ok()) {
        fail(s.error());
        break;
      }
      h.record(micros_since(begin));
      ++n;
      if (done != nullptr) done->fetch_add(1, std::memory_order_relaxed);
    }
    counts_[static_cast<size_t>(thread)] = n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++finished_;
    }
    finished_cv_.notify_one();
  }

  // Runs on the calling thread once the threads of `pool` run (fewer than the plan's
  // when the others could not be started: then they are halted at once): lets them
  // go, waits for them and adds up what they measured.
  Result<Throughput> measure(std::vector<std::thread>& pool) {
    const int missing = plan_.threads - static_cast<int>(pool.size());
    if (missing > 0) {
      fail(Error(ErrorKind::kInternal, "cannot start the appending threads"));
      start_line_.count_down(missing);
    }
    start_line_.arrive_and_wait();
    const auto start = Clock::now();
    if (plan_.quota == Quota::kTime) {
      std::unique_lock<std::mutex> lock(mu_);
      finished_cv_.wait_until(lock,
                              start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(plan_.seconds)),
                              [&] { return finished_ == static_cast<int>(pool.size()); });
      halt_ = true;
    }
    for (std::thread& t : pool) t.join();
    Throughput result;
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::lock_guard<std::mutex> lock(mu_);
    if (error_) return *error_;
    for (size_t t = 0; t < counts_.size(); ++t) {
      result.records += counts_[t];
      result.latency_us.merge(latency_[t]);
    }
    return result;
  }

 private:
  uint64_t split_share(int thread) const {
    if (plan_.quota != Quota::kSplit) return 0;
    const auto threads = static_cast<uint64_t>(plan_.threads);
    return plan_.records / threads +
           (static_cast<uint64_t>(thread) < plan_.records % threads ? 1 : 0);
  }

  // Whether a thread that made `n` appends makes another.
  bool more(uint64_t n, uint64_t share) {
    if (halt_.load(std::memory_order_relaxed)) return false;
    if (plan_.stop != nullptr && plan_.stop->load(std::memory_order_relaxed)) {
      return false;
    }
    switch (plan_.quota) {
      case Quota::kSplit:
        return n < share;
      case Quota::kShared:
        return taken_.fetch_add(1, std::memory_order_relaxed) < plan_.records;
      case Quota::kTime:
        return true;
    }
    return false;
  }

  void fail(const Error& error) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_) error_ = error;
    halt_ = true;
  }

  const Plan plan_;
  const AppendFn& append_;
  std::vector<Histogram> latency_;  // one per thread, merged at the end
  std::vector<uint64_t> counts_;    // one per thread
  std::latch start_line_;
  // Read before every append: on a cache line of its own, apart from taken_, which
  // every append of a kShared run writes.
  alignas(64) std::atomic<bool> halt_{false};   // time is up, or an append failed
  alignas(64) std::atomic<uint64_t> taken_{0};  // kShared: appends handed out
  std::mutex mu_;
  std::condition_variable finished_cv_;
  int finished_ = 0;            // threads done; guarded by mu_
  std::optional<Error> error_;  // the first failure; guarded by mu_
};

}  // namespace

uint64_t micros_since(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start)
          .count());
}

void Throughput::add(const Throughput& slice) {
  seconds += slice.seconds;
  records += slice.records;
  latency_us.merge(slice.latency_us);
}

Result<Throughput> run(const Plan& plan, const AppendFn& append) {
  if (plan.threads < 1) {
    return Error(ErrorKind::kInvalidArgument, "a workload needs at least one thread");
  }
  Run run(plan, append);
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(plan.threads));
  try {
    for (int t = 0; t < plan.threads; ++t) {
      pool.emplace_back([&run, t] { run.appender(t); });
    }
  } catch (const std::exception&) {  // std::system_error, std::bad_alloc
    // Fewer threads than asked for: measure() halts the ones running.
  }
  return run.measure(pool);
}

}  // namespace kaya::workload
