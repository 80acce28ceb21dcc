// Append throughput of kaya next to raw baselines measured in the same run.
//
//   wal_bench [--dir DIR] [--seconds S] [--size BYTES] [--json]
//
// Cases: strict and relaxed appends with 1 and 64 threads. Baselines, on the same
// directory's file system: a one-thread pwrite + fdatasync loop (what a strict append
// must at least pay), and a one-thread pwrite loop without sync (the OS write path a
// relaxed append goes through). Each case runs for --seconds; figures are records/s.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string dir;
  double seconds = 2.0;
  size_t size = 128;
  bool json = false;
};

struct Figure {
  double records_per_s = 0;
  uint64_t records = 0;
  uint64_t fsyncs = 0;
  std::string latency;  // commit latency summary (kaya cases)
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(1);
}

double elapsed_s(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One thread: pwrite `size` bytes at the end of a fresh file, optionally fdatasync.
Figure raw_loop(const std::string& dir, size_t size, bool sync, double seconds) {
  std::string path = dir + "/raw-baseline";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + path + ": " + std::strerror(errno));
  std::vector<char> buf(size, 'x');
  Figure f;
  uint64_t offset = 0;
  auto start = Clock::now();
  while (elapsed_s(start) < seconds) {
    for (int i = 0; i < 64; ++i) {
      if (::pwrite(fd, buf.data(), size, static_cast<off_t>(offset)) !=
          static_cast<ssize_t>(size)) {
        die("pwrite " + path + ": " + std::strerror(errno));
      }
      offset += size;
      if (sync) {
        if (::fdatasync(fd) != 0) die("fdatasync " + path + ": " + std::strerror(errno));
        f.fsyncs++;
      }
      f.records++;
      if (sync) break;
    }
  }
  f.records_per_s = static_cast<double>(f.records) / elapsed_s(start);
  ::close(fd);
  std::filesystem::remove(path);
  return f;
}

Figure kaya_case(const std::string& dir, size_t size, int threads,
                 kaya::DurabilityMode mode, double seconds) {
  std::string root =
      dir + "/kaya-" + std::to_string(threads) + "-" + std::string(kaya::to_string(mode));
  std::filesystem::remove_all(root);
  auto disk = kaya::io::FileDisk::open(root);
  if (!disk.ok()) die(disk.error().to_string());
  auto opened = kaya::wal::Writer::open({}, **disk);
  if (!opened.ok()) die(opened.error().to_string());
  auto& w = **opened;
  const std::string value(size > 48 ? size - 48 : 0, 'v');  // 40 header + 8 put fields
  std::atomic<uint64_t> records{0};
  std::atomic<bool> stop{false};
  std::vector<kaya::Histogram> latency(threads);
  std::vector<std::thread> pool;
  auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto begin = Clock::now();
        auto r = w.append(kaya::wal::Payload::put("", value), mode);
        if (!r.ok()) die(r.error().to_string());
        latency[t].record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - begin)
                .count()));
        records.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  Figure f;
  f.records = records.load();
  f.records_per_s = static_cast<double>(f.records) / elapsed_s(start);
  f.fsyncs = w.stats().fsyncs;
  kaya::Histogram all;
  for (auto& h : latency) all.merge(h);
  f.latency = all.summary();
  if (auto s = w.close(); !s.ok()) die(s.error().to_string());
  opened->reset();
  disk->reset();
  std::filesystem::remove_all(root);
  return f;
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
    } else if (a == "--seconds") {
      o.seconds = std::atof(value().c_str());
    } else if (a == "--size") {
      o.size = static_cast<size_t>(std::atol(value().c_str()));
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: wal_bench [--dir DIR] [--seconds S] [--size BYTES] [--json]\n");
      std::exit(0);
    } else {
      die("unknown argument " + a + " (see --help)");
    }
  }
  if (o.size < 48) die("--size must be at least 48 (the record header and Put fields)");
  if (o.seconds <= 0) die("--seconds must be positive");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  bool own_dir = o.dir.empty();
  if (own_dir) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kaya-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) die("mkdtemp failed");
    o.dir = tmpl;
  }
  std::filesystem::create_directories(o.dir);

  struct Row {
    std::string name;
    Figure kaya;
    std::string baseline_name;
    Figure baseline;
  };
  std::vector<Row> rows;
  // Baselines are measured right before the cases they anchor, to share conditions.
  Figure raw_sync = raw_loop(o.dir, o.size, true, o.seconds);
  rows.push_back({"strict  1 thread ",
                  kaya_case(o.dir, o.size, 1, kaya::DurabilityMode::kStrict, o.seconds),
                  "pwrite+fdatasync 1 thread", raw_sync});
  rows.push_back({"strict 64 threads",
                  kaya_case(o.dir, o.size, 64, kaya::DurabilityMode::kStrict, o.seconds),
                  "pwrite+fdatasync 1 thread", raw_sync});
  Figure raw_write = raw_loop(o.dir, o.size, false, o.seconds);
  rows.push_back({"relaxed  1 thread ",
                  kaya_case(o.dir, o.size, 1, kaya::DurabilityMode::kRelaxed, o.seconds),
                  "pwrite 1 thread", raw_write});
  rows.push_back({"relaxed 64 threads",
                  kaya_case(o.dir, o.size, 64, kaya::DurabilityMode::kRelaxed, o.seconds),
                  "pwrite 1 thread", raw_write});
  if (own_dir) std::filesystem::remove_all(o.dir);

  if (o.json) {
    std::printf("[");
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::printf(
          "%s{\"case\":\"%s\",\"records_per_s\":%.0f,\"records\":%llu,\"fsyncs\":%llu,"
          "\"baseline\":\"%s\",\"baseline_records_per_s\":%.0f,\"ratio\":%.3f}",
          i ? "," : "", r.name.c_str(), r.kaya.records_per_s,
          static_cast<unsigned long long>(r.kaya.records),
          static_cast<unsigned long long>(r.kaya.fsyncs), r.baseline_name.c_str(),
          r.baseline.records_per_s, r.kaya.records_per_s / r.baseline.records_per_s);
    }
    std::printf("]\n");
    return 0;
  }
  std::printf("record size %zu B, %.1f s per case, dir %s\n\n", o.size, o.seconds,
              own_dir ? "(temporary)" : o.dir.c_str());
  std::printf("%-20s %12s %10s %10s  %-26s %12s %7s\n", "case", "records/s", "fsyncs",
              "rec/fsync", "baseline", "records/s", "ratio");
  for (const Row& r : rows) {
    double per_fsync =
        r.kaya.fsyncs ? static_cast<double>(r.kaya.records) / r.kaya.fsyncs : 0;
    std::printf("%-20s %12.0f %10llu %10.1f  %-26s %12.0f %6.2fx\n", r.name.c_str(),
                r.kaya.records_per_s, static_cast<unsigned long long>(r.kaya.fsyncs),
                per_fsync, r.baseline_name.c_str(), r.baseline.records_per_s,
                r.kaya.records_per_s / r.baseline.records_per_s);
  }
  std::printf("\ncommit latency (us) per case:\n");
  for (const Row& r : rows)
    std::printf("  %-20s %s\n", r.name.c_str(), r.kaya.latency.c_str());
  return 0;
}
