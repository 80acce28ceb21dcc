// Helpers of the batch tests (batch_*test.cc): a configuration opted into batches,
// puts of keys, and a log on a FileDisk that holds a batch beyond the recovery point
// (or at or below it) with the byte surgery that damages it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"

namespace kaya::wal::batch_testing {

using kaya::testing::TempDir;

inline WalConfig batch_config() {
  WalConfig config;
  config.extensions = kExtensionBatches;
  return config;
}

// Puts of `keys` (views: the strings must outlive the payloads) with one value.
std::vector<Payload> puts(const std::vector<std::string>& keys);

// A log of two Puts (LSN 1, 2) whose recovery point names LSN 2, then a batch of three
// (LSN 3..5), then with `tail` one more Put (LSN 6): the batch lies beyond the recovery
// point unless `covered`.
struct BatchLog {
  TempDir dir;
  std::unique_ptr<io::FileDisk> disk;
  BatchResult batch;
  uint64_t last_record_offset = 0;  // of the batch's last record (LSN 5)
  std::string segment() const { return dir.path() + "/" + format::segment_path(1); }
};

void write_batch_log(BatchLog& log, bool covered, bool tail);

// Damages the payload of the batch's last record (its CRC no longer matches).
void damage_last_record(const BatchLog& log);

}  // namespace kaya::wal::batch_testing
