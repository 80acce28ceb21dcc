#include "fastest_crc.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "kaya/core/crc32c.h"

#if defined(KAYA_BENCH_HAVE_ISAL)
#include <isa-l/crc.h>
#endif

namespace kaya::bench {

bool isal_built_in() {
#if defined(KAYA_BENCH_HAVE_ISAL)
  return true;
#else
  return false;
#endif
}

uint32_t isal_extend(uint32_t crc, std::span<const uint8_t> data) {
#if defined(KAYA_BENCH_HAVE_ISAL)
  // crc32_iscsi neither writes the buffer nor takes more than an int's length; the
  // benchmarks' buffers are far below that.
  return ~crc32_iscsi(const_cast<unsigned char*>(data.data()),
                      static_cast<int>(data.size()), ~crc);
#else
  return crc32c::extend(crc, data);
#endif
}

std::string isal_disagreement() {
  if (!isal_built_in()) return "";
  const std::string check = "123456789";
  const std::span<const uint8_t> check_bytes(
      reinterpret_cast<const uint8_t*>(check.data()), check.size());
  if (isal_extend(0, check_bytes) != 0xE3069283u) {
    return "ISA-L's CRC32C of \"123456789\" is not 0xE3069283";
  }
  std::vector<uint8_t> buf(70000);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 131 + 7);
  for (size_t len : {0, 1, 7, 8, 63, 64, 1000, 4056, 4096, 65536, 70000}) {
    const auto data = std::span<const uint8_t>(buf).first(len);
    for (uint32_t start : {0u, 0x12345678u}) {
      if (isal_extend(start, data) != crc32c::extend(start, data)) {
        return "ISA-L and kaya disagree on " + std::to_string(len) +
               " bytes continuing CRC " + std::to_string(start);
      }
    }
  }
  return "";
}

namespace {

// Bytes per second of `extend` over `buf`, the best of five rounds of ~10 ms.
double rate(uint32_t (*extend)(uint32_t, std::span<const uint8_t>),
            const std::vector<uint8_t>& buf) {
  using Clock = std::chrono::steady_clock;
  double best = 0;
  uint32_t crc = 0;
  for (int round = 0; round < 5; ++round) {
    const auto start = Clock::now();
    uint64_t bytes = 0;
    std::chrono::duration<double> spent{};
    while (spent.count() < 0.01) {
      for (int i = 0; i < 16; ++i) crc = extend(crc, buf);
      bytes += 16 * buf.size();
      spent = Clock::now() - start;
    }
    best = std::max(best, static_cast<double>(bytes) / spent.count());
  }
  volatile uint32_t sink = crc;  // keep the work
  (void)sink;
  return best;
}

}  // namespace

Crc32cFn fastest_crc32c(size_t block_bytes) {
  std::vector<uint8_t> buf(block_bytes);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 131 + 7);
  Crc32cFn best{std::string("kaya crc32c (") +
                    crc32c::to_string(crc32c::fastest_implementation()) + ")",
                crc32c::extend, rate(crc32c::extend, buf) / 1e9};
  if (isal_built_in() && isal_disagreement().empty()) {
    const double isal = rate(isal_extend, buf) / 1e9;
    if (isal > best.gb_per_s) best = {"ISA-L crc32_iscsi", isal_extend, isal};
  }
  return best;
}

}  // namespace kaya::bench
