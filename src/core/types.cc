#include "kaya/core/types.h"

namespace kaya {

std::string_view to_string(DurabilityMode mode) {
  return mode == DurabilityMode::kStrict ? "strict" : "relaxed";
}

}  // namespace kaya
