// Atomic batches (Writer::append_batch, docs/batches.md): contiguous LSNs in one
// segment and one write, refused without the opt-in, empty, oversized or unsupported,
// never spanning segments, and never cut inside by a truncation.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/inspect.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/batch_test_util.h"
#include "wal/wal_test_util.h"
#include "wal/writer_test_util.h"

namespace kaya::wal {
namespace {

using testing::kRelaxed;
using testing::kStrict;
using namespace batch_testing;  // NOLINT(google-build-using-namespace)

TEST(BatchTest, ABatchTakesContiguousLsnsInOneSegment) {
  io::SimDisk disk;
  auto w = Writer::open(batch_config(), disk);
  KAYA_ASSERT_OK(w);
  KAYA_ASSERT_OK((*w)->append(Payload::put("a", "1"), kStrict));
  const std::vector<std::string> keys = {"b", "c", "d"};
  const std::vector<Payload> batch = puts(keys);
  auto r = (*w)->append_batch(batch, kStrict);
  KAYA_ASSERT_OK(r);
  EXPECT_EQ(r->first_lsn, Lsn(2));
  EXPECT_EQ(r->last_lsn, Lsn(4));
  EXPECT_EQ(r->first_sequence, SequenceNumber(2));
  EXPECT_EQ(r->segment_id, 1u);
  EXPECT_EQ(r->offset, Payload::put("a", "1").encoded_len());
  uint64_t len = 0;
  for (const Payload& p : batch) len += p.encoded_len();
  EXPECT_EQ(r->encoded_len, len);
  EXPECT_TRUE(r->durable);
  auto relaxed = (*w)->append_batch(puts({"e", "f"}), kRelaxed);
  KAYA_ASSERT_OK(relaxed);
  EXPECT_EQ(relaxed->first_lsn, Lsn(5));
  EXPECT_EQ(relaxed->last_lsn, Lsn(6));
  EXPECT_EQ((*w)->next_lsn(), Lsn(7));
  EXPECT_EQ((*w)->stats().strict_records, 4u);
  EXPECT_EQ((*w)->stats().relaxed_records, 2u);
  KAYA_ASSERT_OK((*w)->close());

  auto log = testing::read_log(disk);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->records.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(log->records[i].lsn, Lsn(i + 1));
    EXPECT_EQ(log->records[i].key, std::string(1, static_cast<char>('a' + i)));
  }
}

TEST(BatchTest, ABatchIsRefusedWithoutTheOptInAndTakesNoLsn) {
  io::SimDisk disk;
  auto w = Writer::open(WalConfig{}, disk);
  KAYA_ASSERT_OK(w);
  auto r = (*w)->append_batch(puts({"a", "b"}), kStrict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("WalConfig::extensions"), std::string::npos)
      << r.error().message();
  EXPECT_EQ((*w)->next_lsn(), Lsn(1));
  // One payload is a plain append: no opt-in needed, a v1 record.
  auto one = (*w)->append_batch(puts({"a"}), kStrict);
  KAYA_ASSERT_OK(one);
  EXPECT_EQ(one->first_lsn, Lsn(1));
  EXPECT_EQ(one->last_lsn, Lsn(1));
  KAYA_ASSERT_OK((*w)->close());
  EXPECT_EQ((*w)->extensions(), 0u);
}

TEST(BatchTest, EmptyOversizedAndUnsupportedBatchesAreRefused) {
  io::SimDisk disk;
  WalConfig config = batch_config();
  config.segment_max_bytes = 200;
  config.max_record_bytes = 200;
  auto w = Writer::open(config, disk);
  KAYA_ASSERT_OK(w);
  auto empty = (*w)->append_batch({}, kStrict);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind(), ErrorKind::kInvalidArgument);
  // Three records of 90 bytes: 270 > segment_max_bytes 200.
  const std::string value(90 - 40 - 8 - 1, 'x');
  const std::vector<Payload> big = {Payload::put("a", value), Payload::put("b", value),
                                    Payload::put("c", value)};
  ASSERT_EQ(big[0].encoded_len(), 90u);
  auto too_big = (*w)->append_batch(big, kStrict);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(too_big.error().message().find("segment_max_bytes"), std::string::npos)
      << too_big.error().message();
  // Bytes records in a batch need the Bytes opt-in too.
  auto bytes = (*w)->append_batch(
      std::vector<Payload>{Payload::bytes("x"), Payload::noop()}, kStrict);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ((*w)->next_lsn(), Lsn(1));
  KAYA_ASSERT_OK((*w)->close());
}

// Batches that do not fit in the tail segment start the next one: no batch spans
// segments.
TEST(BatchTest, ABatchNeverSpansSegments) {
  io::SimDisk disk;
  WalConfig config = batch_config();
  config.segment_max_bytes = 400;
  config.max_record_bytes = 400;
  auto w = Writer::open(config, disk);
  KAYA_ASSERT_OK(w);
  std::vector<BatchResult> results;
  for (int i = 0; i < 12; ++i) {
    std::vector<std::string> keys;
    for (int k = 0; k <= i % 4; ++k)
      keys.push_back(std::to_string(i) + "-" + std::to_string(k));
    auto r = (*w)->append_batch(puts(keys), i % 2 ? kStrict : kRelaxed);
    KAYA_ASSERT_OK(r);
    results.push_back(*r);
  }
  KAYA_ASSERT_OK((*w)->close());
  std::vector<uint64_t> segment_of;  // by LSN - 1
  auto report = recover(config, disk, {}, [&](uint64_t id, uint64_t, const RecordView&) {
    segment_of.push_back(id);
    return ok_status();
  });
  KAYA_ASSERT_OK(report);
  EXPECT_GT(report->segments.size(), 2u);
  for (const BatchResult& r : results) {
    for (uint64_t lsn = r.first_lsn.value(); lsn <= r.last_lsn.value(); ++lsn) {
      ASSERT_LE(lsn, segment_of.size());
      EXPECT_EQ(segment_of[lsn - 1], r.segment_id) << "LSN " << lsn;
    }
  }
}

// A truncation keeps a batch whole: after its last record or before its first, never
// inside it.
TEST(BatchTest, TruncationInsideABatchIsRefused) {
  io::SimDisk disk;
  auto w = Writer::open(batch_config(), disk);
  KAYA_ASSERT_OK(w);
  KAYA_ASSERT_OK((*w)->append(Payload::put("a", "1"), kStrict));
  KAYA_ASSERT_OK((*w)->append_batch(puts({"b", "c", "d"}), kStrict));
  KAYA_ASSERT_OK((*w)->append(Payload::put("e", "5"), kStrict));
  for (uint64_t inside : {2, 3}) {
    auto r = (*w)->truncate_after(Lsn(inside));
    ASSERT_FALSE(r.ok()) << inside;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(r.error().message().find("inside an atomic batch"), std::string::npos)
        << r.error().message();
  }
  EXPECT_EQ((*w)->next_lsn(), Lsn(6));
  KAYA_ASSERT_OK((*w)->truncate_after(Lsn(4)));  // after the batch
  KAYA_ASSERT_OK((*w)->truncate_after(Lsn(1)));  // before it
  KAYA_ASSERT_OK((*w)->close());
  auto log = testing::read_log(disk, batch_config());
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), 1u);
}

}  // namespace
}  // namespace kaya::wal
