// Micro benchmarks (Google Benchmark) of the parts an append is made of: CRC32C,
// record encoding and decoding, the latency histogram, and the cost of handing a
// record to another thread and back compared with doing the same work inline.
//
//   micro_bench [--benchmark_min_time=0.1] [--benchmark_format=json] ...
//
// The handoff pair is why relaxed appends are not queued to an I/O thread: a
// mutex + condition-variable round trip costs microseconds, many times the encoding
// it would move.
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kaya/core/config.h"
#include "kaya/core/crc32c.h"
#include "kaya/core/histogram.h"
#include "kaya/wal/codec.h"

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

template <uint32_t (*Extend)(uint32_t, std::span<const uint8_t>)>
void BM_Crc32c(benchmark::State& state) {
  const std::vector<uint8_t> data = bytes_of(state.range(0));
  uint32_t crc = 0;
  for (auto _ : state) {
    crc = Extend(crc, data);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
// extend() picks the hardware path when the CPU has SSE4.2.
BENCHMARK(BM_Crc32c<kaya::crc32c::extend>)->Arg(128)->Arg(4096)->Arg(1 << 20);
BENCHMARK(BM_Crc32c<kaya::crc32c::extend_portable>)->Arg(128)->Arg(4096)->Arg(1 << 20);

void BM_Crc32cHardware(benchmark::State& state) {
  if (!kaya::crc32c::has_hardware()) {
    state.SkipWithError("no SSE4.2 crc32 instruction on this CPU");
    return;
  }
  BM_Crc32c<kaya::crc32c::extend_hardware>(state);
}
BENCHMARK(BM_Crc32cHardware)->Arg(128)->Arg(4096)->Arg(1 << 20);

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
        kaya::wal::decode(record, 0, kaya::WalConfig::kDefaultMaxRecordBytes);
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

}  // namespace

BENCHMARK_MAIN();
