// A Disk for replay_bench that serves reads from a map of each file instead of pread:
// how kaya's replay does when its bytes come through a map (SegmentReader still copies
// them into its buffer, as it does from pread). Everything else goes to the FileDisk
// it wraps.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kaya/io/disk.h"

namespace kaya::bench {

class MappedReadDisk final : public io::Disk {
 public:
  // `inner` is a FileDisk rooted at `root`; both must outlive this.
  MappedReadDisk(io::Disk& inner, std::string root);
  ~MappedReadDisk() override;  // unmaps every file

  // From a read-only map of the whole file, made at the first read with MAP_POPULATE
  // (the fastest way through a map measured here: one call maps every page, instead
  // of a fault per few pages). A read past the mapped length (the file grew) goes to
  // the inner disk.
  Result<size_t> read_at(const io::RelativePath& path, uint64_t offset,
                         std::span<uint8_t> out) override;

  Result<uint64_t> append(const io::RelativePath& path,
                          std::span<const io::ByteView> parts) override {
    return inner_.append(path, parts);
  }
  Status write_at(const io::RelativePath& path, uint64_t offset,
                  io::ByteView bytes) override {
    return inner_.write_at(path, offset, bytes);
  }
  Result<uint64_t> file_len(const io::RelativePath& path) override {
    return inner_.file_len(path);
  }
  Status truncate(const io::RelativePath& path, uint64_t len) override {
    return inner_.truncate(path, len);
  }
  Status fsync_file(const io::RelativePath& path) override {
    return inner_.fsync_file(path);
  }
  Status fsync_dir(const io::RelativePath& dir) override { return inner_.fsync_dir(dir); }
  Result<std::vector<std::string>> list_dir(const io::RelativePath& dir) override {
    return inner_.list_dir(dir);
  }
  Status create_dir(const io::RelativePath& dir) override {
    return inner_.create_dir(dir);
  }
  Status rename(const io::RelativePath& from, const io::RelativePath& to) override {
    return inner_.rename(from, to);
  }
  Status remove_file(const io::RelativePath& path) override {
    return inner_.remove_file(path);
  }
  Result<std::unique_ptr<io::FileLock>> lock_file(const io::RelativePath& path) override {
    return inner_.lock_file(path);
  }
  Result<bool> lock_held(const io::RelativePath& path) override {
    return inner_.lock_held(path);
  }
  std::string describe(const io::RelativePath& path) const override {
    return inner_.describe(path);
  }

 private:
  struct Mapping {
    const uint8_t* data = nullptr;
    size_t len = 0;
  };
  io::Disk& inner_;
  std::string root_;
  std::map<std::string, Mapping> maps_;  // by relative path
};

}  // namespace kaya::bench
