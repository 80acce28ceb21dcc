// What the workload's threads (workload.h) append with, in both benchmark harnesses:
// - PutRecords: kaya's side, Put records of one encoded size through a Writer;
// - SharedFile: the raw side, each record one pwrite() at the next offset of a shared
//   counter, optionally followed by its own fdatasync();
// - pwrite_all() and os_error() for the harnesses' other raw files.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "kaya/core/status.h"
#include "kaya/wal/writer.h"

namespace kaya::workload {

// The smallest record PutRecords makes: a Put's 40-byte header and its two 4-byte
// lengths, with an empty key and value.
inline constexpr uint64_t kMinRecordBytes = 48;

// Put records whose encoding (header included) is `record_bytes` long; the value is
// 'v's. Immutable: thread-safe.
class PutRecords {
 public:
  enum class Keys {
    kNone,   // an empty key
    kNamed,  // thread and index, "t0003-0000000042", cut to at most 16 bytes (or what
             // the size leaves), so that a kept log dumps readably
  };

  // REQUIRES: record_bytes >= kMinRecordBytes.
  PutRecords(uint64_t record_bytes, Keys keys);

  uint64_t record_bytes() const { return record_bytes_; }
  // `thread`'s `index`-th record. A named key is written into `key` (the caller's, to
  // reuse), which the payload refers to, like the value in this object.
  wal::Payload payload(int thread, uint64_t index, std::string& key) const;
  // Appends `thread`'s `index`-th record through `writer` in `mode`.
  Status append(wal::Writer& writer, wal::DurabilityMode mode, int thread,
                uint64_t index) const;

 private:
  uint64_t record_bytes_;
  size_t key_bytes_;  // 0: no key
  std::string value_;
};

// A file that any number of threads append records to: each with one pwrite() at the
// next offset taken from a shared counter (the file grows) and, when asked, its own
// fdatasync() before the append returns (one per record, no group commit). The
// cheapest way for the same threads to hand the same bytes to the OS.
class SharedFile {
 public:
  // Creates `path` (truncated when it exists).
  static Result<std::unique_ptr<SharedFile>> create(const std::string& path);
  // Closes and removes the file.
  ~SharedFile();
  SharedFile(const SharedFile&) = delete;
  SharedFile& operator=(const SharedFile&) = delete;

  // Writes `record` after the records appended before (by offset, not by time);
  // with `sync`, fdatasync()s the file before returning. Thread-safe.
  Status append(std::span<const uint8_t> record, bool sync);

 private:
  SharedFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  const std::string path_;
  const int fd_;
  std::atomic<uint64_t> offset_{0};
};

// Writes all of `data` at `offset` of `fd` (the file at `path`), retrying after EINTR
// and short writes.
Status pwrite_all(int fd, std::span<const uint8_t> data, uint64_t offset,
                  const std::string& path);

// A failed system call `what` on `path` with errno `err`: DiskFull (ENOSPC, EDQUOT),
// NotFound (ENOENT) or Io, "<what> <path>: <strerror>".
Error os_error(std::string_view what, const std::string& path, int err);

}  // namespace kaya::workload
