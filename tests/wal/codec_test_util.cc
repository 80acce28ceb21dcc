// Helpers of the codec tests (codec_test_util.h).
#include "wal/codec_test_util.h"

#include <gtest/gtest.h>

#include <span>
#include <utility>

#include "kaya/core/crc32c.h"
#include "kaya/wal/format.h"

namespace kaya::wal::codec_testing {

void fix_crcs(Bytes& rec) {
  set_le(rec, format::kPayloadCrcOffset,
         crc32c::value(std::span<const uint8_t>(rec).subspan(format::kHeaderLen)), 4);
  fix_header_crc(rec);
}

Bytes encode_or_die(const Payload& payload, uint64_t lsn, uint64_t sequence) {
  auto r = encode(payload, Lsn(lsn), SequenceNumber(sequence));
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? std::move(r).value() : Bytes();
}

Bytes put_user1() { return encode_or_die(Payload::put("user:1", "Ada"), 1, 1); }

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

}  // namespace kaya::wal::codec_testing
