// The codec: encoding, incomplete buffers, errors, views and round trips (golden files:
// codec_golden_test.cc; byte surgery: codec_surgery_test.cc).
#include "kaya/wal/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kaya/wal/format.h"
#include "testing/test_util.h"
#include "wal/codec_test_util.h"

namespace kaya::wal {
namespace {

using namespace codec_testing;  // NOLINT(google-build-using-namespace)

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

// What can begin a segment: nothing, zeros (preallocated space), or the magic's first
// bytes (a record, perhaps torn); anything else cannot, also a magic that is wrong in
// its last byte.
TEST(CodecTest, MayBeginSegmentAcceptsTheMagicOrZerosOnly) {
  auto begins = [](std::vector<uint8_t> head) { return may_begin_segment(head); };
  EXPECT_TRUE(begins({}));
  EXPECT_TRUE(begins({0}));
  EXPECT_TRUE(begins({0, 0, 0, 0, 'x'}));  // only the first four bytes count
  EXPECT_TRUE(begins({'A'}));
  EXPECT_TRUE(begins({'A', 'Y', 'A'}));
  EXPECT_TRUE(begins({'A', 'Y', 'A', 'K', 0xff}));
  auto record = encode(Payload::put("k", "v"), Lsn(1), SequenceNumber(1));
  KAYA_ASSERT_OK(record);
  EXPECT_TRUE(begins(*record));
  EXPECT_FALSE(begins({'x'}));
  EXPECT_FALSE(begins({0, 'A'}));
  EXPECT_FALSE(begins({'A', 'Y', 'A', 'X'}));
  EXPECT_FALSE(begins({'K', 'A', 'Y', 'A'}));  // the magic's bytes in the wrong order
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
