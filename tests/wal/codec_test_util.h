// Helpers of the codec tests (codec_*test.cc): the tests' own little-endian code and
// CRC fix-ups for byte surgery, encoding that fails the test, and the check of a
// decoding problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kaya/wal/codec.h"
#include "testing/record_bytes.h"

namespace kaya::wal::codec_testing {

using kaya::testing::Bytes;

inline constexpr uint64_t kNoLimit = UINT64_MAX;

// Byte surgery (testing/record_bytes.h: the tests' own little-endian code rather than
// kaya's, so that a shared bug cannot hide). fix_header_crc recomputes the header CRC,
// so that the check after it is the one exercised.
using kaya::testing::fix_header_crc;
using kaya::testing::get_le;
using kaya::testing::set_le;
// Recomputes the payload CRC over everything after the header, then the header CRC
// (which covers the payload CRC).
void fix_crcs(Bytes& rec);

Bytes encode_or_die(const Payload& payload, uint64_t lsn, uint64_t sequence);

// The 57-byte record of the spec's example: Put "user:1" = "Ada", LSN 1, sequence 1.
Bytes put_user1();

// Expects `d` to be invalid with `problem`, its detail holding `detail`.
void expect_invalid(const Decoded& d, DecodeProblem problem, const std::string& detail);

}  // namespace kaya::wal::codec_testing
