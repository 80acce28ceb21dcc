// libFuzzer target: kaya::wal::recover() on an arbitrary log directory (on SimDisk).
//
// Input (read with FuzzedDataProvider; its integers come from the end of the input, so
// a seed is a segment image followed by one control byte):
//   control byte: bits 0-1 segment files - 1 (1 to 4); bit 2 a valid prefix written
//   by the Writer first (whose last segment gets the first fuzzed chunk appended);
//   bit 3 a gap in the segment ids; bits 4-5 the size limits.
//   with a prefix: one byte, the number of records (0 to 15) the Writer appends.
//   the segment bytes: each chunk but the last is a random-length string, the last
//   takes what remains.
// Checks (a failure aborts, which libFuzzer reports as a crash):
// - no crash, no sanitizer report;
// - a dry run, in every mode, changes no byte and no file, and reports what applying
//   then does (same records, next LSN, drops and anomalies);
// - errors are Corruption in default and absolute modes, and in every mode the
//   refusals of a record whose header verified (UnsupportedVersion, InvalidArgument);
//   point-in-time succeeds otherwise;
// - a success has contiguous LSNs (visitor), absolute mode reports no anomaly and
//   default mode only torn tails and records after a hole (beyond the recovery point);
// - a failed recovery changes nothing; after a successful one, a second recovery (in
//   absolute mode) finds no anomaly and the same records.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/config.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"

namespace {

using kaya::io::RelativePath;
using kaya::io::SimDisk;
using kaya::wal::RecoveryMode;
using kaya::wal::RecoveryReport;
using Snapshot = std::map<std::string, std::string>;  // path -> bytes ("/" for dirs)

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "recovery_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

template <typename T>
T must(kaya::Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "recovery_fuzzer: %s failed: %s\n", what,
                 r.error().message().c_str());
    std::abort();
  }
  return std::move(*r);
}

void must_ok(const kaya::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "recovery_fuzzer: %s failed: %s\n", what,
                 s.error().message().c_str());
    std::abort();
  }
}

RelativePath path(std::string_view text) {
  return must(RelativePath::parse(text), "parse");
}

struct Image {
  kaya::wal::WalConfig config;
  bool with_prefix = false;
  uint32_t prefix_records = 0;
  std::vector<std::pair<uint64_t, std::string>> segments;  // id, bytes to append
};

Image parse_input(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  Image image;
  const uint8_t control = fdp.ConsumeIntegral<uint8_t>();
  const int files = 1 + (control & 3);
  image.with_prefix = (control & 4) != 0;
  const bool gap = (control & 8) != 0;
  constexpr std::array<uint64_t, 4> kSegmentMax = {64ull << 20, 4096, 256, 100};
  constexpr std::array<uint64_t, 4> kRecordMax = {32ull << 20, 4096, 128, 64};
  image.config.segment_max_bytes = kSegmentMax[(control >> 4) & 3];
  image.config.max_record_bytes = kRecordMax[(control >> 4) & 3];
  image.config.extensions = kaya::wal::kExtensionBytes;  // write_prefix writes Bytes
  if (image.with_prefix) image.prefix_records = fdp.ConsumeIntegral<uint8_t>() % 16;
  // Without a prefix the ids start at 1; with one, the first chunk goes to the
  // writer's last segment (id 0 here: resolved once the prefix is written).
  uint64_t id = image.with_prefix ? 0 : kaya::wal::format::kFirstSegmentId;
  for (int i = 0; i < files; ++i) {
    std::string bytes = i + 1 < files ? fdp.ConsumeRandomLengthString(1 << 16)
                                      : fdp.ConsumeRemainingBytesAsString();
    image.segments.emplace_back(id, std::move(bytes));
    id = (id == 0 ? 1 : id + 1) + (gap && i == 0 ? 1 : 0);
  }
  return image;
}

void write_prefix(const Image& image, SimDisk& disk, uint64_t& last_segment) {
  auto writer = must(kaya::wal::Writer::open(image.config, disk), "Writer::open");
  std::string key;
  std::string value;
  for (uint32_t i = 0; i < image.prefix_records; ++i) {
    key = "k" + std::to_string(i);
    // At most 11 bytes under the smallest limit (64): every record fits.
    value.assign(i * 7 % (image.config.max_record_bytes >= 4096 ? 50 : 12),
                 static_cast<char>('a' + i));
    const kaya::wal::Payload payload = i % 3 == 0   ? kaya::wal::Payload::put(key, value)
                                       : i % 3 == 1 ? kaya::wal::Payload::bytes(value)
                                                    : kaya::wal::Payload::noop();
    auto r = must(writer->append(payload, kaya::wal::DurabilityMode::kStrict), "append");
    last_segment = r.segment_id;
  }
  must_ok(writer->close(), "Writer::close");
}

std::unique_ptr<SimDisk> build_disk(const Image& image) {
  auto disk = std::make_unique<SimDisk>();
  must_ok(disk->create_dir(path(kaya::wal::format::kSegmentDir)), "create_dir");
  uint64_t last_segment = 0;
  if (image.with_prefix) write_prefix(image, *disk, last_segment);
  uint64_t shift = last_segment == 0 ? kaya::wal::format::kFirstSegmentId : last_segment;
  for (const auto& [id, bytes] : image.segments) {
    // With a prefix, id 0 is the writer's last segment and the others follow it.
    const uint64_t real_id = image.with_prefix ? id + shift : id;
    if (bytes.empty() && image.with_prefix && id == 0) continue;
    const RelativePath p = path(kaya::wal::format::segment_path(real_id));
    must(disk->append(
             p, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                         bytes.size())),
         "append segment");
  }
  return disk;
}

void snapshot_dir(SimDisk& disk, const RelativePath& dir, Snapshot& out) {
  auto names = disk.list_dir(dir);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    const RelativePath p = must(dir.join(name), "join");
    // The lock file is no log data: a recovery that applies takes the lock, creating
    // wal/LOCK, even when it then fails with Corruption and changes nothing else.
    if (p.str() == kaya::wal::format::kLockFile) continue;
    if (disk.list_dir(p).ok()) {
      out[p.str() + "/"] = "";
      snapshot_dir(disk, p, out);
      continue;
    }
    const uint64_t len = must(disk.file_len(p), "file_len");
    std::string bytes(len, '\0');
    uint64_t done = 0;
    while (done < len) {
      const size_t n = must(
          disk.read_at(p, done,
                       std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()) + done,
                                          len - done)),
          "read_at");
      check(n > 0, "read_at returned 0 inside a file");
      done += n;
    }
    out[p.str()] = std::move(bytes);
  }
}

// Checks that the directory still is `before`, naming the first path that differs.
void check_unchanged(const Snapshot& before, const Snapshot& now, const char* what) {
  if (before == now) return;
  for (const auto& [p, bytes] : now) {
    auto it = before.find(p);
    if (it == before.end() || it->second != bytes) {
      std::fprintf(stderr, "recovery_fuzzer: %s %s\n", p.c_str(),
                   it == before.end() ? "appeared" : "changed");
    }
  }
  for (const auto& [p, bytes] : before) {
    if (!now.contains(p))
      std::fprintf(stderr, "recovery_fuzzer: %s vanished\n", p.c_str());
  }
  check(false, what);
}

Snapshot snapshot(SimDisk& disk) {
  Snapshot s;
  snapshot_dir(disk, RelativePath(), s);
  return s;
}

struct Run {
  kaya::Result<RecoveryReport> report;
  std::vector<uint64_t> lsns;
};

Run run(const kaya::wal::WalConfig& config, SimDisk& disk, RecoveryMode mode,
        bool dry_run) {
  std::vector<uint64_t> lsns;
  kaya::wal::RecoveryOptions options;
  options.mode = mode;
  options.dry_run = dry_run;
  options.buffer_bytes = 64;  // small, so that records straddle buffer refills
  auto report = kaya::wal::recover(
      config, disk, options,
      [&](uint64_t, uint64_t, const kaya::wal::RecordView& r) -> kaya::Status {
        lsns.push_back(r.lsn.value());
        return kaya::ok_status();
      });
  return {std::move(report), std::move(lsns)};
}

void check_run(const Run& r, RecoveryMode mode) {
  if (!r.report.ok()) {
    const kaya::ErrorKind kind = r.report.error().kind();
    const bool refusal = kind == kaya::ErrorKind::kUnsupportedVersion ||
                         kind == kaya::ErrorKind::kInvalidArgument;
    check(refusal || mode != RecoveryMode::kPointInTime, "point-in-time recovery failed");
    check(refusal || kind == kaya::ErrorKind::kCorruption,
          "recovery failed with an error other than Corruption or a refusal");
    return;
  }
  const RecoveryReport& rep = *r.report;
  check(rep.records == r.lsns.size(), "records != records visited");
  for (size_t i = 1; i < r.lsns.size(); ++i) {
    check(r.lsns[i] == r.lsns[i - 1] + 1, "LSNs of the records kept are not contiguous");
  }
  if (!r.lsns.empty()) {
    check(rep.next_lsn.value() == r.lsns.back() + 1, "next_lsn != last LSN + 1");
    check(rep.first_lsn && rep.first_lsn->value() == r.lsns.front(), "first_lsn");
  }
  if (mode == RecoveryMode::kAbsolute) check(rep.anomalies.empty(), "absolute anomaly");
  if (mode == RecoveryMode::kDefault) {
    for (const auto& a : rep.anomalies) {
      check(a.kind == kaya::wal::AnomalyKind::kTornTail ||
                a.kind == kaya::wal::AnomalyKind::kLostAfterHole,
            "default mode succeeded despite corruption");
    }
  }
}

void check_same(const Run& dry, const Run& applied) {
  check(dry.report.ok() == applied.report.ok(), "dry run and apply disagree on success");
  if (!dry.report.ok()) {
    check(dry.report.error().kind() == applied.report.error().kind(),
          "dry run and apply fail differently");
    return;
  }
  const RecoveryReport& d = *dry.report;
  const RecoveryReport& a = *applied.report;
  check(d.dry_run && !d.applied, "dry run report says applied");
  check(!a.dry_run, "applied report says dry run");
  check(dry.lsns == applied.lsns, "dry run and apply keep different records");
  check(d.next_lsn == a.next_lsn && d.records == a.records &&
            d.valid_bytes == a.valid_bytes && d.bytes_dropped == a.bytes_dropped &&
            d.anomalies.size() == a.anomalies.size() &&
            d.dropped.size() == a.dropped.size(),
        "dry run reports something else than applying does");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Image image = parse_input(data, size);
  for (RecoveryMode mode :
       {RecoveryMode::kDefault, RecoveryMode::kPointInTime, RecoveryMode::kAbsolute}) {
    auto disk = build_disk(image);
    const Snapshot before = snapshot(*disk);
    const Run dry = run(image.config, *disk, mode, /*dry_run=*/true);
    check_run(dry, mode);
    check_unchanged(before, snapshot(*disk), "a dry run changed the directory");

    const Run applied = run(image.config, *disk, mode, /*dry_run=*/false);
    check_run(applied, mode);
    check_same(dry, applied);
    if (!applied.report.ok()) {
      check_unchanged(before, snapshot(*disk), "a failed recovery changed the directory");
      continue;
    }
    // Recovered once, the log is clean: nothing more to drop, the same records.
    const Snapshot after = snapshot(*disk);
    const Run again = run(image.config, *disk, RecoveryMode::kAbsolute, false);
    check(again.report.ok(), "second recovery failed");
    check(again.report->anomalies.empty() && again.report->bytes_dropped == 0,
          "second recovery found an anomaly");
    check(
        again.lsns == applied.lsns && again.report->next_lsn == applied.report->next_lsn,
        "second recovery keeps other records");
    check_unchanged(after, snapshot(*disk), "second recovery changed the directory");
  }
  return 0;
}
