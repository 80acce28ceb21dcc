#include "cli.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "escape.h"
#include "json.h"
#include "kaya/io/rados_disk.h"
#include "kaya/wal/format.h"
#include "log_location.h"

namespace kaya::tool {
namespace {

Error invalid(std::string message) {
  return Error(ErrorKind::kInvalidArgument, std::move(message));
}

// Scripts grep for one line per error, so a multi-line message is folded.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += "; ";
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

// The errno of the first failed write to stdout, kept because later calls overwrite
// errno; 0 until one fails.
int stdout_errno = 0;
// Whether report_stdout_error() already printed it.
bool stdout_error_reported = false;

Error stdout_error() {
  return Error(ErrorKind::kIo,
               std::string("writing to stdout: ") + std::strerror(stdout_errno));
}

}  // namespace

Status stdout_status() {
  if (!std::ferror(stdout)) return ok_status();
  if (stdout_errno == 0) stdout_errno = errno != 0 ? errno : EIO;
  return stdout_error();
}

Status flush_stdout() {
  if (std::fflush(stdout) != 0 && stdout_errno == 0) stdout_errno = errno;
  return stdout_status();
}

int report_stdout_error(std::string_view context) {
  Status status = stdout_status();
  if (status.ok()) status = Error(ErrorKind::kIo, "writing to stdout failed");
  stdout_error_reported = true;
  return report_error(status.error(), context);
}

int finish_stdout(int code) {
  Status status = flush_stdout();
  if (status.ok() && std::fclose(stdout) != 0) {
    if (stdout_errno == 0) stdout_errno = errno != 0 ? errno : EIO;
    status = stdout_error();
  }
  if (status.ok()) return code;
  if (stdout_error_reported)
    return code != kExitOk ? code : exit_code_for(ErrorKind::kIo);
  const int io_code = report_error(status.error());
  return code != kExitOk ? code : io_code;
}

Result<Args> Args::parse(const std::vector<std::string>& argv,
                         const std::vector<FlagSpec>& flags, size_t min_positional,
                         size_t max_positional) {
  Args args;
  bool flags_done = false;  // after "--" every argument is positional
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (flags_done) {
      args.positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      args.help_ = true;
      continue;
    }
    if (!a.starts_with("--")) {
      if (a.starts_with("-") && a.size() > 1) {
        return invalid("unknown flag " + a + " (flags are spelled --name)");
      }
      args.positional_.push_back(a);
      continue;
    }
    const size_t eq = a.find('=');
    const std::string name = a.substr(2, eq == std::string::npos ? eq : eq - 2);
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : flags) {
      if (f.name == name) spec = &f;
    }
    if (spec == nullptr) return invalid("unknown flag --" + name);
    if (args.values_.count(name) > 0) return invalid("--" + name + " given twice");
    std::string value;
    if (spec->takes_value) {
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        return invalid("--" + name + " needs a value");
      }
    } else if (eq != std::string::npos) {
      return invalid("--" + name + " takes no value");
    }
    args.values_[name] = value;
  }
  // With --help the rest does not matter: the command prints its help and exits.
  if (args.help_) return args;
  if (args.positional_.size() < min_positional) {
    return invalid("missing argument (expected " + std::to_string(min_positional) +
                   ", got " + std::to_string(args.positional_.size()) + ")");
  }
  if (args.positional_.size() > max_positional) {
    return invalid("unexpected argument \"" + args.positional_[max_positional] + "\"");
  }
  return args;
}

std::optional<std::string> Args::value(std::string_view name) const {
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Result<uint64_t> Args::u64(std::string_view name, uint64_t fallback, uint64_t min,
                           uint64_t max) const {
  const std::optional<std::string> text = value(name);
  if (!text) return fallback;
  uint64_t v = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, v);
  if (ec == std::errc::result_out_of_range && ptr == end) {
    return invalid("--" + std::string(name) + " " + quote_input(*text) +
                   " is out of range [" + std::to_string(min) + ", " +
                   std::to_string(max) + "]");
  }
  if (text->empty() || ec != std::errc() || ptr != end) {
    return invalid("--" + std::string(name) + " \"" + quote_input(*text) +
                   "\" is not a non-negative decimal integer");
  }
  if (v < min || v > max) {
    return invalid("--" + std::string(name) + " " + *text + " is out of range [" +
                   std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return v;
}

Result<std::string> Args::choice(std::string_view name,
                                 std::initializer_list<std::string_view> choices,
                                 std::string_view fallback) const {
  const std::optional<std::string> text = value(name);
  if (!text) return std::string(fallback);
  std::string list;
  for (std::string_view c : choices) {
    if (c == *text) return *text;
    list += (list.empty() ? "" : ", ") + std::string(c);
  }
  return invalid("--" + std::string(name) + " \"" + quote_input(*text) +
                 "\" is not one of " + list);
}

int report_error(const Error& error, std::string_view context) {
  std::string line = "error: ";
  if (!context.empty()) line += std::string(context) + ": ";
  line += one_line(error.to_string());
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  return exit_code_for(error.kind());
}

int report_error_json(const Error& error, std::string_view context,
                      std::string_view path) {
  const std::string error_object = JsonObject()
                                       .str("kind", to_string(error.kind()))
                                       .str("message", error.to_string())
                                       .build();
  std::printf("%s\n", JsonObject()
                          .str("path", path)
                          .boolean("ok", false)
                          .raw("error", error_object)
                          .build()
                          .c_str());
  std::fflush(stdout);
  return report_error(error, context);
}

int usage_error(std::string_view command, const Error& error) {
  std::fprintf(stderr, "error: kaya-wal %.*s: %s (see kaya-wal %.*s --help)\n",
               static_cast<int>(command.size()), command.data(),
               one_line(error.message()).c_str(), static_cast<int>(command.size()),
               command.data());
  return exit_code_for(ErrorKind::kInvalidArgument);
}

Result<wal::DurabilityMode> parse_durability(const Args& args) {
  KAYA_ASSIGN_OR_RETURN(std::string mode,
                        args.choice("durability", {"strict", "relaxed"}, "strict"));
  return mode == "strict" ? wal::DurabilityMode::kStrict : wal::DurabilityMode::kRelaxed;
}

Status status_error(const std::string& path, const std::error_code& ec) {
  if (!ec || ec == std::errc::no_such_file_or_directory) return ok_status();
  return Error(ErrorKind::kIo, path + ": " + ec.message());
}

Result<std::unique_ptr<io::Disk>> open_log_dir(const std::string& dir) {
  if (io::is_rados_location(dir)) return open_rados_log(dir);
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  // Only a missing path is "no such file": permission denied or a symbolic link loop
  // on the way is said as such.
  KAYA_RETURN_IF_ERROR(status_error(dir, ec));
  if (!fs::exists(st)) {
    return Error(ErrorKind::kNotFound, dir + ": no such file or directory");
  }
  if (!fs::is_directory(st)) {
    return Error(ErrorKind::kIo, dir + " is not a directory");
  }
  // Without this check a typo would read as an empty, healthy log.
  const fs::path wal_dir = fs::path(dir) / wal::format::kSegmentDir;
  const fs::file_status wal_st = fs::status(wal_dir, ec);
  KAYA_RETURN_IF_ERROR(status_error(wal_dir.string(), ec));
  if (!fs::is_directory(wal_st)) {
    std::string hint;
    if (fs::path(dir).lexically_normal().filename() == wal::format::kSegmentDir ||
        (dir.ends_with("/") &&
         fs::path(dir).parent_path().filename() == wal::format::kSegmentDir)) {
      hint = "; it looks like the wal/ directory itself: pass its parent directory";
    }
    return Error(ErrorKind::kNotFound,
                 dir + " holds no kaya log (no wal/ directory in it)" + hint);
  }
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::FileDisk> disk,
                        io::FileDisk::open(dir, /*create=*/false));
  return std::unique_ptr<io::Disk>(std::move(disk));
}

Result<wal::WalConfig> read_config(const Args& args) {
  wal::WalConfig config;
  KAYA_ASSIGN_OR_RETURN(
      config.max_record_bytes,
      args.u64("max-record-bytes", wal::WalConfig::kDefaultMaxRecordBytes));
  // Reading never rotates: let the segment limit follow so that validate() accepts
  // any record limit up to what a payload length can describe.
  config.segment_max_bytes = std::max(config.segment_max_bytes, config.max_record_bytes);
  KAYA_RETURN_IF_ERROR(config.validate());
  return config;
}

std::optional<LogCommand> LogCommand::start(
    std::string_view command, std::string_view help, const std::vector<std::string>& argv,
    const std::vector<FlagSpec>& flags, int& exit_code,
    const std::function<Status(const Args&)>& check) {
  std::vector<FlagSpec> all = flags;
  all.push_back({"json", false});
  all.push_back({"max-record-bytes", true});
  Result<Args> args = Args::parse(argv, all, 1, 1);
  if (!args.ok()) {
    exit_code = usage_error(command, args.error());
    return std::nullopt;
  }
  if (args->help()) {
    std::fwrite(help.data(), 1, help.size(), stdout);
    exit_code = kExitOk;
    return std::nullopt;
  }
  if (check) {
    if (Status s = check(*args); !s.ok()) {
      exit_code = usage_error(command, s.error());
      return std::nullopt;
    }
  }
  Result<wal::WalConfig> config = read_config(*args);
  if (!config.ok()) {
    exit_code = usage_error(command, config.error());
    return std::nullopt;
  }
  return LogCommand(command, std::move(*args), *config);
}

int LogCommand::fail(const Error& error, std::string_view context) const {
  return json() ? report_error_json(error, context, path())
                : report_error(error, context);
}

int LogCommand::usage(const Error& error) const { return usage_error(command_, error); }

}  // namespace kaya::tool
