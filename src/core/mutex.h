// Mutex and MutexLock: std::mutex and std::unique_lock with clang's thread-safety
// annotations, so that a lock contract written in a header ("guarded by mu_",
// "requires mu_") is checked by the compiler instead of read in a comment.
//
// Under clang (-Wthread-safety, on in every clang build of kaya) reading or writing a
// member marked KAYA_GUARDED_BY(mu_) without holding mu_, calling a function marked
// KAYA_REQUIRES(mu_) without it, or returning from a function in another lock state
// than its annotations say is a compile error (-Werror). Other compilers see plain
// mutexes. The analysis is per function: a lambda that reads guarded state (a
// condition variable's predicate, say) states what it holds with assert_held().
//
// Condition variables wait on MutexLock::native() (a std::unique_lock): the wait
// releases and retakes the mutex inside one call, which leaves the lock state as it was.
#pragma once

#include <mutex>

#if defined(__clang__)
#define KAYA_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define KAYA_THREAD_ANNOTATION(x)
#endif

#define KAYA_CAPABILITY(x) KAYA_THREAD_ANNOTATION(capability(x))
#define KAYA_SCOPED_CAPABILITY KAYA_THREAD_ANNOTATION(scoped_lockable)
#define KAYA_GUARDED_BY(x) KAYA_THREAD_ANNOTATION(guarded_by(x))
#define KAYA_PT_GUARDED_BY(x) KAYA_THREAD_ANNOTATION(pt_guarded_by(x))
#define KAYA_ACQUIRED_AFTER(...) KAYA_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define KAYA_REQUIRES(...) KAYA_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define KAYA_EXCLUDES(...) KAYA_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define KAYA_ACQUIRE(...) KAYA_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define KAYA_RELEASE(...) KAYA_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define KAYA_TRY_ACQUIRE(...) KAYA_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define KAYA_ASSERT_HELD(x) KAYA_THREAD_ANNOTATION(assert_capability(x))
#define KAYA_RETURN_CAPABILITY(x) KAYA_THREAD_ANNOTATION(lock_returned(x))
#define KAYA_NO_THREAD_SAFETY_ANALYSIS KAYA_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace kaya::core {

// A std::mutex the analysis knows.
class KAYA_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() KAYA_ACQUIRE() { mu_.lock(); }
  void unlock() KAYA_RELEASE() { mu_.unlock(); }
  bool try_lock() KAYA_TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis that the caller holds this mutex (checked by nothing at run
  // time): for lambdas called under it, such as a condition variable's predicate.
  void assert_held() const KAYA_ASSERT_HELD(this) {}
  // The mutex itself, for a std::unique_lock that a condition variable needs.
  std::mutex& native() KAYA_RETURN_CAPABILITY(this) { return mu_; }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope (like std::unique_lock: it may be released and retaken
// within it).
class KAYA_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) KAYA_ACQUIRE(mu) : lock_(mu.native()) {}
  // Takes over `mu`, which the caller locked.
  MutexLock(Mutex& mu, std::adopt_lock_t) KAYA_REQUIRES(mu)
      : lock_(mu.native(), std::adopt_lock) {}
  ~MutexLock() KAYA_RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void lock() KAYA_ACQUIRE() { lock_.lock(); }
  void unlock() KAYA_RELEASE() { lock_.unlock(); }
  // For std::condition_variable::wait and friends.
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace kaya::core
