// The Disk contract suite, shared by every Disk implementation: the cases live in
// disk_contract_test.cc; each backend instantiates them with its DiskFactory
// (disk_contract_local_test.cc for FileDisk and SimDisk, tests/rados/ for RadosDisk).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "kaya/io/disk.h"
#include "testing/disk_paths.h"
#include "testing/test_util.h"

namespace kaya::io::contract {

struct DiskFactory {
  std::string name;
  // Makes a fresh, empty disk; `root` is a temporary directory it may use. A null
  // result fails the test (the factory prints why).
  std::function<std::unique_ptr<Disk>(const std::string& root)> make;
};

inline std::ostream& operator<<(std::ostream& out, const DiskFactory& factory) {
  return out << factory.name;
}

using kaya::testing::B;
using kaya::testing::P;

class DiskContractTest : public ::testing::TestWithParam<DiskFactory> {
 protected:
  void SetUp() override {
    disk_ = GetParam().make(dir_.path());
    ASSERT_NE(disk_, nullptr) << "the " << GetParam().name << " factory failed";
  }

  // The whole file as a string (via read_full).
  std::string contents(const RelativePath& path) {
    auto len = disk_->file_len(path);
    EXPECT_TRUE(len.ok()) << len.error().to_string();
    if (!len.ok()) return "";
    std::string out(*len, '\0');
    auto n =
        read_full(*disk_, path, 0,
                  std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
    EXPECT_TRUE(n.ok()) << n.error().to_string();
    if (!n.ok()) return "";
    out.resize(*n);
    return out;
  }

  kaya::testing::TempDir dir_;
  std::unique_ptr<Disk> disk_;
};

}  // namespace kaya::io::contract
