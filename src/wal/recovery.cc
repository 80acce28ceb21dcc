#include "kaya/wal/recovery.h"

#include <algorithm>
#include <cstring>

#include "wal/segment_reader.h"

namespace kaya::wal {
namespace {

io::RelativePath segment_rel(uint64_t id) {
  return io::RelativePath::parse(format::segment_path(id)).value();
}

io::RelativePath segment_dir() {
  return io::RelativePath::parse(format::kSegmentDir).value();
}

Error corruption(io::Disk& disk, uint64_t segment_id, uint64_t offset,
                 const std::string& what) {
  return Error(ErrorKind::kCorruption,
               disk.describe(segment_rel(segment_id)) + " (segment " +
                   std::to_string(segment_id) + ") at offset " + std::to_string(offset) +
                   ": " + what + "; durable data is damaged, recovery changed nothing");
}

// Looks for a valid record at or after `from` in `path`. Candidates are the offsets
// where the magic appears; each is decoded in full. Memory: one chunk plus one record.
Result<std::optional<uint64_t>> find_valid_record(io::Disk& disk,
                                                  const io::RelativePath& path,
                                                  uint64_t from,
                                                  uint64_t max_record_bytes) {
  constexpr size_t kChunk = 64 << 10;
  uint8_t magic[4];
  for (int i = 0; i < 4; ++i) magic[i] = static_cast<uint8_t>(format::kMagic >> (8 * i));
  std::vector<uint8_t> chunk(kChunk + 3);
  for (uint64_t base = from;;) {
    KAYA_ASSIGN_OR_RETURN(size_t n, io::read_full(disk, path, base, chunk));
    if (n < 4) return std::optional<uint64_t>();
    for (size_t i = 0; i + 4 <= n; ++i) {
      if (std::memcmp(chunk.data() + i, magic, 4) != 0) continue;
      SegmentReader probe(disk, path, max_record_bytes, base + i, format::kHeaderLen);
      KAYA_ASSIGN_OR_RETURN(auto d, probe.next());
      if (d && d->ok()) return std::optional<uint64_t>(base + i);
    }
    if (n < chunk.size()) return std::optional<uint64_t>();
    base += n - 3;  // overlap so a magic split across chunks is seen
  }
}

// Where to look for valid data after a bad record: past its declared end when its
// header is intact (so a record nested in its own payload is not mistaken for one),
// else right after its first byte.
uint64_t resync_offset(const Decoded& bad) {
  if (bad.problem == DecodeProblem::kBadPayloadChecksum ||
      bad.problem == DecodeProblem::kMalformedPayload) {
    return bad.offset + bad.size;
  }
  return bad.offset + 1;
}

}  // namespace

Result<std::vector<uint64_t>> list_segments(io::Disk& disk) {
  auto names = disk.list_dir(segment_dir());
  if (!names.ok()) {
    if (names.error().kind() == ErrorKind::kNotFound) return std::vector<uint64_t>();
    return std::move(names).error();
  }
  std::vector<uint64_t> ids;
  for (const std::string& name : *names) {
    if (auto id = format::parse_segment_file_name(name)) ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<RecoveryReport> recover(const WalConfig& config, io::Disk& disk,
                               const RecoveryOptions& options,
                               const RecordVisitor& visitor) {
  KAYA_RETURN_IF_ERROR(config.validate());
  RecoveryReport report;
  KAYA_ASSIGN_OR_RETURN(report.segment_ids, list_segments(disk));
  const auto& ids = report.segment_ids;
  std::optional<uint64_t> expected_lsn;
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint64_t id = ids[i];
    const bool last = i + 1 == ids.size();
    if (i > 0 && id != ids[i - 1] + 1) {
      return corruption(disk, id, 0,
                        "segment " + std::to_string(ids[i - 1] + 1) + " is missing");
    }
    SegmentReader reader(disk, segment_rel(id), config.max_record_bytes);
    for (;;) {
      KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> d, reader.next());
      if (!d) break;
      if (d->ok()) {
        const uint64_t lsn = d->record.lsn.value();
        if (expected_lsn && lsn != *expected_lsn) {
          return corruption(disk, id, d->offset,
                            "record has LSN " + std::to_string(lsn) + ", expected " +
                                std::to_string(*expected_lsn));
        }
        if (!report.first_lsn) report.first_lsn = d->record.lsn;
        expected_lsn = lsn + 1;
        report.next_sequence = d->record.sequence.next();
        report.records++;
        report.valid_bytes += d->size;
        if (visitor) KAYA_RETURN_IF_ERROR(visitor(id, d->offset, d->record));
        continue;
      }
      const std::string reason = std::string(to_string(d->problem)) + ": " + d->detail;
      if (!last)
        return corruption(disk, id, d->offset, reason + " (not the last segment)");
      KAYA_ASSIGN_OR_RETURN(auto later,
                            find_valid_record(disk, reader.path(), resync_offset(*d),
                                              config.max_record_bytes));
      if (later) {
        return corruption(
            disk, id, d->offset,
            reason + ", followed by a valid record at offset " + std::to_string(*later));
      }
      KAYA_ASSIGN_OR_RETURN(uint64_t len, disk.file_len(reader.path()));
      report.torn_tail = TornTail{id, d->offset, len - d->offset, reason};
      break;
    }
  }
  report.next_lsn = Lsn(expected_lsn.value_or(1));
  if (report.torn_tail && !options.dry_run) {
    const io::RelativePath path = segment_rel(report.torn_tail->segment_id);
    KAYA_RETURN_IF_ERROR(disk.truncate(path, report.torn_tail->offset));
    KAYA_RETURN_IF_ERROR(disk.fsync_file(path));
    report.applied = true;
  }
  return report;
}

}  // namespace kaya::wal
