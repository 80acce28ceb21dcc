// kaya's Writer as a benchmark contestant: a log on a FileDisk of its own, appended
// to through the public API only (wal_bench, uring_bench). Dies on any error.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "baselines.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"

namespace kaya::bench {

// A Put's 40-byte header and its two 4-byte lengths; the rest of a record is value.
constexpr size_t kPutOverhead = 48;

// A FileDisk on `root`, emptied first.
std::unique_ptr<io::FileDisk> fresh_disk(const std::string& root);
std::unique_ptr<wal::Writer> open_writer(io::Disk& disk, const wal::WalConfig& config);
void append_or_die(wal::Writer& w, const std::string& value, wal::DurabilityMode mode);
void close_or_die(wal::Writer& w);

// kaya's Writer (default configuration) on a new log in dir/kaya, appending records of
// `record_bytes`; open until finish(), so that slices continue the same log. The
// files are removed on destruction.
class KayaLog {
 public:
  KayaLog(const std::string& dir, size_t record_bytes);
  ~KayaLog();
  KayaLog(const KayaLog&) = delete;
  KayaLog& operator=(const KayaLog&) = delete;

  void append(wal::DurabilityMode mode) { append_or_die(*writer_, value_, mode); }
  // One thread appending asynchronously for `seconds`: the slice ends when the last
  // record issued has completed (completions run in LSN order).
  Throughput append_async_for(wal::DurabilityMode mode, double seconds);
  // Closes the writer (no appends after); returns its stats taken before close().
  wal::WriterStats finish();

 private:
  std::string root_;
  std::unique_ptr<io::FileDisk> disk_;
  std::unique_ptr<wal::Writer> writer_;
  std::string value_;
};

}  // namespace kaya::bench
