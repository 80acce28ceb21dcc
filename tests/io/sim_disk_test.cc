// SimDisk's crash and fault model (the Disk contract itself is in
// disk_contract_test.cc).
#include "kaya/io/sim_disk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "testing/strings.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

RelativePath P(std::string_view text) { return *RelativePath::parse(text); }

ByteView B(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

SimDiskOptions no_tear(uint64_t seed = 1) {
  SimDiskOptions options;
  options.seed = seed;
  options.tear_on_crash = false;
  return options;
}

std::string contents(SimDisk& disk, const RelativePath& path) {
  auto len = disk.file_len(path);
  if (!len.ok()) return kaya::testing::cat("<", len.error().to_string(), ">");
  std::string out(*len, '\0');
  auto n =
      read_full(disk, path, 0,
                std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  if (!n.ok()) return "<" + n.error().to_string() + ">";
  out.resize(*n);
  return out;
}

bool is_prefix(const std::string& prefix, const std::string& of) {
  return of.compare(0, prefix.size(), prefix) == 0 && prefix.size() <= of.size();
}

TEST(SimDiskCrashTest, KeepsOnlySyncedData) {
  SimDisk disk(no_tear());
  KAYA_ASSERT_OK(disk.create_dir(P("wal")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  KAYA_ASSERT_OK(disk.append(P("wal/1.wal"), B("abc")));
  KAYA_ASSERT_OK(disk.fsync_file(P("wal/1.wal")));
  KAYA_ASSERT_OK(disk.fsync_dir(P("wal")));
  KAYA_ASSERT_OK(disk.append(P("wal/1.wal"), B("def")));
  EXPECT_EQ(*disk.durable_len(P("wal/1.wal")), 3u);

  disk.crash();
  EXPECT_EQ(contents(disk, P("wal/1.wal")), "abc");
  EXPECT_EQ(disk.total_bytes(), 3u);
  // Appends continue after the surviving bytes.
  auto off = disk.append(P("wal/1.wal"), B("X"));
  KAYA_ASSERT_OK(off);
  EXPECT_EQ(*off, 3u);
}

TEST(SimDiskCrashTest, UnsyncedNewFileVanishesUnlessItsDirectoryWasSynced) {
  SimDisk disk(no_tear());
  KAYA_ASSERT_OK(disk.append(P("lost"), B("data")));
  KAYA_ASSERT_OK(disk.fsync_file(P("lost")));  // data durable, entry not
  EXPECT_EQ(disk.durable_len(P("lost")).error().kind(), ErrorKind::kNotFound);

  // Entry durable in a directory whose own entry is not: lost too.
  KAYA_ASSERT_OK(disk.create_dir(P("d")));
  KAYA_ASSERT_OK(disk.append(P("d/x"), B("xx")));
  KAYA_ASSERT_OK(disk.fsync_file(P("d/x")));
  KAYA_ASSERT_OK(disk.fsync_dir(P("d")));

  disk.crash();
  EXPECT_EQ(disk.file_len(P("lost")).error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(disk.list_dir(P("d")).error().kind(), ErrorKind::kNotFound);
  EXPECT_TRUE(disk.list_dir(RelativePath())->empty());

  // The same again with every directory synced: everything survives.
  KAYA_ASSERT_OK(disk.append(P("kept"), B("data")));
  KAYA_ASSERT_OK(disk.fsync_file(P("kept")));
  KAYA_ASSERT_OK(disk.create_dir(P("d")));
  KAYA_ASSERT_OK(disk.append(P("d/x"), B("xx")));
  KAYA_ASSERT_OK(disk.fsync_file(P("d/x")));
  KAYA_ASSERT_OK(disk.fsync_dir(P("d")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  disk.crash();
  EXPECT_EQ(contents(disk, P("kept")), "data");
  EXPECT_EQ(contents(disk, P("d/x")), "xx");
}

TEST(SimDiskCrashTest, DurableEntryWithoutFileSyncComesBackEmpty) {
  SimDisk disk(no_tear());
  KAYA_ASSERT_OK(disk.append(P("f"), B("hello")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  EXPECT_EQ(*disk.durable_len(P("f")), 0u);
  disk.crash();
  EXPECT_EQ(contents(disk, P("f")), "");
}

TEST(SimDiskCrashTest, DurableEntryWithoutFileSyncComesBackAsTornPrefix) {
  const uint64_t base = kaya::testing::seed_from_env(100);
  std::set<std::string> seen;
  for (uint64_t seed = base; seed < base + 32; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SimDiskOptions options;
    options.seed = seed;
    SimDisk disk(options);
    KAYA_ASSERT_OK(disk.append(P("f"), B("hello")));
    KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    disk.crash();
    std::string got = contents(disk, P("f"));
    EXPECT_TRUE(is_prefix(got, "hello")) << got;
    seen.insert(got);
  }
  EXPECT_GT(seen.size(), 1u) << "tearing never varied";
}

TEST(SimDiskCrashTest, FileOverwrittenBelowDurableLengthKeepsDurableBytes) {
  SimDisk disk(SimDiskOptions{.tear_on_crash = false});
  KAYA_ASSERT_OK(disk.append(P("f"), B("abcdef")));
  KAYA_ASSERT_OK(disk.fsync_file(P("f")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  KAYA_ASSERT_OK(disk.truncate(P("f"), 2));
  KAYA_ASSERT_OK(disk.append(P("f"), B("XYZWVU")));
  disk.crash();
  EXPECT_EQ(contents(disk, P("f")), "abcdef");
}

// Writes in place since the last fsync reach the platter in file order up to a random
// point: what survives is the new bytes up to there, then the durable ones.
TEST(SimDiskCrashTest, OverwritesAreTornInFileOrder) {
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    SimDisk disk(SimDiskOptions{.seed = seed});
    KAYA_ASSERT_OK(disk.append(P("f"), B("abcdefgh")));
    KAYA_ASSERT_OK(disk.fsync_file(P("f")));
    KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    KAYA_ASSERT_OK(disk.write_at(P("f"), 2, B("XYZ")));
    disk.crash();
    const std::string got = contents(disk, P("f"));
    EXPECT_TRUE(got == "abcdefgh" || got == "abXdefgh" || got == "abXYefgh" ||
                got == "abXYZfgh")
        << got;
    seen.insert(got);
  }
  EXPECT_EQ(seen.size(), 4u) << "every tear point should occur in 64 seeds";
}

// The bytes of a file after a crash that tore 200 unsynced bytes after 4 synced ones.
std::string torn_after_crash(uint64_t seed, const std::string& unsynced) {
  SimDiskOptions options;
  options.seed = seed;
  SimDisk disk(options);
  EXPECT_TRUE(disk.append(P("f"), B("SYNC")).ok());
  EXPECT_TRUE(disk.fsync_file(P("f")).ok());
  EXPECT_TRUE(disk.fsync_dir(RelativePath()).ok());
  for (size_t i = 0; i < unsynced.size(); i += 20) {
    EXPECT_TRUE(disk.append(P("f"), B(unsynced.substr(i, 20))).ok());
  }
  disk.crash();
  return contents(disk, P("f"));
}

TEST(SimDiskCrashTest, TearingKeepsAPrefixDeterministicallyPerSeed) {
  std::string unsynced;
  for (int i = 0; i < 200; ++i) unsynced += static_cast<char>('a' + i % 26);
  const std::string full = "SYNC" + unsynced;
  const uint64_t base = kaya::testing::seed_from_env(1);
  std::set<size_t> lengths;
  for (uint64_t seed = base; seed < base + 16; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::string got = torn_after_crash(seed, unsynced);
    EXPECT_GE(got.size(), 4u);
    EXPECT_TRUE(is_prefix(got, full)) << got;
    EXPECT_EQ(torn_after_crash(seed, unsynced), got) << "same seed, different tear";
    lengths.insert(got.size());
  }
  EXPECT_GT(lengths.size(), 1u) << "tear length never varied across seeds";
}

TEST(SimDiskCrashTest, RenameIsDurableOnlyAfterDirectorySync) {
  for (bool sync_dir : {false, true}) {
    SCOPED_TRACE(sync_dir ? "directory synced" : "directory not synced");
    SimDisk disk(no_tear());
    KAYA_ASSERT_OK(disk.append(P("CURRENT"), B("old")));
    KAYA_ASSERT_OK(disk.fsync_file(P("CURRENT")));
    KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    KAYA_ASSERT_OK(disk.append(P("CURRENT.tmp"), B("new")));
    KAYA_ASSERT_OK(disk.fsync_file(P("CURRENT.tmp")));
    KAYA_ASSERT_OK(disk.rename(P("CURRENT.tmp"), P("CURRENT")));
    if (sync_dir) KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    // The synced bytes moved with the file.
    EXPECT_EQ(*disk.durable_len(P("CURRENT")), 3u);

    disk.crash();
    EXPECT_EQ(contents(disk, P("CURRENT")), sync_dir ? "new" : "old");
    EXPECT_EQ(disk.file_len(P("CURRENT.tmp")).error().kind(), ErrorKind::kNotFound);
  }
}

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

TEST(SimDiskCrashTest, CrashReleasesLocksAndStaleLockObjectsReleaseNothing) {
  SimDisk disk;
  auto before = disk.lock_file(P("LOCK"));
  KAYA_ASSERT_OK(before);
  disk.crash();
  auto after = disk.lock_file(P("LOCK"));
  KAYA_ASSERT_OK(after);
  before->reset();  // the pre-crash holder goes away late
  auto third = disk.lock_file(P("LOCK"));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().kind(), ErrorKind::kLockConflict);
}

struct WriteFaultCase {
  FaultKind kind;
  ErrorKind error;
};

void PrintTo(const WriteFaultCase& c, std::ostream* out) { *out << to_string(c.kind); }

class SimDiskWriteFaultTest : public ::testing::TestWithParam<WriteFaultCase> {};

TEST_P(SimDiskWriteFaultTest, FailNthFailsExactlyThatWrite) {
  const auto [kind, error] = GetParam();
  SimDisk disk(no_tear(3));
  disk.fail_nth(kind, 2);
  const std::string payload = "0123456789";
  KAYA_ASSERT_OK(disk.append(P("f"), B("first")));
  auto failed = disk.append(P("f"), B(payload));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), error);
  EXPECT_NE(failed.error().message().find("sim:f"), std::string::npos);
  EXPECT_EQ(disk.faults_injected(kind), 1u);

  std::string after = contents(disk, P("f"));
  ASSERT_TRUE(is_prefix("first", after));
  std::string landed = after.substr(5);
  if (kind == FaultKind::kShortWrite) {
    EXPECT_LT(landed.size(), payload.size());
    EXPECT_TRUE(is_prefix(landed, payload)) << landed;
  } else {
    EXPECT_EQ(landed, "") << "nothing may be written";
  }

  // One-shot: the next write succeeds, also through write_at.
  KAYA_EXPECT_OK(disk.write_at(P("f"), 0, B("F")));
  disk.fail_nth(kind, 1);
  Status overwrite = disk.write_at(P("f"), 0, B("ZZZZ"));
  ASSERT_FALSE(overwrite.ok());
  EXPECT_EQ(overwrite.error().kind(), error);
  EXPECT_EQ(disk.faults_injected(kind), 2u);
  std::string head = contents(disk, P("f")).substr(0, 4);
  if (kind != FaultKind::kShortWrite) {
    EXPECT_EQ(head, "Firs");
  }
  EXPECT_NE(head, "ZZZZ");
}

TEST_P(SimDiskWriteFaultTest, ProbabilityInjectsAndCountsFaults) {
  const auto [kind, error] = GetParam();
  const uint64_t seed = kaya::testing::seed_from_env(11);
  SCOPED_TRACE("seed " + std::to_string(seed));
  SimDiskOptions options = no_tear(seed);
  options.fault_probability[static_cast<size_t>(kind)] = 0.5;
  SimDisk disk(options);
  uint64_t failures = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = disk.append(P("f"), B("abcd"));
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind(), error);
      ++failures;
    }
  }
  EXPECT_EQ(disk.faults_injected(kind), failures);
  EXPECT_GT(failures, 0u);
  EXPECT_LT(failures, 200u);

  disk.clear_faults();
  KAYA_EXPECT_OK(disk.append(P("f"), B("ok")));
  EXPECT_EQ(disk.faults_injected(kind), failures);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, SimDiskWriteFaultTest,
    ::testing::Values(WriteFaultCase{FaultKind::kWriteError, ErrorKind::kIo},
                      WriteFaultCase{FaultKind::kDiskFull, ErrorKind::kDiskFull},
                      WriteFaultCase{FaultKind::kShortWrite, ErrorKind::kIo}),
    [](const ::testing::TestParamInfo<WriteFaultCase>& param_info) {
      return std::string(to_string(param_info.param.kind));
    });

TEST(SimDiskFaultTest, FsyncFailureCapturesNothing) {
  SimDisk disk(no_tear());
  KAYA_ASSERT_OK(disk.append(P("f"), B("abc")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  disk.fail_nth(FaultKind::kFsyncFailure, 1);
  Status failed = disk.fsync_file(P("f"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::kFsyncFailed);
  EXPECT_NE(failed.error().message().find("sim:f"), std::string::npos);
  EXPECT_EQ(*disk.durable_len(P("f")), 0u);

  KAYA_ASSERT_OK(disk.append(P("g"), B("x")));
  disk.fail_nth(FaultKind::kFsyncFailure, 1);
  EXPECT_EQ(disk.fsync_dir(RelativePath()).error().kind(), ErrorKind::kFsyncFailed);
  EXPECT_EQ(disk.faults_injected(FaultKind::kFsyncFailure), 2u);
  EXPECT_EQ(disk.fsync_file_count(), 1u);
  EXPECT_EQ(disk.fsync_dir_count(), 2u);

  disk.crash();
  EXPECT_EQ(contents(disk, P("f")), "");
  EXPECT_EQ(disk.file_len(P("g")).error().kind(), ErrorKind::kNotFound);
}

TEST(SimDiskFaultTest, FsyncFailureByProbability) {
  SimDiskOptions options = no_tear(kaya::testing::seed_from_env(5));
  SCOPED_TRACE("seed " + std::to_string(options.seed));
  SimDisk disk(options);
  KAYA_ASSERT_OK(disk.append(P("f"), B("abc")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  disk.set_fault_probability(FaultKind::kFsyncFailure, 1.0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(disk.fsync_file(P("f")).error().kind(), ErrorKind::kFsyncFailed);
  }
  EXPECT_EQ(disk.faults_injected(FaultKind::kFsyncFailure), 3u);
  EXPECT_EQ(*disk.durable_len(P("f")), 0u);
  disk.set_fault_probability(FaultKind::kFsyncFailure, 0.0);
  KAYA_EXPECT_OK(disk.fsync_file(P("f")));
  EXPECT_EQ(*disk.durable_len(P("f")), 3u);
}

TEST(SimDiskFaultTest, ReadErrorByFailNthAndProbability) {
  SimDisk disk(no_tear(kaya::testing::seed_from_env(9)));
  KAYA_ASSERT_OK(disk.append(P("f"), B("abc")));
  uint8_t buf[3];
  disk.fail_nth(FaultKind::kReadError, 1);
  auto failed = disk.read_at(P("f"), 0, buf);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::kIo);
  EXPECT_NE(failed.error().message().find("sim:f"), std::string::npos);
  KAYA_EXPECT_OK(disk.read_at(P("f"), 0, buf));
  EXPECT_EQ(disk.faults_injected(FaultKind::kReadError), 1u);

  disk.set_fault_probability(FaultKind::kReadError, 1.0);
  EXPECT_EQ(disk.read_at(P("f"), 0, buf).error().kind(), ErrorKind::kIo);
  EXPECT_EQ(disk.faults_injected(FaultKind::kReadError), 2u);
}

TEST(SimDiskFaultTest, CapacityExhaustionIsDiskFullAndWritesNothing) {
  SimDiskOptions options = no_tear();
  options.capacity_bytes = 10;
  SimDisk disk(options);
  KAYA_ASSERT_OK(disk.append(P("a"), B("123456")));
  auto full = disk.append(P("b"), B("12345"));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().kind(), ErrorKind::kDiskFull);
  EXPECT_EQ(*disk.file_len(P("b")), 0u);
  EXPECT_EQ(disk.total_bytes(), 6u);
  KAYA_ASSERT_OK(disk.append(P("b"), B("1234")));
  EXPECT_EQ(disk.total_bytes(), 10u);
  EXPECT_EQ(disk.faults_injected(FaultKind::kDiskFull), 0u);
  // Freeing space makes room again.
  KAYA_ASSERT_OK(disk.remove_file(P("a")));
  KAYA_EXPECT_OK(disk.append(P("b"), B("12345")));
}

TEST(SimDiskFaultTest, ShortReadsStillReadFullyThroughReadFull) {
  SimDiskOptions options = no_tear(kaya::testing::seed_from_env(21));
  SCOPED_TRACE("seed " + std::to_string(options.seed));
  options.short_reads = true;
  SimDisk disk(options);
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>(i * 7);
  KAYA_ASSERT_OK(disk.append(P("f"), B(data)));

  bool saw_short = false;
  for (int i = 0; i < 50; ++i) {
    uint8_t buf[100];
    auto n = disk.read_at(P("f"), 10, buf);
    KAYA_ASSERT_OK(n);
    EXPECT_GT(*n, 0u);
    EXPECT_EQ(std::string(buf, buf + *n), data.substr(10, *n));
    if (*n < sizeof(buf)) saw_short = true;
  }
  EXPECT_TRUE(saw_short);
  EXPECT_EQ(contents(disk, P("f")), data);
}

TEST(SimDiskConcurrencyTest, FsyncHookRunsWithoutTheDiskMutex) {
  SimDisk disk(no_tear());
  KAYA_ASSERT_OK(disk.append(P("f"), B("abc")));
  KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
  std::mutex mu;
  std::condition_variable cv;
  bool in_hook = false;
  bool release = false;
  disk.set_fsync_hook([&](const RelativePath& path) {
    EXPECT_EQ(path, P("f"));
    std::unique_lock<std::mutex> lock(mu);
    in_hook = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });

  std::thread syncer([&] { KAYA_EXPECT_OK(disk.fsync_file(P("f"))); });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_hook; });
  }
  // The fsync is parked in the hook; the disk must still serve this thread.
  KAYA_EXPECT_OK(disk.append(P("f"), B("def")));
  EXPECT_EQ(*disk.file_len(P("f")), 6u);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  syncer.join();
  // The data is captured after the hook returns, so it includes the append.
  EXPECT_EQ(*disk.durable_len(P("f")), 6u);
  EXPECT_EQ(disk.fsync_file_count(), 1u);
}

}  // namespace
}  // namespace kaya::io
