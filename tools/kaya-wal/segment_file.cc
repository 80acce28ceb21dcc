#include "segment_file.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <system_error>

#include "inspection_text.h"
#include "kaya/io/file_disk.h"
#include "kaya/io/rados_disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/format.h"

namespace kaya::tool {

bool is_segment_file_path(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  return !io::is_rados_location(path) && std::filesystem::exists(st) &&
         !std::filesystem::is_directory(st);
}

Result<wal::SegmentInspection> inspect_segment_file(const std::string& file,
                                                    const wal::WalConfig& config,
                                                    const wal::RecordVisitor& visitor) {
  namespace fs = std::filesystem;
  const fs::path p(file);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::FileDisk> disk,
                        io::FileDisk::open(dir, /*create=*/false));
  KAYA_ASSIGN_OR_RETURN(io::RelativePath path,
                        io::RelativePath::parse(p.filename().string()));
  KAYA_ASSIGN_OR_RETURN(
      wal::SegmentInspection s,
      wal::inspect_segment(*disk, path, config.max_record_bytes, true, visitor));
  // A file whose first bytes are neither the start of a record's magic nor zeros
  // (preallocated space), and that holds no valid record anywhere, was never a kaya
  // segment: calling its content a torn tail would mislead. (An empty, all-zero or
  // torn-first-record file, and a segment whose first record is damaged but followed
  // by valid ones, are judged as segments.) The visitor saw no record then.
  if (s.records == 0 && s.state == wal::SegmentState::kTornTail) {
    std::array<uint8_t, sizeof(wal::format::kMagic)> head{};
    KAYA_ASSIGN_OR_RETURN(size_t n, io::read_full(*disk, path, 0, head));
    if (!wal::may_begin_segment(std::span<const uint8_t>(head).first(n))) {
      return Error(ErrorKind::kInvalidArgument,
                   file + ": not a kaya segment (no valid record, and its first bytes " +
                       "are neither a record's magic \"AYAK\" nor zeros)");
    }
  }
  return s;
}

std::optional<Error> segment_file_error(const wal::SegmentInspection& segment,
                                        const std::string& file) {
  const std::optional<Error> e = recovery_error(single_segment_log(segment), file);
  if (!e) return std::nullopt;
  return Error(e->kind(), file + ": " + segment.state_string());
}

}  // namespace kaya::tool
