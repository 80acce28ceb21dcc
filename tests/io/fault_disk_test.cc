// FaultDisk on its own: faults scheduled by kind and count, forwarded otherwise (end to
// end with a Writer: fault_disk_writer_test.cc, fault_disk_mapped_test.cc,
// real_disk_full_test.cc).
#include "kaya/io/fault_disk.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "io/fault_disk_testing.h"
#include "kaya/io/file_disk.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using kaya::testing::TempDir;
using namespace fault_testing;  // NOLINT(google-build-using-namespace)

std::string read_all(Disk& disk, std::string_view name) {
  uint64_t len = disk.file_len(path(name)).value();
  std::string out(len, '\0');
  auto n = read_full(disk, path(name), 0,
                     {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  EXPECT_TRUE(n.ok());
  return out;
}

TEST(FaultDiskTest, ForwardsWhenNoFaultIsScheduled) {
  TempDir dir;
  auto file = FileDisk::open(dir.path()).value();
  FaultDisk disk(*file);
  KAYA_ASSERT_OK(disk.append(path("a"), bytes_of("hello")));
  KAYA_ASSERT_OK(disk.fsync_file(path("a")));
  KAYA_ASSERT_OK(disk.fsync_dir(path("")));
  EXPECT_EQ(read_all(*file, "a"), "hello");
  EXPECT_EQ(disk.inner_fsync_file_count(), 1u);
  EXPECT_EQ(disk.inner_fsync_dir_count(), 1u);
  EXPECT_EQ(disk.describe(path("a")), file->describe(path("a")));
  for (int k = 0; k < kFaultKindCount; ++k) {
    EXPECT_EQ(disk.faults_injected(static_cast<FaultKind>(k)), 0u);
  }
}

TEST(FaultDiskTest, FailsTheNthOperationOfAKindOnly) {
  TempDir dir;
  auto file = FileDisk::open(dir.path()).value();
  FaultDisk disk(*file);
  disk.fail_nth(FaultKind::kFsyncFailure, 2);
  KAYA_ASSERT_OK(disk.append(path("a"), bytes_of("x")));  // not an fsync: not counted
  KAYA_ASSERT_OK(disk.fsync_file(path("a")));
  auto failed = disk.fsync_dir(path(""));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::kFsyncFailed);
  EXPECT_NE(failed.error().message().find("injected"), std::string::npos);
  KAYA_ASSERT_OK(disk.fsync_file(path("a")));  // the schedule fired once
  EXPECT_EQ(disk.faults_injected(FaultKind::kFsyncFailure), 1u);
  EXPECT_EQ(disk.inner_fsync_file_count(), 2u);
  EXPECT_EQ(disk.inner_fsync_dir_count(), 0u);  // the failed one never reached it
}

TEST(FaultDiskTest, WriteFaultsWriteNothingOrAStrictPrefix) {
  TempDir dir;
  auto file = FileDisk::open(dir.path()).value();
  FaultDisk disk(*file);
  KAYA_ASSERT_OK(disk.append(path("a"), bytes_of("0123")));

  disk.fail_nth(FaultKind::kWriteError);
  auto r = disk.append(path("a"), bytes_of("abcdef"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo);
  disk.fail_nth(FaultKind::kDiskFull);
  r = disk.append(path("a"), bytes_of("abcdef"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kDiskFull);
  EXPECT_EQ(read_all(*file, "a"), "0123");

  // A short append cuts across parts: 3 + 5 bytes, the first 4 land.
  disk.fail_nth(FaultKind::kShortWrite);
  ByteView parts[] = {bytes_of("abc"), bytes_of("defgh")};
  r = disk.append(path("a"), std::span<const ByteView>(parts));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo);
  EXPECT_EQ(read_all(*file, "a"), "0123abcd");

  disk.fail_nth(FaultKind::kShortWrite);
  auto s = disk.write_at(path("a"), 0, bytes_of("WXYZ"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::kIo);
  EXPECT_EQ(read_all(*file, "a"), "WX23abcd");

  disk.fail_nth(FaultKind::kReadError);
  uint8_t buf[4];
  auto rd = disk.read_at(path("a"), 0, buf);
  ASSERT_FALSE(rd.ok());
  EXPECT_EQ(rd.error().kind(), ErrorKind::kIo);

  EXPECT_EQ(disk.faults_injected(FaultKind::kWriteError), 1u);
  EXPECT_EQ(disk.faults_injected(FaultKind::kDiskFull), 1u);
  EXPECT_EQ(disk.faults_injected(FaultKind::kShortWrite), 2u);
  EXPECT_EQ(disk.faults_injected(FaultKind::kReadError), 1u);
}

TEST(FaultDiskTest, WriteKindsAreConsultedInOrderAndOnlyOneFires) {
  TempDir dir;
  auto file = FileDisk::open(dir.path()).value();
  FaultDisk disk(*file);
  disk.fail_nth(FaultKind::kWriteError);
  disk.fail_nth(FaultKind::kDiskFull);
  auto r = disk.append(path("a"), bytes_of("abc"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo);
  // kDiskFull was not consulted for that call: it fires on the next one.
  r = disk.append(path("a"), bytes_of("abc"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kDiskFull);
  disk.clear_faults();
  KAYA_ASSERT_OK(disk.append(path("a"), bytes_of("abc")));
}

}  // namespace
}  // namespace kaya::io
