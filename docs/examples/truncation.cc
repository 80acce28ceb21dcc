// docs/truncation.md: removing the records after an LSN (a Raft follower whose log
// diverged from the leader's, or one that installed a snapshot).
#include "example_util.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/writer.h"

using example::fail;

int main() {
  example::TempDir dir;
  auto disk = kaya::io::FileDisk::open(dir.path());
  if (!disk.ok()) return fail(disk.error());
  // [doc]
  kaya::wal::WalConfig config;
  auto writer = kaya::wal::Writer::open(config, **disk);
  if (!writer.ok()) return fail(writer.error());
  for (int i = 1; i <= 10; ++i) {
    auto r = (*writer)->append(kaya::wal::Payload::put("entry", std::to_string(i)),
                               kaya::wal::DurabilityMode::kStrict);
    if (!r.ok()) return fail(r.error());
  }
  // A reader that follows the log, opened before the truncation at LSN 8.
  auto reader = kaya::wal::TailingReader::open(**writer, kaya::Lsn(8));
  if (!reader.ok()) return fail(reader.error());

  // The leader's log diverges after entry 6: keep 1..6, durably.
  auto cut = (*writer)->truncate_after(kaya::Lsn(6));
  if (!cut.ok()) return fail(cut.error());
  std::printf("removed %llu records, next LSN %llu, truncation epoch %u\n",
              static_cast<unsigned long long>(cut->records_removed),
              static_cast<unsigned long long>(cut->next_lsn.value()), cut->epoch);
  auto next = (*writer)->append(kaya::wal::Payload::put("entry", "7 from the leader"),
                                kaya::wal::DurabilityMode::kStrict);
  EXAMPLE_CHECK(next.ok() && next->lsn == kaya::Lsn(7));  // LSN 7 again

  // The reader opened before never returns the new LSN 7 as if it were the old one:
  // it fails, naming the new epoch (a LogReader, also in another process, does the
  // same at its next read of the log's files).
  auto read = (*reader)->next(std::chrono::microseconds(0));
  EXAMPLE_CHECK(!read.ok() && read.error().kind() == kaya::ErrorKind::kNotFound);
  std::printf("%s\n", read.error().to_string().c_str());

  cut = (*writer)->truncate_after(kaya::Lsn(7));  // the last LSN: nothing to remove
  EXAMPLE_CHECK(cut.ok() && cut->records_removed == 0);
  // Drop everything (the log's first LSN - 1): the log is empty and the next append
  // gets the first LSN, also after a reopen; had segments been released, that is the
  // first LSN kept, never 1 again.
  auto first = kaya::wal::first_lsn(config, **disk);
  if (!first.ok()) return fail(first.error());
  cut = (*writer)->truncate_after(kaya::Lsn(first->value() - 1));
  EXAMPLE_CHECK(cut.ok() && cut->next_lsn == *first);
  // [/doc]
  EXAMPLE_CHECK((*writer)->next_lsn() == kaya::Lsn(1));
  if (auto s = (*writer)->close(); !s.ok()) return fail(s.error());
  return 0;
}
