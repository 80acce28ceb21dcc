// Replay (recovery) throughput of kaya next to a plain sequential read of the same
// files, measured in the same run, and the peak memory of a recovery.
//
//   replay_bench [--dir DIR] [--gib G] [--record-bytes B] [--json]
//
// Writes a log of G GiB (default 1) of B-byte Put records (default 4096) with the
// Writer on FileDisk (relaxed appends, default config: 64 MiB segments, then sync),
// and a second log a quarter of that size. Caches are not dropped: this is a
// warm-cache measurement (the files were just written), so it compares the CPU cost of
// recovery (read, decode, CRC, bookkeeping) with the cheapest read + CRC there is.
//
// Cases, each run 3 times (interleaved), median reported:
//   baseline  pread of every segment file with a 1 MiB buffer + crc32c over the bytes
//   kaya      recover() with dry_run = true and a visitor that counts records and
//             sums value sizes
// Peak memory: writing "5" to /proc/self/clear_refs resets the process's VmHWM before
// each recovery (after malloc_trim, so that freed heap does not hide allocations);
// VmHWM read after it is the peak RSS during that recovery. The same is
// done for the quarter-size log, to show that memory does not grow with the log.
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "kaya/core/crc32c.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kRuns = 3;
constexpr size_t kKeyBytes = 8;
// 40-byte header + key_len and value_len fields + the key.
constexpr size_t kRecordOverhead = kaya::wal::format::kHeaderLen + 8 + kKeyBytes;

struct Options {
  std::string dir;
  double gib = 1.0;
  size_t record_bytes = 4096;
  bool json = false;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(1);
}

double elapsed_s(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Log {
  std::string root;
  uint64_t records = 0;
  uint64_t value_bytes = 0;  // sum of the value sizes
  uint64_t file_bytes = 0;
  std::vector<std::string> segment_files;  // full paths, in id order
  double write_s = 0;
};

// Writes `bytes` worth of records under `root` (replacing what is there).
Log write_log(const std::string& root, uint64_t bytes, size_t record_bytes) {
  std::filesystem::remove_all(root);
  auto disk = kaya::io::FileDisk::open(root);
  if (!disk.ok()) die(disk.error().to_string());
  auto opened = kaya::wal::Writer::open({}, **disk);
  if (!opened.ok()) die(opened.error().to_string());
  kaya::wal::Writer& w = **opened;

  Log log;
  log.root = root;
  std::string value(record_bytes - kRecordOverhead, '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i * 131 + 7);
  const uint64_t n = bytes / record_bytes;
  char key[kKeyBytes];
  const auto start = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < kKeyBytes; ++k) {  // the record's number in hex
      key[k] = "0123456789abcdef"[(i >> (4 * k)) & 15];
    }
    auto r = w.append(kaya::wal::Payload::put(std::string_view(key, kKeyBytes), value),
                      kaya::DurabilityMode::kRelaxed);
    if (!r.ok()) die(r.error().to_string());
    if (r->encoded_len != record_bytes) die("unexpected record size");
  }
  if (auto s = w.sync(); !s.ok()) die(s.error().to_string());
  log.write_s = elapsed_s(start);
  if (auto s = w.close(); !s.ok()) die(s.error().to_string());
  opened->reset();
  disk->reset();

  log.records = n;
  log.value_bytes = n * value.size();
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(root + "/wal")) {
    if (kaya::wal::format::parse_segment_file_name(e.path().filename().string())) {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    log.segment_files.push_back(f.string());
    log.file_bytes += std::filesystem::file_size(f);
  }
  return log;
}

// Resets the process's peak RSS (VmHWM) to its current RSS. False when the kernel
// does not allow it.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

// A "VmXXX:  1234 kB" field of /proc/self/status, in KiB (0 when absent).
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

struct Run {
  double seconds = 0;
  uint64_t records = 0;
  uint64_t value_bytes = 0;
  uint32_t crc = 0;
  uint64_t rss_before_kib = 0;
  uint64_t peak_rss_kib = 0;
};

// The floor: read every byte once, sequentially, and checksum it.
Run baseline_run(const Log& log) {
  std::vector<uint8_t> buf(1 << 20);
  Run run;
  const auto start = Clock::now();
  for (const std::string& path : log.segment_files) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open " + path + ": " + std::strerror(errno));
    uint32_t crc = 0;
    for (off_t offset = 0;;) {
      ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) die("pread " + path + ": " + std::strerror(errno));
      if (n == 0) break;
      crc = kaya::crc32c::extend(crc, std::span<const uint8_t>(buf.data(), n));
      offset += n;
    }
    ::close(fd);
    run.crc ^= crc;
  }
  run.seconds = elapsed_s(start);
  run.records = log.records;  // the records the bytes hold
  return run;
}

Run kaya_run(const Log& log, bool* peak_ok) {
  auto disk = kaya::io::FileDisk::open(log.root, /*create=*/false);
  if (!disk.ok()) die(disk.error().to_string());
  kaya::wal::RecoveryOptions options;
  options.dry_run = true;
  Run run;
  // Hand freed heap back to the OS first, so that what recovery allocates shows up as
  // growth instead of reusing pages that stayed resident.
  ::malloc_trim(0);
  *peak_ok = reset_peak_rss();
  run.rss_before_kib = status_kib("VmRSS");
  const auto start = Clock::now();
  auto report = kaya::wal::recover(
      {}, **disk, options, [&](uint64_t, uint64_t, const kaya::wal::RecordView& r) {
        run.records++;
        run.value_bytes += r.value.size();
        return kaya::ok_status();
      });
  run.seconds = elapsed_s(start);
  run.peak_rss_kib = status_kib("VmHWM");
  if (!report.ok()) die(report.error().to_string());
  if (!report->anomalies.empty()) die("recovery found " + report->to_string());
  if (run.records != log.records || run.value_bytes != log.value_bytes ||
      report->records != log.records) {
    die("recovery returned " + std::to_string(run.records) + " records, " +
        std::to_string(log.records) + " were written");
  }
  return run;
}

Run median(std::vector<Run> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const Run& a, const Run& b) { return a.seconds < b.seconds; });
  return runs[runs.size() / 2];
}

uint64_t max_peak(const std::vector<Run>& runs) {
  uint64_t peak = 0;
  for (const Run& r : runs) peak = std::max(peak, r.peak_rss_kib);
  return peak;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--dir") {
      o.dir = value();
    } else if (a == "--gib") {
      o.gib = std::atof(value().c_str());
    } else if (a == "--record-bytes") {
      o.record_bytes = static_cast<size_t>(std::atoll(value().c_str()));
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: replay_bench [--dir DIR] [--gib G] [--record-bytes B] [--json]\n");
      std::exit(0);
    } else {
      die("unknown argument " + a + " (see --help)");
    }
  }
  if (o.gib <= 0) die("--gib must be positive");
  if (o.record_bytes < kRecordOverhead ||
      o.record_bytes > kaya::WalConfig::kDefaultMaxRecordBytes) {
    die("--record-bytes must be between " + std::to_string(kRecordOverhead) + " and " +
        std::to_string(kaya::WalConfig::kDefaultMaxRecordBytes));
  }
  return o;
}

double mb_per_s(uint64_t bytes, double seconds) { return bytes / seconds / 1e6; }
double per_s(uint64_t n, double seconds) { return n / seconds; }
double mib(uint64_t kib) { return kib / 1024.0; }

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::string dir = o.dir;
  const bool own_dir = dir.empty();
  if (own_dir) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kaya-replay-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) die("mkdtemp failed");
    dir = tmpl;
  }
  std::filesystem::create_directories(dir);

  const auto full_bytes = static_cast<uint64_t>(o.gib * (1ull << 30));
  const Log full = write_log(dir + "/replay-full", full_bytes, o.record_bytes);
  const Log quarter = write_log(dir + "/replay-quarter", full_bytes / 4, o.record_bytes);
  if (full.records == 0 || quarter.records == 0) die("--gib is too small for one record");

  std::vector<Run> base_runs, kaya_runs, quarter_runs;
  bool peak_ok = true;
  for (int i = 0; i < kRuns; ++i) {
    base_runs.push_back(baseline_run(full));
    bool ok = false;
    kaya_runs.push_back(kaya_run(full, &ok));
    peak_ok = peak_ok && ok;
  }
  for (int i = 0; i < kRuns; ++i) {
    bool ok = false;
    quarter_runs.push_back(kaya_run(quarter, &ok));
    peak_ok = peak_ok && ok;
  }
  if (own_dir) std::filesystem::remove_all(dir);

  const Run base = median(base_runs);
  const Run kaya = median(kaya_runs);
  const Run kaya_quarter = median(quarter_runs);
  const double ratio = base.seconds / kaya.seconds;  // kaya throughput / baseline's
  const uint64_t peak_full = peak_ok ? max_peak(kaya_runs) : 0;
  const uint64_t peak_quarter = peak_ok ? max_peak(quarter_runs) : 0;

  if (o.json) {
    std::printf(
        "{\"gib\":%.3f,\"record_bytes\":%zu,\"records\":%llu,\"file_bytes\":%llu,"
        "\"segments\":%zu,\"warm_cache\":true,\"runs\":%d,"
        "\"baseline\":{\"seconds\":%.4f,\"mb_per_s\":%.1f,\"records_per_s\":%.0f},"
        "\"kaya\":{\"seconds\":%.4f,\"mb_per_s\":%.1f,\"records_per_s\":%.0f},"
        "\"ratio\":%.3f,\"peak_rss_kib\":{\"full\":%llu,\"quarter\":%llu},"
        "\"rss_before_kib\":{\"full\":%llu,\"quarter\":%llu},"
        "\"quarter_records\":%llu,\"quarter_seconds\":%.4f}\n",
        o.gib, o.record_bytes, static_cast<unsigned long long>(full.records),
        static_cast<unsigned long long>(full.file_bytes), full.segment_files.size(),
        kRuns, base.seconds, mb_per_s(full.file_bytes, base.seconds),
        per_s(full.records, base.seconds), kaya.seconds,
        mb_per_s(full.file_bytes, kaya.seconds), per_s(full.records, kaya.seconds), ratio,
        static_cast<unsigned long long>(peak_full),
        static_cast<unsigned long long>(peak_quarter),
        static_cast<unsigned long long>(kaya.rss_before_kib),
        static_cast<unsigned long long>(kaya_quarter.rss_before_kib),
        static_cast<unsigned long long>(quarter.records), kaya_quarter.seconds);
    return 0;
  }

  std::printf(
      "log: %.2f GiB, %llu records of %zu B in %zu segments (64 MiB max), dir %s\n"
      "written with relaxed appends + sync in %.2f s (quarter-size log: %llu records)\n"
      "WARM CACHE: the files were just written and no cache is dropped; the figures\n"
      "compare CPU cost (decode, CRC, bookkeeping), not storage speed\n\n",
      full.file_bytes / double(1ull << 30), static_cast<unsigned long long>(full.records),
      o.record_bytes, full.segment_files.size(), own_dir ? "(temporary)" : dir.c_str(),
      full.write_s, static_cast<unsigned long long>(quarter.records));
  std::printf("median of %d runs          %10s %14s %10s\n", kRuns, "MB/s", "records/s",
              "seconds");
  std::printf("baseline pread 1 MiB + crc32c %10.0f %14.0f %10.3f\n",
              mb_per_s(full.file_bytes, base.seconds), per_s(full.records, base.seconds),
              base.seconds);
  std::printf("kaya recover (dry run)        %10.0f %14.0f %10.3f\n",
              mb_per_s(full.file_bytes, kaya.seconds), per_s(full.records, kaya.seconds),
              kaya.seconds);
  std::printf("ratio kaya/baseline           %9.2fx\n\n", ratio);
  if (!peak_ok) {
    std::printf("peak RSS: n/a (/proc/self/clear_refs cannot be written here)\n");
    return 0;
  }
  std::printf("peak RSS during recovery (VmHWM after clear_refs, max of %d runs):\n",
              kRuns);
  std::printf("  full log    (%7.2f GiB): %8.1f MiB (RSS before %.1f MiB, +%.1f MiB)\n",
              full.file_bytes / double(1ull << 30), mib(peak_full),
              mib(kaya.rss_before_kib), mib(peak_full) - mib(kaya.rss_before_kib));
  std::printf("  quarter log (%7.2f GiB): %8.1f MiB (RSS before %.1f MiB, +%.1f MiB)\n",
              quarter.file_bytes / double(1ull << 30), mib(peak_quarter),
              mib(kaya_quarter.rss_before_kib),
              mib(peak_quarter) - mib(kaya_quarter.rss_before_kib));
  return 0;
}
