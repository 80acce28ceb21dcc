#include "testing/prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>
#include <utility>

namespace kaya::testing {
namespace {

const std::regex kMetricName("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
const std::regex kFloat("[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?");
const std::regex kTimestamp("-?[0-9]+");
const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                      "untyped"};

bool is_metric_name(const std::string& s) { return std::regex_match(s, kMetricName); }

std::optional<double> parse_float(const std::string& s) {
  if (s == "+Inf" || s == "Inf") return INFINITY;
  if (s == "-Inf") return -INFINITY;
  if (s == "NaN") return NAN;
  if (!std::regex_match(s, kFloat)) return std::nullopt;
  return std::strtod(s.c_str(), nullptr);
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Reads one line's tokens; every failure is reported as a message.
class LineParser {
 public:
  explicit LineParser(std::string_view line) : line_(line) {}

  void skip_blanks() {
    while (pos_ < line_.size() && (line_[pos_] == ' ' || line_[pos_] == '\t')) ++pos_;
  }
  bool at_end() const { return pos_ == line_.size(); }
  char peek() const { return at_end() ? '\0' : line_[pos_]; }
  // Characters up to a blank, '{', '=' , ',' or '}'.
  std::string word() {
    size_t start = pos_;
    while (pos_ < line_.size() &&
           std::string_view(" \t{}=,\"").find(line_[pos_]) == std::string_view::npos) {
      ++pos_;
    }
    return std::string(line_.substr(start, pos_ - start));
  }
  std::string rest() {
    std::string r(line_.substr(pos_));
    pos_ = line_.size();
    return r;
  }
  bool consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  // A quoted label value (the opening '"' consumed already), unescaped.
  std::optional<std::string> quoted(std::string* error) {
    std::string out;
    while (!at_end()) {
      char c = line_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) break;
      char e = line_[pos_++];
      if (e == '\\' || e == '"') {
        out += e;
      } else if (e == 'n') {
        out += '\n';
      } else {
        *error = std::string("invalid escape \\") + e + " in a label value";
        return std::nullopt;
      }
    }
    *error = "unterminated label value";
    return std::nullopt;
  }

 private:
  std::string_view line_;
  size_t pos_ = 0;
};

std::optional<std::string> unescape_help(const std::string& text, std::string* error) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '\\') {
      out += '\\';
    } else if (i + 1 < text.size() && text[i + 1] == 'n') {
      out += '\n';
    } else {
      *error = "invalid escape in HELP text";
      return std::nullopt;
    }
    ++i;
  }
  return out;
}

// The family a sample name belongs to, given the families declared so far.
std::string family_of(const std::string& sample,
                      const std::map<std::string, std::string>& types) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (!ends_with(sample, suffix)) continue;
    std::string base = sample.substr(0, sample.size() - suffix.size());
    auto it = types.find(base);
    if (it != types.end() &&
        (it->second == "histogram" || (it->second == "summary" && suffix != "_bucket"))) {
      return base;
    }
  }
  return sample;
}

class Parser {
 public:
  std::optional<PromExposition> run(std::string_view text, std::string* error);

 private:
  bool comment(LineParser& p, std::string* error);
  bool sample(LineParser& p, std::string* error);
  bool check_family(const PromFamily& f, std::string* error) const;
  bool check_histogram(const PromFamily& f, std::string* error) const;
  PromFamily& declared(const std::string& name);

  PromExposition out_;
  std::map<std::string, std::string> types_;
  std::set<std::string> helps_;
  std::set<std::string> finished_;  // families whose samples have ended
  std::set<std::pair<std::string, std::map<std::string, std::string>>> series_;
  std::string current_;  // family of the previous sample
};

PromFamily& Parser::declared(const std::string& name) {
  for (PromFamily& f : out_.families) {
    if (f.name == name) return f;
  }
  out_.families.push_back(PromFamily{name, "", "", {}});
  return out_.families.back();
}

bool Parser::comment(LineParser& p, std::string* error) {
  p.skip_blanks();
  const std::string keyword = p.word();
  if (keyword != "HELP" && keyword != "TYPE") {
    p.rest();
    return true;  // a plain comment
  }
  p.skip_blanks();
  const std::string name = p.word();
  if (!is_metric_name(name)) {
    *error = "invalid metric name '" + name + "' in " + keyword;
    return false;
  }
  if (!p.consume(' ') && !p.consume('\t')) {
    *error = keyword + " " + name + " has no " + (keyword == "HELP" ? "text" : "type");
    return false;
  }
  const std::string text = p.rest();
  if (finished_.count(name) || current_ == name) {
    *error = keyword + " for " + name + " after its samples";
    return false;
  }
  PromFamily& f = declared(name);
  if (keyword == "HELP") {
    if (!helps_.insert(name).second) {
      *error = "second HELP for " + name;
      return false;
    }
    auto help = unescape_help(text, error);
    if (!help) return false;
    f.help = *help;
    return true;
  }
  if (types_.count(name)) {
    *error = "second TYPE for " + name;
    return false;
  }
  if (!kTypes.count(text)) {
    *error = "unknown type '" + text + "' for " + name;
    return false;
  }
  if (text == "counter" && !ends_with(name, "_total")) {
    *error = "counter " + name + " is not named *_total";
    return false;
  }
  types_[name] = text;
  f.type = text;
  return true;
}

bool Parser::sample(LineParser& p, std::string* error) {
  PromSample s;
  s.name = p.word();
  if (!is_metric_name(s.name)) {
    *error = "invalid metric name '" + s.name + "'";
    return false;
  }
  if (p.consume('{')) {
    for (;;) {
      p.skip_blanks();
      if (p.consume('}')) break;
      const std::string label = p.word();
      if (!std::regex_match(label, kLabelName) || label.rfind("__", 0) == 0) {
        *error = "invalid label name '" + label + "'";
        return false;
      }
      p.skip_blanks();
      if (!p.consume('=') || !(p.skip_blanks(), p.consume('"'))) {
        *error = "label " + label + " has no quoted value";
        return false;
      }
      auto value = p.quoted(error);
      if (!value) return false;
      if (!s.labels.emplace(label, *value).second) {
        *error = "label " + label + " appears twice";
        return false;
      }
      p.skip_blanks();
      if (p.consume('}')) break;
      if (!p.consume(',')) {
        *error = "expected ',' or '}' after label " + label;
        return false;
      }
    }
  }
  p.skip_blanks();
  const std::string value = p.word();
  auto v = parse_float(value);
  if (!v) {
    *error = "invalid value '" + value + "' of " + s.name;
    return false;
  }
  s.value = *v;
  p.skip_blanks();
  if (!p.at_end()) {
    const std::string ts = p.word();
    p.skip_blanks();
    if (!std::regex_match(ts, kTimestamp) || !p.at_end()) {
      *error = "invalid timestamp or trailing text after the value of " + s.name;
      return false;
    }
  }
  const std::string family = family_of(s.name, types_);
  if (!types_.count(family)) {
    *error = "sample " + s.name + " before the TYPE of its family";
    return false;
  }
  if (family != current_) {
    if (finished_.count(family)) {
      *error = "samples of " + family + " are not contiguous";
      return false;
    }
    if (!current_.empty()) finished_.insert(current_);
    current_ = family;
  }
  // Prometheus reads a label with an empty value as no label: a{x=""} is the series a.
  std::map<std::string, std::string> identity = s.labels;
  std::erase_if(identity, [](const auto& label) { return label.second.empty(); });
  if (!series_.emplace(s.name, std::move(identity)).second) {
    *error = "duplicate series " + s.name;
    return false;
  }
  if (types_[family] == "counter" && !(s.value >= 0)) {
    *error = "counter " + s.name + " is negative or NaN";
    return false;
  }
  declared(family).samples.push_back(std::move(s));
  return true;
}

bool Parser::check_histogram(const PromFamily& f, std::string* error) const {
  // Per label set other than le: the buckets in order, the sum and the count.
  struct Series {
    std::vector<std::pair<double, double>> buckets;  // le, count
    std::optional<double> sum, count;
  };
  std::map<std::map<std::string, std::string>, Series> by_labels;
  for (const PromSample& s : f.samples) {
    std::map<std::string, std::string> labels = s.labels;
    if (s.name == f.name + "_bucket") {
      auto le = labels.find("le");
      if (le == labels.end()) {
        *error = f.name + "_bucket without le";
        return false;
      }
      auto bound = parse_float(le->second);
      if (!bound || std::isnan(*bound)) {
        *error = f.name + "_bucket with invalid le '" + le->second + "'";
        return false;
      }
      labels.erase(le);
      by_labels[labels].buckets.emplace_back(*bound, s.value);
    } else if (s.name == f.name + "_sum") {
      by_labels[labels].sum = s.value;
    } else if (s.name == f.name + "_count") {
      by_labels[labels].count = s.value;
    } else {
      *error = "sample " + s.name + " in histogram " + f.name;
      return false;
    }
  }
  for (const auto& [labels, series] : by_labels) {
    if (!series.sum || !series.count) {
      *error = "histogram " + f.name + " lacks _sum or _count";
      return false;
    }
    for (size_t i = 1; i < series.buckets.size(); ++i) {
      if (!(series.buckets[i].first > series.buckets[i - 1].first)) {
        *error = "buckets of " + f.name + " do not ascend by le";
        return false;
      }
      if (series.buckets[i].second < series.buckets[i - 1].second) {
        *error = "buckets of " + f.name + " are not cumulative";
        return false;
      }
    }
    if (series.buckets.empty() || !std::isinf(series.buckets.back().first)) {
      *error = "histogram " + f.name + " has no le=\"+Inf\" bucket";
      return false;
    }
    if (series.buckets.back().second != *series.count) {
      *error = "le=\"+Inf\" bucket of " + f.name + " differs from its _count";
      return false;
    }
  }
  return true;
}

bool Parser::check_family(const PromFamily& f, std::string* error) const {
  if (f.type.empty()) {
    *error = "family " + f.name + " has HELP but no TYPE";
    return false;
  }
  return f.type != "histogram" || check_histogram(f, error);
}

std::optional<PromExposition> Parser::run(std::string_view text, std::string* error) {
  if (!text.empty() && text.back() != '\n') {
    *error = "the last line does not end with a newline";
    return std::nullopt;
  }
  size_t line_no = 0;
  size_t start = 0;
  std::string why;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    LineParser p(line);
    p.skip_blanks();
    if (p.at_end()) continue;
    const bool ok = p.consume('#') ? comment(p, &why) : sample(p, &why);
    if (!ok) {
      *error = "line " + std::to_string(line_no) + ": " + why;
      return std::nullopt;
    }
  }
  for (const PromFamily& f : out_.families) {
    if (!check_family(f, &why)) {
      *error = "at the end: " + why;
      return std::nullopt;
    }
  }
  return std::move(out_);
}

}  // namespace

const PromFamily* PromExposition::family(const std::string& name) const {
  for (const PromFamily& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<double> PromExposition::value(
    const std::string& name, const std::map<std::string, std::string>& labels) const {
  for (const PromFamily& f : families) {
    for (const PromSample& s : f.samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
  }
  return std::nullopt;
}

std::optional<PromExposition> parse_prometheus(std::string_view text,
                                               std::string* error) {
  return Parser().run(text, error);
}

}  // namespace kaya::testing
