#include "bench_log.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "bench_util.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/writer.h"

namespace kaya::bench {
namespace {

namespace fs = std::filesystem;

constexpr size_t kKeyBytes = 8;
// 40-byte header + key_len and value_len fields + the key.
constexpr size_t kRecordOverhead = wal::format::kHeaderLen + 8 + kKeyBytes;
// Written beside wal/ once a log is complete: its figures and its segments' lengths.
constexpr const char* kMarker = "BENCH_LOG";

// Put records of one encoded size; the key is the record's number in hex.
class Records {
 public:
  explicit Records(size_t record_bytes) : value_(record_bytes - kRecordOverhead, '\0') {
    if (record_bytes < kRecordOverhead)
      die("records must be >= " + std::to_string(kRecordOverhead) + " B");
    for (size_t i = 0; i < value_.size(); ++i) value_[i] = static_cast<char>(i * 131 + 7);
  }
  wal::Payload payload(uint64_t i) {
    for (size_t k = 0; k < kKeyBytes; ++k)
      key_[k] = "0123456789abcdef"[(i >> (4 * k)) & 15];
    return wal::Payload::put(std::string_view(key_, kKeyBytes), value_);
  }

 private:
  std::string value_;
  char key_[kKeyBytes] = {};
};

// Segment file name -> length, of root/wal.
std::map<std::string, uint64_t> segment_lengths(const std::string& root) {
  std::map<std::string, uint64_t> out;
  const fs::path wal = fs::path(root) / wal::format::kSegmentDir;
  if (!fs::is_directory(wal)) return out;
  for (const auto& e : fs::directory_iterator(wal)) {
    const std::string name = e.path().filename().string();
    if (wal::format::parse_segment_file_name(name)) out[name] = e.file_size();
  }
  return out;
}

std::string marker_text(uint64_t records, size_t record_bytes,
                        const std::map<std::string, uint64_t>& segments) {
  std::ostringstream out;
  out << "records " << records << " record_bytes " << record_bytes << "\n";
  for (const auto& [name, len] : segments) out << name << " " << len << "\n";
  return out.str();
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) die("cannot write " + path.string());
}

BenchLog describe_log(const std::string& root, uint64_t records, size_t record_bytes) {
  BenchLog log;
  log.root = root;
  log.records = records;
  log.record_bytes = record_bytes;
  for (const auto& [name, len] : segment_lengths(root)) {
    log.file_bytes += len;
    log.segments++;
  }
  return log;
}

}  // namespace

BenchLog build_log(const std::string& root, uint64_t sealed_bytes, size_t record_bytes) {
  const uint64_t n = sealed_bytes / record_bytes + 1;
  const fs::path marker = fs::path(root) / kMarker;
  if (fs::exists(marker) &&
      read_text(marker) == marker_text(n, record_bytes, segment_lengths(root))) {
    BenchLog log = describe_log(root, n, record_bytes);
    log.reused = true;
    return log;
  }
  fs::remove_all(root);
  auto disk = io::FileDisk::open(root);
  if (!disk.ok()) die(disk.error().to_string());
  auto w = wal::Writer::open({}, **disk);
  if (!w.ok()) die(w.error().to_string());
  Records records(record_bytes);
  const auto start = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    auto r = (*w)->append(records.payload(i), wal::DurabilityMode::kRelaxed);
    if (!r.ok()) die(r.error().to_string());
    if (r->encoded_len != record_bytes) die("unexpected record size");
    if (((i + 1) * record_bytes) % (1ull << 30) == 0) {
      std::fprintf(stderr, "  %s: %llu GiB written\n", root.c_str(),
                   static_cast<unsigned long long>((i + 1) * record_bytes >> 30));
    }
  }
  if (Status s = (*w)->sync(); !s.ok()) die(s.error().to_string());
  const double write_s = seconds_since(start);
  if (Status s = (*w)->close(); !s.ok()) die(s.error().to_string());
  w->reset();
  disk->reset();
  write_text(marker, marker_text(n, record_bytes, segment_lengths(root)));
  BenchLog log = describe_log(root, n, record_bytes);
  log.write_s = write_s;
  return log;
}

namespace {

// What the child sends the parent: its progress, or why it failed.
struct ChildReport {
  KilledWriter killed;
  char error[512] = {};
};

// The child's work; never closes the writer (disk and writer are leaked on purpose:
// the process is killed with them open).
ChildReport append_until_nearly_full(const std::string& root, size_t record_bytes) {
  ChildReport out;
  auto fail = [&out](const std::string& what) {
    std::snprintf(out.error, sizeof(out.error), "%s", what.c_str());
    return out;
  };
  auto disk = io::FileDisk::open(root, /*create=*/false);
  if (!disk.ok()) return fail(disk.error().to_string());
  const wal::WalConfig config;
  auto w = wal::Writer::open(config, **disk);
  if (!w.ok()) return fail(w.error().to_string());
  wal::Writer& writer = *w->release();
  disk->release();
  Records records(record_bytes);
  for (uint64_t i = writer.next_lsn().value();; ++i) {
    auto r = writer.append(records.payload(i), wal::DurabilityMode::kRelaxed);
    if (!r.ok()) return fail(r.error().to_string());
    out.killed.last_lsn = r->lsn.value();
    out.killed.segment_id = r->segment_id;
    out.killed.segment_bytes = r->offset + r->encoded_len;
    out.killed.records++;
    // Stop with room for exactly one more record: the next append would not rotate.
    if (out.killed.segment_bytes + 2 * record_bytes > config.segment_max_bytes) break;
  }
  return out;
}

void read_all(int fd, void* data, size_t len) {
  auto* p = static_cast<char*>(data);
  while (len > 0) {
    const ssize_t n = ::read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("the killed writer's child died before reporting");
    p += n;
    len -= static_cast<size_t>(n);
  }
}

}  // namespace

KilledWriter kill_writer_with_full_segment(const std::string& root, size_t record_bytes) {
  int fds[2];
  if (::pipe(fds) != 0) die(std::string("pipe: ") + std::strerror(errno));
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(fds[0]);
    const ChildReport report = append_until_nearly_full(root, record_bytes);
    const char* p = reinterpret_cast<const char*>(&report);
    for (size_t left = sizeof(report); left > 0;) {
      const ssize_t n = ::write(fds[1], p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ::_exit(3);
      p += n;
      left -= static_cast<size_t>(n);
    }
    for (;;) ::pause();  // until SIGKILL: no close, no exit handlers
  }
  ::close(fds[1]);
  ChildReport report;
  read_all(fds[0], &report, sizeof(report));
  ::close(fds[0]);
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (report.error[0] != '\0') die(std::string("killed writer: ") + report.error);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    die("the killed writer's child ended otherwise than by SIGKILL");
  }
  return report.killed;
}

LogSnapshot::LogSnapshot(const std::string& root, const std::string& store)
    : root_(root), store_(store) {
  fs::remove_all(store_);
  fs::create_directories(store_);
  for (const auto& e :
       fs::directory_iterator(fs::path(root_) / wal::format::kSegmentDir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file()) continue;  // directories (wal/lost) are not kept
    if (wal::format::parse_segment_file_name(name)) {
      segments_[name] = e.file_size();
    } else {
      write_text(fs::path(store_) / name, read_text(e.path()));
      copied_[name] = e.file_size();
    }
  }
}

void LogSnapshot::restore() const {
  const fs::path wal = fs::path(root_) / wal::format::kSegmentDir;
  std::vector<fs::path> extra;
  for (const auto& e : fs::directory_iterator(wal)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || (!segments_.count(name) && !copied_.count(name))) {
      extra.push_back(e.path());
    }
  }
  for (const fs::path& p : extra) fs::remove_all(p);
  for (const auto& [name, len] : segments_) {
    std::error_code ec;
    const uint64_t now = fs::file_size(wal / name, ec);
    // A writer appends to the last segment only: cut off what it added.
    if (!ec && now > len && name == segments_.rbegin()->first) {
      fs::resize_file(wal / name, len);
      continue;
    }
    if (ec || now != len) {
      die("cannot restore " + root_ + ": segment " + name + " was " +
          std::to_string(len) + " bytes, is " +
          (ec ? ec.message() : std::to_string(now)));
    }
  }
  for (const auto& [name, len] : copied_) {
    write_text(wal / name, read_text(fs::path(store_) / name));
  }
}

}  // namespace kaya::bench
