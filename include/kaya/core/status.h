/// @file
/// Errors and results for every kaya operation.
///
/// No exception crosses kaya's public API: operations return `Result<T>` (a value or
/// an `Error`) or `Status` (`Result<void>`). Both are [[nodiscard]]. Running out of
/// memory is an error too: Internal, with a message that starts with "out of memory"
/// (and names what was being read or written where memory allows). Calls that return
/// text or metrics rather than a Result (to_json, to_prometheus(metrics),
/// decision_table, the to_string() of reports) return an empty value instead.
///
/// The one abort: asking a Result for what it does not hold (value() of an error,
/// error() of a success) is a programming error. It prints what was asked and, for
/// value(), the error the Result holds, on stderr, and aborts, in every build. Check
/// ok() first, or use value_or().
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "kaya/core/export.h"

/// Core types of kaya: errors and results, LSNs, configuration, CRC32C, histograms,
/// version.
namespace kaya {

/// The fixed set of error kinds: what went wrong, for callers to branch on. (The
/// `kaya-wal` tool exits with a code per kind: docs/tool.md.)
enum class ErrorKind {
  kNotFound,            ///< what was asked for does not exist (a file, a record)
  kCorruption,          ///< durable data is damaged
  kInvalidArgument,     ///< the caller asked for something impossible
  kUnsupportedVersion,  ///< data written by a newer format
  kInvariantViolation,  ///< kaya caught itself (or the disk) breaking a rule
  kLockConflict,        ///< a lock is held by another owner, or was lost
  kIo,                  ///< the disk or the operating system failed a read or write
  kDiskFull,            ///< no space left
  kFsyncFailed,         ///< a sync failed: what it covered may not be durable
  kInternal,            ///< out of memory, or an unexpected failure inside kaya
};

/// The kind's name: "NotFound", "Corruption", "InvalidArgument", ...
KAYA_API std::string_view to_string(ErrorKind kind);
/// The exit code `kaya-wal` uses for an error of this kind (docs/tool.md).
/// @deprecated Exit codes are the tool's, not the library's; a program that wants the
/// same codes maps ErrorKind itself. Removed in 0.3.
[[deprecated(
    "exit codes are kaya-wal's (docs/tool.md); map ErrorKind yourself")]] KAYA_API int
exit_code(ErrorKind kind);

/// An error: a kind plus a message that says what happened, where (file, offset,
/// LSN) and, where it helps, what the user can do about it.
class KAYA_API Error {
 public:
  /// An error of `kind` saying `message`.
  Error(ErrorKind kind, std::string message)
      : kind_(kind), message_(std::move(message)) {}

  /// What kind of error this is.
  ErrorKind kind() const { return kind_; }
  /// What happened, where, and what to do about it.
  const std::string& message() const { return message_; }
  /// "<kind>: <message>", for logs and the command line.
  std::string to_string() const;

  /// The same error with `context` put in front of the message ("context: message").
  Error with_context(std::string_view context) const;

 private:
  ErrorKind kind_;
  std::string message_;
};

/// A value of type T or an Error; Result<void> (Status) is success or an Error.
template <typename T>
class Result;

/// @cond INTERNAL
namespace detail {
// Prints "kaya: <accessor> called on a Result holding <what>" on stderr and aborts (the
// file comment's one abort). `error` is the error held, or null for a success.
[[noreturn]] KAYA_API void bad_result_access(const char* accessor,
                                             const Error* error) noexcept;
}  // namespace detail
/// @endcond

/// Success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  /// Success.
  Result() = default;
  /// Failure with `error`.
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  /// True on success.
  bool ok() const { return !failed_; }
  /// ok().
  explicit operator bool() const { return ok(); }
  /// The error; only when !ok() (else aborts: see the file comment).
  const Error& error() const& {
    if (!failed_) [[unlikely]]
      detail::bad_result_access("Status::error()", nullptr);
    return error_;
  }
  /// The error, moved out; only when !ok() (else aborts).
  Error&& error() && {
    if (!failed_) [[unlikely]]
      detail::bad_result_access("Status::error()", nullptr);
    return std::move(error_);
  }

 private:
  Error error_{ErrorKind::kInternal, ""};
  bool failed_ = false;
};

/// Success or an Error: what an operation without a value returns.
using Status = Result<void>;

/// A value of type T or an Error. Shaped like std::expected<T, Error>.
template <typename T>
class [[nodiscard]] Result {
 public:
  /// Success with `value`.
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  /// Failure with `error`.
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  /// True when this holds a value.
  bool ok() const { return v_.index() == 0; }
  /// ok().
  explicit operator bool() const { return ok(); }

  /// The value; only when ok() (else aborts, naming the error: see the file comment).
  T& value() & {
    if (!ok()) [[unlikely]]
      detail::bad_result_access("Result::value()", std::get_if<1>(&v_));
    return *std::get_if<0>(&v_);
  }
  /// The value; only when ok() (else aborts).
  const T& value() const& {
    if (!ok()) [[unlikely]]
      detail::bad_result_access("Result::value()", std::get_if<1>(&v_));
    return *std::get_if<0>(&v_);
  }
  /// The value, moved out; only when ok() (else aborts).
  T&& value() && {
    if (!ok()) [[unlikely]]
      detail::bad_result_access("Result::value()", std::get_if<1>(&v_));
    return std::move(*std::get_if<0>(&v_));
  }
  /// The value when ok(), else `fallback`.
  template <typename U>
  T value_or(U&& fallback) const& {
    if (ok()) return *std::get_if<0>(&v_);
    return static_cast<T>(std::forward<U>(fallback));
  }
  /// The value moved out when ok(), else `fallback`.
  template <typename U>
  T value_or(U&& fallback) && {
    if (ok()) return std::move(*std::get_if<0>(&v_));
    return static_cast<T>(std::forward<U>(fallback));
  }
  /// value().
  T& operator*() & { return value(); }
  /// value().
  const T& operator*() const& { return value(); }
  /// &value().
  T* operator->() { return &value(); }
  /// &value().
  const T* operator->() const { return &value(); }

  /// The error; only when !ok() (else aborts).
  const Error& error() const& {
    if (ok()) [[unlikely]]
      detail::bad_result_access("Result::error()", nullptr);
    return *std::get_if<1>(&v_);
  }
  /// The error, moved out; only when !ok() (else aborts).
  Error&& error() && {
    if (ok()) [[unlikely]]
      detail::bad_result_access("Result::error()", nullptr);
    return std::move(*std::get_if<1>(&v_));
  }

  /// The outcome without the value.
  Status status() const { return ok() ? Status() : Status(error()); }

 private:
  std::variant<T, Error> v_;
};

/// A successful Status.
inline Status ok_status() { return Status(); }

}  // namespace kaya

/// @cond INTERNAL
#define KAYA_CONCAT_INNER_(a, b) a##b
#define KAYA_CONCAT_(a, b) KAYA_CONCAT_INNER_(a, b)
/// @endcond

/// Returns the error of `expr` (a Status or Result) from the enclosing function.
#define KAYA_RETURN_IF_ERROR(expr)                                  \
  do {                                                              \
    auto kaya_status_ = (expr);                                     \
    if (!kaya_status_.ok()) return std::move(kaya_status_).error(); \
  } while (0)

/// `lhs = value of expr`, or returns its error from the enclosing function.
#define KAYA_ASSIGN_OR_RETURN(lhs, expr) \
  KAYA_ASSIGN_OR_RETURN_IMPL_(KAYA_CONCAT_(kaya_result_, __LINE__), lhs, expr)
/// @cond INTERNAL
#define KAYA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).error();     \
  lhs = std::move(tmp).value()
/// @endcond
