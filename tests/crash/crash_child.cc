// crash_child: appends to, or recovers, a log on real files until the kill test
// (kill_test.cc) SIGKILLs it.
//
//   crash_child append DIR SEED RUN THREADS SEGMENT_MAX_BYTES RELEASE_MARGIN
//   crash_child recover DIR
//
// Each output line is one write(2) to stdout (shorter than PIPE_BUF, so atomic: a kill
// never leaves half a line, and lines from several threads never mix):
//   O <next_lsn>                      the writer is open (recovery done)
//   A <lsn> <S|R> <thread> <counter>  an append returned; S: strict, and durable
//   R <lsn>                           about to release the segments below <lsn>
//   V <records> <next_lsn>            one recovery pass finished (recover mode)
// Any failure prints to stderr and exits with a non-zero code; after 60 s without being
// killed the child stops by itself (exit 0), so a lost parent leaves nothing behind.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "crash_disk.h"
#include "crash_record.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"

namespace kaya::crash {
namespace {

constexpr auto kMaxRuntime = std::chrono::seconds(60);

void emit(const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n < 0) std::_Exit(10);  // the parent is gone
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "crash_child: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(3);
}

uint64_t arg_u64(const char* s) { return std::strtoull(s, nullptr, 10); }

struct AppendArgs {
  std::string dir;
  uint64_t seed = 0;
  uint64_t run = 0;
  uint64_t threads = 0;
  uint64_t segment_max_bytes = 0;
  uint64_t release_margin = 0;
};

void append_loop(wal::Writer& w, const AppendArgs& args, uint64_t thread,
                 std::atomic<uint64_t>& max_acked, const std::atomic<bool>& stop) {
  for (uint64_t c = 0; !stop.load(std::memory_order_relaxed); ++c) {
    const RecordId id{args.run, thread, c};
    const std::string key = record_key(id);
    const std::string value = record_value(args.seed, id);
    const bool strict = record_is_strict(args.seed, id);
    auto r =
        w.append(wal::Payload::put(key, value),
                 strict ? wal::DurabilityMode::kStrict : wal::DurabilityMode::kRelaxed);
    if (!r.ok()) fail("append " + key + ": " + r.error().to_string());
    if (strict && !r->durable) fail("strict append " + key + " returned not durable");
    emit("A " + std::to_string(r->lsn.value()) + (strict ? " S " : " R ") +
         std::to_string(thread) + " " + std::to_string(c) + "\n");
    uint64_t seen = max_acked.load();
    while (seen < r->lsn.value() &&
           !max_acked.compare_exchange_weak(seen, r->lsn.value())) {
    }
    const uint64_t h = mix(record_hash(args.seed, id));
    if (h % 37 == 0) {
      auto s = w.sync();
      if (!s.ok()) fail("sync: " + s.error().to_string());
    }
    if (h % 53 == 0 && max_acked.load() > args.release_margin + 1) {
      const uint64_t below = max_acked.load() - args.release_margin;
      emit("R " + std::to_string(below) + "\n");
      auto rel = w.release_before(Lsn(below));
      if (!rel.ok()) fail("release_before: " + rel.error().to_string());
    }
  }
}

int run_append(const AppendArgs& args) {
  auto disk = open_crash_disk(args.dir, /*create=*/true);
  if (!disk.ok()) fail("open disk: " + disk.error().to_string());
  wal::WalConfig config;
  config.segment_max_bytes = args.segment_max_bytes;
  config.max_record_bytes = 4096;
  emit("S\n");  // loaded: the parent's kill clock starts here (see run_recover)
  auto opened = wal::Writer::open(config, **disk);
  if (!opened.ok()) fail("Writer::open: " + opened.error().to_string());
  std::unique_ptr<wal::Writer> w = std::move(opened).value();
  emit("O " + std::to_string(w->next_lsn().value()) + "\n");
  std::atomic<uint64_t> max_acked{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < args.threads; ++t) {
    threads.emplace_back([&, t] { append_loop(*w, args, t, max_acked, stop); });
  }
  std::this_thread::sleep_for(kMaxRuntime);
  stop = true;
  for (auto& t : threads) t.join();
  auto closed = w->close();
  if (!closed.ok()) fail("close: " + closed.error().to_string());
  return 0;
}

int run_recover(const std::string& dir) {
  auto disk = open_crash_disk(dir, /*create=*/false);
  if (!disk.ok()) fail("open disk: " + disk.error().to_string());
  wal::WalConfig config;
  config.max_record_bytes = 4096;
  // Loading the process (librados and its libraries under a sanitizer) can take longer
  // than a recovery pass: the parent starts its kill clock at this line.
  emit("R\n");
  const auto deadline = std::chrono::steady_clock::now() + kMaxRuntime;
  while (std::chrono::steady_clock::now() < deadline) {
    auto report = wal::recover(config, **disk);
    if (!report.ok()) fail("recover: " + report.error().to_string());
    emit("V " + std::to_string(report->records) + " " +
         std::to_string(report->next_lsn.value()) + "\n");
  }
  return 0;
}

}  // namespace
}  // namespace kaya::crash

int main(int argc, char** argv) {
  using namespace kaya::crash;
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "append" && argc == 8) {
    AppendArgs args;
    args.dir = argv[2];
    args.seed = arg_u64(argv[3]);
    args.run = arg_u64(argv[4]);
    args.threads = arg_u64(argv[5]);
    args.segment_max_bytes = arg_u64(argv[6]);
    args.release_margin = arg_u64(argv[7]);
    return run_append(args);
  }
  if (mode == "recover" && argc == 3) return run_recover(argv[2]);
  std::fprintf(stderr,
               "usage: crash_child append DIR SEED RUN THREADS SEGMENT_MAX_BYTES "
               "RELEASE_MARGIN\n       crash_child recover DIR\n");
  return 2;
}
