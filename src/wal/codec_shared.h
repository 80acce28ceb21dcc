// What the codec's two halves share: decoding (codec.cc) and encoding
// (codec_encode.cc). Internal to them.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "kaya/core/crc32c.h"
#include "kaya/wal/format.h"

namespace kaya::wal::codec_detail {

inline std::string num(uint64_t v) { return std::to_string(v); }

// The CRC field reads as zero while the header CRC is computed, so that the stored
// value covers every other header byte, the payload CRC included.
inline uint32_t header_crc(const uint8_t* header) {
  uint8_t copy[format::kHeaderLen];
  std::memcpy(copy, header, format::kHeaderLen);
  std::memset(copy + format::kHeaderCrcOffset, 0, 4);
  return crc32c::value(copy);
}

}  // namespace kaya::wal::codec_detail
