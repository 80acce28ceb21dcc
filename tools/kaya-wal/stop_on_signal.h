// Turns SIGINT and SIGTERM into a request to stop, for a command that must clean up
// before it exits (bench: its temporary directory), instead of dying with the
// signal's default action.
//
// No signal handler runs, so nothing runs in signal context: the constructor blocks
// both signals in the calling thread, every thread started after it inherits that
// mask, and a watcher thread takes them with sigtimedwait(). The first one sets
// stop_requested(), which the work loops poll; the command then winds down, cleans up
// in ordinary code and exits with exit_code(). A second one, while the command winds
// down, runs the last resort set with on_second_signal() (best effort: the work may
// still be running) on the watcher thread and ends the process with
// _exit(128 + signal).
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

namespace kaya::tool {

class StopOnSignal {
 public:
  // Blocks SIGINT and SIGTERM in the calling thread and starts the watcher. Create it
  // before any other thread of the process: a thread started earlier keeps the
  // signals unblocked, and one delivered there would end the process at once.
  StopOnSignal();
  // Stops the watcher and restores the calling thread's signal mask (a signal that
  // arrives after the watcher stopped then has its default action).
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  // Set at the first SIGINT or SIGTERM.
  const std::atomic<bool>& stop_requested() const { return stop_; }
  // The first signal taken; 0 when none.
  int signal_number() const { return signo_.load(); }
  // "SIGINT" or "SIGTERM" (the first signal taken); "" when none.
  const char* signal_name() const;
  // 128 + signal_number(), the shell's convention for "ended by that signal".
  int exit_code() const { return 128 + signal_number(); }

  // What a second signal runs before the process ends (replaces the previous one).
  void on_second_signal(std::function<void()> last_resort);

 private:
  void watch();

  sigset_t signals_;
  sigset_t old_mask_;
  std::atomic<bool> stop_{false};
  std::atomic<int> signo_{0};
  std::atomic<bool> done_{false};  // the destructor asks the watcher to end
  std::mutex mu_;
  std::function<void()> last_resort_;  // guarded by mu_
  std::thread watcher_;
};

}  // namespace kaya::tool
