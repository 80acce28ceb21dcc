#include "kaya/core/crc32c.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crc32c_internal.h"
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

using crc32c::internal::Path;

// Every path this CPU runs, called directly.
std::vector<Path> available_paths() {
  std::vector<Path> paths;
  for (Path p : {Path::kPortable, Path::kSse42, Path::kSse42Clmul}) {
    if (crc32c::internal::available(p)) paths.push_back(p);
  }
  return paths;
}

std::vector<Impl> all_impls() {
  std::vector<Impl> impls = {
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
  for (Path p : available_paths()) {
    impls.push_back(
        {crc32c::internal::to_string(p), [p](uint32_t crc, std::span<const uint8_t> d) {
           return crc32c::internal::extend_with(p, crc, d);
         }});
  }
  return impls;
}

// Says once per test which paths were skipped: a CPU without them tests less.
void note_missing_paths() {
  for (Path p : {Path::kSse42, Path::kSse42Clmul}) {
    if (!crc32c::internal::available(p)) {
      std::printf("[   NOTE   ] this CPU lacks the %s path: not tested here.\n",
                  crc32c::internal::to_string(p));
    }
  }
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

// The register (the value between the inversions) after `reg` and n zero bytes, the
// slow way: what moving a register ahead must equal.
uint32_t register_after_zeros(uint32_t reg, size_t n) {
  const std::vector<uint8_t> zeros(n, 0);
  return crc32c::extend_portable(reg ^ 0xFFFFFFFFu, zeros) ^ 0xFFFFFFFFu;
}

// The constants that join the multi-stream path's streams, checked on any CPU (the
// bit-by-bit shift), and the carry-less multiply that uses them where the CPU has it.
TEST(Crc32cTest, ShiftConstantsMoveARegisterOverZeros) {
  namespace in = crc32c::internal;
  const bool clmul = in::available(Path::kSse42Clmul);
  std::mt19937_64 rng(testing::seed_from_env(0x73686966));
  std::vector<size_t> words = {1, 2, 3, 4, 7, 8, 85, 255, 256, 257, 511, 512, 1000};
  for (size_t w = in::kMaxShiftWords - 3; w <= in::kMaxShiftWords; ++w)
    words.push_back(w);
  for (size_t w : words) {
    for (uint32_t reg : {1u, 0x80000000u, 0xFFFFFFFFu, static_cast<uint32_t>(rng())}) {
      SCOPED_TRACE("words " + std::to_string(w) + " register " + std::to_string(reg));
      const uint32_t expected = register_after_zeros(reg, 8 * w);
      EXPECT_EQ(in::shift_portable(reg, w), expected);
      if (clmul) {
        EXPECT_EQ(in::shift_clmul(reg, w), expected);
      }
    }
  }
  // The first constant is x^31 (bit 0), as derived in crc32c_internal.h.
  EXPECT_EQ(in::kShiftConstants[1], 1u);
}

// Lengths that reach every part of every path: each tail shape of the single stream,
// the multi-stream threshold, one round of every size up to the widest, several
// rounds, and what is left after them.
std::vector<size_t> lengths_to_check(std::mt19937_64& rng, size_t max_len) {
  namespace in = crc32c::internal;
  constexpr size_t kMin = in::kStreams * in::kMinStreamWords * 8;
  constexpr size_t kRound = in::kStreams * in::kMaxStreamWords * 8;
  std::vector<size_t> lengths;
  for (size_t len = 0; len <= kMin + 64; ++len) lengths.push_back(len);
  for (size_t len :
       {size_t{1023}, size_t{1024}, size_t{1025}, size_t{4056}, size_t{4095},
        size_t{4096}, size_t{4097}, kRound - 1, kRound, kRound + 1, kRound + kMin - 1,
        kRound + kMin, 2 * kRound + 47, 3 * kRound, max_len}) {
    lengths.push_back(len);
  }
  for (size_t words = in::kMinStreamWords; words <= in::kMaxStreamWords; words += 13) {
    lengths.push_back(in::kStreams * words * 8 + words % 56);  // every rest shape
  }
  std::uniform_int_distribution<size_t> random_len(0, max_len);
  for (int i = 0; i < 60; ++i) lengths.push_back(random_len(rng));
  return lengths;
}

TEST(Crc32cTest, EveryPathMatchesPortableOnRandomBuffers) {
  note_missing_paths();
  const uint64_t seed = testing::seed_from_env(0x6b617961);
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (replay with KAYA_SEED=" + std::to_string(seed) + ")");
  std::mt19937_64 rng(seed);
  constexpr size_t kMaxOffset = 15;
  constexpr size_t kMaxLen = 100000;
  std::vector<uint8_t> buf(kMaxOffset + kMaxLen);
  for (uint8_t& b : buf) b = static_cast<uint8_t>(rng());

  std::uniform_int_distribution<uint32_t> random_crc;
  for (size_t len : lengths_to_check(rng, kMaxLen)) {
    // Every misalignment for the short ones, a few for the long ones.
    const size_t offsets = len <= 8192 ? kMaxOffset : 3;
    for (size_t offset = 0; offset <= offsets; ++offset) {
      const std::span<const uint8_t> data(buf.data() + offset, len);
      const uint32_t start = random_crc(rng);
      const uint32_t portable = crc32c::extend_portable(start, data);
      for (Path p : available_paths()) {
        ASSERT_EQ(crc32c::internal::extend_with(p, start, data), portable)
            << crc32c::internal::to_string(p) << ": len " << len << " offset " << offset
            << " start crc " << start;
      }
      ASSERT_EQ(crc32c::extend(start, data), portable)
          << "len " << len << " offset " << offset << " start crc " << start;
      ASSERT_EQ(crc32c::extend_hardware(start, data), portable)
          << "len " << len << " offset " << offset << " start crc " << start;
    }
  }
}

// A buffer checksummed in pieces through one path, each piece continuing the CRC of
// the ones before, gives the CRC of the whole, whatever the cuts.
TEST(Crc32cTest, EveryPathContinuesAcrossCuts) {
  const uint64_t seed = testing::seed_from_env(0x63757473);
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (replay with KAYA_SEED=" + std::to_string(seed) + ")");
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> buf(40000);
  for (uint8_t& b : buf) b = static_cast<uint8_t>(rng());
  const uint32_t whole = crc32c::extend_portable(0, buf);
  std::uniform_int_distribution<size_t> cut_len(0, 5000);
  for (Path p : available_paths()) {
    SCOPED_TRACE(crc32c::internal::to_string(p));
    for (int round = 0; round < 20; ++round) {
      uint32_t crc = 0;
      for (size_t at = 0; at < buf.size();) {
        const size_t n = std::min(cut_len(rng), buf.size() - at);
        crc = crc32c::internal::extend_with(p, crc, std::span(buf).subspan(at, n));
        at += n;
      }
      ASSERT_EQ(crc, whole) << "round " << round;
    }
  }
}

// The choice of path: the fastest the CPU has, and has_hardware() agrees with it.
TEST(Crc32cTest, DispatchPicksTheFastestAvailablePath) {
  namespace in = crc32c::internal;
  const std::vector<Path> paths = available_paths();
  ASSERT_FALSE(paths.empty());
  EXPECT_EQ(paths.front(), Path::kPortable);
  EXPECT_EQ(in::best_path(), paths.back());
  EXPECT_EQ(crc32c::has_hardware(), in::available(Path::kSse42));
#if defined(__x86_64__)
  EXPECT_EQ(in::available(Path::kSse42Clmul),
            __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul"));
#else
  EXPECT_EQ(in::best_path(), Path::kPortable);
#endif
}

// The public choice of implementation (kaya/core/crc32c.h, what micro_bench times):
// each available one's function gives extend()'s values; an unavailable one has none.
TEST(Crc32cTest, PublicImplementationsMatchTheDispatch) {
  using crc32c::Implementation;
  EXPECT_EQ(crc32c::fastest_implementation(), crc32c::internal::best_path());
  EXPECT_EQ(crc32c::extend_function(Implementation::kPortable), crc32c::extend_portable);
  std::vector<uint8_t> buf(5000);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 7 + 3);
  for (Implementation i :
       {Implementation::kPortable, Implementation::kSse42, Implementation::kSse42Clmul}) {
    SCOPED_TRACE(crc32c::to_string(i));
    const crc32c::ExtendFunction fn = crc32c::extend_function(i);
    ASSERT_EQ(fn != nullptr, crc32c::available(i));
    if (fn == nullptr) continue;
    EXPECT_EQ(fn(0x12345678u, buf), crc32c::extend(0x12345678u, buf));
  }
  EXPECT_STREQ(crc32c::to_string(Implementation::kPortable), "portable");
  EXPECT_STREQ(crc32c::to_string(Implementation::kSse42), "sse4.2");
  EXPECT_STREQ(crc32c::to_string(Implementation::kSse42Clmul), "sse4.2+pclmul");
}

}  // namespace
}  // namespace kaya
