// Helpers of the recovery point file tests (recovery_point_file_*_test.cc): sample
// points, slot images, byte surgery with the tests' own little-endian code, and a wal/
// directory on a SimDisk.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/recovery_point.h"
#include "testing/record_bytes.h"

namespace kaya::wal {

// Prints a point in gtest's failure messages.
void PrintTo(const RecoveryPoint& p, std::ostream* os);

namespace rp_file_testing {

namespace rf = rp_format;
using kaya::testing::Bytes;

inline constexpr std::string_view kWhere = "test slot";

// Little-endian helpers of the tests' own (testing/record_bytes.h), so that a bug
// shared with kaya's cannot hide.
using kaya::testing::get_le;
using kaya::testing::set_le;

// Recomputes a slot's CRC (over bytes 0..124), so that the next check is exercised.
void fix_crc(Bytes& slot);

// Every field set, each to a value no other field has.
RecoveryPoint sample(uint64_t generation = 7);

// Encodes into a buffer full of 0xAA, so that bytes encode_slot leaves alone show.
Bytes encode(const RecoveryPoint& p);

Result<RecoveryPoint> decode(const Bytes& slot);

// The file image of two slots.
Bytes file_of(const Bytes& slot0, const Bytes& slot1);

// Expects an error of `kind` whose message holds every one of `needles`.
template <typename T>
void expect_error(const Result<T>& r, ErrorKind kind,
                  const std::vector<std::string>& needles) {
  ASSERT_FALSE(r.ok()) << "expected " << to_string(kind);
  EXPECT_EQ(to_string(r.error().kind()), to_string(kind)) << r.error().message();
  for (const std::string& needle : needles) {
    EXPECT_NE(r.error().message().find(needle), std::string::npos)
        << "\"" << r.error().message() << "\" lacks \"" << needle << "\"";
  }
}

io::RelativePath rel(std::string_view path);
inline const io::RelativePath kFile = rel(rf::kFile);
inline const io::RelativePath kTemp = rel(rf::kTempFile);
inline const io::RelativePath kWal = rel("wal");

// A SimDisk holding an empty, durable wal/ directory.
void make_wal_dir(io::SimDisk& disk);

bool absent(io::SimDisk& disk, const io::RelativePath& path);

// The recovery point file's bytes.
Bytes file_bytes(io::SimDisk& disk);

Bytes slot_of(const Bytes& file, size_t i);

}  // namespace rp_file_testing
}  // namespace kaya::wal
