// Helpers of the tests that drive a Writer: the durability modes by short names, and
// opening a writer that fails the test when it cannot.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "kaya/io/disk.h"
#include "kaya/wal/writer.h"

namespace kaya::wal::testing {

inline constexpr auto kStrict = DurabilityMode::kStrict;
inline constexpr auto kRelaxed = DurabilityMode::kRelaxed;

// The writer, or nullptr after a failed expectation naming the error.
inline std::unique_ptr<Writer> open_or_die(const WalConfig& config, io::Disk& disk,
                                           const OpenOptions& options = {}) {
  auto w = Writer::open(config, disk, options);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return w.ok() ? std::move(w).value() : nullptr;
}

}  // namespace kaya::wal::testing
