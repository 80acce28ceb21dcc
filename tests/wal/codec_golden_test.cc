// The codec against the golden files (tests/golden/make_golden.py), byte for byte.
#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "kaya/wal/codec.h"
#include "testing/test_util.h"
#include "wal/codec_test_util.h"

namespace kaya::wal {
namespace {

using namespace codec_testing;  // NOLINT(google-build-using-namespace)

Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

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

}  // namespace
}  // namespace kaya::wal
