// Cold-cache measurements: evicting a directory's files from the page cache before a
// measured call, and the process's I/O counters, which show what the call read from
// storage (an open that should read a log's tail but reads the whole log shows up
// there, whatever the timing says).
//
// Not thread-safe: the programs call these from their main thread.
#pragma once

#include <cstdint>
#include <string>

namespace kaya::bench {

// What evict_page_cache() did.
struct Eviction {
  uint64_t files = 0;        // files fdatasync'ed and posix_fadvise'd DONTNEED
  bool drop_caches = false;  // also wrote 1 to /proc/sys/vm/drop_caches
};

// Makes every regular file under `dir` (recursively) cold: fdatasync() first, so that
// its pages are clean and can be dropped, then posix_fadvise(POSIX_FADV_DONTNEED).
// With `drop_caches`, also writes 1 to /proc/sys/vm/drop_caches when that is possible
// (root, writable): the whole page cache, directory blocks included. Dies on an error
// of the first two steps.
Eviction evict_page_cache(const std::string& dir, bool drop_caches);

// Whether /proc/sys/vm/drop_caches can be written by this process.
bool drop_caches_available();

// "fdatasync + posix_fadvise(DONTNEED) of every file under the log's wal/, then
// echo 1 > /proc/sys/vm/drop_caches" or the same without the last step and why.
std::string describe_eviction(bool drop_caches);

// This process's /proc/self/io counters (all threads).
struct IoCounters {
  uint64_t rchar = 0;       // bytes asked for by read calls (cache hits included)
  uint64_t read_bytes = 0;  // bytes fetched from storage on the process's behalf
};
IoCounters io_counters();
IoCounters operator-(const IoCounters& a, const IoCounters& b);

}  // namespace kaya::bench
