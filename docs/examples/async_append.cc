// docs/async.md: appends that return at once and complete later, on the writer's
// completion thread, in LSN order (an event-loop engine's commit path).
#include <atomic>
#include <cstdio>
#include <string>

#include "example_util.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"

using example::fail;

int main() {
  example::TempDir dir;
  auto disk = kaya::io::FileDisk::open(dir.path());
  if (!disk.ok()) return fail(disk.error());
  // [doc]
  kaya::wal::WalConfig config;
  // At most 1 MiB of records appended and not yet completed; append_async waits at
  // the bound (the default is 2 MiB).
  config.async_max_in_flight_bytes = 1 << 20;
  auto opened = kaya::wal::Writer::open(config, **disk);
  if (!opened.ok()) return fail(opened.error());
  kaya::wal::Writer& writer = **opened;

  // One thread issues 1,000 strict appends without waiting for any; the writer's
  // syncer shares fsyncs among them, and its completion thread runs the callbacks,
  // in LSN order, once each record is durable.
  std::atomic<uint64_t> last_completed{0};
  std::atomic<bool> in_order{true};
  for (int i = 0; i < 1000; ++i) {
    auto lsn =
        writer.append_async(kaya::wal::Payload::put("key:" + std::to_string(i), "value"),
                            kaya::wal::DurabilityMode::kStrict,
                            [&](const kaya::Result<kaya::wal::AppendResult>& done) {
                              // Runs on the completion thread: keep it short, never close
                              // the writer here.
                              if (!done.ok() || !done->durable) {
                                in_order = false;
                                return;
                              }
                              if (done->lsn.value() != last_completed + 1)
                                in_order = false;
                              last_completed = done->lsn.value();
                            });
    if (!lsn.ok()) return fail(lsn.error());  // refused: no LSN, no callback
  }

  // Or a handle to wait on: the same append, without a callback.
  auto future = writer.append_async(kaya::wal::Payload::put("key:last", "value"),
                                    kaya::wal::DurabilityMode::kStrict);
  if (!future.ok()) return fail(future.error());
  auto result = future->wait();
  if (!result.ok()) return fail(result.error());
  std::printf("LSN %llu durable; the 1,000 before it completed in order: %d\n",
              static_cast<unsigned long long>(result->lsn.value()), in_order.load());
  EXAMPLE_CHECK(in_order && last_completed == 1000);

  // close() waits until every completion has returned.
  if (auto s = writer.close(); !s.ok()) return fail(s.error());
  // [/doc]
  auto report = kaya::wal::recover(config, **disk);
  if (!report.ok()) return fail(report.error());
  EXAMPLE_CHECK(report->records == 1001);
  return 0;
}
