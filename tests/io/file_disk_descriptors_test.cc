// FileDisk's descriptors: how many it keeps open (a bound independent of the number of
// files), that it never closes one holding writes no fdatasync covered, and that reads
// open files read-only.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/file_disk.h"
#include "testing/disk_paths.h"
#include "testing/proc_fds.h"
#include "testing/strings.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using kaya::testing::fds_open_on;
using kaya::testing::FileLimit;
using kaya::testing::open_fd_count;

using kaya::testing::B;
using kaya::testing::P;

std::unique_ptr<FileDisk> open_disk(const std::string& root, size_t max_open_files) {
  FileDiskOptions options;
  options.max_open_files = max_open_files;
  auto disk = FileDisk::open(root, options);
  EXPECT_TRUE(disk.ok()) << disk.error().to_string();
  return disk.ok() ? std::move(disk).value() : nullptr;
}

RelativePath file(int i) { return P(kaya::testing::cat("f", std::to_string(i))); }

// Appends `bytes` to `path` and syncs it: the file's descriptor is clean afterwards.
Status append_synced(Disk& disk, const RelativePath& path, const std::string& bytes) {
  KAYA_RETURN_IF_ERROR(disk.append(path, B(bytes)).status());
  return disk.fsync_file(path);
}

TEST(FileDiskDescriptors, MaxOpenFilesMustBePositive) {
  kaya::testing::TempDir dir;
  FileDiskOptions options;
  options.max_open_files = 0;
  auto disk = FileDisk::open(dir.path(), options);
  ASSERT_FALSE(disk.ok());
  EXPECT_EQ(disk.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(disk.error().message().find("max_open_files"), std::string::npos);
}

TEST(FileDiskDescriptors, TheBoundIsAtMostAQuarterOfTheFileLimit) {
  kaya::testing::TempDir dir;
  {
    FileLimit limit(40);
    ASSERT_TRUE(limit.ok());
    auto disk = open_disk(dir.path(), 64);
    ASSERT_TRUE(disk);
    EXPECT_EQ(disk->max_open_files(), 10u);
    auto few = open_disk(dir.path(), 3);
    ASSERT_TRUE(few);
    EXPECT_EQ(few->max_open_files(), 3u);
  }
  FileLimit limit(2);
  ASSERT_TRUE(limit.ok());
  auto disk = open_disk(dir.path(), 64);
  ASSERT_TRUE(disk);
  EXPECT_EQ(disk->max_open_files(), 1u);
}

// Out of descriptors (the limit lowered after the disk was opened), the disk closes
// the cached ones it may and goes on: reads, directory syncs and listings succeed.
TEST(FileDiskDescriptors, OutOfDescriptorsTheCacheGivesWay) {
  kaya::testing::TempDir dir;
  constexpr int kFiles = 60;
  auto disk = open_disk(dir.path(), 64);
  ASSERT_TRUE(disk);
  for (int i = 0; i < kFiles; ++i) {
    KAYA_ASSERT_OK(append_synced(*disk, file(i), "x"));
  }
  disk = open_disk(dir.path(), 64);  // a fresh cache
  ASSERT_TRUE(disk);
  // Room for 8 more descriptors (numbers are handed out lowest first).
  FileLimit limit(static_cast<rlim_t>(kaya::testing::open_fds().rbegin()->first + 9));
  ASSERT_TRUE(limit.ok());
  uint8_t buf[1];
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kFiles; ++i) {
      KAYA_ASSERT_OK(disk->read_at(file(i), 0, buf));
      KAYA_ASSERT_OK(disk->fsync_dir(RelativePath()));
      KAYA_ASSERT_OK(disk->list_dir(RelativePath()));
    }
  }
}

// Many files written, synced and read in a random order: the process never holds more
// than the bound of descriptors at once, however many files there are.
TEST(FileDiskDescriptors, OpenDescriptorsStayWithinTheBound) {
  kaya::testing::TempDir dir;
  constexpr size_t kBound = 4;
  constexpr int kFiles = 200;
  auto disk = open_disk(dir.path(), kBound);
  ASSERT_TRUE(disk);
  const size_t baseline = open_fd_count();
  ASSERT_GT(baseline, 0u) << "/proc/self/fd is not readable";
  size_t most = 0;
  auto check = [&](const char* after) {
    const size_t now = open_fd_count() - baseline;
    most = std::max(most, now);
    ASSERT_LE(now, kBound) << "after " << after;
  };
  for (int i = 0; i < kFiles; ++i) {
    KAYA_ASSERT_OK(
        append_synced(*disk, file(i), kaya::testing::cat("record ", std::to_string(i))));
    ASSERT_NO_FATAL_FAILURE(check("append and sync"));
  }
  std::mt19937_64 rng(kaya::testing::seed_from_env(42));
  uint8_t buf[16];
  for (int round = 0; round < 4 * kFiles; ++round) {
    const int i = static_cast<int>(rng() % kFiles);
    auto n = read_full(*disk, file(i), 0, buf);
    KAYA_ASSERT_OK(n);
    ASSERT_EQ(std::string(buf, buf + *n).substr(0, 7), "record ");
    KAYA_ASSERT_OK(disk->file_len(file(i)));
    if (round % 7 == 0) {
      // A write to a file opened for reading upgrades it; synced, it is clean again.
      KAYA_ASSERT_OK(append_synced(*disk, file(i), "+"));
    }
    ASSERT_NO_FATAL_FAILURE(check("reads"));
  }
  EXPECT_EQ(most, kBound) << "the cache should fill up to its bound";
  disk.reset();
  EXPECT_EQ(open_fd_count(), baseline) << "destruction closes every descriptor";
}

// Threads reading and writing many files at once: within the bound plus one
// descriptor per call in flight.
TEST(FileDiskDescriptors, ConcurrentUseStaysWithinTheBoundPlusCallsInFlight) {
  kaya::testing::TempDir dir;
  constexpr size_t kBound = 3;
  constexpr int kThreads = 4;
  constexpr int kFiles = 40;
  auto disk = open_disk(dir.path(), kBound);
  ASSERT_TRUE(disk);
  for (int i = 0; i < kFiles; ++i) {
    KAYA_ASSERT_OK(append_synced(*disk, file(i), "0123456789"));
  }
  const size_t baseline = open_fd_count();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t));
      uint8_t buf[10];
      for (int round = 0; round < 300; ++round) {
        const RelativePath path = file(static_cast<int>(rng() % kFiles));
        if (round % 5 == 0) {
          KAYA_EXPECT_OK(disk->write_at(path, 0, B("abc")));
          KAYA_EXPECT_OK(disk->fsync_file(path));
        } else {
          KAYA_EXPECT_OK(disk->read_at(path, 0, buf));
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // What is left once every call returned: the bound (files written are synced).
  EXPECT_LE(open_fd_count(), baseline + kBound);
}

// A descriptor with unsynced writes stays open, however many other files are read,
// until an fsync_file through it succeeded; then it may be evicted like any other.
TEST(FileDiskDescriptors, AFileWithUnsyncedWritesKeepsItsDescriptorUntilSynced) {
  kaya::testing::TempDir dir;
  constexpr size_t kBound = 2;
  constexpr int kDirty = 12;
  auto disk = open_disk(dir.path(), kBound);
  ASSERT_TRUE(disk);
  const size_t baseline = open_fd_count();
  for (int i = 0; i < 50; ++i) {
    KAYA_ASSERT_OK(
        append_synced(*disk, P(kaya::testing::cat("r", std::to_string(i))), "x"));
  }
  // More unsynced files than the bound: every one stays open.
  for (int i = 0; i < kDirty; ++i) {
    KAYA_ASSERT_OK(
        disk->append(P(kaya::testing::cat("d", std::to_string(i))), B("unsynced")));
  }
  KAYA_ASSERT_OK(disk->write_at(P("r0"), 0, B("y")));  // a write to a clean file
  KAYA_ASSERT_OK(disk->truncate(P("r1"), 0));          // a truncate too
  uint8_t buf[8];
  for (int round = 0; round < 3; ++round) {
    for (int i = 2; i < 50; ++i) {
      KAYA_ASSERT_OK(
          disk->read_at(P(kaya::testing::cat("r", std::to_string(i))), 0, buf));
    }
  }
  for (int i = 0; i < kDirty; ++i) {
    EXPECT_EQ(fds_open_on(disk->describe(P(kaya::testing::cat("d", std::to_string(i))))),
              1u)
        << "file d" << i << " was closed before its writes were synced";
  }
  EXPECT_EQ(fds_open_on(disk->describe(P("r0"))), 1u) << "after write_at";
  EXPECT_EQ(fds_open_on(disk->describe(P("r1"))), 1u) << "after truncate";
  EXPECT_EQ(open_fd_count(), baseline + kDirty + 2 + kBound);

  // Reading a dirty file uses its descriptor, and does not make it clean.
  KAYA_ASSERT_OK(disk->read_at(P("d0"), 0, buf));
  EXPECT_EQ(fds_open_on(disk->describe(P("d0"))), 1u);
  // Synced, they are ordinary cached files: reading others evicts them.
  for (int i = 0; i < kDirty; ++i) {
    KAYA_ASSERT_OK(disk->fsync_file(P(kaya::testing::cat("d", std::to_string(i)))));
  }
  KAYA_ASSERT_OK(disk->fsync_file(P("r0")));
  KAYA_ASSERT_OK(disk->fsync_file(P("r1")));
  for (int i = 2; i < 50; ++i) {
    KAYA_ASSERT_OK(disk->read_at(P(kaya::testing::cat("r", std::to_string(i))), 0, buf));
  }
  EXPECT_LE(open_fd_count(), baseline + kBound);
  for (int i = 0; i < kDirty; ++i) {
    EXPECT_EQ(fds_open_on(disk->describe(P(kaya::testing::cat("d", std::to_string(i))))),
              0u);
  }
}

// A writable map counts as a write from its creation until an fsync after its
// destruction: the descriptor the stores went through is the one synced.
TEST(FileDiskDescriptors, AMappedFileKeepsItsDescriptorUntilSyncedAfterTheUnmap) {
  kaya::testing::TempDir dir;
  auto disk = open_disk(dir.path(), 1);
  ASSERT_TRUE(disk);
  KAYA_ASSERT_OK(disk->append(P("m"), ByteView()));
  KAYA_ASSERT_OK(disk->fsync_file(P("m")));
  const std::string m = disk->describe(P("m"));
  auto map = disk->map_for_write(P("m"), 0, 4096);
  KAYA_ASSERT_OK(map);
  auto read_others = [&] {
    for (int i = 0; i < 5; ++i) {
      KAYA_ASSERT_OK(append_synced(*disk, file(i), "x"));
    }
  };
  (*map)->data()[0] = 'a';
  KAYA_ASSERT_OK((*map)->publish(0, 1));
  KAYA_ASSERT_OK(disk->fsync_file(P("m")));  // synced, but still mapped
  (*map)->data()[1] = 'b';
  ASSERT_NO_FATAL_FAILURE(read_others());
  EXPECT_EQ(fds_open_on(m), 1u) << "closed while mapped";
  map->reset();
  ASSERT_NO_FATAL_FAILURE(read_others());
  EXPECT_EQ(fds_open_on(m), 1u) << "closed after the unmap, before a sync";
  KAYA_ASSERT_OK(disk->fsync_file(P("m")));
  ASSERT_NO_FATAL_FAILURE(read_others());
  EXPECT_EQ(fds_open_on(m), 0u);
  uint8_t buf[2];
  KAYA_ASSERT_OK(read_full(*disk, P("m"), 0, buf));
  EXPECT_EQ(std::string(buf, buf + 2), "ab");
}

// A map outlives its disk: it keeps its own descriptor.
TEST(FileDiskDescriptors, AMapOutlivesItsDisk) {
  kaya::testing::TempDir dir;
  auto disk = open_disk(dir.path(), 1);
  ASSERT_TRUE(disk);
  KAYA_ASSERT_OK(disk->append(P("m"), ByteView()));
  auto map = disk->map_for_write(P("m"), 0, 100);
  KAYA_ASSERT_OK(map);
  const std::string m = disk->describe(P("m"));
  disk.reset();
  EXPECT_EQ(fds_open_on(m), 1u);
  (*map)->data()[0] = 'z';
  map->reset();
  EXPECT_EQ(fds_open_on(m), 0u);
}

// rename() keeps a descriptor with unsynced writes, under the new name.
TEST(FileDiskDescriptors, RenameKeepsADescriptorWithUnsyncedWrites) {
  kaya::testing::TempDir dir;
  auto disk = open_disk(dir.path(), 1);
  ASSERT_TRUE(disk);
  KAYA_ASSERT_OK(disk->append(P("tmp"), B("new")));
  KAYA_ASSERT_OK(disk->rename(P("tmp"), P("cur")));
  for (int i = 0; i < 5; ++i) {
    KAYA_ASSERT_OK(append_synced(*disk, file(i), "x"));
  }
  EXPECT_EQ(fds_open_on(disk->describe(P("cur"))), 1u);
  auto off = disk->append(P("cur"), B("er"));
  KAYA_ASSERT_OK(off);
  EXPECT_EQ(*off, 3u);
  KAYA_ASSERT_OK(disk->fsync_file(P("cur")));
}

// Reads open files O_RDONLY; a write opens a read-write descriptor beside it.
TEST(FileDiskDescriptors, ReadsOpenReadOnlyAndWritesUpgrade) {
  kaya::testing::TempDir dir;
  {
    auto writer = open_disk(dir.path(), 8);
    ASSERT_TRUE(writer);
    KAYA_ASSERT_OK(append_synced(*writer, P("f"), "abc"));
  }
  auto disk = open_disk(dir.path(), 8);
  ASSERT_TRUE(disk);
  const std::string f = disk->describe(P("f"));
  auto mode_of_f = [&] {
    int mode = -2;
    for (const auto& [fd, target] : kaya::testing::open_fds()) {
      if (target == f) mode = kaya::testing::fd_access_mode(fd);
    }
    return mode;
  };
  uint8_t buf[3];
  KAYA_ASSERT_OK(disk->read_at(P("f"), 0, buf));
  KAYA_ASSERT_OK(disk->file_len(P("f")));
  EXPECT_EQ(fds_open_on(f), 1u);
  EXPECT_EQ(mode_of_f(), O_RDONLY);
  KAYA_ASSERT_OK(disk->append(P("f"), B("d")));
  EXPECT_EQ(fds_open_on(f), 1u) << "the read-only descriptor is replaced";
  EXPECT_EQ(mode_of_f(), O_RDWR);
  KAYA_ASSERT_OK(disk->read_at(P("f"), 0, buf));
  EXPECT_EQ(mode_of_f(), O_RDWR) << "reads use the read-write descriptor then";
}

}  // namespace
}  // namespace kaya::io
