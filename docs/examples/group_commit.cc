// docs/group-commit.md: strict appends from several threads sharing fsyncs.
#include <thread>
#include <vector>

#include "example_util.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"

using example::fail;

int main() {
  example::TempDir dir;
  auto disk = kaya::io::FileDisk::open(dir.path());
  if (!disk.ok()) return fail(disk.error());
  // [doc]
  kaya::wal::WalConfig config;
  config.batch.flush_interval_us = 2000;  // a strict record waits at most 2 ms ...
  config.batch.max_records = 16;          // ... or until 16 records are waiting
  auto writer = kaya::wal::Writer::open(config, **disk);
  if (!writer.ok()) return fail(writer.error());

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&writer] {
      for (int i = 0; i < 50; ++i) {
        auto r = (*writer)->append(kaya::wal::Payload::noop(),
                                   kaya::wal::DurabilityMode::kStrict);
        if (!r.ok()) return;  // poisoned: every later append fails too
      }
    });
  }
  for (auto& t : threads) t.join();

  const kaya::wal::WriterStats stats = (*writer)->stats();
  std::printf("%llu strict appends, %llu fsyncs, %.1f records per fsync\n",
              static_cast<unsigned long long>(stats.strict_records),
              static_cast<unsigned long long>(stats.fsyncs),
              stats.records_per_fsync.mean());
  // [/doc]
  EXAMPLE_CHECK(stats.strict_records == 200);
  EXAMPLE_CHECK(stats.fsyncs >= 1 && stats.fsyncs <= 200);
  EXAMPLE_CHECK(stats.records_per_fsync.sum() == 200);
  EXAMPLE_CHECK(stats.batch_wait_us.count() >= 1);
  return 0;
}
