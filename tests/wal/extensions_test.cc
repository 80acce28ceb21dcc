// The extension opt-in (docs/format.md, "Extensions"): a log is KayaDB v1 byte for byte
// until it opts in through WalConfig::extensions; the opt-in is one way, recorded in
// the recovery point's incompatible-feature bits and marked in every record written
// after it, so that losing the recovery point does not turn the log back into v1; a
// kaya 0.1 log holding Bytes records is recorded as opted into them. The KayaDB side
// is checked with the KayaDB-style reader and writer of kayadb_style.h, which share no
// code with kaya.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/config.h"
#include "kaya/wal/format.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/kayadb_style.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

namespace fs = std::filesystem;
using kaya::testing::TempDir;

constexpr auto kStrict = DurabilityMode::kStrict;

// The flags field of every record in segment `id` under `root`, read from the bytes.
std::vector<uint16_t> record_flags(const std::string& root, uint64_t id) {
  const std::vector<uint8_t> bytes =
      kayadb_style::read_file(fs::path(root) / format::segment_path(id));
  std::vector<uint16_t> flags;
  size_t at = 0;
  while (at + format::kHeaderLen <= bytes.size()) {
    const uint8_t* h = bytes.data() + at;
    flags.push_back(
        static_cast<uint16_t>(kayadb_style::get_le(h + format::kFlagsOffset, 2)));
    at += format::kHeaderLen + kayadb_style::get_le(h + format::kPayloadLenOffset, 4);
  }
  return flags;
}

RecoveryPoint recovery_point_of(io::Disk& disk) {
  auto rp = read_recovery_point(disk);
  EXPECT_TRUE(rp.ok()) << rp.error().to_string();
  EXPECT_TRUE(rp.ok() && rp->has_value()) << "no recovery point";
  return rp.ok() && rp->has_value() ? **rp : RecoveryPoint{};
}

std::unique_ptr<Writer> open_writer(io::Disk& disk, uint64_t extensions) {
  WalConfig config;
  config.extensions = extensions;
  auto w = Writer::open(config, disk);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return w.ok() ? std::move(w).value() : nullptr;
}

void append_puts(Writer& w, int from, int count) {
  for (int i = from; i < from + count; ++i) {
    auto r = w.append(Payload::put("key-" + std::to_string(i), "value"), kStrict);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
}

// A writer opted into `extensions` appends `n` Puts and closes.
void write_log(io::Disk& disk, uint64_t extensions, int n) {
  auto w = open_writer(disk, extensions);
  ASSERT_NE(w, nullptr);
  append_puts(*w, 0, n);
  KAYA_ASSERT_OK(w->close());
}

// Writes records encoded by the public codec (flags 0, as kaya 0.1 wrote them) as
// segment 1, without a recovery point.
void write_kaya01_log(const std::string& root, const std::vector<Payload>& payloads) {
  fs::create_directories(fs::path(root) / "wal");
  std::ofstream out(fs::path(root) / format::segment_path(1), std::ios::binary);
  uint64_t lsn = 1;
  for (const Payload& p : payloads) {
    auto bytes = encode(p, Lsn(lsn), SequenceNumber(lsn));
    ASSERT_TRUE(bytes.ok());
    out.write(reinterpret_cast<const char*>(bytes->data()),
              static_cast<std::streamsize>(bytes->size()));
    ++lsn;
  }
}

TEST(ExtensionsTest, ANewLogStaysKayaDbV1AndRefusesBytesRecords) {
  TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  auto w = open_writer(**disk, 0);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->extensions(), 0u);
  append_puts(*w, 0, 3);
  auto refused = w->append(Payload::bytes("opaque"), kStrict);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(refused.error().message().find("WalConfig::extensions"), std::string::npos)
      << refused.error().message();
  EXPECT_EQ(w->next_lsn(), Lsn(4)) << "a refused record takes no LSN";
  append_puts(*w, 3, 1);
  KAYA_ASSERT_OK(w->close());

  EXPECT_EQ(recovery_point_of(**disk).incompatible_features, 0u);
  EXPECT_EQ(record_flags(dir.path(), 1), std::vector<uint16_t>(4, 0));
  const kayadb_style::KayaDbRead read = kayadb_style::kayadb_read(dir.path());
  EXPECT_EQ(read.error, "");
  ASSERT_EQ(read.records.size(), 4u) << "a KayaDB reader reads the whole log";
  EXPECT_EQ(read.records[3].key, "key-3");
}

TEST(ExtensionsTest, AnOptedInLogRecordsItsExtensionsAndMarksEveryRecord) {
  TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  auto w = open_writer(**disk, kExtensionBytes | kExtensionBatches);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->extensions(), kExtensionBytes | kExtensionBatches);
  // Recorded before any record is written.
  EXPECT_EQ(recovery_point_of(**disk).incompatible_features,
            rp_format::kBytesFeature | rp_format::kBatchesFeature);
  append_puts(*w, 0, 2);
  KAYA_ASSERT_OK(w->append(Payload::bytes("opaque"), kStrict));
  KAYA_ASSERT_OK(w->close());

  EXPECT_EQ(recovery_point_of(**disk).extensions(), kExtensionBytes | kExtensionBatches);
  EXPECT_EQ(record_flags(dir.path(), 1),
            std::vector<uint16_t>(3, format::kFlagLogBytes | format::kFlagLogBatches));
  // kaya reads the log ...
  auto log = testing::read_log(**disk);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->records.size(), 3u);
  EXPECT_EQ(log->records[2].value, "opaque");
  EXPECT_EQ(log->report.extensions, kExtensionBytes | kExtensionBatches);
  // ... a KayaDB reader cannot parse its first record: KayaDB would cut the log there.
  const kayadb_style::KayaDbRead read = kayadb_style::kayadb_read(dir.path());
  EXPECT_TRUE(read.records.empty());
}

TEST(ExtensionsTest, TheOptInIsOneWayAndMarksOnlyTheRecordsAfterIt) {
  TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  {
    auto w = open_writer(**disk, 0);
    ASSERT_NE(w, nullptr);
    append_puts(*w, 0, 2);
    KAYA_ASSERT_OK(w->close());
  }
  {
    auto w = open_writer(**disk, kExtensionBytes);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->extensions(), kExtensionBytes);
    append_puts(*w, 2, 1);
    KAYA_ASSERT_OK(w->close());
  }
  {
    // Not named any more: the log keeps what it has.
    auto w = open_writer(**disk, 0);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->extensions(), kExtensionBytes);
    KAYA_ASSERT_OK(w->append(Payload::bytes("still allowed"), kStrict));
    KAYA_ASSERT_OK(w->append(Payload::put("k", "v"), kStrict));
    KAYA_ASSERT_OK(w->close());
  }
  EXPECT_EQ(recovery_point_of(**disk).incompatible_features, rp_format::kBytesFeature);
  EXPECT_EQ(record_flags(dir.path(), 1),
            (std::vector<uint16_t>{0, 0, format::kFlagLogBytes, format::kFlagLogBytes,
                                   format::kFlagLogBytes}));
  // A KayaDB reader reads the records before the opt-in and stops at the first after.
  const kayadb_style::KayaDbRead read = kayadb_style::kayadb_read(dir.path());
  EXPECT_EQ(read.records.size(), 2u);
}

// The marker in the records keeps the opt-in when the recovery point is lost: the log
// does not silently become v1 again, through the writer or recover().
TEST(ExtensionsTest, LosingTheRecoveryPointKeepsTheOptIn) {
  for (const bool through_recover : {false, true}) {
    SCOPED_TRACE(through_recover ? "recover()" : "Writer::open");
    TempDir dir;
    auto disk = io::FileDisk::open(dir.path());
    KAYA_ASSERT_OK(disk);
    write_log(**disk, kExtensionBatches, 3);
    fs::remove(fs::path(dir.path()) / "wal" / "RECOVERY_POINT");
    if (through_recover) {
      auto report = recover(WalConfig{}, **disk);
      KAYA_ASSERT_OK(report);
      EXPECT_EQ(report->extensions, kExtensionBatches);
      EXPECT_TRUE(report->recovery_point_written);
    } else {
      auto w = open_writer(**disk, 0);
      ASSERT_NE(w, nullptr);
      EXPECT_EQ(w->extensions(), kExtensionBatches);
      append_puts(*w, 3, 1);
      KAYA_ASSERT_OK(w->close());
      EXPECT_EQ(record_flags(dir.path(), 1),
                std::vector<uint16_t>(4, format::kFlagLogBatches));
    }
    EXPECT_EQ(recovery_point_of(**disk).incompatible_features,
              rp_format::kBatchesFeature);
  }
}

TEST(ExtensionsTest, RebuildingTheRecoveryPointKeepsTheOptIn) {
  TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  write_log(**disk, kExtensionBytes, 2);
  RecoveryOptions options;
  options.rebuild_recovery_point = true;
  auto report = recover(WalConfig{}, **disk, options);
  KAYA_ASSERT_OK(report);
  EXPECT_EQ(report->extensions, kExtensionBytes);
  EXPECT_EQ(recovery_point_of(**disk).incompatible_features, rp_format::kBytesFeature);
}

// kaya 0.1 wrote Bytes records into any log and had no recovery point: such a log is
// recorded as opted into Bytes, and stays readable and appendable as it was.
TEST(ExtensionsTest, AKaya01LogWithBytesRecordsIsRecordedAsOptedIntoThem) {
  TempDir dir;
  write_kaya01_log(dir.path(), {Payload::put("a", "1"), Payload::bytes("old opaque"),
                                Payload::noop()});
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  auto w = open_writer(**disk, 0);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->extensions(), kExtensionBytes);
  EXPECT_EQ(w->recovery_report().extensions, kExtensionBytes);
  EXPECT_EQ(recovery_point_of(**disk).incompatible_features, rp_format::kBytesFeature);
  auto r = w->append(Payload::bytes("new opaque"), kStrict);
  KAYA_ASSERT_OK(r);
  EXPECT_EQ(r->lsn, Lsn(4));
  KAYA_ASSERT_OK(w->close());
  EXPECT_EQ(record_flags(dir.path(), 1),
            (std::vector<uint16_t>{0, 0, 0, format::kFlagLogBytes}));
  auto log = testing::read_log(**disk);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->records.size(), 4u);
  EXPECT_EQ(log->records[1].value, "old opaque");
}

// A log that KayaDB (or kaya 0.1 without Bytes records) wrote is not opted into
// anything by being opened: kaya appends v1 records to it, and a KayaDB-style reader
// reads everything.
TEST(ExtensionsTest, AKayaDbLogStaysV1WhenKayaAppendsToIt) {
  TempDir dir;
  const fs::path wal = fs::path(dir.path()) / "wal";
  fs::create_directories(wal);
  {
    std::ofstream out(wal / "0000000000000001.wal", std::ios::binary);
    for (uint64_t lsn = 1; lsn <= 3; ++lsn) {
      const std::vector<uint8_t> bytes =
          kayadb_style::encode_put({lsn, lsn, "kdb-" + std::to_string(lsn), "v"});
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
    }
  }
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  auto w = open_writer(**disk, 0);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->extensions(), 0u);
  append_puts(*w, 0, 2);
  EXPECT_FALSE(w->append(Payload::bytes("x"), kStrict).ok());
  KAYA_ASSERT_OK(w->close());
  EXPECT_EQ(recovery_point_of(**disk).incompatible_features, 0u);
  const kayadb_style::KayaDbRead read = kayadb_style::kayadb_read(dir.path());
  EXPECT_EQ(read.error, "");
  ASSERT_EQ(read.records.size(), 5u);
  EXPECT_EQ(read.records[4].key, "key-1");
}

// A kaya that knows the recovery point but not these bits refuses the log, and one
// that does not know them in a record's flags (kaya 0.1) refuses the record: what this
// kaya accepts is exactly the defined set.
TEST(ExtensionsTest, TheDecoderAcceptsExactlyTheDefinedFlags) {
  auto bytes = encode(Payload::put("k", "v"), Lsn(1), SequenceNumber(1));
  KAYA_ASSERT_OK(bytes);
  auto with_flags = [&](uint16_t flags) {
    std::vector<uint8_t> b = *bytes;
    b[format::kFlagsOffset] = static_cast<uint8_t>(flags);
    b[format::kFlagsOffset + 1] = static_cast<uint8_t>(flags >> 8);
    // Re-seal: the header CRC covers the flags.
    seal(b, Lsn(1), SequenceNumber(1));
    return decode(b, 0, WalConfig::kDefaultMaxRecordBytes);
  };
  for (uint16_t ok : {0x0, 0x2, 0x4, 0x6, 0x5, 0x7}) {
    const Decoded d = with_flags(ok);
    EXPECT_TRUE(d.ok()) << "flags " << ok << ": " << d.detail;
    EXPECT_EQ(d.flags, ok);
  }
  for (uint16_t bad : {0x1, 0x3, 0x8, 0x100, 0x8000}) {
    const Decoded d = with_flags(bad);
    EXPECT_EQ(d.problem, DecodeProblem::kUnknownFlags) << "flags " << bad;
    EXPECT_EQ(d.to_error("f").kind(), ErrorKind::kUnsupportedVersion);
  }
  RecoveryPoint rp;
  rp.incompatible_features = rp_format::kExtensionFeatures;
  std::vector<uint8_t> slot(rp_format::kSlotBytes);
  encode_slot(rp, slot);
  KAYA_EXPECT_OK(decode_slot(slot, "slot"));
  rp.incompatible_features = 0x8;
  encode_slot(rp, slot);
  auto unknown = decode_slot(slot, "slot");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind(), ErrorKind::kUnsupportedVersion);
}

TEST(ExtensionsTest, TheSettingIsValidatedAndParsed) {
  WalConfig config;
  config.extensions = 0x1;
  auto s = config.validate();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("extensions"), std::string::npos);
  config.extensions = kAllExtensions;
  KAYA_EXPECT_OK(config.validate());
  EXPECT_EQ(parse_extensions("bytes,batches").value(), kAllExtensions);
  EXPECT_EQ(parse_extensions("batches").value(), kExtensionBatches);
  EXPECT_EQ(parse_extensions("none").value(), 0u);
  EXPECT_EQ(parse_extensions("").value(), 0u);
  EXPECT_FALSE(parse_extensions("bytes,foo").ok());
  EXPECT_EQ(extensions_to_string(kAllExtensions), "bytes,batches");
  EXPECT_EQ(extensions_to_string(0), "none");
}

}  // namespace
}  // namespace kaya::wal
