// The Disk contract suite (disk_contract_test.cc) on the local backends.
#include "disk_contract.h"
#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"

namespace kaya::io::contract {
namespace {

INSTANTIATE_TEST_SUITE_P(
    Disks, DiskContractTest,
    ::testing::Values(DiskFactory{"FileDisk",
                                  [](const std::string& root) -> std::unique_ptr<Disk> {
                                    auto disk = FileDisk::open(root + "/disk");
                                    if (!disk.ok()) return nullptr;
                                    return std::move(disk).value();
                                  }},
                      DiskFactory{"SimDisk",
                                  [](const std::string&) -> std::unique_ptr<Disk> {
                                    SimDiskOptions options;
                                    options.seed = 7;
                                    options.short_reads = true;  // callers must loop
                                    return std::make_unique<SimDisk>(options);
                                  }},
                      DiskFactory{"SimDiskSectors",
                                  [](const std::string&) -> std::unique_ptr<Disk> {
                                    SimDiskOptions options;
                                    options.seed = 7;
                                    options.short_reads = true;
                                    options.persistence = CrashPersistence::kSectors;
                                    return std::make_unique<SimDisk>(options);
                                  }}),
    [](const ::testing::TestParamInfo<DiskFactory>& param_info) {
      return param_info.param.name;
    });

}  // namespace
}  // namespace kaya::io::contract
