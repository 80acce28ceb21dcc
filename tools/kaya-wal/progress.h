// A progress display for long-running commands (bench), driven by a counter that
// worker threads advance: a live bar on a terminal, a plain line per second when
// stderr is not a terminal (logs, CI), nothing when the output must stay clean (--json).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace kaya::tool {

enum class ProgressStyle { kNone, kBar, kLines };

// kBar when stderr is a terminal, else kLines; kNone when `quiet`.
ProgressStyle progress_style_for_stderr(bool quiet);

// Shows `done` out of `total` on stderr from its own thread until destroyed. `done`
// must outlive the meter.
class ProgressMeter {
 public:
  ProgressMeter(ProgressStyle style, std::string label, uint64_t total,
                const std::atomic<uint64_t>& done);
  ~ProgressMeter();
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

 private:
  void run();
  void draw(bool final_update);

  const ProgressStyle style_;
  const std::string label_;
  const uint64_t total_;
  const std::atomic<uint64_t>& done_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace kaya::tool
