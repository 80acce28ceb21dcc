// The crash_child process as kill_test (kill_test.cc) drives it: started with its
// stdout on a pipe, read line by line until a deadline, SIGKILLed and reaped.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#ifndef KAYA_CRASH_CHILD
#error \
    "KAYA_CRASH_CHILD must name the crash_child binary (see tests/crash/CMakeLists.txt)"
#endif

namespace kaya::crash {

using Clock = std::chrono::steady_clock;

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

inline std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

// The complete lines of a child's output.
inline std::vector<std::string> complete_lines(const std::string& out) {
  std::vector<std::string> lines;
  size_t pos = 0;
  for (size_t end; (end = out.find('\n', pos)) != std::string::npos; pos = end + 1) {
    lines.push_back(out.substr(pos, end - pos));
  }
  return lines;
}

}  // namespace kaya::crash
