#include "kaya/core/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "testing/test_util.h"

namespace kaya {
namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

using ExtendFn = std::function<uint32_t(uint32_t, std::span<const uint8_t>)>;

struct Impl {
  const char* name;
  ExtendFn extend;
};

std::vector<Impl> all_impls() {
  return {
      {"extend", crc32c::extend},
      {"extend_portable", crc32c::extend_portable},
      {"extend_hardware", crc32c::extend_hardware},
      {"value",
       [](uint32_t crc, std::span<const uint8_t> d) {
         // value() has no crc argument; only meaningful from the empty prefix.
         EXPECT_EQ(crc, 0u);
         return crc32c::value(d);
       }},
  };
}

TEST(Crc32cTest, CheckValue) {
  for (const Impl& impl : all_impls()) {
    SCOPED_TRACE(impl.name);
    EXPECT_EQ(impl.extend(0, bytes_of("123456789")), 0xE3069283u);
  }
}

TEST(Crc32cTest, EmptyInputIsZero) {
  for (const Impl& impl : all_impls()) {
    SCOPED_TRACE(impl.name);
    EXPECT_EQ(impl.extend(0, {}), 0u);
  }
  // Extending by nothing leaves any CRC unchanged.
  EXPECT_EQ(crc32c::extend(0x12345678u, {}), 0x12345678u);
  EXPECT_EQ(crc32c::extend_portable(0x12345678u, {}), 0x12345678u);
  EXPECT_EQ(crc32c::extend_hardware(0x12345678u, {}), 0x12345678u);
}

// Vectors from RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32cTest, KnownVectors) {
  std::vector<uint8_t> zeros(32, 0x00);
  std::vector<uint8_t> ones(32, 0xFF);
  std::vector<uint8_t> ascending(32);
  std::vector<uint8_t> descending(32);
  for (int i = 0; i < 32; ++i) {
    ascending[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    descending[static_cast<size_t>(i)] = static_cast<uint8_t>(31 - i);
  }
  for (const Impl& impl : all_impls()) {
    SCOPED_TRACE(impl.name);
    EXPECT_EQ(impl.extend(0, zeros), 0x8A9136AAu);
    EXPECT_EQ(impl.extend(0, ones), 0x62A8AB43u);
    EXPECT_EQ(impl.extend(0, ascending), 0x46DD794Eu);
    EXPECT_EQ(impl.extend(0, descending), 0x113FDB5Cu);
  }
}

TEST(Crc32cTest, DistinguishesSimilarInputs) {
  EXPECT_NE(crc32c::value(bytes_of("a")), crc32c::value(bytes_of("b")));
  EXPECT_NE(crc32c::value(bytes_of("foo")),
            crc32c::value(bytes_of(std::string_view("foo\0", 4))));
  EXPECT_NE(crc32c::value(bytes_of("ab")), crc32c::value(bytes_of("ba")));
}

TEST(Crc32cTest, ExtendComposes) {
  const std::string text =
      "The quick brown fox jumps over the lazy dog, then keeps running for a while.";
  const std::span<const uint8_t> all = bytes_of(text);
  const uint32_t whole = crc32c::value(all);
  for (size_t split = 0; split <= all.size(); ++split) {
    SCOPED_TRACE("split at " + std::to_string(split));
    const auto head = all.first(split);
    const auto tail = all.subspan(split);
    EXPECT_EQ(crc32c::extend(crc32c::value(head), tail), whole);
    EXPECT_EQ(crc32c::extend_portable(crc32c::extend_portable(0, head), tail), whole);
    EXPECT_EQ(crc32c::extend_hardware(crc32c::extend_hardware(0, head), tail), whole);
    // Mixing the implementations mid-stream gives the same result.
    EXPECT_EQ(crc32c::extend_hardware(crc32c::extend_portable(0, head), tail), whole);
  }
}

TEST(Crc32cTest, HardwareMatchesPortableOnRandomBuffers) {
  if (!crc32c::has_hardware()) {
    std::printf(
        "[   NOTE   ] CPU has no CRC32C instruction: extend_hardware falls back to the "
        "portable code, so this test only checks the fallback.\n");
  }
  const uint64_t seed = testing::seed_from_env(0x6b617961);
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (replay with KAYA_SEED=" + std::to_string(seed) + ")");
  std::mt19937_64 rng(seed);
  constexpr size_t kMaxOffset = 15;
  constexpr size_t kMaxLen = 5000;
  std::vector<uint8_t> buf(kMaxOffset + kMaxLen);
  for (uint8_t& b : buf) b = static_cast<uint8_t>(rng());

  std::vector<size_t> lengths;
  for (size_t len = 0; len <= 80; ++len) lengths.push_back(len);  // every tail shape
  for (size_t len : {127, 128, 129, 255, 256, 257, 1023, 1024, 1025, 4095, 4096, 4097}) {
    lengths.push_back(len);
  }
  std::uniform_int_distribution<size_t> random_len(0, kMaxLen);
  for (int i = 0; i < 100; ++i) lengths.push_back(random_len(rng));
  lengths.push_back(kMaxLen);

  std::uniform_int_distribution<uint32_t> random_crc;
  for (size_t len : lengths) {
    for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
      const std::span<const uint8_t> data(buf.data() + offset, len);
      const uint32_t start = random_crc(rng);
      const uint32_t portable = crc32c::extend_portable(start, data);
      const uint32_t hardware = crc32c::extend_hardware(start, data);
      ASSERT_EQ(hardware, portable)
          << "len " << len << " offset " << offset << " start crc " << start;
      ASSERT_EQ(crc32c::extend(start, data), portable)
          << "len " << len << " offset " << offset << " start crc " << start;
    }
  }
}

}  // namespace
}  // namespace kaya
