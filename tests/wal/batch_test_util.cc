// Helpers of the batch tests (batch_test_util.h).
#include "wal/batch_test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <utility>

#include "wal/writer_test_util.h"

namespace kaya::wal::batch_testing {

namespace fs = std::filesystem;
using testing::kStrict;

std::vector<Payload> puts(const std::vector<std::string>& keys) {
  std::vector<Payload> out;
  for (const std::string& k : keys) out.push_back(Payload::put(k, "value"));
  return out;
}

void write_batch_log(BatchLog& log, bool covered, bool tail) {
  auto disk = io::FileDisk::open(log.dir.path());
  ASSERT_TRUE(disk.ok());
  log.disk = std::move(disk).value();
  const fs::path rp = fs::path(log.dir.path()) / "wal" / "RECOVERY_POINT";
  const fs::path saved = fs::path(log.dir.path()) / "rp.saved";
  {
    auto w = Writer::open(batch_config(), *log.disk);
    KAYA_ASSERT_OK(w);
    KAYA_ASSERT_OK((*w)->append_batch(puts({"a"}), kStrict));
    KAYA_ASSERT_OK((*w)->append_batch(puts({"b"}), kStrict));
    KAYA_ASSERT_OK((*w)->close());
  }
  fs::copy_file(rp, saved);
  {
    auto w = Writer::open(batch_config(), *log.disk);
    KAYA_ASSERT_OK(w);
    auto r = (*w)->append_batch(puts({"c", "d", "e"}), kStrict);
    KAYA_ASSERT_OK(r);
    log.batch = *r;
    log.last_record_offset = r->offset + Payload::put("c", "value").encoded_len() * 2;
    if (tail) KAYA_ASSERT_OK((*w)->append(Payload::put("f", "v-f"), kStrict));
    KAYA_ASSERT_OK((*w)->close());
  }
  if (!covered) fs::copy_file(saved, rp, fs::copy_options::overwrite_existing);
}

void damage_last_record(const BatchLog& log) {
  std::fstream f(log.segment(), std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(log.last_record_offset + 45));
  f.put('#');
}

}  // namespace kaya::wal::batch_testing
