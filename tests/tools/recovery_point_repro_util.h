// Helpers of the recovery point reproductions (recovery_point_repro_*_test.cc),
// regression tests for recovery with a persisted recovery point (wal/RECOVERY_POINT:
// the highest position known durable and the writer's max_record_bytes), run through
// the kaya-wal binary. Each test damages a log the way a disk can and states what
// verify, dump and write must then do:
//
// - damage at or below the recovery point is corruption (exit 3), never a torn tail
//   that recovery may drop and a writer may overwrite;
// - a record that is complete and whose v1 header checksum holds, but that uses a
//   version, flag or type this kaya does not know, was written by a newer kaya
//   (exit 4), whatever its position;
// - a record larger than the reader's configured limit is read when the recovery
//   point records a writer limit that allows it; without a recovery point the error
//   names the flag to raise;
// - verify and dump (with or without --from-lsn) judge the same bytes the same way;
// - a write that refuses a damaged log leaves every segment byte as it was.
//
// Read-only commands run before write, so that each sees the damaged log and not what
// a write made of it.
//
// Each expected substring of an error is one constant below.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tools/tool_runner.h"

namespace kaya::tool::testing::rp_repro {

// Substrings the one stderr error line must contain. Loose on purpose.
inline constexpr std::string_view kSegment1 = "segment 1";
inline constexpr std::string_view kOffsetOfThirdRecord = "offset 100";  // 2 records of 50
inline constexpr std::string_view kLsn3 = "LSN 3";
inline constexpr std::string_view kRaiseRecordLimitFlag = "--max-record-bytes";
inline constexpr std::string_view kUnsupportedVersion = "unsupported version";
inline constexpr std::string_view kUnknownFlags = "unknown flags";
inline constexpr std::string_view kUnknownType = "unknown type";
inline constexpr std::string_view kBadHeaderChecksum = "header checksum";
inline constexpr std::string_view kLsnZero = "LSN 0";
inline constexpr std::string_view kFirstLostSegment = "segment 3";
inline constexpr std::string_view kCorruptionKind = "Corruption";
// Where no wording is asked for: the one error line of the tool's error contract.
inline constexpr std::string_view kAnyError = "error: ";

// The recovery point's file under the log directory.
inline constexpr std::string_view kRecoveryPointFile = "wal/RECOVERY_POINT";

// Three Puts of 50 bytes each (40 header + 8 lengths + 1 key + 1 value): LSN n at
// offset 50 * (n - 1) of segment 1, 150 bytes in all.
inline constexpr std::string_view kThreePuts = "put a 1\nput b 2\nput c 3\n";
inline constexpr size_t kPutBytes = 50;
inline constexpr size_t kLastOfThreeOffset = 2 * kPutBytes;
inline const std::vector<std::string> kFirstTwoDumped = {
    "lsn=1 sequence=1 put key=a value=1", "lsn=2 sequence=2 put key=b value=2"};

// Four strict Puts, one per segment (a 60-byte segment holds one 50-byte record).
inline constexpr std::string_view kFourPuts = "put a 1\nput b 2\nput c 3\nput d 4\n";
inline const std::vector<std::string> kOnePerSegment = {"--segment-max-bytes", "60",
                                                        "--durability", "strict"};

// ToolResult::describe() with each stream cut short: dump of a 40 MB value must not
// flood a failure message.
std::string brief(const ToolResult& r);

// Runs `kaya-wal write <dir> <flags...>` with `input`; fails unless it exits 0.
::testing::AssertionResult write_log(const std::string& dir, std::string_view input,
                                     std::vector<std::string> flags = {});

// Every segment file of the log (wal/*.wal, not wal/lost/) by name, with its bytes.
using Segments = std::map<std::string, std::string>;
Segments segments(const std::string& dir);

// Compares segment sets without printing their bytes (one holds 40 MB).
::testing::AssertionResult unchanged(const Segments& before, const Segments& after);

// Byte surgery on one file.
void edit(const std::string& path, size_t offset, std::span<const uint8_t> bytes);

void flip_bit(const std::string& path, size_t offset, uint8_t mask);

template <typename T>
void set_field(const std::string& path, size_t record_offset, size_t field_offset,
               T value) {
  uint8_t le[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) le[i] = static_cast<uint8_t>(value >> (8 * i));
  edit(path, record_offset + field_offset, le);
}

// Recomputes the header CRC of the record at `record_offset` (CRC32C of the 40 header
// bytes with the CRC field zeroed), so that a changed field passes the checksum and
// the check after it is the one exercised.
void reseal_header(const std::string& path, size_t record_offset);

}  // namespace kaya::tool::testing::rp_repro
