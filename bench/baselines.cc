#include "baselines.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "appenders.h"
#include "bench_util.h"

namespace kaya::bench {
namespace {

constexpr uint64_t kAheadBytes = 16ull << 20;  // fallocate step, zero-filled size

[[noreturn]] void die_errno(const std::string& what, const std::string& path) {
  die(what + " " + path + ": " + std::strerror(errno));
}

Throughput run_or_die(const workload::Plan& plan, const AppendFn& append) {
  Result<Throughput> r = workload::run(plan, append);
  if (!r.ok()) die(r.error().to_string());
  return std::move(*r);
}

// The contestant (0..n-1) at position `slot` of round `round`: a Williams design.
// Round 0 is 0, 1, n-1, 2, n-2, ...; round r adds r (mod n) to each, so in rounds
// 0..n-1 every ordered pair of neighbours occurs once when n is even. For an odd n
// the rounds n..2n-1 repeat them backwards, which evens the pairs out over 2n rounds.
int contestant_at(int n, int round, int slot) {
  if (n % 2 == 1 && (round / n) % 2 == 1) slot = n - 1 - slot;
  const int k = (slot + 1) / 2;
  const int first = slot == 0 ? 0 : (slot % 2 == 1 ? k : n - k);
  return (first + round) % n;
}

}  // namespace

Throughput run_appenders(int threads, double seconds, const AppendFn& append) {
  return run_or_die(
      {.threads = threads, .quota = workload::Quota::kTime, .seconds = seconds}, append);
}

Throughput run_records(int threads, uint64_t records, const AppendFn& append) {
  return run_or_die(
      {.threads = threads, .quota = workload::Quota::kShared, .records = records},
      append);
}

std::vector<Throughput> run_interleaved_records(int threads, uint64_t records, int rounds,
                                                const std::vector<AppendFn>& appends) {
  const int n = static_cast<int>(appends.size());
  std::vector<Throughput> totals(appends.size());
  for (int round = 0; round < rounds; ++round) {
    // The slices add up to `records` exactly.
    const uint64_t slice = records * static_cast<uint64_t>(round + 1) / rounds -
                           records * static_cast<uint64_t>(round) / rounds;
    for (int slot = 0; slot < n; ++slot) {
      const auto c = static_cast<size_t>(contestant_at(n, round, slot));
      totals[c].add(run_records(threads, slice, appends[c]));
    }
  }
  return totals;
}

std::vector<Throughput> run_interleaved(int threads, double seconds, int rounds,
                                        const std::vector<AppendFn>& appends) {
  std::vector<std::function<Throughput(double)>> slices;
  for (const auto& append : appends) {
    slices.push_back([threads, &append](double slice) {
      return run_appenders(threads, slice, append);
    });
  }
  return run_interleaved_slices(seconds, rounds, slices);
}

std::vector<Throughput> run_interleaved_slices(
    double seconds, int rounds,
    const std::vector<std::function<Throughput(double seconds)>>& slices) {
  const int n = static_cast<int>(slices.size());
  const double slice = seconds / rounds;
  std::vector<Throughput> totals(slices.size());
  for (int round = 0; round < rounds; ++round) {
    for (int slot = 0; slot < n; ++slot) {
      const auto c = static_cast<size_t>(contestant_at(n, round, slot));
      totals[c].add(slices[c](slice));
    }
  }
  return totals;
}

RawLog::RawLog(const std::string& path, Kind kind) : path_(path), kind_(kind) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) die_errno("open", path);
  if (kind_ == Kind::kZeroFilled) {
    const std::vector<uint8_t> zeros(1 << 20, 0);
    for (uint64_t at = 0; at < kAheadBytes; at += zeros.size()) {
      ok_or_die(workload::pwrite_all(fd_, zeros, at, path_));
    }
    if (::fsync(fd_) != 0) die_errno("fsync", path_);
  }
}

SyncedFiles::SyncedFiles(const std::string& dir, uint64_t file_bytes,
                         uint64_t total_bytes)
    : file_bytes_(file_bytes) {
  const uint64_t files =
      std::max<uint64_t>(1, (total_bytes + file_bytes - 1) / file_bytes);
  for (uint64_t i = 0; i < files; ++i) {
    paths_.push_back(dir + "/synced-" + std::to_string(i));
    const int fd =
        ::open(paths_.back().c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die_errno("open", paths_.back());
    fds_.push_back(fd);
  }
  syncer_ = std::thread([this] { sync_loop(); });
}

SyncedFiles::~SyncedFiles() {
  stop_ = true;
  syncer_.join();
  for (size_t i = 0; i < fds_.size(); ++i) {
    ::close(fds_[i]);
    ::unlink(paths_[i].c_str());
  }
}

Status SyncedFiles::append(std::span<const uint8_t> record) {
  const uint64_t at = offset_.fetch_add(record.size(), std::memory_order_relaxed);
  const uint64_t file = at / file_bytes_;
  if (file >= fds_.size() || (at + record.size() - 1) / file_bytes_ != file) {
    die("SyncedFiles: a record at offset " + std::to_string(at) +
        " does not fit in one of the files");
  }
  return workload::pwrite_all(fds_[file], record, at % file_bytes_, paths_[file]);
}

void SyncedFiles::sync_loop() {
  for (size_t file = 0; file + 1 < fds_.size(); ++file) {
    // The count passed the file's end: every record of it was handed to a writer.
    while (!stop_ && offset_.load(std::memory_order_relaxed) < (file + 1) * file_bytes_) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (stop_) return;
    if (::fdatasync(fds_[file]) != 0) die_errno("fdatasync", paths_[file]);
    fsyncs_++;
  }
}

RawLog::~RawLog() {
  ::close(fd_);
  ::unlink(path_.c_str());
}

Status RawLog::append(std::span<const uint8_t> record, bool sync) {
  KAYA_ASSIGN_OR_RETURN(const uint64_t at, next_offset(record.size()));
  return write_at(record, at, sync);
}

Status RawLog::write_at(std::span<const uint8_t> record, uint64_t offset, bool sync) {
  KAYA_RETURN_IF_ERROR(workload::pwrite_all(fd_, record, offset, path_));
  if (sync && ::fdatasync(fd_) != 0) return workload::os_error("fdatasync", path_, errno);
  return ok_status();
}

Result<uint64_t> RawLog::next_offset(size_t bytes) {
  if (kind_ == Kind::kFallocated && offset_ + bytes > allocated_) {
    const int err = ::posix_fallocate(fd_, static_cast<off_t>(allocated_),
                                      static_cast<off_t>(kAheadBytes));
    if (err != 0) return workload::os_error("posix_fallocate", path_, err);
    allocated_ += kAheadBytes;
  }
  // The zero-filled file is overwritten in place: wrap around rather than grow it.
  if (kind_ == Kind::kZeroFilled && offset_ + bytes > kAheadBytes) offset_ = 0;
  const uint64_t at = offset_;
  offset_ += bytes;
  return at;
}

const char* RawLog::name(Kind kind) {
  switch (kind) {
    case Kind::kGrowing:
      return "growing";
    case Kind::kFallocated:
      return "fallocated";
    case Kind::kZeroFilled:
      return "zero-filled";
  }
  return "?";
}

IdealGroupCommit::IdealGroupCommit(const std::string& path, int appenders) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) die_errno("open", path);
  for (int i = 0; i < appenders; ++i) waiters_.push_back(std::make_unique<Waiter>());
  queue_.reserve(static_cast<size_t>(appenders));
  io_ = std::thread([this] { io_loop(); });
}

IdealGroupCommit::~IdealGroupCommit() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  io_cv_.notify_one();
  io_.join();
  ::close(fd_);
  ::unlink(path_.c_str());
}

void IdealGroupCommit::append(int appender, std::span<const uint8_t> record) {
  Waiter& w = *waiters_[static_cast<size_t>(appender)];
  w.record = record;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(&w);
    wake = io_idle_;
    io_idle_ = false;
  }
  if (wake) io_cv_.notify_one();
  w.done.acquire();
}

void IdealGroupCommit::io_loop() {
  std::vector<Waiter*> batch;
  batch.reserve(waiters_.size());
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (queue_.empty() && !stop_) {
        io_idle_ = true;
        io_cv_.wait(lock);
      }
      io_idle_ = false;
      if (queue_.empty()) return;  // stopped, and nobody waits
      batch.swap(queue_);
    }
    write_and_sync(batch);
    for (Waiter* w : batch) w->done.release();  // exactly the covered appenders
    batch.clear();
  }
}

void IdealGroupCommit::write_and_sync(const std::vector<Waiter*>& batch) {
  std::vector<iovec> iov;
  iov.reserve(batch.size());
  for (const Waiter* w : batch) {
    iov.push_back({const_cast<uint8_t*>(w->record.data()), w->record.size()});
  }
  // One pwritev per IOV_MAX records (one call for any realistic queue); a short write
  // is finished record by record.
  for (size_t first = 0; first < iov.size();) {
    const size_t count = std::min<size_t>(IOV_MAX, iov.size() - first);
    ssize_t n =
        ::pwritev(fd_, &iov[first], static_cast<int>(count), static_cast<off_t>(offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die_errno("pwritev", path_);
    for (size_t i = first; i < first + count; ++i) {
      const size_t len = iov[i].iov_len;
      const size_t done = std::min<size_t>(len, static_cast<size_t>(n));
      if (done < len) {
        const auto* rest = static_cast<const uint8_t*>(iov[i].iov_base) + done;
        ok_or_die(workload::pwrite_all(fd_, {rest, len - done}, offset_ + done, path_));
      }
      n -= static_cast<ssize_t>(done);
      offset_ += len;
    }
    first += count;
  }
  const auto start = Clock::now();
  if (::fdatasync(fd_) != 0) die_errno("fdatasync", path_);
  fsync_us_.record(workload::micros_since(start));
  fsyncs_++;
}

}  // namespace kaya::bench
