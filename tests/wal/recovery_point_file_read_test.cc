// Reading the recovery point file (the choice between its two slots) and the
// alternating slot writes of RecoveryPointFile.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/recovery_point.h"
#include "testing/test_util.h"
#include "wal/recovery_point_file_util.h"

namespace kaya::wal {
namespace {

using namespace rp_file_testing;  // NOLINT(google-build-using-namespace)

// Replaces the file with `bytes`, durably.
void put_file(io::SimDisk& disk, const Bytes& bytes) {
  Status removed = disk.remove_file(kFile);
  ASSERT_TRUE(removed.ok() || removed.error().kind() == ErrorKind::kNotFound);
  if (!bytes.empty()) {
    KAYA_ASSERT_OK(disk.append(kFile, bytes));
  } else {
    KAYA_ASSERT_OK(disk.append(kFile, Bytes{0}));
    KAYA_ASSERT_OK(disk.truncate(kFile, 0));
  }
  KAYA_ASSERT_OK(disk.fsync_file(kFile));
  KAYA_ASSERT_OK(disk.fsync_dir(kWal));
}

// A slot cut by a torn write: its first `keep` bytes, then zeros.
Bytes torn(const Bytes& slot, size_t keep) {
  Bytes s(rf::kSlotBytes, 0);
  std::copy(slot.begin(), slot.begin() + static_cast<ptrdiff_t>(keep), s.begin());
  return s;
}

TEST(RecoveryPointFileRead, AbsentFileIsNoRecoveryPoint) {
  io::SimDisk disk;
  {
    auto r = read_recovery_point(disk);  // not even a wal/ directory
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_FALSE(r->has_value());
  }
  make_wal_dir(disk);
  auto r = read_recovery_point(disk);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_FALSE(r->has_value());
}

TEST(RecoveryPointFileRead, WrongSizeIsCorruptionNamingTheFileAndTheRepair) {
  io::SimDisk disk;
  make_wal_dir(disk);
  const Bytes good = file_of(encode(sample()), encode(sample()));
  for (size_t len : {size_t{0}, size_t{1}, rf::kSlotBytes, rf::kFileBytes - 1,
                     rf::kFileBytes + 1, 2 * rf::kFileBytes}) {
    SCOPED_TRACE("length " + std::to_string(len));
    Bytes bytes = good;
    bytes.resize(len, 0);
    put_file(disk, bytes);
    expect_error(read_recovery_point(disk), ErrorKind::kCorruption,
                 {disk.describe(kFile), std::to_string(len) + " bytes",
                  "--rebuild-recovery-point"});
  }
}

TEST(RecoveryPointFileRead, ATornSlotLeavesTheOther) {
  io::SimDisk disk;
  make_wal_dir(disk);
  const Bytes old_slot = encode(sample(5));
  const Bytes new_slot = encode(sample(6));
  for (size_t keep : {size_t{0}, size_t{1}, size_t{8}, size_t{64}, rf::kSlotLen - 1}) {
    for (size_t torn_slot : {0, 1}) {
      SCOPED_TRACE("slot " + std::to_string(torn_slot) + " torn after " +
                   std::to_string(keep) + " bytes");
      // The torn slot held the newer value: the older, intact one is read.
      const Bytes cut = torn(new_slot, keep);
      put_file(disk, torn_slot == 0 ? file_of(cut, old_slot) : file_of(old_slot, cut));
      auto r = read_recovery_point(disk);
      ASSERT_TRUE(r.ok()) << r.error().to_string();
      ASSERT_TRUE(r->has_value());
      EXPECT_EQ(**r, sample(5));
    }
  }
}

TEST(RecoveryPointFileRead, BothSlotsBadIsCorruptionNamingTheFileAndTheRepair) {
  io::SimDisk disk;
  make_wal_dir(disk);
  Bytes a = encode(sample(5));
  Bytes b = encode(sample(6));
  a[rf::kGenerationOffset] ^= 1;
  b[rf::kMagicOffset] ^= 1;
  put_file(disk, file_of(a, b));
  expect_error(read_recovery_point(disk), ErrorKind::kCorruption,
               {disk.describe(kFile), "neither recovery point slot is valid",
                "slot 0: bad slot checksum", "--rebuild-recovery-point"});
  put_file(disk, Bytes(rf::kFileBytes, 0));
  expect_error(read_recovery_point(disk), ErrorKind::kCorruption,
               {disk.describe(kFile), "neither", "--rebuild-recovery-point"});
}

TEST(RecoveryPointFileRead, TheValidSlotWithTheHigherGenerationWins) {
  io::SimDisk disk;
  make_wal_dir(disk);
  RecoveryPoint older = sample(41);
  RecoveryPoint newer = sample(42);
  newer.durable.lsn = Lsn(2000);  // the values differ beyond their generation
  for (bool newer_first : {true, false}) {
    SCOPED_TRACE(newer_first ? "newer in slot 0" : "newer in slot 1");
    put_file(disk, newer_first ? file_of(encode(newer), encode(older))
                               : file_of(encode(older), encode(newer)));
    auto r = read_recovery_point(disk);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(**r, newer);
  }
  // Generations compare as unsigned 64-bit numbers.
  put_file(disk, file_of(encode(sample(UINT64_MAX)), encode(sample(1))));
  auto r = read_recovery_point(disk);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->generation, UINT64_MAX);
}

TEST(RecoveryPointFileRead, ANewerSlotIsRefusedEvenWhenTheOtherIsValid) {
  io::SimDisk disk;
  make_wal_dir(disk);
  struct Case {
    const char* name;
    size_t offset;
    uint64_t value;
    size_t width;
    const char* says;
  };
  const Case cases[] = {
      {"slot version 2", rf::kSlotVersionOffset, 2, 2, "slot version 2"},
      {"format version 2", rf::kFormatVersionOffset, 2, 2, "record format version 2"},
      {"incompatible bit 3", rf::kIncompatibleOffset, 8, 8, "0x0000000000000008"},
      {"incompatible bit 63", rf::kIncompatibleOffset, uint64_t{1} << 63, 8,
       "0x8000000000000000"},
  };
  for (const Case& c : cases) {
    for (size_t newer_slot : {0, 1}) {
      // The valid slot has both the lower and the higher generation in turn: the
      // refusal does not depend on which slot would have won.
      for (uint64_t valid_generation : {uint64_t{1}, uint64_t{100}}) {
        SCOPED_TRACE(std::string(c.name) + " in slot " + std::to_string(newer_slot) +
                     ", valid generation " + std::to_string(valid_generation));
        Bytes newer = encode(sample(50));
        set_le(newer, c.offset, c.value, c.width);
        fix_crc(newer);
        const Bytes valid = encode(sample(valid_generation));
        put_file(disk, newer_slot == 0 ? file_of(newer, valid) : file_of(valid, newer));
        expect_error(
            read_recovery_point(disk), ErrorKind::kUnsupportedVersion,
            {disk.describe(kFile) + " slot " + std::to_string(newer_slot), c.says});
      }
    }
  }
}

// --- RecoveryPointFile -------------------------------------------------------------

TEST(RecoveryPointFileWrite, BetweenSyncsOnlyTheSlotNotLastSyncedIsWritten) {
  io::SimDisk disk;
  make_wal_dir(disk);
  const RecoveryPoint first = sample(10);
  KAYA_ASSERT_OK(create_recovery_point(disk, first));
  RecoveryPointFile file(disk, first);
  EXPECT_FALSE(file.dirty());

  // After creation both slots hold `first`; the one kept is the one not written.
  Bytes before = file_bytes(disk);
  size_t kept = 1;  // write() starts with slot 0
  uint64_t generation = first.generation;
  RecoveryPoint last_synced = first;
  for (int round = 0; round < 4; ++round) {
    const size_t written = 1 - kept;
    for (int update = 0; update < 3; ++update) {
      SCOPED_TRACE("round " + std::to_string(round) + " update " +
                   std::to_string(update));
      RecoveryPoint p = sample(0);
      p.durable.lsn = Lsn(100 * round + update + 1);
      KAYA_ASSERT_OK(file.write(p));
      p.generation = ++generation;
      EXPECT_TRUE(file.dirty());
      EXPECT_EQ(file.last(), p);
      const Bytes now = file_bytes(disk);
      ASSERT_EQ(now.size(), rf::kFileBytes);
      // The slot kept is byte for byte what it was; the other holds the new value.
      EXPECT_EQ(slot_of(now, kept), slot_of(before, kept));
      auto in_kept = decode(slot_of(now, kept));
      ASSERT_TRUE(in_kept.ok()) << in_kept.error().to_string();
      EXPECT_EQ(*in_kept, last_synced);
      auto in_written = decode(slot_of(now, written));
      ASSERT_TRUE(in_written.ok()) << in_written.error().to_string();
      EXPECT_EQ(*in_written, p);
      auto read = read_recovery_point(disk);
      ASSERT_TRUE(read.ok() && read->has_value());
      EXPECT_EQ(**read, p);
    }
    const uint64_t fsyncs = disk.fsync_file_count();
    KAYA_ASSERT_OK(file.sync());
    EXPECT_EQ(disk.fsync_file_count(), fsyncs + 1);
    EXPECT_FALSE(file.dirty());
    // A sync with nothing written does nothing, and does not switch slots (which
    // would make the next write overwrite the value just made durable).
    KAYA_ASSERT_OK(file.sync());
    EXPECT_EQ(disk.fsync_file_count(), fsyncs + 1);
    last_synced = file.last();
    kept = written;
    before = file_bytes(disk);
  }
}

TEST(RecoveryPointFileWrite, WriteNumbersTheGenerationItself) {
  io::SimDisk disk;
  make_wal_dir(disk);
  KAYA_ASSERT_OK(create_recovery_point(disk, sample(3)));
  RecoveryPointFile file(disk, sample(3));
  KAYA_ASSERT_OK(file.write(sample(999)));  // the caller's generation is ignored
  EXPECT_EQ(file.last().generation, 4u);
  auto read = read_recovery_point(disk);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ(**read, sample(4));
}

TEST(RecoveryPointFileWrite, AFailedWriteKeepsTheLastValue) {
  io::SimDisk disk;
  make_wal_dir(disk);
  KAYA_ASSERT_OK(create_recovery_point(disk, sample(3)));
  RecoveryPointFile file(disk, sample(3));
  disk.fail_nth(io::FaultKind::kWriteError);
  RecoveryPoint p = sample(0);
  p.durable.lsn = Lsn(5000);
  Status s = file.write(p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(file.last(), sample(3));
  EXPECT_FALSE(file.dirty());
  auto read = read_recovery_point(disk);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ(**read, sample(3));
}

}  // namespace
}  // namespace kaya::wal
