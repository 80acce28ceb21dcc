// Replay (recovery) throughput of kaya next to a plain sequential read + CRC32C of the
// same files, measured in the same run, and the peak memory of a recovery.
//
//   replay_bench [--dir DIR] [--gib G] [--record-bytes B] [--runs N] [--json]
//
// Writes a log of G GiB (default 1) of B-byte Put records (default 4096) with the
// Writer on FileDisk (relaxed appends, default config: 64 MiB segments, then sync),
// and a second log a quarter of that size. Caches are not dropped: this is a
// warm-cache measurement (the files were just written), so it compares the CPU cost of
// recovery (read, decode, CRC, bookkeeping) with the cheapest read + CRC there is.
//
// The baselines' CRC32C is the fastest this machine has, chosen at start-up by timing
// kaya's and ISA-L's crc32_iscsi (when built in: libisal-dev) on 1 MiB buffers, after
// checking that they agree (fastest_crc.h).
//
// Each run measures, interleaved (--runs times, default 3; medians reported):
//   baselines  every segment file read once, sequentially, by pread into a 1 MiB
//              buffer or through a map (mmap with MAP_POPULATE, read in place), each
//              with and without the CRC32C over the bytes
//   kaya       recover() with dry_run = true and a visitor that counts records and
//              sums value sizes, on the full log (reads by pread, FileDisk; and with
//              its reads served from maps, MappedReadDisk) and on the quarter-size one
// Cases: replay MB/s vs the faster of pread + CRC32C and map + CRC32C (target >= 1x
// and >= 2 GB/s), and the same per second of the thread's CPU time (steadier when the
// machine is busy); the map against pread, for the baseline, the read alone and kaya
// (no target: where the time goes); records/s of LogReader::next_view() against
// LogReader::next() (no target: what the copy per record costs); the peak RSS of
// recovering the full log vs the quarter-size one (target <= 1.1x). Peak memory: writing
// "5" to /proc/self/clear_refs resets the process's VmHWM before each recovery (after
// malloc_trim, so that freed heap does not hide allocations); VmHWM read after it is the
// peak RSS during that recovery. The same is done for the quarter-size log, to show that
// memory does not grow with the log.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench_util.h"
#include "fastest_crc.h"
#include "json.h"
#include "kaya/core/crc32c.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "mapped_read_disk.h"

namespace kaya::bench {
namespace {

constexpr size_t kKeyBytes = 8;
// 40-byte header + key_len and value_len fields + the key.
constexpr size_t kRecordOverhead = wal::format::kHeaderLen + 8 + kKeyBytes;

struct Options {
  CommonOptions common;
  double gib = 1.0;
  size_t record_bytes = 4096;
};

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
  auto disk = io::FileDisk::open(root);
  if (!disk.ok()) die(disk.error().to_string());
  auto opened = wal::Writer::open({}, **disk);
  if (!opened.ok()) die(opened.error().to_string());
  wal::Writer& w = **opened;

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
    auto r = w.append(wal::Payload::put(std::string_view(key, kKeyBytes), value),
                      wal::DurabilityMode::kRelaxed);
    if (!r.ok()) die(r.error().to_string());
    if (r->encoded_len != record_bytes) die("unexpected record size");
  }
  if (auto s = w.sync(); !s.ok()) die(s.error().to_string());
  log.write_s = seconds_since(start);
  if (auto s = w.close(); !s.ok()) die(s.error().to_string());
  opened->reset();
  disk->reset();

  log.records = n;
  log.value_bytes = n * value.size();
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(root + "/wal")) {
    if (wal::format::parse_segment_file_name(e.path().filename().string())) {
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

// CPU time of the calling thread, in seconds: what a run cost, whatever else the
// machine ran meanwhile (the wall-clock figures swing with other load on a shared VM).
double thread_cpu_seconds() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Run {
  double seconds = 0;
  double cpu_seconds = 0;  // of this thread (every run here is one thread's work)
  uint64_t records = 0;
  uint64_t value_bytes = 0;
  uint32_t crc = 0;
  uint64_t rss_before_kib = 0;
  uint64_t peak_rss_kib = 0;
};

// How a baseline gets the bytes of a segment file.
enum class ReadBy {
  kPread,  // pread() into one 1 MiB buffer: a copy out of the page cache
  kMap,    // mmap() of the whole file (MAP_POPULATE), read in place: no copy
};

// Calls `chunk` with the bytes of `path`, in order, 1 MiB at a time.
void read_file(const std::string& path, ReadBy by, std::vector<uint8_t>& buf,
               const std::function<void(std::span<const uint8_t>)>& chunk) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open " + path + ": " + std::strerror(errno));
  if (by == ReadBy::kMap) {
    struct stat st;
    if (::fstat(fd, &st) != 0) die("fstat " + path + ": " + std::strerror(errno));
    const auto len = static_cast<size_t>(st.st_size);
    // MAP_POPULATE maps every page in one call: the fastest way through a map found
    // here (faulting the pages in one by one, with or without MADV_SEQUENTIAL, was
    // slower).
    void* base = len == 0
                     ? nullptr
                     : ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (base == MAP_FAILED) die("mmap " + path + ": " + std::strerror(errno));
    ::close(fd);
    const auto* p = static_cast<const uint8_t*>(base);
    for (size_t at = 0; at < len; at += buf.size()) {
      chunk(std::span<const uint8_t>(p + at, std::min(buf.size(), len - at)));
    }
    if (base != nullptr) ::munmap(base, len);
    return;
  }
  for (off_t offset = 0;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("pread " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    chunk(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    offset += n;
  }
  ::close(fd);
}

// The floor: read every byte once, sequentially, and checksum it with `crc` (none:
// reading alone, to show what the read costs).
Run baseline_run(const Log& log, ReadBy by, const Crc32cFn* crc) {
  std::vector<uint8_t> buf(1 << 20);
  Run run;
  uint64_t touched = 0;
  const double cpu_start = thread_cpu_seconds();
  const auto start = Clock::now();
  for (const std::string& path : log.segment_files) {
    uint32_t file_crc = 0;
    read_file(path, by, buf, [&](std::span<const uint8_t> bytes) {
      if (crc != nullptr) {
        file_crc = crc->extend(file_crc, bytes);
      } else {
        // A map must be read to cost anything: touch one byte per page.
        for (size_t i = 0; i < bytes.size(); i += 4096) touched += bytes[i];
      }
    });
    run.crc ^= file_crc;
  }
  run.seconds = seconds_since(start);
  run.cpu_seconds = thread_cpu_seconds() - cpu_start;
  run.crc ^= static_cast<uint32_t>(touched);
  run.records = log.records;  // the records the bytes hold
  return run;
}

// recover() of the log; `by` kMap serves its reads from maps (MappedReadDisk).
Run kaya_run(const Log& log, ReadBy by, bool* peak_ok) {
  auto file_disk = io::FileDisk::open(log.root, /*create=*/false);
  if (!file_disk.ok()) die(file_disk.error().to_string());
  std::optional<MappedReadDisk> mapped;
  io::Disk* disk = file_disk->get();
  if (by == ReadBy::kMap) disk = &mapped.emplace(*disk, log.root);
  wal::RecoveryOptions options;
  options.dry_run = true;
  Run run;
  *peak_ok = reset_peak_rss();
  run.rss_before_kib = rss_kib();
  const double cpu_start = thread_cpu_seconds();
  const auto start = Clock::now();
  auto report =
      wal::recover({}, *disk, options, [&](uint64_t, uint64_t, const wal::RecordView& r) {
        run.records++;
        run.value_bytes += r.value.size();
        return ok_status();
      });
  run.seconds = seconds_since(start);
  run.cpu_seconds = thread_cpu_seconds() - cpu_start;
  run.peak_rss_kib = peak_rss_kib();
  if (!report.ok()) die(report.error().to_string());
  if (!report->anomalies.empty()) die("recovery found " + report->to_string());
  if (run.records != log.records || run.value_bytes != log.value_bytes ||
      report->records != log.records) {
    die("recovery returned " + std::to_string(run.records) + " records, " +
        std::to_string(log.records) + " were written");
  }
  return run;
}

// The full log read by a LogReader from LSN 1 to its end, through next_view() or
// next().
Run reader_run(const Log& log, bool views) {
  auto disk = io::FileDisk::open(log.root, /*create=*/false);
  if (!disk.ok()) die(disk.error().to_string());
  auto reader = wal::LogReader::open({}, **disk, Lsn(1));
  if (!reader.ok()) die(reader.error().to_string());
  Run run;
  const double cpu_start = thread_cpu_seconds();
  const auto start = Clock::now();
  for (;;) {
    if (views) {
      auto r = (*reader)->next_view();
      if (!r.ok()) die(r.error().to_string());
      if (!*r) break;
      run.value_bytes += (*r)->value.size();
    } else {
      auto r = (*reader)->next();
      if (!r.ok()) die(r.error().to_string());
      if (!*r) break;
      run.value_bytes += (*r)->value.size();
    }
    run.records++;
  }
  run.seconds = seconds_since(start);
  run.cpu_seconds = thread_cpu_seconds() - cpu_start;
  if (run.records != log.records || run.value_bytes != log.value_bytes) {
    die("the reader returned " + std::to_string(run.records) + " records, " +
        std::to_string(log.records) + " were written");
  }
  return run;
}

Options parse(int argc, char** argv) {
  Options o;
  o.common.runs = 3;
  std::vector<Flag> flags = common_flags(o.common);
  flags.push_back(
      {"gib", "G", "size of the log in GiB (default 1)",
       [&o](const std::string& v) { o.gib = to_double("gib", v, 1e-3, 64); }});
  flags.push_back({"record-bytes", "B", "encoded size of each record (default 4096)",
                   [&o](const std::string& v) {
                     o.record_bytes = to_u64("record-bytes", v, kRecordOverhead,
                                             wal::WalConfig::kDefaultMaxRecordBytes);
                   }});
  parse_flags(argc, argv,
              "usage: replay_bench [--dir DIR] [--gib G] [--record-bytes B] [--runs N] "
              "[--json]\n\nRecovery of a G GiB log next to the fastest read + CRC32C of "
              "the same files (pread or mmap, kaya's CRC32C or ISA-L's; warm cache); see "
              "the comment atop replay_bench.cc.",
              flags);
  return o;
}

double mb_per_s(uint64_t bytes, double seconds) { return bytes / seconds / 1e6; }
double per_s(uint64_t n, double seconds) { return n / seconds; }

// One interleaved run: the baselines, kaya on the full log, kaya on the quarter log.
void one_run(const Log& full, const Log& quarter, const Crc32cFn& crc, Report& report) {
  const Run pread_crc = baseline_run(full, ReadBy::kPread, &crc);
  const Run map_crc = baseline_run(full, ReadBy::kMap, &crc);
  const Run pread_only = baseline_run(full, ReadBy::kPread, nullptr);
  const Run map_only = baseline_run(full, ReadBy::kMap, nullptr);
  bool peak_ok = false;
  const Run replay_map = kaya_run(full, ReadBy::kMap, &peak_ok);
  const Run replay = kaya_run(full, ReadBy::kPread, &peak_ok);
  const Run small = kaya_run(quarter, ReadBy::kPread, &peak_ok);
  const Run by_next = reader_run(full, /*views=*/false);
  const Run by_view = reader_run(full, /*views=*/true);
  const Run& fastest = map_crc.seconds < pread_crc.seconds ? map_crc : pread_crc;
  const std::string size = std::to_string(full.file_bytes >> 20) + " MiB";
  report.add({"replay " + size + ", warm cache",
              "MB/s",
              "fastest read + " + crc.name,
              {{Goal::kRatioAtLeast, 1.0}, {Goal::kKayaAtLeast, 2000}}},
             {mb_per_s(full.file_bytes, replay.seconds),
              mb_per_s(full.file_bytes, fastest.seconds),
              {{"kaya_rec_per_s", per_s(full.records, replay.seconds)},
               {"baseline_rec_per_s", per_s(full.records, fastest.seconds)},
               {"kaya_seconds", replay.seconds},
               {"baseline_is_map", &fastest == &map_crc ? 1.0 : 0.0}}});
  // The same per second of CPU time: steadier than the wall clock on a busy machine.
  const Run& fastest_cpu =
      map_crc.cpu_seconds < pread_crc.cpu_seconds ? map_crc : pread_crc;
  report.add({"replay " + size + ", CPU time",
              "MB/cpu-s",
              "fastest read + " + crc.name,
              {{Goal::kRatioAtLeast, 1.0}}},
             {mb_per_s(full.file_bytes, replay.cpu_seconds),
              mb_per_s(full.file_bytes, fastest_cpu.cpu_seconds),
              {}});
  // Where the baseline's time goes: the read alone, through a map and through pread.
  report.add({"read " + size + " by mmap + CRC", "MB/s", "pread 1 MiB + CRC", {}},
             {mb_per_s(full.file_bytes, map_crc.seconds),
              mb_per_s(full.file_bytes, pread_crc.seconds),
              {}});
  report.add({"read " + size + " by mmap", "MB/s", "pread 1 MiB", {}},
             {mb_per_s(full.file_bytes, map_only.seconds),
              mb_per_s(full.file_bytes, pread_only.seconds),
              {}});
  report.add({"replay " + size + " by mmap", "MB/s", "replay by pread", {}},
             {mb_per_s(full.file_bytes, replay_map.seconds),
              mb_per_s(full.file_bytes, replay.seconds),
              {}});
  report.add({"LogReader " + size + " views",
              "rec/s",
              "LogReader::next()",
              {},
              static_cast<double>(full.file_bytes) / static_cast<double>(full.records)},
             {per_s(full.records, by_view.seconds),
              per_s(full.records, by_next.seconds),
              {{"view_rec_per_cpu_s", per_s(full.records, by_view.cpu_seconds)},
               {"next_rec_per_cpu_s", per_s(full.records, by_next.cpu_seconds)}}});
  if (!peak_ok) return;  // /proc/self/clear_refs cannot be written here
  report.add({"replay memory: full log",
              "MiB",
              "peak RSS, quarter-size log",
              {{Goal::kRatioAtMost, 1.1}}},
             {kib_to_mib(replay.peak_rss_kib),
              kib_to_mib(small.peak_rss_kib),
              {{"rss_before_mib", kib_to_mib(replay.rss_before_kib)}}});
}

}  // namespace
}  // namespace kaya::bench

int main(int argc, char** argv) {
  using namespace kaya::bench;
  const Options o = parse(argc, argv);
  const ScratchDir dir(o.common.dir, "kaya-replay");
  const auto full_bytes = static_cast<uint64_t>(o.gib * (1ull << 30));
  const Log full = write_log(dir.path() + "/replay-full", full_bytes, o.record_bytes);
  const Log quarter =
      write_log(dir.path() + "/replay-quarter", full_bytes / 4, o.record_bytes);
  if (full.records == 0 || quarter.records == 0) die("--gib is too small for one record");
  if (!o.common.json) {
    std::printf(
        "replay_bench: log of %.2f GiB, %llu records of %zu B in %zu segments (64 MiB "
        "max), dir %s\nwritten with relaxed appends + sync in %.2f s (quarter-size log: "
        "%llu records)\nWARM CACHE: the files were just written and no cache is "
        "dropped; the figures\ncompare CPU cost (decode, CRC, bookkeeping), not storage "
        "speed\n\n",
        full.file_bytes / double(1ull << 30),
        static_cast<unsigned long long>(full.records), o.record_bytes,
        full.segment_files.size(), dir.describe().c_str(), full.write_s,
        static_cast<unsigned long long>(quarter.records));
    std::fflush(stdout);
  }
  // The fastest CRC32C this machine has, for the baselines (timed on their buffers).
  const Crc32cFn crc = fastest_crc32c(1 << 20);
  if (const std::string why = isal_disagreement(); !why.empty()) {
    std::fprintf(stderr, "replay_bench: error: %s; the baselines use kaya's CRC32C\n",
                 why.c_str());
  }
  if (!o.common.json) {
    std::printf("baseline CRC32C: %s, %.1f GB/s on 1 MiB buffers%s\n\n", crc.name.c_str(),
                crc.gb_per_s,
                isal_built_in() ? "" : " (ISA-L unavailable: no libisal-dev)");
    std::fflush(stdout);
  }
  const Report report = run_suite(o.common.runs, o.common.json, [&](int, Report& r) {
    one_run(full, quarter, crc, r);
  });
  if (o.common.json) {
    const std::string settings = kaya::tool::JsonObject()
                                     .real("gib", o.gib)
                                     .num("record_bytes", o.record_bytes)
                                     .num("records", full.records)
                                     .num("file_bytes", full.file_bytes)
                                     .num("segments", full.segment_files.size())
                                     .boolean("warm_cache", true)
                                     .str("baseline_crc32c", crc.name)
                                     .real("baseline_crc32c_gb_per_s", crc.gb_per_s)
                                     .str("dir", dir.path())
                                     .build();
    std::printf("%s\n", report.to_json("replay_bench", settings).c_str());
  }
  return 0;
}
