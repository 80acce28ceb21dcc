// Whether io_uring would make durable one-thread appends faster than kaya's file
// backend (FileDisk: pwrite, then fdatasync, from the writer's syncer thread) does.
// Built only when liburing is found (Debian: liburing-dev); see "io_uring" in
// docs/async.md for the figures and the decision they led to.
//
//   uring_bench [--dir DIR] [--seconds S] [--runs N] [--json] [--depths LIST]
//
// For records of 128 B and of 4 KiB, each on a growing, a fallocated and a zero-filled
// file (RawLog in baselines.h), one thread appends and makes every record durable:
//   pwrite+fdatasync  (a) the baseline: pwrite(record), fdatasync, repeat;
//   uring pair        (b) one WRITE linked to an FSYNC(IORING_FSYNC_DATASYNC) per
//                     record, io_uring_submit_and_wait for both, repeat;
//   uring xN          (c) up to N such linked pairs in flight (--depths, default
//                     2,4,8; none: no pipelined contestants, and no pipelined "vs"
//                     row); a record counts once its own fsync and those of every
//                     record before it completed (then all of them are durable);
//   threads xN        N threads each doing what (a) does, offsets handed out under a
//                     lock: as many fsyncs in flight as (c) has, without io_uring (a
//                     record counts when its own fsync returns);
// and, for reference, kaya itself on a log of its own (default WalConfig, FileDisk):
//   kaya strict       Writer::append(kStrict) from one thread;
//   kaya async        Writer::append_async(kStrict) from one thread (a callback per
//                     record), the last record of a slice waited for.
// All of one record size take turns in 8 rounds of S/8 each (run_interleaved_slices),
// so that the disk's drift falls on all alike. Each row is a contestant's records/s
// against (a) on the same kind of file in the same run (kaya's against the best (a));
// the two "vs" rows per size hold kaya against io_uring of the same shape and pass
// when io_uring is not 1.15x faster: one record at a time, kaya strict against (b) on
// the fallocated file (kaya's segments are fallocated: the same kind of file; a best
// of three noisy figures against one would favour io_uring by the noise alone), and
// pipelined, kaya async against the best (c) of any depth and file. Figures are medians
// over --runs (default 3); each run prints the load average (/proc/loadavg) it ran under,
// which the "vs" rows carry as load_1m.
#include <liburing.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "baselines.h"
#include "bench_util.h"
#include "json.h"
#include "kaya_log.h"

namespace kaya::bench {
namespace {

constexpr size_t kRecordSizes[] = {128, 4096};
constexpr RawLog::Kind kKinds[] = {RawLog::Kind::kGrowing, RawLog::Kind::kFallocated,
                                   RawLog::Kind::kZeroFilled};
constexpr int kRounds = 8;
// io_uring must be this much faster than kaya for FileDisk to take it up.
constexpr double kKeepIfFaster = 1.15;

struct Options {
  CommonOptions common;
  double seconds = 2.0;
  std::vector<unsigned> depths = {2, 4, 8};
};

// The 1-minute load average (0 when /proc/loadavg cannot be read).
double load_1m() {
  std::ifstream in("/proc/loadavg");
  double load = 0;
  in >> load;
  return load;
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// One thread appending records to `file` through io_uring, each record a WRITE linked
// to an FSYNC(DATASYNC), with up to `depth` such pairs in flight. Dies on an error.
class UringLog {
 public:
  UringLog(const std::string& path, RawLog::Kind kind, unsigned depth)
      : file_(path, kind), depth_(depth), slots_(depth) {
    const int r = io_uring_queue_init(2 * depth, &ring_, 0);
    if (r < 0) {
      die(std::string("io_uring_queue_init: ") + std::strerror(-r) +
          " (io_uring refused here: this benchmark needs it)");
    }
  }
  ~UringLog() { io_uring_queue_exit(&ring_); }
  UringLog(const UringLog&) = delete;
  UringLog& operator=(const UringLog&) = delete;

  // Appends `record` for `seconds`, then waits until every record issued is durable.
  Throughput run(std::span<const uint8_t> record, double seconds) {
    Throughput slice;
    const uint64_t first = done_;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration<double>(seconds);
    while (Clock::now() < deadline) {
      while (issued_ - done_ < depth_) submit_pair(record);
      wait_and_reap(slice.latency_us);
    }
    while (done_ < issued_) wait_and_reap(slice.latency_us);
    slice.seconds = seconds_since(start);
    slice.records = done_ - first;
    return slice;
  }

 private:
  struct Slot {
    Clock::time_point submitted;
    bool synced = false;
  };

  io_uring_sqe* next_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) die("io_uring: submission queue full");
    return sqe;
  }

  // The pair for record number issued_ (user_data: the number, times 2, plus 1 for
  // the fsync); submitted with the next wait.
  void submit_pair(std::span<const uint8_t> record) {
    const Result<uint64_t> at = file_.next_offset(record.size());
    if (!at.ok()) die(at.error().to_string());
    const uint64_t seq = issued_++;
    io_uring_sqe* write = next_sqe();
    io_uring_prep_write(write, file_.fd(), record.data(),
                        static_cast<unsigned>(record.size()), *at);
    write->flags |= IOSQE_IO_LINK;  // the fsync starts once the write completed
    io_uring_sqe_set_data64(write, seq * 2);
    io_uring_sqe* sync = next_sqe();
    io_uring_prep_fsync(sync, file_.fd(), IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(sync, seq * 2 + 1);
    slots_[seq % depth_] = {Clock::now(), false};
    record_bytes_ = record.size();
  }

  // Submits what is prepared and waits for a completion (for both of a lone pair's:
  // one io_uring_enter per record, as (b) means), then takes every completion there
  // is and counts the records now durable in order.
  void wait_and_reap(Histogram& commit_us) {
    const unsigned wait = depth_ == 1 ? 2 : 1;
    const int r = io_uring_submit_and_wait(&ring_, wait);
    if (r < 0 && r != -EINTR) die(std::string("io_uring_enter: ") + std::strerror(-r));
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      seen++;
      const uint64_t data = io_uring_cqe_get_data64(cqe);
      const bool is_sync = (data & 1) != 0;
      if (cqe->res < 0) {
        die(std::string(is_sync ? "io_uring fsync: " : "io_uring write: ") +
            std::strerror(-cqe->res));
      }
      if (!is_sync && static_cast<size_t>(cqe->res) != record_bytes_) {
        die("io_uring write: short write");  // never seen on a local file
      }
      if (is_sync) slots_[(data / 2) % depth_].synced = true;
    }
    io_uring_cq_advance(&ring_, seen);
    while (done_ < issued_ && slots_[done_ % depth_].synced) {
      commit_us.record(workload::micros_since(slots_[done_ % depth_].submitted));
      done_++;
    }
  }

  RawLog file_;
  unsigned depth_;
  io_uring ring_{};
  std::vector<Slot> slots_;  // record n in slots_[n % depth_] until it is done
  uint64_t issued_ = 0;      // records whose pair was prepared
  uint64_t done_ = 0;        // records durable, with every record before them
  size_t record_bytes_ = 0;
};

// N threads appending to one file with a pwrite and an fdatasync each.
class ThreadedLog {
 public:
  ThreadedLog(const std::string& path, RawLog::Kind kind) : file_(path, kind) {}

  // Thread-safe.
  Status append(std::span<const uint8_t> record) {
    Result<uint64_t> at = [&] {
      std::lock_guard<std::mutex> lock(mu_);
      return file_.next_offset(record.size());
    }();
    if (!at.ok()) return at.error();
    return file_.write_at(record, *at, true);
  }

 private:
  RawLog file_;
  std::mutex mu_;  // guards file_.next_offset()
};

std::string size_name(size_t bytes) { return bytes == 128 ? "128 B" : "4 KiB"; }

std::string depth_name(unsigned depth) {
  return depth == 1 ? "uring pair" : "uring x" + std::to_string(depth);
}

// One run of every contestant with records of `record_bytes`, interleaved.
void one_size(const Options& o, const std::string& dir, size_t record_bytes,
              Report& report) {
  const std::vector<uint8_t> record(record_bytes, 'v');
  std::vector<unsigned> depths = {1};
  depths.insert(depths.end(), o.depths.begin(), o.depths.end());

  // Per kind of file: (a), then (b) and (c) by depth, then threads by depth.
  std::vector<std::unique_ptr<RawLog>> raw;
  std::vector<std::unique_ptr<UringLog>> uring;
  std::vector<std::unique_ptr<ThreadedLog>> threaded;
  std::vector<std::function<Throughput(double)>> slices;
  for (RawLog::Kind kind : kKinds) {
    const std::string base = dir + "/" + RawLog::name(kind);
    raw.push_back(std::make_unique<RawLog>(base + "-pwrite", kind));
    slices.push_back([&record, &log = *raw.back()](double s) {
      return run_appenders(1, s, [&](int, uint64_t) { return log.append(record, true); });
    });
    for (unsigned depth : depths) {
      uring.push_back(std::make_unique<UringLog>(base + "-uring" + std::to_string(depth),
                                                 kind, depth));
      slices.push_back(
          [&record, &log = *uring.back()](double s) { return log.run(record, s); });
    }
    for (unsigned threads : o.depths) {
      threaded.push_back(std::make_unique<ThreadedLog>(
          base + "-threads" + std::to_string(threads), kind));
      slices.push_back([&record, &log = *threaded.back(), threads](double s) {
        return run_appenders(static_cast<int>(threads), s,
                             [&](int, uint64_t) { return log.append(record); });
      });
    }
  }
  std::filesystem::create_directories(dir + "/strict");
  std::filesystem::create_directories(dir + "/async");
  KayaLog strict(dir + "/strict", record_bytes);
  KayaLog async(dir + "/async", record_bytes);
  slices.push_back([&strict](double s) {
    return run_appenders(
        1, s, [&](int, uint64_t) { return strict.append(wal::DurabilityMode::kStrict); });
  });
  slices.push_back([&async](double s) {
    return async.append_async_for(wal::DurabilityMode::kStrict, s);
  });

  const std::vector<Throughput> totals =
      run_interleaved_slices(o.seconds, kRounds, slices);
  const wal::WriterStats strict_stats = strict.finish();
  const wal::WriterStats async_stats = async.finish();
  const double load = load_1m();

  const std::string size = size_name(record_bytes);
  const double bytes = static_cast<double>(record_bytes);
  const size_t per_kind = 1 + depths.size() + o.depths.size();
  double best_raw = 0;
  double fallocated_pair = 0;
  double best_pipelined = 0;
  double best_threads = 0;
  for (size_t k = 0; k < std::size(kKinds); ++k) {
    const std::string kind = RawLog::name(kKinds[k]);
    const double baseline = totals[k * per_kind].per_s();
    best_raw = std::max(best_raw, baseline);
    auto add = [&](const std::string& name, const Throughput& t) {
      report.add({size + " " + kind + " " + name,
                  "rec/s",
                  "pwrite+fdatasync, " + kind,
                  {},
                  bytes},
                 {t.per_s(),
                  baseline,
                  {{"p50_commit_us", static_cast<double>(t.latency_us.percentile(50))}}});
      return t.per_s();
    };
    for (size_t d = 0; d < depths.size(); ++d) {
      const double per_s = add(depth_name(depths[d]), totals[k * per_kind + 1 + d]);
      if (depths[d] > 1) best_pipelined = std::max(best_pipelined, per_s);
      if (depths[d] == 1 && kKinds[k] == RawLog::Kind::kFallocated) {
        fallocated_pair = per_s;
      }
    }
    for (size_t d = 0; d < o.depths.size(); ++d) {
      const double per_s = add("threads x" + std::to_string(o.depths[d]),
                               totals[k * per_kind + 1 + depths.size() + d]);
      best_threads = std::max(best_threads, per_s);
    }
  }
  const Throughput& k_strict = totals[totals.size() - 2];
  const Throughput& k_async = totals.back();
  auto per_fsync = [](uint64_t records, uint64_t fsyncs) {
    return fsyncs ? static_cast<double>(records) / static_cast<double>(fsyncs) : 0.0;
  };
  report.add({size + " kaya strict 1T", "rec/s", "best pwrite+fdatasync", {}, bytes},
             {k_strict.per_s(),
              best_raw,
              {{"rec_per_fsync", per_fsync(k_strict.records, strict_stats.fsyncs)}}});
  report.add({size + " kaya async 1T", "rec/s", "best pwrite+fdatasync", {}, bytes},
             {k_async.per_s(),
              best_raw,
              {{"rec_per_fsync", per_fsync(k_async.records, async_stats.fsyncs)}}});
  const Target keep_kaya{Goal::kRatioAtLeast, 1 / kKeepIfFaster};
  report.add({size + " kaya strict vs uring pair",
              "rec/s",
              "uring pair, fallocated",
              {keep_kaya},
              bytes},
             {k_strict.per_s(), fallocated_pair, {{"load_1m", load}}});
  if (o.depths.empty()) return;
  report.add(
      {size + " kaya async vs uring xN", "rec/s", "best uring xN", {keep_kaya}, bytes},
      {k_async.per_s(),
       best_pipelined,
       {{"best_threads_xN_rec_per_s", best_threads}, {"load_1m", load}}});
}

std::vector<unsigned> parse_depths(const std::string& text) {
  std::vector<unsigned> depths;
  if (text == "none") return depths;
  std::stringstream in(text);
  for (std::string d; std::getline(in, d, ',');) {
    depths.push_back(static_cast<unsigned>(to_u64("depths", d, 2, 256)));
  }
  if (depths.empty()) die("--depths needs at least one depth (or none)");
  return depths;
}

Options parse(int argc, char** argv) {
  Options o;
  o.common.runs = 3;
  std::vector<Flag> flags = common_flags(o.common);
  flags.push_back(
      {"seconds", "S", "time of each contestant per record size and run (default 2)",
       [&o](const std::string& v) { o.seconds = to_double("seconds", v, 0.05, 600); }});
  flags.push_back({"depths", "LIST",
                   "pairs in flight of the pipelined io_uring contestants (and threads), "
                   "each 2..256, or none: one record at a time only (default 2,4,8)",
                   [&o](const std::string& v) { o.depths = parse_depths(v); }});
  parse_flags(argc, argv,
              "usage: uring_bench [--dir DIR] [--seconds S] [--runs N] [--json] "
              "[--depths LIST]\n\nDurable one-thread appends: pwrite+fdatasync, "
              "io_uring and kaya, interleaved; see the comment atop uring_bench.cc.",
              flags);
  return o;
}

}  // namespace
}  // namespace kaya::bench

int main(int argc, char** argv) {
  using namespace kaya::bench;
  const Options o = parse(argc, argv);
  ScratchDir dir(o.common.dir, "kaya-uring-bench");
  std::string depths;
  for (unsigned d : o.depths) {
    if (!depths.empty()) depths += ',';
    depths += std::to_string(d);
  }
  if (depths.empty()) depths = "none";
  if (!o.common.json) {
    std::printf(
        "uring_bench: %.2f s per contestant and size, %d run%s, depths %s, dir %s\n",
        o.seconds, o.common.runs, o.common.runs == 1 ? "" : "s", depths.c_str(),
        dir.describe().c_str());
  }
  const Report report = run_suite(o.common.runs, o.common.json, [&](int run, Report& r) {
    if (!o.common.json) {
      std::printf("\nrun %d, load average %s\n", run + 1, loadavg().c_str());
      std::fflush(stdout);
    }
    for (size_t bytes : kRecordSizes) one_size(o, dir.path(), bytes, r);
  });
  if (o.common.json) {
    const std::string settings = kaya::tool::JsonObject()
                                     .real("seconds", o.seconds)
                                     .str("depths", depths)
                                     .str("dir", dir.path())
                                     .build();
    std::printf("%s\n", report.to_json("uring_bench", settings).c_str());
  }
  return 0;
}
