// Helpers of the reader tests (reader_test.cc, reader_follow_test.cc,
// reader_release_test.cc): a test log written through the Writer and remembered as
// acknowledged, opening writers and readers that fail the test, reading to the end,
// the check of an error, and a Disk that lets a writer's steps land between a
// reader's.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kaya/io/disk.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/writer.h"
#include "wal/writer_test_util.h"

namespace kaya::wal {

// Failure messages show records by their numbers, not as raw bytes.
void PrintTo(const Record& r, std::ostream* os);

namespace reader_testing {

using testing::kRelaxed;
using testing::kStrict;
using testing::open_or_die;
// Generous bound for waits that must end; never a timing assertion.
inline constexpr auto kLiveness = std::chrono::seconds(60);

// A log as the writer acknowledged it.
struct Log {
  std::vector<Record> records;                                 // records[i] has LSN i + 1
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> segments;  // id -> first, last LSN
  std::vector<AppendResult> acks;

  uint64_t first_of(uint64_t id) const { return segments.at(id).first; }
  uint64_t last_of(uint64_t id) const { return segments.at(id).second; }
  std::vector<Record> from(uint64_t lsn) const {
    return {records.begin() + static_cast<ptrdiff_t>(lsn - 1), records.end()};
  }
};

// Appends the i-th record of a test log and remembers it in `log`.
// The i-th record of a test log: puts of varying sizes with deletes and noops mixed in.
Payload payload_of(uint64_t i, std::string& key, std::string& value);

Result<AppendResult> append_one(Writer& w, uint64_t i, DurabilityMode mode, Log& log);
void append_n(Writer& w, uint64_t n, DurabilityMode mode, Log& log);

std::unique_ptr<LogReader> open_reader(const WalConfig& config, io::Disk& disk, Lsn from);

// Every record up to the end of the log, or the first error.
Result<std::vector<Record>> read_to_end(LogReader& reader);

// Asserts `r` failed with `kind` and a message holding each of `parts`.
template <typename T>
void expect_error(const Result<T>& r, ErrorKind kind,
                  std::initializer_list<std::string> parts) {
  ASSERT_FALSE(r.ok()) << "expected " << to_string(kind) << " error";
  EXPECT_EQ(r.error().kind(), kind) << r.error().to_string();
  for (const std::string& part : parts) {
    EXPECT_NE(r.error().message().find(part), std::string::npos)
        << "\"" << part << "\" missing from: " << r.error().to_string();
  }
}

// Forwards to another Disk; calls a hook before each file_len(), where a test makes a
// writer's steps land between two steps of a reader.
class InterposingDisk final : public io::Disk {
 public:
  explicit InterposingDisk(io::Disk& base) : base_(base) {}
  std::function<void(const io::RelativePath&)> before_file_len;

  using Disk::append;
  Result<uint64_t> append(const io::RelativePath& p,
                          std::span<const io::ByteView> parts) override {
    return base_.append(p, parts);
  }
  Result<size_t> read_at(const io::RelativePath& p, uint64_t offset,
                         std::span<uint8_t> out) override {
    return base_.read_at(p, offset, out);
  }
  Status write_at(const io::RelativePath& p, uint64_t offset, io::ByteView b) override {
    return base_.write_at(p, offset, b);
  }
  Result<uint64_t> file_len(const io::RelativePath& p) override {
    if (before_file_len) before_file_len(p);
    return base_.file_len(p);
  }
  Status truncate(const io::RelativePath& p, uint64_t len) override {
    return base_.truncate(p, len);
  }
  Status fsync_file(const io::RelativePath& p) override { return base_.fsync_file(p); }
  Status fsync_dir(const io::RelativePath& p) override { return base_.fsync_dir(p); }
  Result<std::vector<std::string>> list_dir(const io::RelativePath& p) override {
    return base_.list_dir(p);
  }
  Status create_dir(const io::RelativePath& p) override { return base_.create_dir(p); }
  Status rename(const io::RelativePath& from, const io::RelativePath& to) override {
    return base_.rename(from, to);
  }
  Status remove_file(const io::RelativePath& p) override { return base_.remove_file(p); }
  Result<std::unique_ptr<io::FileLock>> lock_file(const io::RelativePath& p) override {
    return base_.lock_file(p);
  }
  std::string describe(const io::RelativePath& p) const override {
    return base_.describe(p);
  }

 private:
  io::Disk& base_;
};

}  // namespace reader_testing
}  // namespace kaya::wal
