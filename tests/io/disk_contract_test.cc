// The Disk contract, run against every implementation: FileDisk, SimDisk and RadosDisk
// must be interchangeable for the WAL. Instantiated per backend (see disk_contract.h).
#include "disk_contract.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "testing/strings.h"

namespace kaya::io::contract {
namespace {

TEST_P(DiskContractTest, AppendReturnsOffsetsAndConcatenatesParts) {
  auto first = disk_->append(P("a"), B("hello"));
  KAYA_ASSERT_OK(first);
  EXPECT_EQ(*first, 0u);

  std::string x = ", ", y = "", z = "world";
  std::vector<ByteView> parts = {B(x), B(y), B(z)};
  auto second = disk_->append(P("a"), parts);
  KAYA_ASSERT_OK(second);
  EXPECT_EQ(*second, 5u);
  EXPECT_EQ(contents(P("a")), "hello, world");
  EXPECT_EQ(*disk_->file_len(P("a")), 12u);
}

TEST_P(DiskContractTest, ReadAtRoundTripsPartialAndPastEnd) {
  KAYA_ASSERT_OK(disk_->append(P("f"), B("0123456789")));
  uint8_t buf[4];
  auto n = read_full(*disk_, P("f"), 3, buf);
  KAYA_ASSERT_OK(n);
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(std::string(buf, buf + 4), "3456");

  uint8_t big[32];
  n = read_full(*disk_, P("f"), 7, big);  // partial: only 3 bytes remain
  KAYA_ASSERT_OK(n);
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(std::string(big, big + 3), "789");

  auto at_end = disk_->read_at(P("f"), 10, buf);
  KAYA_ASSERT_OK(at_end);
  EXPECT_EQ(*at_end, 0u);
  auto past_end = disk_->read_at(P("f"), 1000, buf);
  KAYA_ASSERT_OK(past_end);
  EXPECT_EQ(*past_end, 0u);
}

TEST_P(DiskContractTest, ReadOfMissingFileIsNotFound) {
  uint8_t buf[1];
  auto r = disk_->read_at(P("missing"), 0, buf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
}

TEST_P(DiskContractTest, WriteAtOverwritesAndExtends) {
  KAYA_ASSERT_OK(disk_->append(P("w"), B("aaaaaa")));
  KAYA_ASSERT_OK(disk_->write_at(P("w"), 2, B("XY")));
  EXPECT_EQ(contents(P("w")), "aaXYaa");
  KAYA_ASSERT_OK(disk_->write_at(P("w"), 5, B("ZZZ")));
  EXPECT_EQ(contents(P("w")), "aaXYaZZZ");
  // Appends continue after the extended end.
  auto off = disk_->append(P("w"), B("!"));
  KAYA_ASSERT_OK(off);
  EXPECT_EQ(*off, 8u);

  Status missing = disk_->write_at(P("nope"), 0, B("x"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
}

TEST_P(DiskContractTest, FileLenOfMissingFileIsNotFound) {
  auto len = disk_->file_len(P("missing"));
  ASSERT_FALSE(len.ok());
  EXPECT_EQ(len.error().kind(), ErrorKind::kNotFound);
}

TEST_P(DiskContractTest, TruncateShrinksAndAppendsFollow) {
  KAYA_ASSERT_OK(disk_->append(P("t"), B("abcdefgh")));
  KAYA_ASSERT_OK(disk_->truncate(P("t"), 3));
  EXPECT_EQ(contents(P("t")), "abc");
  auto off = disk_->append(P("t"), B("Z"));
  KAYA_ASSERT_OK(off);
  EXPECT_EQ(*off, 3u);
  EXPECT_EQ(contents(P("t")), "abcZ");
  KAYA_ASSERT_OK(disk_->truncate(P("t"), 6));  // extending fills with zeros
  EXPECT_EQ(contents(P("t")), std::string("abcZ\0\0", 6));

  Status missing = disk_->truncate(P("nope"), 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
}

TEST_P(DiskContractTest, ListDirIsSortedAndNotFoundWhenMissing) {
  KAYA_ASSERT_OK(disk_->create_dir(P("d")));
  for (const char* name : {"c", "a", "b10", "b2"}) {
    KAYA_ASSERT_OK(disk_->append(*P("d").join(name), B("x")));
  }
  KAYA_ASSERT_OK(disk_->create_dir(P("d/sub")));
  auto names = disk_->list_dir(P("d"));
  KAYA_ASSERT_OK(names);
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b10", "b2", "c", "sub"}));

  auto empty = disk_->list_dir(P("d/sub"));
  KAYA_ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());

  auto missing = disk_->list_dir(P("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
}

TEST_P(DiskContractTest, CreateDirIsIdempotentAndNeedsItsParent) {
  KAYA_ASSERT_OK(disk_->create_dir(P("wal")));
  KAYA_ASSERT_OK(disk_->create_dir(P("wal")));
  KAYA_ASSERT_OK(disk_->create_dir(RelativePath()));

  Status orphan = disk_->create_dir(P("no/parent"));
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().kind(), ErrorKind::kNotFound);

  auto in_missing = disk_->append(P("no/file"), B("x"));
  ASSERT_FALSE(in_missing.ok());
  EXPECT_EQ(in_missing.error().kind(), ErrorKind::kNotFound);
}

TEST_P(DiskContractTest, RenameReplacesTarget) {
  KAYA_ASSERT_OK(disk_->append(P("tmp"), B("new")));
  KAYA_ASSERT_OK(disk_->append(P("cur"), B("old contents")));
  // Read both first so that implementations caching descriptors have them open.
  EXPECT_EQ(contents(P("cur")), "old contents");
  EXPECT_EQ(contents(P("tmp")), "new");

  KAYA_ASSERT_OK(disk_->rename(P("tmp"), P("cur")));
  EXPECT_EQ(contents(P("cur")), "new");
  EXPECT_EQ(disk_->file_len(P("tmp")).error().kind(), ErrorKind::kNotFound);
  auto off = disk_->append(P("cur"), B("er"));
  KAYA_ASSERT_OK(off);
  EXPECT_EQ(*off, 3u);
  EXPECT_EQ(contents(P("cur")), "newer");

  Status missing = disk_->rename(P("tmp"), P("other"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
}

TEST_P(DiskContractTest, RemoveFile) {
  KAYA_ASSERT_OK(disk_->append(P("r"), B("abc")));
  KAYA_ASSERT_OK(disk_->remove_file(P("r")));
  EXPECT_EQ(disk_->file_len(P("r")).error().kind(), ErrorKind::kNotFound);
  EXPECT_TRUE(disk_->list_dir(RelativePath())->empty());
  // A new file under the same name starts empty.
  auto off = disk_->append(P("r"), B("z"));
  KAYA_ASSERT_OK(off);
  EXPECT_EQ(*off, 0u);

  KAYA_ASSERT_OK(disk_->remove_file(P("r")));
  Status again = disk_->remove_file(P("r"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind(), ErrorKind::kNotFound);
}

TEST_P(DiskContractTest, FsyncsSucceedAndNeedTheirTarget) {
  KAYA_ASSERT_OK(disk_->create_dir(P("wal")));
  KAYA_ASSERT_OK(disk_->append(P("wal/1.wal"), B("abc")));
  KAYA_EXPECT_OK(disk_->fsync_file(P("wal/1.wal")));
  KAYA_EXPECT_OK(disk_->fsync_dir(P("wal")));
  KAYA_EXPECT_OK(disk_->fsync_dir(RelativePath()));
  EXPECT_EQ(disk_->fsync_file(P("wal/2.wal")).error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(disk_->fsync_dir(P("nope")).error().kind(), ErrorKind::kNotFound);
}

TEST_P(DiskContractTest, LockConflictsWhileHeldAndSucceedsAfterRelease) {
  auto first = disk_->lock_file(P("LOCK"));
  KAYA_ASSERT_OK(first);
  auto second = disk_->lock_file(P("LOCK"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind(), ErrorKind::kLockConflict);
  EXPECT_NE(second.error().message().find(disk_->describe(P("LOCK"))), std::string::npos)
      << second.error().message();
  KAYA_EXPECT_OK(disk_->file_len(P("LOCK")));  // the lock file was created

  first->reset();
  auto third = disk_->lock_file(P("LOCK"));
  KAYA_EXPECT_OK(third);
}

// lock_held answers without taking the lock: asking never makes a lock_file fail.
TEST_P(DiskContractTest, LockHeldSaysWhetherALockIsHeldWithoutTakingIt) {
  auto absent = disk_->lock_held(P("LOCK"));
  KAYA_ASSERT_OK(absent);
  EXPECT_FALSE(*absent) << "no lock file";
  {
    auto lock = disk_->lock_file(P("LOCK"));
    KAYA_ASSERT_OK(lock);
    auto held = disk_->lock_held(P("LOCK"));
    KAYA_ASSERT_OK(held);
    EXPECT_TRUE(*held);
    // In another directory: FileDisk's lock also covers the lock file's directory.
    KAYA_ASSERT_OK(disk_->create_dir(P("d")));
    auto other = disk_->lock_held(P("d/OTHER"));
    KAYA_ASSERT_OK(other);
    EXPECT_FALSE(*other) << "another path";
  }
  auto released = disk_->lock_held(P("LOCK"));
  KAYA_ASSERT_OK(released);
  EXPECT_FALSE(*released) << "the file is there, the lock is not";
  KAYA_EXPECT_OK(disk_->file_len(P("LOCK")));
  auto again = disk_->lock_file(P("LOCK"));
  KAYA_EXPECT_OK(again);
}

TEST_P(DiskContractTest, ErrorsCarryKindAndNameThePath) {
  RelativePath missing = P("dir/missing.wal");
  KAYA_ASSERT_OK(disk_->create_dir(P("dir")));
  const std::string where = disk_->describe(missing);
  uint8_t buf[1];
  std::vector<Error> errors = {
      disk_->read_at(missing, 0, buf).error(),     disk_->file_len(missing).error(),
      disk_->write_at(missing, 0, B("x")).error(), disk_->truncate(missing, 0).error(),
      disk_->fsync_file(missing).error(),          disk_->remove_file(missing).error(),
  };
  for (const Error& error : errors) {
    EXPECT_EQ(error.kind(), ErrorKind::kNotFound) << error.to_string();
    EXPECT_NE(error.message().find(where), std::string::npos) << error.to_string();
  }
  Error list_error = disk_->list_dir(P("dir/sub")).error();
  EXPECT_EQ(list_error.kind(), ErrorKind::kNotFound);
  EXPECT_NE(list_error.message().find(disk_->describe(P("dir/sub"))), std::string::npos)
      << list_error.to_string();
}

TEST_P(DiskContractTest, ConcurrentAppendsAreAtomicAndDisjoint) {
  constexpr int kThreads = 8;
  constexpr int kAppendsPerThread = 200;
  RelativePath path = P("shared.log");
  std::vector<std::vector<std::pair<uint64_t, std::string>>> written(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppendsPerThread; ++i) {
        // Distinct content and length per append, split over several parts.
        std::string head(1 + (i % 7), static_cast<char>('a' + t));
        std::string tail =
            kaya::testing::cat("#", std::to_string(t), ":", std::to_string(i), ";");
        std::vector<ByteView> parts = {B(head), B(tail)};
        auto off = disk_->append(path, parts);
        if (!off.ok()) {
          ADD_FAILURE() << off.error().to_string();
          return;
        }
        written[t].emplace_back(*off, head + tail);
      }
    });
  }
  for (auto& thread : threads) thread.join();

  std::string all = contents(path);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  uint64_t total = 0;
  for (const auto& per_thread : written) {
    uint64_t last = 0;
    for (const auto& [offset, bytes] : per_thread) {
      EXPECT_GE(offset, last) << "appends of one thread must be ordered";
      last = offset;
      ASSERT_LE(offset + bytes.size(), all.size());
      EXPECT_EQ(all.substr(offset, bytes.size()), bytes) << "at offset " << offset;
      ranges.emplace_back(offset, offset + bytes.size());
      total += bytes.size();
    }
  }
  EXPECT_EQ(total, all.size());
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    EXPECT_EQ(ranges[i - 1].second, ranges[i].first) << "gap or overlap at range " << i;
  }
}

}  // namespace
}  // namespace kaya::io::contract
