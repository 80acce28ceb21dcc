/// @file
/// CRC32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final xor
/// 0xFFFFFFFF, unmasked. The check value of "123456789" is 0xE3069283.
///
/// The CPU is checked once, at start-up, and the fastest path it runs is used: on
/// x86-64 with SSE4.2 and PCLMULQDQ, interleaved streams of the crc32 instruction joined
/// by carry-less multiplication; with SSE4.2 alone, one stream of crc32; else a
/// portable table-driven (slicing-by-8) implementation. All give the same values.
/// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kaya/core/export.h"

/// CRC32C (Castagnoli), the checksum of every record.
namespace kaya::crc32c {

/// CRC32C of `data`.
KAYA_API uint32_t value(std::span<const uint8_t> data);

/// CRC32C of the concatenation A||data, given crc = value(A). extend(0, d) == value(d).
KAYA_API uint32_t extend(uint32_t crc, std::span<const uint8_t> data);

/// The portable implementation, on every CPU.
KAYA_API uint32_t extend_portable(uint32_t crc, std::span<const uint8_t> data);
/// The fastest path using the CPU's CRC instructions (the same as extend()); without
/// them (has_hardware() false) the portable code.
KAYA_API uint32_t extend_hardware(uint32_t crc, std::span<const uint8_t> data);
/// True when the CPU has the SSE4.2 crc32 instruction (checked once).
KAYA_API bool has_hardware();

/// The implementations extend() chooses from, slowest first (the values are ordered:
/// a CPU that runs one runs every slower one). For benchmarks and diagnostics; every
/// implementation gives the same values.
enum class Implementation : uint8_t {
  kPortable = 0,    ///< table-driven, slicing-by-8; on every CPU
  kSse42 = 1,       ///< one stream of the SSE4.2 crc32 instruction (x86-64)
  kSse42Clmul = 2,  ///< interleaved crc32 streams joined with PCLMULQDQ (x86-64)
};
/// "portable", "sse4.2" or "sse4.2+pclmul".
KAYA_API const char* to_string(Implementation implementation);
/// Whether this CPU runs `implementation` (checked once, at start-up).
KAYA_API bool available(Implementation implementation);
/// The fastest available implementation: the one extend() uses.
KAYA_API Implementation fastest_implementation();

/// A function with extend()'s contract.
using ExtendFunction = uint32_t (*)(uint32_t crc, std::span<const uint8_t> data);
/// extend() through `implementation` alone, or nullptr when this CPU cannot run it
/// (available() false).
KAYA_API ExtendFunction extend_function(Implementation implementation);

}  // namespace kaya::crc32c
