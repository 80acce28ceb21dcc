// What a simulated power loss leaves of one file, for SimDisk (whose header states the
// fault model in words). Pure functions of the file's durable bytes (its last
// fsync_file) and current bytes (what reads see); every random choice is drawn from
// the caller's generator in a fixed order, so one seed gives one history.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "kaya/io/sim_disk.h"

namespace kaya::io::sim {

// A value in [0, n) (0 when n is 0). mt19937_64's output is fixed by the standard (the
// distributions are not), so this keeps a seed's history identical across standard
// libraries.
inline uint64_t below(std::mt19937_64& rng, uint64_t n) { return n == 0 ? 0 : rng() % n; }

// The sectors of a file written since its last fsync_file, as disjoint, non-adjacent
// ranges of sector indexes: memory follows the number of separate unsynced writes,
// not their size (a 1 MiB allocation is one range).
class SectorSet {
 public:
  // Adds every sector holding a byte of the file offsets [begin, end).
  void add_bytes(uint64_t begin, uint64_t end);
  bool contains(uint64_t sector) const;
  void clear() { ranges_.clear(); }
  // First sector -> one past the last, ascending; no two ranges touch.
  const std::map<uint64_t, uint64_t>& ranges() const { return ranges_; }

 private:
  std::map<uint64_t, uint64_t> ranges_;
};

// What makes the sector model sound: every byte of `current` that differs from
// `durable` (read as zeros past its end) lies in a sector of `written`. O(file size);
// for assertions.
bool written_covers_changes(const std::vector<uint8_t>& durable,
                            const std::vector<uint8_t>& current,
                            const SectorSet& written);

// CrashPersistence::kPrefix: the durable bytes, overlaid (when `tear`) with a random
// prefix of the bytes written after them, in file order from the first byte where
// current and durable differ. A file truncated below its durable length and not
// rewritten past the cut gets its durable bytes back. Draws at most once.
std::vector<uint8_t> persist_prefix(const std::vector<uint8_t>& durable,
                                    const std::vector<uint8_t>& current, bool tear,
                                    std::mt19937_64& rng);

// CrashPersistence::kSectors: the durable or the current length (when `tear`; else the
// durable one), then per sector of `written` below it, the durable or the current
// content, whole; every other sector its durable content. Content past the end of
// `durable` or `current` reads as zeros. Draws once for the length when the lengths
// differ, then once per sector of `written` below the chosen length, in file order.
std::vector<uint8_t> persist_sectors(const std::vector<uint8_t>& durable,
                                     const std::vector<uint8_t>& current,
                                     const SectorSet& written, bool tear,
                                     std::mt19937_64& rng);

}  // namespace kaya::io::sim
