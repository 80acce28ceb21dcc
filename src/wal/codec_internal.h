// What the codec offers the rest of the wal floor beyond its public API. Internal.
#pragma once

#include <cstdint>
#include <span>

namespace kaya::wal {

// Whether the 40 bytes at `header` can start a record decode() returns: the magic, a
// version 1 header (length, flags, a known type) and a header CRC that matches. Without
// building a Decoded, the cheap field checks before the CRC: the search for a valid
// record after damage asks it of every offset where the magic appears.
bool header_starts_record(const uint8_t* header);

// Whether decode() accepts `flags`: only defined bits (format::kKnownFlags), and the
// batch-continues bit only with the batches marker.
bool known_flags(uint16_t flags);

// Sets the flags of an encode_unsealed() record (before seal(), which covers them with
// the header CRC). `flags` must be known_flags().
void set_unsealed_flags(std::span<uint8_t> record, uint16_t flags);

}  // namespace kaya::wal
