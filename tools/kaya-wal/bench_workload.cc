#include "bench_workload.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"
#include "log_location.h"
#if KAYA_HAVE_RADOS
#include "rados_baseline.h"
#endif

namespace kaya::tool {
namespace {

using Clock = std::chrono::steady_clock;

// One append: `thread` writes its `index`-th record.
using AppendFn = std::function<Status(int thread, uint64_t index)>;

// Runs the workload's appends on its threads, timing each one; stops every thread at
// the first error and returns it, or when w.stop is set (then the measurement covers
// the appends done).
Result<Measurement> run_threads(const Workload& w, const std::string& label,
                                const AppendFn& append) {
  std::atomic<uint64_t> done{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::optional<Error> error;
  std::vector<Histogram> latency(static_cast<size_t>(w.threads));
  std::vector<std::thread> pool;
  auto stopped = [&] {
    return failed.load(std::memory_order_relaxed) ||
           (w.stop != nullptr && w.stop->load(std::memory_order_relaxed));
  };
  const auto start = Clock::now();
  {
    ProgressMeter meter(w.progress, label, w.records, done);
    for (int t = 0; t < w.threads; ++t) {
      // An even split; the first `records % threads` threads take one more.
      const uint64_t share = w.records / static_cast<uint64_t>(w.threads) +
                             (static_cast<uint64_t>(t) < w.records % w.threads ? 1 : 0);
      pool.emplace_back([&, t, share] {
        for (uint64_t i = 0; i < share && !stopped(); ++i) {
          const auto begin = Clock::now();
          Status s = append(t, i);
          if (!s.ok()) {
            std::lock_guard<std::mutex> lock(error_mu);
            if (!error) error = s.error();
            failed = true;
            return;
          }
          latency[static_cast<size_t>(t)].record(static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - begin)
                  .count()));
          done.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    for (std::thread& th : pool) th.join();
  }
  if (error) return *error;
  Measurement m;
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  m.records = done.load();
  m.bytes = m.records * w.record_bytes;
  for (const Histogram& h : latency) m.latency_us.merge(h);
  return m;
}

Error os_error(std::string_view what, const std::string& path, int err) {
  const ErrorKind kind = err == ENOSPC || err == EDQUOT ? ErrorKind::kDiskFull
                         : err == ENOENT                ? ErrorKind::kNotFound
                                                        : ErrorKind::kIo;
  return Error(kind, std::string(what) + " " + path + ": " + std::strerror(err));
}

// A fixed-width key per record ("t0003-0000000042"), cut to what the size allows, so
// that a kept log dumps readably.
std::string record_key(int thread, uint64_t index, size_t max_len) {
  char key[48];
  std::snprintf(key, sizeof(key), "t%04d-%010llu", thread,
                static_cast<unsigned long long>(index));
  return std::string(key).substr(0, max_len);
}

}  // namespace

Result<Measurement> run_kaya(const Workload& w, const std::string& dir) {
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::Disk> disk, open_log_for_write(dir));
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<wal::Writer> writer,
                        wal::Writer::open(wal::WalConfig{}, *disk));
  const uint64_t payload_room = w.record_bytes - kMinRecordBytes;
  const size_t key_len = std::min<uint64_t>(16, payload_room);
  const std::string value(payload_room - key_len, 'v');
  auto append = [&](int thread, uint64_t index) -> Status {
    const std::string key = record_key(thread, index, key_len);
    return writer->append(wal::Payload::put(key, value), w.mode).status();
  };
  KAYA_ASSIGN_OR_RETURN(Measurement m, run_threads(w, "kaya", append));
  const wal::WriterStats stats = writer->stats();
  m.fsyncs = stats.fsyncs;
  m.dir_fsyncs = stats.dir_fsyncs;
  m.writer = stats;
  if (stats.bytes != m.bytes) {
    return Error(ErrorKind::kInvariantViolation,
                 "the writer wrote " + std::to_string(stats.bytes) + " bytes for " +
                     std::to_string(m.records) + " records of " +
                     std::to_string(w.record_bytes) + " bytes");
  }
  KAYA_RETURN_IF_ERROR(writer->close());
  return m;
}

Result<Measurement> run_baseline(const Workload& w, const std::string& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return os_error("open", file, errno);
  const std::vector<char> record(w.record_bytes, 'v');
  std::atomic<uint64_t> next_offset{0};
  auto append = [&](int, uint64_t) -> Status {
    const uint64_t offset = next_offset.fetch_add(w.record_bytes);
    size_t written = 0;
    while (written < record.size()) {
      const ssize_t n = ::pwrite(fd, record.data() + written, record.size() - written,
                                 static_cast<off_t>(offset + written));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return os_error("pwrite", file, n < 0 ? errno : EIO);
      written += static_cast<size_t>(n);
    }
    if (w.mode == wal::DurabilityMode::kStrict && ::fdatasync(fd) != 0) {
      return os_error("fdatasync", file, errno);
    }
    return ok_status();
  };
  Result<Measurement> m = run_threads(w, "baseline", append);
  ::close(fd);
  ::unlink(file.c_str());
  if (m.ok() && w.mode == wal::DurabilityMode::kStrict) m->fsyncs = m->records;
  return m;
}

#if KAYA_HAVE_RADOS
Result<Measurement> run_rados_baseline(const Workload& w, RadosBaseline& store) {
  const std::string record(w.record_bytes, 'v');
  std::atomic<uint64_t> next_offset{0};
  auto append = [&](int, uint64_t) -> Status {
    return store.append(next_offset.fetch_add(w.record_bytes), record);
  };
  KAYA_ASSIGN_OR_RETURN(Measurement m, run_threads(w, "baseline", append));
  m.has_fsyncs = false;
  return m;
}
#endif

}  // namespace kaya::tool
