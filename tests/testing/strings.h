// String building for tests.
#pragma once

#include <string>
#include <string_view>

namespace kaya::testing {

// The concatenation of `parts` (strings, string views, C strings), built by appending:
// GCC 12 at -O2 and above misreports "literal" + std::string&& (an insert at the front
// of the temporary) as an overlapping memcpy (-Wrestrict).
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

}  // namespace kaya::testing
