#include "kaya/wal/recovery_point.h"

#include <array>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/assert.h"
#include "core/guard.h"
#include "kaya/core/crc32c.h"
#include "kaya/wal/format.h"
#include "wal/endian.h"
#include "wal/log_dir.h"
#include "wal/segment_reader.h"

namespace kaya::wal {
namespace {

namespace rf = rp_format;

std::string num(uint64_t v) { return std::to_string(v); }

uint32_t slot_crc(std::span<const uint8_t> slot) {
  return crc32c::value(slot.first(rf::kSlotCrcOffset));
}

}  // namespace

std::string RecoveryPoint::to_string() const {
  return core::guard_value([&]() -> std::string {
    std::string s = durable.lsn.value() == 0
                        ? std::string("no durable record")
                        : "LSN " + num(durable.lsn.value()) + " (segment " +
                              num(durable.segment_id) + " offset " + num(durable.offset) +
                              ", " + num(durable.length) + " bytes)";
    if (sealed_segment_id > 0) s += ", sealed segment " + num(sealed_segment_id);
    if (truncation_epoch > 0) {
      s += std::string(truncation_pending() ? ", truncation pending" : ", truncated") +
           " after LSN " + num(truncated_after.value()) + " (epoch " +
           num(truncation_epoch) + ")";
    }
    return s + ", max_record_bytes " + num(max_record_bytes) + ", generation " +
           num(generation);
  });
}

void encode_slot(const RecoveryPoint& p, std::span<uint8_t> slot) {
  std::memset(slot.data(), 0, slot.size());
  uint8_t* s = slot.data();
  store_u32(s + rf::kMagicOffset, rf::kMagic);
  store_u16(s + rf::kSlotVersionOffset, rf::kSlotVersion);
  store_u16(s + rf::kSlotLenOffset, static_cast<uint16_t>(rf::kSlotLen));
  store_u64(s + rf::kGenerationOffset, p.generation);
  store_u16(s + rf::kFormatVersionOffset, p.format_version);
  store_u64(s + rf::kIncompatibleOffset, p.incompatible_features);
  store_u64(s + rf::kMaxRecordBytesOffset, p.max_record_bytes);
  store_u64(s + rf::kDurableLsnOffset, p.durable.lsn.value());
  store_u64(s + rf::kDurableSequenceOffset, p.durable.sequence.value());
  store_u64(s + rf::kDurableSegmentOffset, p.durable.segment_id);
  store_u64(s + rf::kDurableOffsetOffset, p.durable.offset);
  store_u32(s + rf::kDurableLengthOffset, p.durable.length);
  store_u32(s + rf::kDurableHeaderCrcOffset, p.durable.header_crc);
  store_u64(s + rf::kSealedSegmentOffset, p.sealed_segment_id);
  store_u64(s + rf::kSealedBytesOffset, p.sealed_segment_bytes);
  store_u64(s + rf::kSealedLastLsnOffset, p.sealed_last_lsn.value());
  store_u64(s + rf::kTruncatedAfterOffset, p.truncated_after.value());
  store_u64(s + rf::kTruncationSequenceOffset, p.truncation_next_sequence.value());
  store_u32(s + rf::kTruncationEpochOffset, p.truncation_epoch);
  store_u32(s + rf::kSlotCrcOffset, slot_crc(slot));
}

Result<RecoveryPoint> decode_slot(std::span<const uint8_t> slot, std::string_view where) {
  return core::guard([&]() -> Result<RecoveryPoint> {
    auto bad = [&](const std::string& why) {
      return Error(ErrorKind::kCorruption, std::string(where) + ": " + why);
    };
    if (slot.size() < rf::kSlotLen) return bad("slot shorter than " + num(rf::kSlotLen));
    const uint8_t* s = slot.data();
    if (load_u32(s + rf::kMagicOffset) != rf::kMagic) return bad("bad slot magic");
    const uint32_t stored = load_u32(s + rf::kSlotCrcOffset);
    if (stored != slot_crc(slot)) return bad("bad slot checksum");
    // The CRC covers the bytes in use; the rest of the sector is written as zeros.
    for (size_t i = rf::kSlotLen; i < slot.size(); ++i) {
      if (s[i] != 0) return bad("non-zero byte at offset " + num(i) + " past the slot");
    }
    // Trusted from here on: the CRC verified.
    const uint16_t version = load_u16(s + rf::kSlotVersionOffset);
    const uint16_t len = load_u16(s + rf::kSlotLenOffset);
    if (version != rf::kSlotVersion || len != rf::kSlotLen) {
      return Error(
          ErrorKind::kUnsupportedVersion,
          std::string(where) + ": recovery point slot version " + num(version) + " of " +
              num(len) + " bytes (this kaya reads version " + num(rf::kSlotVersion) +
              " of " + num(rf::kSlotLen) +
              " bytes); open the log with the kaya that wrote it or a newer one");
    }
    RecoveryPoint p;
    p.generation = load_u64(s + rf::kGenerationOffset);
    p.format_version = load_u16(s + rf::kFormatVersionOffset);
    p.incompatible_features = load_u64(s + rf::kIncompatibleOffset);
    p.max_record_bytes = load_u64(s + rf::kMaxRecordBytesOffset);
    p.durable.lsn = Lsn(load_u64(s + rf::kDurableLsnOffset));
    p.durable.sequence = SequenceNumber(load_u64(s + rf::kDurableSequenceOffset));
    p.durable.segment_id = load_u64(s + rf::kDurableSegmentOffset);
    p.durable.offset = load_u64(s + rf::kDurableOffsetOffset);
    p.durable.length = load_u32(s + rf::kDurableLengthOffset);
    p.durable.header_crc = load_u32(s + rf::kDurableHeaderCrcOffset);
    p.sealed_segment_id = load_u64(s + rf::kSealedSegmentOffset);
    p.sealed_segment_bytes = load_u64(s + rf::kSealedBytesOffset);
    p.sealed_last_lsn = Lsn(load_u64(s + rf::kSealedLastLsnOffset));
    p.truncated_after = Lsn(load_u64(s + rf::kTruncatedAfterOffset));
    p.truncation_next_sequence =
        SequenceNumber(load_u64(s + rf::kTruncationSequenceOffset));
    p.truncation_epoch = load_u32(s + rf::kTruncationEpochOffset);
    if (p.format_version != format::kVersion) {
      return Error(ErrorKind::kUnsupportedVersion,
                   std::string(where) + ": the log has record format version " +
                       num(p.format_version) + " (this kaya reads version " +
                       num(format::kVersion) + "); read it with a kaya that supports it");
    }
    const uint64_t unknown =
        p.incompatible_features & ~RecoveryPoint::kKnownIncompatibleFeatures;
    if (unknown != 0) {
      char hex[24];
      std::snprintf(hex, sizeof(hex), "0x%016llx",
                    static_cast<unsigned long long>(unknown));
      return Error(
          ErrorKind::kUnsupportedVersion,
          std::string(where) + ": the log uses incompatible features " + hex +
              " this kaya does not know; read it with a kaya that supports them");
    }
    // A position a writer could have recorded: nothing at LSN 0, a record at least a
    // header long in a real segment.
    if (p.durable.lsn.value() != 0 &&
        (p.durable.segment_id == 0 || p.durable.length < format::kHeaderLen ||
         p.durable.offset > UINT64_MAX - p.durable.length)) {
      return bad("impossible durable position " + p.to_string());
    }
    // A pending truncation names its epoch, and keeps no record above its cut.
    if (p.truncation_pending() &&
        (p.truncation_epoch == 0 || p.durable.lsn > p.truncated_after)) {
      return bad("impossible pending truncation " + p.to_string());
    }
    return p;
  });
}

Result<std::optional<RecoveryPoint>> read_recovery_point(io::Disk& disk) {
  return core::guard([&]() -> Result<std::optional<RecoveryPoint>> {
    const io::RelativePath path = log_dir::recovery_point();
    const std::string where = disk.describe(path);
    auto len = disk.file_len(path);
    if (!len.ok() && len.error().kind() == ErrorKind::kNotFound) {
      return std::optional<RecoveryPoint>();
    }
    KAYA_RETURN_IF_ERROR(len.status());
    if (*len != rf::kFileBytes) {
      return Error(ErrorKind::kCorruption,
                   where + ": recovery point file is " + num(*len) + " bytes, expected " +
                       num(rf::kFileBytes) +
                       " (kaya-wal recover --rebuild-recovery-point rebuilds it from a "
                       "full scan of the log)");
    }
    std::array<uint8_t, rf::kFileBytes> bytes{};
    KAYA_ASSIGN_OR_RETURN(size_t n, io::read_full(disk, path, 0, bytes));
    if (n != bytes.size()) {
      return Error(ErrorKind::kCorruption,
                   where + ": recovery point file shrank while read");
    }
    std::optional<RecoveryPoint> best;
    std::optional<Error> first_error;
    for (size_t i = 0; i < rf::kSlots; ++i) {
      auto slot = decode_slot(
          std::span<const uint8_t>(bytes).subspan(i * rf::kSlotBytes, rf::kSlotBytes),
          where + " slot " + num(i));
      if (!slot.ok()) {
        // A newer layout or format is refused outright, whatever the other slot says.
        if (slot.error().kind() == ErrorKind::kUnsupportedVersion) {
          return std::move(slot).error();
        }
        if (!first_error) first_error = slot.error();
        continue;
      }
      if (!best || slot->generation > best->generation) best = *slot;
    }
    if (!best) {
      return Error(ErrorKind::kCorruption,
                   where + ": neither recovery point slot is valid (" +
                       first_error->message() +
                       "); kaya-wal recover --rebuild-recovery-point rebuilds it from a "
                       "full scan of the log");
    }
    return best;
  });
}

Status create_recovery_point(io::Disk& disk, const RecoveryPoint& point) {
  return core::guard([&]() -> Status {
    std::vector<uint8_t> bytes(rf::kFileBytes);
    for (size_t i = 0; i < rf::kSlots; ++i) {
      encode_slot(point,
                  std::span<uint8_t>(bytes).subspan(i * rf::kSlotBytes, rf::kSlotBytes));
    }
    const io::RelativePath tmp = log_dir::recovery_point_temp();
    const io::RelativePath path = log_dir::recovery_point();
    // A temporary file left by an earlier crash is replaced.
    Status removed = disk.remove_file(tmp);
    if (!removed.ok() && removed.error().kind() != ErrorKind::kNotFound) return removed;
    KAYA_ASSIGN_OR_RETURN(uint64_t at, disk.append(tmp, bytes));
    if (at != 0) {
      return Error(ErrorKind::kInvariantViolation,
                   disk.describe(tmp) + " was recreated by another process meanwhile");
    }
    KAYA_RETURN_IF_ERROR(disk.fsync_file(tmp));
    KAYA_RETURN_IF_ERROR(disk.rename(tmp, path));
    return disk.fsync_dir(path.parent());
  });
}

RecoveryPointFile::RecoveryPointFile(io::Disk& disk, const RecoveryPoint& current,
                                     bool through_map)
    : disk_(disk),
      last_(current),
      write_slot_(0),
      map_refused_(!through_map || !disk.can_map()) {}

Status RecoveryPointFile::write(RecoveryPoint point) {
  return core::guard([&]() -> Status {
    point.generation = last_.generation + 1;
    std::array<uint8_t, rf::kSlotBytes> slot{};
    encode_slot(point, slot);
    KAYA_RETURN_IF_ERROR(store(write_slot_ * rf::kSlotBytes, slot));
    last_ = point;
    dirty_ = true;
    return ok_status();
  });
}

Status RecoveryPointFile::store(uint64_t offset, std::span<const uint8_t> slot) {
  // A write per sync round was a system call on the leader's way back (the appender
  // that led the round, or the syncer before its next round): through the map it is
  // a 512-byte copy. The file's sync writes the mapped page back like a written one;
  // a process killed in the middle of the copy leaves this slot torn, and recovery
  // takes the other one, the synced value (docs/durability.md, "The recovery point
  // and its window"). An error making the map (the file's space, Io) is the write's
  // error; no memory for it only costs the copy: writes instead.
  if (map_ == nullptr && !map_refused_) {
    Result<std::unique_ptr<io::WritableMap>> map =
        disk_.map_for_write(log_dir::recovery_point(), 0, rf::kFileBytes);
    if (map.ok()) {
      // The whole file, as asked: every slot's store lands inside it.
      KAYA_ASSERT((*map)->offset() == 0 && (*map)->data().size() >= rf::kFileBytes);
      map_ = std::move(*map);
    } else if (core::is_out_of_memory(map.error())) {
      map_refused_ = true;
    } else {
      return map.error();
    }
  }
  if (map_ == nullptr) return disk_.write_at(log_dir::recovery_point(), offset, slot);
  std::memcpy(map_->data().data() + offset, slot.data(), slot.size());
  return map_->publish(offset, offset + slot.size());
}

Status RecoveryPointFile::sync() {
  return core::guard([&]() -> Status {
    if (!dirty_) return ok_status();
    KAYA_RETURN_IF_ERROR(disk_.fsync_file(log_dir::recovery_point()));
    dirty_ = false;
    // The slot just synced holds the durable value: later writes go to the other one.
    write_slot_ = (write_slot_ + 1) % rf::kSlots;
    return ok_status();
  });
}

}  // namespace kaya::wal
