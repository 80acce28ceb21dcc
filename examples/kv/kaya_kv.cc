// kaya-kv: a tiny key-value store on the kaya WAL. How it uses kaya: kv_store.h.
//
//   kaya-kv --data DIR put KEY VALUE | get KEY | delete KEY | scan [PREFIX] | checkpoint
//
// put and delete print "OK lsn=N" once the change is durable; get prints the value;
// scan prints "key=value" lines in key order; checkpoint prints what it saved and
// released. An error is one line "error: ..." on stderr and the exit code of its kind
// (exit_code_of below: 2 not found, 3 corruption, 4 bad arguments, 6 store in use, 1
// else).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kv_store.h"

namespace {

constexpr char kUsage[] = R"(usage: kaya-kv --data DIR COMMAND
commands:
  put KEY VALUE   store VALUE under KEY; prints "OK lsn=N" once it is durable
  mput KEY VALUE [KEY VALUE]...
                  store every pair as one atomic batch (all or none after a crash);
                  prints "OK lsn=N" (the last) once all are durable
  get KEY         print the value of KEY (exit 2 when absent)
  delete KEY      remove KEY; prints "OK lsn=N" (exit 2 when absent)
  scan [PREFIX]   print "key=value" lines in key order, only keys starting with PREFIX
  checkpoint      save the state to DIR/CHECKPOINT and release the log it covers
)";

// A program picks its own exit codes; kaya-kv's follow kaya-wal's (docs/tool.md).
int exit_code_of(kaya::ErrorKind kind) {
  switch (kind) {
    case kaya::ErrorKind::kNotFound:
      return 2;
    case kaya::ErrorKind::kCorruption:
      return 3;
    case kaya::ErrorKind::kInvalidArgument:
    case kaya::ErrorKind::kUnsupportedVersion:
      return 4;
    case kaya::ErrorKind::kInvariantViolation:
      return 5;
    case kaya::ErrorKind::kLockConflict:
      return 6;
    default:
      return 1;
  }
}

const int kUsageExit = exit_code_of(kaya::ErrorKind::kInvalidArgument);

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "error: %s\n%s", what.c_str(), kUsage);
  std::exit(kUsageExit);
}

// The kind is in the exit code; the message names what and where.
int fail(const kaya::Error& error) {
  std::fprintf(stderr, "error: %s\n", error.message().c_str());
  return exit_code_of(error.kind());
}

struct Args {
  std::string dir;
  kaya::kv::KvOptions options;
  std::vector<std::string> command;  // the name, then its operands
};

// Options come before the command, so that a key or value may start with "--".
Args parse_args(int argc, char** argv) {
  Args args;
  int i = 1;
  for (; i < argc && std::string_view(argv[i]).starts_with("--"); ++i) {
    const std::string flag = argv[i];
    if (flag == "--help") {
      std::printf("%s", kUsage);
      std::exit(0);
    }
    if (i + 1 == argc) usage_error(flag + " needs a value");
    const char* value = argv[++i];
    if (flag == "--data") {
      args.dir = value;
    } else if (flag == "--segment-max-bytes") {
      // Not in the usage: for tests and demos that want many segments quickly.
      char* end = nullptr;
      args.options.segment_max_bytes = std::strtoull(value, &end, 10);
      if (*value < '0' || *value > '9' || *end != '\0') {
        usage_error("--segment-max-bytes needs a number of bytes, got '" +
                    std::string(value) + "'");
      }
    } else {
      usage_error("unknown option " + flag);
    }
  }
  if (args.dir.empty()) usage_error("--data DIR is required");
  if (i == argc) usage_error("no command given");
  args.command.assign(argv + i, argv + argc);
  return args;
}

// Checked before any I/O, so that a usage error never creates DIR. Keys and values
// that would break scan's one-entry-a-line output are refused here too.
void check_operands(const std::vector<std::string>& command) {
  struct Arity {
    std::string_view name;
    size_t min, max;
  };
  static constexpr Arity kCommands[] = {{"put", 2, 2},  {"mput", 2, SIZE_MAX},
                                        {"get", 1, 1},  {"delete", 1, 1},
                                        {"scan", 0, 1}, {"checkpoint", 0, 0}};
  const size_t operands = command.size() - 1;
  for (const Arity& c : kCommands) {
    if (c.name != command[0]) continue;
    if (operands < c.min || operands > c.max) {
      usage_error(command[0] + " takes " +
                  (c.min == c.max
                       ? std::to_string(c.min)
                       : std::to_string(c.min) + " or " + std::to_string(c.max)) +
                  " operand(s), got " + std::to_string(operands));
    }
    if (command[0] == "mput" && operands % 2 != 0) {
      usage_error("mput takes KEY VALUE pairs, got " + std::to_string(operands) +
                  " operand(s)");
    }
    for (size_t i = 1;
         (command[0] == "put" || command[0] == "mput") && i < command.size(); i += 2) {
      const std::string& key = command[i];
      if (key.empty() || key.find_first_of("=\n") != std::string::npos) {
        usage_error(
            "a key must be non-empty, without '=' or newline (scan prints key=value)");
      }
      if (command[i + 1].find('\n') != std::string::npos) {
        usage_error("a value must not contain a newline (scan prints one entry a line)");
      }
    }
    return;
  }
  usage_error("unknown command '" + command[0] + "'");
}

int run(kaya::kv::KvStore& store, const std::vector<std::string>& command) {
  const std::string& name = command[0];
  if (name == "put" || name == "delete" || name == "mput") {
    std::vector<std::pair<std::string_view, std::string_view>> entries;
    for (size_t i = 1; name == "mput" && i + 1 < command.size(); i += 2) {
      entries.emplace_back(command[i], command[i + 1]);
    }
    auto lsn = name == "mput"  ? store.put_many(entries)
               : name == "put" ? store.put(command[1], command[2])
                               : store.del(command[1]);
    if (!lsn.ok()) return fail(lsn.error());
    std::printf("OK lsn=%llu\n", static_cast<unsigned long long>(lsn->value()));
  } else if (name == "get") {
    auto value = store.get(command[1]);
    if (!value.ok()) return fail(value.error());
    std::printf("%s\n", value->c_str());
  } else if (name == "scan") {
    store.scan(command.size() > 1 ? command[1] : "",
               [](const std::string& key, const std::string& value) {
                 std::printf("%s=%s\n", key.c_str(), value.c_str());
               });
  } else {  // checkpoint
    auto report = store.checkpoint();
    if (!report.ok()) return fail(report.error());
    const kaya::wal::ReleaseReport& released = report->released;
    std::printf(
        "OK lsn=%llu entries=%llu segments_released=%llu bytes_released=%llu"
        " first_lsn_kept=%s\n",
        static_cast<unsigned long long>(report->lsn.value()),
        static_cast<unsigned long long>(report->entries),
        static_cast<unsigned long long>(released.segments_removed),
        static_cast<unsigned long long>(released.bytes_released),
        released.first_lsn_kept ? std::to_string(released.first_lsn_kept->value()).c_str()
                                : "none");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  check_operands(args.command);
  auto store = kaya::kv::KvStore::open(args.dir, args.options);
  if (!store.ok()) return fail(store.error());
  const int code = run(**store, args.command);
  // Changes are durable already; close() can still report a poisoned log.
  if (kaya::Status closed = (*store)->close(); !closed.ok() && code == 0) {
    return fail(closed.error());
  }
  return code;
}
