// docs/reading.md: reading without a copy per record, through views.
#include <chrono>
#include <functional>
#include <map>
#include <string>

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
  for (const char* key : {"a", "b", "a"}) {
    auto r = (*writer)->append(kaya::wal::Payload::put(key, std::string(key) + "!"),
                               kaya::wal::DurabilityMode::kStrict);
    if (!r.ok()) return fail(r.error());
  }
  auto deleted =
      (*writer)->append(kaya::wal::Payload::del("b"), kaya::wal::DurabilityMode::kStrict);
  if (!deleted.ok()) return fail(deleted.error());
  std::map<std::string, std::string, std::less<>> table;
  // [doc]
  // Replay the log into a table without the reader copying each record: a view's key
  // and value point into the reader's buffer and stay valid until the loop steps on
  // (the next call on the reader). Copy only what you keep (here: the table's entries).
  auto reader = kaya::wal::LogReader::open(kaya::wal::WalConfig{}, **disk, kaya::Lsn(1));
  if (!reader.ok()) return fail(reader.error());
  for (const kaya::wal::RecordView& view : (*reader)->record_views()) {
    if (view.type == kaya::wal::RecordType::kPut) {
      table.insert_or_assign(std::string(view.key), std::string(view.value));
    } else if (view.type == kaya::wal::RecordType::kDelete) {
      if (auto it = table.find(view.key); it != table.end()) table.erase(it);
    }
  }
  if ((*reader)->error()) return fail(*(*reader)->error());

  // One at a time, also from a TailingReader: next_view(timeout).
  auto tail = kaya::wal::TailingReader::open(**writer, kaya::Lsn(4));
  if (!tail.ok()) return fail(tail.error());
  auto next = (*tail)->next_view(std::chrono::seconds(1));
  if (!next.ok()) return fail(next.error());
  // [/doc]
  EXAMPLE_CHECK(table.size() == 1 && table.at("a") == "a!");
  EXAMPLE_CHECK(next->has_value() && (*next)->type == kaya::wal::RecordType::kDelete &&
                (*next)->key == "b");
  return 0;
}
