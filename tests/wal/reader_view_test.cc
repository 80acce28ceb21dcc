// The readers' views (next_view(), record_views()): the same records, ends and errors as
// next() over the same logs, from every LSN, at a torn tail, a corrupt record, a
// truncation, in ranges and while a TailingReader waits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/writer.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"
#include "wal/writer_test_util.h"

namespace kaya::wal {
namespace {

using io::SimDisk;
using kaya::testing::cat;
using testing::kStrict;
using testing::open_or_die;
using testing::segment;
using testing::small_segments;
using namespace std::chrono_literals;

// Generous bound for waits that must end; never a timing assertion.
constexpr auto kLiveness = std::chrono::seconds(60);

// Appends records number `first` to `first + n - 1`: puts of varying sizes (empty
// values too), deletes and noops. Returns each record's acknowledgement.
std::vector<AppendResult> append_records(Writer& w, uint64_t first, uint64_t n) {
  std::vector<AppendResult> acks;
  for (uint64_t i = first; i < first + n; ++i) {
    std::string key = cat("key-", std::to_string(i));
    std::string value((i * 37) % 150, static_cast<char>('a' + i % 26));
    Payload p = Payload::put(key, value);
    if (i % 7 == 3) p = Payload::del(key);
    if (i % 11 == 5) p = Payload::noop();
    auto ack = w.append(p, kStrict);
    EXPECT_TRUE(ack.ok()) << ack.error().to_string();
    if (!ack.ok()) break;
    acks.push_back(*ack);
  }
  return acks;
}

// A writer of `config` on `disk` that appended records 0 to n - 1 (append_records(),
// their acknowledgements in `acks`); nullptr on a failure (reported).
std::unique_ptr<Writer> writer_with(const WalConfig& config, io::Disk& disk, uint64_t n,
                                    std::vector<AppendResult>* acks = nullptr) {
  auto w = open_or_die(config, disk);
  if (w == nullptr) return nullptr;
  std::vector<AppendResult> appended = append_records(*w, 0, n);
  if (appended.size() != n) return nullptr;
  if (acks != nullptr) *acks = std::move(appended);
  return w;
}

// What one call of a reader gave, comparable across next() and next_view(): the
// record (a view copied with to_record()), the end, or the error; and the reader's
// position and stalled_on() after it.
struct Step {
  bool ok = true;
  std::optional<Record> record;
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  Lsn position;
  std::optional<std::string> stalled_on;

  bool more() const { return ok && record.has_value(); }
};

Step step_of(const Result<std::optional<Record>>& r) {
  Step s;
  s.ok = r.ok();
  if (r.ok()) {
    s.record = *r;
  } else {
    s.kind = r.error().kind();
    s.message = r.error().message();
  }
  return s;
}

Step step_of(const Result<std::optional<RecordView>>& r) {
  Step s;
  s.ok = r.ok();
  if (r.ok()) {
    if (r->has_value()) {
      const RecordView& v = **r;
      s.record = v.to_record();
      // The view's fields and its payload() agree with the copy.
      EXPECT_EQ(v.payload().type, v.type);
      EXPECT_EQ(v.payload().key.data(), v.key.data());
      EXPECT_EQ(v.payload().value.data(), v.value.data());
      EXPECT_EQ(s.record->payload().encoded_len(), v.payload().encoded_len());
    }
  } else {
    s.kind = r.error().kind();
    s.message = r.error().message();
  }
  return s;
}

template <typename Reader>
Step finish(Step s, const Reader& reader) {
  s.position = reader.position();
  if constexpr (std::is_same_v<Reader, LogReader>) {
    if (reader.stalled_on()) s.stalled_on = reader.stalled_on()->to_string();
  }
  return s;
}

void expect_same(const Step& by_next, const Step& by_view) {
  ASSERT_EQ(by_next.ok, by_view.ok) << (by_next.ok ? by_view.message : by_next.message);
  EXPECT_EQ(by_next.record, by_view.record);
  EXPECT_EQ(by_next.kind, by_view.kind);
  EXPECT_EQ(by_next.message, by_view.message);
  EXPECT_EQ(by_next.position, by_view.position);
  EXPECT_EQ(by_next.stalled_on, by_view.stalled_on);
}

// Two LogReaders opened at `from`, one read with next(), the other with next_view(),
// in lockstep to the first end or error (and one call past an end). Returns the last
// step (the same for both).
Step expect_same_log_reads(const WalConfig& config, io::Disk& disk, Lsn from,
                           uint64_t* records = nullptr) {
  auto by_next = LogReader::open(config, disk, from);
  auto by_view = LogReader::open(config, disk, from);
  EXPECT_EQ(by_next.ok(), by_view.ok());
  if (!by_next.ok() || !by_view.ok()) {
    if (!by_next.ok() && !by_view.ok()) {
      EXPECT_EQ(by_next.error().to_string(), by_view.error().to_string());
    }
    Step failed;
    failed.ok = false;
    return failed;
  }
  uint64_t n = 0;
  for (int past_end = 0;;) {
    const Step a = finish(step_of((*by_next)->next()), **by_next);
    const Step b = finish(step_of((*by_view)->next_view()), **by_view);
    expect_same(a, b);
    if (::testing::Test::HasFatalFailure()) return a;
    if (a.more()) {
      ++n;
      continue;
    }
    if (!a.ok || past_end++ > 0) {
      if (records != nullptr) *records = n;
      return a;
    }
  }
}

TEST(RecordViewTest, LogReaderViewsAreTheRecordsOfNextFromEveryLsn) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = writer_with(config, disk, 60);
  ASSERT_NE(w, nullptr);
  for (uint64_t from = 1; from <= 61; ++from) {
    SCOPED_TRACE(cat("from LSN ", std::to_string(from)));
    uint64_t n = 0;
    const Step last = expect_same_log_reads(config, disk, Lsn(from), &n);
    EXPECT_TRUE(last.ok);
    EXPECT_EQ(n, 61 - from);
    EXPECT_EQ(last.position, Lsn(61));
  }
}

TEST(RecordViewTest, ATornTailEndsBothPathsAlike) {
  SimDisk disk;
  const WalConfig config = small_segments();
  std::vector<AppendResult> acks;
  auto w = writer_with(config, disk, 20, &acks);
  ASSERT_NE(w, nullptr);
  KAYA_ASSERT_OK(w->close());
  const std::vector<uint8_t> garbage(30, 0xAB);
  KAYA_ASSERT_OK(disk.append(segment(acks.back().segment_id), garbage).status());
  for (uint64_t from : {uint64_t{1}, uint64_t{15}, uint64_t{21}}) {
    SCOPED_TRACE(cat("from LSN ", std::to_string(from)));
    uint64_t n = 0;
    const Step last = expect_same_log_reads(config, disk, Lsn(from), &n);
    EXPECT_TRUE(last.ok);
    EXPECT_EQ(n, 21 - from);
    ASSERT_TRUE(last.stalled_on.has_value()) << "the torn tail is not reported";
  }
}

TEST(RecordViewTest, ACorruptRecordFailsBothPathsAlike) {
  SimDisk disk;
  const WalConfig config = small_segments();
  std::vector<AppendResult> acks;
  auto w = writer_with(config, disk, 40, &acks);
  ASSERT_NE(w, nullptr);
  // A record of segment 2 (sealed, so at or below the recovery point): its LSN field
  // changes and the header checksum no longer matches.
  const AppendResult* bad = nullptr;
  for (const AppendResult& a : acks) {
    if (a.segment_id == 2) bad = &a;
  }
  ASSERT_NE(bad, nullptr);
  uint8_t b = 0;
  const uint64_t at = bad->offset + format::kLsnOffset;
  auto n = disk.read_at(segment(2), at, std::span<uint8_t>(&b, 1));
  ASSERT_TRUE(n.ok() && *n == 1);
  b ^= 0x20;
  KAYA_ASSERT_OK(disk.write_at(segment(2), at, io::ByteView(&b, 1)));

  uint64_t records = 0;
  const Step last = expect_same_log_reads(config, disk, Lsn(1), &records);
  ASSERT_FALSE(last.ok);
  EXPECT_EQ(last.kind, ErrorKind::kCorruption);
  EXPECT_THAT(last.message,
              ::testing::HasSubstr(cat("at offset ", std::to_string(bad->offset))));
  EXPECT_EQ(records, bad->lsn.value() - 1);
}

TEST(RecordViewTest, ATruncationFailsBothLogReadersWithTheNewEpoch) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = writer_with(config, disk, 20);
  ASSERT_NE(w, nullptr);
  auto by_next = LogReader::open(config, disk, Lsn(1));
  auto by_view = LogReader::open(config, disk, Lsn(1));
  KAYA_ASSERT_OK(by_next);
  KAYA_ASSERT_OK(by_view);
  for (int i = 0; i < 3; ++i) {
    expect_same(finish(step_of((*by_next)->next()), **by_next),
                finish(step_of((*by_view)->next_view()), **by_view));
  }
  KAYA_ASSERT_OK(w->truncate_after(Lsn(10)));
  ASSERT_EQ(append_records(*w, 100, 10).size(), 10u);  // LSNs 11..20 again
  for (;;) {
    const Step a = finish(step_of((*by_next)->next()), **by_next);
    const Step b = finish(step_of((*by_view)->next_view()), **by_view);
    expect_same(a, b);
    if (HasFatalFailure() || !a.more()) {
      ASSERT_FALSE(a.ok) << "the readers ended without noticing the truncation";
      EXPECT_EQ(a.kind, ErrorKind::kNotFound);
      EXPECT_THAT(a.message, ::testing::HasSubstr("truncation epoch 1"));
      break;
    }
  }
}

TEST(RecordViewTest, RangesOfViewsYieldWhatRangesOfRecordsYield) {
  SimDisk disk;
  const WalConfig config = small_segments();
  std::vector<AppendResult> acks;
  auto w = writer_with(config, disk, 40, &acks);
  ASSERT_NE(w, nullptr);
  auto read_both = [&](Lsn from) {
    auto by_next = LogReader::open(config, disk, from);
    auto by_view = LogReader::open(config, disk, from);
    KAYA_ASSERT_OK(by_next);
    KAYA_ASSERT_OK(by_view);
    std::vector<Record> records;
    for (const Record& r : (*by_next)->records()) records.push_back(r);
    std::vector<Record> views;
    for (const RecordView& v : (*by_view)->record_views()) views.push_back(v.to_record());
    EXPECT_EQ(records, views);
    ASSERT_EQ((*by_next)->error().has_value(), (*by_view)->error().has_value());
    if ((*by_next)->error()) {
      EXPECT_EQ((*by_next)->error()->to_string(), (*by_view)->error()->to_string());
    }
    EXPECT_EQ((*by_next)->position(), (*by_view)->position());
  };
  read_both(Lsn(5));
  // Damage in segment 2 ends both ranges with the same error.
  const AppendResult& bad = acks[5];
  uint8_t b = 0x55;
  KAYA_ASSERT_OK(disk.write_at(segment(bad.segment_id), bad.offset + format::kHeaderLen,
                               io::ByteView(&b, 1)));
  read_both(Lsn(1));
  auto damaged = LogReader::open(config, disk, Lsn(1));
  KAYA_ASSERT_OK(damaged);
  for (const RecordView& v : (*damaged)->record_views()) (void)v;
  ASSERT_TRUE((*damaged)->error().has_value()) << "the damage was not met";
  EXPECT_EQ((*damaged)->error()->kind(), ErrorKind::kCorruption);
}

// Two TailingReaders of one writer, one on next(), the other on next_view(), while
// records are appended: the one that waits alternates, so that each path waits for
// appends and each finds a record already there.
TEST(RecordViewTest, TailingReaderViewsAreTheRecordsOfNextWhileWaiting) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = writer_with(config, disk, 3);
  ASSERT_NE(w, nullptr);
  auto by_next = TailingReader::open(*w, Lsn(2));
  auto by_view = TailingReader::open(*w, Lsn(2));
  KAYA_ASSERT_OK(by_next);
  KAYA_ASSERT_OK(by_view);
  auto step_next = [&](std::chrono::microseconds t) {
    return finish(step_of((*by_next)->next(t)), **by_next);
  };
  auto step_view = [&](std::chrono::microseconds t) {
    return finish(step_of((*by_view)->next_view(t)), **by_view);
  };
  // The records already there, then the end (nothing within a zero timeout).
  for (int i = 0; i < 3; ++i) {
    const Step a = step_next(0us);
    expect_same(a, step_view(0us));
    EXPECT_EQ(a.more(), i < 2);
  }
  for (uint64_t i = 3; i < 23; ++i) {
    SCOPED_TRACE(cat("record ", std::to_string(i)));
    auto producer = std::async(std::launch::async, [&] {
      std::this_thread::sleep_for(1ms);  // usually after the reader began to wait
      return append_records(*w, i, 1).size();
    });
    Step a;
    Step b;
    if (i % 2 == 0) {
      a = step_next(kLiveness);
      b = step_view(0us);
    } else {
      b = step_view(kLiveness);
      a = step_next(0us);
    }
    EXPECT_EQ(producer.get(), 1u);
    expect_same(a, b);
    ASSERT_TRUE(a.more());
    EXPECT_EQ(a.record->lsn, Lsn(i + 1));
  }
  // A truncation fails both with the new epoch; so does a closed writer after it.
  KAYA_ASSERT_OK(w->truncate_after(Lsn(10)));
  ASSERT_EQ(append_records(*w, 100, 1).size(), 1u);
  const Step a = step_next(0us);
  expect_same(a, step_view(0us));
  ASSERT_FALSE(a.ok);
  EXPECT_EQ(a.kind, ErrorKind::kNotFound);
  EXPECT_THAT(a.message, ::testing::HasSubstr("truncation epoch 1"));
}

TEST(RecordViewTest, TailingReaderViewsFailLikeNextWhenTheWriterCloses) {
  SimDisk disk;
  auto w = writer_with({}, disk, 2);
  ASSERT_NE(w, nullptr);
  auto by_next = TailingReader::open(*w, Lsn(1));
  auto by_view = TailingReader::open(*w, Lsn(1));
  KAYA_ASSERT_OK(by_next);
  KAYA_ASSERT_OK(by_view);
  std::vector<Record> records;
  for (const Record& r : (*by_next)->records(0us)) records.push_back(r);
  std::vector<Record> views;
  for (const RecordView& v : (*by_view)->record_views(0us))
    views.push_back(v.to_record());
  EXPECT_EQ(records, views);
  EXPECT_EQ(views.size(), 2u);
  EXPECT_FALSE((*by_view)->error().has_value());
  KAYA_ASSERT_OK(w->close());
  auto a = (*by_next)->next(0us);
  auto b = (*by_view)->next_view(0us);
  ASSERT_FALSE(a.ok());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(a.error().to_string(), b.error().to_string());
}

}  // namespace
}  // namespace kaya::wal
