// Helpers of the FaultDisk tests, and the fixture of the end to end ones: a Writer on
// FaultDisk over FileDisk in a temporary directory (fault_disk_writer_test.cc,
// fault_disk_mapped_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kaya/io/fault_disk.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"

namespace kaya::io::fault_testing {

inline constexpr auto kStrict = wal::DurabilityMode::kStrict;
inline constexpr auto kRelaxed = wal::DurabilityMode::kRelaxed;

RelativePath path(std::string_view text);
ByteView bytes_of(std::string_view s);

// The key and value of record `i` (LSN i).
std::string key_of(uint64_t i);
std::string value_of(uint64_t i);

// The system-call write path (preallocate_bytes = 0), where every batch is a write
// that can fail; WriterOnFaultDiskMapped (fault_disk_mapped_test.cc) covers the mapped
// path.
class WriterOnFaultDisk : public ::testing::Test {
 protected:
  virtual wal::WalConfig config() const;

  void SetUp() override;

  // Appends record `i`; records it as acknowledged when the append succeeds.
  Result<wal::AppendResult> append(uint64_t i, wal::DurabilityMode mode);

  // Some acknowledged strict and relaxed appends (1..n).
  void append_ok(uint64_t n);

  // The failing append and later ones all fail with `kind`; the writer is poisoned.
  void expect_poisoned(ErrorKind kind);

  // Closes the poisoned writer, reopens the directory with a new Writer on a plain
  // FileDisk and checks: every acknowledged record is back, in order, followed by at
  // most `may_extra` records (failed appends that did reach the file), and the log
  // continues right after the last record recovered.
  std::unique_ptr<wal::Writer> reopen_and_check(
      Disk& disk, uint64_t may_extra, wal::RecoveryReport* report_out = nullptr);

  kaya::testing::TempDir dir_;
  std::unique_ptr<FileDisk> file_;
  std::unique_ptr<FaultDisk> fault_;
  std::unique_ptr<wal::Writer> writer_;
  std::vector<uint64_t> acked_;
};

}  // namespace kaya::io::fault_testing
