// docs/reading.md: reading from any LSN, and following a live log.
#include <chrono>
#include <thread>

#include "example_util.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/writer.h"

using example::fail;

int main() {
  example::TempDir dir;
  auto disk = kaya::io::FileDisk::open(dir.path());
  if (!disk.ok()) return fail(disk.error());
  auto writer = kaya::wal::Writer::open(kaya::wal::WalConfig{}, **disk);
  if (!writer.ok()) return fail(writer.error());
  for (int i = 1; i <= 5; ++i) {
    auto r = (*writer)->append(kaya::wal::Payload::put("k", std::to_string(i)),
                               kaya::wal::DurabilityMode::kStrict);
    if (!r.ok()) return fail(r.error());
  }
  // [doc]
  // Read the log from LSN 3 to its end; a writer may be appending meanwhile. The range
  // ends at the end of the log or at the first error, which error() then holds.
  auto reader = kaya::wal::LogReader::open(kaya::wal::WalConfig{}, **disk, kaya::Lsn(3));
  if (!reader.ok()) return fail(reader.error());
  for (const kaya::wal::Record& record : (*reader)->records()) {
    std::printf("lsn %llu: %s\n", static_cast<unsigned long long>(record.lsn.value()),
                record.value.c_str());
  }
  if ((*reader)->error()) return fail(*(*reader)->error());  // corruption, or released

  // Follow the live log from the writer's next LSN: next() waits for a record to become
  // durable, up to a timeout (then it returns nullopt).
  auto tail = kaya::wal::TailingReader::open(**writer, (*writer)->next_lsn());
  if (!tail.ok()) return fail(tail.error());
  std::thread producer([&writer] {
    (void)(*writer)->append(kaya::wal::Payload::put("k", "6"),
                            kaya::wal::DurabilityMode::kStrict);
  });
  auto next = (*tail)->next(std::chrono::seconds(10));
  producer.join();
  if (!next.ok()) return fail(next.error());
  // [/doc]
  EXAMPLE_CHECK(next->has_value() && (*next)->lsn == kaya::Lsn(6));
  EXAMPLE_CHECK((*reader)->position() == kaya::Lsn(6));
  return 0;
}
