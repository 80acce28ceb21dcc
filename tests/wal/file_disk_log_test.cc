// A log on FileDisk: bounded descriptors across thousands of segments (writing,
// following, reading, inspecting, recovering), read paths that never open a segment for
// writing, and one writer even when the lock file is removed.
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/wal/inspect.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/proc_fds.h"
#include "testing/test_util.h"

namespace kaya::wal {
namespace {

using kaya::testing::open_fd_count;
using namespace std::chrono_literals;

// One record per segment: a Put of 40 + 8 + 8 bytes never fits twice in 100 bytes.
WalConfig one_record_per_segment() {
  WalConfig config;
  config.segment_max_bytes = 100;
  config.max_record_bytes = 100;
  return config;
}

std::unique_ptr<io::FileDisk> open_disk(const std::string& root, size_t max_open_files) {
  io::FileDiskOptions options;
  options.max_open_files = max_open_files;
  auto disk = io::FileDisk::open(root, options);
  EXPECT_TRUE(disk.ok()) << disk.error().to_string();
  return disk.ok() ? std::move(disk).value() : nullptr;
}

std::string key_of(uint64_t i) {
  char key[9];
  std::snprintf(key, sizeof key, "%08llu", static_cast<unsigned long long>(i));
  return key;
}

// A writer rotating 2,000 times while a tailing reader follows it, then every read
// path over the 2,000 segments, all on a FileDisk keeping at most 8 clean descriptors:
// the process's descriptors never grow with the number of segments.
TEST(FileDiskLog, DescriptorsStayBoundedAcrossThousandsOfSegments) {
  constexpr uint64_t kRecords = 2000;
  constexpr size_t kBound = 8;
  // Besides the bound: the lock (directory and file), the active segment and the
  // recovery point while they hold unsynced writes, and the directory list_dir reads.
  constexpr size_t kSlack = 6;
  // In memory where possible: 2,000 rotations sync about 8,000 times.
  kaya::testing::TempDir dir(kaya::testing::memory_temp_base());
  const WalConfig config = one_record_per_segment();
  const size_t baseline = open_fd_count();
  ASSERT_GT(baseline, 0u) << "/proc/self/fd is not readable";
  size_t most = 0;
  auto check = [&](const char* where, uint64_t i) {
    const size_t now = open_fd_count() - baseline;
    most = std::max(most, now);
    ASSERT_LE(now, kBound + kSlack) << where << " at record " << i;
  };
  {
    auto disk = open_disk(dir.path(), kBound);
    ASSERT_TRUE(disk);
    auto writer = Writer::open(config, *disk);
    KAYA_ASSERT_OK(writer);
    auto tail = TailingReader::open(**writer, Lsn(1));
    KAYA_ASSERT_OK(tail);
    for (uint64_t i = 1; i <= kRecords; ++i) {
      const std::string key = key_of(i);
      auto ack = (*writer)->append(Payload::put(key, "v"), DurabilityMode::kStrict);
      KAYA_ASSERT_OK(ack);
      ASSERT_EQ(ack->segment_id, i) << "one record per segment";
      auto record = (*tail)->next(60s);
      KAYA_ASSERT_OK(record);
      ASSERT_TRUE(record->has_value()) << "record " << i;
      ASSERT_EQ((*record)->key, key);
      if (i % 50 == 0) {
        ASSERT_NO_FATAL_FAILURE(check("writing and tailing", i));
      }
    }
    tail->reset();
    KAYA_ASSERT_OK((*writer)->close());
  }
  auto disk = open_disk(dir.path(), kBound);
  ASSERT_TRUE(disk);
  auto reader = LogReader::open(config, *disk, Lsn(1));
  KAYA_ASSERT_OK(reader);
  for (uint64_t i = 1; i <= kRecords; ++i) {
    auto record = (*reader)->next();
    KAYA_ASSERT_OK(record);
    ASSERT_TRUE(record->has_value()) << "record " << i;
    ASSERT_EQ((*record)->lsn.value(), i);
    if (i % 50 == 0) {
      ASSERT_NO_FATAL_FAILURE(check("reading", i));
    }
  }
  reader->reset();
  auto inspection = inspect_log(config, *disk);
  KAYA_ASSERT_OK(inspection);
  EXPECT_EQ(inspection->segments.size(), kRecords);
  ASSERT_NO_FATAL_FAILURE(check("inspecting", kRecords));
  RecoveryOptions dry;
  dry.dry_run = true;
  dry.full_scan = true;
  auto dry_report = recover(config, *disk, dry);
  KAYA_ASSERT_OK(dry_report);
  EXPECT_EQ(dry_report->records, kRecords);
  ASSERT_NO_FATAL_FAILURE(check("recovering (dry run)", kRecords));
  RecoveryOptions full;
  full.full_scan = true;
  auto report = recover(config, *disk, full);
  KAYA_ASSERT_OK(report);
  EXPECT_EQ(report->records, kRecords);
  ASSERT_NO_FATAL_FAILURE(check("recovering", kRecords));
  std::printf("at most %zu descriptors open beyond the baseline over %llu segments\n",
              most, static_cast<unsigned long long>(kRecords));
}

// Events that reading must not cause in wal/: opening a file for writing shows as
// IN_CLOSE_WRITE when it is closed, even when nothing was written.
class NoWriteWatch {
 public:
  explicit NoWriteWatch(const std::string& dir) {
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ >= 0) {
      wd_ = ::inotify_add_watch(fd_, dir.c_str(),
                                IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE |
                                    IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB);
    }
  }
  ~NoWriteWatch() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0 && wd_ >= 0; }

  // The events since the last call, one "<mask> <name>" line each.
  std::string events() {
    std::string out;
    alignas(inotify_event) char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return out;
      for (ssize_t at = 0; at < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
        out += describe(e->mask) + " " + (e->len > 0 ? e->name : "") + "\n";
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    }
  }

 private:
  static std::string describe(uint32_t mask) {
    std::string out;
    const std::pair<uint32_t, const char*> names[] = {{IN_CLOSE_WRITE, "IN_CLOSE_WRITE"},
                                                      {IN_MODIFY, "IN_MODIFY"},
                                                      {IN_CREATE, "IN_CREATE"},
                                                      {IN_DELETE, "IN_DELETE"},
                                                      {IN_MOVED_FROM, "IN_MOVED_FROM"},
                                                      {IN_MOVED_TO, "IN_MOVED_TO"},
                                                      {IN_ATTRIB, "IN_ATTRIB"}};
    for (const auto& [bit, name] : names) {
      if (mask & bit) out += out.empty() ? name : std::string("|") + name;
    }
    return out;
  }

  int fd_ = -1;
  int wd_ = -1;
};

// dump, inspect, verify and recover --dry-run read through these: none may open a
// segment (or anything in wal/) for writing.
TEST(FileDiskLog, ReadPathsOpenNothingForWriting) {
  kaya::testing::TempDir dir;
  WalConfig config = one_record_per_segment();
  {
    auto disk = open_disk(dir.path(), 64);
    ASSERT_TRUE(disk);
    auto writer = Writer::open(config, *disk);
    KAYA_ASSERT_OK(writer);
    for (uint64_t i = 1; i <= 5; ++i) {
      KAYA_ASSERT_OK(
          (*writer)->append(Payload::put(key_of(i), "v"), DurabilityMode::kStrict));
    }
    KAYA_ASSERT_OK((*writer)->close());
  }
  NoWriteWatch watch(dir.path() + "/wal");
  ASSERT_TRUE(watch.ok()) << "inotify is not available";
  {
    auto disk = open_disk(dir.path(), 64);
    ASSERT_TRUE(disk);
    auto reader = LogReader::open(config, *disk, Lsn(1));
    KAYA_ASSERT_OK(reader);
    for (int i = 0; i < 5; ++i) {
      auto record = (*reader)->next();
      KAYA_ASSERT_OK(record);
      ASSERT_TRUE(record->has_value());
    }
    reader->reset();
    KAYA_ASSERT_OK(inspect_log(config, *disk));
    RecoveryOptions dry;
    dry.dry_run = true;
    dry.full_scan = true;
    KAYA_ASSERT_OK(recover(config, *disk, dry));
  }  // the disk closes every descriptor it kept
  EXPECT_EQ(watch.events(), "");
}

// `rm wal/LOCK` while a writer runs must not admit a second writer.
TEST(FileDiskLog, RemovingTheLockFileDoesNotAdmitASecondWriter) {
  kaya::testing::TempDir dir;
  const WalConfig config;
  auto first_disk = open_disk(dir.path(), 64);
  auto second_disk = open_disk(dir.path(), 64);
  ASSERT_TRUE(first_disk && second_disk);
  auto first = Writer::open(config, *first_disk);
  KAYA_ASSERT_OK(first);
  KAYA_ASSERT_OK((*first)->append(Payload::put("k", "v"), DurabilityMode::kStrict));
  ASSERT_EQ(::unlink((dir.path() + "/wal/LOCK").c_str()), 0);

  auto second = Writer::open(config, *second_disk);
  ASSERT_FALSE(second.ok()) << "two writers on one log";
  EXPECT_EQ(second.error().kind(), ErrorKind::kLockConflict)
      << second.error().to_string();
  RecoveryOptions repair;
  auto recovered = recover(config, *second_disk, repair);
  ASSERT_FALSE(recovered.ok()) << "a repairing recovery next to a writer";
  EXPECT_EQ(recovered.error().kind(), ErrorKind::kLockConflict);
  // verify's question: is a writer there?
  auto held = second_disk->lock_held(*io::RelativePath::parse("wal/LOCK"));
  KAYA_ASSERT_OK(held);
  EXPECT_TRUE(*held);

  KAYA_ASSERT_OK((*first)->close());
  first->reset();
  auto after = Writer::open(config, *second_disk);
  KAYA_ASSERT_OK(after);
  auto ack = (*after)->append(Payload::put("k", "w"), DurabilityMode::kStrict);
  KAYA_ASSERT_OK(ack);
  EXPECT_EQ(ack->lsn.value(), 2u) << "the second writer continues the log";
}

}  // namespace
}  // namespace kaya::wal
