// The readers and atomic batches: a LogReader returns no part of a batch until it is
// whole (and reports an incomplete durable one before any of it), stops only between
// batches when following a writer, and a TailingReader returns a batch whole once it
// is durable.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/inspect.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/batch_test_util.h"
#include "wal/wal_test_util.h"
#include "wal/writer_test_util.h"

namespace kaya::wal {
namespace {

namespace fs = std::filesystem;
using testing::kRelaxed;
using testing::kStrict;
using namespace batch_testing;  // NOLINT(google-build-using-namespace)

// The bytes of the segment file from `offset` on.
std::string segment_bytes_from(const BatchLog& log, uint64_t offset) {
  std::ifstream f(log.segment(), std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void append_to_segment(const BatchLog& log, const std::string& bytes) {
  std::ofstream f(log.segment(), std::ios::binary | std::ios::app);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A LogReader that meets a batch whose last record is not written yet returns none of
// it and stops as at the end of the log; once the last record is there, it returns the
// whole batch, in order, and the views of all its records stay valid until the call
// after its last.
TEST(BatchReaderTest, ALogReaderReturnsNoPartOfABatchUntilItIsWhole) {
  BatchLog log;
  write_batch_log(log, /*covered=*/false, /*tail=*/true);
  // A write in progress: the batch's last record (LSN 5) half there, LSN 6 not yet.
  const uint64_t torn_at = log.last_record_offset + 20;
  const std::string rest = segment_bytes_from(log, torn_at);
  fs::resize_file(log.segment(), torn_at);

  auto reader = LogReader::open(batch_config(), *log.disk, Lsn(1));
  KAYA_ASSERT_OK(reader);
  std::vector<std::string> keys;
  for (const Record& r : (*reader)->records()) keys.push_back(r.key);
  EXPECT_FALSE((*reader)->error().has_value()) << (*reader)->error()->to_string();
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"})) << "part of the batch came out";
  EXPECT_EQ((*reader)->position(), Lsn(3));
  ASSERT_TRUE((*reader)->stalled_on().has_value());
  EXPECT_NE((*reader)->stalled_on()->message().find("atomic batch from LSN 3"),
            std::string::npos)
      << (*reader)->stalled_on()->to_string();
  auto again = (*reader)->next();  // still incomplete: still nothing
  KAYA_ASSERT_OK(again);
  EXPECT_FALSE(again->has_value());

  append_to_segment(log, rest);
  std::vector<RecordView> views;
  for (;;) {
    auto v = (*reader)->next_view();
    KAYA_ASSERT_OK(v);
    if (!v->has_value()) break;
    views.push_back(**v);
    if (views.back().key == "e") break;  // the batch's last record
  }
  ASSERT_EQ(views.size(), 3u);
  // Every view of the batch still reads its record (the call after the last one has
  // not been made).
  for (size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(views[i].lsn, Lsn(3 + i));
    EXPECT_EQ(views[i].key, std::string(1, static_cast<char>('c' + i)));
    EXPECT_EQ(views[i].value, "value");
  }
  auto f = (*reader)->next();
  KAYA_ASSERT_OK(f);
  ASSERT_TRUE(f->has_value());
  EXPECT_EQ((*f)->key, "f");
}

// At or below the recovery point, a batch missing its last record is Corruption for a
// reader too, and it returns none of the batch before the error.
TEST(BatchReaderTest, ALogReaderReportsAnIncompleteDurableBatchBeforeAnyOfIt) {
  BatchLog log;
  write_batch_log(log, /*covered=*/true, /*tail=*/false);
  fs::resize_file(log.segment(), log.last_record_offset + 20);
  auto reader = LogReader::open(batch_config(), *log.disk, Lsn(1));
  KAYA_ASSERT_OK(reader);
  std::vector<std::string> keys;
  for (const Record& r : (*reader)->records()) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE((*reader)->error().has_value());
  EXPECT_EQ((*reader)->error()->kind(), ErrorKind::kCorruption);
  EXPECT_NE((*reader)->error()->message().find("atomic batch from LSN 3"),
            std::string::npos)
      << (*reader)->error()->to_string();
}

// A batch larger than the reader's buffer (1 MiB) comes out whole, and the views of
// all its records stay valid until the call after its last: the buffer holds the
// whole batch.
TEST(BatchReaderTest, ViewsOfABatchLargerThanTheReadBufferStayValid) {
  io::SimDisk disk;
  auto w = Writer::open(batch_config(), disk);
  KAYA_ASSERT_OK(w);
  KAYA_ASSERT_OK((*w)->append(Payload::put("a", "1"), kStrict));
  const std::vector<std::string> keys = {"b", "c", "d"};
  std::vector<std::string> values;
  for (char c : {'x', 'y', 'z'}) values.emplace_back(600 << 10, c);
  std::vector<Payload> batch;
  for (size_t i = 0; i < keys.size(); ++i)
    batch.push_back(Payload::put(keys[i], values[i]));
  KAYA_ASSERT_OK((*w)->append_batch(batch, kStrict));
  KAYA_ASSERT_OK((*w)->append(Payload::put("e", "2"), kStrict));
  KAYA_ASSERT_OK((*w)->close());

  auto reader = LogReader::open(batch_config(), disk, Lsn(2));
  KAYA_ASSERT_OK(reader);
  std::vector<RecordView> views;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto v = (*reader)->next_view();
    KAYA_ASSERT_OK(v);
    ASSERT_TRUE(v->has_value());
    views.push_back(**v);
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(views[i].key, keys[i]);
    EXPECT_TRUE(views[i].value == values[i])
        << "the view of record " << i << " no longer reads its value";
  }
  auto e = (*reader)->next();
  KAYA_ASSERT_OK(e);
  ASSERT_TRUE(e->has_value());
  EXPECT_EQ((*e)->key, "e");
}

// A LogReader following a writer it shares nothing with (each has its own FileDisk on
// one directory, as with a writer of another process) while the writer appends batches
// and rotates: whenever the reader stops at the end of what is written, it has
// returned whole batches only, and in the end every record, in order.
TEST(BatchReaderTest, ALogReaderFollowingAWriterStopsOnlyBetweenBatches) {
  TempDir dir;
  auto writer_disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(writer_disk);
  auto reader_disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(reader_disk);
  WalConfig config = batch_config();
  config.segment_max_bytes = 4096;
  config.max_record_bytes = 4096;
  auto w = Writer::open(config, **writer_disk);
  KAYA_ASSERT_OK(w);
  constexpr uint64_t kBatches = 400;
  // Key "<batch>/<index>/<size>"; batch k has 1 + k % 4 records.
  auto key = [](uint64_t k, uint64_t i) {
    return std::to_string(k) + "/" + std::to_string(i) + "/" + std::to_string(1 + k % 4);
  };
  uint64_t total = 0;
  for (uint64_t k = 0; k < kBatches; ++k) total += 1 + k % 4;
  KAYA_ASSERT_OK((*w)->append(Payload::put(key(0, 0), "v"), kRelaxed));
  std::thread writer([&] {
    const std::string value(100, 'v');
    for (uint64_t k = 1; k < kBatches; ++k) {
      std::vector<std::string> keys;
      for (uint64_t i = 0; i < 1 + k % 4; ++i) keys.push_back(key(k, i));
      std::vector<Payload> batch;
      for (const std::string& kk : keys) batch.push_back(Payload::put(kk, value));
      auto r = (*w)->append_batch(batch, k % 5 == 0 ? kStrict : kRelaxed);
      if (!r.ok()) {
        ADD_FAILURE() << r.error().to_string();
        return;
      }
    }
  });
  auto reader = LogReader::open(config, **reader_disk, Lsn(1));
  KAYA_ASSERT_OK(reader);
  uint64_t read = 0;
  uint64_t batch = 0;
  uint64_t index = 0;  // of the next record in `batch`
  uint64_t stops = 0;
  const auto guard = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (read < total && std::chrono::steady_clock::now() < guard) {
    auto r = (*reader)->next();
    KAYA_ASSERT_OK(r);
    if (!r->has_value()) {
      ASSERT_EQ(index, 0u) << "the reader stopped inside batch " << batch << " after "
                           << index << " of its " << 1 + batch % 4 << " records";
      stops++;
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ((*r)->key, key(batch, index)) << "at LSN " << (*r)->lsn.value();
    read++;
    if (++index == 1 + batch % 4) {
      batch++;
      index = 0;
    }
  }
  writer.join();
  EXPECT_EQ(read, total) << "the liveness guard passed";
  EXPECT_GT(stops, 0u) << "the reader never caught up with the writer";
  KAYA_ASSERT_OK((*w)->close());
}

// A reader opened inside a whole batch reads its rest.
TEST(BatchReaderTest, ALogReaderOpenedInsideABatchReadsItsRest) {
  BatchLog log;
  write_batch_log(log, /*covered=*/true, /*tail=*/true);
  auto reader = LogReader::open(batch_config(), *log.disk, Lsn(4));
  KAYA_ASSERT_OK(reader);
  std::vector<std::string> keys;
  for (const Record& r : (*reader)->records()) keys.push_back(r.key);
  EXPECT_FALSE((*reader)->error().has_value());
  EXPECT_EQ(keys, (std::vector<std::string>{"d", "e", "f"}));
}

// A tailing reader waits at a batch being made durable, then returns all of it.
TEST(BatchReaderTest, ATailingReaderReturnsABatchWholeOnceDurable) {
  io::SimDisk disk;
  testing::FsyncGate gate(disk);
  auto w = Writer::open(batch_config(), disk);
  KAYA_ASSERT_OK(w);
  KAYA_ASSERT_OK((*w)->append(Payload::put("a", "1"), kStrict));
  auto reader = TailingReader::open(**w, Lsn(1));
  KAYA_ASSERT_OK(reader);
  gate.close();
  const std::vector<std::string> keys = {"b", "c", "d"};
  const std::vector<Payload> batch = puts(keys);
  auto held =
      std::async(std::launch::async, [&] { return (*w)->append_batch(batch, kStrict); });
  gate.wait_for_held();  // the batch is written, its fsync in progress
  auto r = (*reader)->next(std::chrono::seconds(10));
  KAYA_ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->key, "a");
  r = (*reader)->next(std::chrono::milliseconds(10));
  KAYA_ASSERT_OK(r);
  EXPECT_FALSE(r->has_value()) << "returned a record of a batch not durable yet";
  gate.open();
  KAYA_ASSERT_OK(held.get());
  std::vector<std::string> got;
  for (const RecordView& v : (*reader)->record_views(std::chrono::seconds(10))) {
    got.emplace_back(v.key);
    if (got.size() == keys.size()) break;
  }
  EXPECT_EQ(got, keys);
  KAYA_ASSERT_OK((*w)->close());
}

}  // namespace
}  // namespace kaya::wal
