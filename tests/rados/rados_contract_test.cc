// The Disk contract suite (tests/io/disk_contract_test.cc) on RadosDisk, each case in a
// namespace of its own on the test cluster.
#include <cstdio>

#include "io/disk_contract.h"
#include "rados_test_util.h"

namespace kaya::io::contract {
namespace {

INSTANTIATE_TEST_SUITE_P(Rados, DiskContractTest,
                         ::testing::Values(DiskFactory{
                             "RadosDisk",
                             [](const std::string&) -> std::unique_ptr<Disk> {
                               auto disk = rados_testing::open_test_disk(
                                   rados_testing::test_options("contract"));
                               if (!disk.ok()) {
                                 std::fprintf(stderr, "%s\n",
                                              disk.error().to_string().c_str());
                                 return nullptr;
                               }
                               return std::move(disk).value();
                             }}),
                         [](const ::testing::TestParamInfo<DiskFactory>& param_info) {
                           return param_info.param.name;
                         });

}  // namespace
}  // namespace kaya::io::contract
