// docs/batches.md: several records that recovery keeps all or none of (a multi-key
// update of an engine), in a log opted into batches.
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
  // The log opts into batches, one way: a KayaDB reader cannot read it any more.
  config.extensions = kaya::wal::kExtensionBatches;
  config.segment_max_bytes = 1 << 20;
  auto writer = kaya::wal::Writer::open(config, **disk);
  if (!writer.ok()) return fail(writer.error());

  // Move 10 from account a to account b: both records, or neither, after any crash.
  const kaya::wal::Payload transfer[] = {kaya::wal::Payload::put("account:a", "90"),
                                         kaya::wal::Payload::put("account:b", "110")};
  auto batch = (*writer)->append_batch(transfer, kaya::wal::DurabilityMode::kStrict);
  if (!batch.ok()) return fail(batch.error());
  std::printf("batch LSN %llu..%llu in segment %llu, durable=%d\n",
              static_cast<unsigned long long>(batch->first_lsn.value()),
              static_cast<unsigned long long>(batch->last_lsn.value()),
              static_cast<unsigned long long>(batch->segment_id), batch->durable);
  EXAMPLE_CHECK(batch->last_lsn.value() == batch->first_lsn.value() + 1);

  // A batch never spans segments: one larger than segment_max_bytes (64 MiB by
  // default; here 1 MiB) is refused, and takes no LSN.
  const std::string value(400 << 10, 'v');
  const kaya::wal::Payload big[] = {kaya::wal::Payload::put("k1", value),
                                    kaya::wal::Payload::put("k2", value),
                                    kaya::wal::Payload::put("k3", value)};
  auto refused = (*writer)->append_batch(big, kaya::wal::DurabilityMode::kStrict);
  EXAMPLE_CHECK(!refused.ok() &&
                refused.error().kind() == kaya::ErrorKind::kInvalidArgument);
  // [/doc]
  if (auto s = (*writer)->close(); !s.ok()) return fail(s.error());
  auto report = kaya::wal::recover(config, **disk);
  if (!report.ok()) return fail(report.error());
  EXAMPLE_CHECK(report->records == 2 &&
                report->extensions == kaya::wal::kExtensionBatches);
  return 0;
}
