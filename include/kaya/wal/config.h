/// @file
/// A log's configuration (segment and record limits, group commit) and the durability
/// modes of an append.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kaya/core/export.h"
#include "kaya/core/status.h"

namespace kaya::io {
struct DiskLimits;
}  // namespace kaya::io

namespace kaya::wal {

/// What an append waits for before it returns.
enum class DurabilityMode {
  /// The record is on stable storage (written and fsynced): it survives a power loss.
  kStrict,
  /// The operating system has the record (written, not fsynced): it survives a crash of
  /// the process, not a power loss, until a later sync covers it.
  kRelaxed,
};

/// "strict" or "relaxed".
KAYA_API std::string_view to_string(DurabilityMode mode);

/// Group commit: how strict appends that arrive close together share one fsync.
/// All zero (the default) means "no deliberate batching": a strict append never waits
/// for companions, yet appends queued while an fsync runs still share the next one.
struct BatchConfig {
  /// A batch is synced as soon as it holds this many records (0: no limit).
  uint32_t max_records = 0;
  /// A batch is synced as soon as it holds this many bytes (0: no limit).
  uint64_t max_bytes = 0;
  /// The longest a strict record waits for companions before its batch is synced
  /// (0: never waits). Bounds commit latency: see Writer::append.
  uint64_t flush_interval_us = 0;
};

/// Format extension bit of WalConfig::extensions: `Payload::bytes` records (record
/// type 4). The same bit as the recovery point's rp_format::kBytesFeature.
inline constexpr uint64_t kExtensionBytes = 0x2;
/// Format extension bit of WalConfig::extensions: atomic batches
/// (Writer::append_batch). The same bit as rp_format::kBatchesFeature.
inline constexpr uint64_t kExtensionBatches = 0x4;
/// Every extension bit WalConfig::extensions accepts.
inline constexpr uint64_t kAllExtensions = kExtensionBytes | kExtensionBatches;

/// "bytes", "batches", "bytes,batches" or "none" for a set of extension bits.
KAYA_API std::string extensions_to_string(uint64_t extensions);

/// Parses a comma-separated list of extension names ("bytes", "batches"; "" or
/// "none" for no extension) into extension bits. InvalidArgument naming an unknown one.
KAYA_API Result<uint64_t> parse_extensions(std::string_view names);

/// Configuration of a log: segment and record size limits, group commit. The same
/// values must be used by every writer, reader and recovery of one log.
struct KAYA_API WalConfig {
  /// Default segment_max_bytes: 64 MiB.
  static constexpr uint64_t kDefaultSegmentMaxBytes = 64ull << 20;
  /// Default max_record_bytes: 32 MiB.
  static constexpr uint64_t kDefaultMaxRecordBytes = 32ull << 20;
  /// Upper bound on flush_interval_us: a longer wait is a configuration mistake.
  static constexpr uint64_t kMaxFlushIntervalUs = 10'000'000;
  /// Default preallocate_bytes: 1 MiB.
  static constexpr uint64_t kDefaultPreallocateBytes = 1ull << 20;
  /// Default recovery_point_sync_ms: 100 ms.
  static constexpr uint64_t kDefaultRecoveryPointSyncMs = 100;
  /// Upper bound on recovery_point_sync_ms: 60 s.
  static constexpr uint64_t kMaxRecoveryPointSyncMs = 60'000;
  /// Default async_max_in_flight_bytes: 2 MiB.
  static constexpr uint64_t kDefaultAsyncMaxInFlightBytes = 2ull << 20;

  /// A segment is closed and the next one started when a record would take a
  /// non-empty segment past this size. A record larger than this goes alone into a
  /// fresh segment (as KayaDB writes it), which then holds only that record.
  uint64_t segment_max_bytes = kDefaultSegmentMaxBytes;
  /// Largest encoded record (header + payload) the writer accepts; it may exceed
  /// segment_max_bytes. KayaDB's max_record_bytes bounds the payload alone: a KayaDB
  /// limit of N is a kaya limit of N + 40 (docs/format.md).
  uint64_t max_record_bytes = kDefaultMaxRecordBytes;
  /// Group commit (no deliberate batching by default).
  BatchConfig batch;
  /// When the Disk can map files (FileDisk, SimDisk), the writer allocates segment space
  /// this many bytes at a time and maps it: a relaxed append stores its record through
  /// the shared map (a copy, not a system call); strict records are written into the
  /// allocated space by the sync leader, one write per fsync. The unused part of the
  /// last segment reads as zeros, which recovery takes as the end of the log; close()
  /// and rotation cut it off. 0: no preallocation, every batch is appended with a
  /// system call (what a Disk that cannot map always gets).
  uint64_t preallocate_bytes = kDefaultPreallocateBytes;
  /// The writer's recovery point (wal/RECOVERY_POINT, docs/durability.md) is written
  /// after every sync round, off the commit path, and synced at rotation, close and at
  /// least this often while it changes: after a power loss it lags the durable records
  /// by at most this long (1 to 60,000).
  uint64_t recovery_point_sync_ms = kDefaultRecoveryPointSyncMs;
  /// The format extensions (kExtensionBytes, kExtensionBatches) the log opts into when
  /// a writer opens it (docs/format.md, "Extensions"). One way: Writer::open adds them
  /// to the log's set, recorded in its recovery point and marked in every record written
  /// after, and never removes one, so a later open without them keeps what the log has.
  /// A log without extensions (the default, 0) stays byte for byte a KayaDB v1 log,
  /// and appending an extension record to it is refused (InvalidArgument naming this
  /// setting). A KayaDB reader destroys an opted-in log from its first record written
  /// after the opt-in: opt in only logs that no KayaDB reads.
  uint64_t extensions = 0;
  /// Back-pressure of Writer::append_async: the encoded bytes (headers included) of the
  /// asynchronous appends accepted and whose completion has not started never exceed
  /// this (at least 1), but for one record larger than it, which is accepted alone once
  /// nothing else is in flight. At the bound append_async waits for room
  /// (docs/async.md). The bound also caps what one fsync covers for a single async
  /// appender: the default (2 MiB, thousands of small records) keeps fsyncs short,
  /// which measured faster than larger ones on a local disk (docs/async.md,
  /// "Throughput"); raise it for storage whose fsync takes long (a remote Disk).
  uint64_t async_max_in_flight_bytes = kDefaultAsyncMaxInFlightBytes;

  /// InvalidArgument naming the field when the configuration makes no sense.
  Status validate() const;
  /// validate(), and InvalidArgument naming the field when a segment or a record would
  /// not fit in the largest file of a disk with these limits (io::Disk::limits(), e.g.
  /// a RADOS cluster's largest object). Writer::open checks it.
  Status validate(const io::DiskLimits& limits) const;
};

}  // namespace kaya::wal

namespace kaya {

/// Deprecated: kaya::wal::DurabilityMode (removed in 0.3).
using DurabilityMode [[deprecated("use kaya::wal::DurabilityMode")]] =
    wal::DurabilityMode;
/// Deprecated: kaya::wal::BatchConfig (removed in 0.3).
using BatchConfig [[deprecated("use kaya::wal::BatchConfig")]] = wal::BatchConfig;
/// Deprecated: kaya::wal::WalConfig (removed in 0.3).
using WalConfig [[deprecated("use kaya::wal::WalConfig")]] = wal::WalConfig;

}  // namespace kaya
