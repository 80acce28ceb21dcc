// The recovery point file's slot codec by byte surgery: flip a byte; fix the CRC so
// that the check after it is the one exercised. How recovery uses the point is
// recovery_point_test.cc's subject.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kaya/core/crc32c.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery_point.h"
#include "testing/test_util.h"
#include "wal/recovery_point_file_util.h"

namespace kaya::wal {
namespace {

using namespace rp_file_testing;  // NOLINT(google-build-using-namespace)

// --- The slot codec ---------------------------------------------------------------

TEST(RecoveryPointFileSlot, EncodesEachFieldAtItsDocumentedOffset) {
  const RecoveryPoint p = sample();
  const Bytes s = encode(p);
  EXPECT_EQ(get_le(s, 0, 4), 0x4B525054u);
  EXPECT_EQ(s[0], 'T');  // "TPRK" on disk
  EXPECT_EQ(s[3], 'K');
  EXPECT_EQ(get_le(s, 4, 2), 1u);
  EXPECT_EQ(get_le(s, 6, 2), 128u);
  EXPECT_EQ(get_le(s, 8, 8), p.generation);
  EXPECT_EQ(get_le(s, 16, 2), p.format_version);
  EXPECT_EQ(get_le(s, 24, 8), p.incompatible_features);
  EXPECT_EQ(get_le(s, 32, 8), p.max_record_bytes);
  EXPECT_EQ(get_le(s, 40, 8), p.durable.lsn.value());
  EXPECT_EQ(get_le(s, 48, 8), p.durable.sequence.value());
  EXPECT_EQ(get_le(s, 56, 8), p.durable.segment_id);
  EXPECT_EQ(get_le(s, 64, 8), p.durable.offset);
  EXPECT_EQ(get_le(s, 72, 4), p.durable.length);
  EXPECT_EQ(get_le(s, 76, 4), p.durable.header_crc);
  EXPECT_EQ(get_le(s, 80, 8), p.sealed_segment_id);
  EXPECT_EQ(get_le(s, 88, 8), p.sealed_segment_bytes);
  EXPECT_EQ(get_le(s, 96, 8), p.sealed_last_lsn.value());
  EXPECT_EQ(get_le(s, 124, 4), crc32c::value(std::span<const uint8_t>(s).first(124)));
  // A log never truncated keeps bytes 104..124 zero: its slots are those of a kaya
  // that does not know truncation, byte for byte.
  for (size_t i = 104; i < 124; ++i) EXPECT_EQ(s[i], 0) << "byte " << i;
  // Reserved bytes (after format_version) and the padding are zero.
  for (size_t i : {18, 19, 20, 21, 22, 23}) EXPECT_EQ(s[i], 0) << "byte " << i;
  for (size_t i = 128; i < rf::kSlotBytes; ++i) EXPECT_EQ(s[i], 0) << "byte " << i;
}

TEST(RecoveryPointFileSlot, EncodesTheTruncationFieldsAtTheirDocumentedOffsets) {
  RecoveryPoint p = sample();
  p.incompatible_features = rf::kTruncationPendingFeature;
  p.truncated_after = Lsn(1001);
  p.truncation_next_sequence = SequenceNumber(2003);
  p.truncation_epoch = 0x01020304;
  const Bytes s = encode(p);
  EXPECT_EQ(get_le(s, 24, 8), 1u);  // the pending bit
  EXPECT_EQ(get_le(s, 104, 8), 1001u);
  EXPECT_EQ(get_le(s, 112, 8), 2003u);
  EXPECT_EQ(get_le(s, 120, 4), 0x01020304u);
  auto back = decode(s);
  KAYA_ASSERT_OK(back.status());
  EXPECT_EQ(*back, p);
  EXPECT_TRUE(back->truncation_pending());
}

TEST(RecoveryPointFileSlot, ImpossiblePendingTruncationIsCorruption) {
  // Pending without an epoch, and pending with a durable record above the cut.
  RecoveryPoint no_epoch = sample();
  no_epoch.incompatible_features = rf::kTruncationPendingFeature;
  no_epoch.truncated_after = Lsn(1001);
  expect_error(decode(encode(no_epoch)), ErrorKind::kCorruption,
               {"impossible pending truncation"});
  RecoveryPoint above = no_epoch;
  above.truncation_epoch = 1;
  above.truncated_after = Lsn(1000);  // the durable record is LSN 1001
  expect_error(decode(encode(above)), ErrorKind::kCorruption,
               {"impossible pending truncation"});
}

TEST(RecoveryPointFileSlot, RoundTripsEveryField) {
  RecoveryPoint extreme;
  extreme.generation = UINT64_MAX;
  extreme.max_record_bytes = UINT64_MAX;
  extreme.durable.lsn = Lsn(UINT64_MAX);
  extreme.durable.sequence = SequenceNumber(UINT64_MAX);
  extreme.durable.segment_id = UINT64_MAX;
  extreme.durable.length = UINT32_MAX;
  extreme.durable.offset = UINT64_MAX - UINT32_MAX;  // the end is still representable
  extreme.durable.header_crc = UINT32_MAX;
  extreme.sealed_segment_id = UINT64_MAX;
  extreme.sealed_segment_bytes = UINT64_MAX;
  extreme.sealed_last_lsn = Lsn(UINT64_MAX);
  for (const RecoveryPoint& p : {RecoveryPoint{}, sample(), extreme}) {
    auto d = decode(encode(p));
    ASSERT_TRUE(d.ok()) << d.error().to_string();
    EXPECT_EQ(*d, p);
  }
  // One field at a time away from a base point: a field written into or read from
  // another's place would show as a difference.
  const RecoveryPoint base = sample();
  std::vector<std::function<void(RecoveryPoint&)>> changes = {
      [](RecoveryPoint& p) { p.generation = 0x0102030405060708; },
      [](RecoveryPoint& p) { p.max_record_bytes = 0x1112131415161718; },
      [](RecoveryPoint& p) { p.durable.lsn = Lsn(0x2122232425262728); },
      [](RecoveryPoint& p) { p.durable.sequence = SequenceNumber(0x3132333435363738); },
      [](RecoveryPoint& p) { p.durable.segment_id = 0x4142434445464748; },
      [](RecoveryPoint& p) { p.durable.offset = 0x5152535455565758; },
      [](RecoveryPoint& p) { p.durable.length = 0x61626364; },
      [](RecoveryPoint& p) { p.durable.header_crc = 0x71727374; },
      [](RecoveryPoint& p) { p.sealed_segment_id = 0x8182838485868788; },
      [](RecoveryPoint& p) { p.sealed_segment_bytes = 0x9192939495969798; },
      [](RecoveryPoint& p) { p.sealed_last_lsn = Lsn(0xA1A2A3A4A5A6A7A8); },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    RecoveryPoint p = base;
    changes[i](p);
    ASSERT_NE(p, base) << "change " << i;
    auto d = decode(encode(p));
    ASSERT_TRUE(d.ok()) << "change " << i << ": " << d.error().to_string();
    EXPECT_EQ(*d, p) << "change " << i;
  }
}

TEST(RecoveryPointFileSlot, FlippingAnyByteInUseIsCorruptionNamingWhere) {
  const Bytes good = encode(sample());
  for (size_t i = 0; i < rf::kSlotLen; ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xFF}) {
      Bytes s = good;
      s[i] ^= mask;
      auto d = decode(s);
      SCOPED_TRACE("byte " + std::to_string(i) + " xor " + std::to_string(mask));
      expect_error(
          d, ErrorKind::kCorruption,
          {std::string(kWhere) + ": ", i < 4 ? "bad slot magic" : "bad slot checksum"});
      if (HasFatalFailure()) return;
    }
  }
}

// Bytes 128..511 of a slot are written as zeros and are not covered by its CRC: a
// non-zero byte there is damage, not a slot.
TEST(RecoveryPointFileSlot, FlippingAPaddingByteIsCorruption) {
  const Bytes good = encode(sample());
  for (size_t i = rf::kSlotLen; i < rf::kSlotBytes; ++i) {
    Bytes s = good;
    s[i] ^= 0x01;
    SCOPED_TRACE("byte " + std::to_string(i));
    expect_error(decode(s), ErrorKind::kCorruption, {std::string(kWhere) + ": "});
    if (HasFatalFailure()) return;
  }
}

TEST(RecoveryPointFileSlot, ZerosAndShortSlotsAreCorruption) {
  expect_error(decode(Bytes(rf::kSlotBytes, 0)), ErrorKind::kCorruption,
               {std::string(kWhere), "bad slot magic"});
  for (size_t len : {size_t{0}, size_t{4}, rf::kSlotLen - 1}) {
    Bytes s = encode(sample());
    s.resize(len);
    SCOPED_TRACE("length " + std::to_string(len));
    expect_error(decode(s), ErrorKind::kCorruption,
                 {std::string(kWhere), "slot shorter than 128"});
  }
  // Exactly the bytes in use are enough.
  Bytes s = encode(sample());
  s.resize(rf::kSlotLen);
  auto d = decode(s);
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(*d, sample());
}

TEST(RecoveryPointFileSlot, NewerSlotVersionIsUnsupportedOnceTheCrcVerifies) {
  for (uint64_t version : {uint64_t{2}, uint64_t{0}, uint64_t{0xFFFF}}) {
    SCOPED_TRACE("slot version " + std::to_string(version));
    Bytes s = encode(sample());
    set_le(s, rf::kSlotVersionOffset, version, 2);
    // Unverified, the version is not believed: the damage is reported.
    expect_error(decode(s), ErrorKind::kCorruption, {"bad slot checksum"});
    fix_crc(s);
    expect_error(decode(s), ErrorKind::kUnsupportedVersion,
                 {std::string(kWhere) + ": ", "slot version " + std::to_string(version),
                  "reads version 1"});
  }
}

TEST(RecoveryPointFileSlot, OtherSlotLengthIsUnsupportedOnceTheCrcVerifies) {
  Bytes s = encode(sample());
  set_le(s, rf::kSlotLenOffset, 256, 2);
  expect_error(decode(s), ErrorKind::kCorruption, {"bad slot checksum"});
  fix_crc(s);
  // The message then says "slot version 1 (this kaya reads version 1)", which does not
  // tell the reader that the length is what differs (reported; only kind and place
  // are asserted here).
  expect_error(decode(s), ErrorKind::kUnsupportedVersion, {std::string(kWhere) + ": "});
}

TEST(RecoveryPointFileSlot, NewerRecordFormatIsUnsupportedOnceTheCrcVerifies) {
  Bytes s = encode(sample());
  set_le(s, rf::kFormatVersionOffset, 2, 2);
  expect_error(decode(s), ErrorKind::kCorruption, {"bad slot checksum"});
  fix_crc(s);
  expect_error(decode(s), ErrorKind::kUnsupportedVersion,
               {std::string(kWhere) + ": ", "record format version 2"});
}

TEST(RecoveryPointFileSlot, UnknownIncompatibleFeatureIsUnsupported) {
  static_assert(RecoveryPoint::kKnownIncompatibleFeatures == 0x7,
                "bits this library knows must be skipped below");
  for (int bit = 3; bit < 64; ++bit) {
    SCOPED_TRACE("bit " + std::to_string(bit));
    Bytes s = encode(sample());
    set_le(s, rf::kIncompatibleOffset, uint64_t{1} << bit, 8);
    expect_error(decode(s), ErrorKind::kCorruption, {"bad slot checksum"});
    fix_crc(s);
    char hex[24];
    std::snprintf(hex, sizeof(hex), "0x%016llx", 1ull << bit);
    expect_error(decode(s), ErrorKind::kUnsupportedVersion,
                 {std::string(kWhere) + ": ", hex});
  }
}

TEST(RecoveryPointFileSlot, ImpossibleDurablePositionIsCorruption) {
  auto with = [](const std::function<void(RecoveryPoint&)>& change) {
    RecoveryPoint p = sample();
    change(p);
    return encode(p);  // encode_slot writes what it is given; decode judges it
  };
  expect_error(decode(with([](RecoveryPoint& p) { p.durable.segment_id = 0; })),
               ErrorKind::kCorruption,
               {std::string(kWhere) + ": ", "impossible durable position"});
  expect_error(
      decode(with([](RecoveryPoint& p) { p.durable.length = format::kHeaderLen - 1; })),
      ErrorKind::kCorruption, {"impossible durable position"});
  expect_error(decode(with([](RecoveryPoint& p) {
                 p.durable.offset = UINT64_MAX - p.durable.length + 1;
               })),
               ErrorKind::kCorruption, {"impossible durable position"});
  // The limits themselves are fine: a header-long record, an end at 2^64-1.
  for (const Bytes& s :
       {with([](RecoveryPoint& p) { p.durable.length = format::kHeaderLen; }),
        with([](RecoveryPoint& p) {
          p.durable.offset = UINT64_MAX - p.durable.length;
        })}) {
    auto d = decode(s);
    EXPECT_TRUE(d.ok()) << d.error().to_string();
  }
  // Without a durable record (LSN 0) the position is not looked at.
  auto d = decode(with([](RecoveryPoint& p) {
    p.durable.lsn = Lsn(0);
    p.durable.segment_id = 0;
    p.durable.length = 0;
  }));
  EXPECT_TRUE(d.ok()) << d.error().to_string();
}

}  // namespace
}  // namespace kaya::wal
