#include "tools/tool_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "kaya/wal/format.h"
#include "testing/test_util.h"

#ifndef KAYA_WAL_BIN
#error "KAYA_WAL_BIN must name the kaya-wal binary (see tests/tools/CMakeLists.txt)"
#endif

namespace kaya::tool::testing {
namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

// Moves data between the parent and the child until both output pipes are closed;
// poll() so that a child blocked writing stderr cannot deadlock us writing stdin.
void pump(int in_fd, const std::string& input, int out_fd, int err_fd, ToolResult& r) {
  size_t written = 0;
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3] = {{in_fd, POLLOUT, 0}, {out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      check(errno == EINTR, "poll");
      continue;
    }
    if (in_fd >= 0 && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = ::write(in_fd, input.data() + written, input.size() - written);
      // EPIPE: the child stopped reading (e.g. after a malformed line); that is fine.
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == input.size()) {
        ::close(in_fd);
        in_fd = -1;
      }
    }
    int* outs[2] = {&out_fd, &err_fd};
    std::string* sinks[2] = {&r.out, &r.err};
    for (int i = 0; i < 2; ++i) {
      if (*outs[i] < 0 || !(fds[i + 1].revents & (POLLIN | POLLERR | POLLHUP))) continue;
      char buf[4096];
      const ssize_t n = ::read(*outs[i], buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(*outs[i]);
        *outs[i] = -1;
      }
    }
  }
  if (in_fd >= 0) ::close(in_fd);
}

// The binary's path, then `args`.
std::vector<std::string> tool_argv(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {KAYA_WAL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// A null-terminated array of pointers into `strings` (which must outlive it), for exec.
std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  for (std::string& s : strings) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

void set_status(int status, ToolResult& r) {
  r.term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + r.term_signal;
}

}  // namespace

std::string ToolResult::describe() const {
  return "exit code " + std::to_string(exit_code) +
         (term_signal != 0 ? " (killed by signal " + std::to_string(term_signal) + ")"
                           : "") +
         "\n--- stdout:\n" + out + "--- stderr:\n" + err;
}

namespace {

// run_tool(), with stdout captured (`stdout_path` empty) or written to a file.
ToolResult run_child(const std::vector<std::string>& args, const std::string& stdin_data,
                     const std::string& stdout_path) {
  // Writing to a child that exited must fail with EPIPE, not kill the test.
  ::signal(SIGPIPE, SIG_IGN);
  int in[2], out[2], err[2];
  check(::pipe2(in, O_CLOEXEC) == 0 && ::pipe2(out, O_CLOEXEC) == 0 &&
            ::pipe2(err, O_CLOEXEC) == 0,
        "pipe2");
  int out_file = -1;
  if (!stdout_path.empty()) {
    out_file =
        ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    check(out_file >= 0, "open the stdout file");
  }
  std::vector<std::string> argv_storage = tool_argv(args);
  std::vector<char*> argv = pointers(argv_storage);

  const pid_t pid = ::fork();
  check(pid >= 0, "fork");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out_file >= 0 ? out_file : out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (out_file >= 0) {
    ::close(out_file);
    ::close(out[0]);
    out[0] = -1;
  }
  ToolResult r;
  pump(in[1], stdin_data, out[0], err[0], r);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) check(errno == EINTR, "waitpid");
  set_status(status, r);
  return r;
}

}  // namespace

ToolResult run_tool(const std::vector<std::string>& args, const std::string& stdin_data) {
  return run_child(args, stdin_data, "");
}

ToolResult run_tool_to_file(const std::vector<std::string>& args,
                            const std::string& stdin_data,
                            const std::string& stdout_path) {
  return run_child(args, stdin_data, stdout_path);
}

BackgroundTool::BackgroundTool(const std::vector<std::string>& args,
                               const std::vector<std::string>& env,
                               const std::string& output_dir)
    : out_path_(output_dir + "/stdout"), err_path_(output_dir + "/stderr") {
  const int out =
      ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err =
      ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  check(out >= 0 && err >= 0 && in >= 0, "open");
  std::vector<std::string> argv_storage = tool_argv(args);
  std::vector<char*> argv = pointers(argv_storage);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view inherited(*e);
    const std::string_view name = inherited.substr(0, inherited.find('='));
    bool replaced = false;
    for (const std::string& v : env) replaced |= v.substr(0, v.find('=')) == name;
    if (!replaced) env_storage.emplace_back(inherited);
  }
  env_storage.insert(env_storage.end(), env.begin(), env.end());
  std::vector<char*> envp = pointers(env_storage);
  pid_ = ::fork();
  check(pid_ >= 0, "fork");
  if (pid_ == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in);
  ::close(out);
  ::close(err);
}

BackgroundTool::~BackgroundTool() {
  if (reaped_) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
}

void BackgroundTool::signal(int signo) {
  if (!reaped_) check(::kill(pid_, signo) == 0, "kill");
}

bool BackgroundTool::running() {
  if (reaped_) return false;
  pid_t r;
  while ((r = ::waitpid(pid_, &status_, WNOHANG)) < 0) check(errno == EINTR, "waitpid");
  reaped_ = r == pid_;
  return !reaped_;
}

ToolResult BackgroundTool::wait(int timeout_s) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status_, 0) < 0) check(errno == EINTR, "waitpid");
    reaped_ = true;
  }
  ToolResult r;
  set_status(status_, r);
  r.out = read_file(out_path_);
  r.err = read_file(err_path_);
  return r;
}

::testing::AssertionResult one_error_line(const ToolResult& r, std::string_view needle) {
  std::vector<std::string> lines;
  for (const std::string& line : lines_of(r.err)) {
    if (!line.starts_with("note: ")) lines.push_back(line);  // notes may accompany it
  }
  if (lines.size() != 1 || !lines[0].starts_with("error: ") ||
      lines[0].find(needle) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "expected one stderr line \"error: ...\" containing \"" << needle
           << "\"; got " << r.describe();
  }
  return ::testing::AssertionSuccess();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string segment_file(const std::string& dir, uint64_t id) {
  return dir + "/" + wal::format::segment_path(id);
}

void install_golden(const std::string& dir, const std::string& golden) {
  std::filesystem::create_directories(dir + "/wal");
  write_file(segment_file(dir, 1), kaya::testing::read_golden(golden));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace kaya::tool::testing
