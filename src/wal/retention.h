// Retention: Writer::release_before(), removing whole segments below an LSN once a
// checkpoint covers them. Internal.
//
// Lock contract: one release at a time, and none while a truncation runs (`extent_mu`,
// which Writer::truncate_after holds too). It holds no writer mutex across
// I/O: it reads the active segment and the recovery point and counts what it removed
// through Sequencer's public calls, which take the writer's mutex briefly, and writes
// the recovery point through RecoveryPointKeeper::persist(). Call it WITHOUT the
// writer's mutex held.
//
// Invariants (asserted): a removed segment lies wholly below the released LSN and
// below the recovery point's durable record, and is never the active one.
#pragma once

#include <mutex>

#include "kaya/core/status.h"
#include "kaya/io/disk.h"
#include "kaya/wal/config.h"
#include "kaya/wal/writer.h"
#include "wal/recovery_point_keeper.h"

namespace kaya::wal {

class Sequencer;

class Retention {
 public:
  Retention(const WalConfig& config, io::Disk& disk, Sequencer& sequencer,
            RecoveryPointKeeper& rp, std::mutex& extent_mu)
      : config_(config), disk_(disk), sequencer_(sequencer), rp_(rp), mu_(extent_mu) {}

  // writer.h, Writer::release_before.
  Result<ReleaseReport> release_before(Lsn lsn);

 private:
  const WalConfig& config_;
  io::Disk& disk_;
  Sequencer& sequencer_;
  RecoveryPointKeeper& rp_;
  std::mutex& mu_;  // one change to the log's extent at a time
};

}  // namespace kaya::wal
