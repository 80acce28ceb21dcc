// Reads the records of one segment in order, through the Disk, with a bounded buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/uninitialized_buffer.h"
#include "kaya/io/disk.h"
#include "kaya/wal/codec.h"

namespace kaya::wal {

// Memory: one buffer of max(buffer_bytes, largest record seen, largest span held)
// bytes. Loops on short
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

  // Keeps the bytes from `offset` (at or below offset(), and still in the buffer: the
  // start of a record next() returned since the last read into the buffer, or since
  // the last hold) in the buffer until release(): reading on never drops them, so that
  // rewind() can go back there. The reader of an atomic batch holds its first record
  // while it reads ahead to the last one.
  Status hold(uint64_t offset);
  // Goes back to the held offset: next() decodes from there again, from the buffer
  // (the bytes read since stay in it). Only while holding.
  Status rewind();
  // Stops holding (the bytes from offset() on stay in the buffer).
  void release() { hold_.reset(); }

  // Offset of the next byte to decode (just past the last record returned).
  uint64_t offset() const { return buffer_offset_ + pos_; }
  const io::RelativePath& path() const { return path_; }
  // Reads into the buffer that brought bytes so far: a record next() returns came
  // from bytes read by the latest of them (readers check for a truncation after each).
  uint64_t reads() const { return reads_; }

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
  core::UninitializedBuffer buffer_;  // bytes past len_ are not initialized
  uint64_t buffer_offset_;            // file offset of buffer_[0]
  size_t pos_ = 0;                    // next unread byte in buffer_
  size_t len_ = 0;                    // bytes held in buffer_
  // hold(): the index in buffer_ from which bytes are kept (at most pos_).
  std::optional<size_t> hold_;
  bool eof_ = false;
  // The bytes at offset() were read again after failing to decode (see next()).
  bool reread_ = false;
  // Where zeros_to_end() last found zeros running to the end of the file.
  std::optional<uint64_t> zero_tail_at_;
  uint64_t reads_ = 0;
};

// What find_valid_record() may spend on candidates whose header verifies (so that their
// payload must be checked too) beyond reading the region once: a payload that embeds
// records could otherwise make it read up to max_record_bytes per embedded header.
struct ResyncBudget {
  static constexpr uint64_t kDefaultCandidateBytes = 64 << 20;
  static constexpr uint64_t kDefaultCandidates = 4096;
  uint64_t candidate_bytes = kDefaultCandidateBytes;  // of such records, checked
  uint64_t candidates = kDefaultCandidates;           // such records
};

// What find_valid_record() found.
struct Resync {
  std::optional<uint64_t> found;  // offset of the first valid record
  bool gave_up = false;           // the budget ran out before the end of the file
  uint64_t scanned_bytes = 0;     // of the region, read and scanned for the magic
  uint64_t candidates = 0;        // candidates whose header verified
  uint64_t candidate_bytes = 0;   // their records' bytes checked
  // "gave up after scanning N bytes and checking M records whose headers verified
  // (K bytes)"; for a reason string.
  std::string gave_up_detail() const;
};

// Looks for a valid record at or after `from` in `path`. Reads the region in blocks of
// kResyncBlockBytes and looks for the magic in memory; a candidate is checked in
// memory (header CRC, then the whole record when its header verifies), and a record
// that runs past its block is read once, on its own. Cost: one sequential read of the
// region while candidates fail their header CRC, plus at most the budget for those
// whose header verifies; past it the search gives up (Resync::gave_up): undetermined,
// never "nothing follows". Memory: one block plus one record.
inline constexpr size_t kResyncBlockBytes = 1 << 20;
Result<Resync> find_valid_record(io::Disk& disk, const io::RelativePath& path,
                                 uint64_t from, uint64_t max_record_bytes,
                                 const ResyncBudget& budget = {});

// Where to look for valid data after the bad or incomplete record `bad`: past its
// declared end when its header is intact (so that a record carried inside a payload is
// not mistaken for a log record), else right after its first byte.
uint64_t resync_offset(const Decoded& bad);

}  // namespace kaya::wal
