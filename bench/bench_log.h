// Logs for the open and recovery benchmarks, on FileDisk with the default WalConfig
// (64 MiB segments):
// - a log of fixed-size Put records written by the Writer (relaxed appends, then sync
//   and close), kept between runs of a program when asked to;
// - a writer killed with SIGKILL while its active segment is nearly full (a crashed
//   process: the writer never closes);
// - a snapshot that puts a log back as it was (the open benchmarks turn a clean log
//   into a crashed one and back, without writing the whole log again).
//
// Not thread-safe; kill_writer_with_full_segment() forks, so it must be called while
// the process runs no other thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace kaya::bench {

// A log written by build_log().
struct BenchLog {
  std::string root;  // the FileDisk root (the segments are in root/wal)
  uint64_t records = 0;
  size_t record_bytes = 0;
  uint64_t file_bytes = 0;  // of the segments
  uint64_t segments = 0;
  double write_s = 0;   // appends + sync (0 when reused)
  bool reused = false;  // found in place from an earlier run
};

// A log of `sealed_bytes / record_bytes` records of `record_bytes` (which fill whole
// 64 MiB segments when record_bytes divides them) plus one record in the active
// segment, under `root`. When `root` holds a log this function wrote with the same
// figures and its segments are still as written, it is reused; otherwise `root` is
// replaced.
BenchLog build_log(const std::string& root, uint64_t sealed_bytes, size_t record_bytes);

// What the killed writer had appended when it was killed.
struct KilledWriter {
  uint64_t last_lsn = 0;  // of its last acknowledged (relaxed) append
  uint64_t segment_id = 0;
  uint64_t segment_bytes = 0;  // the active segment's length of records
  uint64_t records = 0;        // appended by the child
};

// Forks a child that opens the log under `root` with the default WalConfig and appends
// relaxed `record_bytes` Put records until its active segment is within one record of
// segment_max_bytes (a full segment is first sealed by the writer, so the child fills
// a new one), tells the parent through a pipe and waits; the parent SIGKILLs it. The
// child never closes the writer. Dies when the child fails.
KilledWriter kill_writer_with_full_segment(const std::string& root, size_t record_bytes);

// A log's files as they were when the snapshot was taken, to put them back later.
// Segment files are remembered by length (recovery and the writer never rewrite a
// segment that is not the last, and a reopened writer only appends to the last one):
// restore() removes segments and other files created since, cuts the last remembered
// segment back to its length, and checks that the others still have theirs. The other
// files (the recovery point, the lock file) are copied and restored byte for byte.
class LogSnapshot {
 public:
  // Copies root/wal's non-segment files into `store` (replaced).
  LogSnapshot(const std::string& root, const std::string& store);
  // Puts root/wal back as it was; dies when that is not possible (a remembered
  // segment is missing or changed length).
  void restore() const;

 private:
  std::string root_;
  std::string store_;
  std::map<std::string, uint64_t> segments_;  // file name under wal/ -> length
  std::map<std::string, uint64_t> copied_;    // file name under wal/ -> length
};

}  // namespace kaya::bench
