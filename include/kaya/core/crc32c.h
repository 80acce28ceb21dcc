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

}  // namespace kaya::crc32c
