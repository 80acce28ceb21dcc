#include "tools/tool_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

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

}  // namespace

std::string ToolResult::describe() const {
  return "exit code " + std::to_string(exit_code) + "\n--- stdout:\n" + out +
         "--- stderr:\n" + err;
}

ToolResult run_tool(const std::vector<std::string>& args, const std::string& stdin_data) {
  // Writing to a child that exited must fail with EPIPE, not kill the test.
  ::signal(SIGPIPE, SIG_IGN);
  int in[2], out[2], err[2];
  check(::pipe2(in, O_CLOEXEC) == 0 && ::pipe2(out, O_CLOEXEC) == 0 &&
            ::pipe2(err, O_CLOEXEC) == 0,
        "pipe2");
  std::vector<std::string> argv_storage = {KAYA_WAL_BIN};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  check(pid >= 0, "fork");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ToolResult r;
  pump(in[1], stdin_data, out[0], err[0], r);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) check(errno == EINTR, "waitpid");
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
