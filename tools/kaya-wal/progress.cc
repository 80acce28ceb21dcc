#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace kaya::tool {
namespace {

// A terminal redraws smoothly at 10 Hz; a log wants few lines.
constexpr auto kBarPeriod = std::chrono::milliseconds(100);
constexpr auto kLinePeriod = std::chrono::seconds(1);
constexpr int kBarWidth = 30;

}  // namespace

ProgressStyle progress_style_for_stderr(bool quiet) {
  if (quiet) return ProgressStyle::kNone;
  return ::isatty(STDERR_FILENO) ? ProgressStyle::kBar : ProgressStyle::kLines;
}

ProgressMeter::ProgressMeter(ProgressStyle style, std::string label, uint64_t total,
                             const std::atomic<uint64_t>& done)
    : style_(style),
      label_(std::move(label)),
      total_(total),
      done_(done),
      start_(std::chrono::steady_clock::now()) {
  if (style_ != ProgressStyle::kNone) thread_ = std::thread([this] { run(); });
}

ProgressMeter::~ProgressMeter() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ProgressMeter::run() {
  const auto period =
      style_ == ProgressStyle::kBar
          ? std::chrono::duration_cast<std::chrono::milliseconds>(kBarPeriod)
          : std::chrono::duration_cast<std::chrono::milliseconds>(kLinePeriod);
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, period, [this] { return stop_; })) draw(false);
  draw(true);
}

void ProgressMeter::draw(bool final_update) {
  const uint64_t done = done_.load(std::memory_order_relaxed);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  const double fraction =
      total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1;
  if (style_ == ProgressStyle::kBar) {
    if (final_update) {
      std::fprintf(stderr, "\r\033[K");  // the results follow; the bar has served
    } else {
      const int filled = static_cast<int>(fraction * kBarWidth);
      std::string bar(static_cast<size_t>(filled), '#');
      bar.resize(kBarWidth, '.');
      std::fprintf(stderr, "\r\033[K%-16s [%s] %3.0f%% %llu/%llu  %.0f records/s",
                   label_.c_str(), bar.c_str(), fraction * 100,
                   static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(total_), rate);
    }
  } else if (!final_update) {
    std::fprintf(stderr, "%s: %llu/%llu records (%.0f%%), %.0f records/s\n",
                 label_.c_str(), static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total_), fraction * 100, rate);
  }
  std::fflush(stderr);
}

}  // namespace kaya::tool
