// The simulation's checks of the readers (simulation_harness.h): LogReaders and
// TailingReaders opened by the clients at random LSNs, every record they return checked
// against the oracle (or its state before a truncation), and the errors they may give.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "sim/simulation_harness.h"

namespace kaya::sim {

const std::vector<Record>& Simulation::log_at(size_t truncations) const {
  return truncations < before_truncation_.size() ? before_truncation_[truncations]
                                                 : assigned_;
}

bool Simulation::check_read(const Record& r, uint64_t expected_lsn,
                            const std::string& who, size_t truncations) {
  const std::vector<Record>& log = log_at(truncations);
  const uint64_t lsn = r.lsn.value();
  SIM_CHECK(lsn == expected_lsn,
            who << " returned LSN " << lsn << " at position " << expected_lsn);
  SIM_CHECK(lsn >= 1 && lsn <= log.size(),
            who << " returned LSN " << lsn << " that was never assigned");
  SIM_CHECK(r == log[lsn - 1], who << " returned a wrong record at LSN " << lsn);
  result_.reads_checked++;
  return true;
}

bool Simulation::reader_error(const Error& e, uint64_t epoch, const std::string& who) {
  const bool released = epoch != release_epoch_;
  SIM_CHECK(is_io_kind(e.kind()) || (released && e.kind() == ErrorKind::kNotFound),
            who << " failed: " << e.to_string());
  return true;
}

bool Simulation::log_reader_step(Client& c) {
  if (!c.reader) {
    const uint64_t from = first_kept_ + rng_() % (next_lsn() - first_kept_ + 1);
    auto r = wal::LogReader::open(config_, disk_, Lsn(from));
    if (!r.ok()) {
      // A poisoned writer may have assigned LSNs that never reached the disk.
      if (r.error().kind() == ErrorKind::kInvalidArgument && writer_->stats().poisoned) {
        return true;
      }
      return reader_error(r.error(), from < release_floor_ ? ~0ull : release_epoch_,
                          "LogReader::open");
    }
    c.reader = std::move(r).value();
    c.reader_epoch = release_epoch_;
    c.reader_log = before_truncation_.size();
    SIM_CHECK(c.reader->position().value() == from, "LogReader opened elsewhere");
  }
  for (int i = 1 + static_cast<int>(rng_() % 6); i > 0; --i) {
    const uint64_t pos = c.reader->position().value();
    auto rec = c.reader->next();
    if (!rec.ok()) {
      c.reader.reset();
      return reader_error(rec.error(), c.reader_epoch, "LogReader::next");
    }
    if (!rec->has_value()) {
      // (A reader opened before a truncation may find no record where it stands,
      // the segment cut below its offset, until bytes arrive there.)
      SIM_CHECK(writer_->stats().poisoned || pos >= next_lsn() ||
                    pos >= writer_->stats().next_lsn.value() ||
                    c.reader_log < before_truncation_.size(),
                "LogReader ended at " << pos << " before the written end");
      break;
    }
    if (!check_read(**rec, pos, "LogReader", c.reader_log)) return false;
  }
  if (rng_() % 4 == 0) c.reader.reset();
  return true;
}

bool Simulation::tail_step(Client& c) {
  if (!c.tail) {
    const uint64_t from = first_kept_ + rng_() % (next_lsn() - first_kept_ + 1);
    c.tail_relaxed = rng_() % 2 == 0;
    auto t = wal::TailingReader::open(
        *writer_, Lsn(from), wal::TailOptions{.include_relaxed = c.tail_relaxed});
    if (!t.ok())
      return reader_error(t.error(), from < release_floor_ ? ~0ull : release_epoch_,
                          "TailingReader::open");
    c.tail = std::move(t).value();
    c.tail_epoch = release_epoch_;
    c.tail_log = before_truncation_.size();
  }
  for (int i = 1 + static_cast<int>(rng_() % 6); i > 0; --i) {
    const uint64_t pos = c.tail->position().value();
    auto rec = c.tail->next(std::chrono::microseconds(0));
    if (!rec.ok()) {
      c.tail.reset();
      return reader_error(rec.error(), c.tail_epoch, "TailingReader::next");
    }
    if (!rec->has_value()) break;
    if (!check_read(**rec, pos, "TailingReader", c.tail_log)) return false;
    if (!c.tail_relaxed) {
      const uint64_t durable_end = writer_->stats().durable_lsn_end.value();
      SIM_CHECK(pos < durable_end, "default TailingReader returned LSN "
                                       << pos << " before it was durable (durable below "
                                       << durable_end << ")");
    }
  }
  if (rng_() % 4 == 0) c.tail.reset();
  return true;
}

}  // namespace kaya::sim
