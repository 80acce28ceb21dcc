// Helpers of the reader tests (reader_test_util.h).
#include "wal/reader_test_util.h"

#include <optional>
#include <ostream>

namespace kaya::wal {

void PrintTo(const Record& r, std::ostream* os) {
  *os << "{lsn " << r.lsn.value() << ", seq " << r.sequence.value() << ", "
      << to_string(r.type) << ", key \"" << r.key << "\", " << r.value.size()
      << "-byte value}";
}

namespace reader_testing {

Payload payload_of(uint64_t i, std::string& key, std::string& value) {
  key = "key-" + std::to_string(i);
  value.assign((i * 37) % 150, static_cast<char>('a' + i % 26));
  if (i % 7 == 3) return Payload::del(key);
  if (i % 11 == 5) return Payload::noop();
  return Payload::put(key, value);
}

Result<AppendResult> append_one(Writer& w, uint64_t i, DurabilityMode mode, Log& log) {
  std::string key, value;
  const Payload p = payload_of(i, key, value);
  KAYA_ASSIGN_OR_RETURN(AppendResult ack, w.append(p, mode));
  log.records.push_back(
      Record{ack.lsn, ack.sequence, p.type, std::string(p.key), std::string(p.value)});
  auto [it, added] = log.segments.try_emplace(ack.segment_id, ack.lsn.value(), 0);
  it->second.second = ack.lsn.value();
  log.acks.push_back(ack);
  return ack;
}

void append_n(Writer& w, uint64_t n, DurabilityMode mode, Log& log) {
  for (uint64_t i = 0; i < n; ++i) {
    auto r = append_one(w, log.records.size(), mode, log);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
}

std::unique_ptr<LogReader> open_reader(const WalConfig& config, io::Disk& disk,
                                       Lsn from) {
  auto r = LogReader::open(config, disk, from);
  EXPECT_TRUE(r.ok()) << "from LSN " << from.value() << ": " << r.error().to_string();
  return r.ok() ? std::move(r).value() : nullptr;
}

Result<std::vector<Record>> read_to_end(LogReader& reader) {
  std::vector<Record> out;
  for (;;) {
    KAYA_ASSIGN_OR_RETURN(std::optional<Record> r, reader.next());
    if (!r) return out;
    out.push_back(std::move(*r));
  }
}

}  // namespace reader_testing
}  // namespace kaya::wal
