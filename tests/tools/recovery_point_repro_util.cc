// Helpers of the recovery point reproductions (recovery_point_repro_util.h).
#include "tools/recovery_point_repro_util.h"

#include <cstring>
#include <filesystem>

#include "kaya/core/crc32c.h"
#include "kaya/wal/format.h"

namespace kaya::tool::testing::rp_repro {

namespace fmt = kaya::wal::format;

std::string brief(const ToolResult& r) {
  constexpr size_t kMax = 2000;
  auto cut = [](const std::string& s) {
    return s.size() <= kMax
               ? s
               : s.substr(0, kMax) + "... (" + std::to_string(s.size()) + " bytes)\n";
  };
  return "exit code " + std::to_string(r.exit_code) + "\n--- stdout:\n" + cut(r.out) +
         "--- stderr:\n" + cut(r.err);
}

::testing::AssertionResult write_log(const std::string& dir, std::string_view input,
                                     std::vector<std::string> flags) {
  std::vector<std::string> args = {"write", dir};
  args.insert(args.end(), flags.begin(), flags.end());
  const ToolResult w = run_tool(args, std::string(input));
  if (w.exit_code != kOk) {
    return ::testing::AssertionFailure() << "writing the log failed: " << brief(w);
  }
  return ::testing::AssertionSuccess();
}

Segments segments(const std::string& dir) {
  Segments out;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/wal")) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && fmt::parse_segment_file_name(name)) {
      out[name] = read_file(e.path().string());
    }
  }
  return out;
}

::testing::AssertionResult unchanged(const Segments& before, const Segments& after) {
  std::string diff;
  for (const auto& [name, bytes] : before) {
    const auto it = after.find(name);
    if (it == after.end()) {
      diff += " " + name + " is gone;";
      continue;
    }
    if (it->second == bytes) continue;
    size_t at = 0;
    while (at < bytes.size() && at < it->second.size() && bytes[at] == it->second[at]) {
      ++at;
    }
    diff += " " + name + " changed (" + std::to_string(bytes.size()) + " -> " +
            std::to_string(it->second.size()) + " bytes, first difference at offset " +
            std::to_string(at) + ");";
  }
  for (const auto& [name, bytes] : after) {
    if (!before.contains(name)) diff += " " + name + " is new;";
  }
  if (diff.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the segments changed:" << diff;
}

void edit(const std::string& path, size_t offset, std::span<const uint8_t> bytes) {
  std::string data = read_file(path);
  ASSERT_LE(offset + bytes.size(), data.size()) << path;
  std::memcpy(data.data() + offset, bytes.data(), bytes.size());
  write_file(path, data);
}

void flip_bit(const std::string& path, size_t offset, uint8_t mask) {
  std::string data = read_file(path);
  ASSERT_LT(offset, data.size()) << path;
  data[offset] = static_cast<char>(data[offset] ^ mask);
  write_file(path, data);
}

void reseal_header(const std::string& path, size_t record_offset) {
  const std::string data = read_file(path);
  ASSERT_LE(record_offset + fmt::kHeaderLen, data.size()) << path;
  uint8_t header[fmt::kHeaderLen];
  std::memcpy(header, data.data() + record_offset, fmt::kHeaderLen);
  std::memset(header + fmt::kHeaderCrcOffset, 0, 4);
  set_field<uint32_t>(path, record_offset, fmt::kHeaderCrcOffset,
                      kaya::crc32c::value(header));
}

}  // namespace kaya::tool::testing::rp_repro
