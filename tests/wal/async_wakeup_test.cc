// The syncer thread's wake-ups as asynchronous appends depend on them: an async strict
// append leads no sync round of its own, so work handed to the syncer must never be
// left with the syncer asleep (sequencer.h, wake_syncer_locked and
// release_sync_role_locked).

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using namespace std::chrono_literals;
using io::SimDisk;
using testing::FsyncGate;
using testing::segment;

// A strict append that fills its segment rotates, which hands the sealed segment's
// close to the syncer thread, then leads its own sync round, which closes that segment
// itself. The syncer, woken by the rotation while the round held the sync role, found
// the role taken and went back to sleep with its work flag still set; nothing woke it
// again, so the next asynchronous strict append (which only pokes a syncer not
// already flagged) waited forever. The gate holds the round's close long enough for
// the syncer to look.
TEST(AsyncWakeupTest, AnAsyncStrictAppendCompletesAfterARoundTookTheSyncersClose) {
  SimDisk disk;
  WalConfig config;
  config.segment_max_bytes = 200;
  config.max_record_bytes = 200;
  auto opened = Writer::open(config, disk);
  KAYA_ASSERT_OK(opened);
  std::unique_ptr<Writer> writer = std::move(opened).value();
  const Payload payload = Payload::put("key", "value");

  // Fill the first segment, so that the next append rotates.
  KAYA_ASSERT_OK(writer->append(payload, DurabilityMode::kStrict));
  const uint64_t record_bytes = writer->stats().bytes;
  const uint64_t per_segment = config.segment_max_bytes / record_bytes;
  ASSERT_GE(per_segment, 2u);
  for (uint64_t i = 1; i < per_segment; ++i) {
    KAYA_ASSERT_OK(writer->append(payload, DurabilityMode::kStrict));
  }
  ASSERT_EQ(writer->stats().rotations, 0u);

  FsyncGate gate(disk, segment(1).str());
  gate.close();
  std::thread rotating(
      [&] { KAYA_EXPECT_OK(writer->append(payload, DurabilityMode::kStrict)); });
  gate.wait_for_held();
  // The rotation's wake-up reaches the syncer while the round holds the role (a pause,
  // not a condition: without it the test may pass on a broken build, never fail on a
  // sound one).
  std::this_thread::sleep_for(100ms);
  gate.open();
  rotating.join();
  ASSERT_EQ(writer->stats().rotations, 1u);

  std::promise<Status> outcome;
  std::future<Status> completed = outcome.get_future();
  auto lsn = writer->append_async(
      payload, DurabilityMode::kStrict, [&](const Result<AppendResult>& r) {
        outcome.set_value(r.ok() ? ok_status() : Status(r.error()));
      });
  KAYA_ASSERT_OK(lsn);
  ASSERT_EQ(completed.wait_for(60s), std::future_status::ready)
      << "the asynchronous strict append of LSN " << lsn->value()
      << " never completed: its syncer was left asleep";
  KAYA_EXPECT_OK(completed.get());
  KAYA_EXPECT_OK(writer->close());
}

}  // namespace
}  // namespace kaya::wal
