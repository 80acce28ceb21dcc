// The log stays readable by a KayaDB-style reader: one that knows only record format v1
// (docs/format.md) and the segment files `wal/<16 hex>.wal`, and ignores every other
// file (wal/LOCK, wal/RECOVERY_POINT, wal/lost/). And the other way: kaya opens and
// continues a log such a writer left, without a recovery point.
//
// The reader and writer below are written from docs/format.md alone: their own CRC32C,
// their own header layout, plain file reads. They share no code with kaya's codec, so
// a change to kaya's files that an older reader cannot follow fails here.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/kayadb_style.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

namespace fs = std::filesystem;

using namespace kayadb_style;  // NOLINT(google-build-using-namespace): the test's subject

// --- helpers on the kaya side --------------------------------------------------------

WalConfig small_config() {
  WalConfig c;
  c.segment_max_bytes = 1024;
  c.max_record_bytes = 1024;
  return c;
}

std::string key_of(uint64_t i) { return "key-" + std::to_string(i); }
std::string value_of(uint64_t i) { return std::string(40 + i % 50, 'a' + i % 26); }

void append_puts(Writer& w, uint64_t from, uint64_t count) {
  for (uint64_t i = from; i < from + count; ++i) {
    const std::string key = key_of(i);
    const std::string value = value_of(i);
    auto r = w.append(Payload::put(key, value), DurabilityMode::kStrict);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
}

// What kaya's own reader returns, as Put records.
std::vector<PutRecord> kaya_read(io::Disk& disk, const WalConfig& config) {
  std::vector<PutRecord> out;
  auto reader = LogReader::open(config, disk, first_lsn(config, disk).value());
  EXPECT_TRUE(reader.ok()) << reader.error().to_string();
  if (!reader.ok()) return out;
  for (;;) {
    auto next = (*reader)->next();
    EXPECT_TRUE(next.ok()) << next.error().to_string();
    if (!next.ok() || !*next) return out;
    const Record& r = **next;
    out.push_back(PutRecord{r.lsn.value(), r.sequence.value(), r.key, r.value});
  }
}

void flip_byte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x10);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

// --- the tests ------------------------------------------------------------------------

// A log kaya wrote, with every file kaya adds (LOCK, RECOVERY_POINT, wal/lost/ from a
// point-in-time recovery), reads the same through the KayaDB-style reader as through
// kaya's, before and after kaya appends to it again.
TEST(KayaDbCompatTest, AKayaDbStyleReaderReadsWhatKayaWrote) {
  kaya::testing::TempDir dir;
  const WalConfig config = small_config();
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  {
    auto w = Writer::open(config, **disk);
    KAYA_ASSERT_OK(w);
    append_puts(**w, 0, 40);
    KAYA_ASSERT_OK((*w)->close());
  }
  const fs::path wal = fs::path(dir.path()) / "wal";
  ASSERT_TRUE(fs::exists(wal / "RECOVERY_POINT"));
  ASSERT_TRUE(fs::exists(wal / "LOCK"));
  KayaDbRead whole = kayadb_read(dir.path());
  EXPECT_EQ(whole.error, "");
  ASSERT_GE(whole.segments.size(), 4u) << "several segments";
  EXPECT_EQ(whole.records.size(), 40u);
  EXPECT_EQ(whole.records, kaya_read(**disk, config));
  for (size_t i = 0; i < whole.records.size(); ++i) {
    EXPECT_EQ(whole.records[i].key, key_of(i));
    EXPECT_EQ(whole.records[i].value, value_of(i));
  }

  // Damage in segment 3, below the recovery point: point-in-time recovery keeps the
  // prefix and moves the rest to wal/lost/, which the KayaDB-style reader never reads.
  flip_byte((wal / "0000000000000003.wal").string(), 50);
  RecoveryOptions pit;
  pit.mode = RecoveryMode::kPointInTime;
  auto report = recover(config, **disk, pit);
  KAYA_ASSERT_OK(report);
  ASSERT_TRUE(fs::is_directory(wal / "lost"));
  ASSERT_FALSE(fs::is_empty(wal / "lost"));
  KayaDbRead kept = kayadb_read(dir.path());
  EXPECT_EQ(kept.error, "");
  ASSERT_LT(kept.records.size(), 40u);
  EXPECT_EQ(kept.records, kaya_read(**disk, config));
  ASSERT_FALSE(kept.records.empty());

  // kaya continues the log; the KayaDB-style reader follows.
  {
    auto w = Writer::open(config, **disk);
    KAYA_ASSERT_OK(w);
    append_puts(**w, 100, 20);
    KAYA_ASSERT_OK((*w)->close());
  }
  KayaDbRead after = kayadb_read(dir.path());
  EXPECT_EQ(after.error, "");
  EXPECT_EQ(after.records.size(), kept.records.size() + 20);
  EXPECT_EQ(after.records, kaya_read(**disk, config));
  EXPECT_EQ(after.records.back().key, key_of(119));
}

// A log a KayaDB-style writer left (segments only, no recovery point, a torn last
// record): kaya cuts the torn tail, creates its recovery point, continues the LSNs,
// and the KayaDB-style reader reads the whole log afterwards.
TEST(KayaDbCompatTest, KayaContinuesALogAKayaDbStyleWriterLeft) {
  kaya::testing::TempDir dir;
  const fs::path wal = fs::path(dir.path()) / "wal";
  fs::create_directories(wal);
  std::vector<PutRecord> written;
  uint64_t lsn = 1;
  for (int segment = 1; segment <= 3; ++segment) {
    std::vector<uint8_t> bytes;
    for (int i = 0; i < 5; ++i, ++lsn) {
      PutRecord r{lsn, 1000 + lsn, "old-" + std::to_string(lsn), std::string(30, 'x')};
      const std::vector<uint8_t> encoded = encode_put(r);
      if (segment == 3 && i == 4) {
        // The last record torn: half of it reached the disk.
        bytes.insert(bytes.end(), encoded.begin(), encoded.begin() + encoded.size() / 2);
        break;
      }
      bytes.insert(bytes.end(), encoded.begin(), encoded.end());
      written.push_back(r);
    }
    char name[32];
    std::snprintf(name, sizeof name, "%016x.wal", segment);
    std::ofstream(wal / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  KayaDbRead before = kayadb_read(dir.path());
  EXPECT_EQ(before.error, "");
  ASSERT_EQ(before.records, written) << "the reader reads what the writer wrote";

  const WalConfig config = small_config();
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  {
    auto w = Writer::open(config, **disk);
    KAYA_ASSERT_OK(w);
    EXPECT_EQ((*w)->stats().durable_lsn_end, Lsn(written.size() + 1));
    append_puts(**w, 0, 10);
    KAYA_ASSERT_OK((*w)->close());
  }
  EXPECT_TRUE(fs::exists(wal / "RECOVERY_POINT"));
  KayaDbRead after = kayadb_read(dir.path());
  EXPECT_EQ(after.error, "");
  ASSERT_EQ(after.records.size(), written.size() + 10);
  EXPECT_TRUE(std::equal(written.begin(), written.end(), after.records.begin()));
  EXPECT_EQ(after.records[written.size()].lsn, written.size() + 1);
  EXPECT_EQ(after.records[written.size()].key, key_of(0));
  EXPECT_EQ(after.records, kaya_read(**disk, config));
}

// KayaDB writes a record larger than its segment size alone into a segment of its own.
// kaya, given the same segment size and its default record limit, opens such a log,
// reads it, and writes a large record the same way, mapped or not: alone in a fresh
// segment, the next record in the segment after it.
TEST(KayaDbCompatTest, ARecordLargerThanItsSegmentGoesAloneIntoASegmentOfItsOwn) {
  for (const uint64_t preallocate : {uint64_t{0}, WalConfig::kDefaultPreallocateBytes}) {
    SCOPED_TRACE("preallocate_bytes " + std::to_string(preallocate));
    kaya::testing::TempDir dir;
    const fs::path wal = fs::path(dir.path()) / "wal";
    fs::create_directories(wal);
    // The KayaDB writer's segments (1024 bytes): two small records, one of 3000 bytes
    // alone, then one small record.
    const std::vector<std::vector<uint64_t>> layout = {{60, 60}, {3000}, {60}};
    std::vector<PutRecord> written;
    uint64_t lsn = 1;
    for (size_t segment = 0; segment < layout.size(); ++segment) {
      std::vector<uint8_t> bytes;
      for (const uint64_t value_len : layout[segment]) {
        PutRecord r{lsn, lsn, "old-" + std::to_string(lsn), std::string(value_len, 'o')};
        ++lsn;
        const std::vector<uint8_t> encoded = encode_put(r);
        bytes.insert(bytes.end(), encoded.begin(), encoded.end());
        written.push_back(r);
      }
      char name[32];
      std::snprintf(name, sizeof name, "%016zx.wal", segment + 1);
      std::ofstream(wal / name, std::ios::binary)
          .write(reinterpret_cast<const char*>(bytes.data()),
                 static_cast<std::streamsize>(bytes.size()));
    }

    WalConfig config;  // the default record limit, 32 MiB
    config.segment_max_bytes = 1024;
    config.preallocate_bytes = preallocate;
    auto disk = io::FileDisk::open(dir.path());
    KAYA_ASSERT_OK(disk);
    EXPECT_EQ(kaya_read(**disk, config), written);
    {
      auto w = Writer::open(config, **disk);
      KAYA_ASSERT_OK(w);
      // Segment 3 has room for a small record; the large one gets segment 4 alone;
      // the small one after it starts segment 5.
      for (const uint64_t value_len : {uint64_t{60}, uint64_t{5000}, uint64_t{60}}) {
        PutRecord r{lsn, 0, "new-" + std::to_string(lsn), std::string(value_len, 'n')};
        auto a = (*w)->append(Payload::put(r.key, r.value), DurabilityMode::kStrict);
        KAYA_ASSERT_OK(a);
        EXPECT_EQ(a->lsn, Lsn(lsn));
        r.sequence = a->sequence.value();
        written.push_back(r);
        ++lsn;
      }
      KAYA_ASSERT_OK((*w)->close());
    }
    const KayaDbRead read = kayadb_read(dir.path());
    EXPECT_EQ(read.error, "");
    EXPECT_EQ(read.records, written);
    EXPECT_EQ(kaya_read(**disk, config), written);
    ASSERT_EQ(read.segments.size(), 5u);
    EXPECT_EQ(fs::file_size(wal / read.segments[1]), encode_put(written[2]).size());
    EXPECT_EQ(fs::file_size(wal / read.segments[3]), encode_put(written[5]).size())
        << "the large record alone in its segment";
    EXPECT_EQ(fs::file_size(wal / read.segments[4]), encode_put(written[6]).size());
  }
}

}  // namespace
}  // namespace kaya::wal
