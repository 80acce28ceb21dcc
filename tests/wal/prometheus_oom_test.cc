// The Prometheus functions that return a Result turn an allocation failure into an
// Internal error instead of letting std::bad_alloc escape. This executable replaces the
// global operator new so that a chosen allocation fails; each test fails every
// allocation of a call in turn, once alone and once with all after it, until the call
// needs fewer allocations than that and succeeds.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "kaya/wal/metrics.h"

namespace {

// Allocations to let through before failing; negative: fail none. Only the test's own
// thread allocates while this is armed (the metrics are built by hand: no writer thread).
long g_allocations_left = -1;
// With g_fail_after: every allocation after the first failed one fails too.
bool g_fail_after = false;

void* allocate(std::size_t size) {
  if (g_allocations_left == 0) {
    if (!g_fail_after) g_allocations_left = -1;
    throw std::bad_alloc();
  }
  if (g_allocations_left > 0) --g_allocations_left;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
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

// Every form that memory from allocate() can be freed with goes to free(), so that
// AddressSanitizer sees malloc paired with free.
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

namespace kaya::wal {
namespace {

// Metrics with every part and some histogram samples, built without a writer.
Metrics some_metrics() {
  Metrics m;
  m.writer.emplace();
  m.writer->records = 12;
  for (uint64_t us : {1, 127, 1'000'000}) m.writer->fsync_duration_us.record(us);
  m.writer->records_per_fsync.record(4);
  m.recovery.emplace();
  m.recovery->error = "Corruption: a message long enough to be allocated";
  return m;
}

// Fails the n-th allocation of `render` for n = 0, 1, ... until it succeeds.
void fail_each_allocation(const std::function<Result<std::string>()>& render) {
  for (bool fail_after : {false, true}) {
    int failures = 0;
    for (long n = 0;; ++n) {
      g_fail_after = fail_after;
      g_allocations_left = n;
      Result<std::string> text = render();  // no gtest macro allocates meanwhile
      g_allocations_left = -1;
      if (text.ok()) break;
      ASSERT_EQ(text.error().kind(), ErrorKind::kInternal)
          << "allocation " << n << ": " << text.error().to_string();
      EXPECT_EQ(text.error().message(), "out of memory");
      ++failures;
    }
    EXPECT_GT(failures, 50) << "fail_after " << fail_after
                            << ": too few allocations seen";
  }
}

TEST(PrometheusOutOfMemoryTest, OneLabelledLogReturnsInternal) {
  const Metrics m = some_metrics();
  const PrometheusLabels labels = {{"log", "orders"}, {"shard", "a long shard name, 7"}};
  fail_each_allocation([&] { return to_prometheus(m, labels); });
}

TEST(PrometheusOutOfMemoryTest, SeveralLogsReturnInternal) {
  std::vector<LabelledMetrics> logs(3);
  logs[0] = {{{"log", "orders"}}, some_metrics()};
  logs[1] = {{{"log", "users"}}, some_metrics()};
  logs[2] = {{{"log", "orders"}, {"shard", "2"}}, some_metrics()};
  fail_each_allocation([&] { return to_prometheus(logs); });
}

TEST(PrometheusOutOfMemoryTest, InvalidLabelsStillSayWhyWhenMemoryAllows) {
  // Failing allocations on the error path (the message is built) gives Internal too;
  // once memory allows, the InvalidArgument comes back.
  const Metrics m = some_metrics();
  const PrometheusLabels labels = {{"log", "orders"}, {"log", "users"}};
  for (long n = 0;; ++n) {
    g_fail_after = false;
    g_allocations_left = n;
    Result<std::string> text = to_prometheus(m, labels);
    g_allocations_left = -1;
    ASSERT_FALSE(text.ok());
    if (text.error().kind() == ErrorKind::kInvalidArgument) break;
    ASSERT_EQ(text.error().kind(), ErrorKind::kInternal) << text.error().to_string();
  }
}

}  // namespace
}  // namespace kaya::wal
