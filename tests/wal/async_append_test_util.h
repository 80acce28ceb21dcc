// Helpers of the asynchronous append tests (async_append*_test.cc): opening a writer
// whose fsyncs while appending are all segments', and recording what completions saw.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <vector>

#include "kaya/io/disk.h"
#include "kaya/wal/writer.h"
#include "wal/writer_test_util.h"

namespace kaya::wal::async_testing {

// With the recovery point kept inline, every fsync_file while appending is a
// segment's: the tests count and hold them.
inline std::unique_ptr<Writer> open_or_die(const WalConfig& config, io::Disk& disk) {
  OpenOptions options;
  options.recovery_point_inline = true;
  return testing::open_or_die(config, disk, options);
}

// What the completions saw, in the order they ran.
struct Completions {
  std::mutex mu;
  std::vector<Lsn> lsns;        // of every completion, failed ones included
  std::vector<Status> outcome;  // ok, or the error
  std::vector<bool> durable;

  AppendCallback callback() {
    return [this](const Result<AppendResult>& r) {
      std::lock_guard lock(mu);
      if (r.ok()) {
        lsns.push_back(r->lsn);
        outcome.push_back(ok_status());
        durable.push_back(r->durable);
      } else {
        lsns.push_back(Lsn());
        outcome.push_back(r.error());
        durable.push_back(false);
      }
    };
  }
  size_t size() {
    std::lock_guard lock(mu);
    return lsns.size();
  }
};

}  // namespace kaya::wal::async_testing
