// Helpers shared by the examples of docs/ (kept out of the quoted snippets): a
// temporary directory, error reporting, and checks that make an example fail when the
// library does not do what its page says.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "kaya/core/status.h"

namespace example {

// A new directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    path_ = (std::filesystem::temp_directory_path() / "kaya-example-XXXXXX").string();
    if (::mkdtemp(path_.data()) == nullptr) path_.clear();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline int fail(const kaya::Error& error) {
  std::fprintf(stderr, "example failed: %s\n", error.to_string().c_str());
  return 1;
}

}  // namespace example

// Fails the example (exit 1) when `cond` is false.
#define EXAMPLE_CHECK(cond)                                                         \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                     \
    }                                                                               \
  } while (0)
