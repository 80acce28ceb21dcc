// The fastest CRC32C this machine has, for the benchmarks' baselines: ISA-L's
// crc32_iscsi when the benchmarks were built with it (Debian: libisal-dev, installed by
// scripts/install-deps.sh; the library itself never uses it), else kaya's own.
//
// ISA-L's crc32_iscsi(buf, len, init) works on the bare register: no inversion on the
// way in or out. kaya's extend(crc, data) inverts both, so
// extend(crc, data) == ~crc32_iscsi(data, len, ~crc), which is how it is called here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace kaya::bench {

// Whether ISA-L was built in.
bool isal_built_in();

// ISA-L's crc32_iscsi with kaya's meaning of `crc` (see above). Requires
// isal_built_in().
uint32_t isal_extend(uint32_t crc, std::span<const uint8_t> data);

// Checks that ISA-L and kaya give the same CRC32C on the check string and on buffers
// of many lengths, also continuing a CRC: "" when they agree (or ISA-L is not built
// in), else what differs.
std::string isal_disagreement();

// The CRC32C a baseline should use: the faster of kaya's dispatch and ISA-L (when
// built in and agreeing with kaya), timed here on `block_bytes` buffers (best of a few
// rounds of about 10 ms each).
struct Crc32cFn {
  std::string name;  // "ISA-L crc32_iscsi" or "kaya crc32c (<path>)"
  uint32_t (*extend)(uint32_t crc, std::span<const uint8_t> data);
  double gb_per_s = 0;  // as timed
};
Crc32cFn fastest_crc32c(size_t block_bytes);

}  // namespace kaya::bench
