// The end to end FaultDisk fixture (fault_disk_testing.h).
#include "io/fault_disk_testing.h"

#include <utility>

#include "kaya/wal/recovery_point.h"

namespace kaya::io::fault_testing {

using wal::Payload;
using wal::Record;
using wal::Writer;

RelativePath path(std::string_view text) { return RelativePath::parse(text).value(); }

ByteView bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string key_of(uint64_t i) { return "key:" + std::to_string(i); }
std::string value_of(uint64_t i) { return std::string(200 + i % 50, char('a' + i % 26)); }

wal::WalConfig WriterOnFaultDisk::config() const {
  wal::WalConfig c;
  c.preallocate_bytes = 0;
  return c;
}

void WriterOnFaultDisk::SetUp() {
  auto opened = FileDisk::open(dir_.path());
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  file_ = std::move(opened).value();
  fault_ = std::make_unique<FaultDisk>(*file_);
  // The faults aim at the log's segments and directory; the recovery point, written
  // by a thread of its own, would take them at an unpredictable moment (its own
  // failures: RecoveryPointFaults in fault_disk_writer_test.cc).
  fault_->spare_paths(
      [](const RelativePath& p) { return p.str() == wal::rp_format::kFile; });
  auto w = Writer::open(config(), *fault_);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  writer_ = std::move(w).value();
}

Result<wal::AppendResult> WriterOnFaultDisk::append(uint64_t i,
                                                    wal::DurabilityMode mode) {
  auto r = writer_->append(Payload::put(key_of(i), value_of(i)), mode);
  if (r.ok()) {
    EXPECT_EQ(r->lsn.value(), i) << "LSNs are 1, 2, 3, ...";
    acked_.push_back(i);
  }
  return r;
}

void WriterOnFaultDisk::append_ok(uint64_t n) {
  for (uint64_t i = acked_.size() + 1; i <= n; ++i) {
    auto r = append(i, i % 3 == 0 ? kRelaxed : kStrict);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
}

void WriterOnFaultDisk::expect_poisoned(ErrorKind kind) {
  uint64_t next = acked_.size() + 1;
  for (auto mode : {kStrict, kRelaxed, kStrict}) {
    auto r = writer_->append(Payload::put(key_of(next), value_of(next)), mode);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), kind) << r.error().to_string();
  }
  auto s = writer_->sync();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), kind);
  EXPECT_TRUE(writer_->stats().poisoned);
}

std::unique_ptr<Writer> WriterOnFaultDisk::reopen_and_check(
    Disk& disk, uint64_t may_extra, wal::RecoveryReport* report_out) {
  writer_.reset();
  std::vector<Record> got;
  wal::OpenOptions options;
  options.replay = [&](uint64_t, uint64_t, const wal::RecordView& r) {
    got.push_back(r.to_record());
    return ok_status();
  };
  auto w = Writer::open({}, disk, options);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  if (!w.ok()) return nullptr;
  std::unique_ptr<Writer> writer = std::move(w).value();
  EXPECT_GE(got.size(), acked_.size());
  EXPECT_LE(got.size(), acked_.size() + may_extra);
  for (size_t k = 0; k < got.size(); ++k) {
    uint64_t i = k + 1;
    EXPECT_EQ(got[k].lsn.value(), i);
    EXPECT_EQ(got[k].key, key_of(i));
    EXPECT_EQ(got[k].value, value_of(i));
  }
  uint64_t next = got.size() + 1;
  EXPECT_EQ(writer->next_lsn().value(), next);
  auto r = writer->append(Payload::put(key_of(next), value_of(next)), kStrict);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  if (r.ok()) {
    EXPECT_EQ(r->lsn.value(), next);
  }
  if (report_out != nullptr) *report_out = writer->recovery_report();
  return writer;
}

}  // namespace kaya::io::fault_testing
