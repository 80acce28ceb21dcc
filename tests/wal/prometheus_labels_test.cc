// Constant labels and several logs in one Prometheus exposition: two writers' metrics
// pass the strict parser (testing/prometheus_text.h) with each family once and both
// logs' series under it, carrying the numbers of each log's own plain output; label
// values round-trip through escaping; every label that would make an invalid or
// ambiguous exposition is refused with InvalidArgument naming it.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/metrics.h"
#include "testing/prometheus_text.h"
#include "testing/strings.h"
#include "testing/test_util.h"

namespace kaya::wal {
namespace {

using kaya::testing::cat;
using kaya::testing::parse_prometheus;
using kaya::testing::PromExposition;

PromExposition parse_or_fail(const std::string& text) {
  std::string error;
  auto parsed = parse_prometheus(text, &error);
  EXPECT_TRUE(parsed.has_value()) << error << "\n" << text;
  return parsed.value_or(PromExposition());
}

// A log on its own SimDisk, after `strict` strict and `relaxed` relaxed appends.
struct Log {
  io::SimDisk disk;
  std::unique_ptr<Writer> writer;
  Log(int strict, int relaxed) {
    auto opened = Writer::open({}, disk);
    EXPECT_TRUE(opened.ok()) << opened.error().to_string();
    writer = std::move(opened).value();
    for (int i = 0; i < strict + relaxed; ++i) {
      auto r =
          writer->append(Payload::put("key", std::to_string(i)),
                         i < strict ? DurabilityMode::kStrict : DurabilityMode::kRelaxed);
      EXPECT_TRUE(r.ok()) << r.error().to_string();
    }
    EXPECT_TRUE(writer->sync().ok());
  }
};

// Every sample of `plain` (one log's unlabelled output) is in `labelled` with `extra`
// added to its labels and the same value.
void expect_contains(const PromExposition& labelled, const PromExposition& plain,
                     const std::map<std::string, std::string>& extra) {
  for (const auto& family : plain.families) {
    for (const auto& sample : family.samples) {
      std::map<std::string, std::string> labels = sample.labels;
      labels.insert(extra.begin(), extra.end());
      EXPECT_EQ(labelled.value(sample.name, labels), sample.value) << sample.name;
    }
  }
}

size_t sample_count(const PromExposition& p) {
  size_t n = 0;
  for (const auto& family : p.families) n += family.samples.size();
  return n;
}

std::vector<std::string> family_names(const PromExposition& p) {
  std::vector<std::string> names;
  for (const auto& family : p.families) names.push_back(family.name);
  return names;
}

TEST(PrometheusLabelsTest, TwoLogsShareEachFamilyInOneExposition) {
  Log orders(6, 4);
  Log users(3, 0);
  std::vector<LabelledMetrics> logs;
  logs.push_back(
      {.labels = {{"log", "orders"}}, .metrics = collect_metrics(*orders.writer)});
  logs.push_back(
      {.labels = {{"log", "users"}}, .metrics = collect_metrics(*users.writer)});
  const Result<std::string> text = to_prometheus(logs);
  KAYA_ASSERT_OK(text);
  const PromExposition p = parse_or_fail(*text);

  // Each family once (the parser refuses a second HELP or TYPE; counted here too), in
  // the order of one log's output, with both logs' series.
  const PromExposition plain_orders = parse_or_fail(to_prometheus(logs[0].metrics));
  const PromExposition plain_users = parse_or_fail(to_prometheus(logs[1].metrics));
  EXPECT_EQ(family_names(p), family_names(plain_orders));
  for (const auto& family : p.families) {
    std::set<std::string> seen;
    for (const auto& sample : family.samples) {
      ASSERT_EQ(sample.labels.count("log"), 1u) << sample.name << " has no log label";
      seen.insert(sample.labels.at("log"));
    }
    EXPECT_EQ(seen, (std::set<std::string>{"orders", "users"})) << family.name;
  }
  expect_contains(p, plain_orders, {{"log", "orders"}});
  expect_contains(p, plain_users, {{"log", "users"}});
  EXPECT_EQ(sample_count(p), sample_count(plain_orders) + sample_count(plain_users));

  // The numbers tell the logs apart.
  EXPECT_EQ(p.value("kaya_wal_records_total", {{"log", "orders"}}), 10);
  EXPECT_EQ(p.value("kaya_wal_records_total", {{"log", "users"}}), 3);
  EXPECT_EQ(
      p.value("kaya_wal_appends_total", {{"log", "orders"}, {"durability", "relaxed"}}),
      4);
  EXPECT_EQ(
      p.value("kaya_wal_appends_total", {{"log", "users"}, {"durability", "relaxed"}}),
      0);
  for (const LabelledMetrics& log : logs) {
    const std::string& name = log.labels[0].second;
    EXPECT_EQ(p.value("kaya_wal_fsync_duration_seconds_bucket",
                      {{"log", name}, {"le", "+Inf"}}),
              log.metrics.writer->fsyncs)
        << name;
    EXPECT_EQ(p.value("kaya_recovery_outcome", {{"log", name}, {"outcome", "clean"}}), 1);
  }
  // The log's labels come first, le last.
  EXPECT_NE(
      text->find("\nkaya_wal_fsync_duration_seconds_bucket{log=\"users\",le=\"+Inf\"} "),
      std::string::npos)
      << *text;
}

TEST(PrometheusLabelsTest, OneLogCarriesItsLabelsOnEverySample) {
  Log orders(2, 1);
  const Metrics m = collect_metrics(*orders.writer);
  const Result<std::string> text = to_prometheus(m, {{"log", "orders"}, {"shard", "7"}});
  KAYA_ASSERT_OK(text);
  const PromExposition p = parse_or_fail(*text);
  const PromExposition plain = parse_or_fail(to_prometheus(m));
  expect_contains(p, plain, {{"log", "orders"}, {"shard", "7"}});
  EXPECT_EQ(sample_count(p), sample_count(plain));
  EXPECT_NE(text->find("\nkaya_wal_appends_total{log=\"orders\",shard=\"7\","
                       "durability=\"strict\"} 2\n"),
            std::string::npos)
      << *text;

  const Result<std::string> unlabelled = to_prometheus(m, {});
  KAYA_ASSERT_OK(unlabelled);
  EXPECT_EQ(*unlabelled, to_prometheus(m)) << "no labels: the plain output";
}

// Why the several-log form exists: two expositions written one after the other repeat
// every family's HELP and TYPE, which Prometheus refuses, labelled or not.
TEST(PrometheusLabelsTest, ConcatenatedExpositionsAreRejected) {
  Log orders(1, 0);
  Log users(1, 0);
  const Metrics a = collect_metrics(*orders.writer);
  const Metrics b = collect_metrics(*users.writer);
  std::string error;
  EXPECT_FALSE(parse_prometheus(to_prometheus(a) + to_prometheus(b), &error).has_value());
  EXPECT_NE(error.find("kaya_build_info"), std::string::npos) << error;

  const Result<std::string> labelled_a = to_prometheus(a, {{"log", "orders"}});
  const Result<std::string> labelled_b = to_prometheus(b, {{"log", "users"}});
  KAYA_ASSERT_OK(labelled_a);
  KAYA_ASSERT_OK(labelled_b);
  EXPECT_FALSE(parse_prometheus(*labelled_a + *labelled_b, &error).has_value());
  EXPECT_NE(error.find("kaya_build_info"), std::string::npos) << error;
}

TEST(PrometheusLabelsTest, ValuesAreEscapedAndRoundTrip) {
  const std::string tricky = "a\"b\\c\nd";
  const std::string utf8 = "\xe5\x88\x86\xe7\x89\x87 {7}=, #";  // "分片 {7}=, #"
  Metrics m;
  m.writer.emplace();
  m.writer->records = 5;
  const Result<std::string> one = to_prometheus(m, {{"log", tricky}});
  KAYA_ASSERT_OK(one);
  EXPECT_NE(one->find("{log=\"a\\\"b\\\\c\\nd\"}"), std::string::npos) << *one;
  EXPECT_EQ(parse_or_fail(*one).value("kaya_wal_records_total", {{"log", tricky}}), 5);

  std::vector<LabelledMetrics> logs;
  logs.push_back({.labels = {{"log", tricky}}, .metrics = m});
  logs.push_back({.labels = {{"log", utf8}}, .metrics = m});
  const Result<std::string> both = to_prometheus(logs);
  KAYA_ASSERT_OK(both);
  const PromExposition p = parse_or_fail(*both);
  EXPECT_EQ(p.value("kaya_wal_records_total", {{"log", tricky}}), 5);
  EXPECT_EQ(p.value("kaya_wal_records_total", {{"log", utf8}}), 5);
}

TEST(PrometheusLabelsTest, FamiliesKeepTheirOrderWhateverEachLogHas) {
  Log full(1, 0);
  Metrics recovery_only;
  recovery_only.recovery = collect_metrics(*full.writer).recovery;
  std::vector<LabelledMetrics> logs;
  logs.push_back({.labels = {{"log", "restored"}}, .metrics = recovery_only});
  logs.push_back({.labels = {{"log", "live"}}, .metrics = collect_metrics(*full.writer)});
  const Result<std::string> text = to_prometheus(logs);
  KAYA_ASSERT_OK(text);
  const PromExposition p = parse_or_fail(*text);
  EXPECT_EQ(family_names(p), family_names(parse_or_fail(to_prometheus(logs[1].metrics))));
  EXPECT_EQ(p.family("kaya_recovery_outcome")->samples.size(), 6u) << "3 per log";
  EXPECT_EQ(p.family("kaya_wal_records_total")->samples.size(), 1u) << "live only";

  const Result<std::string> none = to_prometheus(std::span<const LabelledMetrics>());
  KAYA_ASSERT_OK(none);
  EXPECT_EQ(*none, "") << "no logs, an empty exposition";
}

TEST(PrometheusLabelsTest, LogsWithTheSameLabelSetAreRefused) {
  const Metrics m{};
  std::vector<LabelledMetrics> logs;
  logs.push_back({.labels = {{"log", "orders"}, {"shard", "1"}}, .metrics = m});
  logs.push_back({.labels = {{"log", "users"}}, .metrics = m});
  logs.push_back({.labels = {{"shard", "1"}, {"log", "orders"}}, .metrics = m});
  Result<std::string> text = to_prometheus(logs);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().kind(), ErrorKind::kInvalidArgument);
  const std::string& message = text.error().message();
  EXPECT_NE(message.find("logs[0] and logs[2]"), std::string::npos) << message;
  EXPECT_NE(message.find("log=\"orders\""), std::string::npos) << message;
  EXPECT_NE(message.find("duplicates"), std::string::npos) << message;

  const std::vector<LabelledMetrics> unlabelled(2);
  text = to_prometheus(unlabelled);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.error().message().find("logs[0] and logs[1]"), std::string::npos)
      << text.error().message();
}

struct BadLabels {
  PrometheusLabels labels;
  std::string name;  // the label the message names
  std::string why;   // also in the message
};

class PrometheusLabelsRefused : public ::testing::TestWithParam<BadLabels> {};

TEST_P(PrometheusLabelsRefused, InvalidArgumentNamesTheLabel) {
  const BadLabels& bad = GetParam();
  const std::string named = cat("Prometheus label \"", bad.name, "\": ");
  Result<std::string> text = to_prometheus(Metrics{}, bad.labels);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(text.error().message().rfind(named, 0), 0u) << text.error().message();
  EXPECT_NE(text.error().message().find(bad.why), std::string::npos)
      << text.error().message();

  // In an exposition of several logs the message also names the log.
  std::vector<LabelledMetrics> logs(2);
  logs[0].labels = {{"log", "fine"}};
  logs[1].labels = bad.labels;
  text = to_prometheus(logs);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(text.error().message().rfind(cat("logs[1]: ", named), 0), 0u)
      << text.error().message();
}

std::vector<BadLabels> bad_labels() {
  std::vector<BadLabels> cases = {
      {{{"1log", "x"}}, "1log", "does not match"},
      {{{"lo-g", "x"}}, "lo-g", "does not match"},
      {{{"", "x"}}, "", "does not match"},
      {{{"__name__", "x"}}, "__name__", "reserved for Prometheus"},
      {{{"log", "a"}, {"log", "b"}}, "log", "appears twice"},
      {{{"log", ""}}, "log", "empty"},
      {{{"log", "\xff"}}, "log", "not valid UTF-8"},
  };
  // Every name kaya's families use themselves (a sample would have it twice).
  for (const char* own :
       {"le", "durability", "outcome", "mode", "kind", "version", "format_version"}) {
    cases.push_back({{{"log", "x"}, {own, "x"}}, own, "use this name themselves"});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Rules, PrometheusLabelsRefused,
                         ::testing::ValuesIn(bad_labels()));

}  // namespace
}  // namespace kaya::wal
