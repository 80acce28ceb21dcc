// What opening a log costs with a cold cache, for a large log next to a small one
// measured in the same run, and what a full recovery scan costs next to reading the
// same files (see docs/recovery.md: an open reads only what lies beyond the recovery
// point).
//
//   open_bench [--dir DIR] [--gib G] [--small-mib M] [--recover-gib R] [--runs N]
//              [--cases LIST] [--no-drop-caches] [--keep] [--json]
//
// Logs (FileDisk, default WalConfig: 64 MiB segments; 4 KiB Put records, relaxed
// appends, then sync and close): a large one of G GiB of sealed segments (default 10:
// 160 segments) and a small one of M MiB (default 64: one segment), each with one
// record in its active segment; with recover-full, one of R GiB (default 1). They are
// written once and reused by every case and run; with --keep and --dir they stay in
// DIR and a later run reuses them.
//
// Cold cache: before every measured call, every file under the log's wal/ is
// fdatasync'ed (so its pages are clean) and posix_fadvise(POSIX_FADV_DONTNEED)'d,
// then, when running as root, 1 is written to /proc/sys/vm/drop_caches (not with
// --no-drop-caches). The header says which was used. Each measurement also reports
// what the process read from storage (/proc/self/io read_bytes), so an open that reads
// more than the tail shows.
//
// Cases (--cases takes a comma-separated subset; each run measures each once, medians
// over --runs, default 3):
//   open          Writer::open (default options), then close, on the large log vs the
//                 small one (target <= 1.2x), in two states:
//                 clean   after a clean close;
//                 killed  after a child process opened the writer, appended relaxed
//                         4 KiB records until the active segment was within one record
//                         of 64 MiB, and was SIGKILLed (it never closed); a new child
//                         for every open, the log put back in between (LogSnapshot).
//   open-full     the same opens with RecoveryOptions::full_scan = true (every segment
//                 read: what an open cost before the recovery point), as the contrast.
//   recover-full  wal::recover with full_scan and dry_run on the R GiB log vs pread of
//                 the same files in 1 MiB chunks + crc32c::value of each chunk, both
//                 cold (target >= 0.9x the baseline's MB/s).
// Benchmarks are not tests: nothing here asserts a timing. It checks that each open
// recovered every record (the next LSN) and that a recovery found no anomaly.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench_log.h"
#include "bench_util.h"
#include "cold_cache.h"
#include "json.h"
#include "kaya/core/crc32c.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"

namespace kaya::bench {
namespace {

const std::vector<std::string> kAllCases = {"open", "open-full", "recover-full"};
constexpr double kMiB = 1 << 20;

struct Options {
  CommonOptions common;
  double gib = 10;
  uint64_t small_mib = 64;
  double recover_gib = 1;
  size_t record_bytes = 4096;
  std::set<std::string> cases{kAllCases.begin(), kAllCases.end()};
  bool drop_caches = true;
  bool keep = false;
};

// A log the opens are measured on, and how to put it back to its clean state.
struct Subject {
  std::string label;  // "10 GiB"
  BenchLog log;
  std::unique_ptr<LogSnapshot> clean;
};

enum class State { kClean, kKilled };

struct OpenRun {
  double open_ms = 0;
  double close_ms = 0;
  double recovery_ms = 0;  // RecoveryReport::duration_us, within open_ms
  double read_mib = 0;     // from storage during the open
  double segments_read = 0;
};

std::unique_ptr<io::FileDisk> open_disk(const std::string& root) {
  auto disk = io::FileDisk::open(root, /*create=*/false);
  if (!disk.ok()) die(disk.error().to_string());
  return std::move(*disk);
}

// Puts the log in `state`, makes it cold, and times Writer::open, then close.
OpenRun measure_open(const Subject& s, State state, bool full_scan, bool drop_caches) {
  s.clean->restore();
  uint64_t next_lsn = s.log.records + 1;
  if (state == State::kKilled) {
    next_lsn = kill_writer_with_full_segment(s.log.root, s.log.record_bytes).last_lsn + 1;
  }
  evict_page_cache(s.log.root + "/wal", drop_caches);
  auto disk = open_disk(s.log.root);
  wal::OpenOptions options;
  options.recovery.full_scan = full_scan;
  OpenRun run;
  const IoCounters before = io_counters();
  const auto start = Clock::now();
  auto w = wal::Writer::open({}, *disk, options);
  run.open_ms = seconds_since(start) * 1e3;
  run.read_mib = static_cast<double>((io_counters() - before).read_bytes) / kMiB;
  if (!w.ok()) die(w.error().to_string());
  const wal::RecoveryReport& report = (*w)->recovery_report();
  if ((*w)->next_lsn().value() != next_lsn || report.full_scan != full_scan) {
    die(s.label + " log: the open recovered up to LSN " +
        std::to_string((*w)->next_lsn().value()) + ", expected " +
        std::to_string(next_lsn) + "\n" + report.to_string());
  }
  run.recovery_ms = static_cast<double>(report.duration_us) / 1e3;
  for (const wal::SegmentSummary& seg : report.segments) run.segments_read += seg.scanned;
  const auto close_start = Clock::now();
  if (Status st = (*w)->close(); !st.ok()) die(st.error().to_string());
  run.close_ms = seconds_since(close_start) * 1e3;
  return run;
}

// Both logs in `state`, in an order that alternates from run to run.
void open_case(const Subject& big, const Subject& small, State state, bool full_scan,
               const Options& o, int run, Report& report) {
  OpenRun b, s;
  if (run % 2 == 0) {
    b = measure_open(big, state, full_scan, o.drop_caches);
    s = measure_open(small, state, full_scan, o.drop_caches);
  } else {
    s = measure_open(small, state, full_scan, o.drop_caches);
    b = measure_open(big, state, full_scan, o.drop_caches);
  }
  const std::string name = std::string(full_scan ? "full-scan " : "open ") +
                           (state == State::kClean ? "clean " : "killed ") + big.label +
                           "/" + small.label;
  std::vector<Target> targets;
  if (!full_scan) targets.push_back({Goal::kRatioAtMost, 1.2});
  report.add({name, "ms", "open of the " + small.label + " log", targets},
             {b.open_ms,
              s.open_ms,
              {{"big_read_MiB", b.read_mib},
               {"small_read_MiB", s.read_mib},
               {"big_segments_read", b.segments_read},
               {"small_segments_read", s.segments_read},
               {"big_recovery_ms", b.recovery_ms},
               {"small_recovery_ms", s.recovery_ms},
               {"big_close_ms", b.close_ms},
               {"small_close_ms", s.close_ms}}});
}

// --- recover --full next to pread + crc32c ---

struct ReadRun {
  double seconds = 0;
  double read_mib = 0;
};

ReadRun kaya_full_recovery(const BenchLog& log, bool drop_caches) {
  evict_page_cache(log.root + "/wal", drop_caches);
  auto disk = open_disk(log.root);
  wal::RecoveryOptions options;
  options.full_scan = true;
  options.dry_run = true;
  ReadRun run;
  const IoCounters before = io_counters();
  const auto start = Clock::now();
  auto report = wal::recover({}, *disk, options);
  run.seconds = seconds_since(start);
  run.read_mib = static_cast<double>((io_counters() - before).read_bytes) / kMiB;
  if (!report.ok()) die(report.error().to_string());
  if (!report->anomalies.empty() || report->records != log.records ||
      !report->full_scan) {
    die("recover --full found\n" + report->to_string());
  }
  return run;
}

std::vector<std::string> segment_files(const BenchLog& log) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(log.root + "/wal")) {
    if (wal::format::parse_segment_file_name(e.path().filename().string())) {
      files.push_back(e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

volatile uint32_t crc_sink = 0;

// The floor of a full scan: every byte read once, sequentially, and checksummed.
ReadRun pread_crc32c(const BenchLog& log, bool drop_caches) {
  const std::vector<std::string> files = segment_files(log);
  evict_page_cache(log.root + "/wal", drop_caches);
  std::vector<uint8_t> buf(1 << 20);
  uint32_t sink = 0;
  ReadRun run;
  const IoCounters before = io_counters();
  const auto start = Clock::now();
  for (const std::string& path : files) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open " + path + ": " + std::strerror(errno));
    for (off_t offset = 0;;) {
      const ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) die("pread " + path + ": " + std::strerror(errno));
      if (n == 0) break;
      sink ^= crc32c::value(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
      offset += n;
    }
    ::close(fd);
  }
  run.seconds = seconds_since(start);
  run.read_mib = static_cast<double>((io_counters() - before).read_bytes) / kMiB;
  crc_sink = sink;  // the CRCs are used: not optimised away
  return run;
}

void recover_full_case(const BenchLog& log, const Options& o, int run, Report& report) {
  ReadRun kaya, base;
  if (run % 2 == 0) {
    base = pread_crc32c(log, o.drop_caches);
    kaya = kaya_full_recovery(log, o.drop_caches);
  } else {
    kaya = kaya_full_recovery(log, o.drop_caches);
    base = pread_crc32c(log, o.drop_caches);
  }
  const double mb = static_cast<double>(log.file_bytes) / 1e6;
  char name[64];
  std::snprintf(name, sizeof(name), "recover --full %.3g GiB, cold",
                static_cast<double>(log.file_bytes) / (1ull << 30));
  report.add({name, "MB/s", "pread 1 MiB + crc32c, cold", {{Goal::kRatioAtLeast, 0.9}}},
             {mb / kaya.seconds,
              mb / base.seconds,
              {{"kaya_s", kaya.seconds},
               {"baseline_s", base.seconds},
               {"kaya_read_MiB", kaya.read_mib},
               {"baseline_read_MiB", base.read_mib}}});
}

// --- main ---

Options parse(int argc, char** argv) {
  Options o;
  o.common.runs = 3;
  std::vector<Flag> flags = common_flags(o.common);
  flags.push_back(
      {"gib", "G", "sealed size of the large log in GiB (default 10)",
       [&o](const std::string& v) { o.gib = to_double("gib", v, 0.0625, 64); }});
  flags.push_back(
      {"small-mib", "M", "sealed size of the small log in MiB (default 64)",
       [&o](const std::string& v) { o.small_mib = to_u64("small-mib", v, 1, 1 << 16); }});
  flags.push_back({"recover-gib", "R", "size of the recover-full log in GiB (default 1)",
                   [&o](const std::string& v) {
                     o.recover_gib = to_double("recover-gib", v, 0.0625, 64);
                   }});
  flags.push_back({"cases", "LIST",
                   "comma-separated subset of open,open-full,recover-full (default: all)",
                   [&o](const std::string& v) {
                     o.cases.clear();
                     std::stringstream in(v);
                     for (std::string c; std::getline(in, c, ',');) {
                       if (std::find(kAllCases.begin(), kAllCases.end(), c) ==
                           kAllCases.end()) {
                         die("--cases: unknown case '" + c + "'");
                       }
                       o.cases.insert(c);
                     }
                   }});
  flags.push_back({"no-drop-caches", "",
                   "posix_fadvise only: do not write /proc/sys/vm/drop_caches",
                   [&o](const std::string&) { o.drop_caches = false; }});
  flags.push_back({"keep", "", "leave the logs in --dir for a later run to reuse",
                   [&o](const std::string&) { o.keep = true; }});
  parse_flags(argc, argv,
              "usage: open_bench [--dir DIR] [--gib G] [--small-mib M] [--recover-gib R] "
              "[--runs N] [--cases LIST] [--no-drop-caches] [--keep] [--json]\n\n"
              "Writer::open of a large log vs a small one, and recover --full vs pread + "
              "crc32c, cold cache; see the comment atop open_bench.cc.",
              flags);
  if (o.keep && o.common.dir.empty()) die("--keep needs --dir");
  return o;
}

std::string size_label(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1ull << 30)) {
    std::snprintf(buf, sizeof(buf), "%.3g GiB",
                  static_cast<double>(bytes) / (1ull << 30));
  } else {
    std::snprintf(buf, sizeof(buf), "%.3g MiB", static_cast<double>(bytes) / kMiB);
  }
  return buf;
}

Subject make_subject(const std::string& root, uint64_t sealed_bytes, const Options& o) {
  Subject s;
  s.label = size_label(sealed_bytes);
  s.log = build_log(root, sealed_bytes, o.record_bytes);
  s.clean = std::make_unique<LogSnapshot>(root, root + ".clean");
  return s;
}

void describe(const BenchLog& log, const std::string& what) {
  std::printf("%s: %llu records of %zu B, %llu segments, %.2f GiB, %s\n", what.c_str(),
              static_cast<unsigned long long>(log.records), log.record_bytes,
              static_cast<unsigned long long>(log.segments),
              static_cast<double>(log.file_bytes) / (1ull << 30),
              log.reused ? "reused from an earlier run"
                         : ("written in " + std::to_string(log.write_s) + " s").c_str());
}

// The first three fields of /proc/loadavg: on a shared machine, whether others were
// busy during the measurements.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

void remove_log(const std::string& root) {
  std::filesystem::remove_all(root);
  std::filesystem::remove_all(root + ".clean");
}

}  // namespace
}  // namespace kaya::bench

int main(int argc, char** argv) {
  using namespace kaya::bench;
  const Options o = parse(argc, argv);
  const ScratchDir dir(o.common.dir, "kaya-open-bench");
  const bool opens = o.cases.count("open") || o.cases.count("open-full");
  std::string command;
  for (int i = 0; i < argc; ++i) command += std::string(i ? " " : "") + argv[i];
  if (!o.common.json) {
    std::printf(
        "open_bench: %d run%s, dir %s\nreproduce: %s\ncold cache: %s\nload average "
        "at start: %s\n",
        o.common.runs, o.common.runs == 1 ? "" : "s", dir.describe().c_str(),
        command.c_str(), describe_eviction(o.drop_caches).c_str(),
        load_average().c_str());
    std::fflush(stdout);
  }
  const std::string big_root = dir.path() + "/open-big";
  const std::string small_root = dir.path() + "/open-small";
  const std::string full_root = dir.path() + "/recover-full";
  Subject big, small;
  if (opens) {
    big = make_subject(big_root, static_cast<uint64_t>(o.gib * (1ull << 30)), o);
    small = make_subject(small_root, o.small_mib << 20, o);
  }
  BenchLog full;
  if (o.cases.count("recover-full")) {
    full = build_log(full_root, static_cast<uint64_t>(o.recover_gib * (1ull << 30)),
                     o.record_bytes);
  }
  if (!o.common.json) {
    if (opens) describe(big.log, "large log");
    if (opens) describe(small.log, "small log");
    if (!full.root.empty()) describe(full, "recover-full log");
    std::printf("\n");
    std::fflush(stdout);
  }
  const std::string load_start = load_average();
  const Report report = run_suite(o.common.runs, o.common.json, [&](int run, Report& r) {
    for (bool full_scan : {false, true}) {
      if (!o.cases.count(full_scan ? "open-full" : "open")) continue;
      open_case(big, small, State::kClean, full_scan, o, run, r);
      open_case(big, small, State::kKilled, full_scan, o, run, r);
    }
    if (!full.root.empty()) recover_full_case(full, o, run, r);
  });
  const std::string load_end = load_average();
  if (!o.common.json) std::printf("load average at the end: %s\n", load_end.c_str());
  if (opens) {
    big.clean->restore();
    small.clean->restore();
  }
  if (!o.keep) {
    for (const std::string& root : {big_root, small_root, full_root}) remove_log(root);
  }
  if (o.common.json) {
    const std::string settings = kaya::tool::JsonObject()
                                     .real("gib", o.gib)
                                     .num("small_mib", o.small_mib)
                                     .real("recover_gib", o.recover_gib)
                                     .num("record_bytes", o.record_bytes)
                                     .str("cold_cache", describe_eviction(o.drop_caches))
                                     .str("command", command)
                                     .str("load_average_start", load_start)
                                     .str("load_average_end", load_end)
                                     .str("dir", dir.path())
                                     .build();
    std::printf("%s\n", report.to_json("open_bench", settings).c_str());
  }
  return 0;
}
