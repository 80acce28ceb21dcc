#include "wal/segment_reader.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/codec_internal.h"
#include "wal/endian.h"

namespace kaya::wal {

SegmentReader::SegmentReader(io::Disk& disk, io::RelativePath path,
                             uint64_t max_record_bytes, uint64_t start_offset,
                             size_t buffer_bytes)
    : disk_(disk),
      path_(std::move(path)),
      max_record_bytes_(max_record_bytes),
      buffer_bytes_(std::max<size_t>(buffer_bytes, format::kHeaderLen)),
      buffer_offset_(start_offset) {}

Status SegmentReader::hold(uint64_t offset) {
  KAYA_ASSERT(offset >= buffer_offset_ && offset <= this->offset());
  hold_ = static_cast<size_t>(offset - buffer_offset_);
  return ok_status();
}

Status SegmentReader::rewind() {
  KAYA_ASSERT(hold_.has_value() && *hold_ <= pos_);
  pos_ = *hold_;
  reread_ = false;
  return ok_status();
}

Status SegmentReader::fill(size_t want, std::optional<Lsn> lsn) {
  // Bytes before pos_ are dropped, unless held.
  const size_t keep = hold_ ? *hold_ : pos_;
  if (keep > 0) {
    std::memmove(buffer_.data(), buffer_.data() + keep, len_ - keep);
    buffer_offset_ += keep;
    len_ -= keep;
    pos_ -= keep;
    if (hold_) hold_ = 0;
  }
  // `want` bytes from pos_, which a hold keeps away from the front.
  want += pos_;
  // The buffer holds at most buffer_bytes_ or the rest of the file, whichever is
  // smaller (small segments need no large buffer), and at least one whole record:
  // decode() bounds a record by max_record_bytes before we get here, so that growth
  // is bounded by the configuration, not by what the file claims.
  KAYA_ASSIGN_OR_RETURN(uint64_t file_len, disk_.file_len(path_));
  const uint64_t rest = file_len > buffer_offset_ ? file_len - buffer_offset_ : 0;
  const size_t capacity =
      std::max(want, static_cast<size_t>(std::min<uint64_t>(buffer_bytes_, rest)));
  if (capacity > buffer_.size()) {
    try {
      buffer_.resize(capacity);
    } catch (const std::bad_alloc&) {
      // Short of memory: the large buffer only saves system calls; what must fit is
      // the record (or header) wanted, below.
    }
  }
  if (want > buffer_.size()) {
    try {
      buffer_.resize(want);
    } catch (const std::bad_alloc&) {
      // A record larger than the memory there is: say which, so that the caller can
      // read it where there is more.
      return core::out_of_memory_while([&] {
        std::string what = "reading " + std::to_string(want) + " bytes (a record";
        if (lsn) what += " with LSN " + std::to_string(lsn->value());
        return what + ") at offset " + std::to_string(offset()) + " of " +
               disk_.describe(path_);
      });
    }
  }
  while (len_ < buffer_.size() && !eof_) {
    KAYA_ASSIGN_OR_RETURN(size_t n,
                          io::read_full(disk_, path_, buffer_offset_ + len_,
                                        std::span<uint8_t>(buffer_).subspan(len_)));
    if (n < buffer_.size() - len_) eof_ = true;
    len_ += n;
    if (n > 0) reads_++;
  }
  return ok_status();
}

Result<bool> SegmentReader::zeros_to_end() {
  auto zero = [](std::span<const uint8_t> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
  };
  // The magic is never zero, so most calls stop at the first byte.
  if (len_ == pos_ || buffer_[pos_] != 0) return false;
  if (!zero(std::span<const uint8_t>(buffer_.data() + pos_, len_ - pos_))) return false;
  if (eof_) return true;
  std::vector<uint8_t> chunk(64 << 10);
  for (uint64_t at = buffer_offset_ + len_;;) {
    KAYA_ASSIGN_OR_RETURN(size_t n, io::read_full(disk_, path_, at, chunk));
    if (!zero(std::span<const uint8_t>(chunk.data(), n))) return false;
    if (n < chunk.size()) return true;
    at += n;
  }
}

Result<bool> SegmentReader::still_zero_tail() {
  // The last full check found zeros from here to the end of the file. A writer stores
  // records in order, so while the header here still reads as zeros nothing was
  // stored after it either: a header's worth is read instead of the rest of the
  // preallocated space (up to a window, for every poll of a reader at the end).
  uint8_t header[format::kHeaderLen];
  KAYA_ASSIGN_OR_RETURN(size_t n, io::read_full(disk_, path_, offset(), header));
  if (std::all_of(header, header + n, [](uint8_t b) { return b == 0; })) return true;
  zero_tail_at_.reset();  // something arrived: decode it as usual
  return false;
}

Result<std::optional<Decoded>> SegmentReader::next() {
  for (;;) {
    std::span<const uint8_t> avail(buffer_.data() + pos_, len_ - pos_);
    if (avail.empty() && eof_) return std::optional<Decoded>();
    if (avail.empty() && zero_tail_at_ == offset()) {
      KAYA_ASSIGN_OR_RETURN(bool zeros, still_zero_tail());
      if (zeros) {
        eof_ = true;
        return std::optional<Decoded>();
      }
    }
    Decoded d = decode(avail, offset(), max_record_bytes_);
    if (d.outcome == DecodeOutcome::kRecord) {
      reread_ = false;
      pos_ += d.size;
      return std::optional<Decoded>(std::move(d));
    }
    if (d.outcome == DecodeOutcome::kInvalid || eof_) {
      // A writer may store records in place (preallocated space) while we read: bytes
      // buffered before it finished are read again once before they count.
      if (!reread_) {
        reread_ = true;
        len_ = pos_;
        eof_ = false;
        continue;
      }
      // Space preallocated for records not yet written reads as zeros: the end.
      KAYA_ASSIGN_OR_RETURN(bool zeros, zeros_to_end());
      if (zeros) {
        len_ = pos_;  // the zeros are read again next time: records may land there
        eof_ = true;
        zero_tail_at_ = offset();
        return std::optional<Decoded>();
      }
      return std::optional<Decoded>(std::move(d));
    }
    // Incomplete with more file to read: read at least the whole record (or a header).
    size_t want = std::max<size_t>(d.size, format::kHeaderLen);
    want = std::max(want, (len_ - pos_) + 1);
    KAYA_RETURN_IF_ERROR(
        fill(want, d.header_verified ? std::optional<Lsn>(d.record.lsn) : std::nullopt));
  }
}

}  // namespace kaya::wal

namespace kaya::wal {

std::string Resync::gave_up_detail() const {
  return "gave up after scanning " + std::to_string(scanned_bytes) +
         " bytes and checking " + std::to_string(candidates) +
         " records whose headers verified (" + std::to_string(candidate_bytes) +
         " bytes)";
}

Result<Resync> find_valid_record(io::Disk& disk, const io::RelativePath& path,
                                 uint64_t from, uint64_t max_record_bytes,
                                 const ResyncBudget& budget) {
  constexpr size_t kHeader = format::kHeaderLen;
  // Every record decode() returns starts with these 8 bytes: magic, version 1, header
  // length 40. The search runs memchr to the byte of the header length (40, '('), which
  // a value that repeats the magic lacks, and compares the 8 bytes around each hit: a
  // call per candidate, not per appearance of the magic (at every fourth byte there).
  constexpr size_t kKey = format::kHeaderLenOffset;
  uint8_t prefix[8];
  store_u32(prefix + format::kMagicOffset, format::kMagic);
  store_u16(prefix + format::kVersionOffset, format::kVersion);
  store_u16(prefix + format::kHeaderLenOffset, static_cast<uint16_t>(kHeader));
  Resync out;
  std::vector<uint8_t> block(kResyncBlockBytes);
  std::vector<uint8_t> record;  // a candidate that runs past its block
  for (uint64_t base = from;;) {
    KAYA_ASSIGN_OR_RETURN(size_t n, io::read_full(disk, path, base, block));
    const bool at_end = n < block.size();
    // Candidates whose header runs past the block are looked at again from the next
    // block, which starts kHeader - 1 bytes before this one ends.
    const size_t scan_end = at_end ? n : n - (kHeader - 1);
    const uint8_t* data = block.data();
    // Candidates start at [0, scan_end); their key byte lies kKey bytes further.
    for (size_t key = kKey; key < scan_end + kKey && key < n;) {
      const void* hit =
          std::memchr(data + key, prefix[kKey], std::min(n, scan_end + kKey) - key);
      if (hit == nullptr) break;
      key = static_cast<size_t>(static_cast<const uint8_t*>(hit) - data) + 1;
      const size_t at = key - 1 - kKey;
      if (at + kHeader > n || std::memcmp(data + at, prefix, sizeof(prefix)) != 0 ||
          !header_starts_record(data + at)) {
        continue;
      }
      // The header verifies: the whole record must too. That is what the budget pays.
      if (out.candidates >= budget.candidates ||
          out.candidate_bytes >= budget.candidate_bytes) {
        out.scanned_bytes += at;
        out.gave_up = true;
        return out;
      }
      out.candidates++;
      Decoded d = decode(std::span<const uint8_t>(data + at, n - at), base + at,
                         max_record_bytes);
      if (d.outcome == DecodeOutcome::kIncomplete && !at_end) {
        record.resize(d.size);  // bounded by max_record_bytes (checked in the header)
        KAYA_ASSIGN_OR_RETURN(size_t got, io::read_full(disk, path, base + at, record));
        d = decode(std::span<const uint8_t>(record.data(), got), base + at,
                   max_record_bytes);
      }
      out.candidate_bytes += std::max<uint64_t>(d.size, kHeader);
      if (d.outcome == DecodeOutcome::kRecord) {
        out.scanned_bytes += at;
        out.found = base + at;
        return out;
      }
    }
    if (at_end) {
      out.scanned_bytes += n;
      return out;
    }
    out.scanned_bytes += scan_end;
    base += scan_end;
  }
}

uint64_t resync_offset(const Decoded& bad) {
  if (bad.problem == DecodeProblem::kBadPayloadChecksum ||
      bad.problem == DecodeProblem::kMalformedPayload ||
      bad.problem == DecodeProblem::kPartialPayload) {
    return bad.offset + bad.size;
  }
  return bad.offset + 1;
}

}  // namespace kaya::wal
