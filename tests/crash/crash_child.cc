// crash_child: appends to, or recovers, a log on real files until the kill test
// (kill_test.cc) SIGKILLs it.
//
//   crash_child append DIR SEED RUN THREADS SEGMENT_MAX_BYTES RELEASE_MARGIN FIRST_LSN
//   crash_child recover DIR
//
// FIRST_LSN is the log's first LSN as the test last recovered it (its next LSN when it
// holds no record): the lowest LSN a truncation may keep up to is FIRST_LSN - 1.
//
// Each output line is one write(2) to stdout (shorter than PIPE_BUF, so atomic: a kill
// never leaves half a line, and lines from several threads never mix):
//   O <next_lsn>                      the writer is open (recovery done)
//   A <lsn> <S|R> <thread> <counter>  an append returned; S: strict, and durable
//   B <thread> <counter> <n>          about to append an atomic batch of the n records
//                                     <counter> .. <counter> + n - 1 (batch_size())
//   C <lsn> <S|R> <thread> <counter> <n>
//                                     that batch returned: LSNs <lsn> .. <lsn> + n - 1
//   R <lsn>                           about to release the segments below <lsn>
//   T <lsn> <first_lsn>               about to call truncate_after(<lsn>); the log's
//                                     first LSN is <first_lsn> (<lsn> = <first_lsn> - 1
//                                     empties the log)
//   U <lsn> <removed> <epoch>         that truncate_after returned
//   X <lsn>                           it refused <lsn>, inside an atomic batch (nothing
//                                     changed); a T line for the next LSN follows
//   V <records> <next_lsn>            one recovery pass finished (recover mode)
// The log is opted into atomic batches (WalConfig::extensions); one append in four is
// a batch (crash_record.h, batch_size()).
// Any failure prints to stderr and exits with a non-zero code; after 60 s without being
// killed the child stops by itself (exit 0), so a lost parent leaves nothing behind.
//
// A truncation runs alone: no append is in flight while it runs (a gate lets the
// appends, with the line announcing each, drain first and waits until it returned),
// so every line before its T line speaks of the log before it, every line after its U
// line of the log after it, and a kill between the two leaves a log that is either the
// one before (every acknowledged record) or the truncated one. Appends in flight during
// a truncation are truncation_test's and the simulation's business.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
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
// One append in this many is followed by a truncation.
constexpr uint64_t kTruncateEvery = 101;

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
  uint64_t first_lsn = 1;
};

// Appends, syncs and releases pass it shared; a truncation closes it, waiting for those
// inside to leave and holding new ones back until it opens it again.
class Gate {
 public:
  void enter() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !closed_; });
    inside_++;
  }
  void leave() {
    std::lock_guard lock(mu_);
    if (--inside_ == 0) cv_.notify_all();
  }
  void close() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !closed_; });
    closed_ = true;
    cv_.wait(lock, [&] { return inside_ == 0; });
  }
  void open() {
    std::lock_guard lock(mu_);
    closed_ = false;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t inside_ = 0;
  bool closed_ = false;
};

// What the appending threads share.
struct Shared {
  Gate gate;
  std::atomic<uint64_t> max_acked{0};
  std::atomic<uint64_t> first_lsn{1};  // of the log, as far as the child knows
  std::atomic<bool> stop{false};
};

void raise_to(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t seen = a.load();
  while (seen < v && !a.compare_exchange_weak(seen, v)) {
  }
}

// Truncates the log after an LSN among the acknowledged ones (now and then after the
// first LSN - 1: it empties the log), alone (see the file comment).
void truncate_some(wal::Writer& w, uint64_t h, Shared& shared) {
  shared.gate.close();
  const uint64_t last = w.next_lsn().value() - 1;
  const uint64_t first = shared.first_lsn.load();
  uint64_t lsn = first - 1;  // empties the log
  if (h % 8 != 0 && last >= first) {
    lsn = std::max(first, last - std::min<uint64_t>(last, (h >> 8) % 120));
  }
  emit("T " + std::to_string(lsn) + " " + std::to_string(first) + "\n");
  auto r = w.truncate_after(Lsn(lsn));
  // An LSN inside a batch is refused (the records of a batch are kept whole): the
  // next one is tried, up to the batch's last record (`last` ends one: nothing is in
  // flight).
  while (!r.ok() && r.error().kind() == ErrorKind::kInvalidArgument && lsn < last &&
         r.error().message().find("inside an atomic batch") != std::string::npos) {
    emit("X " + std::to_string(lsn) + "\n");
    ++lsn;
    emit("T " + std::to_string(lsn) + " " + std::to_string(first) + "\n");
    r = w.truncate_after(Lsn(lsn));
  }
  if (!r.ok())
    fail("truncate_after(" + std::to_string(lsn) + "): " + r.error().to_string());
  emit("U " + std::to_string(lsn) + " " + std::to_string(r->records_removed) + " " +
       std::to_string(r->epoch) + "\n");
  shared.max_acked = std::min(shared.max_acked.load(), lsn);
  shared.gate.open();
}

// Appends the records `id` .. `id` + n - 1 as one atomic batch, announced before (B)
// and after (C). Returns the batch's last LSN.
uint64_t append_batch(wal::Writer& w, uint64_t seed, const RecordId& id, uint64_t n) {
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::vector<wal::Payload> payloads;
  for (uint64_t i = 0; i < n; ++i) {
    const RecordId r{id.run, id.thread, id.counter + i};
    keys.push_back(record_key(r));
    values.push_back(record_value(seed, r));
  }
  for (uint64_t i = 0; i < n; ++i)
    payloads.push_back(wal::Payload::put(keys[i], values[i]));
  const bool strict = record_is_strict(seed, id);
  const std::string who = std::to_string(id.thread) + " " + std::to_string(id.counter);
  emit("B " + who + " " + std::to_string(n) + "\n");
  auto r = w.append_batch(
      payloads, strict ? wal::DurabilityMode::kStrict : wal::DurabilityMode::kRelaxed);
  if (!r.ok()) fail("append_batch " + keys[0] + ": " + r.error().to_string());
  if (strict && !r->durable) fail("strict batch " + keys[0] + " returned not durable");
  if (r->last_lsn.value() != r->first_lsn.value() + n - 1) {
    fail("batch " + keys[0] + " of " + std::to_string(n) + " records got LSNs " +
         std::to_string(r->first_lsn.value()) + ".." +
         std::to_string(r->last_lsn.value()));
  }
  emit("C " + std::to_string(r->first_lsn.value()) + (strict ? " S " : " R ") + who +
       " " + std::to_string(n) + "\n");
  return r->last_lsn.value();
}

void append_loop(wal::Writer& w, const AppendArgs& args, uint64_t thread,
                 Shared& shared) {
  for (uint64_t c = 0; !shared.stop.load(std::memory_order_relaxed); ++c) {
    const RecordId id{args.run, thread, c};
    const uint64_t n = batch_size(args.seed, id);
    shared.gate.enter();
    if (n > 1) {
      raise_to(shared.max_acked, append_batch(w, args.seed, id, n));
      c += n - 1;
    } else {
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
      raise_to(shared.max_acked, r->lsn.value());
    }
    shared.gate.leave();
    const uint64_t h = mix(record_hash(args.seed, id));
    if (h % 37 == 0) {
      shared.gate.enter();  // (a truncation overtaking a sync fails it)
      auto s = w.sync();
      if (!s.ok()) fail("sync: " + s.error().to_string());
      shared.gate.leave();
    }
    if (h % 53 == 0) {
      shared.gate.enter();
      if (shared.max_acked.load() > args.release_margin + 1) {
        const uint64_t below = shared.max_acked.load() - args.release_margin;
        emit("R " + std::to_string(below) + "\n");
        auto rel = w.release_before(Lsn(below));
        if (!rel.ok()) fail("release_before: " + rel.error().to_string());
        if (rel->first_lsn_kept) raise_to(shared.first_lsn, rel->first_lsn_kept->value());
      }
      shared.gate.leave();
    }
    if (h % kTruncateEvery == 1) truncate_some(w, h >> 8, shared);
  }
}

int run_append(const AppendArgs& args) {
  auto disk = open_crash_disk(args.dir, /*create=*/true);
  if (!disk.ok()) fail("open disk: " + disk.error().to_string());
  wal::WalConfig config;
  config.segment_max_bytes = args.segment_max_bytes;
  config.max_record_bytes = 4096;
  config.extensions = wal::kExtensionBatches;
  emit("S\n");  // loaded: the parent's kill clock starts here (see run_recover)
  auto opened = wal::Writer::open(config, **disk);
  if (!opened.ok()) fail("Writer::open: " + opened.error().to_string());
  std::unique_ptr<wal::Writer> w = std::move(opened).value();
  emit("O " + std::to_string(w->next_lsn().value()) + "\n");
  Shared shared;
  shared.first_lsn = args.first_lsn;
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < args.threads; ++t) {
    threads.emplace_back([&, t] { append_loop(*w, args, t, shared); });
  }
  std::this_thread::sleep_for(kMaxRuntime);
  shared.stop = true;
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
  if (mode == "append" && argc == 9) {
    AppendArgs args;
    args.dir = argv[2];
    args.seed = arg_u64(argv[3]);
    args.run = arg_u64(argv[4]);
    args.threads = arg_u64(argv[5]);
    args.segment_max_bytes = arg_u64(argv[6]);
    args.release_margin = arg_u64(argv[7]);
    args.first_lsn = std::max<uint64_t>(1, arg_u64(argv[8]));
    return run_append(args);
  }
  if (mode == "recover" && argc == 3) return run_recover(argv[2]);
  std::fprintf(stderr,
               "usage: crash_child append DIR SEED RUN THREADS SEGMENT_MAX_BYTES "
               "RELEASE_MARGIN FIRST_LSN\n       crash_child recover DIR\n");
  return 2;
}
