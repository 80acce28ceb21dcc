// Helpers of the recovery point file tests (recovery_point_file_util.h).
#include "wal/recovery_point_file_util.h"

#include <span>

#include "kaya/core/crc32c.h"
#include "testing/test_util.h"

namespace kaya::wal {

void PrintTo(const RecoveryPoint& p, std::ostream* os) {
  *os << "{generation " << p.generation << ", format " << p.format_version
      << ", incompatible " << p.incompatible_features << ", max_record_bytes "
      << p.max_record_bytes << ", durable lsn " << p.durable.lsn.value() << " seq "
      << p.durable.sequence.value() << " segment " << p.durable.segment_id << " offset "
      << p.durable.offset << " length " << p.durable.length << " crc "
      << p.durable.header_crc << ", sealed " << p.sealed_segment_id << " bytes "
      << p.sealed_segment_bytes << " last lsn " << p.sealed_last_lsn.value() << "}";
}

namespace rp_file_testing {

void fix_crc(Bytes& slot) {
  set_le(slot, rf::kSlotCrcOffset,
         crc32c::value(std::span<const uint8_t>(slot).first(rf::kSlotCrcOffset)), 4);
}

RecoveryPoint sample(uint64_t generation) {
  RecoveryPoint p;
  p.generation = generation;
  p.max_record_bytes = 1 << 20;
  p.durable.lsn = Lsn(1001);
  p.durable.sequence = SequenceNumber(2002);
  p.durable.segment_id = 3;
  p.durable.offset = 4096;
  p.durable.length = 57;
  p.durable.header_crc = 0xDEADBEEF;
  p.sealed_segment_id = 2;
  p.sealed_segment_bytes = 65536;
  p.sealed_last_lsn = Lsn(999);
  return p;
}

Bytes encode(const RecoveryPoint& p) {
  Bytes slot(rf::kSlotBytes, 0xAA);
  encode_slot(p, slot);
  return slot;
}

Result<RecoveryPoint> decode(const Bytes& slot) { return decode_slot(slot, kWhere); }

Bytes file_of(const Bytes& slot0, const Bytes& slot1) {
  Bytes file(slot0);
  file.insert(file.end(), slot1.begin(), slot1.end());
  return file;
}

io::RelativePath rel(std::string_view path) {
  return io::RelativePath::parse(path).value();
}

void make_wal_dir(io::SimDisk& disk) {
  ASSERT_TRUE(disk.create_dir(kWal).ok());
  ASSERT_TRUE(disk.fsync_dir(io::RelativePath()).ok());
}

bool absent(io::SimDisk& disk, const io::RelativePath& path) {
  auto len = disk.file_len(path);
  return !len.ok() && len.error().kind() == ErrorKind::kNotFound;
}

Bytes file_bytes(io::SimDisk& disk) {
  auto len = disk.file_len(kFile);
  EXPECT_TRUE(len.ok()) << len.error().to_string();
  Bytes bytes(len.ok() ? *len : 0);
  auto n = io::read_full(disk, kFile, 0, bytes);
  EXPECT_TRUE(n.ok() && *n == bytes.size());
  return bytes;
}

Bytes slot_of(const Bytes& file, size_t i) {
  return Bytes(file.begin() + static_cast<ptrdiff_t>(i * rf::kSlotBytes),
               file.begin() + static_cast<ptrdiff_t>((i + 1) * rf::kSlotBytes));
}

}  // namespace rp_file_testing
}  // namespace kaya::wal
