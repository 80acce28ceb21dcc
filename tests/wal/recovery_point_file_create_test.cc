// The atomic creation of the recovery point file (a power cut at any step), and a
// seeded crash sweep of its updates.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/recovery_point.h"
#include "testing/test_util.h"
#include "wal/recovery_point_file_util.h"

namespace kaya::wal {
namespace {

using namespace rp_file_testing;  // NOLINT(google-build-using-namespace)

// --- create_recovery_point ------------------------------------------------------------

TEST(RecoveryPointFileCreate, WritesBothSlotsDurablyAndLeavesNoTemporaryFile) {
  io::SimDisk disk;
  make_wal_dir(disk);
  KAYA_ASSERT_OK(create_recovery_point(disk, sample()));
  const Bytes bytes = file_bytes(disk);
  ASSERT_EQ(bytes.size(), rf::kFileBytes);
  EXPECT_EQ(slot_of(bytes, 0), encode(sample()));
  EXPECT_EQ(slot_of(bytes, 1), encode(sample()));
  auto durable = disk.durable_len(kFile);
  ASSERT_TRUE(durable.ok()) << durable.error().to_string();
  EXPECT_EQ(*durable, rf::kFileBytes);
  auto names = disk.list_dir(kWal);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"RECOVERY_POINT"});
  disk.crash();
  auto read = read_recovery_point(disk);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ(**read, sample());
}

TEST(RecoveryPointFileCreate, ATemporaryFileLeftBehindIsReplaced) {
  io::SimDisk disk;
  make_wal_dir(disk);
  // A crash left a durable, longer temporary file with other bytes.
  KAYA_ASSERT_OK(disk.append(kTemp, Bytes(3 * rf::kFileBytes, 0x5A)));
  KAYA_ASSERT_OK(disk.fsync_file(kTemp));
  KAYA_ASSERT_OK(disk.fsync_dir(kWal));
  KAYA_ASSERT_OK(create_recovery_point(disk, sample()));
  EXPECT_TRUE(absent(disk, kTemp));
  EXPECT_EQ(file_bytes(disk), file_of(encode(sample()), encode(sample())));
  disk.crash();
  EXPECT_TRUE(absent(disk, kTemp));
  auto read = read_recovery_point(disk);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ(**read, sample());
}

// Forwards to a SimDisk until `cut_after` operations that change the disk have
// returned, then cuts the power: the SimDisk crashes and every later call fails, as
// the process died with the machine.
class PowerCutDisk final : public io::Disk {
 public:
  PowerCutDisk(io::SimDisk& sim, uint64_t cut_after) : sim_(sim), left_(cut_after) {
    if (left_ == 0) cut();
  }
  bool cut_happened() const { return dead_; }

  using Disk::append;
  Result<uint64_t> append(const io::RelativePath& p,
                          std::span<const io::ByteView> parts) override {
    if (dead_) return dead();
    return step(sim_.append(p, parts));
  }
  Result<size_t> read_at(const io::RelativePath& p, uint64_t offset,
                         std::span<uint8_t> out) override {
    if (dead_) return dead();
    return sim_.read_at(p, offset, out);
  }
  Status write_at(const io::RelativePath& p, uint64_t offset,
                  io::ByteView bytes) override {
    if (dead_) return dead();
    return step(sim_.write_at(p, offset, bytes));
  }
  Result<uint64_t> file_len(const io::RelativePath& p) override {
    if (dead_) return dead();
    return sim_.file_len(p);
  }
  Status truncate(const io::RelativePath& p, uint64_t len) override {
    if (dead_) return dead();
    return step(sim_.truncate(p, len));
  }
  Status fsync_file(const io::RelativePath& p) override {
    if (dead_) return dead();
    return step(sim_.fsync_file(p));
  }
  Status fsync_dir(const io::RelativePath& p) override {
    if (dead_) return dead();
    return step(sim_.fsync_dir(p));
  }
  Result<std::vector<std::string>> list_dir(const io::RelativePath& p) override {
    if (dead_) return dead();
    return sim_.list_dir(p);
  }
  Status create_dir(const io::RelativePath& p) override {
    if (dead_) return dead();
    return step(sim_.create_dir(p));
  }
  Status rename(const io::RelativePath& from, const io::RelativePath& to) override {
    if (dead_) return dead();
    return step(sim_.rename(from, to));
  }
  Status remove_file(const io::RelativePath& p) override {
    if (dead_) return dead();
    return step(sim_.remove_file(p));
  }
  Result<std::unique_ptr<io::FileLock>> lock_file(const io::RelativePath& p) override {
    if (dead_) return dead();
    return sim_.lock_file(p);
  }
  std::string describe(const io::RelativePath& p) const override {
    return sim_.describe(p);
  }

 private:
  static Error dead() { return Error(ErrorKind::kIo, "power cut"); }
  void cut() {
    sim_.crash();
    dead_ = true;
  }
  template <typename R>
  R step(R r) {
    if (--left_ == 0) cut();
    return r;
  }

  io::SimDisk& sim_;
  uint64_t left_;
  bool dead_ = false;
};

TEST(RecoveryPointFileCreate, APowerCutAtAnyStepLeavesTheOldFileOrTheNewOne) {
  const uint64_t first = kaya::testing::seed_from_env(1);
  const uint64_t count = kaya::testing::seed_count_from_env(8);
  for (uint64_t seed = first; seed < first + count; ++seed) {
    for (bool had_file : {false, true}) {
      for (uint64_t cut_after = 0;; ++cut_after) {
        SCOPED_TRACE("seed " + std::to_string(seed) +
                     " (replay: KAYA_SEED=" + std::to_string(seed) + " KAYA_SEEDS=1), " +
                     (had_file ? "replacing a file" : "no file before") +
                     ", power cut after " + std::to_string(cut_after) + " steps");
        io::SimDisk sim(io::SimDiskOptions{.seed = seed, .tear_on_crash = true});
        make_wal_dir(sim);
        if (had_file) KAYA_ASSERT_OK(create_recovery_point(sim, sample(1)));
        bool completed = false;
        {
          PowerCutDisk disk(sim, cut_after);
          completed = create_recovery_point(disk, sample(2)).ok();
          ASSERT_TRUE(completed || disk.cut_happened());
          if (!disk.cut_happened()) {
            ASSERT_TRUE(completed);
            sim.crash();
          }
        }
        auto read = read_recovery_point(sim);
        ASSERT_TRUE(read.ok()) << read.error().to_string();
        if (completed) {
          ASSERT_TRUE(read->has_value());
          EXPECT_EQ(**read, sample(2));  // acknowledged: durable
        } else if (had_file) {
          ASSERT_TRUE(read->has_value());
          EXPECT_TRUE(**read == sample(1) || **read == sample(2)) << (*read)->to_string();
        } else if (read->has_value()) {
          EXPECT_EQ(**read, sample(2));
        }
        // Whatever a cut left behind, the next creation succeeds and replaces it.
        KAYA_ASSERT_OK(create_recovery_point(sim, sample(3)));
        sim.crash();
        auto again = read_recovery_point(sim);
        ASSERT_TRUE(again.ok() && again->has_value());
        EXPECT_EQ(**again, sample(3));
        EXPECT_TRUE(absent(sim, kTemp));
        if (HasFatalFailure()) return;
        if (completed) break;
      }
    }
  }
}

TEST(RecoveryPointFileCreate, AFailedStepLeavesTheOldFileAfterACrash) {
  struct Fault {
    io::FaultKind kind;
    uint64_t nth;
    const char* name;
  };
  const Fault faults[] = {
      {io::FaultKind::kWriteError, 1, "append of the temporary file"},
      {io::FaultKind::kShortWrite, 1, "short append of the temporary file"},
      {io::FaultKind::kFsyncFailure, 1, "fsync of the temporary file"},
      {io::FaultKind::kFsyncFailure, 2, "fsync of the directory"},
  };
  for (const Fault& f : faults) {
    SCOPED_TRACE(f.name);
    io::SimDisk disk;
    make_wal_dir(disk);
    KAYA_ASSERT_OK(create_recovery_point(disk, sample(1)));
    disk.fail_nth(f.kind, f.nth);
    EXPECT_FALSE(create_recovery_point(disk, sample(2)).ok());
    EXPECT_EQ(disk.faults_injected(f.kind), 1u);
    disk.crash();
    auto read = read_recovery_point(disk);
    ASSERT_TRUE(read.ok() && read->has_value())
        << (read.ok() ? "no file" : read.error().to_string());
    EXPECT_EQ(**read, sample(1));
  }
}

// --- Crashes while updating ------------------------------------------------------------

// Writes updates with syncs at random points, cuts the power (tearing what was not
// synced), and checks the invariant the two slots exist for: the point read back is
// never older than the last one synced, is one that was written, and is never an error.
void run_crash_seed(uint64_t seed) {
  std::mt19937_64 rng(seed);
  io::SimDisk disk(io::SimDiskOptions{.seed = seed, .tear_on_crash = true});
  make_wal_dir(disk);
  RecoveryPoint created = sample(std::uniform_int_distribution<uint64_t>(0, 1000)(rng));
  KAYA_ASSERT_OK(create_recovery_point(disk, created));
  RecoveryPointFile file(disk, created);
  std::vector<RecoveryPoint> written = {created};  // by generation - created.generation
  RecoveryPoint last_synced = created;
  const int updates = std::uniform_int_distribution<int>(0, 40)(rng);
  for (int i = 0; i < updates; ++i) {
    RecoveryPoint p = written.back();
    p.durable.lsn = Lsn(p.durable.lsn.value() + 1 + rng() % 5);
    p.durable.sequence = SequenceNumber(p.durable.sequence.value() + 1);
    p.durable.offset += p.durable.length;
    p.durable.length = static_cast<uint32_t>(format::kHeaderLen + rng() % 200);
    p.durable.header_crc = static_cast<uint32_t>(rng());
    if (rng() % 8 == 0) {
      p.sealed_segment_id = p.durable.segment_id;
      p.sealed_segment_bytes = p.durable.offset;
      p.sealed_last_lsn = p.durable.lsn;
      p.durable.segment_id++;
      p.durable.offset = 0;
    }
    KAYA_ASSERT_OK(file.write(p));
    written.push_back(file.last());
    if (rng() % 4 == 0) {
      KAYA_ASSERT_OK(file.sync());
      last_synced = file.last();
    }
  }
  disk.crash();
  auto read = read_recovery_point(disk);
  ASSERT_TRUE(read.ok()) << read.error().to_string();
  ASSERT_TRUE(read->has_value());
  const RecoveryPoint& got = **read;
  ASSERT_GE(got.generation, last_synced.generation)
      << "older than the last synced point " << last_synced.to_string();
  ASSERT_LT(got.generation - created.generation, written.size());
  EXPECT_EQ(got, written[got.generation - created.generation]);
}

TEST(RecoveryPointFileCrash, APowerCutNeverLosesTheLastSyncedPoint) {
  const uint64_t first = kaya::testing::seed_from_env(1);
  const uint64_t count = kaya::testing::seed_count_from_env(500);
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) +
                 " (replay: KAYA_SEED=" + std::to_string(seed) + " KAYA_SEEDS=1)");
    run_crash_seed(seed);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace kaya::wal
