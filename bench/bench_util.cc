#include "bench_util.h"

#include <malloc.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "json.h"

namespace kaya::bench {

void die(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(1);
}

void ok_or_die(const Status& s) {
  if (!s.ok()) die(s.error().to_string());
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

void parse_flags(int argc, char** argv, std::string_view about,
                 const std::vector<Flag>& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%.*s\nflags:\n", static_cast<int>(about.size()), about.data());
      for (const Flag& f : flags) {
        const std::string left = "--" + f.name + " " + f.value_name;
        std::printf("  %-18s %s\n", left.c_str(), f.help.c_str());
      }
      std::exit(0);
    }
    auto flag = std::find_if(flags.begin(), flags.end(),
                             [&](const Flag& f) { return arg == "--" + f.name; });
    if (flag == flags.end()) die("unknown argument " + arg + " (see --help)");
    if (flag->value_name.empty()) {
      flag->set("");
    } else {
      if (i + 1 >= argc) die(arg + " needs a value (" + flag->value_name + ")");
      flag->set(argv[++i]);
    }
  }
}

double to_double(const std::string& flag, const std::string& text, double min,
                 double max) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= min && v <= max)) {
    die("--" + flag + " takes a number from " + std::to_string(min) + " to " +
        std::to_string(max) + ", not '" + text + "'");
  }
  return v;
}

uint64_t to_u64(const std::string& flag, const std::string& text, uint64_t min,
                uint64_t max) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || *end != '\0' || v < min || v > max) {
    die("--" + flag + " takes a whole number from " + std::to_string(min) + " to " +
        std::to_string(max) + ", not '" + text + "'");
  }
  return v;
}

std::vector<Flag> common_flags(CommonOptions& o) {
  return {
      {"dir", "DIR", "write into DIR (default: a temporary directory, removed after)",
       [&o](const std::string& v) { o.dir = v; }},
      {"runs", "N", "repeat the measurements N times and report the medians",
       [&o](const std::string& v) {
         o.runs = static_cast<int>(to_u64("runs", v, 1, 99));
       }},
      {"json", "", "print one JSON document instead of tables",
       [&o](const std::string&) { o.json = true; }},
  };
}

ScratchDir::ScratchDir(const std::string& dir, std::string_view prefix) {
  if (dir.empty()) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX"))
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) die("cannot create a directory " + tmpl);
    path_ = tmpl;
    temporary_ = true;
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) die("cannot create " + dir + ": " + ec.message());
  path_ = dir;
}

ScratchDir::~ScratchDir() {
  if (!temporary_) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ScratchDir::describe() const {
  return temporary_ ? "(temporary, " + path_ + ")" : path_;
}

namespace {

// A "Name:  1234 kB" field of /proc/self/status, in KiB (0 when absent).
uint64_t status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size() + 1, field + ":") == 0) {
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

}  // namespace

uint64_t rss_kib() { return status_kib("VmRSS"); }
uint64_t peak_rss_kib() { return status_kib("VmHWM"); }

bool reset_peak_rss() {
  ::malloc_trim(0);
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

double kib_to_mib(uint64_t kib) { return static_cast<double>(kib) / 1024.0; }

namespace {

// 1234567 -> "1.23M", 45678 -> "45.7k", 12.5 -> "12.5".
std::string short_number(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (!std::isfinite(v)) return "n/a";
  if (a >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2fM", v / 1e6);
  } else if (a >= 1e4) {
    std::snprintf(buf, sizeof(buf), "%.1fk", v / 1e3);
  } else if (a >= 100 || a == std::floor(a)) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f", v);
  }
  return buf;
}

std::string with_unit(double v, const CaseSpec& spec) {
  std::string s = short_number(v);
  s += ' ';
  s += spec.unit;
  if (spec.record_bytes > 0) {
    s += ' ';
    s += short_number(v * spec.record_bytes / 1e6);
    s += " MB/s";
  }
  return s;
}

std::string target_text(const CaseSpec& spec) {
  std::string s;
  for (const Target& t : spec.targets) {
    if (!s.empty()) s += ", ";
    switch (t.goal) {
      case Goal::kRatioAtLeast:
        s += ">= " + short_number(t.value) + "x";
        break;
      case Goal::kRatioAtMost:
        s += "<= " + short_number(t.value) + "x";
        break;
      case Goal::kKayaAtLeast:
        s += ">= " + short_number(t.value) + " " + spec.unit;
        break;
      case Goal::kKayaAtMost:
        s += "<= " + short_number(t.value) + " " + spec.unit;
        break;
    }
  }
  return s.empty() ? "-" : s;
}

std::string details_json(const Details& details) {
  tool::JsonObject o;
  for (const auto& [name, value] : details) o.real(name, value);
  return o.build();
}

}  // namespace

void Report::add(const CaseSpec& spec, Sample sample) {
  auto it = std::find_if(cases_.begin(), cases_.end(),
                         [&](const Case& c) { return c.spec.name == spec.name; });
  if (it == cases_.end()) {
    cases_.push_back({spec, {}});
    it = cases_.end() - 1;
  }
  it->runs.push_back(std::move(sample));
}

Report::Figures Report::figures_of(const Case& c, int run) {
  auto ratio = [](const Sample& s) { return s.baseline > 0 ? s.kaya / s.baseline : 0.0; };
  Figures f;
  if (run >= 0) {
    if (static_cast<size_t>(run) >= c.runs.size()) return f;
    const Sample& s = c.runs[static_cast<size_t>(run)];
    return {s.kaya, s.baseline, ratio(s), s.details};
  }
  std::vector<double> kaya, baseline, ratios;
  for (const Sample& s : c.runs) {
    kaya.push_back(s.kaya);
    baseline.push_back(s.baseline);
    ratios.push_back(ratio(s));
  }
  f.kaya = median(kaya);
  f.baseline = median(baseline);
  f.ratio = median(ratios);  // of the per-run ratios: each pairs figures of one run
  for (size_t i = 0; i < c.runs.front().details.size(); ++i) {
    std::vector<double> values;
    for (const Sample& s : c.runs) {
      if (i < s.details.size()) values.push_back(s.details[i].second);
    }
    f.details.emplace_back(c.runs.front().details[i].first, median(values));
  }
  return f;
}

bool Report::met(const CaseSpec& spec, const Figures& f) {
  for (const Target& t : spec.targets) {
    const bool ok = t.goal == Goal::kRatioAtLeast  ? f.baseline > 0 && f.ratio >= t.value
                    : t.goal == Goal::kRatioAtMost ? f.baseline > 0 && f.ratio <= t.value
                    : t.goal == Goal::kKayaAtLeast ? f.kaya >= t.value
                                                   : f.kaya <= t.value;
    if (!ok) return false;
  }
  return true;
}

bool Report::all_met() const {
  return std::all_of(cases_.begin(), cases_.end(),
                     [](const Case& c) { return met(c.spec, figures_of(c, -1)); });
}

void Report::print_table(std::FILE* out, int run) const {
  const char* kRow = "%-30s %-26s %-42s %8s  %-26s %s\n";
  std::fprintf(out, kRow, "case", "kaya", "baseline", "ratio", "target", "met");
  for (const Case& c : cases_) {
    const Figures f = figures_of(c, run);
    const std::string baseline = f.baseline > 0
                                     ? c.spec.baseline + ": " + short_number(f.baseline)
                                     : c.spec.baseline;
    char ratio[32] = "-";
    if (f.baseline > 0) std::snprintf(ratio, sizeof(ratio), "%.2fx", f.ratio);
    std::fprintf(out, kRow, c.spec.name.c_str(), with_unit(f.kaya, c.spec).c_str(),
                 baseline.c_str(), ratio, target_text(c.spec).c_str(),
                 c.spec.targets.empty() ? "-"
                 : met(c.spec, f)       ? "yes"
                                        : "NO");
  }
  std::fprintf(out, "\n");
  for (const Case& c : cases_) {
    const Figures f = figures_of(c, run);
    if (f.details.empty()) continue;
    std::fprintf(out, "  %s:", c.spec.name.c_str());
    for (const auto& [name, value] : f.details) {
      std::fprintf(out, " %s=%s", name.c_str(), short_number(value).c_str());
    }
    std::fprintf(out, "\n");
  }
}

std::string Report::to_json(std::string_view program,
                            const std::string& settings_json) const {
  std::vector<std::string> cases;
  size_t runs = 0;
  for (const Case& c : cases_) {
    runs = std::max(runs, c.runs.size());
    std::vector<std::string> per_run;
    for (size_t r = 0; r < c.runs.size(); ++r) {
      const Figures f = figures_of(c, static_cast<int>(r));
      per_run.push_back(tool::JsonObject()
                            .real("kaya", f.kaya)
                            .real("baseline", f.baseline)
                            .real("ratio", f.ratio)
                            .raw("details", details_json(f.details))
                            .build());
    }
    const Figures f = figures_of(c, -1);
    cases.push_back(tool::JsonObject()
                        .str("name", c.spec.name)
                        .str("unit", c.spec.unit)
                        .real("kaya", f.kaya)
                        .raw("baseline", tool::JsonObject()
                                             .str("name", c.spec.baseline)
                                             .real("value", f.baseline)
                                             .build())
                        .real("ratio", f.ratio)
                        .str("target", target_text(c.spec))
                        .boolean("met", met(c.spec, f))
                        .raw("details", details_json(f.details))
                        .raw("per_run", tool::json_array(per_run))
                        .build());
  }
  return tool::JsonObject()
      .str("program", program)
      .raw("settings", settings_json)
      .num("runs", runs)
      .boolean("all_met", all_met())
      .raw("cases", tool::json_array(cases))
      .build();
}

Report run_suite(int runs, bool json, const std::function<void(int run, Report&)>& body) {
  Report report;
  for (int run = 0; run < runs; ++run) {
    body(run, report);
    if (json) continue;
    std::printf("--- run %d of %d ---\n", run + 1, runs);
    report.print_table(stdout, run);
    std::fflush(stdout);
  }
  if (!json) {
    std::printf("=== median of %d run%s ===\n", runs, runs == 1 ? "" : "s");
    report.print_table(stdout, -1);
  }
  return report;
}

}  // namespace kaya::bench
