// Recovery for callers that already hold the log's lock (Writer::open).
#pragma once

#include "kaya/wal/recovery.h"

namespace kaya::wal {

Result<RecoveryReport> recover_locked(const WalConfig& config, io::Disk& disk,
                                      const RecoveryOptions& options,
                                      const RecordVisitor& visitor);

}  // namespace kaya::wal
