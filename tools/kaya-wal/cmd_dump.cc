// kaya-wal dump: prints the records of a log in LSN order, through LogReader, or of
// one segment file read on its own, through inspect_segment.
#include <cstdio>
#include <new>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "escape.h"
#include "json.h"
#include "kaya/wal/inspect.h"
#include "kaya/wal/reader.h"
#include "segment_file.h"

namespace kaya::tool {
namespace {

constexpr std::string_view kHelp =
    R"(usage: kaya-wal dump DIR|FILE [--from-lsn N] [--json] [--max-record-bytes N]

Prints every record of the log in DIR in LSN order, one line each, starting at the
log's first LSN (or at --from-lsn N). Reads only: changes no byte, takes no lock.

FILE: one segment file read on its own, e.g. one that recovery moved to wal/lost/:
its records in file order, judged as the last segment of a log without a recovery
point, as `inspect FILE` judges it (a file that is not a kaya segment: exit 4). LSNs
are checked within the file only, not against other files (a note on stderr says
so); --from-lsn N then only skips the records below N.

plain lines (KEY and VALUE escaped as for `write`: \\ \n \t \r \xHH; bytes 0x80-0xff
as \xHH; a space in a KEY as \x20; VALUE runs to the end of the line):
  lsn=1 sequence=1 put key=user:1 value=Ada
  lsn=2 sequence=2 delete key=user:2
  lsn=3 sequence=3 noop
  lsn=4 sequence=4 bytes value=\x00\x01kaya

--json: one object per line, members lsn, sequence, type (put, delete, noop, bytes),
and key and value where the type has them. A key or value that is valid UTF-8 is a
JSON string in "key"/"value"; otherwise it is in "key_hex"/"value_hex" as the
lower-case hex of every byte:
  {"lsn":1,"sequence":1,"type":"put","key":"user:1","value":"Ada"}
  {"lsn":4,"sequence":4,"type":"bytes","value_hex":"00016b617961"}

A torn tail (a write cut short by a crash) ends the output normally: exit 0, with a
note on stderr. Corruption: the valid records before it are printed, then the error
(exit 3). --from-lsn N of a released LSN: exit 2; past the end: exit 4.

flags:
  --from-lsn N          first LSN to print (default: the log's first)
  --json                JSON lines instead of text
  --max-record-bytes N  the writer's record limit, when it was raised above 32 MiB
)";

std::string plain_line(const wal::Record& r) {
  std::string s = "lsn=" + std::to_string(r.lsn.value()) +
                  " sequence=" + std::to_string(r.sequence.value()) + " " +
                  std::string(wal::to_string(r.type));
  switch (r.type) {
    case wal::RecordType::kPut:
      return s + " key=" + escape_text(r.key, true) +
             " value=" + escape_text(r.value, false);
    case wal::RecordType::kDelete:
      return s + " key=" + escape_text(r.key, true);
    case wal::RecordType::kBytes:
      return s + " value=" + escape_text(r.value, false);
    case wal::RecordType::kNoop:
      break;
  }
  return s;
}

std::string json_line(const wal::Record& r) {
  JsonObject o;
  o.num("lsn", r.lsn.value()).num("sequence", r.sequence.value());
  o.str("type", wal::to_string(r.type));
  if (r.type == wal::RecordType::kPut || r.type == wal::RecordType::kDelete) {
    o.bytes("key", r.key);
  }
  if (r.type == wal::RecordType::kPut || r.type == wal::RecordType::kBytes) {
    o.bytes("value", r.value);
  }
  return o.build();
}

// Prints one record; then whether stdout still works. A record too large to format in
// the memory left (its escaped text is built whole) is an error naming it.
Status print_record(const wal::Record& r, bool json) {
  try {
    const std::string line = json ? json_line(r) : plain_line(r);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    return Error(ErrorKind::kInternal, "out of memory formatting the record at LSN " +
                                           std::to_string(r.lsn.value()) + " (" +
                                           std::to_string(r.key.size() + r.value.size()) +
                                           " bytes of key and value)");
  }
  return stdout_status();
}

// dump FILE: the records of one segment file read on its own (e.g. one that recovery
// moved to wal/lost/). A lone file is not a log, so not LogReader's input: it has no
// directory, recovery point, neighbours or released LSNs, and its name need not be a
// segment's. It is read through inspect_segment, the scan `inspect FILE` uses (the
// library's decoder and judgement, as the reader's), so that its damage is judged and
// reported as inspect judges it.
int dump_segment_file(const std::string& file, const wal::WalConfig& config, Lsn from,
                      bool json) {
  Result<wal::SegmentInspection> s = inspect_segment_file(
      file, config, [&](uint64_t, uint64_t, const wal::RecordView& r) {
        // stops the scan at the first record that cannot be printed
        return r.lsn >= from ? print_record(r.to_record(), json) : ok_status();
      });
  std::fflush(stdout);  // the valid records first, then the error
  if (!stdout_status().ok()) return report_stdout_error("dump " + file);
  if (!s.ok()) return report_error(s.error());
  std::fprintf(stderr,
               "note: %s was read on its own as one segment file: LSN continuity with "
               "other files is not checked\n",
               file.c_str());
  if (auto e = segment_file_error(*s, file)) return report_error(*e);
  if (s->state != wal::SegmentState::kClean) {
    std::fprintf(stderr, "note: the file ends early: %s: %s\n", file.c_str(),
                 s->state_string().c_str());
  }
  return kExitOk;
}

// Says so on stderr when the reader stopped on bytes that are not a record (a torn
// tail, records after a hole), which it treats as the end of the log.
void note_stall(const wal::LogReader& reader) {
  if (!reader.stalled_on()) return;
  std::fprintf(stderr, "note: the log ends early: %s\n",
               reader.stalled_on()->message().c_str());
}

}  // namespace

int run_dump(const CommandArgs& argv) {
  int code = kExitOk;
  std::optional<LogCommand> cmd =
      LogCommand::start("dump", kHelp, argv, {{"from-lsn", true}}, code);
  if (!cmd) return code;
  const Args& args = cmd->args();
  Result<uint64_t> from_flag = args.u64("from-lsn", 0, 1);
  if (!from_flag.ok()) return cmd->usage(from_flag.error());
  const wal::WalConfig& config = cmd->config();
  const bool json = cmd->json();
  const std::string& path = cmd->path();
  if (is_segment_file_path(path)) {
    // Only a filter here: a lone file has no released LSNs and no end to be past.
    return dump_segment_file(path, config, Lsn(args.has("from-lsn") ? *from_flag : 0),
                             json);
  }

  // dump --json prints records, not a result object: its errors are plain.
  auto disk = cmd->open_dir();
  if (!disk.ok()) return report_error(disk.error());
  Result<Lsn> from = args.has("from-lsn") ? Result<Lsn>(Lsn(*from_flag))
                                          : wal::first_lsn(config, **disk);
  if (!from.ok()) return report_error(from.error());
  // A log whose damage the reader meets before its first record (a missing segment,
  // damage below N) still shows the records before the damage, then its error.
  wal::ReadOptions options;
  options.read_up_to_damage = true;
  auto reader = wal::LogReader::open(config, **disk, *from, options);
  if (!reader.ok()) return report_error(reader.error());
  for (;;) {
    Result<std::optional<wal::Record>> r = (*reader)->next();
    if (!r.ok()) {
      std::fflush(stdout);  // the valid records first, then the error
      return report_error(r.error());
    }
    if (!*r) break;
    Status printed = print_record(**r, json);
    if (!printed.ok() && stdout_status().ok()) return report_error(printed.error());
    if (!printed.ok()) {  // stop at the first record that cannot be written
      return report_stdout_error("dump " + path + " at LSN " +
                                 std::to_string(r->value().lsn.value()));
    }
  }
  std::fflush(stdout);
  note_stall(**reader);
  return kExitOk;
}

}  // namespace kaya::tool
