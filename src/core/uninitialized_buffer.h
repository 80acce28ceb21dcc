// UninitializedBuffer: a std::vector<uint8_t> whose resize() leaves new bytes
// uninitialized instead of zeroing them, for I/O buffers that a read fills before any
// byte is looked at (a reader's 1 MiB buffer, zeroed at every segment, was 1.5 % of a
// replay: `perf record kaya-wal recover DIR --dry-run --full`).
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace kaya::core {

// An allocator that value-initializes nothing: `construct(p)` with no arguments
// default-initializes (for uint8_t: leaves the byte as it is).
template <typename T>
class DefaultInitAllocator : public std::allocator<T> {
 public:
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <typename U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}

  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    std::allocator_traits<std::allocator<T>>::construct(
        static_cast<std::allocator<T>&>(*this), p, std::forward<Args>(args)...);
  }
};

using UninitializedBuffer = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;

}  // namespace kaya::core
