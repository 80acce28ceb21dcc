#include "kaya/io/fault_schedule.h"

namespace kaya::io {

std::string_view to_string(FaultKind kind) {
  static constexpr std::string_view kNames[kFaultKindCount] = {
      "FsyncFailure", "ReadError", "WriteError", "DiskFull", "ShortWrite"};
  size_t i = static_cast<size_t>(kind);
  return i < kFaultKindCount ? kNames[i] : "Unknown";
}

}  // namespace kaya::io
