#include "testing/failing_allocator.h"

#include <cstdlib>
#include <new>

namespace {

// Allocations to let through before one fails; negative: none fails.
thread_local long t_allocations_left = -1;
thread_local bool t_fail_after = false;
thread_local std::size_t t_max_bytes = 0;
thread_local bool t_failed = false;
thread_local long t_made = 0;

void* allocate(std::size_t size) {
  if ((t_max_bytes != 0 && size > t_max_bytes) || t_allocations_left == 0) {
    if (t_allocations_left == 0 && !t_fail_after) t_allocations_left = -1;
    t_failed = true;
    throw std::bad_alloc();
  }
  if (t_allocations_left > 0) --t_allocations_left;
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    ++t_made;
    return p;
  }
  throw std::bad_alloc();
}

void* allocate_or_null(std::size_t size) noexcept {
  try {
    return allocate(size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

}  // namespace

namespace kaya::testing {

void fail_allocation_after(long n, bool fail_after) {
  t_failed = false;
  t_fail_after = fail_after;
  t_allocations_left = n;
}
void disarm_allocation_failures() { t_allocations_left = -1; }
void fail_allocations_above(std::size_t bytes) { t_max_bytes = bytes; }
bool allocation_failed() { return t_failed; }
long allocations_made() { return t_made; }

}  // namespace kaya::testing

// Every form that memory from allocate() can be freed with goes to free(), so that the
// sanitizers see malloc paired with free.
void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return allocate_or_null(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return allocate_or_null(size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
