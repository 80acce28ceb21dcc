// libFuzzer target: kaya::wal::decode() on arbitrary bytes.
//
// Input: byte 0 picks max_record_bytes, byte 1 picks the offset, the rest is the
// buffer (the seeds are the golden segments of tests/golden/ behind two such bytes).
// libFuzzer hands over a heap copy of exactly the input's size, so ASan reports any
// read past the buffer. Invariants checked (a failure aborts, which libFuzzer reports
// as a crash):
// - the outcome and the problem agree, and `offset` is the one given;
// - kRecord: size <= buffer, size == 40 + payload length, size within
//   max_record_bytes, key/value view the buffer, encode() gives back the same bytes,
//   and every shorter prefix of the record decodes as kIncomplete;
// - kIncomplete: kPartialPayload names a size beyond the buffer;
// - to_error() is UnsupportedVersion for a verified header of a newer format,
//   InvalidArgument for an oversized payload, else Corruption; header_verified is set
//   exactly when the header CRC passed.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "kaya/wal/codec.h"
#include "kaya/wal/format.h"

namespace {

using kaya::wal::Decoded;
using kaya::wal::DecodeOutcome;
using kaya::wal::DecodeProblem;

constexpr std::array<uint64_t, 8> kMaxRecordBytes = {0,  39,  40,   41,
                                                     64, 256, 4096, 32ull << 20};
constexpr std::array<uint64_t, 8> kOffsets = {
    0, 1, 40, 4096, 1ull << 32, UINT64_MAX - 40, UINT64_MAX - 1, UINT64_MAX};

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "decode_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

bool is_incomplete_problem(DecodeProblem p) {
  return p == DecodeProblem::kPartialHeader || p == DecodeProblem::kPartialPayload;
}

bool within(std::string_view view, std::span<const uint8_t> buf) {
  if (view.empty()) return true;
  const auto* begin = reinterpret_cast<const char*>(buf.data());
  return view.data() >= begin && view.data() + view.size() <= begin + buf.size();
}

void check_record(const Decoded& d, std::span<const uint8_t> buf, uint64_t offset,
                  uint64_t max_record_bytes) {
  check(d.problem == DecodeProblem::kNone, "kRecord with a problem");
  check(d.size <= buf.size(), "kRecord size beyond the buffer");
  const kaya::wal::Payload payload{d.record.type, d.record.key, d.record.value};
  check(d.size == kaya::wal::format::kHeaderLen + payload.payload_len(),
        "kRecord size != 40 + payload length");
  check(d.size <= std::max<uint64_t>(max_record_bytes, kaya::wal::format::kHeaderLen),
        "kRecord larger than max_record_bytes");
  check(within(d.record.key, buf) && within(d.record.value, buf),
        "key/value do not view the buffer");
  auto encoded = kaya::wal::encode(payload, d.record.lsn, d.record.sequence);
  check(encoded.ok(), "encode() refused a decoded record");
  check(encoded->size() == d.size &&
            std::equal(encoded->begin(), encoded->end(), buf.begin()),
        "encode(decode(bytes)) != bytes");
  // Every strict prefix of a valid record is incomplete, never invalid.
  for (uint64_t len : {uint64_t{0}, uint64_t{39}, uint64_t{40}, d.size - 1}) {
    if (len >= d.size) continue;
    const Decoded p = kaya::wal::decode(buf.first(len), offset, max_record_bytes);
    check(p.outcome == DecodeOutcome::kIncomplete,
          "a prefix of a valid record is not kIncomplete");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint64_t max_record_bytes = kMaxRecordBytes[data[0] % kMaxRecordBytes.size()];
  const uint64_t offset = kOffsets[data[1] % kOffsets.size()];
  const std::span<const uint8_t> buf(data + 2, size - 2);

  const Decoded d = kaya::wal::decode(buf, offset, max_record_bytes);
  check(d.offset == offset, "offset is not the one given");
  switch (d.outcome) {
    case DecodeOutcome::kRecord:
      check_record(d, buf, offset, max_record_bytes);
      break;
    case DecodeOutcome::kIncomplete:
      check(is_incomplete_problem(d.problem), "kIncomplete with a wrong problem");
      check(d.problem != DecodeProblem::kPartialPayload || d.size > buf.size(),
            "kPartialPayload whose size fits the buffer");
      break;
    case DecodeOutcome::kInvalid: {
      check(d.problem != DecodeProblem::kNone && !is_incomplete_problem(d.problem),
            "kInvalid with a wrong problem");
      const kaya::Error e = d.to_error("fuzz.wal");
      const kaya::ErrorKind want = kaya::wal::is_newer_format(d.problem)
                                       ? kaya::ErrorKind::kUnsupportedVersion
                                   : d.problem == DecodeProblem::kOversizedPayload
                                       ? kaya::ErrorKind::kInvalidArgument
                                       : kaya::ErrorKind::kCorruption;
      check(e.kind() == want, "to_error() has the wrong kind");
      // Only a header that verified may say what the record is.
      check(d.header_verified == (d.problem != DecodeProblem::kBadMagic &&
                                  d.problem != DecodeProblem::kBadHeaderChecksum),
            "header_verified disagrees with the problem");
      break;
    }
  }
  return 0;
}
