// The Prometheus text exposition format (version 0.0.4): numbers in a unit, escaping,
// labels, and PromWriter, which collects the families of one log or several. Which
// families kaya exports, and the rules for a log's constant labels, are in
// prometheus.cc; the names, units and bucket bounds are documented in docs/metrics.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kaya/core/histogram.h"

namespace kaya::wal::prom {

enum class Unit { kMicrosAsSeconds, kCount };

// `value` / 10^6 written exactly ("0.000127", "33.554431", "2"): microseconds in
// seconds without a rounding step.
std::string micros_as_seconds(uint64_t micros);

// `name="value"`, the value escaped, appended to `out`.
void append_label(std::string& out, std::string_view name, std::string_view value);

// The label names kaya's families use themselves. A log's constant labels sit next to
// them in a sample, so they may not take one of these names.
inline constexpr std::array<std::string_view, 7> kOwnLabelNames = {
    "le", "durability", "outcome", "mode", "kind", "version", "format_version"};

bool is_own_label_name(std::string_view name);

// An exposition being written, for one log or several. Families keep the order in
// which they are first declared; declaring one again (for the next log) returns to it,
// so that each family has its HELP and TYPE once and its samples together, as the
// format requires however many logs add to it.
class PromWriter {
 public:
  // The constant labels of the log whose samples follow, formatted (`log="orders"`);
  // they must outlive the writer.
  void start_log(std::string_view labels) { log_labels_ = labels; }

  // Declares a family (its HELP and TYPE lines) or returns to it. Samples follow with
  // sample().
  void family(std::string_view name, std::string_view type, std::string_view help);
  // A sample of the current family, with the log's constant labels and then `labels`
  // (already formatted by label()).
  void sample(std::string_view name, std::string_view labels, std::string_view value);
  void single(std::string_view name, std::string_view type, std::string_view help,
              uint64_t value);
  void histogram(std::string_view name, std::string_view help, const Histogram& h,
                 Unit unit);
  // One of the family's own labels (kOwnLabelNames), formatted.
  static std::string label(std::string_view name, std::string_view value);
  std::string take();

 private:
  struct Family {
    std::string header;   // the HELP and TYPE lines
    std::string samples;  // the sample lines of every log so far
  };
  std::vector<Family> families_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> families_ index
  size_t current_ = 0;
  std::string_view log_labels_;
};

}  // namespace kaya::wal::prom
