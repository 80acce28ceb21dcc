// This process's open descriptors, as Linux lists them in /proc/self/fd: for tests that
// check how many files a Disk keeps open and how it opened them.
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace kaya::testing {

// How many descriptors the process has open (0 when /proc/self/fd is unreadable).
size_t open_fd_count();

// Descriptor -> the path it refers to (readlink of /proc/self/fd/N: the file's current
// name, with " (deleted)" after it once unlinked).
std::map<int, std::string> open_fds();

// How many open descriptors refer to `path`.
size_t fds_open_on(const std::string& path);

// The access mode (O_RDONLY, O_WRONLY or O_RDWR) descriptor `fd` was opened with, from
// /proc/self/fdinfo; -1 when it cannot be read.
int fd_access_mode(int fd);

}  // namespace kaya::testing
