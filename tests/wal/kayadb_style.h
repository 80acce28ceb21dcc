// A KayaDB-style reader and writer, written from docs/format.md alone: their own
// CRC32C, their own header layout, plain file reads. They share no code with kaya's
// codec, so a change to kaya's files that a KayaDB reader cannot follow fails the tests
// that use them (kayadb_compat_test, extensions_test). Like KayaDB's recovery, the
// reader ends a segment at the first record it cannot parse (unknown type, non-zero
// flags, a version other than 1); in the last segment that ends the log.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace kaya::wal::kayadb_style {

namespace fs = std::filesystem;

// --- a KayaDB-style reader and writer, from docs/format.md --------------------------

inline uint32_t crc32c(const uint8_t* data, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
  }
  return ~crc;
}

inline uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

struct PutRecord {
  uint64_t lsn = 0;
  uint64_t sequence = 0;
  std::string key;
  std::string value;
  bool operator==(const PutRecord&) const = default;
};

inline constexpr size_t kHeader = 40;
inline constexpr uint32_t kMagic = 0x4B415941;

// One Put record in format v1.
inline std::vector<uint8_t> encode_put(const PutRecord& r) {
  std::vector<uint8_t> payload;
  put_le(payload, r.key.size(), 4);
  put_le(payload, r.value.size(), 4);
  payload.insert(payload.end(), r.key.begin(), r.key.end());
  payload.insert(payload.end(), r.value.begin(), r.value.end());
  std::vector<uint8_t> out;
  put_le(out, kMagic, 4);
  put_le(out, 1, 2);   // version
  put_le(out, 40, 2);  // header_len
  put_le(out, 0, 2);   // flags
  put_le(out, 1, 2);   // type Put
  put_le(out, r.lsn, 8);
  put_le(out, r.sequence, 8);
  put_le(out, payload.size(), 4);
  put_le(out, 0, 4);  // header CRC, set below
  put_le(out, crc32c(payload.data(), payload.size()), 4);
  const uint32_t header_crc = crc32c(out.data(), out.size());
  for (int i = 0; i < 4; ++i) out[32 + i] = static_cast<uint8_t>(header_crc >> (8 * i));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

inline std::vector<uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline bool is_segment_name(const std::string& name) {
  if (name.size() != 20 || name.substr(16) != ".wal") return false;
  return std::all_of(name.begin(), name.begin() + 16, [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

struct KayaDbRead {
  std::vector<PutRecord> records;
  std::vector<std::string> segments;  // the files it read, in order
  std::string error;                  // empty: read to a clean end or a torn tail
};

// Reads `root`/wal/*.wal in name order, record by record. A bad record ends the log in
// the last segment (a torn tail) and is an error anywhere else; LSNs must step by one.
inline KayaDbRead kayadb_read(const std::string& root) {
  KayaDbRead out;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fs::path(root) / "wal")) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && is_segment_name(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (size_t s = 0; s < names.size(); ++s) {
    out.segments.push_back(names[s]);
    const std::vector<uint8_t> bytes = read_file(fs::path(root) / "wal" / names[s]);
    size_t at = 0;
    while (at < bytes.size()) {
      const uint8_t* h = bytes.data() + at;
      bool valid = bytes.size() - at >= kHeader && get_le(h, 4) == kMagic &&
                   get_le(h + 4, 2) == 1 && get_le(h + 6, 2) == kHeader &&
                   get_le(h + 8, 2) == 0 && get_le(h + 10, 2) == 1;
      uint64_t len = 0;
      if (valid) {
        std::array<uint8_t, kHeader> copy;
        std::copy(h, h + kHeader, copy.begin());
        std::fill(copy.begin() + 32, copy.begin() + 36, 0);
        len = get_le(h + 28, 4);
        valid = crc32c(copy.data(), kHeader) == get_le(h + 32, 4) &&
                bytes.size() - at - kHeader >= len &&
                crc32c(h + kHeader, len) == get_le(h + 36, 4) && len >= 8 &&
                8 + get_le(h + kHeader, 4) + get_le(h + kHeader + 4, 4) == len;
      }
      if (!valid) {
        if (s + 1 < names.size()) {
          out.error = names[s] + ": bad record at offset " + std::to_string(at);
        }
        return out;
      }
      PutRecord r;
      r.lsn = get_le(h + 12, 8);
      r.sequence = get_le(h + 20, 8);
      const uint64_t key_len = get_le(h + kHeader, 4);
      const char* key = reinterpret_cast<const char*>(h + kHeader + 8);
      r.key.assign(key, key_len);
      r.value.assign(key + key_len, len - 8 - key_len);
      if (!out.records.empty() && r.lsn != out.records.back().lsn + 1) {
        out.error = names[s] + ": LSN " + std::to_string(r.lsn) + " does not follow " +
                    std::to_string(out.records.back().lsn);
        return out;
      }
      out.records.push_back(std::move(r));
      at += kHeader + len;
    }
  }
  return out;
}

}  // namespace kaya::wal::kayadb_style
