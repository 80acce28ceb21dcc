// SimDisk's kSectors persistence model (the storage fault model in sim_disk.h): which
// sectors and lengths a crash keeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>

#include "io/sim_disk_test_util.h"
#include "kaya/io/sim_disk.h"
#include "testing/strings.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using namespace sim_testing;  // NOLINT(google-build-using-namespace)

// ---- The kSectors model (the storage fault model in sim_disk.h) ----

constexpr uint64_t kSector = kSimDiskSectorBytes;

SimDiskOptions sectors(uint64_t seed) {
  SimDiskOptions options;
  options.seed = seed;
  options.persistence = CrashPersistence::kSectors;
  return options;
}

// text[begin, end), reading zeros past its end.
std::string padded(const std::string& text, uint64_t begin, uint64_t end) {
  std::string out(end - begin, '\0');
  if (begin < text.size()) {
    text.copy(out.data(), std::min<uint64_t>(end, text.size()) - begin, begin);
  }
  return out;
}

// What the model allows after a crash, for one file: its bytes at the last fsync_file,
// its bytes before the crash and the sectors written in between, kept the way the
// header describes (independently of SimDisk's own bookkeeping).
struct SectorOracle {
  std::string durable;
  std::string current;
  std::set<uint64_t> written;

  void mark(uint64_t begin, uint64_t end) {
    for (uint64_t s = begin / kSector; begin < end && s * kSector < end; ++s) {
      written.insert(s);
    }
  }
  void write(uint64_t offset, const std::string& bytes) {
    const uint64_t from = std::min<uint64_t>(offset, current.size());
    if (offset + bytes.size() > current.size()) current.resize(offset + bytes.size());
    current.replace(offset, bytes.size(), bytes);
    mark(from, offset + bytes.size());
  }
  void truncate(uint64_t len) {
    if (len > current.size()) mark(current.size(), len);
    current.resize(len);
  }
  void sync() {
    durable = current;
    written.clear();
  }

  // Why `after` is not a state a crash may leave; "" when it is one.
  std::string violation(const std::string& after) const {
    if (after.size() != durable.size() && after.size() != current.size()) {
      return "length " + std::to_string(after.size()) + " is neither the durable " +
             std::to_string(durable.size()) + " nor the current " +
             std::to_string(current.size());
    }
    for (uint64_t b = 0; b < after.size(); b += kSector) {
      const uint64_t e = std::min<uint64_t>(b + kSector, after.size());
      const std::string got = after.substr(b, e - b);
      const bool old = got == padded(durable, b, e);
      const bool now = got == padded(current, b, e);
      const uint64_t s = b / kSector;
      if (!old && !(written.contains(s) && now)) {
        return "sector " + std::to_string(s) +
               (written.contains(s) ? " is torn (neither old nor new)"
                                    : " was not written but changed");
      }
    }
    return "";
  }
};

// Random bytes, never zero, so that lost data (zeros) and old data stand out.
std::string random_bytes(std::mt19937_64& gen, uint64_t len) {
  std::string out(len, '\0');
  for (char& c : out) c = static_cast<char>(1 + gen() % 255);
  return out;
}

// One random history of file "f" on `disk` (its entry durable from the start), kept
// in `oracle`. With `keep_synced`, no operation touches bytes below the durable length
// (appends and writes past it only); otherwise writes, truncates and map stores land
// anywhere.
void random_history(SimDisk& disk, SectorOracle& oracle, uint64_t seed,
                    bool keep_synced) {
  std::mt19937_64 gen(seed * 0x9E3779B97F4A7C15ULL + 1);
  const RelativePath f = P("f");
  ASSERT_TRUE(disk.append(f, B("")).ok());
  ASSERT_TRUE(disk.fsync_dir(RelativePath()).ok());
  for (int op = 0; op < 40; ++op) {
    const uint64_t size = oracle.current.size();
    const uint64_t low = keep_synced ? oracle.durable.size() : 0;
    const std::string bytes = random_bytes(gen, 1 + gen() % 1300);
    switch (gen() % (keep_synced ? 4 : 5)) {
      case 0: {
        auto at = disk.append(f, B(bytes));
        ASSERT_TRUE(at.ok()) << at.error().to_string();
        oracle.write(size, bytes);
        break;
      }
      case 1: {
        const uint64_t at = low + gen() % (size - low + 700);
        ASSERT_TRUE(disk.write_at(f, at, B(bytes)).ok());
        oracle.write(at, bytes);
        break;
      }
      case 2: {
        ASSERT_TRUE(disk.fsync_file(f).ok());
        oracle.sync();
        break;
      }
      case 3: {
        // A window from within the file to past its end; one stretch stored and
        // published, one stored and never published.
        const uint64_t at = low + gen() % (size - low + 1);
        const uint64_t len = 1 + gen() % 1500;
        auto map = disk.map_for_write(f, at, len);
        ASSERT_TRUE(map.ok()) << map.error().to_string();
        oracle.truncate(std::max(size, at + len));
        const uint64_t begin = gen() % len;
        const uint64_t end = begin + 1 + gen() % (len - begin);
        const std::string stored = random_bytes(gen, end - begin);
        std::copy(stored.begin(), stored.end(), (*map)->data().begin() + begin);
        ASSERT_TRUE((*map)->publish(begin, end).ok());
        oracle.write(at + begin, stored);
        std::fill((*map)->data().begin(), (*map)->data().begin() + begin, 0xEE);
        break;
      }
      case 4: {
        const uint64_t len = gen() % (size + 700);
        ASSERT_TRUE(disk.truncate(f, len).ok());
        oracle.truncate(len);
        break;
      }
    }
    ASSERT_EQ(contents(disk, f), oracle.current) << "after operation " << op;
  }
}

TEST(SimDiskSectorsTest, SyncedBytesNeverChange) {
  const uint64_t base = kaya::testing::seed_from_env(1000);
  const uint64_t count = kaya::testing::seed_count_from_env(300);
  for (uint64_t seed = base; seed < base + count; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (KAYA_SEED to replay)");
    SimDisk disk(sectors(seed));
    SectorOracle oracle;
    random_history(disk, oracle, seed, /*keep_synced=*/true);
    if (HasFatalFailure()) return;
    disk.crash();
    const std::string after = contents(disk, P("f"));
    ASSERT_GE(after.size(), oracle.durable.size());
    ASSERT_EQ(after.substr(0, oracle.durable.size()), oracle.durable);
  }
}

TEST(SimDiskSectorsTest, EverySectorIsWhollyOldOrNew) {
  const uint64_t base = kaya::testing::seed_from_env(2000);
  const uint64_t count = kaya::testing::seed_count_from_env(300);
  uint64_t kept_new = 0;
  uint64_t kept_old = 0;
  for (uint64_t seed = base; seed < base + count; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (KAYA_SEED to replay)");
    SimDisk disk(sectors(seed));
    SectorOracle oracle;
    random_history(disk, oracle, seed, /*keep_synced=*/false);
    if (HasFatalFailure()) return;
    disk.crash();
    const std::string after = contents(disk, P("f"));
    ASSERT_EQ(oracle.violation(after), "");
    // Tally the sectors where old and new differ, to show both outcomes happen.
    for (uint64_t s : oracle.written) {
      const uint64_t b = s * kSector;
      if (b >= after.size()) continue;
      const uint64_t e = std::min<uint64_t>(b + kSector, after.size());
      const std::string got = after.substr(b, e - b);
      if (padded(oracle.durable, b, e) == padded(oracle.current, b, e)) continue;
      (got == padded(oracle.current, b, e) ? kept_new : kept_old) += 1;
    }
    // The crash made what it left durable, with nothing written since.
    EXPECT_EQ(*disk.durable_len(P("f")), after.size());
    oracle.current = oracle.durable = after;
    oracle.written.clear();
    disk.crash();
    ASSERT_EQ(contents(disk, P("f")), after) << "a second crash changed the file";
  }
  if (count >= 50) {  // a replay of one seed need not show both
    EXPECT_GT(kept_new, 0u) << "no written sector ever kept its new content";
    EXPECT_GT(kept_old, 0u) << "no written sector ever kept its old content";
  }
}

// Four synced sectors of 'a' rewritten with 'b' in one write: each sector comes back
// all 'a' or all 'b', independently, so a later one may persist while an earlier one
// is lost.
TEST(SimDiskSectorsTest, WrittenSectorsPersistIndependentlyLeavingHoles) {
  const uint64_t base = kaya::testing::seed_from_env(3000);
  std::set<std::string> patterns;
  bool hole = false;
  for (uint64_t seed = base; seed < base + 64; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (KAYA_SEED to replay)");
    SimDisk disk(sectors(seed));
    KAYA_ASSERT_OK(disk.append(P("f"), B(std::string(4 * kSector, 'a'))));
    KAYA_ASSERT_OK(disk.fsync_file(P("f")));
    KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    KAYA_ASSERT_OK(disk.write_at(P("f"), 0, B(std::string(4 * kSector, 'b'))));
    disk.crash();
    const std::string after = contents(disk, P("f"));
    ASSERT_EQ(after.size(), 4 * kSector);
    std::string pattern;
    for (uint64_t s = 0; s < 4; ++s) {
      const std::string sector = after.substr(s * kSector, kSector);
      ASSERT_TRUE(sector == std::string(kSector, 'a') ||
                  sector == std::string(kSector, 'b'))
          << "sector " << s << " is torn";
      pattern += sector[0];
    }
    patterns.insert(pattern);
    const size_t first_lost = pattern.find('a');
    hole = hole || (first_lost != std::string::npos &&
                    pattern.find('b', first_lost) != std::string::npos);
  }
  EXPECT_TRUE(patterns.contains("aaaa")) << "never lost everything";
  EXPECT_TRUE(patterns.contains("bbbb")) << "never kept everything";
  EXPECT_TRUE(hole) << "no seed kept a sector after a lost one";
  EXPECT_GT(patterns.size(), 4u);
}

// One synced sector, then two appended: the length may persist without the data, and
// an appended sector that did not persist reads as zeros, even ahead of one that did.
TEST(SimDiskSectorsTest, LengthCanPersistAheadOfDataAsZeros) {
  const uint64_t base = kaya::testing::seed_from_env(4000);
  const std::string synced(kSector, 's');
  const std::string appended = std::string(kSector, 'x') + std::string(kSector, 'y');
  std::set<uint64_t> lengths;
  bool zeros_within_length = false;
  bool hole_then_data = false;
  for (uint64_t seed = base; seed < base + 64; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (KAYA_SEED to replay)");
    SimDisk disk(sectors(seed));
    KAYA_ASSERT_OK(disk.append(P("f"), B(synced)));
    KAYA_ASSERT_OK(disk.fsync_file(P("f")));
    KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    KAYA_ASSERT_OK(disk.append(P("f"), B(appended)));
    disk.crash();
    const std::string after = contents(disk, P("f"));
    ASSERT_TRUE(after.size() == kSector || after.size() == 3 * kSector) << after.size();
    ASSERT_EQ(after.substr(0, kSector), synced);
    lengths.insert(after.size());
    if (after.size() == kSector) continue;
    const std::string zeros(kSector, '\0');
    const std::string first = after.substr(kSector, kSector);
    const std::string second = after.substr(2 * kSector, kSector);
    ASSERT_TRUE(first == zeros || first == appended.substr(0, kSector));
    ASSERT_TRUE(second == zeros || second == appended.substr(kSector));
    zeros_within_length = zeros_within_length || first == zeros || second == zeros;
    hole_then_data = hole_then_data || (first == zeros && second != zeros);
  }
  EXPECT_EQ(lengths, (std::set<uint64_t>{kSector, 3 * kSector}));
  EXPECT_TRUE(zeros_within_length) << "the length never ran ahead of the data";
  EXPECT_TRUE(hole_then_data) << "never a zero sector before a persisted one";
}

// One history replayed on disks seeded alike leaves the same bytes; another disk seed
// (same history) may leave others.
TEST(SimDiskSectorsTest, SameSeedSameResult) {
  const uint64_t base = kaya::testing::seed_from_env(5000);
  uint64_t differed = 0;
  for (uint64_t seed = base; seed < base + 16; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (KAYA_SEED to replay)");
    std::string after[3];
    for (uint64_t i = 0; i < 3; ++i) {
      SimDisk disk(sectors(i < 2 ? seed : seed + 1000));
      SectorOracle oracle;
      random_history(disk, oracle, seed, /*keep_synced=*/false);
      if (HasFatalFailure()) return;
      disk.crash();
      after[i] = contents(disk, P("f"));
    }
    EXPECT_EQ(after[0], after[1]) << "same seed, same history, different crash";
    differed += after[2] != after[0] ? 1 : 0;
  }
  EXPECT_GT(differed, 0u) << "the disk seed never mattered";
}

TEST(SimDiskSectorsTest, FileWhoseEntryWasNeverSyncedVanishes) {
  const uint64_t base = kaya::testing::seed_from_env(6000);
  for (uint64_t seed = base; seed < base + 16; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (KAYA_SEED to replay)");
    SimDisk disk(sectors(seed));
    KAYA_ASSERT_OK(disk.append(P("lost"), B(std::string(3 * kSector, 'l'))));
    KAYA_ASSERT_OK(disk.fsync_file(P("lost")));  // data durable, entry not
    // An entry made durable in a directory whose own entry is not.
    KAYA_ASSERT_OK(disk.create_dir(P("d")));
    KAYA_ASSERT_OK(disk.append(P("d/x"), B("xx")));
    KAYA_ASSERT_OK(disk.fsync_file(P("d/x")));
    KAYA_ASSERT_OK(disk.fsync_dir(P("d")));
    disk.crash();
    EXPECT_EQ(disk.file_len(P("lost")).error().kind(), ErrorKind::kNotFound);
    EXPECT_EQ(disk.list_dir(P("d")).error().kind(), ErrorKind::kNotFound);
    EXPECT_TRUE(disk.list_dir(RelativePath())->empty());
  }
}

// A store published through a map is a write: the same sectors become written, so the
// same seed leaves the same bytes as write_at. A store never published is lost.
TEST(SimDiskSectorsTest, MapPublishesBehaveLikeWriteAt) {
  const uint64_t base = kaya::testing::seed_from_env(7000);
  const std::string head(1000, 'h');
  const std::string middle(900, 'm');
  const std::string tail(100, 't');
  std::set<std::string> results;
  for (uint64_t seed = base; seed < base + 64; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (KAYA_SEED to replay)");
    std::string after[2];
    for (int mapped = 0; mapped < 2; ++mapped) {
      SimDisk disk(sectors(seed));
      KAYA_ASSERT_OK(disk.append(P("f"), B(head)));
      KAYA_ASSERT_OK(disk.fsync_file(P("f")));
      KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
      if (mapped == 1) {
        auto map = disk.map_for_write(P("f"), 0, 1600);
        KAYA_ASSERT_OK(map);
        std::span<uint8_t> data = (*map)->data();
        std::copy(middle.begin(), middle.end(), data.begin() + 200);
        KAYA_ASSERT_OK((*map)->publish(200, 1100));
        std::fill(data.begin() + 1100, data.begin() + 1500, 'u');  // never published
        std::copy(tail.begin(), tail.end(), data.begin() + 1500);
        KAYA_ASSERT_OK((*map)->publish(1500, 1600));
      } else {
        KAYA_ASSERT_OK(disk.write_at(P("f"), 200, B(middle)));
        KAYA_ASSERT_OK(disk.write_at(P("f"), 1500, B(tail)));
      }
      SectorOracle oracle;
      oracle.durable = head;
      oracle.current = contents(disk, P("f"));
      oracle.mark(200, 1600);
      disk.crash();
      after[mapped] = contents(disk, P("f"));
      EXPECT_EQ(oracle.violation(after[mapped]), "");
      EXPECT_EQ(after[mapped].find('u'), std::string::npos) << "an unpublished store";
    }
    EXPECT_EQ(after[0], after[1]) << "the map and write_at histories differ";
    results.insert(after[0]);
  }
  EXPECT_GT(results.size(), 4u);
}

TEST(SimDiskSectorsTest, FsyncMakesEverythingDurableAndFailedFsyncNothing) {
  const uint64_t base = kaya::testing::seed_from_env(8000);
  for (uint64_t seed = base; seed < base + 32; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (KAYA_SEED to replay)");
    SimDisk disk(sectors(seed));
    KAYA_ASSERT_OK(disk.append(P("f"), B(std::string(2 * kSector, 'a'))));
    KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    KAYA_ASSERT_OK(disk.fsync_file(P("f")));
    KAYA_ASSERT_OK(disk.write_at(P("f"), 0, B(std::string(3 * kSector, 'b'))));
    disk.fail_nth(FaultKind::kFsyncFailure, 1);
    ASSERT_FALSE(disk.fsync_file(P("f")).ok());
    KAYA_ASSERT_OK(disk.write_at(P("f"), kSector, B(std::string(kSector, 'c'))));
    KAYA_ASSERT_OK(disk.fsync_file(P("f")));
    const std::string synced = contents(disk, P("f"));
    disk.crash();
    EXPECT_EQ(contents(disk, P("f")), synced);
  }
}

TEST(SimDiskSectorsTest, WithoutTearingOnlyDurableBytesRemain) {
  SimDiskOptions options = sectors(1);
  options.tear_on_crash = false;
  SimDisk disk(options);
  KAYA_ASSERT_OK(disk.append(P("f"), B(std::string(kSector + 10, 'a'))));
  KAYA_ASSERT_OK(disk.fsync_file(P("f")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  KAYA_ASSERT_OK(disk.write_at(P("f"), 5, B(std::string(2 * kSector, 'b'))));
  KAYA_ASSERT_OK(disk.truncate(P("f"), 3));
  disk.crash();
  EXPECT_EQ(contents(disk, P("f")), std::string(kSector + 10, 'a'));
}

TEST(SimDiskSectorsTest, PersistenceNames) {
  EXPECT_EQ(to_string(CrashPersistence::kPrefix), "Prefix");
  EXPECT_EQ(to_string(CrashPersistence::kSectors), "Sectors");
  EXPECT_EQ(SimDiskOptions{}.persistence, CrashPersistence::kPrefix);
}

}  // namespace
}  // namespace kaya::io
