// Short spellings for the Disk tests: P("wal/x") is the RelativePath of a text the test
// knows is valid, B(s) the bytes of a string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kaya/io/disk.h"

namespace kaya::testing {

inline io::RelativePath P(std::string_view text) {
  return *io::RelativePath::parse(text);
}

inline io::ByteView B(const std::string& s) {
  return io::ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace kaya::testing
