// The Prometheus functions that return a Result turn an allocation failure into an
// Internal error instead of letting std::bad_alloc escape. This executable replaces the
// global operator new (testing/failing_allocator.cc) so that a chosen allocation fails;
// each test fails every allocation of a call in turn, once alone and once with all after
// it, until the call needs fewer allocations than that and succeeds.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "kaya/wal/metrics.h"
#include "testing/failing_allocator.h"

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
      kaya::testing::fail_allocation_after(n, fail_after);
      Result<std::string> text = render();  // no gtest macro allocates meanwhile
      kaya::testing::disarm_allocation_failures();
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
    kaya::testing::fail_allocation_after(n);
    Result<std::string> text = to_prometheus(m, labels);
    kaya::testing::disarm_allocation_failures();
    ASSERT_FALSE(text.ok());
    if (text.error().kind() == ErrorKind::kInvalidArgument) break;
    ASSERT_EQ(text.error().kind(), ErrorKind::kInternal) << text.error().to_string();
  }
}

}  // namespace
}  // namespace kaya::wal
