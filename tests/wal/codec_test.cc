#include "kaya/wal/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kaya/core/crc32c.h"
#include "kaya/wal/format.h"
#include "testing/test_util.h"

namespace kaya::wal {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kNoLimit = UINT64_MAX;

// Byte surgery helpers. They use their own little-endian code rather than kaya's so
// that a shared bug cannot hide.
void set_le(Bytes& b, size_t offset, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) b[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get_le(const Bytes& b, size_t offset, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= static_cast<uint64_t>(b[offset + i]) << (8 * i);
  return v;
}

// Recomputes the header CRC, so that the check after it is the one exercised.
void fix_header_crc(Bytes& rec) {
  Bytes header(rec.begin(), rec.begin() + format::kHeaderLen);
  set_le(header, format::kHeaderCrcOffset, 0, 4);
  set_le(rec, format::kHeaderCrcOffset, crc32c::value(header), 4);
}
// Recomputes the payload CRC over everything after the header, then the header CRC
// (which covers the payload CRC).
void fix_crcs(Bytes& rec) {
  set_le(rec, format::kPayloadCrcOffset,
         crc32c::value(std::span<const uint8_t>(rec).subspan(format::kHeaderLen)), 4);
  fix_header_crc(rec);
}

Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes encode_or_die(const Payload& payload, uint64_t lsn, uint64_t sequence) {
  auto r = encode(payload, Lsn(lsn), SequenceNumber(sequence));
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? std::move(r).value() : Bytes();
}

Bytes put_user1() { return encode_or_die(Payload::put("user:1", "Ada"), 1, 1); }

// Decodes records from the start of `file` until one is not ok; returns that one.
Decoded first_problem(const Bytes& file, size_t* records) {
  uint64_t offset = 0;
  *records = 0;
  for (;;) {
    Decoded d = decode(std::span<const uint8_t>(file).subspan(offset), offset, kNoLimit);
    if (!d.ok()) return d;
    ++*records;
    offset += d.size;
  }
}

void expect_invalid(const Decoded& d, DecodeProblem problem, const std::string& detail) {
  EXPECT_EQ(d.outcome, DecodeOutcome::kInvalid);
  EXPECT_EQ(to_string(d.problem), to_string(problem)) << d.detail;
  if (problem == DecodeProblem::kBadPayloadChecksum ||
      problem == DecodeProblem::kMalformedPayload) {
    EXPECT_GE(d.size, format::kHeaderLen) << "an intact header's length is reported";
  } else {
    EXPECT_EQ(d.size, 0u);
  }
  EXPECT_NE(d.detail.find(detail), std::string::npos)
      << "detail \"" << d.detail << "\" lacks \"" << detail << "\"";
}

// --- Golden files (tests/golden/make_golden.py) ---------------------------------

TEST(CodecGoldenTest, EncodingReproducesValidWal) {
  Bytes log = put_user1();
  Bytes del = encode_or_die(Payload::del("user:2"), 2, 2);
  Bytes noop = encode_or_die(Payload::noop(), 3, 3);
  log.insert(log.end(), del.begin(), del.end());
  log.insert(log.end(), noop.begin(), noop.end());
  EXPECT_EQ(log, to_bytes(testing::read_golden("valid.wal")));
}

TEST(CodecGoldenTest, EncodingReproducesBytesWal) {
  const char data[] = {0x00, 0x01, 0x02, static_cast<char>(0xff), 'k', 'a', 'y', 'a'};
  Bytes rec = encode_or_die(Payload::bytes(std::string_view(data, sizeof(data))), 1, 1);
  EXPECT_EQ(rec, to_bytes(testing::read_golden("bytes.wal")));
}

TEST(CodecGoldenTest, DecodesValidWal) {
  const Bytes file = to_bytes(testing::read_golden("valid.wal"));
  const std::span<const uint8_t> all(file);
  Decoded put = decode(all, 0, kNoLimit);
  ASSERT_TRUE(put.ok()) << put.detail;
  EXPECT_EQ(put.offset, 0u);
  EXPECT_EQ(put.size, 57u);
  EXPECT_EQ(put.record.to_record(),
            (Record{Lsn(1), SequenceNumber(1), RecordType::kPut, "user:1", "Ada"}));

  Decoded del = decode(all.subspan(57), 57, kNoLimit);
  ASSERT_TRUE(del.ok()) << del.detail;
  EXPECT_EQ(del.offset, 57u);
  EXPECT_EQ(del.size, 50u);
  EXPECT_EQ(del.record.to_record(),
            (Record{Lsn(2), SequenceNumber(2), RecordType::kDelete, "user:2", ""}));

  Decoded noop = decode(all.subspan(107), 107, kNoLimit);
  ASSERT_TRUE(noop.ok()) << noop.detail;
  EXPECT_EQ(noop.offset, 107u);
  EXPECT_EQ(noop.size, 40u);
  EXPECT_EQ(noop.record.to_record(),
            (Record{Lsn(3), SequenceNumber(3), RecordType::kNoop, "", ""}));
  EXPECT_EQ(107u + 40u, file.size());
}

TEST(CodecGoldenTest, DecodesBytesWal) {
  const Bytes file = to_bytes(testing::read_golden("bytes.wal"));
  Decoded d = decode(file, 0, kNoLimit);
  ASSERT_TRUE(d.ok()) << d.detail;
  EXPECT_EQ(d.size, file.size());
  EXPECT_EQ(d.record.type, RecordType::kBytes);
  EXPECT_EQ(d.record.key, "");
  EXPECT_EQ(d.record.value, std::string_view("\x00\x01\x02\xff"
                                             "kaya",
                                             8));
}

TEST(CodecGoldenTest, BadMagic) {
  size_t records = 0;
  Decoded d = first_problem(to_bytes(testing::read_golden("bad_magic.wal")), &records);
  EXPECT_EQ(records, 0u);
  EXPECT_EQ(d.offset, 0u);
  expect_invalid(d, DecodeProblem::kBadMagic,
                 "bad magic 0x4159414b (expected 0x4b415941)");
}

TEST(CodecGoldenTest, BadVersion) {
  size_t records = 0;
  Decoded d = first_problem(to_bytes(testing::read_golden("bad_version.wal")), &records);
  EXPECT_EQ(records, 0u);
  EXPECT_EQ(d.offset, 0u);
  expect_invalid(d, DecodeProblem::kUnsupportedVersion, "unsupported version 9");
  EXPECT_EQ(d.to_error("golden").kind(), ErrorKind::kUnsupportedVersion);
}

TEST(CodecGoldenTest, BadPayloadCrc) {
  size_t records = 0;
  Decoded d =
      first_problem(to_bytes(testing::read_golden("bad_payload_crc.wal")), &records);
  EXPECT_EQ(records, 1u);
  EXPECT_EQ(d.offset, 57u);
  expect_invalid(d, DecodeProblem::kBadPayloadChecksum, "bad payload checksum");
  EXPECT_EQ(d.size, 50u) << "the Delete's intact header declares 40 + 10 bytes";
  EXPECT_EQ(d.to_error("golden").kind(), ErrorKind::kCorruption);
}

TEST(CodecGoldenTest, TornSecondRecord) {
  size_t records = 0;
  Decoded d = first_problem(to_bytes(testing::read_golden("torn.wal")), &records);
  EXPECT_EQ(records, 1u);
  EXPECT_EQ(d.offset, 57u);
  EXPECT_EQ(d.outcome, DecodeOutcome::kIncomplete);
  EXPECT_EQ(d.problem, DecodeProblem::kPartialPayload);
  EXPECT_EQ(d.size, 50u);  // the whole Delete record, which the caller would need
}

// --- Encoding ------------------------------------------------------------------------

TEST(CodecTest, SpecExampleIs57Bytes) {
  const Payload p = Payload::put("user:1", "Ada");
  EXPECT_EQ(p.payload_len(), 17u);
  EXPECT_EQ(p.encoded_len(), 57u);
  Bytes rec = put_user1();
  ASSERT_EQ(rec.size(), 57u);
  EXPECT_EQ(get_le(rec, format::kMagicOffset, 4), 0x4B415941u);
  EXPECT_EQ(get_le(rec, format::kPayloadLenOffset, 4), 17u);
  EXPECT_EQ(get_le(rec, format::kLsnOffset, 8), 1u);
  EXPECT_EQ(get_le(rec, format::kSequenceOffset, 8), 1u);
}

// An empty key (and an empty value) is valid: the format allows length 0, and logs
// with empty keys exist.
TEST(CodecTest, EmptyKeysAndValuesRoundTrip) {
  for (const Payload& p : {Payload::put("", "v"), Payload::put("", ""),
                           Payload::put("k", ""), Payload::del("")}) {
    Bytes buf = encode_or_die(p, 1, 1);
    ASSERT_EQ(buf.size(), format::kHeaderLen + (p.type == RecordType::kPut ? 8 : 4) +
                              p.key.size() + p.value.size());
    Decoded d = decode(buf, 0, buf.size());
    ASSERT_TRUE(d.ok()) << d.detail;
    EXPECT_EQ(d.record.type, p.type);
    EXPECT_EQ(d.record.key, p.key);
    EXPECT_EQ(d.record.value, p.value);
  }
}

TEST(CodecTest, SealWritesOnlyLsnSequenceAndHeaderCrc) {
  const Payload p = Payload::put("k", "v");
  Bytes unsealed(p.encoded_len());
  KAYA_ASSERT_OK(encode_unsealed(p, unsealed));
  Bytes sealed = unsealed;
  seal(sealed, Lsn(0x0102030405060708), SequenceNumber(42));
  EXPECT_EQ(sealed, encode_or_die(p, 0x0102030405060708, 42));
  EXPECT_EQ(get_le(sealed, format::kLsnOffset, 8), 0x0102030405060708u);
  EXPECT_EQ(get_le(sealed, format::kSequenceOffset, 8), 42u);
  for (size_t i = 0; i < sealed.size(); ++i) {
    const bool sealed_field =
        (i >= format::kLsnOffset && i < format::kPayloadLenOffset) ||
        (i >= format::kHeaderCrcOffset && i < format::kPayloadCrcOffset);
    if (!sealed_field) {
      EXPECT_EQ(sealed[i], unsealed[i]) << "byte " << i;
    }
  }
}

TEST(CodecTest, EncodeRejectsWrongBufferSize) {
  const Payload p = Payload::put("user:1", "Ada");
  Bytes small(56), large(58);
  for (Bytes* out : {&small, &large}) {
    Status s = encode_unsealed(p, *out);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(s.error().message().find("needs 57"), std::string::npos)
        << s.error().message();
  }
}

TEST(CodecTest, EncodeRejectsMalformedPayloads) {
  const Payload cases[] = {
      {RecordType::kDelete, "k", "v"},  // a Delete has no value
      {RecordType::kNoop, "k", {}},         {RecordType::kNoop, {}, "v"},
      {RecordType::kBytes, "k", "v"},  // a Bytes record has no key
      {static_cast<RecordType>(9), {}, {}},
  };
  for (const Payload& p : cases) {
    auto r = encode(p, Lsn(1), SequenceNumber(1));
    ASSERT_FALSE(r.ok()) << to_string(p.type);
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  }
}

TEST(CodecTest, EncodeRejectsLengthsBeyondU32) {
  // The lengths are checked before a byte is read, so these views are never
  // dereferenced past their first byte's address.
  static const char kByte = 'x';
  const std::string_view huge(&kByte, uint64_t{1} << 32);
  const std::string_view almost(&kByte, format::kMaxPayloadLen - format::kPutFixedLen);
  const Payload cases[] = {
      Payload::put(huge, ""), Payload::put("", huge),    Payload::del(huge),
      Payload::bytes(huge),   Payload::put(almost, "x"),  // each length fits a u32; 8 +
                                                          // key + value does not
  };
  for (const Payload& p : cases) {
    Status s = encode_unsealed(p, {});
    ASSERT_FALSE(s.ok()) << to_string(p.type);
    EXPECT_EQ(s.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(s.error().message().find("u32"), std::string::npos) << s.error().message();
  }
}

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

// --- Incomplete buffers ----------------------------------------------------------

TEST(CodecTest, EveryPrefixIsIncomplete) {
  const char bin[] = {0x00, static_cast<char>(0xff), 0x41, 0x59};
  const Bytes records[] = {
      put_user1(),
      encode_or_die(Payload::del("user:2"), 2, 2),
      encode_or_die(Payload::noop(), 3, 3),
      encode_or_die(Payload::bytes(std::string_view(bin, sizeof(bin))), 4, 4),
  };
  for (const Bytes& rec : records) {
    for (size_t n = 0; n < rec.size(); ++n) {
      SCOPED_TRACE("prefix of " + std::to_string(n) + " of " +
                   std::to_string(rec.size()));
      Decoded d = decode(std::span<const uint8_t>(rec).first(n), 100, kNoLimit);
      EXPECT_EQ(d.outcome, DecodeOutcome::kIncomplete) << d.detail;
      EXPECT_EQ(d.offset, 100u);
      if (n < format::kHeaderLen) {
        EXPECT_EQ(d.problem, DecodeProblem::kPartialHeader);
        EXPECT_EQ(d.size, 0u);
      } else {
        EXPECT_EQ(d.problem, DecodeProblem::kPartialPayload);
        EXPECT_EQ(d.size, rec.size());
      }
    }
    EXPECT_TRUE(decode(rec, 100, kNoLimit).ok());
  }
}

// --- Errors --------------------------------------------------------------------------

TEST(CodecTest, ToErrorNamesWhereOffsetAndDetail) {
  Bytes rec = put_user1();
  rec[format::kHeaderLen] ^= 0x01;
  Decoded d = decode(rec, 123456, kNoLimit);
  Error e = d.to_error("wal/0000000000000007.wal");
  EXPECT_EQ(e.kind(), ErrorKind::kCorruption);
  EXPECT_NE(e.message().find("wal/0000000000000007.wal"), std::string::npos)
      << e.message();
  EXPECT_NE(e.message().find("offset 123456"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find(d.detail), std::string::npos) << e.message();

  Decoded torn = decode(std::span<const uint8_t>(rec).first(50), 99, kNoLimit);
  Error te = torn.to_error("seg");
  EXPECT_EQ(te.kind(), ErrorKind::kCorruption);
  EXPECT_NE(te.message().find("partial payload"), std::string::npos) << te.message();
  EXPECT_NE(te.message().find("10 of the 17 payload bytes"), std::string::npos)
      << te.message();
}

TEST(CodecTest, DecodeProblemNamesAreDistinct) {
  const DecodeProblem all[] = {
      DecodeProblem::kNone,
      DecodeProblem::kPartialHeader,
      DecodeProblem::kPartialPayload,
      DecodeProblem::kBadMagic,
      DecodeProblem::kUnsupportedVersion,
      DecodeProblem::kBadHeaderLength,
      DecodeProblem::kUnknownFlags,
      DecodeProblem::kUnknownType,
      DecodeProblem::kOversizedPayload,
      DecodeProblem::kBadHeaderChecksum,
      DecodeProblem::kBadPayloadChecksum,
      DecodeProblem::kMalformedPayload,
  };
  std::set<std::string_view> names;
  for (DecodeProblem p : all) names.insert(to_string(p));
  EXPECT_EQ(names.size(), std::size(all));
}

// --- Views and round trips ---------------------------------------------------------

TEST(CodecTest, RecordViewPointsIntoTheBufferAndToRecordCopies) {
  Bytes rec = put_user1();
  Decoded d = decode(rec, 0, kNoLimit);
  ASSERT_TRUE(d.ok()) << d.detail;
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(d.record.key.data()),
            rec.data() + format::kHeaderLen + format::kPutFixedLen);
  Record copy = d.record.to_record();
  rec[format::kHeaderLen + format::kPutFixedLen] = 'X';  // the view sees this...
  EXPECT_EQ(d.record.key, "Xser:1");
  EXPECT_EQ(copy.key, "user:1");  // ...the copy does not
  EXPECT_EQ(copy.value, "Ada");
  EXPECT_EQ(copy.lsn, Lsn(1));
  EXPECT_EQ(copy.sequence, SequenceNumber(1));
  EXPECT_EQ(copy.type, RecordType::kPut);
  EXPECT_EQ(encode_or_die(copy.payload(), 1, 1), put_user1());
}

std::string random_bytes(std::mt19937_64& rng, size_t max_len) {
  std::string s(std::uniform_int_distribution<size_t>(0, max_len)(rng), '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(CodecTest, RoundTripRandomPayloads) {
  const uint64_t seed = testing::seed_from_env(20240611);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (replay with KAYA_SEED)");
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 2000; ++i) {
    Record want;
    want.type = static_cast<RecordType>(std::uniform_int_distribution<int>(1, 4)(rng));
    want.lsn = Lsn(rng());
    want.sequence = SequenceNumber(rng());
    if (want.type == RecordType::kPut || want.type == RecordType::kDelete) {
      want.key = random_bytes(rng, 64);
    }
    if (want.type == RecordType::kPut || want.type == RecordType::kBytes) {
      want.value = random_bytes(rng, i % 100 == 0 ? 70000 : 300);
    }
    Bytes buf = encode_or_die(want.payload(), want.lsn.value(), want.sequence.value());
    ASSERT_EQ(buf.size(), want.payload().encoded_len());
    // Trailing bytes (the next record, garbage) must not change the result.
    const size_t size = buf.size();
    const std::string tail = random_bytes(rng, 50);
    buf.insert(buf.end(), tail.begin(), tail.end());
    Decoded d = decode(buf, 7, size);
    ASSERT_TRUE(d.ok()) << "iteration " << i << ": " << d.detail;
    EXPECT_EQ(d.size, size);
    EXPECT_EQ(d.offset, 7u);
    ASSERT_EQ(d.record.to_record(), want) << "iteration " << i;
  }
}

}  // namespace
}  // namespace kaya::wal
