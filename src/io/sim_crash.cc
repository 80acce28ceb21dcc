#include "sim_crash.h"

#include <algorithm>
#include <cstddef>

namespace kaya::io::sim {

std::vector<uint8_t> persist_prefix(const std::vector<uint8_t>& durable,
                                    const std::vector<uint8_t>& current, bool tear,
                                    std::mt19937_64& rng) {
  // Writes since the last fsync start at the first byte where the two differ; they
  // reach the platter in file order up to a random point.
  const size_t shorter = std::min(current.size(), durable.size());
  const size_t common = static_cast<size_t>(
      std::mismatch(current.begin(), current.begin() + static_cast<ptrdiff_t>(shorter),
                    durable.begin())
          .first -
      current.begin());
  if (current.size() < durable.size() && common == current.size()) {
    return durable;  // truncated below the synced length, never synced
  }
  const uint64_t changed = current.size() - common;
  const uint64_t keep = tear ? below(rng, changed + 1) : 0;
  const size_t cut = common + static_cast<size_t>(keep);
  std::vector<uint8_t> out(current.begin(),
                           current.begin() + static_cast<ptrdiff_t>(cut));
  if (durable.size() > cut) {
    out.insert(out.end(), durable.begin() + static_cast<ptrdiff_t>(cut), durable.end());
  }
  return out;
}

}  // namespace kaya::io::sim
