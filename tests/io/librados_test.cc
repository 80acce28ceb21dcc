// kaya loads librados when the first RadosDisk opens (src/io/librados.h): a process
// that never opens one does not load Ceph's libraries, and a library that cannot be
// loaded or lacks a function is an error naming it. No cluster needed.
#include "io/librados.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "kaya/io/rados_disk.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

// Whether this process has mapped a file whose name contains `name`.
bool mapped(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str().find(name) != std::string::npos;
}

TEST(LibradosTest, AMissingLibraryIsNamedWithThePackageToInstall) {
  auto loaded = open_librados("libkaya-test-no-such-library.so.9");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().kind(), ErrorKind::kIo);
  EXPECT_NE(loaded.error().message().find("libkaya-test-no-such-library.so.9"),
            std::string::npos)
      << loaded.error().message();
  EXPECT_NE(loaded.error().message().find("install the librados2 package"),
            std::string::npos)
      << loaded.error().message();
}

TEST(LibradosTest, ALibraryWithoutTheFunctionsIsRefusedNamingTheFirstMissing) {
  auto loaded = open_librados("libc.so.6");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().kind(), ErrorKind::kIo);
  EXPECT_NE(loaded.error().message().find("libc.so.6: it has no function "
                                          "rados_aio_create_completion2"),
            std::string::npos)
      << loaded.error().message();
}

TEST(LibradosTest, TheInstalledLibraryHasEveryFunction) {
  auto loaded = open_librados(kLibradosSoname);
  KAYA_ASSERT_OK(loaded);
#define KAYA_EXPECT_FOUND(name) EXPECT_NE(loaded->name, nullptr) << #name;
  KAYA_LIBRADOS_FUNCTIONS(KAYA_EXPECT_FOUND)
#undef KAYA_EXPECT_FOUND
}

// ctest runs each test in its own process, so nothing before this test loaded it.
TEST(LibradosTest, NotLoadedUntilARadosDiskOpens) {
  EXPECT_FALSE(mapped("librados.so")) << "librados is loaded before any RadosDisk";
  RadosDiskOptions options;
  options.pool = "kaya";
  options.conf_path = "/nonexistent/kaya-test/ceph.conf";
  auto disk = RadosDisk::open(options);
  ASSERT_FALSE(disk.ok());
  EXPECT_NE(disk.error().message().find("cannot read the Ceph configuration"),
            std::string::npos)
      << disk.error().message();
  EXPECT_TRUE(mapped("librados.so")) << "RadosDisk::open did not load librados";
}

}  // namespace
}  // namespace kaya::io
