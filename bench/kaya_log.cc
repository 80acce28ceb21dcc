#include "kaya_log.h"

#include <atomic>
#include <chrono>
#include <filesystem>

#include "bench_util.h"

namespace kaya::bench {

std::unique_ptr<io::FileDisk> fresh_disk(const std::string& root) {
  std::filesystem::remove_all(root);
  auto disk = io::FileDisk::open(root);
  if (!disk.ok()) die(disk.error().to_string());
  return std::move(*disk);
}

std::unique_ptr<wal::Writer> open_writer(io::Disk& disk, const wal::WalConfig& config) {
  auto w = wal::Writer::open(config, disk);
  if (!w.ok()) die(w.error().to_string());
  return std::move(*w);
}

KayaLog::KayaLog(const std::string& dir, size_t record_bytes)
    : root_(dir + "/kaya"),
      disk_(fresh_disk(root_)),
      writer_(open_writer(*disk_, wal::WalConfig{})),
      records_(record_bytes, workload::PutRecords::Keys::kNone) {}

KayaLog::~KayaLog() {
  writer_.reset();
  disk_.reset();
  std::filesystem::remove_all(root_);
}

Throughput KayaLog::append_async_for(wal::DurabilityMode mode, double seconds) {
  std::atomic<uint64_t> completed{0};
  auto count = [&completed](const Result<wal::AppendResult>& r) {
    if (!r.ok()) die(r.error().to_string());
    completed.fetch_add(1, std::memory_order_relaxed);
  };
  std::string key;
  const wal::Payload payload = records_.payload(0, 0, key);  // all alike
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  uint64_t issued = 0;
  while (Clock::now() < deadline) {
    for (int i = 0; i < 64; ++i, ++issued) {
      auto r = writer_->append_async(payload, mode, count);
      if (!r.ok()) die(r.error().to_string());
    }
  }
  auto last = writer_->append_async(payload, mode);
  if (!last.ok()) die(last.error().to_string());
  if (auto r = last->wait(); !r.ok()) die(r.error().to_string());
  if (completed.load() != issued) die("async: a completion is missing");
  Throughput slice;
  slice.seconds = seconds_since(start);
  slice.records = issued + 1;
  return slice;
}

wal::WriterStats KayaLog::finish() {
  wal::WriterStats stats = writer_->stats();
  ok_or_die(writer_->close());
  return stats;
}

}  // namespace kaya::bench
