// SimDisk's crash model: what survives a crash of synced and unsynced data, files and
// directory entries (the Disk contract itself is in disk_contract_test.cc).
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>

#include "io/sim_disk_test_util.h"
#include "kaya/io/sim_disk.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using namespace sim_testing;  // NOLINT(google-build-using-namespace)

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

// With new_entries_may_survive, a file created since the last directory sync keeps its
// entry on some seeds and not on others, each file on its own; a renamed file is never
// found under both names, and a new directory still vanishes.
TEST(SimDiskCrashTest, NewEntriesMaySurviveEachOnItsOwn) {
  std::set<std::string> outcomes;
  for (uint64_t seed = 1; seed <= 32; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SimDiskOptions options = no_tear();
    options.seed = seed;
    options.new_entries_may_survive = true;
    SimDisk disk(options);
    KAYA_ASSERT_OK(disk.append(P("old"), B("o")));
    KAYA_ASSERT_OK(disk.fsync_file(P("old")));
    KAYA_ASSERT_OK(disk.fsync_dir(RelativePath()));
    KAYA_ASSERT_OK(disk.append(P("a"), B("aa")));
    KAYA_ASSERT_OK(disk.fsync_file(P("a")));
    KAYA_ASSERT_OK(disk.append(P("b"), B("bb")));
    KAYA_ASSERT_OK(disk.rename(P("old"), P("renamed")));
    KAYA_ASSERT_OK(disk.create_dir(P("d")));

    disk.crash();
    std::string outcome;
    for (const char* name : {"a", "b"}) {
      auto len = disk.file_len(P(name));
      if (len.ok()) {
        outcome += name;
        // Its data as any file's: what was synced, unsynced bytes gone (no tearing).
        EXPECT_EQ(contents(disk, P(name)), std::string(name) == "a" ? "aa" : "");
      } else {
        EXPECT_EQ(len.error().kind(), ErrorKind::kNotFound);
      }
    }
    outcomes.insert(outcome);
    EXPECT_EQ(contents(disk, P("old")), "o");
    EXPECT_EQ(disk.file_len(P("renamed")).error().kind(), ErrorKind::kNotFound);
    EXPECT_EQ(disk.list_dir(P("d")).error().kind(), ErrorKind::kNotFound);
  }
  // Every combination of the two new files was seen.
  EXPECT_EQ(outcomes, (std::set<std::string>{"", "a", "b", "ab"}));
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

}  // namespace
}  // namespace kaya::io
