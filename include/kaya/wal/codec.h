/// @file
/// Record codec: encodes payloads into v1 records and decodes (and validates) them.
/// Pure functions over memory; no I/O. Layout: kaya/wal/format.h, docs/format.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kaya/core/export.h"
#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/wal/format.h"

namespace kaya::wal {

/// What a caller appends. A non-owning view: the bytes must stay valid for the call.
struct KAYA_API Payload {
  RecordType type = RecordType::kNoop;  ///< What the record is
  std::string_view key;                 ///< Put, Delete
  std::string_view value;               ///< Put: the value; Bytes: the opaque payload

  /// Put `key` = `value`. Either may be empty: the format allows a length of 0, and
  /// an empty key is a key like any other.
  static Payload put(std::string_view key, std::string_view value) {
    return {RecordType::kPut, key, value};
  }
  /// Delete `key` (which may be empty).
  static Payload del(std::string_view key) { return {RecordType::kDelete, key, {}}; }
  /// A record without content (it still takes an LSN and a sequence number).
  static Payload noop() { return {RecordType::kNoop, {}, {}}; }
  /// Opaque bytes chosen by the caller (format extension, docs/format.md).
  static Payload bytes(std::string_view data) { return {RecordType::kBytes, {}, data}; }

  /// Length of the encoded payload (without the 40-byte header).
  uint64_t payload_len() const;
  /// Length of the whole encoded record.
  uint64_t encoded_len() const { return format::kHeaderLen + payload_len(); }
};

/// A decoded record that owns its bytes.
struct KAYA_API Record {
  Lsn lsn;                              ///< Its position in the log
  SequenceNumber sequence;              ///< The engine's sequence number
  RecordType type = RecordType::kNoop;  ///< What the record is
  std::string key;                      ///< Put, Delete
  std::string value;                    ///< Put: the value; Bytes: the opaque payload

  /// A view of the record's content (valid while the record lives).
  Payload payload() const { return {type, key, value}; }
  /// Field by field.
  bool operator==(const Record&) const = default;
};

/// Encoding in two steps, so that the costly part (copying the payload and its CRC)
/// runs before the writer's lock and only the 40-byte header is sealed under it.
///
/// Fills `out` (exactly payload.encoded_len() bytes) with the header's fixed fields,
/// the payload and the payload CRC. InvalidArgument if the payload is malformed
/// (e.g. a key or value longer than a u32 can describe) or `out` has the wrong size.
KAYA_API Status encode_unsealed(const Payload& payload, std::span<uint8_t> out);
/// Writes lsn and sequence into an encode_unsealed() record and computes the header CRC.
KAYA_API void seal(std::span<uint8_t> record, Lsn lsn, SequenceNumber sequence);
/// Both steps into a new buffer.
KAYA_API Result<std::vector<uint8_t>> encode(const Payload& payload, Lsn lsn,
                                             SequenceNumber sequence);

/// What decode() found.
enum class DecodeOutcome {
  kRecord,      ///< a complete, valid record
  kIncomplete,  ///< the buffer ends inside a record (partial header or payload)
  kInvalid,     ///< these bytes are not a valid record
};

/// Why decode() did not return a record.
enum class DecodeProblem {
  kNone,                ///< a valid record
  kPartialHeader,       ///< incomplete: the buffer ends inside the header
  kPartialPayload,      ///< incomplete: the buffer ends inside the payload
  kBadMagic,            ///< the first four bytes are not format::kMagic
  kUnsupportedVersion,  ///< a version this library does not read
  kBadHeaderLength,     ///< header_len is not 40
  kUnknownFlags,        ///< flags other than 0
  kUnknownType,         ///< a record type this library does not know
  kOversizedPayload,    ///< larger than max_record_bytes allows
  kBadHeaderChecksum,   ///< the header CRC does not match
  kBadPayloadChecksum,  ///< the payload CRC does not match
  kMalformedPayload,    ///< the payload's lengths do not match payload_len
};
/// The problem in words, e.g. "partial header" ("none" for kNone).
KAYA_API std::string_view to_string(DecodeProblem problem);
/// True for the problems of a header that verified but that this library cannot read:
/// kUnsupportedVersion, kBadHeaderLength, kUnknownFlags, kUnknownType.
KAYA_API bool is_newer_format(DecodeProblem problem);

/// A decoded record whose key and value view the bytes it was decoded from: the same
/// fields as Record without a copy. lsn, sequence and type are values; key and value
/// are valid only as long as those bytes are (decode(): the buffer given to it; the
/// readers' next_view(): until the next call on that reader, kaya/wal/reader.h).
struct KAYA_API RecordView {
  Lsn lsn;                              ///< Its position in the log
  SequenceNumber sequence;              ///< The engine's sequence number
  RecordType type = RecordType::kNoop;  ///< What the record is
  std::string_view key;                 ///< Put, Delete
  std::string_view value;               ///< Put: the value; Bytes: the opaque payload

  /// The record's content, viewing the same bytes as key and value.
  Payload payload() const { return {type, key, value}; }
  /// A copy that owns its bytes (allocates the key and the value; may throw
  /// std::bad_alloc).
  Record to_record() const;
};

/// What decode() found at one offset.
struct KAYA_API Decoded {
  DecodeOutcome outcome = DecodeOutcome::kInvalid;  ///< Record, incomplete or invalid
  DecodeProblem problem = DecodeProblem::kNone;     ///< Why, unless a record
  /// Offset of the record's first byte (the `offset` given to decode()).
  uint64_t offset = 0;
  /// kRecord: the record's encoded length. kIncomplete: the length the record needs
  /// once its header is complete (kPartialPayload), else 0. kInvalid: the declared
  /// length when the header is intact (kBadPayloadChecksum, kMalformedPayload), else 0.
  uint64_t size = 0;
  /// kRecord: the record. kInvalid with an intact header (kBadPayloadChecksum,
  /// kMalformedPayload): lsn, sequence and type from that header, no key or value.
  RecordView record;
  std::string detail;  ///< kIncomplete / kInvalid: what exactly is wrong
  /// The 40-byte header passed its CRC: its fields are what a writer wrote (a record,
  /// kPartialPayload, and every kInvalid problem but kBadMagic and kBadHeaderChecksum).
  /// record.lsn and record.sequence are then set from it.
  bool header_verified = false;
  /// The header CRC stored in the record (set when header_verified).
  uint32_t header_crc = 0;
  /// kRecord: the record's flags (0 in a v1 log; the extension markers and the
  /// batch-continues bit of format.h otherwise).
  uint16_t flags = 0;

  /// True for a complete, valid record.
  bool ok() const { return outcome == DecodeOutcome::kRecord; }
  /// The problem as an Error naming `where` (e.g. the segment path) and the offset.
  /// Kind: UnsupportedVersion when the header verified but names a version, header
  /// length, flags or type this library does not know (written by a newer format);
  /// InvalidArgument for kOversizedPayload (a record larger than the limit given to
  /// decode(): raise max_record_bytes); else Corruption.
  Error to_error(std::string_view where) const;
};

/// Decodes the record at the start of `buf`, which sits at `offset` in its segment.
/// Checks, in order: magic, header CRC, version, header length, flags, type, payload
/// length (> max_record_bytes - 40 is kOversizedPayload, decided before any payload
/// is read or allocated), payload CRC, payload shape. Never reads past `buf`.
KAYA_API Decoded decode(std::span<const uint8_t> buf, uint64_t offset,
                        uint64_t max_record_bytes);

/// Whether `head`, the first bytes of a file, can begin a kaya segment: its first four
/// bytes (or as many as it has; none is true) are those of a record's magic
/// (format::kMagic, "AYAK" in file order) or zeros (preallocated space). Pure. A file
/// that fails this and holds no valid record was never a segment, rather than one
/// whose first record was torn (`kaya-wal inspect FILE` and `dump FILE` refuse it).
KAYA_API bool may_begin_segment(std::span<const uint8_t> head);

}  // namespace kaya::wal
