// Command-line plumbing shared by the kaya-wal commands: flag parsing, one-line error
// reports with exit codes, and opening a log directory for reading.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "exit_codes.h"
#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/config.h"

namespace kaya::tool {

// A flag a command accepts: "--name" alone, or "--name VALUE" / "--name=VALUE".
struct FlagSpec {
  std::string_view name;  // without the leading "--"
  bool takes_value = false;
};

// A command's parsed arguments. Every command accepts --help.
class Args {
 public:
  // Parses `argv` (the arguments after the command name). InvalidArgument for an
  // unknown or repeated flag, a missing value, or a positional count outside
  // [min_positional, max_positional]; the message names the offending argument.
  static Result<Args> parse(const std::vector<std::string>& argv,
                            const std::vector<FlagSpec>& flags, size_t min_positional,
                            size_t max_positional);

  bool help() const { return help_; }
  bool has(std::string_view name) const { return values_.count(std::string(name)) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }

  // The flag's value as a decimal integer in [min, max], or `fallback` when absent.
  Result<uint64_t> u64(std::string_view name, uint64_t fallback, uint64_t min = 0,
                       uint64_t max = UINT64_MAX) const;
  // The flag's value, which must be one of `choices`, or `fallback` when absent.
  Result<std::string> choice(std::string_view name,
                             std::initializer_list<std::string_view> choices,
                             std::string_view fallback) const;
  std::optional<std::string> value(std::string_view name) const;

 private:
  bool help_ = false;
  std::map<std::string, std::string> values_;  // flag name -> value ("" for switches)
  std::vector<std::string> positional_;
};

// Prints "error: <context>: <Kind>: <message>" (context optional) as ONE line on
// stderr (newlines in the message become "; ") and returns exit_code_for(kind).
int report_error(const Error& error, std::string_view context = {});
// report_error, and for a command run with --json also one JSON object on stdout:
// {"path","ok":false,"error":{"kind","message"}} (kind: ErrorKind's name).
int report_error_json(const Error& error, std::string_view context,
                      std::string_view path);

// Standard output. Every command's output is checked: a write, flush or close that
// fails (a full disk, /dev/full, a closed pipe reader's EIO) is an error, never a
// silent exit 0.
// Io "writing to stdout: <reason>" when a write to stdout has failed so far (cheap:
// no flush); a loop that prints much calls it to stop at the first failure.
Status stdout_status();
// Flushes stdout, then stdout_status().
Status flush_stdout();
// report_error() of the stdout error with `context`; finish_stdout() then does not
// report it a second time.
int report_stdout_error(std::string_view context);
// Run by main() after every command: flushes and closes stdout. When that fails, prints
// the error and returns the Io exit code (1), or `code` when the command had already
// failed; otherwise returns `code`.
int finish_stdout(int code);

// For usage mistakes: prints "error: kaya-wal <command>: <message> (see kaya-wal
// <command> --help)" and returns the InvalidArgument exit code (4).
int usage_error(std::string_view command, const Error& error);

// --durability strict|relaxed.
Result<wal::DurabilityMode> parse_durability(const Args& args);

// Opens an existing log directory (a Disk root holding wal/) without creating or
// changing anything. NotFound when `dir` does not exist or holds no wal/ directory
// (with a hint when `dir` itself is the wal/ directory); Io when it is not a directory
// or cannot be examined (permission denied, a symbolic link loop: named with the path).
// A RADOS location (rados://POOL/PREFIX) opens a RadosDisk instead.
Result<std::unique_ptr<io::Disk>> open_log_dir(const std::string& dir);

// For std::filesystem::status(path, ec): Io naming `path` and the error when `ec` is
// set and is not "no such file or directory" (which the caller reports itself).
Status status_error(const std::string& path, const std::error_code& ec);

// The wal::WalConfig a reading command uses: defaults, with --max-record-bytes when given
// (a log written with larger records must be read with at least that limit).
Result<wal::WalConfig> read_config(const Args& args);

// The set-up of the commands that work on one log or segment file (dump, inspect,
// verify, recover, truncate): one positional PATH, the flags --json and
// --max-record-bytes N besides the command's own, --help, and errors reported as
// --json asks.
class LogCommand {
 public:
  // Parses `argv` (the arguments after `command`) with `flags` plus --json and
  // --max-record-bytes, runs `check` (the command's own flag checks that come first;
  // optional), then reads the config (read_config). nullopt when the command is already
  // done, with `exit_code` set: 0 after printing `help` for --help, 4 after
  // usage_error() for a bad flag, a missing or extra argument, an error of `check` or a
  // bad --max-record-bytes.
  static std::optional<LogCommand> start(
      std::string_view command, std::string_view help,
      const std::vector<std::string>& argv, const std::vector<FlagSpec>& flags,
      int& exit_code, const std::function<Status(const Args&)>& check = {});

  const Args& args() const { return args_; }
  const wal::WalConfig& config() const { return config_; }
  // PATH: the log directory (or segment file, for the commands that take one).
  const std::string& path() const { return args_.positional()[0]; }
  bool json() const { return args_.has("json"); }

  // report_error_json(error, context, path()) with --json, else report_error(error,
  // context).
  int fail(const Error& error, std::string_view context = {}) const;
  // usage_error() for this command.
  int usage(const Error& error) const;
  // open_log_dir(path()).
  Result<std::unique_ptr<io::Disk>> open_dir() const { return open_log_dir(path()); }

 private:
  LogCommand(std::string_view command, Args args, wal::WalConfig config)
      : command_(command), args_(std::move(args)), config_(config) {}

  std::string_view command_;  // a literal: "dump", "verify", ...
  Args args_;
  wal::WalConfig config_;
};

}  // namespace kaya::tool
