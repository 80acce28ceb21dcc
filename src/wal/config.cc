#include "kaya/wal/config.h"

#include <string>

#include "core/guard.h"
#include "kaya/io/disk.h"
#include "kaya/wal/format.h"

namespace kaya::wal {
namespace {

Error invalid(std::string_view field, uint64_t value, std::string_view why) {
  return Error(ErrorKind::kInvalidArgument, "invalid WalConfig: " + std::string(field) +
                                                " = " + std::to_string(value) + ": " +
                                                std::string(why));
}

}  // namespace

Status WalConfig::validate() const {
  return core::guard([&]() -> Status {
    constexpr uint64_t kHeader = format::kHeaderLen;
    if (segment_max_bytes < kHeader) {
      return invalid("segment_max_bytes", segment_max_bytes,
                     "a segment must hold at least one 40-byte record header");
    }
    if (max_record_bytes < kHeader) {
      return invalid("max_record_bytes", max_record_bytes,
                     "a record is at least its 40-byte header");
    }
    if (max_record_bytes > kHeader + format::kMaxPayloadLen) {
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
    if (async_max_in_flight_bytes == 0) {
      return invalid("async_max_in_flight_bytes", async_max_in_flight_bytes,
                     "no asynchronous append could ever be in flight");
    }
    if ((extensions & ~kAllExtensions) != 0) {
      return invalid("extensions", extensions,
                     "unknown extension bits (known: kExtensionBytes 2, "
                     "kExtensionBatches 4)");
    }
    return ok_status();
  });
}

Status WalConfig::validate(const io::DiskLimits& limits) const {
  KAYA_RETURN_IF_ERROR(validate());
  return core::guard([&]() -> Status {
    const uint64_t limit = limits.max_file_bytes;
    auto too_big = [&](std::string_view field, uint64_t value) {
      return invalid(field, value,
                     "larger than the largest file the disk holds, " +
                         std::to_string(limit) + " bytes (" +
                         limits.max_file_bytes_source +
                         "): a segment is one file; lower " + std::string(field));
    };
    if (segment_max_bytes > limit) return too_big("segment_max_bytes", segment_max_bytes);
    if (max_record_bytes > limit) return too_big("max_record_bytes", max_record_bytes);
    return ok_status();
  });
}

static_assert(kExtensionBytes == rp_format::kBytesFeature &&
              kExtensionBatches == rp_format::kBatchesFeature &&
              kAllExtensions == rp_format::kExtensionFeatures);

std::string extensions_to_string(uint64_t extensions) {
  return core::guard_value([&]() -> std::string {
    std::string out;
    if ((extensions & kExtensionBytes) != 0) out += "bytes";
    if ((extensions & kExtensionBatches) != 0)
      out += out.empty() ? "batches" : ",batches";
    return out.empty() ? std::string("none") : out;
  });
}

Result<uint64_t> parse_extensions(std::string_view names) {
  return core::guard([&]() -> Result<uint64_t> {
    uint64_t bits = 0;
    if (names.empty() || names == "none") return bits;
    for (;;) {
      const size_t comma = names.find(',');
      const std::string_view name = names.substr(0, comma);
      if (name == "bytes") {
        bits |= kExtensionBytes;
      } else if (name == "batches") {
        bits |= kExtensionBatches;
      } else {
        return Error(
            ErrorKind::kInvalidArgument,
            "unknown extension \"" + std::string(name) + "\" (known: bytes, batches)");
      }
      if (comma == std::string_view::npos) return bits;
      names.remove_prefix(comma + 1);
    }
  });
}

std::string_view to_string(DurabilityMode mode) {
  return mode == DurabilityMode::kStrict ? "strict" : "relaxed";
}

}  // namespace kaya::wal
