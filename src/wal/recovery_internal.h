// Recovery for callers that already hold the log's lock (Writer::open).
#pragma once

#include "kaya/wal/recovery.h"

namespace kaya::wal {

// `persist`: create the recovery point when the log has none (recover() does;
// Writer::open writes its own once the log is ready for appends).
Result<RecoveryReport> recover_locked(const WalConfig& config, io::Disk& disk,
                                      const RecoveryOptions& options,
                                      const RecordVisitor& visitor, bool persist);

}  // namespace kaya::wal
