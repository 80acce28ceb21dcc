// The CRC32C implementations one by one, for the dispatch in crc32c.cc, for tests that
// check them against each other and for the micro benchmarks. Internal.
//
// Every function here works on the CRC as the public API sees it (inverted before and
// after); the "register" is the value in between, on which the crc32 instruction and
// the shifts below work.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "kaya/core/crc32c.h"

namespace kaya::crc32c::internal {

// The implementations (kaya/core/crc32c.h), slowest first. kPortable exists everywhere;
// the others only on x86-64 CPUs with the instructions named.
using Path = Implementation;
using crc32c::available;
using crc32c::to_string;

// The fastest available path: what extend() uses.
inline Path best_path() { return fastest_implementation(); }

// extend() through `path`. Requires available(path).
uint32_t extend_with(Path path, uint32_t crc, std::span<const uint8_t> data);

// The x86-64 paths themselves (defined in crc32c_x86.cc); without x86-64 they are
// never available and must not be called.
uint32_t extend_sse42(uint32_t crc, std::span<const uint8_t> data);
uint32_t extend_sse42_clmul(uint32_t crc, std::span<const uint8_t> data);

// The multi-stream path: a buffer of at least kStreams * kMinStreamWords words is cut
// into kStreams consecutive chunks of `w` 8-byte words each (w <= kMaxStreamWords),
// whose register values are computed side by side and then joined (see
// kShiftConstants), as often as that fits; the rest (under kStreams * kMinStreamWords
// words, and under kStreams words after a buffer of at most kStreams *
// kMaxStreamWords words) and buffers too short for a round take one stream. Eight
// streams: the crc32 instruction has a latency of 3 cycles; Intel cores start one per
// cycle (three streams keep them busy), AMD Zen 5 two, and its loads keep up with more.
// On the Zen 5 this was tuned on (micro_bench, 4 KiB, GB/s): 4 streams 35, 6 streams 51,
// 8 streams 56 (ISA-L 54); 4 KiB per stream instead of 2 KiB was slower at 1 MiB.
inline constexpr size_t kStreams = 8;
inline constexpr size_t kMinStreamWords = 4;
inline constexpr size_t kMaxStreamWords = 256;  // 2 KiB per stream

// What moves a register value `words` 8-byte words ahead: x^(64 * words - 33) mod P,
// bit-reflected like the register, for 1 <= words <= kMaxShiftWords; index 0 is unused.
// Computed at compile time in crc32c.cc (make_shift_constants()).
//
// Why: a register value c of a chunk followed by n zero bytes becomes c * x^(8n) mod P
// (that is what feeding zeros to a CRC does), and the register of A||B is the register
// of A moved |B| bytes ahead, xor the register of B computed from 0 (the CRC is linear
// without the inversions). With reflected operands, the 64-bit carry-less product of c
// and k = x^(8n - 33) reads as c * k * x (each operand's bit i stands for x^(31 - i),
// the product's bit i for x^(62 - i), one less than a 64-bit reflected word's
// x^(63 - i)); the crc32 instruction on that word from register 0 multiplies by x^32
// and reduces: c * x^(8n) mod P.
inline constexpr size_t kMaxShiftWords = (kStreams - 1) * kMaxStreamWords;
extern const std::array<uint32_t, kMaxShiftWords + 1> kShiftConstants;

// A register value moved `words` words ahead as the multi-stream path does it
// (c * kShiftConstants[words] * x^33 mod P), computed bit by bit: for tests, which
// compare it with feeding 8 * words zero bytes.
uint32_t shift_portable(uint32_t reg, size_t words);
// The same with PCLMULQDQ and crc32, as the multi-stream path joins its streams.
// Requires available(Path::kSse42Clmul).
uint32_t shift_clmul(uint32_t reg, size_t words);

}  // namespace kaya::crc32c::internal
