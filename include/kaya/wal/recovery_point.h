/// @file
/// The recovery point: a small file beside the segments (wal/RECOVERY_POINT) that
/// records the highest position of the log known durable, so that recovery can tell a
/// torn write (beyond it) from damaged durable data (at or below it). Byte layout:
/// docs/format.md, "Recovery point".
///
/// The file holds two fixed-size slots, each in its own 512-byte sector with its own
/// CRC32C and a generation. Between two syncs of the file, updates go to one slot only
/// (the one not holding the last synced value), so a torn update never damages the
/// value a sync made durable: a reader takes the valid slot with the higher generation.
///
/// The writer updates the file off the commit path (after the appenders it covered are
/// woken), syncs it at rotation, close and at least every
/// WalConfig::recovery_point_sync_ms; docs/durability.md states the window this leaves.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "kaya/core/export.h"
#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/disk.h"
#include "kaya/wal/format.h"

namespace kaya::wal {

/// Where a record is: enough to find it again and check that it is the same record.
struct RecordPosition {
  Lsn lsn{0};                  ///< its LSN (0: no record)
  SequenceNumber sequence{0};  ///< its sequence number
  uint64_t segment_id = 0;     ///< the segment holding it
  uint64_t offset = 0;         ///< of its first byte in the segment
  uint32_t length = 0;         ///< encoded length (header + payload)
  uint32_t header_crc = 0;     ///< the header CRC stored in the record
  /// Offset just past the record.
  uint64_t end_offset() const { return offset + length; }
  /// Field by field.
  bool operator==(const RecordPosition&) const = default;
};

/// What the recovery point records (one slot's content).
struct KAYA_API RecoveryPoint {
  /// Incompatible features this library knows: a log whose recovery point sets another
  /// bit is refused with UnsupportedVersion.
  static constexpr uint64_t kKnownIncompatibleFeatures =
      rp_format::kTruncationPendingFeature | rp_format::kExtensionFeatures;

  uint64_t generation = 0;             ///< grows by one per update
  uint16_t format_version = 1;         ///< record format version of the log
  uint64_t incompatible_features = 0;  ///< bits a reader must know to read the log
  uint64_t max_record_bytes = 0;       ///< the writer's record limit
  /// The last record known durable (lsn 0: none yet). Every byte of the log up to its
  /// end is durable: damage there is corruption, never a torn write.
  RecordPosition durable;
  /// The newest segment sealed by a rotation (0: none), its length and last LSN.
  /// Every segment up to it is complete.
  uint64_t sealed_segment_id = 0;
  uint64_t sealed_segment_bytes = 0;  ///< its length when it was sealed
  Lsn sealed_last_lsn{0};             ///< LSN of its last record
  /// Truncations started on the log (Writer::truncate_after): 0 for a log never
  /// truncated. Readers compare it with the one they opened with, so that records that
  /// reuse LSNs after a truncation are never delivered in silence.
  uint32_t truncation_epoch = 0;
  /// The latest truncation kept the records up to this LSN and removed the rest (0
  /// with truncation_epoch 0); the next record after it got this LSN + 1 ...
  Lsn truncated_after{0};
  /// ... and this sequence number (what a log the truncation left empty continues at).
  SequenceNumber truncation_next_sequence{0};

  /// True while the truncation of truncation_epoch is pending: the records above
  /// truncated_after may still be on disk and are not part of the log; the next
  /// recovery (Writer::open, recover()) removes them before it judges anything.
  bool truncation_pending() const {
    return (incompatible_features & rp_format::kTruncationPendingFeature) != 0;
  }
  /// The format extensions the log is opted into (rp_format::kExtensionFeatures bits;
  /// the same values as WalConfig::extensions).
  uint64_t extensions() const {
    return incompatible_features & rp_format::kExtensionFeatures;
  }
  /// Field by field.
  bool operator==(const RecoveryPoint&) const = default;
  /// "LSN 17 (segment 2 offset 4096, 57 bytes), sealed segment 1, generation 9".
  std::string to_string() const;
};

/// Encodes `point` into one slot (rp_format::kSlotBytes bytes).
KAYA_API void encode_slot(const RecoveryPoint& point, std::span<uint8_t> slot);

/// Decodes one slot. Corruption (naming `where`) for a slot that is not one (bad magic,
/// bad CRC, zeros); UnsupportedVersion for a slot layout newer than this library's.
KAYA_API Result<RecoveryPoint> decode_slot(std::span<const uint8_t> slot,
                                           std::string_view where);

/// Reads the recovery point under `disk`: nullopt when the file does not exist (a log
/// written before recovery points, or by another program). Corruption naming the file
/// when neither slot is valid or the file has the wrong size; UnsupportedVersion when
/// the log needs a newer library (slot layout, format version or an unknown
/// incompatible feature).
KAYA_API Result<std::optional<RecoveryPoint>> read_recovery_point(io::Disk& disk);

/// Creates the file holding `point` in both slots, durably: written to a temporary
/// file, synced, renamed over the final name, and the directory synced (a crash leaves
/// the old file, or none, or the new one; never a partial one).
KAYA_API Status create_recovery_point(io::Disk& disk, const RecoveryPoint& point);

/// Keeps the recovery point of one log up to date (the writer owns one). Not
/// thread-safe: the caller serialises calls.
class KAYA_API RecoveryPointFile {
 public:
  /// For a file create_recovery_point() just made with `current` in both slots. With
  /// `through_map` (honoured when disk.can_map()) write() stores the slot through a
  /// shared map of the file (Disk::map_for_write, made by the first write): a copy
  /// into the page cache, no system call. Otherwise, or when there is no memory for
  /// the map, it writes the slot with Disk::write_at.
  RecoveryPointFile(io::Disk& disk, const RecoveryPoint& current,
                    bool through_map = false);

  /// Writes `point` (its generation set to the next one) into the slot not holding
  /// the last synced value. Not durable until sync().
  Status write(RecoveryPoint point);
  /// Makes the last write() durable; later writes go to the other slot.
  Status sync();
  /// The last value written.
  const RecoveryPoint& last() const { return last_; }
  /// True when a write() happened since the last sync().
  bool dirty() const { return dirty_; }

 private:
  // Stores `slot` at `offset`: through map_ (making it first) or with a write.
  Status store(uint64_t offset, std::span<const uint8_t> slot);

  io::Disk& disk_;
  RecoveryPoint last_;
  size_t write_slot_;  // the slot write() uses until the next sync
  bool dirty_ = false;
  std::unique_ptr<io::WritableMap> map_;  // of the whole file, once made
  bool map_refused_;                      // no map wanted, or no memory for it
};

}  // namespace kaya::wal
