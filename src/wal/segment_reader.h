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
  // kInvalid), or nullopt at a clean end of the segment. After a problem the reader
  // stays on it. Errors are I/O errors.
  Result<std::optional<Decoded>> next();

  // Offset of the next byte to decode (just past the last record returned).
  uint64_t offset() const { return buffer_offset_ + pos_; }
  const io::RelativePath& path() const { return path_; }

 private:
  // Moves unread bytes to the front, makes room for at least `want` bytes and reads
  // until the buffer is full or the file ends (then sets eof_).
  Status fill(size_t want);

  io::Disk& disk_;
  io::RelativePath path_;
  uint64_t max_record_bytes_;
  size_t buffer_bytes_;
  std::vector<uint8_t> buffer_;
  uint64_t buffer_offset_;  // file offset of buffer_[0]
  size_t pos_ = 0;          // next unread byte in buffer_
  size_t len_ = 0;          // bytes held in buffer_
  bool eof_ = false;
};

}  // namespace kaya::wal
