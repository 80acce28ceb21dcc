// The search for a valid record after damage (resync): right verdicts, and a cost of
// about one sequential read of the region, counted in Disk reads (not timed). The
// pathological case: a record of several MB whose value is the record magic repeated,
// with a flipped bit in its header, so that the magic appears at every fourth byte after
// the damage. The search read a header (two system calls) per appearance: 64 s for
// `kaya-wal verify` of a 28 MB record.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/inspect.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/recording_disk.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using testing::RecordingDisk;
using testing::segment;

constexpr uint64_t kBigValueBytes = 4 << 20;

// The magic as it lies on disk ("AYAK"), repeated to `bytes`.
std::string magic_repeated(size_t bytes) {
  uint8_t magic[4];
  for (int i = 0; i < 4; ++i) magic[i] = static_cast<uint8_t>(format::kMagic >> (8 * i));
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) out[i] = static_cast<char>(magic[i % 4]);
  return out;
}

// A value made of record headers that verify, each claiming a 2 MiB payload that the
// bytes after it are not: every one must be followed up, none is a record.
std::string embedded_headers(size_t bytes) {
  const std::string claimed(2 << 20, 'x');
  auto record = encode(Payload::put("k", claimed), Lsn(9), SequenceNumber(9));
  EXPECT_TRUE(record.ok());
  std::string unit(1024, 'y');
  std::memcpy(unit.data(), record->data(), format::kHeaderLen);
  std::string out;
  while (out.size() < bytes) out += unit;
  return out;
}

enum class Tail { kNothing, kValidRecord };

struct Case {
  const char* name;
  bool recovery_point;
  std::string value;  // of the damaged record
  Tail tail;
  Verdict verdict;
  const char* says;  // in the anomaly's reason
};

struct Built {
  uint64_t damaged_offset = 0;
  uint64_t segment_bytes = 0;
};

// LSN 1 written by a writer (the recovery point names it), then, beyond it, the
// damaged record (LSN 2, a header bit flipped) and maybe a valid LSN 3.
Built build(io::SimDisk& disk, const Case& c) {
  Built b;
  {
    auto w = Writer::open(WalConfig{}, disk);
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->append(Payload::put("a", "1"), DurabilityMode::kStrict).ok());
    EXPECT_TRUE((*w)->close().ok());
  }
  auto big = encode(Payload::put("big", c.value), Lsn(2), SequenceNumber(2));
  EXPECT_TRUE(big.ok());
  (*big)[format::kLsnOffset] ^= 0x10;  // the header CRC fails now
  auto at = disk.append(segment(1), *big);
  EXPECT_TRUE(at.ok());
  b.damaged_offset = *at;
  if (c.tail == Tail::kValidRecord) {
    auto small = encode(Payload::put("b", "2"), Lsn(3), SequenceNumber(3));
    EXPECT_TRUE(small.ok());
    EXPECT_TRUE(disk.append(segment(1), *small).ok());
  }
  if (!c.recovery_point) {
    EXPECT_TRUE(disk.remove_file(io::RelativePath::parse(rp_format::kFile).value()).ok());
  }
  b.segment_bytes = *disk.file_len(segment(1));
  return b;
}

TEST(ResyncTest, AMagicRepeatingValueCostsAboutOneReadOfTheRegion) {
  const std::string magic = magic_repeated(kBigValueBytes);
  const std::string embedded = embedded_headers(kBigValueBytes);
  const Case cases[] = {
      {"nothing follows, recovery point", true, magic, Tail::kNothing, Verdict::kTornTail,
       "nothing valid follows"},
      {"nothing follows, no recovery point", false, magic, Tail::kNothing,
       Verdict::kTornTail, "nothing valid follows"},
      {"a record follows, recovery point", true, magic, Tail::kValidRecord,
       Verdict::kLostAfterHole, "followed by a valid record at offset"},
      {"a record follows, no recovery point", false, magic, Tail::kValidRecord,
       Verdict::kCorruption, "followed by a valid record at offset"},
      {"embedded headers, recovery point", true, embedded, Tail::kNothing,
       Verdict::kLostAfterHole, "undetermined"},
      {"embedded headers, no recovery point", false, embedded, Tail::kNothing,
       Verdict::kCorruption, "undetermined"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    io::SimDisk sim;
    const Built b = build(sim, c);
    if (HasFailure()) return;
    // Blocks of the region, read once; the embedded headers' records beyond their
    // block are read once each until the budget (64 MiB of 2 MiB records) runs out.
    const uint64_t blocks = b.segment_bytes / (1 << 20) + 1;
    const bool embedded_case = c.value == embedded;
    const size_t bound = 2 * blocks + (embedded_case ? 40 : 0) + 16;

    RecordingDisk disk(sim);
    RecoveryOptions options;
    options.dry_run = true;
    auto report = recover(WalConfig{}, disk, options);
    if (c.verdict == Verdict::kCorruption) {
      ASSERT_FALSE(report.ok());
      EXPECT_EQ(report.error().kind(), ErrorKind::kCorruption);
      EXPECT_NE(report.error().message().find(c.says), std::string::npos)
          << report.error().message();
      EXPECT_NE(
          report.error().message().find("offset " + std::to_string(b.damaged_offset)),
          std::string::npos)
          << report.error().message();
    } else {
      ASSERT_TRUE(report.ok()) << report.error().to_string();
      ASSERT_EQ(report->anomalies.size(), 1u);
      const Anomaly& a = report->anomalies[0];
      EXPECT_EQ(a.kind, c.verdict) << a.to_string();
      EXPECT_EQ(a.offset, b.damaged_offset);
      EXPECT_NE(a.reason.find(c.says), std::string::npos) << a.reason;
      EXPECT_EQ(report->records, 1u);
    }
    EXPECT_LE(disk.count("read_at"), bound) << "reads by recovery";

    disk.clear();
    auto inspected = inspect_log(WalConfig{}, disk);
    ASSERT_TRUE(inspected.ok()) << inspected.error().to_string();
    ASSERT_EQ(inspected->segments.size(), 1u);
    const std::optional<Anomaly> anomaly = inspected->segments[0].anomaly();
    ASSERT_TRUE(anomaly.has_value());
    EXPECT_EQ(anomaly->kind, c.verdict);
    EXPECT_NE(anomaly->reason.find(c.says), std::string::npos) << anomaly->reason;
    EXPECT_LE(disk.count("read_at"), bound) << "reads by inspection";
  }
}

// A valid record is found wherever it lies relative to the search's 1 MiB blocks: in
// the first, across the boundary (its header in both), right after it.
TEST(ResyncTest, ARecordAcrossABlockBoundaryIsFound) {
  auto valid = encode(Payload::put("b", "2"), Lsn(2), SequenceNumber(2));
  ASSERT_TRUE(valid.ok());
  // The search starts one byte after the damaged header at offset 50.
  const uint64_t boundary = 51 + (1 << 20);
  for (const uint64_t at :
       {uint64_t{51 + 1000}, boundary - 41, boundary - 40, boundary - 39, boundary - 20,
        boundary - 1, boundary, boundary + 1, boundary + (1 << 20) - 39}) {
    SCOPED_TRACE("valid record at offset " + std::to_string(at));
    io::SimDisk sim;
    {
      auto w = Writer::open(WalConfig{}, sim);
      KAYA_ASSERT_OK(w);
      KAYA_ASSERT_OK((*w)->append(Payload::put("a", "1"), DurabilityMode::kStrict));
      KAYA_ASSERT_OK((*w)->close());
    }
    KAYA_ASSERT_OK(sim.remove_file(io::RelativePath::parse(rp_format::kFile).value()));
    auto damaged = encode(Payload::put("x", "y"), Lsn(2), SequenceNumber(2));
    ASSERT_TRUE(damaged.ok());
    (*damaged)[format::kLsnOffset] ^= 1;
    damaged->resize(at - 50, 'z');
    KAYA_ASSERT_OK(sim.append(segment(1), *damaged));
    KAYA_ASSERT_OK(sim.append(segment(1), *valid));
    RecoveryOptions options;
    options.dry_run = true;
    auto report = recover(WalConfig{}, sim, options);
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.error().message().find("followed by a valid record at offset " +
                                            std::to_string(at) + " "),
              std::string::npos)
        << report.error().message();
  }
}

// The search gave up: the reason says how far it went; a torn tail is never the guess.
TEST(ResyncTest, AGivenUpSearchSaysHowFarItWent) {
  io::SimDisk sim;
  const Case c{
      "", false, embedded_headers(kBigValueBytes), Tail::kNothing, Verdict::kCorruption,
      ""};
  build(sim, c);
  RecoveryOptions options;
  options.dry_run = true;
  auto report = recover(WalConfig{}, sim, options);
  ASSERT_FALSE(report.ok());
  const std::string& m = report.error().message();
  for (const char* part :
       {"the search for a valid record after it, from offset", "gave up after scanning",
        "records whose headers verified", "undetermined (the search gave up)"}) {
    EXPECT_NE(m.find(part), std::string::npos) << "no \"" << part << "\" in " << m;
  }
}

}  // namespace
}  // namespace kaya::wal
