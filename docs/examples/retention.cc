// docs/retention.md: releasing the segments a checkpoint made unnecessary.
#include "example_util.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"

using example::fail;

int main() {
  example::TempDir dir;
  auto disk = kaya::io::FileDisk::open(dir.path());
  if (!disk.ok()) return fail(disk.error());
  // [doc]
  kaya::wal::WalConfig config;
  config.segment_max_bytes = 4096;  // small segments, to have several
  config.max_record_bytes = 4096;
  auto writer = kaya::wal::Writer::open(config, **disk);
  if (!writer.ok()) return fail(writer.error());
  for (int i = 0; i < 200; ++i) {
    auto r = (*writer)->append(kaya::wal::Payload::put("key", "value"),
                               kaya::wal::DurabilityMode::kRelaxed);
    if (!r.ok()) return fail(r.error());
  }
  if (auto s = (*writer)->sync(); !s.ok()) return fail(s.error());

  // The engine's checkpoint covers every record below LSN 150: the log may forget them.
  auto released = (*writer)->release_before(kaya::Lsn(150));
  if (!released.ok()) return fail(released.error());
  std::printf("removed %llu segments (%llu bytes); first LSN kept %llu; stopped: %s\n",
              static_cast<unsigned long long>(released->segments_removed),
              static_cast<unsigned long long>(released->bytes_released),
              static_cast<unsigned long long>(released->first_lsn_kept->value()),
              released->stopped_because.c_str());

  // Released records are gone: reading from LSN 1 fails with NotFound.
  auto reader = kaya::wal::LogReader::open(config, **disk, kaya::Lsn(1));
  EXAMPLE_CHECK(!reader.ok() && reader.error().kind() == kaya::ErrorKind::kNotFound);
  // [/doc]
  EXAMPLE_CHECK(released->segments_removed > 0);
  EXAMPLE_CHECK(released->first_lsn_kept->value() <= 150);
  auto ids = kaya::wal::list_segments(**disk);
  EXAMPLE_CHECK(ids.ok() && ids->size() == (*writer)->stats().segments);
  return 0;
}
