// The codec by byte surgery: one test per DecodeProblem, and the order of the checks.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kaya/wal/codec.h"
#include "kaya/wal/format.h"
#include "testing/test_util.h"
#include "wal/codec_test_util.h"

namespace kaya::wal {
namespace {

using namespace codec_testing;  // NOLINT(google-build-using-namespace)

// --- Byte surgery: one test per DecodeProblem ---------------------------------------

TEST(CodecSurgeryTest, BadMagic) {
  Bytes rec = put_user1();
  rec[0] ^= 0x01;
  fix_header_crc(rec);  // the magic is checked first regardless
  expect_invalid(decode(rec, 0, kNoLimit), DecodeProblem::kBadMagic,
                 "bad magic 0x4b415940 (expected 0x4b415941)");
}

TEST(CodecSurgeryTest, ZeroedMagicIsBadMagicEvenWhenShort) {
  // A zero-filled tail (preallocation) is garbage, not a torn record.
  Bytes zeros(10, 0);
  expect_invalid(decode(zeros, 0, kNoLimit), DecodeProblem::kBadMagic,
                 "bad magic 0x00000000 (expected 0x4b415941)");
}

TEST(CodecSurgeryTest, VersionIsTrustedOnlyOnceTheHeaderCrcVerifies) {
  // A newer version whose header verifies is a record this library cannot read ...
  Bytes rec = put_user1();
  set_le(rec, format::kVersionOffset, 2, 2);
  fix_header_crc(rec);
  Decoded d = decode(rec, 0, kNoLimit);
  expect_invalid(d, DecodeProblem::kUnsupportedVersion, "unsupported version 2");
  EXPECT_EQ(d.to_error("seg").kind(), ErrorKind::kUnsupportedVersion);
  EXPECT_TRUE(d.header_verified);
  EXPECT_EQ(d.record.lsn, Lsn(1));
  // ... while one whose header does not verify is a damaged header, whatever it says.
  Bytes stale = put_user1();
  set_le(stale, format::kVersionOffset, 2, 2);
  Decoded damaged = decode(stale, 0, kNoLimit);
  EXPECT_EQ(damaged.problem, DecodeProblem::kBadHeaderChecksum);
  EXPECT_EQ(damaged.to_error("seg").kind(), ErrorKind::kCorruption);
  EXPECT_FALSE(damaged.header_verified);
}

TEST(CodecSurgeryTest, BadHeaderLength) {
  Bytes rec = put_user1();
  set_le(rec, format::kHeaderLenOffset, 48, 2);
  fix_header_crc(rec);
  expect_invalid(decode(rec, 0, kNoLimit), DecodeProblem::kBadHeaderLength,
                 "bad header length 48 (expected 40)");
}

TEST(CodecSurgeryTest, UnknownFlags) {
  Bytes rec = put_user1();
  set_le(rec, format::kFlagsOffset, 1, 2);
  fix_header_crc(rec);
  expect_invalid(decode(rec, 0, kNoLimit), DecodeProblem::kUnknownFlags,
                 "unknown flags 0x0001");
}

TEST(CodecSurgeryTest, UnknownType) {
  Bytes rec = put_user1();
  set_le(rec, format::kTypeOffset, 9, 2);
  fix_header_crc(rec);
  expect_invalid(decode(rec, 0, kNoLimit), DecodeProblem::kUnknownType, "unknown type 9");
}

TEST(CodecSurgeryTest, OversizedPayloadIsDecidedFromTheHeaderAlone) {
  Bytes rec = put_user1();
  set_le(rec, format::kPayloadLenOffset, 0xFFFFFFF0, 4);
  fix_header_crc(rec);
  rec.resize(format::kHeaderLen);  // no payload bytes at all
  // Had the length been trusted this would be kIncomplete with size ~4 GiB, which a
  // reader would go and allocate.
  expect_invalid(decode(rec, 0, 1024), DecodeProblem::kOversizedPayload,
                 "payload_len 4294967280 exceeds the limit of 984");
}

TEST(CodecSurgeryTest, PayloadLimitIsMaxRecordBytesMinusHeader) {
  const Bytes rec = put_user1();  // 57 bytes
  EXPECT_TRUE(decode(rec, 0, 57).ok());
  expect_invalid(decode(rec, 0, 56), DecodeProblem::kOversizedPayload,
                 "payload_len 17 exceeds the limit of 16");
  expect_invalid(decode(rec, 0, 10), DecodeProblem::kOversizedPayload, "the limit of 0");
}

TEST(CodecSurgeryTest, BadHeaderChecksum) {
  // Every header byte outside magic, version and header_len is covered by the CRC, the
  // payload CRC and the CRC field itself included.
  for (size_t i = format::kFlagsOffset; i < format::kHeaderLen; ++i) {
    SCOPED_TRACE("flipped header byte " + std::to_string(i));
    Bytes rec = put_user1();
    rec[i] ^= 0x80;
    expect_invalid(decode(rec, 0, kNoLimit), DecodeProblem::kBadHeaderChecksum,
                   "bad header checksum: stored 0x");
  }
}

TEST(CodecSurgeryTest, BadPayloadChecksum) {
  for (size_t i = format::kHeaderLen; i < 57; ++i) {
    SCOPED_TRACE("flipped payload byte " + std::to_string(i));
    Bytes rec = put_user1();
    rec[i] ^= 0x01;
    expect_invalid(decode(rec, 0, kNoLimit), DecodeProblem::kBadPayloadChecksum,
                   "bad payload checksum: stored 0x");
  }
}

struct MalformedCase {
  RecordType type;
  Bytes payload;
  const char* detail;
};

// A record with the given raw payload and correct CRCs, so that only the shape check
// can reject it.
Bytes record_with_raw_payload(RecordType type, const Bytes& payload) {
  Bytes rec = encode_or_die(Payload::noop(), 1, 1);
  set_le(rec, format::kTypeOffset, static_cast<uint16_t>(type), 2);
  set_le(rec, format::kPayloadLenOffset, payload.size(), 4);
  rec.insert(rec.end(), payload.begin(), payload.end());
  fix_crcs(rec);
  return rec;
}

TEST(CodecSurgeryTest, MalformedPayloads) {
  const MalformedCase cases[] = {
      // Put("user:1", "Ada") with value_len 300.
      {RecordType::kPut,
       {6, 0, 0, 0, 0x2c, 1, 0, 0, 'u', 's', 'e', 'r', ':', '1', 'A', 'd', 'a'},
       "payload_len 17 but Put key_len 6 + value_len 300 needs 314"},
      // key_len + value_len overflowing a u32 must not wrap around to a match.
      {RecordType::kPut,
       {0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 'x'},
       "payload_len 9 but Put key_len 4294967295 + value_len 1 needs 4294967304"},
      {RecordType::kPut, {1, 0, 0}, "payload_len 3 is shorter than the 8-byte Put"},
      {RecordType::kDelete,
       {7, 0, 0, 0, 'u', 's', 'e', 'r', ':', '2'},
       "payload_len 10 but Delete key_len 7 needs 11"},
      {RecordType::kDelete, {0, 0}, "payload_len 2 is shorter than the 4-byte Delete"},
      {RecordType::kNoop, {0}, "payload_len 1 but a Noop payload must be empty"},
  };
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.detail);
    expect_invalid(decode(record_with_raw_payload(c.type, c.payload), 0, kNoLimit),
                   DecodeProblem::kMalformedPayload, c.detail);
  }
}

TEST(CodecSurgeryTest, PutKeyLenSurgeryIsMalformed) {
  Bytes rec = put_user1();
  set_le(rec, format::kHeaderLen, 7, 4);  // key_len 6 -> 7
  fix_crcs(rec);
  expect_invalid(decode(rec, 0, kNoLimit), DecodeProblem::kMalformedPayload,
                 "payload_len 17 but Put key_len 7 + value_len 3 needs 18");
}

TEST(CodecSurgeryTest, ChecksAreOrdered) {
  // Two defects at once: the earlier check in the documented order must report.
  Bytes rec = put_user1();
  set_le(rec, format::kFlagsOffset, 1, 2);
  set_le(rec, format::kTypeOffset, 9, 2);
  EXPECT_EQ(decode(rec, 0, kNoLimit).problem, DecodeProblem::kBadHeaderChecksum);
  fix_header_crc(rec);
  EXPECT_EQ(decode(rec, 0, kNoLimit).problem, DecodeProblem::kUnknownFlags);
  set_le(rec, format::kFlagsOffset, 0, 2);
  fix_header_crc(rec);
  EXPECT_EQ(decode(rec, 0, kNoLimit).problem, DecodeProblem::kUnknownType);
}

}  // namespace
}  // namespace kaya::wal
