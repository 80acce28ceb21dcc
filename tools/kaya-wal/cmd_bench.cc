// kaya-wal bench: append throughput and commit latency of kaya next to the same
// workload written to the raw store: pwrite (+ fdatasync) next to a log in a
// directory, rados_append next to a log on RADOS.
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "appenders.h"
#include "bench_workload.h"
#include "cli.h"
#include "commands.h"
#include "json.h"
#include "kaya/core/build_config.h"
#include "kaya/io/file_disk.h"
#include "kaya/io/rados_disk.h"
#include "kaya/wal/metrics.h"
#include "kaya/wal/recovery.h"
#include "log_location.h"
#include "stop_on_signal.h"
#if KAYA_HAVE_RADOS
#include "rados_baseline.h"
#endif

namespace kaya::tool {
namespace {

// Defaults: a fixed workload of about 8 s on a small VM (2 cores, a virtio disk doing
// ~3k fsyncs/s from one thread): ~3 s of kaya appends, ~5 s for the baseline.
constexpr int kDefaultThreads = 16;
constexpr uint64_t kDefaultRecords = 50000;
constexpr uint64_t kDefaultRecordBytes = 128;

constexpr std::string_view kHelp =
    R"(usage: kaya-wal bench [--dir DIR] [--threads T] [--records N] [--size BYTES]
                      [--durability strict|relaxed] [--json]

Appends N Put records of BYTES bytes each (encoded size, header included) from T
threads through kaya's Writer (default configuration: group commit, no deliberate
batching), then writes the same workload with raw system calls for comparison: the
same N records of BYTES bytes from the same T threads, each thread taking the next
offset from a shared counter, pwrite()ing its record there and, in strict mode,
fdatasync()ing before its next one (one fsync per record, no group commit; relaxed
mode: pwrite only).

With DIR a RADOS location (rados://POOL/PREFIX[?ns=NAMESPACE]) the baseline is raw
RADOS instead, through librados.so.2 directly (not kaya's RADOS code): each thread
calls the synchronous rados_append() with its record, all threads on one object
"PREFIX/bench-baseline-<pid>-<random>-0" in the log's pool and namespace (as a
segment is one object; a new one every 64 MiB), each call returning once every OSD
of the acting set has the record; the same in relaxed mode, as RADOS has no
unreplicated write. The objects are removed afterwards. There is no fsync: the
baseline's fsyncs and records per fsync are n/a (0 in JSON).

Prints records/s, MB/s (10^6 bytes), fsyncs, records per fsync and commit latency
(p50, p99, p99.9, max: from the call to the acknowledgement, per append) of both, and
the ratio of their records/s. Progress goes to stderr: a live bar on a terminal, a
line per second otherwise, nothing with --json.

SIGINT (Ctrl-C) or SIGTERM stops the run: the appends in flight finish, the log is
closed, the temporary directory is removed (with --dir: the baseline file or RADOS
objects only; the log stays), a note on stderr says which, and bench exits with
128 + the signal (130, 143) without figures. A second signal exits at once, removing
what it can.

flags:
  --dir DIR          write the log into DIR (a directory or a RADOS location) and
                     keep it (`kaya-wal inspect DIR` afterwards); DIR must not
                     hold a log yet. Default: a temporary directory (under
                     $TMPDIR or /tmp), removed at exit (also when a signal stops
                     the run)
  --threads T        appending threads (default 16)
  --records N        records in total (default 50000)
  --size BYTES       encoded record size, at least 48 (default 128)
  --durability MODE  strict (default) or relaxed
  --json             one JSON object:
                     {"dir","kept","threads","records","record_bytes","durability",
                      "kaya":{...},"baseline":{...,"method"},"ratio"}; each of
                     kaya/baseline: {"seconds","records","bytes","records_per_s",
                     "mb_per_s","fsyncs","records_per_fsync","latency_us"}, and
                     kaya also "writer" (the writer's statistics); a RADOS
                     baseline has fsyncs and records_per_fsync 0. latency_us
                     and writer use the metrics JSON of docs/metrics.md: a
                     histogram is {"count","sum","min","max","mean","p50","p90",
                     "p99","p999","buckets"}
)";

struct Settings {
  std::string dir;
  bool keep = false;   // DIR is the user's (--dir): the log stays
  bool rados = false;  // DIR is a RADOS location: the baseline appends to RADOS
  // Where the baseline writes its file: `dir` once prepared; empty for RADOS.
  std::string baseline_dir;
  Workload workload;
  bool json = false;
};

Result<Settings> parse_settings(const Args& args) {
  Settings s;
  KAYA_ASSIGN_OR_RETURN(uint64_t threads, args.u64("threads", kDefaultThreads, 1, 1024));
  s.workload.threads = static_cast<int>(threads);
  KAYA_ASSIGN_OR_RETURN(s.workload.records,
                        args.u64("records", kDefaultRecords, 1, uint64_t{1} << 40));
  KAYA_ASSIGN_OR_RETURN(s.workload.record_bytes,
                        args.u64("size", kDefaultRecordBytes, workload::kMinRecordBytes,
                                 wal::WalConfig::kDefaultMaxRecordBytes));
  KAYA_ASSIGN_OR_RETURN(s.workload.mode, parse_durability(args));
  s.json = args.has("json");
  s.workload.progress = progress_style_for_stderr(s.json);
  if (auto dir = args.value("dir")) {
    if (dir->empty()) return Error(ErrorKind::kInvalidArgument, "--dir is empty");
    s.dir = *dir;
    s.keep = true;
    s.rados = io::is_rados_location(s.dir);
  }
  return s;
}

// A new directory under $TMPDIR (or /tmp) named `prefix` and a unique suffix.
Result<std::string> make_temp_dir(std::string_view prefix) {
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::temp_directory_path(ec);
  if (ec) {
    const char* tmpdir = std::getenv("TMPDIR");
    return Error(ErrorKind::kIo, "no directory for temporary files (TMPDIR=" +
                                     std::string(tmpdir ? tmpdir : "") +
                                     "): " + ec.message() + "; set TMPDIR or use --dir");
  }
  std::string tmpl = (parent / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Error(ErrorKind::kIo, "cannot create a temporary directory " + tmpl + ": " +
                                     std::strerror(errno));
  }
  return tmpl;
}

// The directories to write into: DIR (created when absent, refused when it holds a
// log already: the bench must not append to real data) or a new temporary one; and
// the baseline's (none for RADOS, whose baseline writes to the log's pool).
Status prepare_dirs(Settings& s) {
  if (!s.keep) {
    KAYA_ASSIGN_OR_RETURN(s.dir, make_temp_dir("kaya-bench"));
    s.baseline_dir = s.dir;
    return ok_status();
  }
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::Disk> disk, open_log_for_write(s.dir));
  KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, wal::list_segments(*disk));
  if (!ids.empty()) {
    return Error(ErrorKind::kInvalidArgument,
                 s.dir + " already holds a log (" + std::to_string(ids.size()) +
                     " segments); bench writes only into a new or empty directory");
  }
  if (!s.rados) s.baseline_dir = s.dir;
  return ok_status();
}

std::string baseline_file(const Settings& s) { return s.baseline_dir + "/baseline.dat"; }

// Removes what the run created on the file system that is not the user's: the
// temporary log directory, and the baseline file in the user's DIR (which
// run_baseline removes itself unless a second signal cut it short). Returns the error
// of removing the temporary log directory (none when there is none). (A RADOS
// baseline's objects are removed by run_store_baseline.)
std::error_code remove_temporary(const Settings& s) {
  std::error_code ec, ignored;
  if (!s.baseline_dir.empty()) std::filesystem::remove(baseline_file(s), ignored);
  if (!s.keep && !s.dir.empty()) std::filesystem::remove_all(s.dir, ec);
  return ec;
}

// The baseline next to DIR's store: run_baseline on a file in a directory,
// run_rados_baseline on objects beside a RADOS log (connected after kaya's run, so
// that neither client runs during the other's measurement), whose objects are removed
// afterwards, also when a signal stopped the run, and by a second signal as far as it
// can. A failed removal is a note: the figures stand.
Result<Measurement> run_store_baseline(const Settings& s, StopOnSignal& signals) {
  if (!s.rados) return run_baseline(s.workload, baseline_file(s));
#if KAYA_HAVE_RADOS
  KAYA_ASSIGN_OR_RETURN(std::shared_ptr<RadosBaseline> store,
                        RadosBaseline::connect(s.dir));
  signals.on_second_signal([copy = s, store] {
    try {
      (void)remove_temporary(copy);
      (void)store->remove_objects();
    } catch (...) {  // out of memory: exit anyway
    }
  });
  Result<Measurement> m = run_rados_baseline(s.workload, *store);
  const Status removed = store->remove_objects();
  signals.on_second_signal([copy = s] { (void)remove_temporary(copy); });
  if (!removed.ok()) {
    std::fprintf(stderr, "note: %s\n", removed.error().message().c_str());
  }
  return m;
#else
  (void)signals;  // prepare_dirs refused the location: no RADOS backend
  return Error(ErrorKind::kInvalidArgument,
               s.dir + ": kaya-wal was built without the RADOS backend");
#endif
}

// What happened to DIR, for the header: exact, since it is printed after the fact.
std::string dir_fate(const Settings& s, const std::error_code& removal) {
  if (s.keep) return "kept";
  if (!removal) return "removed";
  return "temporary, but left behind: " + removal.message();
}

// `method` (the baseline's) comes first when given. Histograms and the writer's
// statistics use the library's metrics serialisation (docs/metrics.md).
std::string measurement_json(const Measurement& m, std::string_view method = {}) {
  JsonObject o;
  if (!method.empty()) o.str("method", method);
  o.real("seconds", m.run.seconds)
      .num("records", m.run.records)
      .num("bytes", m.bytes)
      .real("records_per_s", m.records_per_s())
      .real("mb_per_s", m.mb_per_s())
      .num("fsyncs", m.fsyncs)
      .real("records_per_fsync", m.records_per_fsync())
      .raw("latency_us", wal::histogram_json(m.run.latency_us));
  if (m.writer) o.raw("writer", wal::to_json(*m.writer));
  return o.build();
}

std::string baseline_method(const Settings& s) {
  const Workload& w = s.workload;
  const std::string threads =
      std::to_string(w.threads) + (w.threads == 1 ? " thread" : " threads");
#if KAYA_HAVE_RADOS
  if (s.rados) {
    return threads + ", each a synchronous rados_append of " +
           std::to_string(w.record_bytes) +
           " bytes to one object (acknowledged when every OSD of the acting set has "
           "it; a new object every " +
           std::to_string(RadosBaseline::kObjectBytes >> 20) + " MiB, as a segment" +
           (w.mode == wal::DurabilityMode::kStrict
                ? ")"
                : "; RADOS has no unreplicated write, so relaxed is the same)");
  }
#endif
  return threads + ", each pwrite at its own offset (from a shared counter)" +
         (w.mode == wal::DurabilityMode::kStrict ? " then fdatasync: one fsync per record"
                                                 : ", no fdatasync");
}

void print_row(const char* name, const Measurement& m) {
  const Histogram& h = m.run.latency_us;
  char fsyncs[24] = "n/a", per_fsync[24] = "n/a";
  if (m.has_fsyncs) {
    std::snprintf(fsyncs, sizeof fsyncs, "%llu",
                  static_cast<unsigned long long>(m.fsyncs));
    std::snprintf(per_fsync, sizeof per_fsync, "%.1f", m.records_per_fsync());
  }
  std::printf("%-18s %11.0f %8.2f %9s %9s %8llu %8llu %8llu %8llu\n", name,
              m.records_per_s(), m.mb_per_s(), fsyncs, per_fsync,
              static_cast<unsigned long long>(h.percentile(50)),
              static_cast<unsigned long long>(h.percentile(99)),
              static_cast<unsigned long long>(h.percentile(99.9)),
              static_cast<unsigned long long>(h.max()));
}

const char* baseline_label(const Settings& s) {
  if (s.rados) return "rados_append";
  return s.workload.mode == wal::DurabilityMode::kStrict ? "pwrite+fdatasync" : "pwrite";
}

void print_text(const Settings& s, const std::string& fate, const Measurement& kaya,
                const Measurement& base) {
  const Workload& w = s.workload;
  const bool strict = w.mode == wal::DurabilityMode::kStrict;
  std::printf("%llu %s appends of %llu bytes from %d threads, dir %s (%s)\n\n",
              static_cast<unsigned long long>(w.records), strict ? "strict" : "relaxed",
              static_cast<unsigned long long>(w.record_bytes), w.threads, s.dir.c_str(),
              fate.c_str());
  std::printf("%-18s %11s %8s %9s %9s %8s %8s %8s %8s\n", "", "records/s", "MB/s",
              "fsyncs", "rec/fsync", "p50 us", "p99 us", "p99.9 us", "max us");
  print_row(strict ? "kaya strict" : "kaya relaxed", kaya);
  print_row(baseline_label(s), base);
  std::printf(
      "\nratio kaya/baseline: %.2fx records/s (kaya took %.2f s, baseline %.2f s)\n",
      kaya.records_per_s() / base.records_per_s(), kaya.run.seconds, base.run.seconds);
  std::printf("baseline: the same %llu records, %s\n",
              static_cast<unsigned long long>(w.records), baseline_method(s).c_str());
}

bool on_tmpfs(const std::string& dir) {
  struct statfs fs;
  return ::statfs(dir.c_str(), &fs) == 0 &&
         static_cast<uint64_t>(fs.f_type) == TMPFS_MAGIC;
}

}  // namespace

int run_bench(const CommandArgs& argv) {
  Result<Args> args = Args::parse(argv,
                                  {{"dir", true},
                                   {"threads", true},
                                   {"records", true},
                                   {"size", true},
                                   {"durability", true},
                                   {"json", false}},
                                  0, 0);
  if (!args.ok()) return usage_error("bench", args.error());
  if (args->help()) {
    std::fwrite(kHelp.data(), 1, kHelp.size(), stdout);
    return kExitOk;
  }
  Result<Settings> settings = parse_settings(*args);
  if (!settings.ok()) return usage_error("bench", settings.error());
  Settings& s = *settings;
  // Before any thread starts and before anything is created: from here on SIGINT and
  // SIGTERM stop the run, and what it created is removed before the process exits.
  StopOnSignal signals;
  s.workload.stop = &signals.stop_requested();
  // (DIR, created when absent, is the user's: nothing to remove on failure.)
  if (Status st = prepare_dirs(s); !st.ok()) return report_error(st.error());
  signals.on_second_signal([copy = s] { (void)remove_temporary(copy); });
  if (!s.json && !s.rados && on_tmpfs(s.dir)) {
    std::fprintf(stderr,
                 "note: %s is on tmpfs, where fdatasync costs nothing; use --dir on the "
                 "disk you want to measure\n",
                 s.dir.c_str());
  }

  Result<Measurement> kaya = run_kaya(s.workload, s.dir);
  Result<Measurement> base = Measurement{};  // run after a complete kaya run only
  if (kaya.ok() && !signals.stop_requested().load()) {
    base = run_store_baseline(s, signals);
  }
  const std::error_code removal = remove_temporary(s);
  if (signals.signal_number() != 0) {
    if (!kaya.ok()) (void)report_error(kaya.error(), "bench (kaya)");
    std::string held;
    if (s.keep && kaya.ok()) {
      held = " (its log holds the " + std::to_string(kaya->run.records) +
             " records appended before the stop)";
    }
    std::fprintf(stderr, "note: bench stopped by %s; dir %s %s%s\n",
                 signals.signal_name(), s.dir.c_str(), dir_fate(s, removal).c_str(),
                 held.c_str());
    return signals.exit_code();
  }
  if (removal) {
    std::fprintf(stderr, "note: cannot remove the temporary directory %s: %s\n",
                 s.dir.c_str(), removal.message().c_str());
  }
  if (!kaya.ok()) return report_error(kaya.error(), "bench (kaya)");
  if (!base.ok()) return report_error(base.error(), "bench (baseline)");

  if (s.json) {
    const Workload& w = s.workload;
    std::printf("%s\n", JsonObject()
                            .str("dir", s.dir)
                            .boolean("kept", s.keep || removal)
                            .num("threads", static_cast<uint64_t>(w.threads))
                            .num("records", w.records)
                            .num("record_bytes", w.record_bytes)
                            .str("durability", to_string(w.mode))
                            .raw("kaya", measurement_json(*kaya))
                            .raw("baseline", measurement_json(*base, baseline_method(s)))
                            .real("ratio", kaya->records_per_s() / base->records_per_s())
                            .build()
                            .c_str());
  } else {
    print_text(s, dir_fate(s, removal), *kaya, *base);
  }
  return kExitOk;
}

}  // namespace kaya::tool
