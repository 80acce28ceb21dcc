// libFuzzer target: kaya::wal::read_recovery_point() on an arbitrary wal/RECOVERY_POINT.
//
// Input: the file's bytes, whatever their length (1024, two 512-byte slots, is the
// only valid one; the seeds are files written by create_recovery_point() and
// RecoveryPointFile, one with a torn slot). The file is put on a SimDisk. Invariants
// checked (a failure aborts, which libFuzzer reports as a crash):
// - an existing file is never read as absent; errors are Corruption or
//   UnsupportedVersion only, and name the file;
// - a file of another length is Corruption pointing at --rebuild-recovery-point;
// - decode_slot() on each half agrees with the choice: UnsupportedVersion when a slot
//   is of a newer layout or format (whatever the other says), Corruption when neither
//   slot is valid, else the valid slot with the highest generation;
// - a point read back is one this library can read (format version, features), and
//   encode_slot() turns it into a slot that decodes to the same point.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery_point.h"

namespace {

namespace rf = kaya::wal::rp_format;
using kaya::ErrorKind;
using kaya::Result;
using kaya::io::RelativePath;
using kaya::wal::RecoveryPoint;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "recovery_point_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

void must_ok(const kaya::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "recovery_point_fuzzer: %s failed: %s\n", what,
               s.error().message().c_str());
  std::abort();
}

bool mentions(const kaya::Error& e, const std::string& text) {
  return e.message().find(text) != std::string::npos;
}

// Puts `bytes` as the recovery point file on `disk`.
void put_file(kaya::io::SimDisk& disk, std::span<const uint8_t> bytes) {
  const RelativePath file = RelativePath::parse(rf::kFile).value();
  must_ok(disk.create_dir(RelativePath::parse("wal").value()), "create_dir");
  const uint8_t one = 0;
  // An empty input is an empty file, not an absent one.
  must_ok(disk.append(file, bytes.empty() ? std::span<const uint8_t>(&one, 1) : bytes)
              .status(),
          "append");
  if (bytes.empty()) must_ok(disk.truncate(file, 0), "truncate");
}

// What the two slots say, decoded on their own; checks the choice made from them.
void check_choice(std::span<const uint8_t> file,
                  const Result<std::optional<RecoveryPoint>>& read) {
  std::optional<Result<RecoveryPoint>> slots[rf::kSlots];
  std::optional<RecoveryPoint> best;
  bool tie = false;
  bool unsupported = false;
  for (size_t i = 0; i < rf::kSlots; ++i) {
    slots[i] = kaya::wal::decode_slot(file.subspan(i * rf::kSlotBytes, rf::kSlotBytes),
                                      "slot " + std::to_string(i));
    const Result<RecoveryPoint>& slot = *slots[i];
    if (!slot.ok()) {
      check(slot.error().kind() == ErrorKind::kCorruption ||
                slot.error().kind() == ErrorKind::kUnsupportedVersion,
            "decode_slot failed with another kind than Corruption or UnsupportedVersion");
      unsupported |= slot.error().kind() == ErrorKind::kUnsupportedVersion;
      continue;
    }
    if (best && slot->generation == best->generation && !(*slot == *best)) tie = true;
    if (!best || slot->generation > best->generation) {
      best = *slot;
      tie = false;
    }
  }
  if (unsupported) {
    check(!read.ok() && read.error().kind() == ErrorKind::kUnsupportedVersion,
          "a slot of a newer layout or format was not refused");
    return;
  }
  if (!best) {
    check(!read.ok() && read.error().kind() == ErrorKind::kCorruption,
          "neither slot decodes, yet the file was not Corruption");
    check(mentions(read.error(), "--rebuild-recovery-point"),
          "Corruption of both slots does not point at --rebuild-recovery-point");
    return;
  }
  check(read.ok() && read->has_value(), "a valid slot, yet the file was not read");
  const RecoveryPoint& got = **read;
  if (tie) {
    // Two valid slots of one generation that differ: either is the highest.
    check(got.generation == best->generation && ((slots[0]->ok() && got == **slots[0]) ||
                                                 (slots[1]->ok() && got == **slots[1])),
          "not one of the two valid slots of the highest generation");
  } else {
    check(got == *best, "the point read is not the valid slot of the highest generation");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Beyond two files' worth, a longer file tests nothing more.
  if (size > 2 * rf::kFileBytes) return 0;
  const std::span<const uint8_t> file(data, size);
  kaya::io::SimDisk disk;
  put_file(disk, file);
  const std::string where = disk.describe(RelativePath::parse(rf::kFile).value());

  const Result<std::optional<RecoveryPoint>> read = kaya::wal::read_recovery_point(disk);
  if (read.ok()) {
    check(read->has_value(), "an existing file was read as absent");
  } else {
    check(read.error().kind() == ErrorKind::kCorruption ||
              read.error().kind() == ErrorKind::kUnsupportedVersion,
          "read_recovery_point failed with another kind than Corruption or "
          "UnsupportedVersion");
    check(mentions(read.error(), where), "the error does not name the file");
  }
  if (size != rf::kFileBytes) {
    check(!read.ok() && read.error().kind() == ErrorKind::kCorruption,
          "a file of the wrong length was not Corruption");
    check(mentions(read.error(), "--rebuild-recovery-point"),
          "a file of the wrong length does not point at --rebuild-recovery-point");
    return 0;
  }
  check_choice(file, read);
  if (!read.ok()) return 0;

  const RecoveryPoint& point = **read;
  check(point.format_version == kaya::wal::format::kVersion,
        "a point of another record format version was accepted");
  check((point.incompatible_features & ~RecoveryPoint::kKnownIncompatibleFeatures) == 0,
        "a point with unknown incompatible features was accepted");
  std::vector<uint8_t> slot(rf::kSlotBytes);
  kaya::wal::encode_slot(point, slot);
  const Result<RecoveryPoint> again = kaya::wal::decode_slot(slot, "re-encoded slot");
  check(again.ok(), "encode_slot of a point read back does not decode");
  check(*again == point, "encode_slot then decode_slot changes the point");
  return 0;
}
