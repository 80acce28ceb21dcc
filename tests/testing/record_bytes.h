// Byte surgery on encoded records and files for the tests that damage or forge them:
// little-endian fields read and written in place, and a record's header checksum
// resealed after an edit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kaya::testing {

using Bytes = std::vector<uint8_t>;

// Writes the low `width` bytes of `v` at `offset`, least significant first.
void set_le(Bytes& b, size_t offset, uint64_t v, size_t width);
// Reads `width` bytes at `offset` as a little-endian number.
uint64_t get_le(const Bytes& b, size_t offset, size_t width);
// Recomputes the header checksum of the record at the start of `rec` (v1 format), so
// that an edit of its header reads as a record written that way.
void fix_header_crc(Bytes& rec);

}  // namespace kaya::testing
