/// @file
/// @brief KAYA_API, the mark of what the shared library exports.
///
/// The shared library (libkaya.so) is compiled with hidden visibility
/// (-fvisibility=hidden -fvisibility-inlines-hidden): only declarations marked
/// KAYA_API are in its dynamic symbol table, so nothing internal becomes part of the
/// ABI. The mark is harmless in the static library.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
/// Exports a class, a function or a public member function from libkaya.so.
#define KAYA_API __attribute__((visibility("default")))
/// Keeps a private member of an exported class out of libkaya.so.
#define KAYA_LOCAL __attribute__((visibility("hidden")))
#else
#define KAYA_API
#define KAYA_LOCAL
#endif
