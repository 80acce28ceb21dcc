// Recovery of a damaged last record (torn tails) and of zero-filled tails, in every
// recovery mode (scenarios: recovery_scenario.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery.h"
#include "wal/recovery_scenario.h"

namespace kaya::wal {
namespace {

using io::SimDisk;
using namespace recovery_testing;  // NOLINT(google-build-using-namespace)

// Torn tails: the last record of the last segment is damaged and nothing valid follows.

Scenario torn_last_record(uint64_t byte_in_record, std::string reason) {
  Scenario s;
  s.name = "flip byte " + std::to_string(byte_in_record) + " of the last record";
  s.damage = [byte_in_record](io::Disk& disk, Log&) {
    flip_byte(disk, 3, 2 * kRecordBytes + byte_in_record);
  };
  s.kind = AnomalyKind::kTornTail;
  s.segment_id = 3;
  s.offset = 2 * kRecordBytes;
  // A damaged payload leaves the header, and so the record's LSN, trustworthy.
  if (byte_in_record >= format::kHeaderLen) s.lsn = Lsn(9);
  s.reason = std::move(reason);
  s.kept = 8;
  s.segments = {1, 2, 3};
  s.cuts = {{3, 2 * kRecordBytes, kRecordBytes}};
  return s;
}

TEST(RecoveryTornTailTest, FlippedPayloadByteInTheLastRecord) {
  check_scenario(torn_last_record(60, "bad payload checksum"));
}

TEST(RecoveryTornTailTest, FlippedHeaderByteInTheLastRecord) {
  check_scenario(torn_last_record(format::kLsnOffset, "bad header checksum"));
}

TEST(RecoveryTornTailTest, FlippedByteInTheLastRecordOnFileDisk) {
  check_scenario(torn_last_record(60, "nothing valid follows"), DiskType::kFile);
}

TEST(RecoveryTornTailTest, TruncationAtEveryByteOfTheLastRecordIsATornTail) {
  for (uint64_t len = 2 * kRecordBytes + 1; len < kSegmentBytes; ++len) {
    Scenario s;
    s.name = "segment 3 truncated to " + std::to_string(len) + " bytes";
    s.damage = [len](io::Disk& disk, Log&) { truncate_segment(disk, 3, len); };
    s.kind = AnomalyKind::kTornTail;
    s.segment_id = 3;
    s.offset = 2 * kRecordBytes;
    const bool header_whole = len - s.offset >= format::kHeaderLen;
    s.reason = header_whole ? "partial payload" : "partial header";
    // A whole header verifies and names the record it starts.
    if (header_whole) s.lsn = Lsn(9);
    s.kept = 8;
    s.segments = {1, 2, 3};
    s.cuts = {{3, 2 * kRecordBytes, len - 2 * kRecordBytes}};
    check_scenario(s);
    if (HasFailure()) return;  // one failing length tells enough
  }
}

TEST(RecoveryTornTailTest, TruncationAtARecordBoundaryIsClean) {
  for (uint64_t len : {kSegmentBytes, 2 * kRecordBytes, kRecordBytes, uint64_t{0}}) {
    SCOPED_TRACE("segment 3 truncated to " + std::to_string(len) + " bytes");
    SimDisk disk;
    Log log = write_log(disk);
    truncate_segment(disk, 3, len);
    const size_t kept = 6 + len / kRecordBytes;
    expect_clean(disk,
                 std::vector<Record>(log.records.begin(), log.records.begin() + kept),
                 {1, 2, 3});
  }
}

// Space preallocated by a writer that stopped before filling it reads as zeros: the
// log ends cleanly there, whatever its length (shorter than a header too).
TEST(RecoveryTornTailTest, ZeroFilledTailIsPreallocatedSpaceAndClean) {
  for (size_t zeros : {size_t{1}, size_t{39}, size_t{4096}, size_t{1} << 20}) {
    SCOPED_TRACE(std::to_string(zeros) + " zero bytes after the last record");
    SimDisk disk;
    Log log = write_log(disk);
    append_to_segment(disk, 3, Bytes(zeros, 0));
    expect_clean(disk, log.records, {1, 2, 3});
  }
}

TEST(RecoveryTornTailTest, TornRecordFollowedByZerosIsATornTail) {
  Scenario s;
  s.name = "the last record cut after 50 bytes, then 4096 zero bytes";
  s.damage = [](io::Disk& disk, Log&) {
    truncate_segment(disk, 3, 2 * kRecordBytes + 50);
    append_to_segment(disk, 3, Bytes(4096, 0));
  };
  s.kind = AnomalyKind::kTornTail;
  s.segment_id = 3;
  s.offset = 2 * kRecordBytes;
  s.lsn = Lsn(9);
  s.reason = "bad payload checksum";
  s.kept = 8;
  s.segments = {1, 2, 3};
  s.cuts = {{3, 2 * kRecordBytes, 50 + 4096}};
  check_scenario(s);
}

TEST(RecoveryCorruptionTest, ZeroedRecordFollowedByValidOnesIsCorruption) {
  Scenario s;
  s.name = "record 8 (segment 3, offset 95) zeroed";
  s.damage = [](io::Disk& disk, Log&) {
    write_segment_at(disk, 3, kRecordBytes, Bytes(kRecordBytes, 0));
  };
  s.segment_id = 3;
  s.offset = kRecordBytes;
  s.reason = "followed by a valid record at offset 190";
  s.kept = 7;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kRecordBytes, 2 * kRecordBytes}};
  check_scenario(s);
}

TEST(RecoveryTornTailTest, GarbageTail) {
  Scenario s;
  s.name = "4096 random bytes (no magic) after the last record";
  s.damage = [](io::Disk& disk, Log&) { append_to_segment(disk, 3, garbage(4096, 7)); };
  s.kind = AnomalyKind::kTornTail;
  s.segment_id = 3;
  s.offset = kSegmentBytes;
  s.reason = "nothing valid follows";
  s.kept = 9;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kSegmentBytes, 4096}};
  check_scenario(s);
}

// A Bytes record that carries a complete, valid encoded record in its payload, torn
// inside that payload: the header is intact, so recovery must look for later records
// only past the declared length, and the record inside must not count as one.
TEST(RecoveryTornTailTest, RecordInsideATornPayloadIsNotALogRecord) {
  // After 7 records segment 3 holds one (95 bytes); the Bytes record follows it.
  const Bytes inner = encode(Payload::put("inner", "record"), Lsn(8), SequenceNumber(8))
                          .value();  // carries the very LSN recovery expects next
  const std::string payload = std::string(20, 'x') +
                              std::string(inner.begin(), inner.end()) +
                              std::string(30, 'y');
  const uint64_t outer_len = format::kHeaderLen + payload.size();
  auto write_outer = [payload](io::Disk& disk, Log& log) {
    append_records(disk, log, {Payload::bytes(payload)}, kExtensionBytes);
    ASSERT_EQ(log.appends.back().segment_id, 3u);
    ASSERT_EQ(log.appends.back().offset, kRecordBytes);
  };
  auto scenario = [&](std::string name, std::string reason, uint64_t cut_bytes) {
    Scenario s;
    s.name = std::move(name);
    s.written = 7;
    s.kind = AnomalyKind::kTornTail;
    s.segment_id = 3;
    s.offset = kRecordBytes;
    s.reason = std::move(reason);
    s.kept = 7;
    s.segments = {1, 2, 3};
    s.cuts = {{3, kRecordBytes, cut_bytes}};
    return s;
  };
  for (uint64_t len = 1; len < outer_len; ++len) {
    Scenario s =
        scenario("Bytes record cut after " + std::to_string(len) + " bytes",
                 len < format::kHeaderLen ? "partial header" : "partial payload", len);
    if (len >= format::kHeaderLen) s.lsn = Lsn(8);  // the whole header names it
    s.damage = [write_outer, len](io::Disk& disk, Log& log) {
      write_outer(disk, log);
      truncate_segment(disk, 3, kRecordBytes + len);
    };
    check_scenario(s);
    if (HasFailure()) return;
  }
  // Complete, but with a byte of the trailing filler flipped.
  Scenario s =
      scenario("Bytes record with a bad payload", "bad payload checksum", outer_len);
  s.lsn = Lsn(8);
  s.damage = [write_outer, outer_len](io::Disk& disk, Log& log) {
    write_outer(disk, log);
    flip_byte(disk, 3, kRecordBytes + outer_len - 1);
  };
  check_scenario(s);
}

}  // namespace
}  // namespace kaya::wal
