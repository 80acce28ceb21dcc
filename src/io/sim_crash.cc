#include "sim_crash.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <iterator>

namespace kaya::io::sim {
namespace {

constexpr uint64_t kSector = kSimDiskSectorBytes;

// out[begin, end) = from[begin, end), reading zeros past the end of `from`.
void copy_padded(const std::vector<uint8_t>& from, uint64_t begin, uint64_t end,
                 std::vector<uint8_t>& out) {
  assert(begin <= end && end <= out.size());
  const uint64_t stop = std::clamp<uint64_t>(from.size(), begin, end);
  std::copy(from.begin() + static_cast<ptrdiff_t>(begin),
            from.begin() + static_cast<ptrdiff_t>(stop),
            out.begin() + static_cast<ptrdiff_t>(begin));
  std::fill(out.begin() + static_cast<ptrdiff_t>(stop),
            out.begin() + static_cast<ptrdiff_t>(end), uint8_t{0});
}

}  // namespace

void SectorSet::add_bytes(uint64_t begin, uint64_t end) {
  if (begin >= end) return;
  uint64_t first = begin / kSector;
  uint64_t last = (end - 1) / kSector + 1;
  // Absorb the range starting at or before `first` if it reaches it, then every range
  // starting within [first, last]: what is left is disjoint and non-adjacent again.
  auto it = ranges_.upper_bound(first);
  if (it != ranges_.begin() && std::prev(it)->second >= first) {
    --it;
    first = it->first;
    last = std::max(last, it->second);
    it = ranges_.erase(it);
  }
  while (it != ranges_.end() && it->first <= last) {
    last = std::max(last, it->second);
    it = ranges_.erase(it);
  }
  ranges_.emplace(first, last);
}

bool SectorSet::contains(uint64_t sector) const {
  auto it = ranges_.upper_bound(sector);
  return it != ranges_.begin() && std::prev(it)->second > sector;
}

bool written_covers_changes(const std::vector<uint8_t>& durable,
                            const std::vector<uint8_t>& current,
                            const SectorSet& written) {
  // current[begin, end) equals durable there, read as zeros past its end.
  auto unchanged = [&](uint64_t begin, uint64_t end) {
    end = std::min<uint64_t>(end, current.size());
    if (begin >= end) return true;
    const uint64_t mid = std::clamp<uint64_t>(durable.size(), begin, end);
    const auto at = [&](uint64_t offset) {
      return current.begin() + static_cast<ptrdiff_t>(offset);
    };
    return std::equal(at(begin), at(mid),
                      durable.begin() + static_cast<ptrdiff_t>(begin)) &&
           std::all_of(at(mid), at(end), [](uint8_t byte) { return byte == 0; });
  };
  // Only the stretches between written ranges need to match.
  uint64_t from = 0;
  for (const auto& [first, last] : written.ranges()) {
    if (!unchanged(from, first * kSector)) return false;
    from = last * kSector;
  }
  return unchanged(from, current.size());
}

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

std::vector<uint8_t> persist_sectors(const std::vector<uint8_t>& durable,
                                     const std::vector<uint8_t>& current,
                                     const SectorSet& written, bool tear,
                                     std::mt19937_64& rng) {
  // Size and data reach the device separately: either size may be the one found.
  uint64_t len = durable.size();
  if (tear && current.size() != durable.size() && below(rng, 2) == 1) {
    len = current.size();
  }
  std::vector<uint8_t> out(len);
  copy_padded(durable, 0, len, out);
  if (!tear) return out;
  // Each written sector reached the device or did not, independently of the others:
  // the device orders its writes as it likes.
  for (const auto& [first, last] : written.ranges()) {
    for (uint64_t sector = first; sector < last && sector * kSector < len; ++sector) {
      if (below(rng, 2) == 1) {
        copy_padded(current, sector * kSector, std::min(len, (sector + 1) * kSector),
                    out);
      }
    }
  }
  return out;
}

}  // namespace kaya::io::sim
