// Encoding: a payload checked, laid out after its header, and sealed with its LSN,
// sequence number and header CRC (decoding: codec.cc).
#include <cassert>
#include <cstring>
#include <string>

#include "core/guard.h"
#include "kaya/core/crc32c.h"
#include "kaya/wal/codec.h"
#include "wal/codec_internal.h"
#include "wal/codec_shared.h"
#include "wal/endian.h"

namespace kaya::wal {
namespace {

using codec_detail::header_crc;
using codec_detail::num;
using format::kHeaderLen;

Status check_payload(const Payload& payload) {
  auto invalid = [&](std::string why) {
    return Error(
        ErrorKind::kInvalidArgument,
        "cannot encode " + std::string(to_string(payload.type)) + " record: " + why);
  };
  switch (payload.type) {
    case RecordType::kPut:
      break;
    case RecordType::kDelete:
      if (!payload.value.empty()) {
        return invalid("a Delete carries no value (got " + num(payload.value.size()) +
                       " bytes)");
      }
      break;
    case RecordType::kNoop:
      if (!payload.key.empty() || !payload.value.empty()) {
        return invalid("a Noop carries no key or value");
      }
      break;
    case RecordType::kBytes:
      if (!payload.key.empty()) {
        return invalid("a Bytes record has no key; pass the data as its value");
      }
      break;
    default:
      return Error(ErrorKind::kInvalidArgument,
                   "cannot encode record of unknown type " +
                       num(static_cast<uint16_t>(payload.type)));
  }
  // One check covers the key and value u32 fields too: each is smaller than the total.
  if (payload.payload_len() > format::kMaxPayloadLen) {
    return invalid("payload of " + num(payload.payload_len()) + " bytes (key " +
                   num(payload.key.size()) + ", value " + num(payload.value.size()) +
                   ") does not fit the u32 payload_len (max " +
                   num(format::kMaxPayloadLen) + ")");
  }
  return ok_status();
}

void copy_bytes(uint8_t* dst, std::string_view src) {
  if (!src.empty()) std::memcpy(dst, src.data(), src.size());
}

}  // namespace

uint64_t Payload::payload_len() const {
  switch (type) {
    case RecordType::kPut:
      return format::kPutFixedLen + key.size() + value.size();
    case RecordType::kDelete:
      return format::kDeleteFixedLen + key.size();
    case RecordType::kNoop:
      return 0;
    case RecordType::kBytes:
      return value.size();
  }
  return 0;
}

Status encode_unsealed(const Payload& payload, std::span<uint8_t> out) {
  KAYA_RETURN_IF_ERROR(check_payload(payload));
  const uint64_t payload_len = payload.payload_len();
  if (out.size() != kHeaderLen + payload_len) {
    return Error(ErrorKind::kInvalidArgument,
                 "encode buffer holds " + num(out.size()) + " bytes but the " +
                     std::string(to_string(payload.type)) + " record needs " +
                     num(kHeaderLen + payload_len));
  }
  uint8_t* h = out.data();
  uint8_t* p = h + kHeaderLen;
  switch (payload.type) {
    case RecordType::kPut:
      store_u32(p, static_cast<uint32_t>(payload.key.size()));
      store_u32(p + 4, static_cast<uint32_t>(payload.value.size()));
      copy_bytes(p + format::kPutFixedLen, payload.key);
      copy_bytes(p + format::kPutFixedLen + payload.key.size(), payload.value);
      break;
    case RecordType::kDelete:
      store_u32(p, static_cast<uint32_t>(payload.key.size()));
      copy_bytes(p + format::kDeleteFixedLen, payload.key);
      break;
    case RecordType::kNoop:
      break;
    case RecordType::kBytes:
      copy_bytes(p, payload.value);
      break;
  }
  store_u32(h + format::kMagicOffset, format::kMagic);
  store_u16(h + format::kVersionOffset, format::kVersion);
  store_u16(h + format::kHeaderLenOffset, static_cast<uint16_t>(kHeaderLen));
  store_u16(h + format::kFlagsOffset, format::kFlagsV1);
  store_u16(h + format::kTypeOffset, static_cast<uint16_t>(payload.type));
  store_u64(h + format::kLsnOffset, 0);
  store_u64(h + format::kSequenceOffset, 0);
  store_u32(h + format::kPayloadLenOffset, static_cast<uint32_t>(payload_len));
  store_u32(h + format::kHeaderCrcOffset, 0);
  store_u32(h + format::kPayloadCrcOffset, crc32c::value(out.subspan(kHeaderLen)));
  return ok_status();
}

void seal(std::span<uint8_t> record, Lsn lsn, SequenceNumber sequence) {
  assert(record.size() >= kHeaderLen);
  assert(load_u32(record.data() + format::kMagicOffset) == format::kMagic);
  assert(kHeaderLen + load_u32(record.data() + format::kPayloadLenOffset) ==
         record.size());
  uint8_t* h = record.data();
  store_u64(h + format::kLsnOffset, lsn.value());
  store_u64(h + format::kSequenceOffset, sequence.value());
  store_u32(h + format::kHeaderCrcOffset, header_crc(h));
}

Result<std::vector<uint8_t>> encode(const Payload& payload, Lsn lsn,
                                    SequenceNumber sequence) {
  return core::guard([&]() -> Result<std::vector<uint8_t>> {
    KAYA_RETURN_IF_ERROR(check_payload(payload));
    std::vector<uint8_t> out(payload.encoded_len());
    KAYA_RETURN_IF_ERROR(encode_unsealed(payload, out));
    seal(out, lsn, sequence);
    return out;
  });
}

void set_unsealed_flags(std::span<uint8_t> record, uint16_t flags) {
  assert(record.size() >= kHeaderLen && known_flags(flags));
  store_u16(record.data() + format::kFlagsOffset, flags);
}

}  // namespace kaya::wal
