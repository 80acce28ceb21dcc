// Little-endian loads and stores for the on-disk format. Internal to kaya.
//
// memcpy keeps the accesses free of alignment and aliasing problems (records sit at
// arbitrary offsets in a buffer); compilers turn it into single moves.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace kaya::wal {

namespace endian_internal {

template <typename T>
constexpr T to_little(T v) {
  if constexpr (std::endian::native == std::endian::little || sizeof(T) == 1) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return __builtin_bswap16(v);
  } else if constexpr (sizeof(T) == 4) {
    return __builtin_bswap32(v);
  } else {
    static_assert(sizeof(T) == 8);
    return __builtin_bswap64(v);
  }
}

template <typename T>
inline T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return to_little(v);  // the swap is its own inverse
}

template <typename T>
inline void store(uint8_t* p, T v) {
  v = to_little(v);
  std::memcpy(p, &v, sizeof(v));
}

}  // namespace endian_internal

inline uint16_t load_u16(const uint8_t* p) { return endian_internal::load<uint16_t>(p); }
inline uint32_t load_u32(const uint8_t* p) { return endian_internal::load<uint32_t>(p); }
inline uint64_t load_u64(const uint8_t* p) { return endian_internal::load<uint64_t>(p); }

inline void store_u16(uint8_t* p, uint16_t v) { endian_internal::store(p, v); }
inline void store_u32(uint8_t* p, uint32_t v) { endian_internal::store(p, v); }
inline void store_u64(uint8_t* p, uint64_t v) { endian_internal::store(p, v); }

}  // namespace kaya::wal
