// Real crashes on real files. The test starts crash_child (crash_child.cc) on a log
// under a FileDisk, SIGKILLs it at a random instant, recovers the log and checks it
// against what the child acknowledged; then starts the next child on the same log, so
// the kills accumulate. Some iterations kill the child while it runs recovery (after a
// torn record was planted at the end of the log) instead.
//
// A SIGKILL takes the process, not the page cache: every acknowledged append, strict or
// relaxed, must come back, except below a release point the child announced and above
// the LSN a completed truncation kept the log up to; a truncation the kill interrupted
// leaves the log before it or the truncated one, never a hole or a mix. Records
// appended after a truncation take its LSNs again: an LSN must hold the record of the
// latest acknowledged append there. Some iterations kill the child right after it
// announced a truncation, so that kills land inside truncations.
//
// The log is opted into atomic batches, and one append in four is a batch of 2 to 5
// records (crash_record.h, batch_size()): after every recovery the log holds every
// record of each acknowledged batch, and of the batch a thread had in flight at the
// kill all records or none; it never starts or ends inside a batch. Some recovery kills
// run over a torn batch planted at the end of the log (its first records complete, its
// last one torn), which recovery must cut whole.
//
// KAYA_KILLS=<n> sets the number of kills (default 200); KAYA_SEED=<s> replays the
// seed's payloads, delays and choice of iterations (the kill instants follow timing).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "crash_disk.h"
#include "crash_record.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery.h"
#include "testing/test_util.h"

#ifndef KAYA_CRASH_CHILD
#error \
    "KAYA_CRASH_CHILD must name the crash_child binary (see tests/crash/CMakeLists.txt)"
#endif

namespace kaya::crash {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kThreads = 4;
constexpr uint64_t kSegmentMaxBytes = 8 << 10;
constexpr uint64_t kReleaseMargin = 500;  // records kept behind the newest ack
constexpr uint64_t kMaxRecordBytes = 4096;

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

wal::WalConfig log_config() {
  wal::WalConfig config;
  config.segment_max_bytes = kSegmentMaxBytes;
  config.max_record_bytes = kMaxRecordBytes;
  return config;
}

// A running crash_child with its stdout on a pipe. The destructor kills and reaps it,
// so a failing assertion leaves no process behind.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
      std::vector<char*> argv;
      std::string bin = KAYA_CRASH_CHILD;
      argv.push_back(bin.data());
      std::vector<std::string> copy = args;
      for (std::string& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
    ::close(fds[1]);
    if (pid_ < 0) {
      ::close(fds[0]);
      return;
    }
    fd_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0) kill_and_wait();
    if (fd_ >= 0) ::close(fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return fd_ >= 0; }
  const std::string& out() const { return out_; }

  // Reads stdout until `deadline`, EOF, or (when `line_prefix` is not empty) a complete
  // line starting with it has arrived. Returns false at EOF.
  bool read_until(Clock::time_point deadline, const std::string& line_prefix = "") {
    while (fd_ >= 0) {
      if (!line_prefix.empty() && has_line(line_prefix)) return true;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() < 0) return true;
      pollfd p{fd_, POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) continue;  // timeout: the loop re-checks the deadline
      char buf[65536];
      const ssize_t got = ::read(fd_, buf, sizeof(buf));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        ::close(fd_);
        fd_ = -1;
        return false;
      }
      out_.append(buf, static_cast<size_t>(got));
    }
    return false;
  }

  // SIGKILLs the child, reads the rest of its output and reaps it. Returns the wait
  // status.
  int kill_and_wait() {
    ::kill(pid_, SIGKILL);
    while (fd_ >= 0) read_until(Clock::now() + std::chrono::seconds(10));
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  bool has_line(const std::string& prefix) const {
    for (size_t pos = 0; pos < out_.size();) {
      const size_t end = out_.find('\n', pos);
      if (end == std::string::npos) return false;
      if (out_.compare(pos, prefix.size(), prefix) == 0) return true;
      pos = end + 1;
    }
    return false;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string out_;
};

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

// The complete lines of a child's output.
std::vector<std::string> complete_lines(const std::string& out) {
  std::vector<std::string> lines;
  size_t pos = 0;
  for (size_t end; (end = out.find('\n', pos)) != std::string::npos; pos = end + 1) {
    lines.push_back(out.substr(pos, end - pos));
  }
  return lines;
}

struct Totals {
  uint64_t kills = 0;
  uint64_t kills_before_open = 0;  // the child had not opened the writer yet
  uint64_t recovery_kills = 0;
  uint64_t recovery_kills_in_first_pass = 0;
  uint64_t recovery_passes = 0;                    // completed by children later killed
  uint64_t recovery_kills_pending_truncation = 0;  // over an interrupted truncation
  uint64_t torn_planted = 0;
  uint64_t acks_strict = 0;
  uint64_t acks_relaxed = 0;
  uint64_t batches_acked = 0;           // of those acks, atomic batches
  uint64_t batch_records_acked = 0;     // records in them
  uint64_t batches_in_flight = 0;       // announced (B) and not acknowledged at a kill
  uint64_t batches_in_flight_kept = 0;  // of those, recovered whole (else none of it)
  uint64_t torn_batches_planted = 0;
  uint64_t truncations_refused = 0;  // an LSN inside a batch (the child tries the next)
  uint64_t releases = 0;
  uint64_t truncations = 0;           // completed (the child announced the return)
  uint64_t truncations_emptying = 0;  // of those, after the first LSN - 1
  uint64_t records_truncated = 0;     // removed by them
  uint64_t truncation_kills = 0;      // the kill landed inside a truncation
  uint64_t truncation_kills_cut = 0;  // of those, the log came back truncated
  uint64_t unacked_recovered = 0;     // written but not acknowledged when killed
  uint64_t torn_tails = 0;
  uint64_t records_recovered = 0;  // summed over every recovery
  uint64_t final_records = 0;
  uint64_t final_next_lsn = 0;
};

// What the test knows about the log.
struct Oracle {
  uint64_t seed = 0;
  // Segments holding only records below this may have been released.
  uint64_t release_below = 0;
  // Every acknowledged record and every record a recovery found, by LSN, minus those
  // gone from the log's front (released) and those a completed truncation removed: the
  // latest record acknowledged or found at each LSN.
  std::map<uint64_t, RecordId> known;
  // The LSN the last completed truncation kept the log up to (nullopt: none yet): a
  // log without records has the next LSN after it.
  std::optional<uint64_t> last_cut;
  // A truncation the kill interrupted: the log is the one before it or the truncated
  // one, which the next recovery tells.
  std::optional<uint64_t> pending_cut;
  uint64_t next_lsn = 1;   // after the last recovery
  uint64_t first_lsn = 1;  // after the last recovery (next_lsn when no record)
  uint64_t records = 0;
  uint64_t next_sequence = 1;
  uint64_t last_segment_id = 0;
  uint64_t last_segment_valid_bytes = 0;  // where its records end (zeros may follow)
  // The atomic batches among the known records: first LSN -> last LSN.
  std::map<uint64_t, uint64_t> batches;
};

// The run of the records plant_torn_batch() writes: no child has it.
constexpr uint64_t kPlantedRun = ~0ull - 1;

struct Found {
  uint64_t lsn;
  RecordId id;
};

// What the killed append child did that recovery may find beyond its acknowledgements:
// at most one record per thread, the one after its last acknowledged (an append that
// returned but was not announced, or was being written), at an LSN from `lowest_lsn` on
// (the next LSN when it opened, or after its last truncation).
struct KilledRun {
  uint64_t run = 0;
  uint64_t lowest_lsn = 1;
  std::map<uint64_t, uint64_t> next_counter;  // per thread (0: nothing acknowledged)
  // Per thread, the batch it announced (B) and was not acknowledged (C) for: its first
  // counter and number of records. A thread without one had a plain append in flight.
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> batch_in_flight;
};

// The batch of `batches` that LSN `lsn` lies strictly inside of (more of its records
// follow `lsn`), if any: its first and last LSN.
std::optional<std::pair<uint64_t, uint64_t>> batch_around(
    const std::map<uint64_t, uint64_t>& batches, uint64_t lsn) {
  auto it = batches.upper_bound(lsn);
  if (it == batches.begin()) return std::nullopt;
  --it;
  if (lsn >= it->first && lsn < it->second) return *it;
  return std::nullopt;
}

// Recovers the log (default mode, applied) and checks it against the oracle; then the
// oracle learns what the log holds. `run` is the run whose child was just killed (its
// unacknowledged records may be present), or none after a recovery kill.
void recover_and_check(const std::string& dir, Oracle& oracle,
                       const std::optional<KilledRun>& run, Totals& totals) {
  KAYA_ASSERT_OK(release_dead_writer(dir));
  auto disk = open_crash_disk(dir, /*create=*/false);
  KAYA_ASSERT_OK(disk);
  std::vector<Found> found;
  std::string visit_error;
  auto report = wal::recover(
      log_config(), **disk, {},
      [&](uint64_t, uint64_t, const wal::RecordView& r) -> Status {
        const uint64_t lsn = r.lsn.value();
        auto id = parse_key(r.key);
        if (visit_error.empty()) {
          if (r.type != wal::RecordType::kPut || !id) {
            visit_error = "LSN " + std::to_string(lsn) + ": not a record the child " +
                          "writes (key '" + std::string(r.key) + "')";
          } else if (r.value != record_value(oracle.seed, *id)) {
            visit_error = "LSN " + std::to_string(lsn) + " (" + std::string(r.key) +
                          "): value differs from the child's";
          } else if (!found.empty() && lsn != found.back().lsn + 1) {
            visit_error = "LSN " + std::to_string(lsn) + " follows LSN " +
                          std::to_string(found.back().lsn);
          }
        }
        if (id) found.push_back({lsn, *id});
        return {};
      });
  ASSERT_TRUE(report.ok()) << "recovery failed: " << report.error().to_string();
  ASSERT_EQ(visit_error, "");
  for (const wal::Anomaly& a : report->anomalies) {
    ASSERT_EQ(a.kind, wal::AnomalyKind::kTornTail) << a.to_string();
    totals.torn_tails++;
  }
  ASSERT_EQ(report->records, found.size());
  totals.records_recovered += found.size();
  const uint64_t last = found.empty() ? 0 : found.back().lsn;
  if (oracle.pending_cut) {
    // The interrupted truncation either happened or did not: the log ends at its cut
    // or where it ended before (the checks below then miss no record of either).
    const uint64_t cut = *oracle.pending_cut;
    const bool had_more = !oracle.known.empty() && oracle.known.rbegin()->first > cut;
    if (!had_more || last <= cut) {
      oracle.known.erase(oracle.known.upper_bound(cut), oracle.known.end());
      oracle.batches.erase(oracle.batches.upper_bound(cut), oracle.batches.end());
      oracle.last_cut = cut;
      if (had_more) totals.truncation_kills_cut++;
    }
    oracle.pending_cut.reset();
  }
  const uint64_t first = found.empty() ? report->next_lsn.value() : found.front().lsn;
  if (found.empty()) {
    ASSERT_EQ(report->next_lsn.value(), oracle.last_cut ? *oracle.last_cut + 1 : 1)
        << "a log without records continues at another LSN";
  } else {
    ASSERT_EQ(report->next_lsn.value(), last + 1);
    ASSERT_LE(first, std::max<uint64_t>(oracle.release_below, 1))
        << "records released above the announced release point";
  }

  // Every known record at or above the log's first LSN is there, unchanged; those
  // below it were released and are forgotten.
  while (!oracle.known.empty() && oracle.known.begin()->first < first) {
    const RecordId gone = oracle.known.begin()->second;
    ASSERT_LT(oracle.known.begin()->first, oracle.release_below)
        << "LSN " << oracle.known.begin()->first << " (" << record_key(gone)
        << ") is missing but was never released";
    oracle.known.erase(oracle.known.begin());
  }
  for (const auto& [lsn, id] : oracle.known) {
    ASSERT_FALSE(found.empty()) << "acknowledged record " << record_key(id) << " at LSN "
                                << lsn << " lost (the log holds no record)";
    ASSERT_LE(lsn, last) << "acknowledged record " << record_key(id) << " at LSN " << lsn
                         << " lost (log ends at LSN " << last << ")";
    ASSERT_EQ(found[lsn - first].id, id)
        << "LSN " << lsn << " holds " << record_key(found[lsn - first].id)
        << ", not the latest record acknowledged there";
  }
  // Never part of a batch: the log neither starts nor ends inside a known one (every
  // record of an acknowledged batch is back, checked above), and no record of a torn
  // batch planted at its end came back.
  std::erase_if(oracle.batches, [&](const auto& b) { return b.second < first; });
  if (auto b = batch_around(oracle.batches, first - 1)) {
    FAIL() << "the log starts at LSN " << first << ", inside the batch of LSNs "
           << b->first << ".." << b->second;
  }
  if (auto b = batch_around(oracle.batches, last)) {
    FAIL() << "the log ends at LSN " << last << ", inside the batch of LSNs " << b->first
           << ".." << b->second;
  }
  for (const Found& f : found) {
    ASSERT_NE(f.id.run, kPlantedRun)
        << "LSN " << f.lsn << " (" << record_key(f.id)
        << ") is part of the torn batch planted at the end of the log: recovery kept "
           "records of a batch whose last record is torn";
  }
  // What was never acknowledged nor seen before is, for each thread of the killed run,
  // what it had in flight: the one record after its last acknowledged one, or all the
  // records of the batch it announced (never a part of them).
  struct Unacked {
    uint64_t first_lsn = 0;
    uint64_t records = 0;
  };
  std::map<uint64_t, Unacked> unacked_per_thread;
  for (const Found& f : found) {
    if (oracle.known.contains(f.lsn)) continue;
    ASSERT_TRUE(run.has_value() && f.id.run == run->run && f.lsn >= run->lowest_lsn)
        << "LSN " << f.lsn << " (" << record_key(f.id)
        << ") was neither acknowledged nor written by the killed child";
    const auto it = run->next_counter.find(f.id.thread);
    const uint64_t next = it == run->next_counter.end() ? 0 : it->second;
    Unacked& u = unacked_per_thread[f.id.thread];
    if (u.records == 0) u.first_lsn = f.lsn;
    ASSERT_EQ(f.id.counter, next + u.records)
        << "LSN " << f.lsn << " (" << record_key(f.id)
        << "): not the append that followed the thread's last acknowledged one";
    ASSERT_EQ(f.lsn, u.first_lsn + u.records)
        << "LSN " << f.lsn << " (" << record_key(f.id)
        << "): the records of a batch are not contiguous";
    u.records++;
    totals.unacked_recovered++;
  }
  for (const auto& [thread, u] : unacked_per_thread) {
    const auto b = run->batch_in_flight.find(thread);
    const uint64_t n = b == run->batch_in_flight.end() ? 1 : b->second.second;
    ASSERT_EQ(u.records, n) << "LSNs " << u.first_lsn << ".."
                            << u.first_lsn + u.records - 1 << ": " << u.records
                            << " of the " << n << " records thread " << thread
                            << " had in flight came back: part of a batch";
    if (n > 1) {
      oracle.batches.emplace(u.first_lsn, u.first_lsn + n - 1);
      totals.batches_in_flight_kept++;
    }
  }
  for (const Found& f : found) oracle.known.emplace(f.lsn, f.id);
  oracle.next_lsn = report->next_lsn.value();
  oracle.first_lsn = first;
  oracle.records = found.size();
  oracle.next_sequence = report->next_sequence ? report->next_sequence->value() : 1;
  oracle.last_segment_id = report->segments.empty() ? 0 : report->segments.back().id;
  oracle.last_segment_valid_bytes =
      report->segments.empty() ? 0 : report->segments.back().valid_bytes;
}

// Parses an append child's output into the oracle: acknowledged records, releases and
// truncations; `killed` learns what recovery may find beyond the acknowledgements.
void absorb_append_output(const std::string& out, Oracle& oracle, Totals& totals,
                          bool& opened, KilledRun& killed) {
  killed.lowest_lsn = oracle.next_lsn;
  bool empties = false;  // the pending truncation empties the log
  for (const std::string& line : complete_lines(out)) {
    std::istringstream in(line);
    char tag = 0;
    in >> tag;
    if (tag == 'S') {
      // started; Writer::open follows
    } else if (tag == 'O') {
      uint64_t next = 0;
      in >> next;
      ASSERT_EQ(next, oracle.next_lsn) << "the writer reopened at another LSN";
      opened = true;
    } else if (tag == 'R') {
      uint64_t below = 0;
      in >> below;
      oracle.release_below = std::max(oracle.release_below, below);
      totals.releases++;
    } else if (tag == 'T') {
      uint64_t cut = 0;
      uint64_t first = 0;
      in >> cut >> first;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_FALSE(oracle.pending_cut.has_value()) << "truncations overlap: " << line;
      oracle.pending_cut = cut;
      empties = cut + 1 == first;
    } else if (tag == 'X') {
      uint64_t cut = 0;
      in >> cut;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_EQ(oracle.pending_cut, std::optional<uint64_t>(cut)) << line;
      ASSERT_TRUE(batch_around(oracle.batches, cut).has_value())
          << "a truncation refused an LSN the test knows is not inside a batch: " << line;
      oracle.pending_cut.reset();
      totals.truncations_refused++;
    } else if (tag == 'U') {
      uint64_t cut = 0;
      uint64_t removed = 0;
      in >> cut >> removed;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_EQ(oracle.pending_cut, std::optional<uint64_t>(cut)) << line;
      oracle.pending_cut.reset();
      // No append was in flight (crash_child.cc): the records above the cut are the
      // ones the test knows of, acknowledged or found by the last recovery.
      const auto above = oracle.known.upper_bound(cut);
      ASSERT_EQ(removed, static_cast<uint64_t>(std::distance(above, oracle.known.end())))
          << "the truncation removed records the test does not know of: " << line;
      oracle.known.erase(above, oracle.known.end());
      ASSERT_FALSE(batch_around(oracle.batches, cut).has_value())
          << "a truncation cut inside a batch: " << line;
      oracle.batches.erase(oracle.batches.upper_bound(cut), oracle.batches.end());
      oracle.last_cut = cut;
      killed.lowest_lsn = cut + 1;
      totals.truncations++;
      if (empties) totals.truncations_emptying++;
      totals.records_truncated += removed;
    } else if (tag == 'A') {
      uint64_t lsn = 0;
      char mode = 0;
      RecordId id{killed.run, 0, 0};
      in >> lsn >> mode >> id.thread >> id.counter;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_EQ(mode == 'S', record_is_strict(oracle.seed, id)) << line;
      ASSERT_GE(lsn, killed.lowest_lsn) << "LSN below the log's end: " << line;
      auto [it, inserted] = oracle.known.emplace(lsn, id);
      ASSERT_TRUE(inserted) << "LSN acknowledged twice with no truncation between: "
                            << line;
      ASSERT_FALSE(killed.batch_in_flight.contains(id.thread)) << line;
      killed.next_counter[id.thread] = id.counter + 1;
      (mode == 'S' ? totals.acks_strict : totals.acks_relaxed)++;
    } else if (tag == 'B') {
      RecordId id{killed.run, 0, 0};
      uint64_t n = 0;
      in >> id.thread >> id.counter >> n;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_EQ(n, batch_size(oracle.seed, id)) << line;
      ASSERT_EQ(id.counter, killed.next_counter[id.thread]) << line;
      ASSERT_TRUE(
          killed.batch_in_flight.emplace(id.thread, std::pair(id.counter, n)).second)
          << "two batches in flight in one thread: " << line;
    } else if (tag == 'C') {
      uint64_t lsn = 0;
      char mode = 0;
      RecordId id{killed.run, 0, 0};
      uint64_t n = 0;
      in >> lsn >> mode >> id.thread >> id.counter >> n;
      ASSERT_FALSE(in.fail()) << "bad line: " << line;
      ASSERT_EQ(mode == 'S', record_is_strict(oracle.seed, id)) << line;
      ASSERT_EQ(killed.batch_in_flight[id.thread], std::pair(id.counter, n))
          << "a batch acknowledged that was not announced: " << line;
      killed.batch_in_flight.erase(id.thread);
      ASSERT_GE(lsn, killed.lowest_lsn) << "LSN below the log's end: " << line;
      for (uint64_t i = 0; i < n; ++i) {
        auto [it, inserted] =
            oracle.known.emplace(lsn + i, RecordId{id.run, id.thread, id.counter + i});
        ASSERT_TRUE(inserted) << "LSN " << lsn + i
                              << " acknowledged twice with no truncation between: "
                              << line;
      }
      oracle.batches.emplace(lsn, lsn + n - 1);
      killed.next_counter[id.thread] = id.counter + n;
      (mode == 'S' ? totals.acks_strict : totals.acks_relaxed)++;
      totals.batches_acked++;
      totals.batch_records_acked += n;
    } else {
      FAIL() << "unexpected line from the child: " << line;
    }
  }
  if (oracle.pending_cut) totals.truncation_kills++;
  totals.batches_in_flight += killed.batch_in_flight.size();
}

// $KAYA_KILL_DELAY_SCALE stretches the time before a kill (default 1): a log on a
// cluster, where each write is a network round trip, needs longer runs to see acks.
uint64_t delay_scale() {
  const char* v = std::getenv("KAYA_KILL_DELAY_SCALE");
  return v != nullptr && *v != '\0' ? std::max<uint64_t>(1, std::strtoull(v, nullptr, 10))
                                    : 1;
}

// Runs the appending child for a random time, kills it, then checks the log, unless
// the kill landed inside a truncation and `defer_check` is set: then a recovery child
// meets the interrupted truncation first (recover_and_kill).
void append_and_kill(const std::string& dir, uint64_t run, std::mt19937_64& rng,
                     Oracle& oracle, Totals& totals, bool defer_check) {
  Child child({"append", dir, std::to_string(oracle.seed), std::to_string(run),
               std::to_string(kThreads), std::to_string(kSegmentMaxBytes),
               std::to_string(kReleaseMargin), std::to_string(oracle.first_lsn)});
  ASSERT_TRUE(child.started()) << "fork/pipe failed: " << std::strerror(errno);
  // Mostly kill while appending; now and then from the start of Writer::open on, its
  // recovery included (not while the process is still loading); now and then right
  // after a truncation started (it takes several syncs: the kill mostly lands inside
  // it); and now and then a little after a truncation returned (appends take its LSNs
  // again).
  const uint64_t kind = rng() % 8;
  ASSERT_TRUE(
      child.read_until(Clock::now() + std::chrono::seconds(30), kind < 2 ? "S" : "O "))
      << "the child ended before opening the log:\n"
      << child.out();
  if (kind >= 6) {
    ASSERT_TRUE(child.read_until(Clock::now() + std::chrono::seconds(30),
                                 kind == 6 ? "T " : "U "))
        << "the child ended before truncating:\n"
        << child.out();
  }
  const auto delay =
      kind == 6   ? std::chrono::microseconds(rng() % 3000)
      : kind == 7 ? std::chrono::microseconds((1000 + rng() % 20000) * delay_scale())
                  : std::chrono::microseconds((2000 + rng() % 58000) * delay_scale());
  ASSERT_TRUE(child.read_until(Clock::now() + delay)) << "the child ended by itself:\n"
                                                      << child.out();
  const int status = child.kill_and_wait();
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child " << describe_status(status) << " (its stderr is above)";
  totals.kills++;
  bool opened = false;
  KilledRun killed;
  killed.run = run;
  absorb_append_output(child.out(), oracle, totals, opened, killed);
  if (::testing::Test::HasFatalFailure()) return;
  if (!opened) totals.kills_before_open++;
  if (defer_check && oracle.pending_cut) return;
  recover_and_check(dir, oracle, killed, totals);
}

// Appends a prefix of the record that would come next to the last segment: what a
// write cut short by a crash leaves.
void plant_torn_record(const std::string& dir, std::mt19937_64& rng,
                       const Oracle& oracle) {
  const std::string key = record_key({~0ull, 0, 0});
  const std::string value(rng() % 200, 'x');
  auto encoded = wal::encode(wal::Payload::put(key, value), Lsn(oracle.next_lsn),
                             SequenceNumber(oracle.next_sequence));
  KAYA_ASSERT_OK(encoded);
  const size_t len = 1 + rng() % (encoded->size() - 1);
  // Through the Disk (no lock taken), so that it works on RADOS objects too.
  auto disk = open_crash_disk(dir, /*create=*/false);
  KAYA_ASSERT_OK(disk);
  const auto path =
      io::RelativePath::parse(wal::format::segment_path(oracle.last_segment_id)).value();
  KAYA_ASSERT_OK((*disk)->append(path, io::ByteView(encoded->data(), len)));
}

// Writes the start of the atomic batch that would come next where the last segment's
// records end (before the zeros of preallocated space): its first records complete,
// then a prefix (maybe empty) of the next one, never its last record: what a crash
// leaves of a batch's write cut short. Recovery must cut it whole.
void plant_torn_batch(const std::string& dir, std::mt19937_64& rng,
                      const Oracle& oracle) {
  const uint64_t n = 2 + rng() % 4;
  const uint64_t complete = 1 + rng() % (n - 1);  // records before the torn one
  std::vector<uint8_t> bytes;
  for (uint64_t i = 0; i <= complete; ++i) {
    const RecordId id{kPlantedRun, 0, i};
    const std::string key = record_key(id);
    const std::string value = record_value(oracle.seed, id);
    const wal::Payload payload = wal::Payload::put(key, value);
    std::vector<uint8_t> record(payload.encoded_len());
    KAYA_ASSERT_OK(wal::encode_unsealed(payload, record));
    uint16_t flags = wal::format::kFlagLogBatches;
    if (i + 1 < n) flags |= wal::format::kFlagBatchContinues;
    record[wal::format::kFlagsOffset] = static_cast<uint8_t>(flags & 0xff);
    record[wal::format::kFlagsOffset + 1] = static_cast<uint8_t>(flags >> 8);
    wal::seal(record, Lsn(oracle.next_lsn + i), SequenceNumber(oracle.next_sequence + i));
    if (i == complete) record.resize(rng() % record.size());  // torn
    bytes.insert(bytes.end(), record.begin(), record.end());
  }
  auto disk = open_crash_disk(dir, /*create=*/false);
  KAYA_ASSERT_OK(disk);
  const auto path =
      io::RelativePath::parse(wal::format::segment_path(oracle.last_segment_id)).value();
  KAYA_ASSERT_OK((*disk)->write_at(path, oracle.last_segment_valid_bytes,
                                   io::ByteView(bytes.data(), bytes.size())));
}

// Kills a child that runs recovery over and over; every pass it finished must have
// found the same log, and the next recovery must too. On a log whose truncation a kill
// interrupted (oracle.pending_cut), the first pass completes or forgets it.
void recover_and_kill(const std::string& dir, std::mt19937_64& rng, Oracle& oracle,
                      Totals& totals) {
  const bool pending = oracle.pending_cut.has_value();
  if (pending) totals.recovery_kills_pending_truncation++;
  const bool torn = !pending && rng() % 2 == 0;
  if (torn) {
    const bool batch = rng() % 2 == 0;
    if (batch) {
      plant_torn_batch(dir, rng, oracle);
    } else {
      plant_torn_record(dir, rng, oracle);
    }
    if (::testing::Test::HasFatalFailure()) return;
    (batch ? totals.torn_batches_planted : totals.torn_planted)++;
  }
  const uint64_t records = oracle.records;
  const uint64_t next_lsn = oracle.next_lsn;
  std::vector<std::string> passes;
  // The killed appender's lock (RADOS) when its truncation was left for this child.
  KAYA_ASSERT_OK(release_dead_writer(dir));
  {
    Child child({"recover", dir});
    ASSERT_TRUE(child.started()) << "fork/pipe failed: " << std::strerror(errno);
    // The kill falls within the recovery passes, not the loading of the process.
    ASSERT_TRUE(child.read_until(Clock::now() + std::chrono::seconds(30), "R"))
        << "the child ended before recovering:\n"
        << child.out();
    // Half the kills within the first few passes (the first one repairs), half later.
    const auto delay =
        std::chrono::microseconds(rng() % 2 ? rng() % 3000 : rng() % 100000);
    ASSERT_TRUE(child.read_until(Clock::now() + delay)) << "the child ended by itself:\n"
                                                        << child.out();
    const int status = child.kill_and_wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child " << describe_status(status) << " (its stderr is above)";
    totals.recovery_kills++;
    auto lines = complete_lines(child.out());
    std::erase(lines, "R");
    if (lines.empty()) totals.recovery_kills_in_first_pass++;
    totals.recovery_passes += lines.size();
    passes = lines;
  }
  recover_and_check(dir, oracle, std::nullopt, totals);
  if (!pending) {
    ASSERT_EQ(oracle.records, records);
    ASSERT_EQ(oracle.next_lsn, next_lsn);
  }
  const std::string expected =
      "V " + std::to_string(oracle.records) + " " + std::to_string(oracle.next_lsn);
  for (const std::string& line : passes) {
    ASSERT_EQ(line, expected) << "a recovery pass found another log";
  }
}

uint64_t kills_from_env() {
  const char* v = std::getenv("KAYA_KILLS");
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : 200;
}

TEST(KillTest, AcknowledgedRecordsSurviveSigkill) {
  Oracle oracle;
  oracle.seed = kaya::testing::seed_from_env(1);
  const uint64_t kills = kills_from_env();
  SCOPED_TRACE("seed " + std::to_string(oracle.seed) +
               " (replay: KAYA_SEED=" + std::to_string(oracle.seed) + ")");
  std::mt19937_64 rng(oracle.seed);
  kaya::testing::TempDir tmp;
  // On the RADOS backend (scripts/test-rados.sh) the log is a fresh namespace instead.
  const char* pool = std::getenv("KAYA_CRASH_RADOS_POOL");
  const std::string dir = pool != nullptr && *pool != '\0'
                              ? "rados://" + std::string(pool) + "/log?ns=kill-" +
                                    std::to_string(::getpid()) + "-" +
                                    std::to_string(oracle.seed)
                              : tmp.path();
  SCOPED_TRACE("log " + dir);
  Totals totals;
  const auto start = Clock::now();
  for (uint64_t i = 0; i < kills; ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i));
    if (oracle.pending_cut || (i >= 10 && oracle.records > 0 && rng() % 5 == 0)) {
      recover_and_kill(dir, rng, oracle, totals);
    } else {
      append_and_kill(dir, i, rng, oracle, totals, /*defer_check=*/rng() % 2 == 0);
    }
    if (HasFatalFailure()) return;
  }
  totals.final_records = oracle.records;
  totals.final_next_lsn = oracle.next_lsn;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  std::printf(
      "kill test (seed %llu): %llu append kills (%llu before the writer opened), %llu "
      "recovery kills (%llu in the first pass, %llu passes finished, %llu over a "
      "planted torn record, %llu over a planted torn batch, %llu over an interrupted "
      "truncation); acks checked: %llu strict, %llu relaxed, of which %llu batches "
      "(%llu records); %llu batches in flight at a kill (%llu came back whole, the "
      "others not at all); %llu release points; %llu truncations (%llu emptied the "
      "log, %llu records removed, %llu LSNs refused inside a batch), %llu kills during "
      "one (%llu left the log truncated); %llu unacknowledged records recovered; %llu "
      "torn tails cut; %llu "
      "records recovered in all; final log: %llu records, next LSN %llu; %lld ms\n",
      ull(oracle.seed), ull(totals.kills), ull(totals.kills_before_open),
      ull(totals.recovery_kills), ull(totals.recovery_kills_in_first_pass),
      ull(totals.recovery_passes), ull(totals.torn_planted),
      ull(totals.torn_batches_planted), ull(totals.recovery_kills_pending_truncation),
      ull(totals.acks_strict), ull(totals.acks_relaxed), ull(totals.batches_acked),
      ull(totals.batch_records_acked), ull(totals.batches_in_flight),
      ull(totals.batches_in_flight_kept), ull(totals.releases), ull(totals.truncations),
      ull(totals.truncations_emptying), ull(totals.records_truncated),
      ull(totals.truncations_refused), ull(totals.truncation_kills),
      ull(totals.truncation_kills_cut), ull(totals.unacked_recovered),
      ull(totals.torn_tails), ull(totals.records_recovered), ull(totals.final_records),
      ull(totals.final_next_lsn), static_cast<long long>(ms));
  if (kills >= 50) {
    EXPECT_GT(totals.acks_strict, 0u);
    EXPECT_GT(totals.acks_relaxed, 0u);
    EXPECT_GT(totals.releases, 0u) << "the log never released a segment";
    EXPECT_GT(totals.truncations, 0u) << "the child never truncated the log";
    EXPECT_GT(totals.batches_acked, 0u) << "the child never appended a batch";
    EXPECT_GT(totals.torn_batches_planted, 0u);
  }
}

}  // namespace
}  // namespace kaya::crash
