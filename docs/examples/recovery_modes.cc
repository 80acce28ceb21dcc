// docs/recovery.md: a torn tail is dropped; corruption of durable data stops the
// default mode; a dry run reports; point-in-time keeps the valid prefix.
#include <string>

#include "example_util.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"

using example::fail;

namespace {

// Appends Put(k<i>, v<i>) for i in [1, n] and closes the writer.
kaya::Status write_records(kaya::io::Disk& disk, int n) {
  auto writer = kaya::wal::Writer::open(kaya::wal::WalConfig{}, disk);
  if (!writer.ok()) return writer.error();
  for (int i = 1; i <= n; ++i) {
    std::string key = "k", value = "v";
    key += std::to_string(i);
    value += std::to_string(i);
    auto r = (*writer)->append(kaya::wal::Payload::put(key, value),
                               kaya::wal::DurabilityMode::kStrict);
    if (!r.ok()) return r.error();
  }
  return (*writer)->close();
}

}  // namespace

int main() {
  example::TempDir dir;
  auto disk = kaya::io::FileDisk::open(dir.path());
  if (!disk.ok()) return fail(disk.error());
  if (auto s = write_records(**disk, 5); !s.ok()) return fail(s.error());
  const auto segment =
      kaya::io::RelativePath::parse(kaya::wal::format::segment_path(1)).value();
  // Each record is 52 bytes (40 header + 8 lengths + "kN" + "vN"). Damage the payload
  // of record 2: valid records follow, so this is corruption, not a torn tail.
  const uint8_t junk[] = {0xFF};
  if (auto s = (*disk)->write_at(segment, 52 + 45, junk); !s.ok()) return fail(s.error());

  // [doc]
  kaya::wal::WalConfig config;
  // A dry run reports and changes nothing. By default recovery reads only what lies
  // beyond the recovery point (the last record the log knows durable); a full scan
  // reads every segment, and fails on corruption of durable data ...
  kaya::wal::RecoveryOptions check;
  check.dry_run = true;
  check.full_scan = true;
  auto report = kaya::wal::recover(config, **disk, check);
  EXAMPLE_CHECK(!report.ok() && report.error().kind() == kaya::ErrorKind::kCorruption);
  std::printf("%s\n", report.error().to_string().c_str());  // segment, offset, reason

  // ... and so does Writer::open asked for a full scan.
  kaya::wal::OpenOptions full;
  full.recovery.full_scan = true;
  EXAMPLE_CHECK(!kaya::wal::Writer::open(config, **disk, full).ok());

  // An operator who accepts losing what follows the damage: point-in-time keeps the
  // valid prefix and moves the rest aside (wal/lost/), never deleting it.
  kaya::wal::OpenOptions open;
  open.recovery.mode = kaya::wal::RecoveryMode::kPointInTime;
  auto writer = kaya::wal::Writer::open(config, **disk, open);
  if (!writer.ok()) return fail(writer.error());
  const kaya::wal::RecoveryReport& kept = (*writer)->recovery_report();
  std::printf("kept %llu record(s), moved %llu bytes to %s\n",
              static_cast<unsigned long long>(kept.records),
              static_cast<unsigned long long>(kept.bytes_dropped),
              kept.dropped.at(0).moved_to.c_str());
  EXAMPLE_CHECK((*writer)->next_lsn() == kaya::Lsn(2));  // continues after record 1
  // [/doc]
  EXAMPLE_CHECK(kept.records == 1 && kept.anomalies.size() == 1);
  return 0;
}
