// docs/durability-modes.md: strict and relaxed appends, and sync().
#include "example_util.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"

using example::fail;

int main() {
  example::TempDir dir;
  // [doc]
  auto disk = kaya::io::FileDisk::open(dir.path());
  if (!disk.ok()) return fail(disk.error());
  auto writer = kaya::wal::Writer::open(kaya::wal::WalConfig{}, **disk);
  if (!writer.ok()) return fail(writer.error());

  // Strict: returns once the record (and every record before it) is on stable storage.
  auto strict = (*writer)->append(kaya::wal::Payload::put("user:1", "Ada"),
                                  kaya::wal::DurabilityMode::kStrict);
  if (!strict.ok()) return fail(strict.error());  // the writer is now poisoned
  EXAMPLE_CHECK(strict->durable);

  // Relaxed: returns once the operating system has the record. It survives a crash of
  // the process; a power loss may take it back until something syncs it.
  auto relaxed = (*writer)->append(kaya::wal::Payload::put("user:2", "Grace"),
                                   kaya::wal::DurabilityMode::kRelaxed);
  if (!relaxed.ok()) return fail(relaxed.error());

  // sync() makes every record appended before it durable (so would a later strict
  // append, or the close of its segment after a rotation).
  if (auto s = (*writer)->sync(); !s.ok()) return fail(s.error());
  EXAMPLE_CHECK((*writer)->stats().durable_lsn_end > relaxed->lsn);
  // [/doc]
  EXAMPLE_CHECK(strict->lsn == kaya::Lsn(1) && relaxed->lsn == kaya::Lsn(2));
  return 0;
}
