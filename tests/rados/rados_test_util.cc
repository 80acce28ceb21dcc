#include "rados_test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

namespace kaya::rados_testing {

std::string unique_name(std::string_view what) {
  std::random_device random;
  return std::string(what) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(random());
}

io::RadosDiskOptions test_options(std::string_view what) {
  io::RadosDiskOptions options;
  const char* pool = std::getenv("KAYA_CEPH_POOL");
  options.pool = pool != nullptr && *pool != '\0' ? pool : "kaya";
  options.object_namespace = unique_name(what);
  options.prefix = "log";
  options.lock_duration_ms = 3000;
  options.lock_renew_interval_ms = 300;
  options.connect_timeout_s = 10;
  return options;
}

Result<std::unique_ptr<io::RadosDisk>> open_test_disk(
    const io::RadosDiskOptions& options) {
  const char* conf = std::getenv("CEPH_CONF");
  if (conf == nullptr || *conf == '\0') {
    return Error(ErrorKind::kNotFound,
                 "this test needs a Ceph cluster and CEPH_CONF is not set: run it "
                 "through scripts/test-rados.sh");
  }
  auto disk = io::RadosDisk::open(options);
  if (!disk.ok())
    return disk.error().with_context("cluster from CEPH_CONF=" + std::string(conf));
  return disk;
}

namespace cluster {
namespace {

std::string shell_quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<int> parse_id(const std::string& text, const std::string& what) {
  try {
    size_t used = 0;
    const int id = std::stoi(text, &used);
    if (used > 0) return id;
  } catch (...) {
  }
  return Error(ErrorKind::kInternal, what + ": not an OSD id: '" + text + "'");
}

}  // namespace

Result<std::string> run(const std::vector<std::string>& verb_and_args) {
  if (std::getenv("KAYA_CEPH_DIR") == nullptr) {
    return Error(ErrorKind::kNotFound,
                 "this test controls the test cluster and KAYA_CEPH_DIR is not set: run "
                 "it through scripts/test-rados.sh");
  }
  std::string command = shell_quote(KAYA_CEPH_CLUSTER_SCRIPT);
  std::string described = "scripts/ceph-cluster.sh";
  for (const std::string& arg : verb_and_args) {
    command += ' ';
    command += shell_quote(arg);
    described += ' ';
    described += arg;
  }
  char errors[] = "/tmp/kaya-ceph-cluster-XXXXXX";
  const int fd = ::mkstemp(errors);
  if (fd < 0) return Error(ErrorKind::kIo, "mkstemp for " + described);
  ::close(fd);
  command += " 2>";
  command += shell_quote(errors);
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    std::remove(errors);
    return Error(ErrorKind::kIo, "cannot run " + described);
  }
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  const std::string err = read_file(errors);
  std::remove(errors);
  std::cerr << err;  // the script's progress, for the test's log
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error(ErrorKind::kIo,
                 described + " failed (status " + std::to_string(status) + "): " + err);
  }
  return out;
}

Result<std::vector<int>> osd_ids() {
  const char* dir = std::getenv("KAYA_CEPH_DIR");
  const std::filesystem::path pids = std::filesystem::path(dir ? dir : "") / "pids";
  std::vector<int> ids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(pids, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("osd.", 0) == 0) {
      KAYA_ASSIGN_OR_RETURN(int id, parse_id(name.substr(4), "PID file " + name));
      ids.push_back(id);
    }
  }
  if (ec || ids.empty()) {
    return Error(ErrorKind::kNotFound,
                 "no OSD PID files in " + pids.string() +
                     " (KAYA_CEPH_DIR names the cluster of scripts/ceph-cluster.sh)");
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status kill_osd(int osd) { return run({"kill-osd", std::to_string(osd)}).status(); }

Status restart_osd(int osd) { return run({"restart-osd", std::to_string(osd)}).status(); }

Status heal() { return run({"heal"}).status(); }

Status wait_clean() { return run({"wait-clean"}).status(); }

Result<int> primary(const std::string& object, const std::string& ns) {
  KAYA_ASSIGN_OR_RETURN(std::string out, run({"primary", object, ns}));
  return parse_id(out, "primary of " + object);
}

bool keeps_data_across_restarts() {
  const char* store = std::getenv("KAYA_CEPH_STORE");
  return store != nullptr && std::string(store) == "bluestore";
}

Result<std::vector<std::string>> objects_on(int osd, const std::string& ns) {
  KAYA_ASSIGN_OR_RETURN(std::string out, run({"objects", std::to_string(osd), ns}));
  std::vector<std::string> objects;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) objects.push_back(line);
  }
  return objects;
}

}  // namespace cluster

}  // namespace kaya::rados_testing
