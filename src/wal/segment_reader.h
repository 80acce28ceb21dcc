// Reads the records of one segment in order, through the Disk, with a bounded buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "kaya/io/disk.h"
#include "kaya/wal/codec.h"

namespace kaya::wal {

// Memory: one buffer of max(buffer_bytes, largest record seen) bytes. Loops on short
// reads. Not thread-safe.
class SegmentReader {
 public:
  static constexpr size_t kDefaultBufferBytes = 1 << 20;

  SegmentReader(io::Disk& disk, io::RelativePath path, uint64_t max_record_bytes,
                uint64_t start_offset = 0, size_t buffer_bytes = kDefaultBufferBytes);

  // The next record (outcome kRecord; its views stay valid until the next call), a
  // problem at the current offset (kIncomplete: the segment ends inside a record;
  // kInvalid), or nullopt at a clean end of the segment: the end of the file, or zero
  // bytes from here to the end of the file (space preallocated for records not yet
  // written; see docs/format.md). After a problem the reader stays on it. Errors are
  // I/O errors.
  Result<std::optional<Decoded>> next();

  // Forgets that the file ended, so that the next call to next() reads bytes appended
  // since (a reader following a segment that is still being written).
  void clear_eof() {
    eof_ = false;
    reread_ = false;
  }

  // Offset of the next byte to decode (just past the last record returned).
  uint64_t offset() const { return buffer_offset_ + pos_; }
  const io::RelativePath& path() const { return path_; }

 private:
  // Moves unread bytes to the front, makes room for at least `want` bytes and reads
  // until the buffer is full or the file ends (then sets eof_). Out of memory for the
  // room: Internal naming the size, offset, file and `lsn` (the record's, when known).
  Status fill(size_t want, std::optional<Lsn> lsn = std::nullopt);
  // Whether every byte from offset() to the end of the file is zero (and there is one).
  Result<bool> zeros_to_end();
  // At zero_tail_at_: whether the header there still reads as zeros (see next()).
  Result<bool> still_zero_tail();

  io::Disk& disk_;
  io::RelativePath path_;
  uint64_t max_record_bytes_;
  size_t buffer_bytes_;
  std::vector<uint8_t> buffer_;
  uint64_t buffer_offset_;  // file offset of buffer_[0]
  size_t pos_ = 0;          // next unread byte in buffer_
  size_t len_ = 0;          // bytes held in buffer_
  bool eof_ = false;
  // The bytes at offset() were read again after failing to decode (see next()).
  bool reread_ = false;
  // Where zeros_to_end() last found zeros running to the end of the file.
  std::optional<uint64_t> zero_tail_at_;
};

// A path kaya spells itself, so always valid ("wal/LOCK"). Parsing it can fail only for
// want of memory: that is thrown on as std::bad_alloc, for the guard of the public call
// (core/guard.h) to report.
io::RelativePath known_path(std::string_view text);

// The path of segment `id` ("wal/<16 hex>.wal").
io::RelativePath segment_path(uint64_t id);
// The directory holding the segments ("wal").
io::RelativePath segment_dir();

// LSN of the first record of a segment; nullopt when the segment holds no complete
// valid record at offset 0.
Result<std::optional<Lsn>> first_lsn_of(io::Disk& disk, const io::RelativePath& path,
                                        uint64_t max_record_bytes);

// Looks for a valid record at or after `from` in `path` and returns its offset.
// Candidates are the offsets where the magic appears; each is decoded in full.
// Memory: one chunk plus one record.
Result<std::optional<uint64_t>> find_valid_record(io::Disk& disk,
                                                  const io::RelativePath& path,
                                                  uint64_t from,
                                                  uint64_t max_record_bytes);

// Where to look for valid data after the bad or incomplete record `bad`: past its
// declared end when its header is intact (so that a record carried inside a payload is
// not mistaken for a log record), else right after its first byte.
uint64_t resync_offset(const Decoded& bad);

}  // namespace kaya::wal
