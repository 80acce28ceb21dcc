// Writer::scrub(): the live log read back and verified at a bounded rate. Internal.
//
// Lock contract: takes no lock of its own and holds none across I/O; it reads the
// writer's progress and counts its results through Sequencer's public calls, which
// take the writer's mutex briefly (call it WITHOUT that mutex held).
#pragma once

#include "kaya/core/status.h"
#include "kaya/io/disk.h"
#include "kaya/wal/config.h"
#include "kaya/wal/writer.h"

namespace kaya::wal {

class Sequencer;

// Reads and verifies every record durable when it starts (writer.h, Writer::scrub).
Result<ScrubReport> scrub(const WalConfig& config, io::Disk& disk, Sequencer& sequencer,
                          const ScrubOptions& options);

}  // namespace kaya::wal
