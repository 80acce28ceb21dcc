// What recovery does about the first problem its scan found (recovery_scan.h): the
// error of a mode that refuses it, or the repair, which cuts the log there or moves the
// rest aside to wal/lost/. Internal.
#pragma once

#include <cstdint>
#include <vector>

#include "kaya/core/status.h"
#include "kaya/io/disk.h"
#include "kaya/wal/recovery.h"
#include "wal/log_scan.h"
#include "wal/recovery_scan.h"

namespace kaya::wal {

// The error a recovery in `mode` that stops at `spot` returns: the spot's, with what
// recovery did about it (nothing) and what another mode would do.
Error problem_error(io::Disk& disk, const Spot& spot, RecoveryMode mode);

// Whether a recovery in `mode` carries on past `spot` (dropping from it on) rather
// than failing.
bool recoverable(const Spot& spot, RecoveryMode mode);

// Plans (and unless dry_run, carries out) what `problem` makes recovery drop.
Status drop(io::Disk& disk, const RecoveryOptions& options,
            const std::vector<uint64_t>& ids, const Problem& problem,
            RecoveryReport& report);

}  // namespace kaya::wal
