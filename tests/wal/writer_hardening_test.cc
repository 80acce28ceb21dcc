// The writer under failures that are not a failed write or fsync: a segment that cannot
// be created at rotation, a log removed under a running writer.
#include <gtest/gtest.h>

#include <string>

#include "kaya/io/fault_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/recording_disk.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using io::FaultKind;
using testing::RecordingDisk;
using testing::segment;

constexpr auto kStrict = DurabilityMode::kStrict;
constexpr auto kRelaxed = DurabilityMode::kRelaxed;

// A Put of about 1000 bytes (a view of a static value).
Payload kilobyte_put() {
  static const std::string value(960, 'v');
  return Payload::put("k", value);
}

// A rotation whose next segment cannot be created poisons the writer; close() then
// reports that poisoning and issues no fsync or truncate (the tmpfs that ran out of
// inodes: close() returned OK and cut and synced a segment of the dead writer).
TEST(WriterPoisonTest, CloseAfterAFailedRotationFailsAndTouchesNothing) {
  for (const uint64_t preallocate : {uint64_t{0}, uint64_t{1} << 20}) {
    SCOPED_TRACE("preallocate_bytes " + std::to_string(preallocate));
    io::SimDisk sim;
    io::FaultDisk faults(sim);
    RecordingDisk disk(faults);
    WalConfig config;
    config.segment_max_bytes = 4096;
    config.max_record_bytes = 4096;
    config.preallocate_bytes = preallocate;
    auto w = Writer::open(config, disk);
    KAYA_ASSERT_OK(w);
    // Only the creation of segment 2 fails.
    faults.spare_paths([](const io::RelativePath& p) { return p != segment(2); });
    faults.fail_nth(FaultKind::kWriteError);
    uint64_t appended = 0;
    Status failed = ok_status();
    for (int i = 0; i < 10 && failed.ok(); ++i) {
      auto r = (*w)->append(kilobyte_put(), i % 2 ? kStrict : kRelaxed);
      if (r.ok()) {
        appended++;
      } else {
        failed = r.status();
      }
    }
    ASSERT_FALSE(failed.ok()) << "the rotation never failed";
    EXPECT_EQ(faults.faults_injected(FaultKind::kWriteError), 1u);
    EXPECT_EQ(failed.error().kind(), ErrorKind::kIo) << failed.error().to_string();
    EXPECT_TRUE((*w)->stats().poisoned);
    ASSERT_GE(appended, 3u);

    const size_t fsyncs = disk.count("fsync_file");
    const size_t truncates = disk.count("truncate");
    const size_t writes = disk.count("write_at") + disk.count("append");
    Status closed = (*w)->close();
    ASSERT_FALSE(closed.ok()) << "close() of a poisoned writer returned OK";
    EXPECT_EQ(closed.error().kind(), ErrorKind::kIo);
    EXPECT_NE(closed.error().message().find("poisoned"), std::string::npos)
        << closed.error().message();
    EXPECT_NE(closed.error().message().find(failed.error().message()), std::string::npos)
        << closed.error().message();
    EXPECT_EQ(disk.count("fsync_file"), fsyncs) << "close() synced a poisoned writer";
    EXPECT_EQ(disk.count("truncate"), truncates)
        << "close() cut a poisoned writer's file";
    EXPECT_EQ(disk.count("write_at") + disk.count("append"), writes);
    // Every later close says so too.
    EXPECT_FALSE((*w)->close().ok());
    w->reset();

    // The records acknowledged before the failure are all there after a reopen.
    faults.clear_faults();
    auto reopened = Writer::open(config, disk);
    KAYA_ASSERT_OK(reopened);
    EXPECT_EQ((*reopened)->next_lsn(), Lsn(appended + 1));
  }
}

}  // namespace
}  // namespace kaya::wal
