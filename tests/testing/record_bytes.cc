#include "testing/record_bytes.h"

#include "kaya/core/crc32c.h"
#include "kaya/wal/format.h"

namespace kaya::testing {

void set_le(Bytes& b, size_t offset, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) b[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_le(const Bytes& b, size_t offset, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= static_cast<uint64_t>(b[offset + i]) << (8 * i);
  return v;
}

void fix_header_crc(Bytes& rec) {
  Bytes header(rec.begin(), rec.begin() + wal::format::kHeaderLen);
  set_le(header, wal::format::kHeaderCrcOffset, 0, 4);
  set_le(rec, wal::format::kHeaderCrcOffset, crc32c::value(header), 4);
}

}  // namespace kaya::testing
