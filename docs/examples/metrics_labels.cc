// docs/metrics.md: two logs served in one Prometheus exposition, told apart by a label.
#include <string>
#include <vector>

#include "example_util.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/metrics.h"
#include "kaya/wal/writer.h"

using example::fail;

// The number of times `needle` occurs in `text`.
size_t occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

int main() {
  example::TempDir orders_dir, users_dir;
  auto orders_disk = kaya::io::FileDisk::open(orders_dir.path());
  if (!orders_disk.ok()) return fail(orders_disk.error());
  auto users_disk = kaya::io::FileDisk::open(users_dir.path());
  if (!users_disk.ok()) return fail(users_disk.error());
  auto orders = kaya::wal::Writer::open(kaya::wal::WalConfig{}, **orders_disk);
  if (!orders.ok()) return fail(orders.error());
  auto users = kaya::wal::Writer::open(kaya::wal::WalConfig{}, **users_disk);
  if (!users.ok()) return fail(users.error());
  for (int i = 0; i < 3; ++i) {
    auto r =
        (*orders)->append(kaya::wal::Payload::noop(), kaya::wal::DurabilityMode::kStrict);
    if (!r.ok()) return fail(r.error());
  }
  auto r =
      (*users)->append(kaya::wal::Payload::noop(), kaya::wal::DurabilityMode::kStrict);
  if (!r.ok()) return fail(r.error());
  // [doc]
  // One exposition for all the engine's logs: each family's HELP and TYPE once, then
  // the series of every log, told apart by its labels.
  std::vector<kaya::wal::LabelledMetrics> logs;
  logs.push_back(
      {.labels = {{"log", "orders"}}, .metrics = kaya::wal::collect_metrics(**orders)});
  logs.push_back(
      {.labels = {{"log", "users"}}, .metrics = kaya::wal::collect_metrics(**users)});
  kaya::Result<std::string> prometheus = kaya::wal::to_prometheus(logs);
  // An error names the label or the logs at fault (InvalidArgument).
  if (!prometheus.ok()) return fail(prometheus.error());
  // [/doc]
  std::fputs(prometheus->c_str(), stdout);
  EXAMPLE_CHECK(prometheus->find("\nkaya_wal_records_total{log=\"orders\"} 3\n"
                                 "kaya_wal_records_total{log=\"users\"} 1\n") !=
                std::string::npos);
  EXAMPLE_CHECK(occurrences(*prometheus, "# TYPE kaya_wal_records_total ") == 1);
  // Two logs with one label set would be duplicate series: refused.
  logs[1].labels = logs[0].labels;
  auto refused = kaya::wal::to_prometheus(logs);
  EXAMPLE_CHECK(!refused.ok() &&
                refused.error().kind() == kaya::ErrorKind::kInvalidArgument);
  return 0;
}
