// Recovery: scans the log, validates every record, and cuts a torn tail.
//
// A torn tail is an incomplete or invalid record at the end of the last segment that
// no valid record follows: a write that a crash interrupted, never acknowledged as
// durable. Recovery drops it. Anything else that is wrong — a bad record followed by a
// valid one, a bad record in a segment that is not the last, a missing segment, an LSN
// that does not follow its predecessor — is corruption of durable data: recovery fails
// with Corruption naming the segment, offset, LSN and reason, and changes nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kaya/core/config.h"
#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/disk.h"
#include "kaya/wal/codec.h"

namespace kaya::wal {

struct RecoveryOptions {
  // Report what applying would do, changing no byte and no file.
  bool dry_run = false;
};

struct TornTail {
  uint64_t segment_id = 0;
  uint64_t offset = 0;  // where the valid data of the segment ends
  uint64_t bytes = 0;   // bytes after it, dropped
  std::string reason;
};

struct RecoveryReport {
  Lsn next_lsn;  // LSN for the writer's next record
  // Sequence after the last record's (nullopt for an empty log).
  std::optional<SequenceNumber> next_sequence;
  std::optional<Lsn> first_lsn;  // of the first record found
  uint64_t records = 0;
  uint64_t valid_bytes = 0;
  std::vector<uint64_t> segment_ids;  // in order
  std::optional<TornTail> torn_tail;
  bool applied = false;  // the torn tail was cut and synced
};

// Called for every valid record in LSN order; the view is valid during the call. An
// error returned by the callback stops recovery and is returned.
using RecordVisitor =
    std::function<Status(uint64_t segment_id, uint64_t offset, const RecordView& record)>;

Result<RecoveryReport> recover(const WalConfig& config, io::Disk& disk,
                               const RecoveryOptions& options = {},
                               const RecordVisitor& visitor = {});

// The segment ids under wal/, sorted (other file names are ignored).
Result<std::vector<uint64_t>> list_segments(io::Disk& disk);

}  // namespace kaya::wal
