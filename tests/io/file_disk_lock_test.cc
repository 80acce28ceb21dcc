// FileDisk's writer lock holds against a lock file that is removed, replaced or made a
// symbolic link.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "kaya/io/file_disk.h"
#include "testing/disk_paths.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using kaya::testing::P;

class FileDiskLock : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = FileDisk::open(dir_.path());
    auto b = FileDisk::open(dir_.path());
    ASSERT_TRUE(a.ok() && b.ok());
    first_ = std::move(a).value();
    second_ = std::move(b).value();
    KAYA_ASSERT_OK(first_->create_dir(P("wal")));
    lock_path_ = dir_.path() + "/wal/LOCK";
  }

  void expect_conflict(const char* why) {
    auto again = second_->lock_file(P("wal/LOCK"));
    ASSERT_FALSE(again.ok()) << why << ": a second holder got the lock";
    EXPECT_EQ(again.error().kind(), ErrorKind::kLockConflict)
        << again.error().to_string();
    EXPECT_NE(again.error().message().find(lock_path_), std::string::npos)
        << again.error().message();
    EXPECT_NE(again.error().message().find("is held by another process"),
              std::string::npos)
        << again.error().message();
  }

  kaya::testing::TempDir dir_;
  std::unique_ptr<FileDisk> first_, second_;
  std::string lock_path_;
};

TEST_F(FileDiskLock, RemovingTheLockFileDoesNotAdmitASecondHolder) {
  auto held = first_->lock_file(P("wal/LOCK"));
  KAYA_ASSERT_OK(held);
  ASSERT_EQ(::unlink(lock_path_.c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(expect_conflict("after rm wal/LOCK"));
  auto asked = second_->lock_held(P("wal/LOCK"));
  KAYA_ASSERT_OK(asked);
  EXPECT_TRUE(*asked) << "lock_held sees the directory's lock";

  held->reset();
  auto after = second_->lock_held(P("wal/LOCK"));
  KAYA_ASSERT_OK(after);
  EXPECT_FALSE(*after);
  KAYA_EXPECT_OK(second_->lock_file(P("wal/LOCK")));
}

TEST_F(FileDiskLock, ReplacingTheLockFileDoesNotAdmitASecondHolder) {
  auto held = first_->lock_file(P("wal/LOCK"));
  KAYA_ASSERT_OK(held);
  const std::string other = dir_.path() + "/wal/LOCK.new";
  const int fd = ::open(other.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ASSERT_EQ(::rename(other.c_str(), lock_path_.c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(expect_conflict("after the lock file was replaced"));
}

TEST_F(FileDiskLock, ADanglingSymbolicLinkIsRefusedAndItsTargetNotCreated) {
  const std::string target = dir_.path() + "/elsewhere";
  ASSERT_EQ(::symlink(target.c_str(), lock_path_.c_str()), 0);
  auto lock = first_->lock_file(P("wal/LOCK"));
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.error().kind(), ErrorKind::kLockConflict);
  EXPECT_NE(lock.error().message().find(lock_path_), std::string::npos)
      << lock.error().message();
  EXPECT_NE(lock.error().message().find("symbolic link"), std::string::npos)
      << lock.error().message();
  EXPECT_NE(lock.error().message().find(target), std::string::npos)
      << lock.error().message();
  EXPECT_FALSE(std::filesystem::exists(target)) << "the link's target was created";
  // Nor is the directory left locked by the failed attempt.
  ASSERT_EQ(::unlink(lock_path_.c_str()), 0);
  KAYA_EXPECT_OK(second_->lock_file(P("wal/LOCK")));
}

TEST_F(FileDiskLock, ASymbolicLinkToAFileIsRefused) {
  const std::string target = dir_.path() + "/real-lock";
  const int fd = ::open(target.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ASSERT_EQ(::symlink(target.c_str(), lock_path_.c_str()), 0);
  auto lock = first_->lock_file(P("wal/LOCK"));
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.error().message().find("symbolic link"), std::string::npos)
      << lock.error().message();
}

TEST_F(FileDiskLock, ALockFileThatIsADirectoryIsRefused) {
  ASSERT_EQ(::mkdir(lock_path_.c_str(), 0755), 0);
  auto lock = first_->lock_file(P("wal/LOCK"));
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.error().message().find(lock_path_), std::string::npos)
      << lock.error().message();
}

}  // namespace
}  // namespace kaya::io
