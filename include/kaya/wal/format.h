/// @file
/// Every on-disk constant of the kaya log, in one place. The byte diagram and the
/// rules for extensions are in docs/format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kaya/core/export.h"

namespace kaya::wal {

/// Record types. 1-3 are KayaDB's v1 types; 4 is kaya's extension (docs/format.md).
enum class RecordType : uint16_t {
  kPut = 1,     ///< payload: key_len u32, value_len u32, key, value
  kDelete = 2,  ///< payload: key_len u32, key
  kNoop = 3,    ///< payload: empty
  kBytes = 4,   ///< extension: payload is opaque bytes chosen by the caller
};
/// "put", "delete", "noop" or "bytes".
KAYA_API std::string_view to_string(RecordType type);
/// True when `raw` is a RecordType value this version knows.
KAYA_API bool is_known_record_type(uint16_t raw);

/// The record format version of the library linked at run time (format::kVersion when
/// it was built): what it writes and the newest it reads.
KAYA_API uint16_t format_version();

/// The on-disk format: every constant, in one place (docs/format.md).
namespace format {

// Record header v1: 40 bytes, all integers little-endian.
inline constexpr uint32_t kMagic =
    0x4B415941;                           ///< First field of a record; "AYAK" on disk
inline constexpr uint16_t kVersion = 1;   ///< Record format version written
inline constexpr size_t kHeaderLen = 40;  ///< Bytes of a record header
inline constexpr uint16_t kFlagsV1 = 0;   ///< the flags of a v1 record: none
/// Flag: more records of this atomic batch follow (every record of a batch but its
/// last); only with kFlagLogBatches.
inline constexpr uint16_t kFlagBatchContinues = 0x1;
/// Flag, the marker of a log opted into Bytes records: on every record such a log's
/// writer writes after the opt-in (the recovery point's kBytesFeature).
inline constexpr uint16_t kFlagLogBytes = 0x2;
/// Flag, the marker of a log opted into atomic batches (the recovery point's
/// kBatchesFeature).
inline constexpr uint16_t kFlagLogBatches = 0x4;
/// The marker flags: a log's extension set, copied into its records.
inline constexpr uint16_t kExtensionMarkerFlags = kFlagLogBytes | kFlagLogBatches;
/// Every flag this format defines; any other bit is unknown flags.
inline constexpr uint16_t kKnownFlags = kFlagBatchContinues | kExtensionMarkerFlags;

inline constexpr size_t kMagicOffset = 0;        ///< u32
inline constexpr size_t kVersionOffset = 4;      ///< u16
inline constexpr size_t kHeaderLenOffset = 6;    ///< u16
inline constexpr size_t kFlagsOffset = 8;        ///< u16
inline constexpr size_t kTypeOffset = 10;        ///< u16
inline constexpr size_t kLsnOffset = 12;         ///< u64
inline constexpr size_t kSequenceOffset = 20;    ///< u64
inline constexpr size_t kPayloadLenOffset = 28;  ///< u32
inline constexpr size_t kHeaderCrcOffset = 32;   ///< u32, CRC32C of bytes 0..40 with
                                                 ///< these 4 bytes zeroed
inline constexpr size_t kPayloadCrcOffset = 36;  ///< u32, CRC32C of the payload

static_assert(kVersionOffset == kMagicOffset + 4);
static_assert(kHeaderLenOffset == kVersionOffset + 2);
static_assert(kFlagsOffset == kHeaderLenOffset + 2);
static_assert(kTypeOffset == kFlagsOffset + 2);
static_assert(kLsnOffset == kTypeOffset + 2);
static_assert(kSequenceOffset == kLsnOffset + 8);
static_assert(kPayloadLenOffset == kSequenceOffset + 8);
static_assert(kHeaderCrcOffset == kPayloadLenOffset + 4);
static_assert(kPayloadCrcOffset == kHeaderCrcOffset + 4);
static_assert(kHeaderLen == kPayloadCrcOffset + 4);

// Payload layouts.
inline constexpr size_t kPutFixedLen = 8;               ///< key_len u32 + value_len u32
inline constexpr size_t kDeleteFixedLen = 4;            ///< key_len u32
inline constexpr uint64_t kMaxPayloadLen = UINT32_MAX;  ///< payload_len is a u32

// Layout of a log under the Disk root.
inline constexpr std::string_view kSegmentDir = "wal";      ///< Directory of the segments
inline constexpr std::string_view kSegmentSuffix = ".wal";  ///< Segment file names end so
inline constexpr size_t kSegmentIdDigits = 16;              ///< lower-case hex
inline constexpr uint64_t kFirstSegmentId = 1;  ///< Id of a new log's first segment
/// Held (flock) by the one writer of the log.
inline constexpr std::string_view kLockFile = "wal/LOCK";

/// "wal/0000000000000001.wal" for id 1.
KAYA_API std::string segment_path(uint64_t segment_id);
/// "0000000000000001.wal" -> 1; nullopt for any other name.
KAYA_API std::optional<uint64_t> parse_segment_file_name(std::string_view name);

}  // namespace format

/// The recovery point's file (wal/RECOVERY_POINT), slot and layout constants
/// (docs/format.md, "Recovery point"; its API is kaya/wal/recovery_point.h).
namespace rp_format {
inline constexpr std::string_view kFile = "wal/RECOVERY_POINT";  ///< beside the segments
inline constexpr std::string_view kTempFile = "wal/RECOVERY_POINT.tmp";  ///< creation
inline constexpr uint32_t kMagic = 0x4B525054;             ///< "TPRK" on disk
inline constexpr uint16_t kSlotVersion = 1;                ///< layout of a slot
inline constexpr size_t kSlotBytes = 512;                  ///< one sector per slot
inline constexpr size_t kSlots = 2;                        ///< two alternating slots
inline constexpr size_t kFileBytes = kSlotBytes * kSlots;  ///< the whole file
inline constexpr size_t kSlotLen = 128;  ///< bytes of a slot in use (the rest is zero)
// Field offsets within a slot (little-endian).
inline constexpr size_t kMagicOffset = 0;                 ///< u32
inline constexpr size_t kSlotVersionOffset = 4;           ///< u16
inline constexpr size_t kSlotLenOffset = 6;               ///< u16
inline constexpr size_t kGenerationOffset = 8;            ///< u64
inline constexpr size_t kFormatVersionOffset = 16;        ///< u16 (+ 6 reserved bytes)
inline constexpr size_t kIncompatibleOffset = 24;         ///< u64
inline constexpr size_t kMaxRecordBytesOffset = 32;       ///< u64
inline constexpr size_t kDurableLsnOffset = 40;           ///< u64
inline constexpr size_t kDurableSequenceOffset = 48;      ///< u64
inline constexpr size_t kDurableSegmentOffset = 56;       ///< u64
inline constexpr size_t kDurableOffsetOffset = 64;        ///< u64
inline constexpr size_t kDurableLengthOffset = 72;        ///< u32
inline constexpr size_t kDurableHeaderCrcOffset = 76;     ///< u32
inline constexpr size_t kSealedSegmentOffset = 80;        ///< u64
inline constexpr size_t kSealedBytesOffset = 88;          ///< u64
inline constexpr size_t kSealedLastLsnOffset = 96;        ///< u64
inline constexpr size_t kTruncatedAfterOffset = 104;      ///< u64
inline constexpr size_t kTruncationSequenceOffset = 112;  ///< u64
inline constexpr size_t kTruncationEpochOffset = 120;     ///< u32
inline constexpr size_t kSlotCrcOffset = 124;             ///< u32, CRC32C of bytes 0..124
/// Incompatible feature bit: a truncation (Writer::truncate_after) is pending; a kaya
/// that does not know it must not read the log, whose records above the cut are gone.
inline constexpr uint64_t kTruncationPendingFeature = 1;
/// Incompatible feature bit: the log is opted into Bytes records (WalConfig::extensions,
/// docs/format.md "Extensions"); its records carry format::kFlagLogBytes.
inline constexpr uint64_t kBytesFeature = 0x2;
/// Incompatible feature bit: the log is opted into atomic batches; its records carry
/// format::kFlagLogBatches.
inline constexpr uint64_t kBatchesFeature = 0x4;
/// The extension bits: once set in a log's recovery point, never cleared.
inline constexpr uint64_t kExtensionFeatures = kBytesFeature | kBatchesFeature;
static_assert(kBytesFeature == format::kFlagLogBytes &&
              kBatchesFeature == format::kFlagLogBatches);
static_assert(kTruncationSequenceOffset == kTruncatedAfterOffset + 8);
static_assert(kTruncationEpochOffset == kTruncationSequenceOffset + 8);
static_assert(kSlotCrcOffset == kTruncationEpochOffset + 4);
static_assert(kSlotCrcOffset + 4 == kSlotLen);
static_assert(kSlotLen <= kSlotBytes);
}  // namespace rp_format
}  // namespace kaya::wal
