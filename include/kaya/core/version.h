/// @file
/// @brief The version of the kaya library, queryable at compile time and at run time.
///
/// kaya follows semantic versioning; while the major version is 0, a new minor
/// version may break the API or ABI, so a consumer asks for the minor version it was
/// written for (`find_package(kaya 0.2)` accepts 0.2.x only). The on-disk record
/// format has a version of its own (kaya::wal::format_version()).
#pragma once

#include <string_view>

#include "kaya/core/export.h"

namespace kaya {

/// Major version of the headers being compiled against.
inline constexpr int kVersionMajor = 0;
/// Minor version of the headers being compiled against.
inline constexpr int kVersionMinor = 2;
/// Patch version of the headers being compiled against.
inline constexpr int kVersionPatch = 0;

/// A library version: major.minor.patch.
struct Version {
  int major = 0;  ///< Incompatible changes (any change while 0).
  int minor = 0;  ///< Features; breaks compatibility while major is 0.
  int patch = 0;  ///< Fixes only.
};

/// The version of the library linked at run time, e.g. "0.2.0". It may differ from
/// the kVersion* constants when the program runs against another libkaya.so.
KAYA_API std::string_view version();

/// The version of the library linked at run time, as numbers.
KAYA_API Version version_numbers();

}  // namespace kaya
