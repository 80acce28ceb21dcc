// A real full disk: a 1 MiB tmpfs. Needs root (CAP_SYS_ADMIN) to mount.
//
// tmpfs keeps everything in memory: fdatasync is a no-op there, so this test checks
// the ENOSPC path (DiskFull, poisoning, recovery), not durability across power loss.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "io/fault_disk_testing.h"
#include "kaya/io/fault_disk.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

using kaya::testing::TempDir;
using wal::Payload;
using wal::Record;
using wal::Writer;
using namespace fault_testing;  // NOLINT(google-build-using-namespace)

class TmpfsMount {
 public:
  explicit TmpfsMount(const std::string& dir) : dir_(dir) {
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=1m") == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

TEST(RealDiskFullTest, TmpfsFullPoisonsAndRecoversAfterFreeingSpace) {
  if (::geteuid() != 0) GTEST_SKIP() << "not root: cannot mount a tmpfs";
  TempDir dir;  // destroyed after the mount guard below has unmounted
  TmpfsMount mount(dir.path());
  if (!mount.mounted()) {
    GTEST_SKIP() << "mount -t tmpfs -o size=1m on " << dir.path()
                 << " failed: " << mount.error();
  }

  std::vector<std::string> acked;  // value of LSN i at index i - 1
  {
    auto disk = FileDisk::open(dir.path()).value();
    // A filler file to free later (64 KiB).
    std::string filler(64 << 10, 'f');
    KAYA_ASSERT_OK(disk->append(path("filler"), bytes_of(filler)));
    KAYA_ASSERT_OK(disk->fsync_file(path("filler")));

    auto w = Writer::open({}, *disk);
    ASSERT_TRUE(w.ok()) << w.error().to_string();
    std::unique_ptr<Writer> writer = std::move(w).value();
    std::optional<Error> failure;
    for (uint64_t i = 1; i <= 1000 && !failure; ++i) {  // 1000 * 4 KiB > 1 MiB
      std::string value(4096, char('a' + i % 26));
      auto r = writer->append(Payload::put(key_of(i), value), kStrict);
      if (r.ok()) {
        ASSERT_EQ(r->lsn.value(), i);
        acked.push_back(value);
      } else {
        failure = r.error();
      }
    }
    ASSERT_TRUE(failure.has_value()) << "1 MiB tmpfs never filled up";
    EXPECT_EQ(failure->kind(), ErrorKind::kDiskFull) << failure->to_string();
    EXPECT_GT(acked.size(), 100u);
    EXPECT_TRUE(writer->stats().poisoned);
    auto again = writer->append(Payload::put("after", "x"), kStrict);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().kind(), ErrorKind::kDiskFull);
    writer.reset();
    KAYA_ASSERT_OK(disk->remove_file(path("filler")));
  }

  auto disk = FileDisk::open(dir.path()).value();
  std::vector<Record> got;
  wal::OpenOptions options;
  options.replay = [&](uint64_t, uint64_t, const wal::RecordView& r) {
    got.push_back(r.to_record());
    return ok_status();
  };
  auto w = Writer::open({}, *disk, options);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  std::unique_ptr<Writer> writer = std::move(w).value();
  // The failed append was never acknowledged; a partial write of it is a torn tail.
  ASSERT_GE(got.size(), acked.size());
  ASSERT_LE(got.size(), acked.size() + 1);
  for (size_t k = 0; k < acked.size(); ++k) {
    EXPECT_EQ(got[k].lsn.value(), k + 1);
    EXPECT_EQ(got[k].key, key_of(k + 1));
    EXPECT_EQ(got[k].value, acked[k]);
  }
  uint64_t next = got.size() + 1;
  for (int k = 0; k < 4; ++k, ++next) {
    auto r = writer->append(Payload::put(key_of(next), std::string(4096, 'z')), kStrict);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->lsn.value(), next);
  }
}

}  // namespace
}  // namespace kaya::io
