// The portable CRC32C, the constants that join the multi-stream path's streams, and
// the choice of path (made once, at start-up). The x86-64 paths are in crc32c_x86.cc.
#include "kaya/core/crc32c.h"

#include <array>
#include <cassert>
#include <cstring>

#include "core/crc32c_internal.h"

namespace kaya::crc32c {
namespace internal {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected: bit i stands for x^(31 - i)

// A reflected value times x, mod P: the bit of x^31 (bit 0) becomes x^32, which P
// reduces.
constexpr uint32_t times_x(uint32_t v) { return (v >> 1) ^ ((v & 1) ? kPoly : 0); }

// tables[k][b]: the register after byte b followed by k zero bytes, i.e. b * x^(32 +
// 8k) mod P (slicing-by-8).
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int i = 0; i < 8; ++i) crc = times_x(crc);
    t[0][b] = crc;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    for (int k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  }
  return t;
}

constexpr Tables kTables = make_tables();

// A reflected value times x^8, mod P: the low byte (x^31..x^24) leaves the word and
// comes back reduced through the table (t[0][b] = b * x^8 mod P, for b's 8 bits).
constexpr uint32_t times_x8(uint32_t v) { return (v >> 8) ^ kTables[0][v & 0xFF]; }

// kShiftConstants[w] = x^(64w - 33) mod P: x^31 (bit 0) for one word, then x^64 more
// (eight times x^8) for each further word. Byte steps keep the compile-time work small
// (a few thousand table look-ups).
constexpr std::array<uint32_t, kMaxShiftWords + 1> make_shift_constants() {
  std::array<uint32_t, kMaxShiftWords + 1> k{};
  k[1] = 1u;  // x^31
  for (size_t w = 2; w <= kMaxShiftWords; ++w) {
    uint32_t v = k[w - 1];
    for (int i = 0; i < 8; ++i) v = times_x8(v);
    k[w] = v;
  }
  return k;
}

// Spot checks, each worked by hand from the definition: x^31 is bit 0; x^32 = P's
// low terms, i.e. the polynomial itself; x^33 = x^32 * x.
static_assert(times_x(1u) == kPoly);
static_assert(times_x8(1u << 7) == kPoly);  // x^24 * x^8
static_assert(make_shift_constants()[1] == 1u);

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;  // kaya targets little-endian machines (checked in format tests)
}

bool cpu_has(Path path) {
#if defined(__x86_64__)
  __builtin_cpu_init();  // may run before the constructor that would call it
  switch (path) {
    case Path::kPortable:
      return true;
    case Path::kSse42:
      return __builtin_cpu_supports("sse4.2");
    case Path::kSse42Clmul:
      return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul");
  }
  return false;
#else
  return path == Path::kPortable;
#endif
}

Path detect_best() {
  for (Path p : {Path::kSse42Clmul, Path::kSse42}) {
    if (cpu_has(p)) return p;
  }
  return Path::kPortable;
}

// a * b mod P for reflected a and b, bit by bit: Horner over a's terms, x^31 (bit 0)
// first.
uint32_t multiply_mod(uint32_t a, uint32_t b) {
  uint32_t r = 0;
  for (int i = 0; i < 32; ++i) {
    r = times_x(r);
    if ((a >> i) & 1) r ^= b;
  }
  return r;
}

// Zero (kPortable) until set during start-up: a CRC computed by another file's static
// initialiser before that is still right, only slower.
const Path kBest = detect_best();

}  // namespace

constexpr std::array<uint32_t, kMaxShiftWords + 1> kShiftConstants =
    make_shift_constants();

uint32_t extend_with(Path path, uint32_t crc, std::span<const uint8_t> data) {
  switch (path) {
    case Path::kSse42Clmul:
      return extend_sse42_clmul(crc, data);
    case Path::kSse42:
      return extend_sse42(crc, data);
    case Path::kPortable:
      break;
  }
  return extend_portable(crc, data);
}

uint32_t shift_portable(uint32_t reg, size_t words) {
  assert(words >= 1 && words <= kMaxShiftWords);
  uint32_t x33 = 1u << 31;  // x^0
  for (int i = 0; i < 33; ++i) x33 = times_x(x33);
  return multiply_mod(multiply_mod(reg, kShiftConstants[words]), x33);
}

}  // namespace internal

using internal::kTables;
using internal::load_le64;

const char* to_string(Implementation implementation) {
  switch (implementation) {
    case Implementation::kPortable:
      return "portable";
    case Implementation::kSse42:
      return "sse4.2";
    case Implementation::kSse42Clmul:
      return "sse4.2+pclmul";
  }
  return "unknown";
}

bool available(Implementation implementation) {
  return implementation <= internal::kBest;
}

Implementation fastest_implementation() { return internal::kBest; }

ExtendFunction extend_function(Implementation implementation) {
  if (!available(implementation)) return nullptr;
  switch (implementation) {
    case Implementation::kSse42Clmul:
      return internal::extend_sse42_clmul;
    case Implementation::kSse42:
      return internal::extend_sse42;
    case Implementation::kPortable:
      break;
  }
  return extend_portable;
}

bool has_hardware() { return internal::available(internal::Path::kSse42); }

uint32_t extend_portable(uint32_t crc, std::span<const uint8_t> data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint32_t c = crc ^ 0xFFFFFFFFu;
  while (n >= 8) {
    uint64_t v = load_le64(p) ^ c;
    c = kTables[7][v & 0xFF] ^ kTables[6][(v >> 8) & 0xFF] ^
        kTables[5][(v >> 16) & 0xFF] ^ kTables[4][(v >> 24) & 0xFF] ^
        kTables[3][(v >> 32) & 0xFF] ^ kTables[2][(v >> 40) & 0xFF] ^
        kTables[1][(v >> 48) & 0xFF] ^ kTables[0][(v >> 56) & 0xFF];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFF];
    --n;
  }
  return c ^ 0xFFFFFFFFu;
}

uint32_t extend_hardware(uint32_t crc, std::span<const uint8_t> data) {
  return internal::extend_with(internal::best_path(), crc, data);
}

uint32_t extend(uint32_t crc, std::span<const uint8_t> data) {
  return internal::extend_with(internal::best_path(), crc, data);
}

uint32_t value(std::span<const uint8_t> data) { return extend(0, data); }

}  // namespace kaya::crc32c
