#include "testing/test_util.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kaya::testing {

TempDir::TempDir() : TempDir("") {}

TempDir::TempDir(const std::string& base) {
  const char* env = std::getenv("TMPDIR");
  const std::string dir = !base.empty() ? base : env && *env ? env : "/tmp";
  std::string tmpl = dir + "/kaya-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed: " + tmpl);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string memory_temp_base() {
  const char* shm = "/dev/shm";
  std::error_code ec;
  if (std::filesystem::is_directory(shm, ec) && ::access(shm, W_OK | X_OK) == 0) {
    return shm;
  }
  return "";
}

static uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 0);
}

uint64_t seed_from_env(uint64_t fallback) { return env_u64("KAYA_SEED", fallback); }
uint64_t seed_count_from_env(uint64_t fallback) {
  return env_u64("KAYA_SEEDS", fallback);
}

uint64_t sweep_seed_count(uint64_t full, uint64_t under_tsan) {
#if defined(KAYA_TSAN)
  (void)full;
  return seed_count_from_env(under_tsan);
#else
  (void)under_tsan;
  return seed_count_from_env(full);
#endif
}

std::string read_golden(const std::string& name) {
  const char* dir = std::getenv("KAYA_GOLDEN_DIR");
  std::string path = std::string(dir ? dir : "tests/golden") + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open golden file " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace kaya::testing
