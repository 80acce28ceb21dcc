#include "kaya/core/version.h"

namespace kaya {

// The KAYA_BUILD_VERSION* definitions come from project(VERSION) in CMakeLists.txt (see
// src/CMakeLists.txt), so the header cannot drift from the package version unnoticed.
static_assert(kVersionMajor == KAYA_BUILD_VERSION_MAJOR &&
                  kVersionMinor == KAYA_BUILD_VERSION_MINOR &&
                  kVersionPatch == KAYA_BUILD_VERSION_PATCH,
              "include/kaya/core/version.h disagrees with project(VERSION) in CMake");

std::string_view version() { return KAYA_BUILD_VERSION; }

Version version_numbers() { return Version{kVersionMajor, kVersionMinor, kVersionPatch}; }

}  // namespace kaya
