// A global operator new that fails on request, for out-of-memory tests, and counts
// allocations, for tests of code that must not allocate. Link
// testing/failing_allocator.cc into the test executable (and into no other: it replaces
// operator new and delete for the whole program).
//
// The schedule is per thread: only the allocations of the thread that armed it fail, so
// a test's outcome does not depend on what other threads (a writer's syncer) allocate
// meanwhile. No gtest macro may run on that thread while it is armed (they allocate).
#pragma once

#include <cstddef>

namespace kaya::testing {

// Lets `n` allocations of this thread through, then fails the next one (n = 0: the next
// one) with std::bad_alloc; with `fail_after`, every later one fails too, until disarm().
void fail_allocation_after(long n, bool fail_after = false);
// Fails no more allocations (the size limit below stays).
void disarm_allocation_failures();
// Allocations of this thread larger than `bytes` fail (0: no limit).
void fail_allocations_above(std::size_t bytes);
// Whether an allocation of this thread failed since the last fail_allocation_after().
bool allocation_failed();
// How many allocations of this thread through the operator new above succeeded so far
// (the plain, array and nothrow forms; over-aligned ones are not replaced).
long allocations_made();

}  // namespace kaya::testing
