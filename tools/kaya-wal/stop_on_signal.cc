#include "stop_on_signal.h"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

namespace kaya::tool {
namespace {

// How often the watcher looks whether the destructor wants it to end: sigtimedwait()
// has no other way to be woken without a signal of our own.
constexpr long kWatchPeriodNs = 50'000'000;  // 50 ms

const char* name_of(int signo) {
  return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "";
}

}  // namespace

StopOnSignal::StopOnSignal() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &old_mask_);
  watcher_ = std::thread([this] { watch(); });
}

StopOnSignal::~StopOnSignal() {
  done_ = true;
  watcher_.join();
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

const char* StopOnSignal::signal_name() const { return name_of(signal_number()); }

void StopOnSignal::on_second_signal(std::function<void()> last_resort) {
  std::lock_guard<std::mutex> lock(mu_);
  last_resort_ = std::move(last_resort);
}

void StopOnSignal::watch() {
  const timespec period{0, kWatchPeriodNs};
  while (!done_.load()) {
    const int signo = sigtimedwait(&signals_, nullptr, &period);
    if (signo < 0) continue;  // EAGAIN (the period passed) or EINTR
    if (signo_.load() == 0) {
      signo_ = signo;
      stop_ = true;
      // On a terminal the line starts after the progress bar and the echoed ^C.
      std::fprintf(stderr,
                   "%snote: %s: stopping and cleaning up (send it again to exit at "
                   "once)\n",
                   ::isatty(STDERR_FILENO) ? "\n" : "", name_of(signo));
      std::fflush(stderr);
      continue;
    }
    std::function<void()> last_resort;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_resort = last_resort_;
    }
    if (last_resort) last_resort();
    std::fflush(stderr);
    ::_exit(128 + signo);
  }
}

}  // namespace kaya::tool
