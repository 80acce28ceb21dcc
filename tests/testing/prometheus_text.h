// A strict parser of the Prometheus text exposition format (version 0.0.4), for tests:
// written from the format's grammar, independently of kaya's serialiser, so that a
// test that parses kaya's output also checks that a Prometheus server would accept it.
//
// Checked, line by line:
// - every line ends with '\n' (also the last); blank lines are skipped;
// - "# HELP name text" (escapes \\ and \n only) and "# TYPE name type" (counter,
//   gauge, histogram, summary, untyped), at most once each per family, both before
//   the family's first sample; other "#" lines are comments;
// - samples "name{label="value",...} value [timestamp]": metric names match
//   [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and do not start
//   with "__", label values escape only \\, \" and \n, no label appears twice; values
//   are floats (also NaN, +Inf, -Inf), timestamps integers;
// - each sample belongs to a family declared by TYPE (histogram X: X_bucket, X_sum,
//   X_count), the samples of a family are contiguous, no series appears twice (a
//   label with an empty value counts as absent, as Prometheus reads it);
// - counters are named *_total and are non-negative;
// - histograms: every X_bucket has an "le", buckets ascend by le and their counts
//   never decrease, le="+Inf" is present and equals X_count, X_sum and X_count exist.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kaya::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped
  double value = 0;
};

struct PromFamily {
  std::string name;
  std::string type;
  std::string help;  // unescaped
  std::vector<PromSample> samples;
};

struct PromExposition {
  std::vector<PromFamily> families;  // in order of appearance

  const PromFamily* family(const std::string& name) const;
  // The value of the one sample `name` with exactly `labels`; nullopt when absent.
  std::optional<double> value(
      const std::string& name,
      const std::map<std::string, std::string>& labels = {}) const;
};

// The exposition, or nullopt with `*error` = "line N: what is wrong".
std::optional<PromExposition> parse_prometheus(std::string_view text, std::string* error);

}  // namespace kaya::testing
