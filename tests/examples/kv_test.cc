// Runs the kaya-kv example binary as a user would: every command a separate process,
// so each one recovers the store from the disk alone.
#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "testing/strings.h"
#include "testing/test_util.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class KvTest : public ::testing::Test {
 protected:
  // kaya-kv ARGS..., with stdout and stderr captured in files (no pipe to fill up).
  Outcome run(const std::vector<std::string>& args) {
    const std::string out_path = tmp_.path() + "/stdout";
    const std::string err_path = tmp_.path() + "/stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv{const_cast<char*>(KAYA_KV_BIN)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc =
        posix_spawn(&pid, KAYA_KV_BIN, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    Outcome outcome;
    int status = 0;
    if (rc != 0 || waitpid(pid, &status, 0) != pid) {
      ADD_FAILURE() << "cannot run " << KAYA_KV_BIN << " (posix_spawn: " << rc << ")";
      return outcome;
    }
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    outcome.out = read_file(out_path);
    outcome.err = read_file(err_path);
    return outcome;
  }

  // kaya-kv --data DIR ARGS...
  Outcome kv(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", dir_});
    return run(args);
  }

  // Runs a command that must succeed and returns its stdout.
  std::string ok(const std::vector<std::string>& args) {
    Outcome o = kv(args);
    EXPECT_EQ(o.exit_code, 0) << "kaya-kv " << args[0] << ": " << o.err;
    EXPECT_EQ(o.err, "");
    return o.out;
  }

  int segment_files() const {
    int n = 0;
    for (const auto& entry : fs::directory_iterator(dir_ + "/wal")) {
      n += entry.path().extension() == ".wal";
    }
    return n;
  }

  kaya::testing::TempDir tmp_;
  std::string dir_ = tmp_.path() + "/data";
};

struct CheckpointLine {
  unsigned long long lsn = 0, entries = 0, segments = 0, bytes = 0;
};

CheckpointLine parse_checkpoint(const std::string& out) {
  CheckpointLine c;
  EXPECT_EQ(std::sscanf(out.c_str(),
                        "OK lsn=%llu entries=%llu segments_released=%llu "
                        "bytes_released=%llu",
                        &c.lsn, &c.entries, &c.segments, &c.bytes),
            4)
      << out;
  return c;
}

TEST_F(KvTest, PutGetDeleteScanAcrossProcesses) {
  EXPECT_EQ(ok({"put", "b", "2"}), "OK lsn=1\n");
  EXPECT_EQ(ok({"put", "a", "1"}), "OK lsn=2\n");
  EXPECT_EQ(ok({"put", "ab", "x y"}), "OK lsn=3\n");
  EXPECT_EQ(ok({"put", "c", "3"}), "OK lsn=4\n");
  EXPECT_EQ(ok({"put", "b", "two"}), "OK lsn=5\n");  // overwrite
  EXPECT_EQ(ok({"get", "b"}), "two\n");
  EXPECT_EQ(ok({"get", "ab"}), "x y\n");
  EXPECT_EQ(ok({"delete", "c"}), "OK lsn=6\n");
  EXPECT_EQ(ok({"scan"}), "a=1\nab=x y\nb=two\n");
  EXPECT_EQ(ok({"scan", "a"}), "a=1\nab=x y\n");
  EXPECT_EQ(ok({"scan", "zz"}), "");
  // A value may look like an option: options end where the command starts.
  EXPECT_EQ(ok({"put", "--flag", "--data"}), "OK lsn=7\n");
  EXPECT_EQ(ok({"get", "--flag"}), "--data\n");
}

// mput stores several keys as one atomic batch: one acknowledgement, contiguous LSNs,
// and the state is back after a restart.
TEST_F(KvTest, MputStoresSeveralKeysAsOneBatch) {
  EXPECT_EQ(ok({"put", "a", "1"}), "OK lsn=1\n");
  EXPECT_EQ(ok({"mput", "b", "2", "c", "3", "a", "one"}), "OK lsn=4\n");
  EXPECT_EQ(ok({"scan"}), "a=one\nb=2\nc=3\n");
  EXPECT_EQ(ok({"put", "d", "4"}), "OK lsn=5\n");
  EXPECT_EQ(run({"mput", "e"}).exit_code, 4);
}

TEST_F(KvTest, MissingKeyExitsTwo) {
  ok({"put", "present", "1"});
  Outcome get = kv({"get", "absent"});
  EXPECT_EQ(get.exit_code, 2);
  EXPECT_EQ(get.out, "");
  EXPECT_EQ(get.err, "error: key not found: absent\n");

  Outcome del = kv({"delete", "absent"});
  EXPECT_EQ(del.exit_code, 2);
  EXPECT_EQ(del.err, "error: key not found: absent\n");
  // The refused delete logged nothing: the next record takes LSN 2.
  EXPECT_EQ(ok({"put", "next", "1"}), "OK lsn=2\n");

  ok({"delete", "present"});
  EXPECT_EQ(kv({"get", "present"}).exit_code, 2);
}

TEST_F(KvTest, CheckpointThenMorePutsThenRestart) {
  ok({"put", "k1", "v1"});
  ok({"put", "k2", "v2"});
  ok({"put", "k3", "v3"});
  CheckpointLine c = parse_checkpoint(ok({"checkpoint"}));
  EXPECT_EQ(c.lsn, 3u);
  EXPECT_EQ(c.entries, 3u);
  EXPECT_TRUE(fs::exists(dir_ + "/CHECKPOINT"));
  EXPECT_FALSE(fs::exists(dir_ + "/CHECKPOINT.tmp"));

  // LSNs go on after the checkpoint; later changes hit keys it holds.
  EXPECT_EQ(ok({"put", "k2", "v2b"}), "OK lsn=4\n");
  EXPECT_EQ(ok({"delete", "k1"}), "OK lsn=5\n");
  ok({"put", "k4", "v4"});
  EXPECT_EQ(ok({"scan"}), "k2=v2b\nk3=v3\nk4=v4\n");

  // A second checkpoint replaces the first; the state is the same after it.
  c = parse_checkpoint(ok({"checkpoint"}));
  EXPECT_EQ(c.lsn, 6u);
  EXPECT_EQ(c.entries, 3u);
  EXPECT_EQ(ok({"scan"}), "k2=v2b\nk3=v3\nk4=v4\n");
  EXPECT_EQ(ok({"put", "k5", "v5"}), "OK lsn=7\n");
}

TEST_F(KvTest, CheckpointReleasesSegmentsAndStateSurvives) {
  // 4 KiB segments and ~250-byte records: 40 puts span several segments.
  const std::vector<std::string> small = {"--data", dir_, "--segment-max-bytes", "4096"};
  auto kv_small = [&](std::vector<std::string> args) {
    args.insert(args.begin(), small.begin(), small.end());
    return run(args);
  };
  std::string expected;
  for (int i = 0; i < 40; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "key%02d", i);
    const std::string value(200, static_cast<char>('a' + i % 26));
    ASSERT_EQ(kv_small({"put", key, value}).exit_code, 0);
    expected += std::string(key) + "=" + value + "\n";
  }
  const int before = segment_files();
  ASSERT_GE(before, 3);

  Outcome checkpoint = kv_small({"checkpoint"});
  ASSERT_EQ(checkpoint.exit_code, 0) << checkpoint.err;
  const CheckpointLine c = parse_checkpoint(checkpoint.out);
  EXPECT_EQ(c.lsn, 40u);
  EXPECT_EQ(c.entries, 40u);
  // Every segment but the active one holds only LSNs the checkpoint covers.
  EXPECT_EQ(c.segments, static_cast<unsigned long long>(before - 1));
  EXPECT_GT(c.bytes, 0u);
  EXPECT_EQ(segment_files(), 1);

  // The log now starts above LSN 1; the state and the LSNs carry on.
  EXPECT_EQ(ok({"scan"}), expected);
  Outcome put = kv_small({"put", "key99", "last"});
  EXPECT_EQ(put.out, "OK lsn=41\n");
  EXPECT_EQ(ok({"get", "key99"}), "last\n");
  EXPECT_EQ(ok({"get", "key07"}), std::string(200, 'h') + "\n");
}

// A checkpoint that crashed before its rename leaves CHECKPOINT.tmp behind; the next
// checkpoint must replace it, not append to it.
TEST_F(KvTest, LeftoverTmpFromCrashedCheckpointIsReplaced) {
  ok({"put", "a", "1"});
  write_file(dir_ + "/CHECKPOINT.tmp", "half a checkpoint");
  EXPECT_EQ(parse_checkpoint(ok({"checkpoint"})).entries, 1u);
  EXPECT_FALSE(fs::exists(dir_ + "/CHECKPOINT.tmp"));
  EXPECT_EQ(ok({"get", "a"}), "1\n");
}

// When the log holds no record but a checkpoint exists (every segment with records
// released), the store must continue after the checkpoint's LSN, not restart at 1:
// a record at LSN 1 would be skipped as "in the checkpoint" by the next replay.
TEST_F(KvTest, EmptyLogAfterCheckpointContinuesLsns) {
  ok({"put", "a", "1"});
  ok({"put", "b", "2"});
  ok({"put", "c", "3"});
  parse_checkpoint(ok({"checkpoint"}));
  fs::remove_all(dir_ + "/wal");  // what a release of every segment would leave

  EXPECT_EQ(ok({"put", "d", "4"}), "OK lsn=4\n");
  EXPECT_EQ(ok({"scan"}), "a=1\nb=2\nc=3\nd=4\n");
}

// An older checkpoint put back after a release leaves changes nowhere: refuse to open.
TEST_F(KvTest, HoleBetweenCheckpointAndLogIsCorruption) {
  const std::vector<std::string> small = {"--data", dir_, "--segment-max-bytes", "1024"};
  auto kv_small = [&](std::vector<std::string> args) {
    args.insert(args.begin(), small.begin(), small.end());
    return run(args);
  };
  ASSERT_EQ(kv_small({"put", "first", "1"}).exit_code, 0);
  ASSERT_EQ(kv_small({"checkpoint"}).exit_code, 0);
  const std::string old_checkpoint = read_file(dir_ + "/CHECKPOINT");
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(kv_small({"put", kaya::testing::cat("k", std::to_string(i)),
                        std::string(100, 'x')})
                  .exit_code,
              0);
  }
  const CheckpointLine c = parse_checkpoint(kv_small({"checkpoint"}).out);
  ASSERT_GT(c.segments, 0u);
  write_file(dir_ + "/CHECKPOINT", old_checkpoint);

  Outcome get = kv({"get", "first"});
  EXPECT_EQ(get.exit_code, 3);
  EXPECT_NE(get.err.find("the log starts at LSN"), std::string::npos) << get.err;
  EXPECT_NE(get.err.find(dir_ + "/CHECKPOINT covers only LSNs up to 1"),
            std::string::npos)
      << get.err;
}

TEST_F(KvTest, CorruptCheckpointNamesTheFile) {
  ok({"put", "alpha", "one"});
  ok({"put", "beta", "two"});
  parse_checkpoint(ok({"checkpoint"}));
  const std::string path = dir_ + "/CHECKPOINT";
  const std::string good = read_file(path);
  ASSERT_GT(good.size(), 40u);

  // The version (8), the LSN (12), an entry, the CRC itself: the CRC catches each
  // before anything else reads it.
  for (size_t offset : {size_t{8}, size_t{12}, size_t{40}, good.size() - 1}) {
    std::string bad = good;
    bad[offset] ^= 0x01;
    write_file(path, bad);
    Outcome get = kv({"get", "alpha"});
    EXPECT_EQ(get.exit_code, 3) << "byte " << offset << ": " << get.err;
    EXPECT_EQ(get.out, "");
    EXPECT_EQ(
        get.err.rfind("error: checkpoint " + path + " is corrupt: CRC32C mismatch", 0),
        0u)
        << "byte " << offset << ": " << get.err;
  }

  write_file(path, good.substr(0, 10));  // truncated below the fixed fields
  Outcome get = kv({"get", "alpha"});
  EXPECT_EQ(get.exit_code, 3);
  EXPECT_NE(get.err.find(path + " is corrupt"), std::string::npos) << get.err;

  write_file(path, good);
  EXPECT_EQ(ok({"get", "alpha"}), "one\n");
}

TEST_F(KvTest, UsageErrorsExitFour) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"get", "k"},  // no --data
      {"--data"},
      {"--data", dir_},
      {"--data", dir_, "frobnicate"},
      {"--data", dir_, "put", "k"},
      {"--data", dir_, "get"},
      {"--data", dir_, "get", "k", "extra"},
      {"--data", dir_, "scan", "a", "b"},
      {"--data", dir_, "checkpoint", "now"},
      {"--data", dir_, "put", "a=b", "v"},
      {"--data", dir_, "put", "", "v"},
      {"--data", dir_, "put", "k", "two\nlines"},
      {"--bogus", "x", "--data", dir_, "get", "k"},
      {"--data", dir_, "--segment-max-bytes", "many", "get", "k"},
  };
  for (const auto& args : bad) {
    Outcome o = run(args);
    std::string shown;
    for (const auto& a : args) shown += " '" + a + "'";
    EXPECT_EQ(o.exit_code, 4) << shown << ": " << o.err;
    EXPECT_EQ(o.err.rfind("error: ", 0), 0u) << shown << ": " << o.err;
    EXPECT_NE(o.err.find("usage: kaya-kv --data DIR COMMAND"), std::string::npos)
        << shown;
    EXPECT_EQ(o.out, "") << shown;
  }
  // Refused before any I/O: the data directory was never created.
  EXPECT_FALSE(fs::exists(dir_));

  Outcome help = run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: kaya-kv"), std::string::npos);
}

// A segment size the log cannot use is the library's InvalidArgument: exit 4 too.
TEST_F(KvTest, InvalidSegmentSizeExitsFour) {
  Outcome o = run({"--data", dir_, "--segment-max-bytes", "10", "get", "k"});
  EXPECT_EQ(o.exit_code, 4);
  EXPECT_NE(o.err.find("segment_max_bytes"), std::string::npos) << o.err;
}

TEST_F(KvTest, StoreInUseIsLockConflict) {
  ok({"put", "k", "v"});
  const int fd = ::open((dir_ + "/LOCK").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  Outcome o = kv({"get", "k"});
  ::close(fd);
  EXPECT_EQ(o.exit_code, 6) << o.err;
  EXPECT_EQ(o.err.rfind("error: ", 0), 0u);
  EXPECT_EQ(ok({"get", "k"}), "v\n");
}

}  // namespace
