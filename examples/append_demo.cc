// kaya in one page: several threads append to a log in both durability modes, the
// log is closed and reopened (recovering it), and the program prints what it wrote,
// what is on disk and how the fsyncs were shared.
//
//   append_demo [DIR] [--threads N] [--records-per-thread N]
//
// Without DIR it uses a temporary directory and removes it at the end.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"

namespace {

[[noreturn]] void fail(const kaya::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.to_string().c_str());
  std::exit(1);
}

template <typename T>
T check(kaya::Result<T> r) {
  if (!r.ok()) fail(r.error());
  return std::move(r).value();
}

void check(const kaya::Status& s) {
  if (!s.ok()) fail(s.error());
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int threads = 8;
  int per_thread = 500;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--threads" || a == "--records-per-thread") && i + 1 < argc) {
      int v = std::atoi(argv[++i]);
      if (v <= 0) {
        std::fprintf(stderr, "error: %s must be a positive number\n", a.c_str());
        return 4;
      }
      (a == "--threads" ? threads : per_thread) = v;
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: append_demo [DIR] [--threads N] [--records-per-thread N]\n");
      return 0;
    } else if (!a.empty() && a[0] != '-' && dir.empty()) {
      dir = a;
    } else {
      std::fprintf(stderr, "error: unexpected argument '%s' (see --help)\n", a.c_str());
      return 4;
    }
  }
  const bool temporary = dir.empty();
  if (temporary) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kaya-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
  }

  kaya::wal::WalConfig config;
  config.segment_max_bytes = 256 << 10;  // small, so that the demo rotates segments
  config.max_record_bytes = 64 << 10;
  auto disk = check(kaya::io::FileDisk::open(dir));
  auto writer = check(kaya::wal::Writer::open(config, *disk));
  const uint64_t first_lsn = writer->next_lsn().value();

  // Even threads append strictly (durable on return), odd ones relaxed.
  std::atomic<uint64_t> strict{0}, relaxed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const auto mode = t % 2 == 0 ? kaya::wal::DurabilityMode::kStrict
                                   : kaya::wal::DurabilityMode::kRelaxed;
      for (int i = 0; i < per_thread; ++i) {
        std::string key = "thread" + std::to_string(t) + ":" + std::to_string(i);
        check(writer->append(kaya::wal::Payload::put(key, "value of " + key), mode));
        (mode == kaya::wal::DurabilityMode::kStrict ? strict : relaxed)++;
      }
    });
  }
  for (auto& th : pool) th.join();
  kaya::wal::WriterStats stats = writer->stats();
  check(writer->close());
  writer.reset();

  std::printf("log directory: %s%s\n", dir.c_str(), temporary ? " (temporary)" : "");
  std::printf(
      "wrote: %llu records (LSN %llu..%llu) from %d threads: %llu strict, %llu relaxed\n",
      static_cast<unsigned long long>(strict + relaxed),
      static_cast<unsigned long long>(first_lsn),
      static_cast<unsigned long long>(stats.next_lsn.value() - 1), threads,
      static_cast<unsigned long long>(strict.load()),
      static_cast<unsigned long long>(relaxed.load()));
  std::printf(
      "fsyncs: %llu for %llu strict appends (%.1f records per fsync on average), "
      "%llu segment rotations\n",
      static_cast<unsigned long long>(stats.fsyncs),
      static_cast<unsigned long long>(stats.strict_records),
      stats.records_per_fsync.mean(), static_cast<unsigned long long>(stats.rotations));
  std::printf("fsync latency (us): %s\n", stats.fsync_duration_us.summary().c_str());

  // Reopen: recovery scans and validates every record.
  std::map<uint64_t, uint64_t> records_per_segment;
  auto report = check(kaya::wal::recover(
      config, *disk, {}, [&](uint64_t segment, uint64_t, const kaya::wal::RecordView&) {
        records_per_segment[segment]++;
        return kaya::ok_status();
      }));
  std::printf("on disk: %zu segments, %llu records, %llu bytes, next LSN %llu%s\n",
              report.segments.size(), static_cast<unsigned long long>(report.records),
              static_cast<unsigned long long>(report.valid_bytes),
              static_cast<unsigned long long>(report.next_lsn.value()),
              report.anomalies.empty() ? "" : " (a torn tail was cut)");
  for (uint64_t id : report.segment_ids()) {
    auto path =
        kaya::io::RelativePath::parse(kaya::wal::format::segment_path(id)).value();
    std::printf("  %s  %8llu bytes  %6llu records\n", path.str().c_str(),
                static_cast<unsigned long long>(check(disk->file_len(path))),
                static_cast<unsigned long long>(records_per_segment[id]));
  }
  disk.reset();
  if (temporary) std::filesystem::remove_all(dir);
  return report.records == strict + relaxed + first_lsn - 1 ? 0 : 1;
}
