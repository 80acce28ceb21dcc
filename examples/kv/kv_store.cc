#include "kv_store.h"

#include <cstdio>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "kaya/core/crc32c.h"

namespace kaya::kv {
namespace {

// DIR/CHECKPOINT, all integers little-endian:
//   magic    8 bytes  "KAYAKVCP"
//   version  u32      1
//   lsn      u64      the entries hold every change up to this LSN (0: none)
//   count    u64      number of entries
//   entries  count x (key_len u32, value_len u32, key, value), keys strictly ascending
//   crc      u32      CRC32C of every byte before it
// The CRC comes last in every version, so that a flipped bit anywhere (the version
// included) reads as corruption, not as a version from the future.
constexpr std::string_view kMagic = "KAYAKVCP";
constexpr uint32_t kVersion = 1;
constexpr size_t kFixedBytes = kMagic.size() + 4 + 8 + 8 + 4;
constexpr std::string_view kCheckpointFile = "CHECKPOINT";
constexpr std::string_view kCheckpointTmp = "CHECKPOINT.tmp";
constexpr std::string_view kStoreLock = "LOCK";

io::RelativePath path(std::string_view name) {
  return io::RelativePath::parse(name).value();  // constant names: always valid
}

void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_str(std::vector<uint8_t>& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}

std::vector<uint8_t> encode_checkpoint(uint64_t lsn, const KvStore::Map& map) {
  std::vector<uint8_t> out;
  put_str(out, kMagic);
  put_le(out, kVersion, 4);
  put_le(out, lsn, 8);
  put_le(out, map.size(), 8);
  for (const auto& [key, value] : map) {
    put_le(out, key.size(), 4);
    put_le(out, value.size(), 4);
    put_str(out, key);
    put_str(out, value);
  }
  put_le(out, crc32c::value(out), 4);
  return out;
}

// Reads the fields of a checkpoint whose CRC has been checked; false past the end.
struct Cursor {
  std::span<const uint8_t> bytes;
  size_t pos = 0;

  bool le(int n, uint64_t* v) {
    if (bytes.size() - pos < static_cast<size_t>(n)) return false;
    *v = 0;
    for (int i = 0; i < n; ++i) *v |= uint64_t{bytes[pos++]} << (8 * i);
    return true;
  }
  bool str(uint64_t n, std::string* s) {
    if (bytes.size() - pos < n) return false;
    s->assign(reinterpret_cast<const char*>(bytes.data() + pos), n);
    pos += n;
    return true;
  }
};

struct Checkpoint {
  uint64_t lsn = 0;
  KvStore::Map map;
};

Result<Checkpoint> decode_checkpoint(std::span<const uint8_t> bytes,
                                     const std::string& where) {
  auto corrupt = [&](const std::string& why) {
    return Error(ErrorKind::kCorruption, "checkpoint " + where + " is corrupt: " + why +
                                             "; restore it from a backup");
  };
  if (bytes.size() < kFixedBytes ||
      std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
    return corrupt("not a kaya-kv checkpoint (bad magic or shorter than " +
                   std::to_string(kFixedBytes) + " bytes)");
  }
  const auto body = bytes.first(bytes.size() - 4);
  Cursor trailer{bytes, body.size()};
  uint64_t stored = 0;
  trailer.le(4, &stored);
  const uint32_t computed = crc32c::value(body);
  if (stored != computed) {
    char crcs[64];
    std::snprintf(crcs, sizeof(crcs), "stored 0x%08x, computed 0x%08x",
                  static_cast<unsigned>(stored), static_cast<unsigned>(computed));
    return corrupt("CRC32C mismatch (" + std::string(crcs) + ")");
  }
  Cursor c{body, kMagic.size()};
  uint64_t version = 0, count = 0;
  Checkpoint cp;
  c.le(4, &version);
  if (version != kVersion) {
    return Error(ErrorKind::kUnsupportedVersion,
                 "checkpoint " + where + " has version " + std::to_string(version) +
                     "; this kaya-kv reads version " + std::to_string(kVersion));
  }
  c.le(8, &cp.lsn);
  c.le(8, &count);
  // The CRC matched, so a layout error below means the writer had a bug; still report
  // it rather than trust it.
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t key_len = 0, value_len = 0;
    std::string key, value;
    if (!c.le(4, &key_len) || !c.le(4, &value_len) || !c.str(key_len, &key) ||
        !c.str(value_len, &value)) {
      return corrupt("entry " + std::to_string(i) + " runs past the end");
    }
    if (!cp.map.empty() && key <= cp.map.rbegin()->first) {
      return corrupt("keys out of order at entry " + std::to_string(i));
    }
    cp.map.emplace_hint(cp.map.end(), std::move(key), std::move(value));
  }
  if (c.pos != body.size()) return corrupt("bytes after the last entry");
  return cp;
}

}  // namespace

KvStore::~KvStore() = default;

Result<std::unique_ptr<KvStore>> KvStore::open(const std::string& dir,
                                               const KvOptions& options) {
  wal::WalConfig config;
  config.segment_max_bytes = options.segment_max_bytes;
  // put_many() appends atomic batches: the log opts into them (a KayaDB reader cannot
  // read a kaya-kv log).
  config.extensions = wal::kExtensionBatches;
  KAYA_RETURN_IF_ERROR(config.validate());
  std::unique_ptr<KvStore> store(new KvStore());
  KAYA_ASSIGN_OR_RETURN(store->disk_, io::FileDisk::open(dir));
  // The writer's lock covers only the log. This one also covers CHECKPOINT: without it
  // another process could checkpoint and release segments between our reading the
  // checkpoint and our replaying the log, and we would see a hole between the two.
  KAYA_ASSIGN_OR_RETURN(store->lock_, store->disk_->lock_file(path(kStoreLock)));
  KAYA_RETURN_IF_ERROR(store->load_checkpoint());
  KAYA_RETURN_IF_ERROR(store->open_log(config));
  return store;
}

Status KvStore::load_checkpoint() {
  const io::RelativePath file = path(kCheckpointFile);
  Result<uint64_t> len = disk_->file_len(file);
  if (!len.ok()) {
    // No checkpoint yet: the log holds the whole history.
    if (len.error().kind() == ErrorKind::kNotFound) return ok_status();
    return len.error();
  }
  std::vector<uint8_t> bytes(*len);
  KAYA_ASSIGN_OR_RETURN(size_t read, io::read_full(*disk_, file, 0, bytes));
  if (read != bytes.size()) {
    return Error(ErrorKind::kIo, disk_->describe(file) + " shrank while being read");
  }
  KAYA_ASSIGN_OR_RETURN(Checkpoint cp, decode_checkpoint(bytes, disk_->describe(file)));
  checkpoint_lsn_ = cp.lsn;
  map_ = std::move(cp.map);
  return ok_status();
}

Status KvStore::open_log(const wal::WalConfig& config) {
  const std::string checkpoint_name = disk_->describe(path(kCheckpointFile));
  bool first_record = true;
  wal::OpenOptions options;
  options.replay = [&](uint64_t, uint64_t, const wal::RecordView& record) -> Status {
    // Recovery proves the log has no hole; between the checkpoint and the log there
    // must be none either (there would be if an older CHECKPOINT were put back after
    // a release).
    if (first_record && record.lsn.value() > checkpoint_lsn_ + 1) {
      return Error(ErrorKind::kCorruption,
                   "the log starts at LSN " + std::to_string(record.lsn.value()) +
                       " but " + checkpoint_name + " covers only LSNs up to " +
                       std::to_string(checkpoint_lsn_) +
                       ": the changes in between "
                       "are lost");
    }
    first_record = false;
    if (record.lsn.value() <= checkpoint_lsn_) return ok_status();  // in the map
    return apply(record);
  };
  KAYA_ASSIGN_OR_RETURN(writer_, wal::Writer::open(config, *disk_, options));
  const uint64_t next_lsn = writer_->next_lsn().value();
  if (next_lsn > checkpoint_lsn_) return ok_status();
  if (writer_->recovery_report().records > 0) {
    return Error(ErrorKind::kCorruption,
                 "the log ends at LSN " + std::to_string(next_lsn - 1) + " but " +
                     checkpoint_name + " covers LSNs up to " +
                     std::to_string(checkpoint_lsn_) + ": the log lost its tail");
  }
  // The log is empty but the checkpoint covers LSNs: release_before() removed every
  // segment with records and the active one has none yet (say a crash tore its first
  // record). open() restarted at LSN 1; new records would then sit at or below the
  // checkpoint's LSN and the next replay would skip them. So reopen right after the
  // checkpoint. Doing this only on an empty log costs one more recovery of nothing;
  // a dry-run recover() before every open would read the whole log twice. Our
  // sequence numbers equal our LSNs (both start at 1 and advance together).
  KAYA_RETURN_IF_ERROR(writer_->close());
  writer_.reset();
  const uint64_t next = checkpoint_lsn_ + 1;
  KAYA_ASSIGN_OR_RETURN(
      writer_, wal::Writer::open_at(config, *disk_, Lsn(next), SequenceNumber(next)));
  return ok_status();
}

// The one place a change reaches the map, for replayed and new records alike.
Status KvStore::apply(const wal::RecordView& record) {
  switch (record.type) {
    case wal::RecordType::kPut:
      map_.insert_or_assign(std::string(record.key), std::string(record.value));
      return ok_status();
    case wal::RecordType::kDelete:
      if (auto it = map_.find(record.key); it != map_.end()) map_.erase(it);
      return ok_status();
    case wal::RecordType::kNoop:
      return ok_status();
    case wal::RecordType::kBytes:
      break;
  }
  return Error(ErrorKind::kInvalidArgument,
               "record LSN " + std::to_string(record.lsn.value()) + " has type " +
                   std::string(wal::to_string(record.type)) +
                   ", which kaya-kv never writes: this log is not a kaya-kv store");
}

Result<Lsn> KvStore::commit(const wal::Payload& payload) {
  KAYA_ASSIGN_OR_RETURN(wal::AppendResult appended,
                        writer_->append(payload, wal::DurabilityMode::kStrict));
  // Applied only once durable: nothing get() returns can be lost by a crash.
  KAYA_RETURN_IF_ERROR(
      apply({appended.lsn, appended.sequence, payload.type, payload.key, payload.value}));
  return appended.lsn;
}

Result<Lsn> KvStore::put(std::string_view key, std::string_view value) {
  return commit(wal::Payload::put(key, value));
}

Result<Lsn> KvStore::put_many(
    const std::vector<std::pair<std::string_view, std::string_view>>& entries) {
  std::vector<wal::Payload> payloads;
  for (const auto& [key, value] : entries)
    payloads.push_back(wal::Payload::put(key, value));
  KAYA_ASSIGN_OR_RETURN(wal::BatchResult batch,
                        writer_->append_batch(payloads, wal::DurabilityMode::kStrict));
  // Applied only once the whole batch is durable.
  for (size_t i = 0; i < payloads.size(); ++i) {
    const wal::Payload& p = payloads[i];
    KAYA_RETURN_IF_ERROR(apply({Lsn(batch.first_lsn.value() + i),
                                SequenceNumber(batch.first_sequence.value() + i), p.type,
                                p.key, p.value}));
  }
  return batch.last_lsn;
}

Result<Lsn> KvStore::del(std::string_view key) {
  if (!map_.contains(key)) {
    return Error(ErrorKind::kNotFound, "key not found: " + std::string(key));
  }
  return commit(wal::Payload::del(key));
}

Result<std::string> KvStore::get(std::string_view key) const {
  auto it = map_.find(key);
  if (it == map_.end()) {
    return Error(ErrorKind::kNotFound, "key not found: " + std::string(key));
  }
  return it->second;
}

void KvStore::scan(
    std::string_view prefix,
    const std::function<void(const std::string&, const std::string&)>& visit) const {
  for (auto it = map_.lower_bound(prefix);
       it != map_.end() && it->first.starts_with(prefix); ++it) {
    visit(it->first, it->second);
  }
}

Result<CheckpointReport> KvStore::checkpoint() {
  CheckpointReport report;
  // Every append is strict and applied at once, so the map holds exactly the records
  // below next_lsn().
  report.lsn = Lsn(writer_->next_lsn().value() - 1);
  report.entries = map_.size();
  const std::vector<uint8_t> bytes = encode_checkpoint(report.lsn.value(), map_);
  const io::RelativePath tmp = path(kCheckpointTmp);
  // A checkpoint that crashed may have left part of a tmp file, which append() would
  // extend rather than replace.
  if (Status s = disk_->remove_file(tmp); !s.ok()) {
    if (s.error().kind() != ErrorKind::kNotFound) return s.error();
  }
  KAYA_RETURN_IF_ERROR(disk_->append(tmp, bytes).status());
  KAYA_RETURN_IF_ERROR(disk_->fsync_file(tmp));
  KAYA_RETURN_IF_ERROR(disk_->rename(tmp, path(kCheckpointFile)));
  // Until the directory is synced a crash may bring the old checkpoint back, so the
  // segments the new one covers may go only after this sync.
  KAYA_RETURN_IF_ERROR(disk_->fsync_dir(io::RelativePath()));
  checkpoint_lsn_ = report.lsn.value();
  KAYA_ASSIGN_OR_RETURN(report.released, writer_->release_before(report.lsn.next()));
  return report;
}

Status KvStore::close() { return writer_ ? writer_->close() : ok_status(); }

}  // namespace kaya::kv
