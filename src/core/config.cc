#include "kaya/core/config.h"

#include <string>

#include "core/guard.h"
#include "kaya/wal/format.h"

namespace kaya {
namespace {

Error invalid(std::string_view field, uint64_t value, std::string_view why) {
  return Error(ErrorKind::kInvalidArgument, "invalid WalConfig: " + std::string(field) +
                                                " = " + std::to_string(value) + ": " +
                                                std::string(why));
}

}  // namespace

Status WalConfig::validate() const {
  return core::guard([&]() -> Status {
    constexpr uint64_t kHeader = wal::format::kHeaderLen;
    if (segment_max_bytes < kHeader) {
      return invalid("segment_max_bytes", segment_max_bytes,
                     "a segment must hold at least one 40-byte record header");
    }
    if (max_record_bytes < kHeader) {
      return invalid("max_record_bytes", max_record_bytes,
                     "a record is at least its 40-byte header");
    }
    if (max_record_bytes > segment_max_bytes) {
      return invalid("max_record_bytes", max_record_bytes,
                     "larger than segment_max_bytes (" +
                         std::to_string(segment_max_bytes) +
                         "): such a record could never be written; lower it or raise "
                         "segment_max_bytes");
    }
    if (max_record_bytes > kHeader + wal::format::kMaxPayloadLen) {
      return invalid("max_record_bytes", max_record_bytes,
                     "a payload length must fit in 32 bits");
    }
    if (batch.flush_interval_us > kMaxFlushIntervalUs) {
      return invalid("batch.flush_interval_us", batch.flush_interval_us,
                     "strict appends would wait longer than 10 s for a sync");
    }
    if (recovery_point_sync_ms == 0 || recovery_point_sync_ms > kMaxRecoveryPointSyncMs) {
      return invalid("recovery_point_sync_ms", recovery_point_sync_ms,
                     "must be between 1 and 60000");
    }
    return ok_status();
  });
}

}  // namespace kaya
