// What the benchmark programs share: flag parsing, a scratch directory, memory
// figures from /proc, and the result report (per case: kaya's figure, its baseline
// measured in the same run, the ratio and the target; the median over runs), printed
// as a table or as one JSON document.
//
// Not thread-safe: the programs call these from their main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kaya/core/status.h"

namespace kaya::bench {

using Clock = std::chrono::steady_clock;

// Prints "error: <what>" to stderr and exits with status 1.
[[noreturn]] void die(const std::string& what);
// Dies with the error of `s` ("<kind>: <message>") when it failed.
void ok_or_die(const Status& s);
double seconds_since(Clock::time_point start);
// The median of `values` (the mean of the middle two for an even count; 0 if empty).
double median(std::vector<double> values);

// One command-line flag: `--name VALUE`, or `--name` alone when value_name is empty.
struct Flag {
  std::string name;        // without the dashes
  std::string value_name;  // shown in --help; empty for a switch
  std::string help;
  std::function<void(const std::string& value)> set;  // "" for a switch
};

// Parses argv against `flags` (dies naming the flag on an unknown flag or a missing
// value); --help prints `about`, then the flags, and exits 0.
void parse_flags(int argc, char** argv, std::string_view about,
                 const std::vector<Flag>& flags);
// Flag values; die naming the flag when `text` is not a number in [min, max].
double to_double(const std::string& flag, const std::string& text, double min,
                 double max);
uint64_t to_u64(const std::string& flag, const std::string& text, uint64_t min,
                uint64_t max);

// The flags every program takes: --dir, --runs, --json.
struct CommonOptions {
  std::string dir;  // empty: a temporary directory
  int runs = 1;
  bool json = false;
};
std::vector<Flag> common_flags(CommonOptions& options);

// The directory the benchmark writes in: `dir` (created if needed, left in place) or,
// when empty, a new temporary directory named <prefix>-XXXXXX, removed on destruction.
class ScratchDir {
 public:
  ScratchDir(const std::string& dir, std::string_view prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  bool temporary() const { return temporary_; }
  // "(temporary)" or the path, for headers.
  std::string describe() const;

 private:
  std::string path_;
  bool temporary_ = false;
};

// Memory of this process, from /proc/self/status, in KiB (0 when unavailable).
uint64_t rss_kib();       // VmRSS
uint64_t peak_rss_kib();  // VmHWM
// Resets VmHWM to the current RSS (after handing freed heap back to the OS, so that
// later allocations show up as growth). False when the kernel does not allow it.
bool reset_peak_rss();
double kib_to_mib(uint64_t kib);

// What a case must reach: a bound on kaya/baseline or on kaya's figure itself.
enum class Goal { kRatioAtLeast, kRatioAtMost, kKayaAtLeast, kKayaAtMost };
struct Target {
  Goal goal;
  double value;
};

// A case of the report; the same spec is passed in every run.
struct CaseSpec {
  std::string name;      // e.g. "strict 1T 128 B"
  std::string unit;      // of kaya's and the baseline's figure, e.g. "rec/s"
  std::string baseline;  // what the baseline is
  std::vector<Target> targets;
  // Throughput cases in rec/s: the record size, to show MB/s as well (0: none).
  double record_bytes = 0;
};

// Further named figures of one run of a case (e.g. each baseline variant).
using Details = std::vector<std::pair<std::string, double>>;

struct Sample {
  double kaya = 0;
  double baseline = 0;  // 0: none (the ratio is then absent)
  Details details;
};

class Report {
 public:
  // Adds one run's figures for `spec` (cases appear in the order first added).
  void add(const CaseSpec& spec, Sample sample);
  bool empty() const { return cases_.empty(); }

  // "case | kaya | baseline | ratio | target | met", then each case's details. `run`
  // < 0: the medians over all runs; else that run's figures (met is judged on them).
  void print_table(std::FILE* out, int run) const;
  // {"program","settings":<settings_json>,"runs","cases":[{"name","unit","kaya",
  //  "baseline":{"name","value"},"ratio","target","met","details":{..},
  //  "per_run":[{"kaya","baseline","ratio","details"}]}]}; figures are medians.
  std::string to_json(std::string_view program, const std::string& settings_json) const;
  // True when every case meets its targets (judged on the medians).
  bool all_met() const;

 private:
  struct Case {
    CaseSpec spec;
    std::vector<Sample> runs;
  };
  struct Figures {  // one run's, or the medians
    double kaya = 0;
    double baseline = 0;
    double ratio = 0;  // 0 when there is no baseline
    Details details;
  };
  static Figures figures_of(const Case& c, int run);
  static bool met(const CaseSpec& spec, const Figures& f);
  std::vector<Case> cases_;
};

// Runs `body(run)` for run = 0..runs-1; unless `json`, prints each run's table after
// it and finally the medians' table. Returns the report.
Report run_suite(int runs, bool json, const std::function<void(int run, Report&)>& body);

}  // namespace kaya::bench
