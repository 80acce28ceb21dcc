// FileDisk specifics (the Disk contract itself is in disk_contract_test.cc).
#include "kaya/io/file_disk.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "testing/disk_paths.h"
#include "testing/proc_fds.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using kaya::testing::B;
using kaya::testing::P;

std::unique_ptr<FileDisk> open_disk(const std::string& root) {
  auto disk = FileDisk::open(root);
  EXPECT_TRUE(disk.ok()) << disk.error().to_string();
  return disk.ok() ? std::move(disk).value() : nullptr;
}

// Minor page faults this thread has taken.
long thread_minor_faults() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

TEST(FileDiskTest, PrefaultedMapPagesTakeNoFaultOnTheirFirstStore) {
  kaya::testing::TempDir dir;
  auto disk = open_disk(dir.path());
  ASSERT_NE(disk, nullptr);
  KAYA_ASSERT_OK(disk->append(P("f"), ByteView()));
  constexpr uint64_t kLen = 1 << 20;
  auto map = disk->map_for_write(P("f"), 0, kLen);
  KAYA_ASSERT_OK(map);
  const long page = ::sysconf(_SC_PAGESIZE);
  const uint64_t half = kLen / 2;
  // The first half: prefaulted, then stored into page by page.
  (*map)->prefault(0, half);
  const long before = thread_minor_faults();
  for (uint64_t at = 0; at < half; at += static_cast<uint64_t>(page)) {
    (*map)->data()[at] = 'p';
  }
  const long prefaulted = thread_minor_faults() - before;
  // The second half: stored into without prefault, one fault per page.
  const long before_plain = thread_minor_faults();
  for (uint64_t at = half; at < kLen; at += static_cast<uint64_t>(page)) {
    (*map)->data()[at] = 'q';
  }
  const long plain = thread_minor_faults() - before_plain;
  // Sanitizers fault in their own shadow memory too (ASan about one page per 8 of
  // data, TSan about one per page), alike in both halves: what prefault saves is the
  // difference, one fault per data page.
  const long pages = static_cast<long>(half) / page;
  EXPECT_GE(plain - prefaulted, pages / 2)
      << "prefaulted half: " << prefaulted << " faults, plain half: " << plain;
  KAYA_ASSERT_OK((*map)->publish(0, kLen));
  // Prefaulting changes no byte: the file holds what was stored and zeros elsewhere.
  std::vector<uint8_t> back(kLen);
  auto n = read_full(*disk, P("f"), 0, back);
  KAYA_ASSERT_OK(n);
  ASSERT_EQ(*n, kLen);
  for (uint64_t at = 0; at < kLen; ++at) {
    const uint8_t want = at % static_cast<uint64_t>(page) != 0 ? 0
                         : at < half                           ? 'p'
                                                               : 'q';
    ASSERT_EQ(back[at], want) << "offset " << at;
  }
}

TEST(FileDiskTest, TwoInstancesOnOneRootConflictOnTheLock) {
  kaya::testing::TempDir dir;
  auto a = open_disk(dir.path());
  auto b = open_disk(dir.path());
  ASSERT_TRUE(a && b);

  auto held = a->lock_file(P("LOCK"));
  KAYA_ASSERT_OK(held);
  auto conflict = b->lock_file(P("LOCK"));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().kind(), ErrorKind::kLockConflict);
  EXPECT_NE(conflict.error().message().find(dir.path() + "/LOCK"), std::string::npos)
      << conflict.error().message();
  EXPECT_NE(conflict.error().message().find("is held by another process"),
            std::string::npos);

  held->reset();  // destroying the lock object releases it
  KAYA_EXPECT_OK(b->lock_file(P("LOCK")));
}

// A writer in another process: lock_held sees its flock (through /proc/locks) and
// that it is gone once the process exits.
TEST(FileDiskTest, LockHeldSeesALockHeldByAnotherProcess) {
  kaya::testing::TempDir dir;
  auto disk = open_disk(dir.path());
  ASSERT_TRUE(disk);
  const std::string lock_path = dir.path() + "/LOCK";
  int locked[2], release[2];
  ASSERT_EQ(::pipe(locked), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only async-signal-safe calls until _exit. The write end of `release` is the
    // parent's: closing it here lets the parent's close end the read below.
    ::close(release[1]);
    ::close(locked[0]);
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) ::_exit(1);
    char c = 1;
    if (::write(locked[1], &c, 1) != 1) ::_exit(1);
    while (::read(release[0], &c, 1) > 0) {
    }
    ::_exit(0);
  }
  ::close(locked[1]);
  ::close(release[0]);
  char c = 0;
  ASSERT_EQ(::read(locked[0], &c, 1), 1) << "the child could not take the lock";
  auto held = disk->lock_held(P("LOCK"));
  KAYA_ASSERT_OK(held);
  EXPECT_TRUE(*held);
  auto taken = disk->lock_file(P("LOCK"));
  ASSERT_FALSE(taken.ok()) << "the child holds the lock";
  EXPECT_EQ(taken.error().kind(), ErrorKind::kLockConflict);
  ::close(release[1]);  // the child exits, releasing its lock
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::close(locked[0]);
  auto after = disk->lock_held(P("LOCK"));
  KAYA_ASSERT_OK(after);
  EXPECT_FALSE(*after);
}

TEST(FileDiskTest, NotFoundMessagesNameTheFullPath) {
  kaya::testing::TempDir dir;
  auto disk = open_disk(dir.path());
  ASSERT_TRUE(disk);
  KAYA_ASSERT_OK(disk->create_dir(P("wal")));
  const std::string full = dir.path() + "/wal/0000000000000001.wal";
  EXPECT_EQ(disk->describe(P("wal/0000000000000001.wal")), full);

  uint8_t buf[8];
  auto r = disk->read_at(P("wal/0000000000000001.wal"), 0, buf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(r.error().message().find(full), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("No such file or directory"), std::string::npos)
      << r.error().message();

  Status sync = disk->fsync_dir(P("nope"));
  ASSERT_FALSE(sync.ok());
  EXPECT_EQ(sync.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(sync.error().message().find(dir.path() + "/nope"), std::string::npos)
      << sync.error().message();
}

TEST(FileDiskTest, OpenWithoutCreateNeedsTheRoot) {
  kaya::testing::TempDir dir;
  const std::string root = dir.path() + "/not/there";
  auto missing = FileDisk::open(root, /*create=*/false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(missing.error().message().find(root), std::string::npos);

  auto created = FileDisk::open(root + "/", /*create=*/true);
  KAYA_ASSERT_OK(created);
  EXPECT_EQ((*created)->root(), root);
}

TEST(FileDiskTest, KeepsOneDescriptorPerFileAcrossCalls) {
  kaya::testing::TempDir dir;
  auto disk = open_disk(dir.path());
  ASSERT_TRUE(disk);
  const size_t baseline = kaya::testing::open_fd_count();
  ASSERT_GT(baseline, 0u) << "/proc/self/fd is not readable";

  uint8_t buf[4];
  for (int i = 0; i < 500; ++i) {
    KAYA_ASSERT_OK(disk->append(P("seg"), B("abcd")));
    KAYA_ASSERT_OK(disk->read_at(P("seg"), static_cast<uint64_t>(i) * 4, buf));
    if (i % 100 == 0) KAYA_ASSERT_OK(disk->fsync_file(P("seg")));
  }
  EXPECT_EQ(kaya::testing::open_fd_count(), baseline + 1);
  EXPECT_EQ(*disk->file_len(P("seg")), 2000u);

  KAYA_ASSERT_OK(disk->remove_file(P("seg")));
  EXPECT_EQ(kaya::testing::open_fd_count(), baseline)
      << "remove_file must close the descriptor";
}

TEST(FileDiskTest, CachedDescriptorOutlivesAnExternalUnlink) {
  kaya::testing::TempDir dir;
  auto disk = open_disk(dir.path());
  ASSERT_TRUE(disk);
  KAYA_ASSERT_OK(disk->append(P("f"), B("abc")));
  // Only a descriptor kept from the first call still reaches the unlinked file; an
  // implementation reopening per call would create a new, empty file here.
  ASSERT_EQ(::unlink((dir.path() + "/f").c_str()), 0);
  auto off = disk->append(P("f"), B("def"));
  KAYA_ASSERT_OK(off);
  EXPECT_EQ(*off, 3u);
  uint8_t buf[6];
  auto n = read_full(*disk, P("f"), 0, buf);
  KAYA_ASSERT_OK(n);
  EXPECT_EQ(std::string(buf, buf + *n), "abcdef");
}

TEST(FileDiskTest, AppendsContinueAtTheEndOfAnExistingFile) {
  kaya::testing::TempDir dir;
  {
    auto disk = open_disk(dir.path());
    ASSERT_TRUE(disk);
    KAYA_ASSERT_OK(disk->append(P("f"), B("12345")));
  }
  auto disk = open_disk(dir.path());  // a new instance learns the size from the file
  ASSERT_TRUE(disk);
  auto off = disk->append(P("f"), B("6"));
  KAYA_ASSERT_OK(off);
  EXPECT_EQ(*off, 5u);
}

TEST(FileDiskTest, FsyncsRunAlongsideAppendsAndReads) {
  kaya::testing::TempDir dir;
  auto disk = open_disk(dir.path());
  ASSERT_TRUE(disk);
  constexpr int kRounds = 200;
  std::vector<std::thread> threads;
  for (const char* name : {"a", "b"}) {
    threads.emplace_back([&, name] {
      for (int i = 0; i < kRounds; ++i)
        KAYA_EXPECT_OK(disk->append(P(name), B("0123456789")));
    });
    threads.emplace_back([&, name] {
      for (int i = 0; i < kRounds / 10; ++i) {
        Status s = disk->fsync_file(P(name));
        // The appender may not have created the file yet.
        if (!s.ok()) {
          EXPECT_EQ(s.error().kind(), ErrorKind::kNotFound);
        }
      }
    });
    threads.emplace_back([&, name] {
      uint8_t buf[10];
      for (int i = 0; i < kRounds; ++i) {
        auto n = disk->read_at(P(name), 0, buf);
        if (!n.ok()) {
          EXPECT_EQ(n.error().kind(), ErrorKind::kNotFound);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(*disk->file_len(P("a")), 10u * kRounds);
  EXPECT_EQ(*disk->file_len(P("b")), 10u * kRounds);
}

}  // namespace
}  // namespace kaya::io
