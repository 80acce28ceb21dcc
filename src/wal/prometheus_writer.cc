// The Prometheus text exposition format: see prometheus_writer.h.
#include "wal/prometheus_writer.h"

#include <algorithm>
#include <cassert>
#include <cinttypes>
#include <cstdio>
#include <utility>

namespace kaya::wal::prom {
namespace {

// Histogram bucket bounds: 2^k - 1 in the histogram's unit, k = 1..max_bit. Each is
// the upper bound of an internal bucket (values are integers, and every power of two
// starts a bucket), so the cumulative count up to it is exact, not interpolated.
std::vector<uint64_t> exact_bounds(int max_bit) {
  std::vector<uint64_t> bounds;
  for (int k = 1; k <= max_bit; ++k) {
    const uint64_t bound = (uint64_t{1} << k) - 1;
    assert(Histogram::bucket_upper_bound(Histogram::bucket_index(bound)) == bound);
    bounds.push_back(bound);
  }
  return bounds;
}
constexpr int kDurationMaxBit = 25;  // 33.554431 s
constexpr int kCountMaxBit = 20;     // 1048575 records

std::string in_unit(uint64_t value, Unit unit) {
  return unit == Unit::kMicrosAsSeconds ? micros_as_seconds(value)
                                        : std::to_string(value);
}

// Escaping of HELP text (backslash, newline) and of label values (also '"').
std::string escape(std::string_view text, bool quotes) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

// `value` / 10^6 written exactly ("0.000127", "33.554431", "2"): microseconds in
// seconds without a rounding step.
std::string micros_as_seconds(uint64_t micros) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%" PRIu64 ".%06" PRIu64, micros / 1'000'000,
                micros % 1'000'000);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// `name="value"`, the value escaped, appended to `out`.
void append_label(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += "=\"";
  out += escape(value, true);
  out += '"';
}

bool is_own_label_name(std::string_view name) {
  return std::find(kOwnLabelNames.begin(), kOwnLabelNames.end(), name) !=
         kOwnLabelNames.end();
}

void PromWriter::family(std::string_view name, std::string_view type,
                        std::string_view help) {
  std::string header = "# HELP ";
  header += name;
  header += ' ';
  header += escape(help, false);
  header += "\n# TYPE ";
  header += name;
  header += ' ';
  header += type;
  header += '\n';
  auto it = index_.find(name);
  if (it != index_.end()) {
    current_ = it->second;
    assert(families_[current_].header == header);  // one name, one family
    return;
  }
  current_ = families_.size();
  families_.push_back(Family{std::move(header), {}});
  index_.emplace(std::string(name), current_);
}

void PromWriter::sample(std::string_view name, std::string_view labels,
                        std::string_view value) {
  assert(current_ < families_.size());
  std::string& out = families_[current_].samples;
  out += name;
  if (!log_labels_.empty() || !labels.empty()) {
    out += '{';
    out += log_labels_;
    if (!log_labels_.empty() && !labels.empty()) out += ',';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

void PromWriter::single(std::string_view name, std::string_view type,
                        std::string_view help, uint64_t value) {
  family(name, type, help);
  sample(name, "", std::to_string(value));
}

void PromWriter::histogram(std::string_view name, std::string_view help,
                           const Histogram& h, Unit unit) {
  family(name, "histogram", help);
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  int index = 0;
  for (uint64_t bound :
       exact_bounds(unit == Unit::kCount ? kCountMaxBit : kDurationMaxBit)) {
    for (; index <= Histogram::bucket_index(bound); ++index) {
      cumulative += h.bucket_count(index);
    }
    sample(bucket, label("le", in_unit(bound, unit)), std::to_string(cumulative));
  }
  sample(bucket, label("le", "+Inf"), std::to_string(h.count()));
  sample(std::string(name) + "_sum", "", in_unit(h.sum(), unit));
  sample(std::string(name) + "_count", "", std::to_string(h.count()));
}

std::string PromWriter::label(std::string_view name, std::string_view value) {
  assert(is_own_label_name(name));
  std::string out;
  append_label(out, name, value);
  return out;
}

std::string PromWriter::take() {
  size_t size = 0;
  for (const Family& f : families_) size += f.header.size() + f.samples.size();
  std::string out;
  out.reserve(size);
  for (const Family& f : families_) {
    out += f.header;
    out += f.samples;
  }
  return out;
}

}  // namespace kaya::wal::prom
