// docs/metrics.md: a metrics snapshot, served as Prometheus text and JSON.
#include "kaya/wal/metrics.h"

#include "example_util.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"

using example::fail;

int main() {
  example::TempDir dir;
  auto disk = kaya::io::FileDisk::open(dir.path());
  if (!disk.ok()) return fail(disk.error());
  auto writer = kaya::wal::Writer::open(kaya::wal::WalConfig{}, **disk);
  if (!writer.ok()) return fail(writer.error());
  for (int i = 0; i < 10; ++i) {
    auto r =
        (*writer)->append(kaya::wal::Payload::noop(), kaya::wal::DurabilityMode::kStrict);
    if (!r.ok()) return fail(r.error());
  }
  // [doc]
  // On each scrape of the engine's own endpoint (content type
  // "text/plain; version=0.0.4"):
  const kaya::wal::Metrics metrics = kaya::wal::collect_metrics(**writer);
  const std::string prometheus = kaya::wal::to_prometheus(metrics);
  // Or one JSON object, e.g. for a log line:
  const std::string json = kaya::wal::to_json(metrics);
  // [/doc]
  std::fputs(prometheus.c_str(), stdout);
  std::printf("%s\n", json.c_str());
  EXAMPLE_CHECK(prometheus.find("\nkaya_wal_records_total 10\n") != std::string::npos);
  EXAMPLE_CHECK(json.find("\"records\":10,") != std::string::npos);
  return 0;
}
