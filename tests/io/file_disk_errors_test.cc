// FileDisk's errors name the problem: the path and the real errno, a dangling
// symbolic link as such (never "not found"), a symbolic link loop as ELOOP.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "kaya/io/file_disk.h"
#include "testing/disk_paths.h"
#include "testing/proc_fds.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using kaya::testing::B;
using kaya::testing::P;

// The error of `r`, or an Internal error saying it succeeded.
template <typename R>
Error error_of(const R& r) {
  return r.ok() ? Error(ErrorKind::kInternal, "the call succeeded") : r.error();
}

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

class FileDiskErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    auto disk = FileDisk::open(dir_.path());
    ASSERT_TRUE(disk.ok());
    disk_ = std::move(disk).value();
    KAYA_ASSERT_OK(disk_->create_dir(P("wal")));
  }
  std::string full(std::string_view rel) { return dir_.path() + "/" + std::string(rel); }

  kaya::testing::TempDir dir_;
  std::unique_ptr<FileDisk> disk_;
};

// A segment name that is a dangling link: every call on it says so, naming the link and
// its target; none reports NotFound (which readers take for a released segment), and
// append() does not create the target.
TEST_F(FileDiskErrors, ADanglingSymbolicLinkIsAnErrorNamingIt) {
  const std::string link = full("wal/0000000000000002.wal");
  const std::string target = full("gone.wal");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  const RelativePath path = P("wal/0000000000000002.wal");
  uint8_t buf[4];
  std::vector<Error> errors = {
      error_of(disk_->file_len(path)),
      error_of(disk_->read_at(path, 0, buf)),
      error_of(disk_->write_at(path, 0, B("x"))),
      error_of(disk_->truncate(path, 0)),
      error_of(disk_->fsync_file(path)),
      error_of(disk_->append(path, B("x"))),
  };
  for (const Error& error : errors) {
    EXPECT_EQ(error.kind(), ErrorKind::kIo) << error.to_string();
    EXPECT_TRUE(contains(error.message(), link)) << error.to_string();
    EXPECT_TRUE(contains(error.message(), "dangling symbolic link")) << error.to_string();
    EXPECT_TRUE(contains(error.message(), target)) << error.to_string();
  }
  EXPECT_FALSE(std::filesystem::exists(target)) << "append created the link's target";
  auto names = disk_->list_dir(P("wal"));
  KAYA_ASSERT_OK(names);
  EXPECT_EQ(*names, std::vector<std::string>{"0000000000000002.wal"})
      << "list_dir lists the link, so that readers meet it";
}

// A link to a file that exists is followed, for reading and for appending.
TEST_F(FileDiskErrors, ASymbolicLinkToAFileIsFollowed) {
  KAYA_ASSERT_OK(disk_->append(P("real"), B("abc")));
  ASSERT_EQ(::symlink(full("real").c_str(), full("wal/link").c_str()), 0);
  auto off = disk_->append(P("wal/link"), B("d"));
  KAYA_ASSERT_OK(off);
  EXPECT_EQ(*off, 3u);
  EXPECT_EQ(*disk_->file_len(P("real")), 4u);
}

TEST_F(FileDiskErrors, ASymbolicLinkLoopIsNamedAsSuch) {
  ASSERT_EQ(::symlink("loop", full("loop").c_str()), 0);
  const std::string eloop = "Too many levels of symbolic links";
  auto listed = disk_->list_dir(P("loop"));
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind(), ErrorKind::kIo);
  EXPECT_TRUE(contains(listed.error().message(), eloop)) << listed.error().message();
  EXPECT_TRUE(contains(listed.error().message(), full("loop")))
      << listed.error().message();

  Status created = disk_->create_dir(P("loop"));
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(contains(created.error().message(), eloop)) << created.error().message();

  auto len = disk_->file_len(P("loop/x.wal"));
  ASSERT_FALSE(len.ok());
  EXPECT_EQ(len.error().kind(), ErrorKind::kIo);
  EXPECT_TRUE(contains(len.error().message(), eloop)) << len.error().message();

  auto rooted = FileDisk::open(full("loop"), /*create=*/false);
  ASSERT_FALSE(rooted.ok());
  EXPECT_TRUE(contains(rooted.error().message(), eloop)) << rooted.error().message();
}

TEST_F(FileDiskErrors, CreateDirOverAFileSaysWhatIsThere) {
  KAYA_ASSERT_OK(disk_->append(P("file"), B("x")));
  Status created = disk_->create_dir(P("file"));
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(contains(created.error().message(), "not a directory"))
      << created.error().message();
}

std::string result_text(const Error& error) { return error.to_string() + "\n"; }

// Permission denied on a directory on the way is reported as that, with the path: not
// as "no such file or directory".
TEST_F(FileDiskErrors, PermissionDeniedIsReportedAsSuch) {
  KAYA_ASSERT_OK(disk_->append(P("wal/0000000000000001.wal"), B("x")));
  // Everyone may enter the disk root (and the temporary directory holding it) but not
  // wal/; the parent of the closed root lets no one in.
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(full("wal").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(full("closed").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(full("closed/root").c_str(), 0755), 0);
  const std::string root = dir_.path();
  const std::string text = kaya::testing::run_unprivileged([&] {
    std::string out;
    auto disk = FileDisk::open(root, /*create=*/false);
    if (!disk.ok()) return "open: " + result_text(disk.error());
    uint8_t buf[1];
    const RelativePath seg = P("wal/0000000000000001.wal");
    out += result_text(error_of((*disk)->list_dir(P("wal"))));
    out += result_text(error_of((*disk)->file_len(seg)));
    out += result_text(error_of((*disk)->read_at(seg, 0, buf)));
    out += result_text(error_of(FileDisk::open(root + "/closed/root", false)));
    out += result_text(error_of(FileDisk::open(root + "/closed/root/new", true)));
    return out;
  });
  const std::vector<std::string> where = {full("wal"), full("wal/0000000000000001.wal"),
                                          full("wal/0000000000000001.wal"),
                                          full("closed/root"), full("closed/root/new")};
  size_t at = 0;
  for (const std::string& path : where) {
    const size_t eol = text.find('\n', at);
    ASSERT_NE(eol, std::string::npos) << text;
    const std::string line = text.substr(at, eol - at);
    at = eol + 1;
    EXPECT_TRUE(line.starts_with("Io: ")) << line;
    EXPECT_TRUE(contains(line, "Permission denied")) << line;
    EXPECT_TRUE(contains(line, path)) << line;
  }
}

}  // namespace
}  // namespace kaya::io
