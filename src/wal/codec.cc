// Decoding: the checks of a record in their documented order, and the decoder's
// problems as text and errors (encoding: codec_encode.cc).
#include "kaya/wal/codec.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "core/guard.h"
#include "kaya/core/crc32c.h"
#include "wal/codec_internal.h"
#include "wal/codec_shared.h"
#include "wal/endian.h"

namespace kaya::wal {
namespace {

using codec_detail::header_crc;
using codec_detail::num;
using format::kHeaderLen;

std::string hex(uint64_t v, int digits) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

struct Problem {
  DecodeProblem problem;
  std::string detail;
};

Decoded make_invalid(uint64_t offset, Problem p) {
  Decoded d;
  d.outcome = DecodeOutcome::kInvalid;
  d.problem = p.problem;
  d.offset = offset;
  d.detail = std::move(p.detail);
  return d;
}

Decoded make_partial_header(uint64_t offset, size_t have) {
  Decoded d;
  d.outcome = DecodeOutcome::kIncomplete;
  d.problem = DecodeProblem::kPartialHeader;
  d.offset = offset;
  d.detail =
      "buffer ends after " + num(have) + " of the " + num(kHeaderLen) + " header bytes";
  return d;
}

// The header checks after the magic, in the documented order. The header CRC comes
// first: only a header that verifies is trusted to say anything (a version, flags or a
// type this library does not know is then a record written by a newer format, to be
// refused, not damage); a header that does not verify is damage, whatever it says.
std::optional<Problem> check_header(const uint8_t* h, uint64_t max_record_bytes) {
  const uint32_t stored = load_u32(h + format::kHeaderCrcOffset);
  const uint32_t computed = header_crc(h);
  if (stored != computed) {
    return Problem{DecodeProblem::kBadHeaderChecksum, "bad header checksum: stored " +
                                                          hex(stored, 8) + ", computed " +
                                                          hex(computed, 8)};
  }
  const uint16_t version = load_u16(h + format::kVersionOffset);
  if (version != format::kVersion) {
    return Problem{DecodeProblem::kUnsupportedVersion,
                   "unsupported version " + num(version) + " (this kaya reads version " +
                       num(format::kVersion) +
                       "; the log was written by a newer format, read it with a kaya "
                       "that supports that version)"};
  }
  const uint16_t header_len = load_u16(h + format::kHeaderLenOffset);
  if (header_len != kHeaderLen) {
    return Problem{
        DecodeProblem::kBadHeaderLength,
        "bad header length " + num(header_len) + " (expected " + num(kHeaderLen) + ")"};
  }
  const uint16_t flags = load_u16(h + format::kFlagsOffset);
  if (!known_flags(flags)) {
    return Problem{DecodeProblem::kUnknownFlags,
                   "unknown flags " + hex(flags, 4) +
                       " (this kaya knows 0x0002 bytes log, 0x0004 batches log and "
                       "0x0001 batch continues, the last only with 0x0004)"};
  }
  const uint16_t type = load_u16(h + format::kTypeOffset);
  if (!is_known_record_type(type)) {
    return Problem{
        DecodeProblem::kUnknownType,
        "unknown type " + num(type) + " (known: 1 put, 2 delete, 3 noop, 4 bytes)"};
  }
  // Decided from the header alone, so that a damaged or hostile length never makes a
  // caller allocate or read up to 4 GiB.
  const uint32_t payload_len = load_u32(h + format::kPayloadLenOffset);
  const uint64_t limit =
      max_record_bytes > kHeaderLen ? max_record_bytes - kHeaderLen : 0;
  if (payload_len > limit) {
    return Problem{DecodeProblem::kOversizedPayload,
                   "payload_len " + num(payload_len) + " exceeds the limit of " +
                       num(limit) + " (max_record_bytes " + num(max_record_bytes) +
                       " - " + num(kHeaderLen) + "-byte header)"};
  }
  return std::nullopt;
}

std::string_view as_chars(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Splits a checksummed payload into key and value. Returns the detail when the
// lengths inside the payload disagree with payload_len.
std::optional<std::string> parse_payload(RecordType type,
                                         std::span<const uint8_t> payload,
                                         RecordView* view) {
  const uint64_t len = payload.size();
  switch (type) {
    case RecordType::kPut: {
      if (len < format::kPutFixedLen) {
        return "payload_len " + num(len) + " is shorter than the " +
               num(format::kPutFixedLen) + "-byte Put key_len/value_len prefix";
      }
      const uint64_t key_len = load_u32(payload.data());
      const uint64_t value_len = load_u32(payload.data() + 4);
      const uint64_t needed = format::kPutFixedLen + key_len + value_len;
      if (needed != len) {
        return "payload_len " + num(len) + " but Put key_len " + num(key_len) +
               " + value_len " + num(value_len) + " needs " + num(needed);
      }
      view->key = as_chars(payload.subspan(format::kPutFixedLen, key_len));
      view->value = as_chars(payload.subspan(format::kPutFixedLen + key_len));
      return std::nullopt;
    }
    case RecordType::kDelete: {
      if (len < format::kDeleteFixedLen) {
        return "payload_len " + num(len) + " is shorter than the " +
               num(format::kDeleteFixedLen) + "-byte Delete key_len prefix";
      }
      const uint64_t key_len = load_u32(payload.data());
      const uint64_t needed = format::kDeleteFixedLen + key_len;
      if (needed != len) {
        return "payload_len " + num(len) + " but Delete key_len " + num(key_len) +
               " needs " + num(needed);
      }
      view->key = as_chars(payload.subspan(format::kDeleteFixedLen));
      return std::nullopt;
    }
    case RecordType::kNoop:
      if (len != 0)
        return "payload_len " + num(len) + " but a Noop payload must be empty";
      return std::nullopt;
    case RecordType::kBytes:
      view->value = as_chars(payload);
      return std::nullopt;
  }
  // check_header() admitted only known types.
  return "record type " + num(static_cast<uint16_t>(type)) + " has no payload layout";
}

}  // namespace

std::string_view to_string(DecodeProblem problem) {
  switch (problem) {
    case DecodeProblem::kNone:
      return "none";
    case DecodeProblem::kPartialHeader:
      return "partial header";
    case DecodeProblem::kPartialPayload:
      return "partial payload";
    case DecodeProblem::kBadMagic:
      return "bad magic";
    case DecodeProblem::kUnsupportedVersion:
      return "unsupported version";
    case DecodeProblem::kBadHeaderLength:
      return "bad header length";
    case DecodeProblem::kUnknownFlags:
      return "unknown flags";
    case DecodeProblem::kUnknownType:
      return "unknown type";
    case DecodeProblem::kOversizedPayload:
      return "oversized payload";
    case DecodeProblem::kBadHeaderChecksum:
      return "bad header checksum";
    case DecodeProblem::kBadPayloadChecksum:
      return "bad payload checksum";
    case DecodeProblem::kMalformedPayload:
      return "malformed payload";
  }
  return "unknown problem";
}

bool is_newer_format(DecodeProblem problem) {
  return problem == DecodeProblem::kUnsupportedVersion ||
         problem == DecodeProblem::kBadHeaderLength ||
         problem == DecodeProblem::kUnknownFlags ||
         problem == DecodeProblem::kUnknownType;
}

Record RecordView::to_record() const {
  return Record{lsn, sequence, type, std::string(key), std::string(value)};
}

Error Decoded::to_error(std::string_view where) const {
  assert(!ok());
  const ErrorKind kind = is_newer_format(problem) ? ErrorKind::kUnsupportedVersion
                         : problem == DecodeProblem::kOversizedPayload
                             ? ErrorKind::kInvalidArgument
                             : ErrorKind::kCorruption;
  // Details usually open with the problem's name; others get it put in front.
  const std::string_view name = to_string(problem);
  std::string message(where);
  message += ": record at offset " + num(offset) + ": ";
  if (detail.empty()) {
    message += name;
  } else {
    if (!std::string_view(detail).starts_with(name)) message += std::string(name) + ": ";
    message += detail;
  }
  return Error(kind, std::move(message));
}

bool known_flags(uint16_t flags) {
  if ((flags & ~format::kKnownFlags) != 0) return false;
  return (flags & format::kFlagBatchContinues) == 0 ||
         (flags & format::kFlagLogBatches) != 0;
}

bool may_begin_segment(std::span<const uint8_t> head) {
  head = head.first(std::min(head.size(), sizeof(format::kMagic)));
  bool zeros = true;
  bool magic = true;
  for (size_t i = 0; i < head.size(); ++i) {
    zeros = zeros && head[i] == 0;
    magic = magic && head[i] == static_cast<uint8_t>(format::kMagic >> (8 * i));
  }
  return zeros || magic;
}

bool header_starts_record(const uint8_t* h) {
  // decode() returns a record only for a verified version 1 header: what fails these
  // checks is never one, whether its CRC matches (a newer format) or not (damage).
  return load_u32(h + format::kMagicOffset) == format::kMagic &&
         load_u16(h + format::kVersionOffset) == format::kVersion &&
         load_u16(h + format::kHeaderLenOffset) == kHeaderLen &&
         known_flags(load_u16(h + format::kFlagsOffset)) &&
         is_known_record_type(load_u16(h + format::kTypeOffset)) &&
         load_u32(h + format::kHeaderCrcOffset) == header_crc(h);
}

namespace {

// For a record whose header passed its checksum but whose payload did not: the
// header's length and numbers can be trusted and help locate the damage.
void set_intact_header(const uint8_t* h, uint64_t size, Decoded* d) {
  d->size = size;
  d->header_verified = true;
  d->header_crc = load_u32(h + format::kHeaderCrcOffset);
  d->record.lsn = Lsn(load_u64(h + format::kLsnOffset));
  d->record.sequence = SequenceNumber(load_u64(h + format::kSequenceOffset));
  d->record.type = static_cast<RecordType>(load_u16(h + format::kTypeOffset));
}

}  // namespace

Decoded decode(std::span<const uint8_t> buf, uint64_t offset, uint64_t max_record_bytes) {
  if (buf.size() < 4) return make_partial_header(offset, buf.size());
  // The magic is checked as soon as it is there: a short tail that does not even start
  // like a record is garbage, not a torn write.
  const uint32_t magic = load_u32(buf.data() + format::kMagicOffset);
  if (magic != format::kMagic) {
    return make_invalid(
        offset, {DecodeProblem::kBadMagic, "bad magic " + hex(magic, 8) + " (expected " +
                                               hex(format::kMagic, 8) + ")"});
  }
  if (buf.size() < kHeaderLen) return make_partial_header(offset, buf.size());
  const uint8_t* h = buf.data();
  if (auto problem = check_header(h, max_record_bytes)) {
    Decoded bad = make_invalid(offset, std::move(*problem));
    if (bad.problem != DecodeProblem::kBadHeaderChecksum) {
      // The header verified: its numbers are the writer's, and name the record.
      bad.header_verified = true;
      bad.header_crc = load_u32(h + format::kHeaderCrcOffset);
      bad.record.lsn = Lsn(load_u64(h + format::kLsnOffset));
      bad.record.sequence = SequenceNumber(load_u64(h + format::kSequenceOffset));
    }
    return bad;
  }

  const uint64_t payload_len = load_u32(h + format::kPayloadLenOffset);
  const uint64_t size = kHeaderLen + payload_len;
  if (buf.size() < size) {
    Decoded d;
    d.outcome = DecodeOutcome::kIncomplete;
    d.problem = DecodeProblem::kPartialPayload;
    d.header_verified = true;
    d.header_crc = load_u32(h + format::kHeaderCrcOffset);
    d.offset = offset;
    d.size = size;
    d.record.lsn = Lsn(load_u64(h + format::kLsnOffset));
    d.record.sequence = SequenceNumber(load_u64(h + format::kSequenceOffset));
    d.detail = "buffer ends after " + num(buf.size() - kHeaderLen) + " of the " +
               num(payload_len) + " payload bytes";
    return d;
  }
  const auto payload = buf.subspan(kHeaderLen, payload_len);
  const uint32_t stored = load_u32(h + format::kPayloadCrcOffset);
  const uint32_t computed = crc32c::value(payload);
  if (stored != computed) {
    Decoded bad = make_invalid(offset, {DecodeProblem::kBadPayloadChecksum,
                                        "bad payload checksum: stored " + hex(stored, 8) +
                                            ", computed " + hex(computed, 8)});
    set_intact_header(h, size, &bad);
    return bad;
  }

  Decoded d;
  d.record.lsn = Lsn(load_u64(h + format::kLsnOffset));
  d.record.sequence = SequenceNumber(load_u64(h + format::kSequenceOffset));
  d.record.type = static_cast<RecordType>(load_u16(h + format::kTypeOffset));
  if (auto malformed = parse_payload(d.record.type, payload, &d.record)) {
    Decoded bad =
        make_invalid(offset, {DecodeProblem::kMalformedPayload, std::move(*malformed)});
    set_intact_header(h, size, &bad);
    return bad;
  }
  d.outcome = DecodeOutcome::kRecord;
  d.flags = load_u16(h + format::kFlagsOffset);
  d.header_verified = true;
  d.header_crc = load_u32(h + format::kHeaderCrcOffset);
  d.offset = offset;
  d.size = size;
  return d;
}

}  // namespace kaya::wal
