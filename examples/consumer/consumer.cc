// A program built against an installed kaya (examples/consumer/CMakeLists.txt or the
// Makefile's pkg-config build): it includes only public headers, opens a log in a
// temporary directory, appends strict records, reopens the log (recovering them),
// then prints the library and format versions and the metrics in the Prometheus text
// format. Exit 0 when every step did what it should.
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "kaya/core/version.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/metrics.h"
#include "kaya/wal/writer.h"

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "consumer: %s\n", what.c_str());
  return 1;
}

int run(const std::string& dir) {
  auto disk = kaya::io::FileDisk::open(dir);
  if (!disk.ok()) return fail(disk.error().to_string());
  {
    auto writer = kaya::wal::Writer::open(kaya::wal::WalConfig{}, **disk);
    if (!writer.ok()) return fail(writer.error().to_string());
    for (int i = 1; i <= 3; ++i) {
      auto r =
          (*writer)->append(kaya::wal::Payload::put("user:" + std::to_string(i), "value"),
                            kaya::wal::DurabilityMode::kStrict);
      if (!r.ok() || !r->durable) return fail("append failed");
    }
  }
  std::vector<std::string> keys;
  kaya::wal::OpenOptions options;
  options.replay = [&](uint64_t, uint64_t, const kaya::wal::RecordView& r) {
    keys.emplace_back(r.key);
    return kaya::ok_status();
  };
  auto writer = kaya::wal::Writer::open(kaya::wal::WalConfig{}, **disk, options);
  if (!writer.ok()) return fail(writer.error().to_string());
  if (keys != std::vector<std::string>{"user:1", "user:2", "user:3"}) {
    return fail("recovery did not return the three records");
  }
  std::printf("kaya %.*s (format version %u): recovered %zu records\n",
              static_cast<int>(kaya::version().size()), kaya::version().data(),
              static_cast<unsigned>(kaya::wal::format_version()), keys.size());
  std::fputs(kaya::wal::to_prometheus(kaya::wal::collect_metrics(**writer)).c_str(),
             stdout);
  return 0;
}

}  // namespace

int main() {
  std::string dir =
      (std::filesystem::temp_directory_path() / "kaya-consumer-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return fail("cannot create a temporary dir");
  const int rc = run(dir);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return rc;
}
