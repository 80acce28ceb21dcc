// Metrics: the struct follows what the writer and recovery did; the Prometheus text
// passes a grammar check (testing/prometheus_text.h, written independently of the
// serialiser) and carries the same numbers; the JSON passes the strict JSON parser.
#include "kaya/wal/metrics.h"

#include <gtest/gtest.h>

#include <string>

#include "kaya/core/version.h"
#include "kaya/io/sim_disk.h"
#include "testing/prometheus_text.h"
#include "testing/test_util.h"
#include "tools/json_lite.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using kaya::testing::parse_prometheus;
using kaya::testing::PromExposition;
using kaya::tool::testing::Json;
using testing::segment;

constexpr auto kStrict = DurabilityMode::kStrict;
constexpr auto kRelaxed = DurabilityMode::kRelaxed;

PromExposition parse_or_fail(const std::string& text) {
  std::string error;
  auto parsed = parse_prometheus(text, &error);
  EXPECT_TRUE(parsed.has_value()) << error << "\n" << text;
  return parsed.value_or(PromExposition());
}

Json json_or_fail(const std::string& text) {
  std::string error;
  auto parsed = Json::parse(text, &error);
  EXPECT_TRUE(parsed.has_value()) << error << "\n" << text;
  return parsed.value_or(Json());
}

// A log of a few segments, some released, written in both modes.
struct Fixture {
  io::SimDisk disk;
  std::unique_ptr<Writer> writer;
  Fixture() {
    WalConfig config;
    config.segment_max_bytes = 200;
    config.max_record_bytes = 200;
    auto opened = Writer::open(config, disk);
    EXPECT_TRUE(opened.ok()) << opened.error().to_string();
    writer = std::move(opened).value();
    for (int i = 0; i < 10; ++i) {
      auto r = writer->append(Payload::put("key", "value-" + std::to_string(i)),
                              i % 2 ? kStrict : kRelaxed);
      EXPECT_TRUE(r.ok()) << r.error().to_string();
    }
    EXPECT_TRUE(writer->sync().ok());
    EXPECT_TRUE(writer->release_before(Lsn(5)).ok());
  }
};

TEST(MetricsTest, StatsCountSegmentsLikeTheDisk) {
  Fixture f;
  const WriterStats s = f.writer->stats();
  auto ids = list_segments(f.disk);
  KAYA_ASSERT_OK(ids);
  EXPECT_GT(s.rotations, 2u);
  EXPECT_GT(s.segments_released, 0u);
  EXPECT_EQ(s.segments, ids->size());
  EXPECT_EQ(s.strict_records, 5u);
  EXPECT_EQ(s.relaxed_records, 5u);
  EXPECT_EQ(s.batch_wait_us.count(), 0u) << "no batching configured";
}

TEST(MetricsTest, PrometheusTextParsesAndCarriesTheStats) {
  Fixture f;
  const Metrics m = collect_metrics(*f.writer);
  const std::string text = to_prometheus(m);
  const PromExposition p = parse_or_fail(text);
  const WriterStats& s = *m.writer;

  EXPECT_EQ(p.value("kaya_wal_records_total"), s.records);
  EXPECT_EQ(p.value("kaya_wal_bytes_total"), s.bytes);
  EXPECT_EQ(p.value("kaya_wal_appends_total", {{"durability", "strict"}}), 5);
  EXPECT_EQ(p.value("kaya_wal_appends_total", {{"durability", "relaxed"}}), 5);
  EXPECT_EQ(p.value("kaya_wal_fsyncs_total"), s.fsyncs);
  EXPECT_EQ(p.value("kaya_wal_released_bytes_total"), s.bytes_released);
  EXPECT_EQ(p.value("kaya_wal_segments"), s.segments);
  EXPECT_EQ(p.value("kaya_wal_poisoned"), 0);
  EXPECT_EQ(p.value("kaya_wal_next_lsn"), 11);
  EXPECT_EQ(p.value("kaya_wal_durable_lsn"), 10);
  EXPECT_EQ(p.value("kaya_wal_fsync_duration_seconds_count"), s.fsyncs);
  EXPECT_EQ(p.value("kaya_wal_fsync_duration_seconds_bucket", {{"le", "+Inf"}}),
            s.fsyncs);
  EXPECT_EQ(p.value("kaya_wal_records_per_fsync_sum"), s.records_per_fsync.sum());
  EXPECT_EQ(p.value("kaya_recovery_outcome", {{"outcome", "clean"}}), 1);
  EXPECT_EQ(p.value("kaya_recovery_outcome", {{"outcome", "failed"}}), 0);
  EXPECT_EQ(p.value("kaya_build_info",
                    {{"version", std::string(version())}, {"format_version", "1"}}),
            1);
  for (const char* name : {"kaya_wal_fsync_duration_seconds",
                           "kaya_wal_records_per_fsync", "kaya_wal_batch_wait_seconds"}) {
    ASSERT_NE(p.family(name), nullptr) << name;
    EXPECT_EQ(p.family(name)->type, "histogram");
    EXPECT_FALSE(p.family(name)->help.empty());
  }
  EXPECT_EQ(p.family("kaya_wal_records_total")->type, "counter");
  EXPECT_EQ(p.family("kaya_wal_poisoned")->type, "gauge");
}

// Asynchronous appends and truncations reach both formats with the writer's numbers.
TEST(MetricsTest, AsyncAppendsAndTruncationsAreExported) {
  Fixture f;
  for (int i = 0; i < 6; ++i) {
    auto future = f.writer->append_async(Payload::put("key", "async"), kStrict);
    KAYA_ASSERT_OK(future);
    KAYA_ASSERT_OK(future->wait());
  }
  auto cut = f.writer->truncate_after(Lsn(12));
  KAYA_ASSERT_OK(cut);
  const Metrics m = collect_metrics(*f.writer);
  const WriterStats& s = *m.writer;
  ASSERT_EQ(s.async_appends, 6u);
  ASSERT_EQ(s.truncations, 1u);
  ASSERT_GT(s.async_in_flight_bytes_peak, 0u);
  EXPECT_EQ(s.async_in_flight_bytes, 0u) << "every async append completed";

  const PromExposition p = parse_or_fail(to_prometheus(m));
  EXPECT_EQ(p.value("kaya_wal_async_appends_total"), 6);
  EXPECT_EQ(p.value("kaya_wal_async_in_flight_bytes"), 0);
  EXPECT_EQ(p.value("kaya_wal_async_in_flight_bytes_peak"), s.async_in_flight_bytes_peak);
  EXPECT_EQ(p.value("kaya_wal_truncations_total"), 1);
  EXPECT_EQ(p.value("kaya_wal_truncated_segments_total"), s.segments_truncated);
  EXPECT_EQ(p.family("kaya_wal_truncations_total")->type, "counter");
  EXPECT_EQ(p.family("kaya_wal_async_in_flight_bytes")->type, "gauge");

  const Json w = json_or_fail(to_json(m))["writer"];
  EXPECT_EQ(w["async_appends"].u64(), 6u);
  EXPECT_EQ(w["async_in_flight_bytes"].u64(), 0u);
  EXPECT_EQ(w["async_in_flight_bytes_peak"].u64(), s.async_in_flight_bytes_peak);
  EXPECT_EQ(w["truncations"].u64(), 1u);
  EXPECT_EQ(w["segments_truncated"].u64(), s.segments_truncated);
}

TEST(MetricsTest, PrometheusBucketsAreExactCumulativeCountsInSeconds) {
  Metrics m;
  m.writer.emplace();
  // Microseconds: 1 and 3 are <= 3 us; 4 and 127 <= 127 us; 128 and 1 s above.
  for (uint64_t us : {1, 3, 4, 127, 128, 1'000'000}) {
    m.writer->fsync_duration_us.record(us);
  }
  for (uint64_t n : {1, 1, 2, 1000}) m.writer->records_per_fsync.record(n);
  const PromExposition p = parse_or_fail(to_prometheus(m));
  const std::string h = "kaya_wal_fsync_duration_seconds";
  EXPECT_EQ(p.value(h + "_bucket", {{"le", "0.000001"}}), 1);
  EXPECT_EQ(p.value(h + "_bucket", {{"le", "0.000003"}}), 2);
  EXPECT_EQ(p.value(h + "_bucket", {{"le", "0.000063"}}), 3);
  EXPECT_EQ(p.value(h + "_bucket", {{"le", "0.000127"}}), 4);
  EXPECT_EQ(p.value(h + "_bucket", {{"le", "0.000255"}}), 5);
  EXPECT_EQ(p.value(h + "_bucket", {{"le", "0.524287"}}), 5);
  EXPECT_EQ(p.value(h + "_bucket", {{"le", "1.048575"}}), 6);
  EXPECT_EQ(p.value(h + "_bucket", {{"le", "33.554431"}}), 6);
  EXPECT_EQ(p.value(h + "_bucket", {{"le", "+Inf"}}), 6);
  EXPECT_DOUBLE_EQ(*p.value(h + "_sum"), 1.000263);
  const std::string r = "kaya_wal_records_per_fsync";
  EXPECT_EQ(p.value(r + "_bucket", {{"le", "1"}}), 2);
  EXPECT_EQ(p.value(r + "_bucket", {{"le", "3"}}), 3);
  EXPECT_EQ(p.value(r + "_bucket", {{"le", "511"}}), 3);
  EXPECT_EQ(p.value(r + "_bucket", {{"le", "1023"}}), 4);
  EXPECT_EQ(p.value(r + "_sum"), 1004);
  EXPECT_EQ(p.family("kaya_recovery_outcome"), nullptr) << "no recovery given";
}

TEST(MetricsTest, BatchWaitIsRecordedWhenGroupCommitWaits) {
  io::SimDisk disk;
  WalConfig config;
  config.batch.flush_interval_us = 1000;
  auto w = Writer::open(config, disk);
  KAYA_ASSERT_OK(w);
  KAYA_ASSERT_OK((*w)->append(Payload::noop(), kStrict));
  const WriterStats s = (*w)->stats();
  EXPECT_EQ(s.batch_wait_us.count(), 1u);
  const PromExposition p = parse_or_fail(to_prometheus(collect_metrics(**w)));
  EXPECT_EQ(p.value("kaya_wal_batch_wait_seconds_count"), 1);
}

TEST(MetricsTest, PoisonedWriterShowsInEveryFormat) {
  io::SimDisk disk;
  auto w = Writer::open({}, disk);
  KAYA_ASSERT_OK(w);
  disk.fail_nth(io::FaultKind::kFsyncFailure);
  EXPECT_FALSE((*w)->append(Payload::noop(), kStrict).ok());
  const Metrics m = collect_metrics(**w);
  EXPECT_EQ(parse_or_fail(to_prometheus(m)).value("kaya_wal_poisoned"), 1);
  EXPECT_TRUE(json_or_fail(to_json(m))["writer"]["poisoned"].boolean());
}

TEST(MetricsTest, RecoveryOutcomes) {
  io::SimDisk disk;
  {
    auto w = Writer::open({}, disk);
    KAYA_ASSERT_OK(w);
    for (int i = 0; i < 3; ++i) KAYA_ASSERT_OK((*w)->append(Payload::noop(), kStrict));
  }
  // A torn tail: a few garbage bytes after the last record.
  const uint8_t junk[] = {0x41, 0x59, 0x41};
  KAYA_ASSERT_OK(disk.append(segment(1), junk));
  auto w = Writer::open({}, disk);
  KAYA_ASSERT_OK(w);
  RecoveryMetrics r = collect_metrics(**w).recovery.value();
  EXPECT_EQ(r.outcome, RecoveryOutcome::kRepaired);
  EXPECT_EQ(r.torn_tails, 1u);
  EXPECT_EQ(r.bytes_dropped, 3u);
  EXPECT_EQ(r.records, 3u);
  PromExposition p = parse_or_fail(to_prometheus(Metrics{std::nullopt, r}));
  EXPECT_EQ(p.value("kaya_recovery_outcome", {{"outcome", "repaired"}}), 1);
  EXPECT_EQ(p.value("kaya_recovery_anomalies", {{"kind", "torn_tail"}}), 1);
  EXPECT_EQ(p.value("kaya_recovery_dropped_bytes"), 3);
  EXPECT_EQ(p.family("kaya_wal_records_total"), nullptr) << "no writer given";

  r = RecoveryMetrics::from_error(Error(ErrorKind::kCorruption, "bad \"crc\"\n"),
                                  RecoveryMode::kAbsolute, 42);
  p = parse_or_fail(to_prometheus(Metrics{std::nullopt, r}));
  EXPECT_EQ(p.value("kaya_recovery_outcome", {{"outcome", "failed"}}), 1);
  EXPECT_EQ(p.value("kaya_recovery_info", {{"mode", "absolute"}}), 1);
  EXPECT_EQ(p.value("kaya_recovery_duration_seconds"), 0.000042);
  Json j = json_or_fail(to_json(Metrics{std::nullopt, r}));
  EXPECT_EQ(j["recovery"]["outcome"].str(), "failed");
  EXPECT_EQ(j["recovery"]["error"].str(), "Corruption: bad \"crc\"\n");
  EXPECT_TRUE(j["writer"].is_null());
}

TEST(MetricsTest, JsonHasTheDocumentedSchema) {
  Fixture f;
  const Metrics m = collect_metrics(*f.writer);
  const Json j = json_or_fail(to_json(m));
  EXPECT_EQ(j["version"].str(), std::string(version()));
  EXPECT_EQ(j["format_version"].u64(), 1u);
  const Json& w = j["writer"];
  for (const char* key : {"records",
                          "bytes",
                          "strict_records",
                          "relaxed_records",
                          "fsyncs",
                          "dir_fsyncs",
                          "rotations",
                          "segments",
                          "segments_released",
                          "bytes_released",
                          "active_segment_id",
                          "next_lsn",
                          "durable_lsn_end",
                          "poisoned",
                          "full_checks",
                          "last_full_check_unix_ms",
                          "scrub_bytes",
                          "scrub_corruptions",
                          "truncations",
                          "segments_truncated",
                          "async_appends",
                          "async_in_flight_bytes",
                          "async_in_flight_bytes_peak",
                          "fsync_duration_us",
                          "records_per_fsync",
                          "batch_wait_us"}) {
    EXPECT_TRUE(w.has(key)) << key;
  }
  EXPECT_EQ(w.size(), 26u) << "a member was added: document it in docs/metrics.md";
  EXPECT_EQ(w["records"].u64(), m.writer->records);
  EXPECT_EQ(w["segments"].u64(), m.writer->segments);
  const Json& h = w["records_per_fsync"];
  EXPECT_EQ(h["count"].u64(), m.writer->records_per_fsync.count());
  uint64_t in_buckets = 0;
  for (size_t i = 0; i < h["buckets"].size(); ++i) {
    const Json& b = h["buckets"][i];
    EXPECT_EQ(Histogram::bucket_upper_bound(Histogram::bucket_index(b[0].u64())),
              b[0].u64());
    in_buckets += b[1].u64();
  }
  EXPECT_EQ(in_buckets, h["count"].u64());
  const Json& r = j["recovery"];
  EXPECT_EQ(r["outcome"].str(), "clean");
  EXPECT_EQ(r["mode"].str(), "default");
  EXPECT_TRUE(r["error"].is_null());
  EXPECT_EQ(r.size(), 12u) << "a member was added: document it in docs/metrics.md";
}

}  // namespace
}  // namespace kaya::wal
