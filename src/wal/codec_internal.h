// What the codec offers the rest of the wal floor beyond its public API. Internal.
#pragma once

#include <cstdint>

namespace kaya::wal {

// Whether the 40 bytes at `header` can start a record decode() returns: the magic, a
// version 1 header (length, flags, a known type) and a header CRC that matches. Without
// building a Decoded, the cheap field checks before the CRC: the search for a valid
// record after damage asks it of every offset where the magic appears.
bool header_starts_record(const uint8_t* header);

}  // namespace kaya::wal
