// The x86-64 CRC32C paths: one stream of the SSE4.2 crc32 instruction, and kStreams
// streams joined with PCLMULQDQ (crc32c_internal.h says how). Compiled for baseline
// x86-64: only these functions may use the instructions (target attributes), and
// crc32c.cc calls them only on a CPU that has them.
#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "core/crc32c_internal.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <wmmintrin.h>
#endif

namespace kaya::crc32c::internal {

#if defined(__x86_64__)
namespace {

#define KAYA_CRC_SSE42 __attribute__((target("sse4.2")))
#define KAYA_CRC_CLMUL __attribute__((target("sse4.2,pclmul")))

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;  // kaya targets little-endian machines (checked in format tests)
}

inline uint32_t load_le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// One stream over `n` bytes from register `c`: 8 bytes at a time, then 4, 2, 1 (the
// tail costs at most three more steps).
KAYA_CRC_SSE42 inline uint64_t one_stream(uint64_t c, const uint8_t* p, size_t n) {
  for (; n >= 8; p += 8, n -= 8) c = _mm_crc32_u64(c, load_le64(p));
  auto r = static_cast<uint32_t>(c);
  if (n >= 4) {
    r = _mm_crc32_u32(r, load_le32(p));
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t v;
    std::memcpy(&v, p, sizeof(v));
    r = _mm_crc32_u16(r, v);
    p += 2;
    n -= 2;
  }
  if (n > 0) r = _mm_crc32_u8(r, *p);
  return r;
}

// One word of every stream: stream j reads at p + j * stride.
template <size_t... J>
KAYA_CRC_SSE42 inline void step(uint64_t* s, const uint8_t* p, size_t stride,
                                std::index_sequence<J...>) {
  ((s[J] = _mm_crc32_u64(s[J], load_le64(p + J * stride))), ...);
}

// The carry-less product of the register value c and k, in the low 64 bits.
KAYA_CRC_CLMUL inline __m128i clmul(uint64_t c, uint32_t k) {
  return _mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<int64_t>(c)),
                              _mm_cvtsi32_si128(static_cast<int>(k)), 0);
}

// The 64-bit product reduced mod P (times x^32, which kShiftConstants allows for).
KAYA_CRC_CLMUL inline uint64_t reduce(__m128i product) {
  return _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(product)));
}

// The register after kStreams * words words from register `c`: the streams run side
// by side over consecutive chunks of `words` words, the first from `c`, the others
// from 0; then each but the last is moved ahead over the chunks after its own
// (c * x^(64 * words * chunks) mod P, kShiftConstants). The carry-less products are
// xored before the one crc32 that reduces them all: the reduction is linear.
// J runs over the first kStreams - 1 streams.
template <size_t... J>
KAYA_CRC_CLMUL inline uint64_t streams(uint64_t c, const uint8_t* p, size_t words,
                                       std::index_sequence<J...>) {
  assert(words >= kMinStreamWords && words <= kMaxStreamWords);
  static_assert(sizeof...(J) == kStreams - 1);
  uint64_t s[kStreams] = {c};
  const size_t stride = words * 8;
  for (size_t i = 0; i < stride; i += 8) {
    step(s, p + i, stride, std::make_index_sequence<kStreams>());
  }
  __m128i folded = _mm_setzero_si128();
  ((folded =
        _mm_xor_si128(folded, clmul(s[J], kShiftConstants[(kStreams - 1 - J) * words]))),
   ...);
  return s[kStreams - 1] ^ reduce(folded);
}

}  // namespace

KAYA_CRC_SSE42 uint32_t extend_sse42(uint32_t crc, std::span<const uint8_t> data) {
  return static_cast<uint32_t>(one_stream(crc ^ 0xFFFFFFFFu, data.data(), data.size())) ^
         0xFFFFFFFFu;
}

KAYA_CRC_CLMUL uint32_t extend_sse42_clmul(uint32_t crc, std::span<const uint8_t> data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint64_t c = crc ^ 0xFFFFFFFFu;
  constexpr size_t kMinBytes = kStreams * kMinStreamWords * 8;
  while (n >= kMinBytes) {
    // As long as possible (up to the table's limit), so that one round covers a
    // record and the single-stream rest stays short.
    const size_t words = std::min(kMaxStreamWords, n / (kStreams * 8));
    c = streams(c, p, words, std::make_index_sequence<kStreams - 1>());
    p += kStreams * words * 8;
    n -= kStreams * words * 8;
  }
  return static_cast<uint32_t>(one_stream(c, p, n)) ^ 0xFFFFFFFFu;
}

KAYA_CRC_CLMUL uint32_t shift_clmul(uint32_t reg, size_t words) {
  assert(words >= 1 && words <= kMaxShiftWords);
  return static_cast<uint32_t>(reduce(clmul(reg, kShiftConstants[words])));
}

#undef KAYA_CRC_SSE42
#undef KAYA_CRC_CLMUL

#else  // not x86-64: never available (crc32c.cc), never called

uint32_t extend_sse42(uint32_t crc, std::span<const uint8_t> data) {
  return extend_with(Path::kPortable, crc, data);
}
uint32_t extend_sse42_clmul(uint32_t crc, std::span<const uint8_t> data) {
  return extend_with(Path::kPortable, crc, data);
}
uint32_t shift_clmul(uint32_t reg, size_t words) { return shift_portable(reg, words); }

#endif

}  // namespace kaya::crc32c::internal
