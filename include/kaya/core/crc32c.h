/// @file
/// CRC32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final xor
/// 0xFFFFFFFF, unmasked. The check value of "123456789" is 0xE3069283.
///
/// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time),
/// else a portable table-driven (slicing-by-8) implementation. Thread-safe.
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

/// The two implementations, exposed so that tests can check them against each other.
KAYA_API uint32_t extend_portable(uint32_t crc, std::span<const uint8_t> data);
/// Requires has_hardware(); otherwise falls back to the portable code.
KAYA_API uint32_t extend_hardware(uint32_t crc, std::span<const uint8_t> data);
/// True when the CPU has the SSE4.2 crc32 instruction (checked once).
KAYA_API bool has_hardware();

}  // namespace kaya::crc32c
