// Reads a member guarded by a mutex without holding it: clang's thread-safety analysis
// (-Wthread-safety, on in kaya's clang builds) must reject it, so that the lock
// contracts written with core/mutex.h are checked, not just stated.
#include "core/mutex.h"

namespace {

class Counter {
 public:
  void bump() {
    kaya::core::MutexLock lock(mu_);
    ++value_;
  }
  int peek() const { return value_; }  // no lock: the analysis must object

 private:
  mutable kaya::core::Mutex mu_;
  int value_ KAYA_GUARDED_BY(mu_) = 0;
};

}  // namespace

int main() {
  Counter c;
  c.bump();
  return c.peek();
}
