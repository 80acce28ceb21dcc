#include "wal/segment_locate.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/assert.h"
#include "wal/log_dir.h"
#include "wal/segment_reader.h"

namespace kaya::wal {
namespace {

std::string num(uint64_t v) { return std::to_string(v); }

}  // namespace

Result<std::optional<ReadStart>> locate_start(const LogView& view, io::Disk& disk,
                                              Lsn from, std::optional<Damage>* damage) {
  if (damage != nullptr) damage->reset();
  auto damaged = [&](uint64_t segment_id, Error error) -> Status {
    if (damage == nullptr) return error;
    if (!*damage || segment_id < (*damage)->segment_id) {
      damage->emplace(Damage{segment_id, std::move(error)});
    }
    return ok_status();
  };
  KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, log_dir::list_segments(disk));
  if (ids.empty()) return std::optional<ReadStart>(ReadStart{});
  // The index of each probed segment's first LSN.
  std::map<size_t, std::optional<uint64_t>> first_lsns;
  // The first probed segment without a valid first record judged lost after a hole
  // (beyond the recovery point): its index, and the spot.
  std::optional<std::pair<size_t, Spot>> hole;
  auto probe = [&](size_t i) -> Result<std::optional<uint64_t>> {
    if (auto it = first_lsns.find(i); it != first_lsns.end()) return it->second;
    SegmentReader reader(disk, log_dir::segment(ids[i]), view.max_record_bytes, 0,
                         format::kHeaderLen);
    KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> d, reader.next());
    std::optional<uint64_t> v;
    if (d && d->ok()) {
      v = d->record.lsn.value();
    } else if (i + 1 < ids.size()) {
      // (Kept, it reads as a segment above `from`: the search stays below it.)
      KAYA_ASSIGN_OR_RETURN(std::optional<Spot> spot,
                            judge_first_record(disk, view, ids[i], d));
      KAYA_ASSERT(spot.has_value());
      if (spot->verdict != Verdict::kLostAfterHole) {
        KAYA_RETURN_IF_ERROR(damaged(ids[i], spot->to_error(disk)));
      } else if (!hole || i < hole->first) {
        hole.emplace(i, std::move(*spot));
      }
    }
    first_lsns.emplace(i, v);
    return v;
  };
  // Reading ends before the hole found by a probe. NotFound when `from` lies in the
  // segments after it (at or above the first LSN of one of them).
  auto end_before_hole = [&]() -> Result<bool> {
    if (!hole) return true;
    for (size_t i = hole->first + 1; i < ids.size(); ++i) {
      auto f = log_dir::first_lsn(disk, ids[i], view.max_record_bytes);
      if (!f.ok() && f.error().kind() == ErrorKind::kNotFound) return false;
      KAYA_RETURN_IF_ERROR(f.status());
      if (!*f) continue;
      if (**f <= from) {
        return Error(
            ErrorKind::kNotFound,
            "LSN " + num(from.value()) + " lies after a hole: " + hole->second.reason);
      }
      break;
    }
    return true;
  };

  auto first = probe(0);
  if (!first.ok() && first.error().kind() == ErrorKind::kNotFound) {
    return std::optional<ReadStart>();
  }
  KAYA_RETURN_IF_ERROR(first.status());
  if (!*first) {
    KAYA_ASSIGN_OR_RETURN(bool listed, end_before_hole());
    if (!listed) return std::optional<ReadStart>();  // released meanwhile: list again
    return std::optional<ReadStart>(ReadStart{ids[0], true, std::nullopt});
  }
  if (from.value() < **first) {
    return Error(ErrorKind::kNotFound, "LSN " + num(from.value()) +
                                           " has been released: the log now starts at "
                                           "LSN " +
                                           num(**first));
  }
  // Invariant: first(lo) <= from, and hi == size or first(hi) > from (or unknown).
  KAYA_ASSERT(**first <= from.value());
  size_t lo = 0;
  size_t hi = ids.size();
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    auto f = probe(mid);
    if (!f.ok() && f.error().kind() == ErrorKind::kNotFound)
      return std::optional<ReadStart>();
    KAYA_RETURN_IF_ERROR(f.status());
    if (*f && **f <= from.value()) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  KAYA_ASSERT(hi == lo + 1 && first_lsns.contains(lo));
  // Beyond the recovery point, a segment without a valid first record is a hole.
  KAYA_ASSIGN_OR_RETURN(bool listed, end_before_hole());
  if (!listed) return std::optional<ReadStart>();  // released meanwhile: list again
  if (hole) {
    KAYA_ASSERT(lo < hole->first);  // the search stays below it
    // (Damage kept beyond it is not in the log either.)
    if (damage != nullptr && *damage && (*damage)->segment_id >= ids[hole->first]) {
      damage->reset();
    }
    ids.resize(hole->first);
  }
  // The checks recovery makes on the segments it does not read (a stat each): no
  // hole anywhere (readers move from segment to segment by id: a hole would read as
  // the end), and no empty segment below the one reading starts in.
  for (size_t i = 1; i < ids.size(); ++i) {
    if (log_dir::hole_before(ids, i)) {
      const Spot spot = missing_segment_spot(view, ids[i - 1], ids[i]);
      // Beyond the recovery point the segments after the hole are not part of the
      // log (recovery moves them aside): reading ends at the hole.
      if (spot.verdict != Verdict::kLostAfterHole) {
        // Reading ends where the first missing segment would start.
        KAYA_RETURN_IF_ERROR(damaged(ids[i - 1] + 1, spot.to_error(disk)));
        break;
      }
      if (lo >= i) {
        return Error(ErrorKind::kNotFound,
                     "LSN " + num(from.value()) + " lies after a hole: " + spot.reason);
      }
      ids.resize(i);
      break;
    }
  }
  for (size_t i = 0; i < lo; ++i) {
    auto len = disk.file_len(log_dir::segment(ids[i]));
    if (!len.ok() && len.error().kind() == ErrorKind::kNotFound) {
      return std::optional<ReadStart>();  // released meanwhile: list again
    }
    KAYA_RETURN_IF_ERROR(len.status());
    if (*len == 0) {
      KAYA_RETURN_IF_ERROR(
          damaged(ids[i], sealed_segment_spot(view, ids[i], 0, 0)->to_error(disk)));
      break;
    }
  }
  KAYA_ASSERT(lo < ids.size());
  return std::optional<ReadStart>(ReadStart{ids[lo], true, first_lsns.at(lo)});
}

}  // namespace kaya::wal
