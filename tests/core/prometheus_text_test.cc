// The Prometheus text parser used by the metrics tests rejects what the format
// forbids, so that a metrics test that parses kaya's output can fail.
#include "testing/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace kaya::testing {
namespace {

constexpr const char* kValid =
    "# HELP requests_total Requests \\\\ served.\\nSecond line.\n"
    "# TYPE requests_total counter\n"
    "requests_total{code=\"200\",path=\"/a\\\"b\\\\c\\nd\"} 10\n"
    "requests_total{code=\"500\",} 1.5e0 1700000000000\n"
    "# a comment\n"
    "\n"
    "# TYPE latency_seconds histogram\n"
    "latency_seconds_bucket{le=\"0.1\"} 1\n"
    "latency_seconds_bucket{le=\"1\"} 3\n"
    "latency_seconds_bucket{le=\"+Inf\"} 3\n"
    "latency_seconds_sum 1.25\n"
    "latency_seconds_count 3\n"
    "# TYPE temperature gauge\n"
    "temperature -Inf\n";

TEST(PrometheusTextTest, AcceptsAValidExposition) {
  std::string error;
  auto p = parse_prometheus(kValid, &error);
  ASSERT_TRUE(p.has_value()) << error;
  ASSERT_EQ(p->families.size(), 3u);
  EXPECT_EQ(p->families[0].help, "Requests \\ served.\nSecond line.");
  EXPECT_EQ(p->value("requests_total", {{"code", "200"}, {"path", "/a\"b\\c\nd"}}), 10);
  EXPECT_EQ(p->value("requests_total", {{"code", "500"}}), 1.5);
  EXPECT_EQ(p->family("latency_seconds")->samples.size(), 5u);
  EXPECT_TRUE(std::isinf(*p->value("temperature")));
}

struct Bad {
  const char* text;
  const char* error;  // expected in the message
};

class PrometheusTextRejects : public ::testing::TestWithParam<Bad> {};

TEST_P(PrometheusTextRejects, NamesTheProblem) {
  std::string error;
  EXPECT_FALSE(parse_prometheus(GetParam().text, &error).has_value()) << GetParam().text;
  EXPECT_NE(error.find(GetParam().error), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, PrometheusTextRejects,
    ::testing::Values(
        Bad{"# TYPE a gauge\na 1", "newline"},
        Bad{"# TYPE 1a gauge\n", "invalid metric name"}, Bad{"a 1\n", "before the TYPE"},
        Bad{"# TYPE a gauge\na{b-c=\"1\"} 1\n", "invalid label name"},
        Bad{"# TYPE a gauge\na{__x=\"1\"} 1\n", "invalid label name"},
        Bad{"# TYPE a gauge\na{b=1} 1\n", "no quoted value"},
        Bad{"# TYPE a gauge\na{b=\"\\t\"} 1\n", "invalid escape"},
        Bad{"# TYPE a gauge\na{b=\"x} 1\n", "unterminated"},
        Bad{"# TYPE a gauge\na{b=\"1\",b=\"2\"} 1\n", "appears twice"},
        Bad{"# TYPE a gauge\na 1x5\n", "invalid value"},
        Bad{"# TYPE a gauge\na inf\n", "invalid value"},
        Bad{"# TYPE a gauge\na 1 2 3\n", "trailing text"},
        Bad{"# TYPE a gauge\na 1\na 2\n", "duplicate series"},
        Bad{"# TYPE a gauge\na{x=\"\"} 1\na 2\n", "duplicate series"},
        Bad{"# TYPE a gauge\na{x=\"1\",y=\"\"} 1\na{x=\"1\"} 2\n", "duplicate series"},
        Bad{"# TYPE a gauge\n# TYPE a gauge\n", "second TYPE"},
        Bad{"# HELP a x\n# HELP a y\n", "second HELP"},
        Bad{"# HELP a x \\t\n", "invalid escape in HELP"},
        Bad{"# TYPE a thing\n", "unknown type"},
        Bad{"# TYPE a gauge\na 1\n# HELP a late\n", "after its samples"},
        Bad{"# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 1\n", "not contiguous"},
        Bad{"# TYPE a counter\na 1\n", "not named *_total"},
        Bad{"# TYPE a_total counter\na_total -1\n", "negative"},
        Bad{"# HELP a x\n", "no TYPE"},
        Bad{"# TYPE h histogram\nh_bucket 1\nh_sum 1\nh_count 1\n", "without le"},
        Bad{"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\n"
            "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",
            "not cumulative"},
        Bad{"# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
            "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
            "do not ascend"},
        Bad{"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
            "no le=\"+Inf\""},
        Bad{"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
            "differs from its _count"},
        Bad{"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n", "lacks _sum"}));

}  // namespace
}  // namespace kaya::testing
