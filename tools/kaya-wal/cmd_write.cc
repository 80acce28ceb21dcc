// kaya-wal write: appends records read from stdin, one per line, through Writer.
#include <cstdio>
#include <ios>
#include <iostream>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "json.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"
#include "line_parser.h"
#include "log_location.h"

namespace kaya::tool {
namespace {

constexpr std::string_view kHelp =
    R"(usage: kaya-wal write DIR [--json] [flags] < LINES

Opens the log in DIR (creating DIR when absent; recovery cuts a torn tail, moves
records after a hole beyond the recovery point to wal/lost/ (a note on stderr says
what it did), and refuses a corrupt log), then appends one record per line of stdin. Once an append is
acknowledged it prints, and flushes:

  OK lsn=<n> sequence=<n> durable=<true|false>

Lines:
  put KEY VALUE   Put. VALUE is the rest of the line after the single space that
                  follows KEY: it may contain spaces, and "put KEY " (trailing space)
                  writes an empty value.
  delete KEY      Delete.
  noop            Noop.
  bytes DATA      Bytes record (kaya extension): DATA is the rest of the line.
                  Only in a log opted into it (--extensions bytes).
  Empty lines and lines starting with '#' are skipped.
  begin           The lines up to the next "commit" form one atomic batch
  commit          (Writer::append_batch; the log must be opted into batches,
                  --extensions batches): appended at "commit" with contiguous LSNs,
                  all or none after a crash, acknowledged once:
                    OK lsn=<first>..<last> sequence=<first>..<last> durable=<b>
                  A "begin" without "commit" at the end of the input is an error
                  (exit 4) and appends nothing of that batch.

KEY contains no space (write one as \x20). KEY may be empty, written as nothing
between the separators: "put  VALUE" (two spaces) puts the empty key, "delete "
(trailing space) deletes it; "put", "put KEY" and "delete" without those spaces are
refused, so that a forgotten KEY or VALUE is not silently empty. This is how dump
prints such records (key= value=...), so its lines are valid write input. In KEY,
VALUE and DATA a backslash starts an escape, so that any byte can be written:
  \\  backslash   \n  line feed   \t  tab   \r  carriage return   \xHH  any byte
Raw control bytes (0x00-0x1f, 0x7f; e.g. the CR of a CRLF line end) are refused.

A malformed line stops the command with exit 4 and "error: stdin line N: ..."; every
record acknowledged before it stays in the log. A second writer on DIR exits 6.

flags:
  --json                       acknowledge with one JSON object per record instead:
                               {"lsn","sequence","durable","segment_id","offset",
                                "bytes"} (bytes: the encoded record's length)
  --durability strict|relaxed  strict (default): acknowledged once on stable storage
                               (durable=true); relaxed: once the OS has it
                               (durable=false). The log is synced when input ends.
  --segment-max-bytes N        rotate to a new segment past N bytes (default 64 MiB).
                               Given alone, it also lowers --max-record-bytes to N
                               when that is larger, so that every record fits.
  --max-record-bytes N         largest encoded record (default 32 MiB)
  --extensions LIST            opt the log into format extensions, one way
                               (comma-separated: bytes, batches; default none: the
                               log stays a KayaDB v1 log unless it already opted in).
                               A KayaDB reader destroys an opted-in log.
  --batch-max-records N        group commit: sync once N records wait (default 0: off)
  --batch-max-bytes N          group commit: sync once N bytes wait (default 0: off)
  --batch-interval-us N        group commit: a strict append waits up to N us for
                               companions (default 0: never waits; at most 10 s)
)";

Result<wal::WalConfig> write_config(const Args& args) {
  wal::WalConfig c;
  KAYA_ASSIGN_OR_RETURN(
      c.segment_max_bytes,
      args.u64("segment-max-bytes", wal::WalConfig::kDefaultSegmentMaxBytes));
  KAYA_ASSIGN_OR_RETURN(
      c.max_record_bytes,
      args.u64("max-record-bytes", wal::WalConfig::kDefaultMaxRecordBytes));
  uint64_t max_records = 0;
  KAYA_ASSIGN_OR_RETURN(max_records, args.u64("batch-max-records", 0, 0, UINT32_MAX));
  c.batch.max_records = static_cast<uint32_t>(max_records);
  KAYA_ASSIGN_OR_RETURN(c.batch.max_bytes, args.u64("batch-max-bytes", 0));
  KAYA_ASSIGN_OR_RETURN(c.batch.flush_interval_us, args.u64("batch-interval-us", 0));
  if (std::optional<std::string> names = args.value("extensions")) {
    KAYA_ASSIGN_OR_RETURN(c.extensions, wal::parse_extensions(*names));
  }
  KAYA_RETURN_IF_ERROR(c.validate());
  return c;
}

// Prints the acknowledgement of records [first_lsn, last_lsn] (one record: the plain
// form; a batch: the LSN and sequence ranges) and flushes it.
bool acknowledge(const wal::BatchResult& r, bool batch, bool json) {
  const uint64_t n = r.last_lsn.value() - r.first_lsn.value();
  if (json) {
    JsonObject o;
    if (batch) {
      o.num("first_lsn", r.first_lsn.value())
          .num("last_lsn", r.last_lsn.value())
          .num("first_sequence", r.first_sequence.value())
          .num("last_sequence", r.first_sequence.value() + n);
    } else {
      o.num("lsn", r.first_lsn.value()).num("sequence", r.first_sequence.value());
    }
    std::printf("%s\n", o.boolean("durable", r.durable)
                            .num("segment_id", r.segment_id)
                            .num("offset", r.offset)
                            .num("bytes", r.encoded_len)
                            .build()
                            .c_str());
  } else if (batch) {
    std::printf("OK lsn=%llu..%llu sequence=%llu..%llu durable=%s\n",
                static_cast<unsigned long long>(r.first_lsn.value()),
                static_cast<unsigned long long>(r.last_lsn.value()),
                static_cast<unsigned long long>(r.first_sequence.value()),
                static_cast<unsigned long long>(r.first_sequence.value() + n),
                r.durable ? "true" : "false");
  } else {
    std::printf("OK lsn=%llu sequence=%llu durable=%s\n",
                static_cast<unsigned long long>(r.first_lsn.value()),
                static_cast<unsigned long long>(r.first_sequence.value()),
                r.durable ? "true" : "false");
  }
  return flush_stdout().ok();
}

// Appends every line of stdin; returns the exit code. Lines between "begin" and
// "commit" are appended as one atomic batch at the "commit".
int append_lines(wal::Writer& writer, wal::DurabilityMode mode, bool json) {
  std::string text;
  // A failed read throws instead of looking like the end of the input, so that a line
  // larger than the memory left is named as such.
  std::cin.exceptions(std::ios::badbit);
  uint64_t begin_line = 0;  // the open batch's "begin" (0: none; lines count from 1)
  std::vector<Line> batch;
  for (uint64_t line_no = 1;; ++line_no) {
    const std::string where = "stdin line " + std::to_string(line_no);
    try {
      if (!std::getline(std::cin, text)) break;
    } catch (const std::bad_alloc&) {
      return report_error(Error(ErrorKind::kInternal,
                                where + ": out of memory reading the line (" +
                                    std::to_string(text.size()) + " bytes read so far)"));
    } catch (const std::ios_base::failure&) {
      return report_error(Error(ErrorKind::kIo, where + ": reading stdin failed"));
    }
    if (text == "begin") {
      if (begin_line != 0) {
        return report_error(
            Error(ErrorKind::kInvalidArgument,
                  "begin inside the batch begun at stdin line " +
                      std::to_string(begin_line) + " (batches do not nest)"),
            where);
      }
      begin_line = line_no;
      batch.clear();
      continue;
    }
    const bool commit = text == "commit";
    if (commit && begin_line == 0) {
      return report_error(Error(ErrorKind::kInvalidArgument, "commit without begin"),
                          where);
    }
    std::vector<Line> one;
    if (!commit) {
      Result<std::optional<Line>> line = parse_line(text);
      if (!line.ok()) return report_error(line.error(), where);
      if (!*line) continue;
      if (begin_line != 0) {
        batch.push_back(std::move(**line));
        continue;
      }
      one.push_back(std::move(**line));
    }
    const std::vector<Line>& lines = commit ? batch : one;
    std::vector<wal::Payload> payloads;
    for (const Line& l : lines) payloads.push_back(wal::Payload{l.type, l.key, l.value});
    const std::string what = commit ? "the batch of stdin lines " +
                                          std::to_string(begin_line) + ".." +
                                          std::to_string(line_no)
                                    : where;
    if (commit && payloads.empty()) {
      begin_line = 0;  // an empty batch appends nothing
      continue;
    }
    Result<wal::BatchResult> r = writer.append_batch(payloads, mode);
    if (!r.ok()) return report_error(r.error(), what);
    // An acknowledgement that cannot be reported must not be followed by more appends:
    // stop at once (the records acknowledged so far are in the log).
    if (!acknowledge(*r, commit, json)) {
      return report_stdout_error("acknowledging " + what + " (LSN " +
                                 std::to_string(r->first_lsn.value()) + ")");
    }
    begin_line = 0;
  }
  if (begin_line != 0) {
    return report_error(Error(ErrorKind::kInvalidArgument,
                              "the input ends inside the batch begun at stdin line " +
                                  std::to_string(begin_line) +
                                  " (no commit): nothing of it appended"));
  }
  return kExitOk;
}

}  // namespace

int run_write(const CommandArgs& argv) {
  Result<Args> args = Args::parse(argv,
                                  {{"durability", true},
                                   {"segment-max-bytes", true},
                                   {"max-record-bytes", true},
                                   {"batch-max-records", true},
                                   {"batch-max-bytes", true},
                                   {"batch-interval-us", true},
                                   {"extensions", true},
                                   {"json", false}},
                                  1, 1);
  if (!args.ok()) return usage_error("write", args.error());
  if (args->help()) {
    std::fwrite(kHelp.data(), 1, kHelp.size(), stdout);
    return kExitOk;
  }
  Result<wal::DurabilityMode> mode = parse_durability(*args);
  if (!mode.ok()) return usage_error("write", mode.error());
  Result<wal::WalConfig> config = write_config(*args);
  if (!config.ok()) return usage_error("write", config.error());

  const std::string& dir = args->positional()[0];
  auto disk = open_log_for_write(dir);
  if (!disk.ok()) return report_error(disk.error());
  auto writer = wal::Writer::open(*config, **disk);
  if (!writer.ok()) return report_error(writer.error(), "cannot open the log in " + dir);
  // What recovery cut or moved aside before the first append, on stderr.
  const wal::RecoveryReport& recovered = (*writer)->recovery_report();
  for (const wal::Dropped& d : recovered.dropped) {
    std::fprintf(stderr,
                 "note: recovery %s segment %llu from offset %llu (%llu bytes)%s\n",
                 d.moved_to.empty() ? "cut" : "moved aside",
                 static_cast<unsigned long long>(d.segment_id),
                 static_cast<unsigned long long>(d.offset),
                 static_cast<unsigned long long>(d.bytes),
                 d.moved_to.empty() ? " (a torn tail, never acknowledged)"
                                    : (" to " + d.moved_to).c_str());
  }

  std::ios::sync_with_stdio(false);
  const int code = append_lines(**writer, *mode, args->has("json"));
  // Closing syncs: relaxed records acknowledged so far become durable too.
  Status closed = (*writer)->close();
  if (!closed.ok()) {
    const int close_code = report_error(closed.error(), "closing the log in " + dir);
    return code != kExitOk ? code : close_code;
  }
  return code;
}

}  // namespace kaya::tool
