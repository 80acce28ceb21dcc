// What a simulated power loss leaves of one file, for SimDisk (whose header states the
// fault model in words). Pure functions of the file's durable bytes (its last
// fsync_file) and current bytes (what reads see); every random choice is drawn from
// the caller's generator in a fixed order, so one seed gives one history.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace kaya::io::sim {

// A value in [0, n) (0 when n is 0). mt19937_64's output is fixed by the standard (the
// distributions are not), so this keeps a seed's history identical across standard
// libraries.
inline uint64_t below(std::mt19937_64& rng, uint64_t n) { return n == 0 ? 0 : rng() % n; }

// CrashPersistence::kPrefix: the durable bytes, overlaid (when `tear`) with a random
// prefix of the bytes written after them, in file order from the first byte where
// current and durable differ. A file truncated below its durable length and not
// rewritten past the cut gets its durable bytes back. Draws at most once.
std::vector<uint8_t> persist_prefix(const std::vector<uint8_t>& durable,
                                    const std::vector<uint8_t>& current, bool tear,
                                    std::mt19937_64& rng);

}  // namespace kaya::io::sim
