// Runs the deterministic simulation over many seeds. KAYA_SEEDS=n sweeps n seeds
// (default 2000; 300 under ThreadSanitizer), KAYA_SEED=s starts at s; a failure prints
// its seed and how to replay it. KAYA_SIM_OPS sets the operations per seed;
// KAYA_SIM_RELEASE_ONLY_DURABLE=1 keeps releases at or below the durable point.
#include "sim/simulation.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "testing/test_util.h"

namespace kaya::sim {
namespace {

TEST(SimulationTest, EveryInvariantHoldsAcrossSeeds) {
  const uint64_t first = kaya::testing::seed_from_env(1);
  const uint64_t count = kaya::testing::sweep_seed_count(2000, 300);
  SimulationOptions options;
  if (const char* ops = std::getenv("KAYA_SIM_OPS")) {
    options.operations = std::strtoull(ops, nullptr, 10);
  }
  // KAYA_SIM_RELEASE_ONLY_DURABLE=1 keeps releases at or below the durable point.
  if (std::getenv("KAYA_SIM_RELEASE_ONLY_DURABLE"))
    options.release_beyond_durable = false;
  SimulationResult totals;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) +
                 " (replay: KAYA_SEED=" + std::to_string(seed) + " KAYA_SEEDS=1)");
    SimulationResult r = run_simulation(seed, options);
    totals.add(r);
    ASSERT_EQ(r.failure, "") << r.to_string();
  }
  std::printf("%s\n", totals.to_string().c_str());
  std::fflush(stdout);
  if (count >= 100) {
    EXPECT_GT(totals.crashes, 0u);
    EXPECT_GT(totals.bit_flips_injected, 0u);
    EXPECT_EQ(totals.bit_flips_injected, totals.bit_flips_detected);
    for (uint64_t f : totals.faults) EXPECT_GT(f, 0u);
  }
}

TEST(SimulationTest, ASeedReplaysExactly) {
  SimulationOptions options;
  const uint64_t seed = kaya::testing::seed_from_env(7);
  const SimulationResult a = run_simulation(seed, options);
  const SimulationResult b = run_simulation(seed, options);
  EXPECT_EQ(a.to_string(), b.to_string());
  EXPECT_EQ(a.failure, b.failure);
}

}  // namespace
}  // namespace kaya::sim
