// RadosDisk beyond the Disk contract, on the test cluster: one writer per log (a second
// one gets LockConflict naming the holder), a writer that lost its lock acknowledges
// nothing more, foreign writes are refused instead of interleaved, and the object size
// limits are checked against the WAL config.
#include "kaya/io/rados_disk.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "rados_test_util.h"
#include "testing/disk_paths.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::io {
namespace {

using rados_testing::open_test_disk;
using rados_testing::test_options;

using kaya::testing::B;
using kaya::testing::P;

// A record that owns its key and value (a Payload only views them): append
// put(i).payload(), which lives until the append returns.
wal::Record put(uint64_t i) {
  wal::Record r;
  r.type = wal::RecordType::kPut;
  r.key = "key" + std::to_string(i);
  r.value = "value" + std::to_string(i);
  return r;
}

// Every key of the log, via a dry-run recovery through a fresh client.
std::vector<std::string> keys_of(const RadosDiskOptions& options) {
  auto disk = open_test_disk(options);
  EXPECT_TRUE(disk.ok()) << disk.error().to_string();
  if (!disk.ok()) return {};
  auto log = wal::testing::read_log(**disk);
  EXPECT_TRUE(log.ok()) << log.error().to_string();
  if (!log.ok()) return {};
  std::vector<std::string> keys;
  for (const wal::Record& r : log->records) keys.push_back(r.key);
  return keys;
}

std::vector<std::string> keys(uint64_t first, uint64_t last) {
  std::vector<std::string> out;
  for (uint64_t i = first; i <= last; ++i) out.push_back("key" + std::to_string(i));
  return out;
}

// Waits (up to 10 s) for the disk to notice it lost its lock.
bool wait_fenced(const RadosDisk& disk) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!disk.fenced() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return disk.fenced();
}

// Every RADOS write is durable, and costs the cluster as much as a record's: the
// writer writes its recovery point at most once per recovery_point_sync_ms while it
// changes (not after every round), and brings it up to date at close.
TEST(RadosDiskTest, RecoveryPointIsWrittenOncePerIntervalAndAtClose) {
  const RadosDiskOptions options = test_options("rp-pace");
  auto disk = open_test_disk(options);
  KAYA_ASSERT_OK(disk);
  EXPECT_TRUE((*disk)->writes_are_durable());
  wal::WalConfig config;
  config.recovery_point_sync_ms = 60'000;
  auto writer = wal::Writer::open(config, **disk);
  KAYA_ASSERT_OK(writer);
  constexpr uint64_t kRecords = 40;
  for (uint64_t i = 1; i <= kRecords; ++i) {
    KAYA_ASSERT_OK((*writer)->append(put(i).payload(), wal::DurabilityMode::kStrict));
  }
  auto reader = open_test_disk(options);  // another client
  KAYA_ASSERT_OK(reader);
  auto during = wal::read_recovery_point(**reader);
  KAYA_ASSERT_OK(during);
  ASSERT_TRUE(during->has_value());
  // The first update after open went out at once; the next is due in 60 s.
  EXPECT_LT((*during)->durable.lsn.value(), kRecords / 2);
  KAYA_ASSERT_OK((*writer)->close());
  auto closed = wal::read_recovery_point(**reader);
  KAYA_ASSERT_OK(closed);
  ASSERT_TRUE(closed->has_value());
  EXPECT_EQ((*closed)->durable.lsn, Lsn(kRecords));
}

TEST(RadosDiskTest, SecondWriterGetsLockConflictNamingTheHolder) {
  const RadosDiskOptions options = test_options("second-writer");
  auto disk_a = open_test_disk(options);
  KAYA_ASSERT_OK(disk_a);
  auto writer_a = wal::Writer::open({}, **disk_a);
  KAYA_ASSERT_OK(writer_a);
  KAYA_ASSERT_OK((*writer_a)->append(put(1).payload(), wal::DurabilityMode::kStrict));

  auto disk_b = open_test_disk(options);  // another client, as another process would be
  KAYA_ASSERT_OK(disk_b);
  auto writer_b = wal::Writer::open({}, **disk_b);
  ASSERT_FALSE(writer_b.ok());
  EXPECT_EQ(writer_b.error().kind(), ErrorKind::kLockConflict);
  const std::string& message = writer_b.error().message();
  EXPECT_NE(message.find((*disk_a)->describe(P("wal/LOCK"))), std::string::npos)
      << message;
  EXPECT_NE(message.find("is locked by client."), std::string::npos) << message;
  EXPECT_NE(message.find(".pid" + std::to_string(::getpid()) + "."), std::string::npos)
      << "the holder's cookie names its process: " << message;

  // The first writer is unaffected, and once it closes the second one may open.
  KAYA_ASSERT_OK((*writer_a)->append(put(2).payload(), wal::DurabilityMode::kStrict));
  KAYA_ASSERT_OK((*writer_a)->close());
  writer_a->reset();
  auto reopened = wal::Writer::open({}, **disk_b);
  KAYA_ASSERT_OK(reopened);
  KAYA_ASSERT_OK((*reopened)->append(put(3).payload(), wal::DurabilityMode::kStrict));
  KAYA_ASSERT_OK((*reopened)->close());
  EXPECT_EQ(keys_of(options), keys(1, 3));
}

TEST(RadosDiskTest, WriterThatLostItsLockAcknowledgesNothingMore) {
  const RadosDiskOptions options = test_options("lost-lock");
  auto disk_a = open_test_disk(options);
  KAYA_ASSERT_OK(disk_a);
  auto writer = wal::Writer::open({}, **disk_a);
  KAYA_ASSERT_OK(writer);
  for (uint64_t i = 1; i <= 5; ++i) {
    KAYA_ASSERT_OK((*writer)->append(put(i).payload(), wal::DurabilityMode::kStrict));
  }
  // An operator breaks the lock from another client (`rados lock break`).
  auto breaker = open_test_disk(options);
  KAYA_ASSERT_OK(breaker);
  KAYA_ASSERT_OK((*breaker)->break_lock(P("wal/LOCK")));
  ASSERT_TRUE(wait_fenced(**disk_a)) << "the renewal never noticed the lost lock";

  for (auto mode : {wal::DurabilityMode::kStrict, wal::DurabilityMode::kRelaxed}) {
    auto r = (*writer)->append(put(6).payload(), mode);
    ASSERT_FALSE(r.ok()) << "a writer without its lock acknowledged a record";
    EXPECT_EQ(r.error().kind(), ErrorKind::kLockConflict) << r.error().to_string();
  }
  EXPECT_FALSE((*writer)->sync().ok());
  EXPECT_EQ(keys_of(options), keys(1, 5));
}

TEST(RadosDiskTest, TakeoverFencesTheOldWriterAtOnce) {
  const RadosDiskOptions options = test_options("takeover");
  auto disk_a = open_test_disk(options);
  KAYA_ASSERT_OK(disk_a);
  auto writer_a = wal::Writer::open({}, **disk_a);
  KAYA_ASSERT_OK(writer_a);
  for (uint64_t i = 1; i <= 3; ++i) {
    KAYA_ASSERT_OK((*writer_a)->append(put(i).payload(), wal::DurabilityMode::kStrict));
  }
  // A second writer that believes the first one dead breaks its lock and takes over.
  auto disk_b = open_test_disk(options);
  KAYA_ASSERT_OK(disk_b);
  KAYA_ASSERT_OK((*disk_b)->break_lock(P("wal/LOCK")));
  auto writer_b = wal::Writer::open({}, **disk_b);
  KAYA_ASSERT_OK(writer_b);
  KAYA_ASSERT_OK((*writer_b)->append(put(4).payload(), wal::DurabilityMode::kStrict));

  // The old writer's very next write fails: B's object lock is asserted by each write,
  // not only noticed at the next renewal.
  auto late = (*writer_a)->append(put(99).payload(), wal::DurabilityMode::kRelaxed);
  ASSERT_FALSE(late.ok()) << "the old writer wrote into the log after the takeover";
  EXPECT_EQ(late.error().kind(), ErrorKind::kLockConflict) << late.error().to_string();
  EXPECT_TRUE((*disk_a)->fenced());

  KAYA_ASSERT_OK((*writer_b)->append(put(5).payload(), wal::DurabilityMode::kStrict));
  KAYA_ASSERT_OK((*writer_b)->close());
  EXPECT_EQ(keys_of(options), keys(1, 5));
}

TEST(RadosDiskTest, LockIsRenewedPastItsDuration) {
  RadosDiskOptions options = test_options("renewal");
  options.lock_duration_ms = 1500;
  options.lock_renew_interval_ms = 200;
  auto disk_a = open_test_disk(options);
  KAYA_ASSERT_OK(disk_a);
  auto writer = wal::Writer::open({}, **disk_a);
  KAYA_ASSERT_OK(writer);
  std::this_thread::sleep_for(std::chrono::milliseconds(4000));  // > 2 durations
  KAYA_ASSERT_OK((*writer)->append(put(1).payload(), wal::DurabilityMode::kStrict));
  EXPECT_FALSE((*disk_a)->fenced());
  auto disk_b = open_test_disk(options);
  KAYA_ASSERT_OK(disk_b);
  auto second = wal::Writer::open({}, **disk_b);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind(), ErrorKind::kLockConflict);
}

TEST(RadosDiskTest, ForeignWriteIsRefusedNotInterleaved) {
  const RadosDiskOptions options = test_options("foreign");
  auto disk_a = open_test_disk(options);
  auto disk_b = open_test_disk(options);
  KAYA_ASSERT_OK(disk_a);
  KAYA_ASSERT_OK(disk_b);
  auto first = (*disk_a)->append(P("obj"), B("aaaa"));
  KAYA_ASSERT_OK(first);
  EXPECT_EQ(*first, 0u);
  // Another client appends behind A's back (no lock is held by anyone).
  auto foreign = (*disk_b)->append(P("obj"), B("bb"));
  KAYA_ASSERT_OK(foreign);
  EXPECT_EQ(*foreign, 4u);

  auto second = (*disk_a)->append(P("obj"), B("cc"));
  ASSERT_FALSE(second.ok()) << "A appended at offset " << *second
                            << " without noticing the foreign write";
  EXPECT_EQ(second.error().kind(), ErrorKind::kInvariantViolation);
  EXPECT_NE(second.error().message().find((*disk_a)->describe(P("obj"))),
            std::string::npos)
      << second.error().message();
  EXPECT_TRUE((*disk_a)->fenced());
  EXPECT_EQ(*(*disk_b)->file_len(P("obj")), 6u);
}

TEST(RadosDiskTest, ObjectSizeLimitsAreCheckedAgainstTheConfig) {
  RadosDiskOptions options = test_options("limits");
  auto disk = open_test_disk(options);
  KAYA_ASSERT_OK(disk);
  // Pacific's defaults: 128 MiB objects, 90 MiB writes.
  EXPECT_EQ((*disk)->options().max_object_bytes, 128ull << 20);
  EXPECT_EQ((*disk)->options().max_write_bytes, 90ull << 20);
  EXPECT_EQ((*disk)->limits().max_file_bytes, 128ull << 20);
  wal::WalConfig config;
  KAYA_EXPECT_OK(config.validate((*disk)->limits()));
  config.segment_max_bytes = 256ull << 20;
  Status too_big = config.validate((*disk)->limits());
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(too_big.error().message().find("segment_max_bytes = 268435456"),
            std::string::npos)
      << too_big.error().message();
  EXPECT_NE(too_big.error().message().find("osd_max_object_size"), std::string::npos);
  config = wal::WalConfig();
  config.max_record_bytes = 200ull << 20;
  EXPECT_EQ(config.validate((*disk)->limits()).error().kind(),
            ErrorKind::kInvalidArgument);
  // Writer::open checks the disk's limits, so a log cannot be opened with segments too
  // large.
  config = wal::WalConfig();
  config.segment_max_bytes = 256ull << 20;
  auto writer = wal::Writer::open(config, **disk);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(writer.error().message().find("osd_max_object_size"), std::string::npos);

  // append() refuses to grow an object past the limit, naming object and offset; and
  // splits writes above max_write_bytes.
  options.max_object_bytes = 1000;
  options.max_write_bytes = 300;
  auto small = open_test_disk(options);
  KAYA_ASSERT_OK(small);
  const std::string big(700, 'x');
  auto at = (*small)->append(P("seg"), B(big));
  KAYA_ASSERT_OK(at);
  EXPECT_EQ(*at, 0u);
  EXPECT_EQ(*(*small)->file_len(P("seg")), 700u);
  auto over = (*small)->append(P("seg"), B(std::string(301, 'y')));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(
      over.error().message().find("at offset 700 to " + (*small)->describe(P("seg"))),
      std::string::npos)
      << over.error().message();
}

TEST(RadosDiskTest, OpenFailsClearlyForAMissingPool) {
  RadosDiskOptions options = test_options("no-pool");
  options.pool = rados_testing::unique_name("no-such-pool");
  auto disk = open_test_disk(options);
  ASSERT_FALSE(disk.ok());
  EXPECT_EQ(disk.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(disk.error().message().find(options.pool), std::string::npos)
      << disk.error().message();
}

}  // namespace
}  // namespace kaya::io
