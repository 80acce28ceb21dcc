// Micro benchmarks (Google Benchmark) of the parts an append is made of: CRC32C,
// record encoding and decoding, the latency histogram, and the cost of handing a
// record to another thread and back compared with doing the same work inline.
// CRC32C runs through kaya's dispatch, each of kaya's paths and ISA-L's crc32_iscsi
// (when built in: libisal-dev), whose agreement with kaya is checked first; a table
// after the run puts each buffer size's figures next to ISA-L's.
//
//   micro_bench [--benchmark_min_time=0.1] [--benchmark_format=json] ...
//
// The handoff pair is why relaxed appends are not queued to an I/O thread: a
// mutex + condition-variable round trip costs microseconds, many times the encoding
// it would move.
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fastest_crc.h"
#include "kaya/core/crc32c.h"
#include "kaya/core/histogram.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/config.h"

namespace {

using kaya::Lsn;
using kaya::SequenceNumber;
using kaya::wal::Payload;

// A Put's 40-byte header and its two 4-byte lengths; the rest of a record is value.
constexpr int64_t kPutOverhead = 48;

std::vector<uint8_t> bytes_of(int64_t n) {
  std::vector<uint8_t> data(static_cast<size_t>(n));
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
  return data;
}

// A Put record of `record_bytes` encoded bytes; the value lives in `value`.
Payload put_of(int64_t record_bytes, std::string& value) {
  value.assign(static_cast<size_t>(record_bytes - kPutOverhead), 'v');
  return Payload::put("", value);
}

// Encodes `payload` into `out` (sized for it) as record number `n`.
void encode_into(const Payload& payload, std::vector<uint8_t>& out, uint64_t n) {
  if (!kaya::wal::encode_unsealed(payload, out).ok()) std::abort();
  kaya::wal::seal(out, Lsn(n), SequenceNumber(n));
}

// CRC32C of one buffer, again and again, each call continuing the last one's CRC.
// Registered in main() for kaya's dispatch (what the codec calls), each of kaya's
// paths, and ISA-L's crc32_iscsi on the same buffers (see CrcTable).
void BM_Crc32c(benchmark::State& state,
               uint32_t (*extend)(uint32_t, std::span<const uint8_t>),
               const std::string& unavailable) {
  if (!unavailable.empty()) {
    state.SkipWithError(unavailable.c_str());
    return;
  }
  const std::vector<uint8_t> data = bytes_of(state.range(0));
  uint32_t crc = 0;
  for (auto _ : state) {
    crc = extend(crc, data);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

// What the writer does per append before its lock: encode_unsealed + seal into a
// buffer that already exists.
void BM_EncodeUnsealedSeal(benchmark::State& state) {
  std::string value;
  const Payload payload = put_of(state.range(0), value);
  std::vector<uint8_t> out(payload.encoded_len());
  uint64_t n = 1;
  for (auto _ : state) {
    encode_into(payload, out, n++);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeUnsealedSeal)->Arg(128)->Arg(4096);

// encode(): the same plus a new buffer per record.
void BM_Encode(benchmark::State& state) {
  std::string value;
  const Payload payload = put_of(state.range(0), value);
  uint64_t n = 1;
  for (auto _ : state) {
    auto record = kaya::wal::encode(payload, Lsn(n), SequenceNumber(n));
    benchmark::DoNotOptimize(record);
    n++;
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Encode)->Arg(128)->Arg(4096);

void BM_Decode(benchmark::State& state) {
  std::string value;
  const Payload payload = put_of(state.range(0), value);
  std::vector<uint8_t> record(payload.encoded_len());
  encode_into(payload, record, 1);
  for (auto _ : state) {
    kaya::wal::Decoded d =
        kaya::wal::decode(record, 0, kaya::wal::WalConfig::kDefaultMaxRecordBytes);
    if (!d.ok()) std::abort();
    benchmark::DoNotOptimize(d.record.value.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Decode)->Arg(128)->Arg(4096);

void BM_HistogramRecord(benchmark::State& state) {
  kaya::Histogram h;
  uint64_t v = 1;
  for (auto _ : state) {
    h.record(v);
    v = v * 6364136223846793005ull + 1442695040888963407ull;  // spread over buckets
    v >>= 40;
  }
  benchmark::DoNotOptimize(h.count());
}
BENCHMARK(BM_HistogramRecord);

// A worker thread that encodes the record it is handed and hands it back: a mutex and
// a condition variable each way, as a queue to an I/O thread would need.
class EncodeWorker {
 public:
  explicit EncodeWorker(const Payload& payload)
      : payload_(payload), out_(payload.encoded_len()), thread_([this] { run(); }) {}
  ~EncodeWorker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Hands record number `n` to the worker and waits until it is encoded.
  void encode(uint64_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    job_ = n;
    done_ = false;
    cv_.notify_all();
    cv_.wait(lock, [&] { return done_; });
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || job_ != 0; });
      if (stop_) return;
      encode_into(payload_, out_, job_);
      job_ = 0;
      done_ = true;
      cv_.notify_all();
    }
  }

  const Payload payload_;
  std::vector<uint8_t> out_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t job_ = 0;  // the record to encode; 0: none
  bool done_ = false;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

void BM_QueueHandoff(benchmark::State& state) {
  std::string value;
  const Payload payload = put_of(state.range(0), value);
  EncodeWorker worker(payload);
  uint64_t n = 1;
  for (auto _ : state) worker.encode(n++);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QueueHandoff)->Arg(128)->Arg(4096)->UseRealTime();

// The same work, inline on the calling thread.
void BM_QueueInline(benchmark::State& state) {
  std::string value;
  const Payload payload = put_of(state.range(0), value);
  std::vector<uint8_t> out(payload.encoded_len());
  std::mutex mu;
  uint64_t n = 1;
  for (auto _ : state) {
    std::lock_guard<std::mutex> lock(mu);  // the writer's lock, uncontended
    encode_into(payload, out, n++);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QueueInline)->Arg(128)->Arg(4096)->UseRealTime();

// CRC32C's contestants, in the table's column order; the last is the baseline.
struct CrcContestant {
  std::string name;  // the benchmark is BM_Crc32c/<name>/<bytes>
  uint32_t (*extend)(uint32_t, std::span<const uint8_t>);
  std::string unavailable;  // why it cannot run here; empty when it can
};

std::vector<CrcContestant> crc_contestants() {
  using kaya::crc32c::Implementation;
  std::vector<CrcContestant> all;
  all.push_back({"kaya", kaya::crc32c::extend, ""});
  for (Implementation i :
       {Implementation::kPortable, Implementation::kSse42, Implementation::kSse42Clmul}) {
    // Each implementation's own function, called directly (extend() dispatches).
    const kaya::crc32c::ExtendFunction fn = kaya::crc32c::extend_function(i);
    all.push_back({kaya::crc32c::to_string(i), fn,
                   fn != nullptr ? "" : "this CPU lacks the instructions"});
  }
  std::string isal;
  if (!kaya::bench::isal_built_in()) {
    isal = "ISA-L unavailable: built without libisal-dev (scripts/install-deps.sh)";
  } else if (std::string why = kaya::bench::isal_disagreement(); !why.empty()) {
    isal = "error: " + why;
    std::fprintf(stderr, "micro_bench: %s\n", isal.c_str());
  }
  all.push_back({"isal", kaya::bench::isal_extend, isal});
  return all;
}

constexpr int64_t kCrcSizes[] = {64, 4096, 1 << 20};

// Passes every result on to the display reporter (console or JSON, as the flags chose)
// and keeps the CRC32C rates; at the end prints them side by side, each next to ISA-L's
// of the same run (after a console table; to stderr after JSON, which must stay valid).
class CrcTable : public benchmark::BenchmarkReporter {
 public:
  CrcTable(benchmark::BenchmarkReporter* display, std::vector<CrcContestant> contestants)
      : display_(display), contestants_(std::move(contestants)) {}

  bool ReportContext(const Context& context) override {
    return display_->ReportContext(context);
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const std::string name = run.benchmark_name();
      auto rate = run.counters.find("bytes_per_second");
      if (name.starts_with("BM_Crc32c/") && !run.error_occurred &&
          rate != run.counters.end()) {
        gb_per_s_[name] = rate->second.value / 1e9;
      }
    }
    display_->ReportRuns(runs);
  }
  void Finalize() override {
    display_->Finalize();
    const bool console = dynamic_cast<benchmark::ConsoleReporter*>(display_) != nullptr;
    print(console ? display_->GetOutputStream() : display_->GetErrorStream());
  }

 private:
  void print(std::ostream& out) const {
    char line[256];
    out << "\nCRC32C in GB/s, same run; kaya/ISA-L target >= 0.5 at 4096 B "
           "(kaya = crc32c::extend, "
        << kaya::crc32c::to_string(kaya::crc32c::fastest_implementation()) << " here)\n";
    std::snprintf(line, sizeof(line), "%-9s", "bytes");
    out << line;
    for (const CrcContestant& c : contestants_) {
      std::snprintf(line, sizeof(line), " %14s", c.name.c_str());
      out << line;
    }
    out << "  kaya/isal\n";
    for (int64_t bytes : kCrcSizes) {
      std::snprintf(line, sizeof(line), "%-9lld", static_cast<long long>(bytes));
      out << line;
      for (const CrcContestant& c : contestants_) {
        const double v = rate(c.name, bytes);
        if (v > 0) {
          std::snprintf(line, sizeof(line), " %14.2f", v);
        } else {
          std::snprintf(line, sizeof(line), " %14s", "n/a");
        }
        out << line;
      }
      const double kaya = rate("kaya", bytes);
      const double isal = rate("isal", bytes);
      if (kaya > 0 && isal > 0) {
        std::snprintf(line, sizeof(line), "  %8.2fx", kaya / isal);
      } else {
        std::snprintf(line, sizeof(line), "  %9s", "n/a");
      }
      out << line << "\n";
    }
    for (const CrcContestant& c : contestants_) {
      if (!c.unavailable.empty()) out << c.name << ": " << c.unavailable << "\n";
    }
  }
  double rate(const std::string& contestant, int64_t bytes) const {
    auto it = gb_per_s_.find("BM_Crc32c/" + contestant + "/" + std::to_string(bytes));
    return it == gb_per_s_.end() ? 0 : it->second;
  }

  benchmark::BenchmarkReporter* display_;
  std::vector<CrcContestant> contestants_;
  std::map<std::string, double> gb_per_s_;  // by benchmark name
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const std::vector<CrcContestant> contestants = crc_contestants();
  for (const CrcContestant& c : contestants) {
    auto* b = benchmark::RegisterBenchmark(("BM_Crc32c/" + c.name).c_str(), BM_Crc32c,
                                           c.extend, c.unavailable);
    for (int64_t bytes : kCrcSizes) b->Arg(bytes);
  }
  std::unique_ptr<benchmark::BenchmarkReporter> display(
      benchmark::CreateDefaultDisplayReporter());
  CrcTable table(display.get(), contestants);
  benchmark::RunSpecifiedBenchmarks(&table);
  benchmark::Shutdown();
  return 0;
}
