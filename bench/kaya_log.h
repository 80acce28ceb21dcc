// kaya's Writer as a benchmark contestant: a log on a FileDisk of its own, appended
// to through the public API only (wal_bench, uring_bench).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "appenders.h"
#include "baselines.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"

namespace kaya::bench {

// A FileDisk on `root`, emptied first. Dies on an error.
std::unique_ptr<io::FileDisk> fresh_disk(const std::string& root);
// Dies on an error.
std::unique_ptr<wal::Writer> open_writer(io::Disk& disk, const wal::WalConfig& config);

// kaya's Writer (default configuration) on a new log in dir/kaya, appending records of
// `record_bytes`; open until finish(), so that slices continue the same log. The
// files are removed on destruction.
class KayaLog {
 public:
  KayaLog(const std::string& dir, size_t record_bytes);
  ~KayaLog();
  KayaLog(const KayaLog&) = delete;
  KayaLog& operator=(const KayaLog&) = delete;

  Status append(wal::DurabilityMode mode) {
    return records_.append(*writer_, mode, 0, 0);
  }
  // One thread appending asynchronously for `seconds`: the slice ends when the last
  // record issued has completed (completions run in LSN order). Dies on an error.
  Throughput append_async_for(wal::DurabilityMode mode, double seconds);
  // Closes the writer (no appends after); returns its stats taken before close().
  // Dies on an error.
  wal::WriterStats finish();

 private:
  std::string root_;
  std::unique_ptr<io::FileDisk> disk_;
  std::unique_ptr<wal::Writer> writer_;
  workload::PutRecords records_;
};

}  // namespace kaya::bench
