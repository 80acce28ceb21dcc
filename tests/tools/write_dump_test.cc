// kaya-wal write and dump, run as a child process: round trips through the escaping in
// text and JSON, malformed input, the usage contract and the exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kaya/core/version.h"
#include "kaya/io/file_disk.h"
#include "kaya/io/rados_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "tools/json_lite.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

using kaya::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int kOk = 0, kIo = 1, kNotFound = 2, kCorruption = 3, kInvalid = 4, kLock = 6;

// Input exercising every escape, spaces, empty values, raw UTF-8 and every type.
const std::string kInput =
    "put user:1 Ada\n"
    "delete user:2\n"
    "noop\n"
    "# a comment, skipped\n"
    "\n"
    "put k\\x20sp hello world\\n\\t\\r\\\\\\xff\\x00\n"
    "put empty \n"
    "put utf8 h\xc3\xa9llo  two spaces\n"
    "bytes \\x00\\x01\\x02\\xffkaya\n";

const std::vector<std::string> kDumpLines = {
    "lsn=1 sequence=1 put key=user:1 value=Ada",
    "lsn=2 sequence=2 delete key=user:2",
    "lsn=3 sequence=3 noop",
    "lsn=4 sequence=4 put key=k\\x20sp value=hello world\\n\\t\\r\\\\\\xff\\x00",
    "lsn=5 sequence=5 put key=empty value=",
    "lsn=6 sequence=6 put key=utf8 value=h\\xc3\\xa9llo  two spaces",
    "lsn=7 sequence=7 bytes value=\\x00\\x01\\x02\\xffkaya",
};

ToolResult write(const std::string& dir, const std::string& input,
                 std::vector<std::string> flags = {}) {
  std::vector<std::string> args = {"write", dir};
  args.insert(args.end(), flags.begin(), flags.end());
  return run_tool(args, input);
}

std::vector<Json> json_lines(const std::string& text) {
  std::string error;
  std::vector<Json> out = parse_json_lines(text, &error);
  EXPECT_EQ(error, "") << text;
  return out;
}

TEST(KayaWalWrite, AcksEveryRecordAndDumpsItBackEscaped) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/log";  // created by write
  ToolResult w = write(dir, kInput, {"--extensions", "bytes"});
  ASSERT_EQ(w.exit_code, kOk) << w.describe();
  std::vector<std::string> acks = lines_of(w.out);
  ASSERT_EQ(acks.size(), 7u) << w.describe();
  for (size_t i = 0; i < acks.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    EXPECT_EQ(acks[i], "OK lsn=" + n + " sequence=" + n + " durable=true");
  }
  ToolResult d = run_tool({"dump", dir});
  ASSERT_EQ(d.exit_code, kOk) << d.describe();
  EXPECT_EQ(lines_of(d.out), kDumpLines);
  EXPECT_EQ(d.err, "");
}

TEST(KayaWalWrite, DumpJsonHoldsTheExactBytesAsTextOrHex) {
  TempDir tmp;
  ASSERT_EQ(write(tmp.path(), kInput, {"--extensions", "bytes"}).exit_code, kOk);
  ToolResult d = run_tool({"dump", tmp.path(), "--json"});
  ASSERT_EQ(d.exit_code, kOk) << d.describe();
  std::vector<Json> r = json_lines(d.out);
  ASSERT_EQ(r.size(), 7u);
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i]["lsn"].u64(), i + 1);
    EXPECT_EQ(r[i]["sequence"].u64(), i + 1);
  }
  EXPECT_EQ(r[0]["type"].str(), "put");
  EXPECT_EQ(r[0]["key"].str(), "user:1");
  EXPECT_EQ(r[0]["value"].str(), "Ada");
  EXPECT_EQ(r[1]["type"].str(), "delete");
  EXPECT_EQ(r[1]["key"].str(), "user:2");
  EXPECT_FALSE(r[1].has("value"));
  EXPECT_EQ(r[2]["type"].str(), "noop");
  EXPECT_FALSE(r[2].has("key"));
  // 0xff is not UTF-8: the value goes to value_hex, the key (valid) stays text.
  EXPECT_EQ(r[3]["key"].str(), "k sp");
  EXPECT_FALSE(r[3].has("value"));
  EXPECT_EQ(r[3]["value_hex"].str(), "68656c6c6f20776f726c640a090d5cff00");
  EXPECT_TRUE(r[4].has("value"));
  EXPECT_EQ(r[4]["value"].str(), "");
  EXPECT_EQ(r[5]["value"].str(), "h\xc3\xa9llo  two spaces");
  EXPECT_EQ(r[6]["type"].str(), "bytes");
  EXPECT_EQ(r[6]["value_hex"].str(), "000102ff6b617961");
}

// Every dump line of the log in `from`, without its lsn= and sequence= and with the
// key= and value= field names dropped, written to a new log in `to`: the text copy of
// a log. Returns the write input.
std::string copy_through_text(const std::string& from, const std::string& to) {
  std::string input;
  for (const std::string& line : lines_of(run_tool({"dump", from}).out)) {
    std::string rest = line.substr(line.find(' ', line.find("sequence=")) + 1);
    for (const char* field : {"key=", "value="}) {
      if (size_t at = rest.find(std::string(" ") + field); at != std::string::npos) {
        rest.erase(at + 1, std::string(field).size());
      }
    }
    input += rest + "\n";
  }
  ToolResult w = write(to, input, {"--extensions", "bytes"});
  EXPECT_EQ(w.exit_code, kOk) << w.describe() << input;
  return input;
}

TEST(KayaWalWrite, DumpOutputWrittenAgainGivesTheSameLog) {
  // The plain escaping is reversible: dump's key= and value= fields are valid write
  // input, so a log can be copied through text.
  TempDir tmp;
  const std::string a = tmp.path() + "/a", b = tmp.path() + "/b";
  ASSERT_EQ(write(a, kInput, {"--extensions", "bytes"}).exit_code, kOk);
  copy_through_text(a, b);
  EXPECT_EQ(run_tool({"dump", b, "--json"}).out, run_tool({"dump", a, "--json"}).out);
}

// A log with empty keys and values (written by an engine through the library, which
// accepts them) copies through dump and write into the same log: an empty KEY is
// nothing between the separators, "put  VALUE" and "delete ".
TEST(KayaWalWrite, EmptyKeysAndValuesRoundTripThroughDumpAndWrite) {
  TempDir tmp;
  const std::string a = tmp.path() + "/a", b = tmp.path() + "/b";
  {
    auto disk = io::FileDisk::open(a);
    KAYA_ASSERT_OK(disk);
    wal::WalConfig config;
    config.extensions = wal::kExtensionBytes;
    auto writer = wal::Writer::open(config, **disk);
    KAYA_ASSERT_OK(writer);
    for (const wal::Payload& p :
         {wal::Payload::put("", "v"), wal::Payload::put("", ""),
          wal::Payload::put("k", ""), wal::Payload::del(""),
          wal::Payload::put("", "two  spaces "), wal::Payload::put(" ", " "),
          wal::Payload::del("k"), wal::Payload::noop(), wal::Payload::bytes("")}) {
      KAYA_ASSERT_OK((*writer)->append(p, wal::DurabilityMode::kRelaxed));
    }
    KAYA_ASSERT_OK((*writer)->close());
  }
  ToolResult d = run_tool({"dump", a});
  ASSERT_EQ(d.exit_code, kOk) << d.describe();
  EXPECT_THAT(
      lines_of(d.out),
      ElementsAre(
          "lsn=1 sequence=1 put key= value=v",
          "lsn=2 sequence=2 put key= value=", "lsn=3 sequence=3 put key=k value=",
          "lsn=4 sequence=4 delete key=", "lsn=5 sequence=5 put key= value=two  spaces ",
          "lsn=6 sequence=6 put key=\\x20 value= ", "lsn=7 sequence=7 delete key=k",
          "lsn=8 sequence=8 noop", "lsn=9 sequence=9 bytes value="));
  const std::string input = copy_through_text(a, b);
  EXPECT_THAT(input, HasSubstr("put  v\nput  \nput k \ndelete \n"));
  EXPECT_EQ(run_tool({"dump", b}).out, d.out);
  EXPECT_EQ(run_tool({"dump", b, "--json"}).out, run_tool({"dump", a, "--json"}).out);
  // The segment files are the same byte for byte.
  EXPECT_EQ(read_file(segment_file(b, 1)), read_file(segment_file(a, 1)));
}

TEST(KayaWalWrite, RelaxedAcksAreNotDurableButTheLogIsSyncedAtTheEnd) {
  TempDir tmp;
  ToolResult w = write(tmp.path(), "put a 1\nput b 2\n", {"--durability", "relaxed"});
  ASSERT_EQ(w.exit_code, kOk) << w.describe();
  EXPECT_THAT(lines_of(w.out), ElementsAre("OK lsn=1 sequence=1 durable=false",
                                           "OK lsn=2 sequence=2 durable=false"));
  EXPECT_EQ(lines_of(run_tool({"dump", tmp.path()}).out).size(), 2u);
}

TEST(KayaWalWrite, JsonAcksSayWhereEachRecordWent) {
  TempDir tmp;
  ToolResult w = write(tmp.path(), "put user:1 Ada\nnoop\n", {"--json"});
  ASSERT_EQ(w.exit_code, kOk) << w.describe();
  std::vector<Json> acks = json_lines(w.out);
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0]["lsn"].u64(), 1u);
  EXPECT_TRUE(acks[0]["durable"].boolean());
  EXPECT_EQ(acks[0]["segment_id"].u64(), 1u);
  EXPECT_EQ(acks[0]["offset"].u64(), 0u);
  EXPECT_EQ(acks[0]["bytes"].u64(), 57u);  // docs/format.md's worked example
  EXPECT_EQ(acks[1]["sequence"].u64(), 2u);
  EXPECT_EQ(acks[1]["offset"].u64(), 57u);
  EXPECT_EQ(acks[1]["bytes"].u64(), 40u);
}

TEST(KayaWalWrite, ContinuesAnExistingLogAfterItsLastRecord) {
  TempDir tmp;
  ASSERT_EQ(write(tmp.path(), "put a 1\nput b 2\n").exit_code, kOk);
  ToolResult w = write(tmp.path(), "noop\n");
  ASSERT_EQ(w.exit_code, kOk) << w.describe();
  EXPECT_EQ(w.out, "OK lsn=3 sequence=3 durable=true\n");
}

TEST(KayaWalWrite, RecoversATornTailBeforeAppending) {
  TempDir tmp;
  install_golden(tmp.path(), "torn.wal");
  ToolResult w = write(tmp.path(), "noop\n");
  ASSERT_EQ(w.exit_code, kOk) << w.describe();
  EXPECT_EQ(w.out, "OK lsn=2 sequence=2 durable=true\n");
}

TEST(KayaWalWrite, RefusesACorruptLogAndLeavesItAlone) {
  TempDir tmp;
  install_golden(tmp.path(), "bad_payload_crc.wal");
  const std::string before = read_file(segment_file(tmp.path(), 1));
  ToolResult w = write(tmp.path(), "noop\n");
  EXPECT_EQ(w.exit_code, kCorruption);
  EXPECT_TRUE(one_error_line(w, "offset 57"));
  EXPECT_EQ(w.out, "");
  EXPECT_EQ(read_file(segment_file(tmp.path(), 1)), before);
}

struct Malformed {
  std::string line;
  std::string error;  // part of the message
};

void PrintTo(const Malformed& m, std::ostream* os) { *os << "\"" << m.line << "\""; }

class KayaWalWriteMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(KayaWalWriteMalformed, StopsAtTheLineAndKeepsEverythingBefore) {
  TempDir tmp;
  ToolResult w = write(tmp.path(),
                       "put a 1\n# comment\nput b 2\n" + GetParam().line + "\nput c 3\n");
  EXPECT_EQ(w.exit_code, kInvalid) << w.describe();
  EXPECT_TRUE(one_error_line(w, "error: stdin line 4: "));
  EXPECT_THAT(w.err, HasSubstr(GetParam().error));
  EXPECT_EQ(lines_of(w.out).size(), 2u) << w.describe();
  EXPECT_THAT(lines_of(run_tool({"dump", tmp.path()}).out),
              ElementsAre("lsn=1 sequence=1 put key=a value=1",
                          "lsn=2 sequence=2 put key=b value=2"));
}

INSTANTIATE_TEST_SUITE_P(
    Lines, KayaWalWriteMalformed,
    ::testing::Values(Malformed{"pt k v", "unknown command \"pt\""},
                      Malformed{"put", "put needs KEY, a space and VALUE"},
                      Malformed{"put ", "put needs KEY, a space and VALUE"},
                      Malformed{"put k", "put needs KEY, a space and VALUE"},
                      Malformed{"delete", "delete needs a space and KEY"},
                      Malformed{"delete  k", "unexpected text after KEY at column 8"},
                      Malformed{"delete a b", "unexpected text after KEY at column 9"},
                      Malformed{"noop x", "noop takes no argument"},
                      Malformed{"bytes", "bytes needs a space"},
                      Malformed{"put k a\\qb", "bad escape \"\\q\" at column 8"},
                      Malformed{"put k \\x4", "bad escape \"\\x4\" at column 7"},
                      Malformed{"put k v\\", "lone backslash at column 8"},
                      Malformed{"put k v\r", "raw control byte 0x0d at column 8"},
                      Malformed{"put k\tx v", "raw control byte 0x09 at column 6"}));

TEST(KayaWalWrite, OversizedRecordIsRefusedNamingTheLine) {
  TempDir tmp;
  ToolResult w = write(tmp.path(), "put a 1\nput b " + std::string(300, 'x') + "\n",
                       {"--max-record-bytes", "200"});
  EXPECT_EQ(w.exit_code, kInvalid) << w.describe();
  EXPECT_TRUE(one_error_line(w, "error: stdin line 2: InvalidArgument"));
  EXPECT_EQ(w.out, "OK lsn=1 sequence=1 durable=true\n");
}

// With --segment-max-bytes alone, a record larger than a segment goes alone into a
// segment of its own (as KayaDB writes it), and the log reads back whole.
TEST(KayaWalWrite, ARecordLargerThanASegmentGetsASegmentOfItsOwn) {
  TempDir tmp;
  const std::string big(3000, 'v');
  ToolResult w = write(tmp.path(), "put a x\nput b " + big + "\nput c y\n",
                       {"--segment-max-bytes", "1024"});
  EXPECT_EQ(w.exit_code, kOk) << w.describe();
  EXPECT_EQ(w.err, "");
  ToolResult d = run_tool({"dump", tmp.path()});
  EXPECT_EQ(d.exit_code, kOk) << d.describe();
  EXPECT_TRUE(d.out ==
              "lsn=1 sequence=1 put key=a value=x\nlsn=2 sequence=2 put key=b value=" +
                  big + "\nlsn=3 sequence=3 put key=c value=y\n")
      << d.describe();
  ToolResult v = run_tool({"verify", tmp.path()});
  EXPECT_EQ(v.exit_code, kOk) << v.describe();
  EXPECT_THAT(v.out, HasSubstr("3 records, LSN 1..3, 3 segments")) << v.describe();
}

TEST(KayaWalWrite, SmallSegmentsRotate) {
  TempDir tmp;
  std::string input;
  for (int i = 0; i < 10; ++i) input += "put key" + std::to_string(i) + " value\n";
  ToolResult w = write(tmp.path(), input, {"--segment-max-bytes", "200"});
  ASSERT_EQ(w.exit_code, kOk) << w.describe();
  EXPECT_TRUE(std::filesystem::exists(segment_file(tmp.path(), 3)));
  EXPECT_EQ(lines_of(run_tool({"dump", tmp.path()}).out).size(), 10u);
}

TEST(KayaWalWrite, NonsenseConfigIsRefusedBeforeTouchingTheDisk) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/log";
  ToolResult w = write(dir, "noop\n", {"--max-record-bytes", "39"});
  EXPECT_EQ(w.exit_code, kInvalid);
  EXPECT_TRUE(one_error_line(w, "max_record_bytes = 39"));
  EXPECT_FALSE(std::filesystem::exists(dir));
  ToolResult interval = write(dir, "", {"--batch-interval-us", "99000000"});
  EXPECT_EQ(interval.exit_code, kInvalid);
  EXPECT_TRUE(one_error_line(interval, "flush_interval_us"));
}

TEST(KayaWalWrite, SecondWriterGetsLockConflict) {
  TempDir tmp;
  auto disk = io::FileDisk::open(tmp.path());
  KAYA_ASSERT_OK(disk);
  auto writer = wal::Writer::open(wal::WalConfig{}, **disk);
  KAYA_ASSERT_OK(writer);
  KAYA_ASSERT_OK(
      (*writer)->append(wal::Payload::put("held", "1"), wal::DurabilityMode::kStrict));

  ToolResult w = write(tmp.path(), "put a 1\n");
  EXPECT_EQ(w.exit_code, kLock) << w.describe();
  EXPECT_TRUE(one_error_line(w, "LockConflict"));
  ToolResult r = run_tool({"recover", tmp.path()});
  EXPECT_EQ(r.exit_code, kLock) << r.describe();
  EXPECT_TRUE(one_error_line(r, "LockConflict"));
  // Readers take no lock: they work next to the live writer.
  EXPECT_EQ(run_tool({"recover", tmp.path(), "--dry-run"}).exit_code, kOk);
  ToolResult d = run_tool({"dump", tmp.path()});
  EXPECT_EQ(d.exit_code, kOk) << d.describe();
  EXPECT_EQ(d.out, "lsn=1 sequence=1 put key=held value=1\n");
}

TEST(KayaWalDump, FromLsnStartsThereAndRefusesWhatIsNotInTheLog) {
  TempDir tmp;
  ASSERT_EQ(write(tmp.path(), "put a 1\nput b 2\nput c 3\nput d 4\n").exit_code, kOk);
  ToolResult d = run_tool({"dump", tmp.path(), "--from-lsn", "3"});
  ASSERT_EQ(d.exit_code, kOk) << d.describe();
  EXPECT_THAT(lines_of(d.out), ElementsAre(StartsWith("lsn=3 "), StartsWith("lsn=4 ")));
  ToolResult end = run_tool({"dump", tmp.path(), "--from-lsn=5"});
  EXPECT_EQ(end.exit_code, kOk) << end.describe();
  EXPECT_EQ(end.out, "");
  ToolResult past = run_tool({"dump", tmp.path(), "--from-lsn", "6"});
  EXPECT_EQ(past.exit_code, kInvalid);
  EXPECT_TRUE(one_error_line(past, "LSN 6 is past the end"));
  ToolResult zero = run_tool({"dump", tmp.path(), "--from-lsn", "0"});
  EXPECT_EQ(zero.exit_code, kInvalid);
  EXPECT_TRUE(one_error_line(zero, "--from-lsn"));
}

TEST(KayaWalDump, ReleasedLsnIsNotFoundAndTheDefaultStartsAtTheFirstKept) {
  TempDir tmp;
  std::string input;
  for (int i = 0; i < 9; ++i) input += "put key" + std::to_string(i) + " value\n";
  ASSERT_EQ(write(tmp.path(), input, {"--segment-max-bytes", "200"}).exit_code, kOk);
  // What release_before leaves on disk: the oldest segment gone.
  std::filesystem::remove(segment_file(tmp.path(), 1));
  ToolResult released = run_tool({"dump", tmp.path(), "--from-lsn", "1"});
  EXPECT_EQ(released.exit_code, kNotFound) << released.describe();
  EXPECT_TRUE(one_error_line(released, "LSN 1 has been released"));
  ToolResult d = run_tool({"dump", tmp.path()});
  ASSERT_EQ(d.exit_code, kOk) << d.describe();
  const std::vector<std::string> lines = lines_of(d.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines.front(), StartsWith("lsn=4 "));
  EXPECT_THAT(lines.back(), StartsWith("lsn=9 "));
}

TEST(KayaWalDump, MissingSegmentShowsTheRecordsBeforeTheHole) {
  TempDir tmp;
  std::string input;
  for (int i = 0; i < 9; ++i) input += "put key" + std::to_string(i) + " value\n";
  ASSERT_EQ(write(tmp.path(), input, {"--segment-max-bytes", "200"}).exit_code, kOk);
  std::filesystem::remove(segment_file(tmp.path(), 2));
  ToolResult d = run_tool({"dump", tmp.path()});
  EXPECT_EQ(d.exit_code, kCorruption) << d.describe();
  EXPECT_THAT(lines_of(d.out), ElementsAre(StartsWith("lsn=1 "), StartsWith("lsn=2 "),
                                           StartsWith("lsn=3 ")));
  EXPECT_TRUE(one_error_line(d, "segment 2 is missing"));
}

TEST(KayaWalDump, TornTailEndsTheOutputWithANote) {
  TempDir tmp;
  install_golden(tmp.path(), "torn.wal");
  ToolResult d = run_tool({"dump", tmp.path()});
  EXPECT_EQ(d.exit_code, kOk) << d.describe();
  EXPECT_EQ(d.out, "lsn=1 sequence=1 put key=user:1 value=Ada\n");
  EXPECT_THAT(d.err, StartsWith("note: the log ends early: segment 1 ("));
  EXPECT_THAT(d.err, HasSubstr("at offset 57 (LSN 2): torn tail: partial payload"));
}

TEST(KayaWalDump, CorruptionShowsTheValidPrefixThenTheError) {
  TempDir tmp;
  install_golden(tmp.path(), "bad_payload_crc.wal");
  ToolResult d = run_tool({"dump", tmp.path(), "--json"});
  EXPECT_EQ(d.exit_code, kCorruption) << d.describe();
  std::vector<Json> records = json_lines(d.out);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["key"].str(), "user:1");
  EXPECT_TRUE(one_error_line(d, "offset 57"));
  EXPECT_THAT(d.err, HasSubstr("0000000000000001.wal"));
}

// Nine 60-byte Puts (LSN i + 1 is "put key-i value-i"), three per 180-byte segment.
std::string nine_records_in_three_segments(const std::string& dir) {
  std::string input;
  for (int i = 0; i < 9; ++i) {
    input += "put key-" + std::to_string(i) + " value-" + std::to_string(i) + "\n";
  }
  ToolResult w = write(dir, input, {"--segment-max-bytes", "180"});
  EXPECT_EQ(w.exit_code, kOk) << w.describe();
  EXPECT_TRUE(std::filesystem::exists(segment_file(dir, 3)));
  return input;
}

// What recovery moved aside can be printed for salvage: a segment file in wal/lost/,
// or any copy of a segment, dumps like a log, with a note that it was read alone.
TEST(KayaWalDump, ASegmentFileOnItsOwnIsPrintedWithANote) {
  TempDir tmp;
  nine_records_in_three_segments(tmp.path());
  const std::string copy = tmp.path() + "/copy-of-segment-1";
  write_file(copy, read_file(segment_file(tmp.path(), 1)));
  // A missing segment at or below the recovery point is corruption; point-in-time
  // recovery keeps segment 1 and moves segment 3 to wal/lost/.
  std::filesystem::remove(segment_file(tmp.path(), 2));
  ToolResult pit = run_tool({"recover", tmp.path(), "--mode", "point-in-time"});
  ASSERT_EQ(pit.exit_code, kOk) << pit.describe();
  const std::string lost = tmp.path() + "/wal/lost/0000000000000003.wal";
  ASSERT_TRUE(std::filesystem::exists(lost)) << pit.describe();

  ToolResult d = run_tool({"dump", lost});
  ASSERT_EQ(d.exit_code, kOk) << d.describe();
  EXPECT_THAT(lines_of(d.out),
              ElementsAre("lsn=7 sequence=7 put key=key-6 value=value-6",
                          "lsn=8 sequence=8 put key=key-7 value=value-7",
                          "lsn=9 sequence=9 put key=key-8 value=value-8"));
  EXPECT_EQ(d.err, "note: " + lost +
                       " was read on its own as one segment file: LSN continuity with "
                       "other files is not checked\n");
  ToolResult j = run_tool({"dump", lost, "--json", "--from-lsn", "8"});
  ASSERT_EQ(j.exit_code, kOk) << j.describe();
  std::vector<Json> records = json_lines(j.out);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["lsn"].u64(), 8u);
  EXPECT_EQ(records[0]["key"].str(), "key-7");
  EXPECT_EQ(records[1]["value"].str(), "value-8");

  // The name does not matter: a copy of segment 1 elsewhere.
  ToolResult c = run_tool({"dump", copy});
  ASSERT_EQ(c.exit_code, kOk) << c.describe();
  EXPECT_THAT(lines_of(c.out), ElementsAre(StartsWith("lsn=1 "), StartsWith("lsn=2 "),
                                           StartsWith("lsn=3 ")));
}

// Damage inside the file: the records before it, then the error naming the file and
// offset (exit 3), as for a log; an LSN out of order within the file is damage too.
TEST(KayaWalDump, DamageInASegmentFileIsReportedWithItsOffset) {
  TempDir tmp;
  nine_records_in_three_segments(tmp.path());
  const std::string file = tmp.path() + "/damaged.wal";
  std::string bytes = read_file(segment_file(tmp.path(), 1));
  bytes[60 + 50] ^= 0x01;  // in the payload of the second record
  write_file(file, bytes);
  ToolResult d = run_tool({"dump", file});
  EXPECT_EQ(d.exit_code, kCorruption) << d.describe();
  EXPECT_EQ(d.out, "lsn=1 sequence=1 put key=key-0 value=value-0\n");
  EXPECT_TRUE(one_error_line(d, file + ": corrupt at offset 60: bad payload checksum"));

  // Segment 1's first record, then segment 3's: LSN 1 then 7.
  const std::string spliced = tmp.path() + "/spliced.wal";
  write_file(spliced, read_file(segment_file(tmp.path(), 1)).substr(0, 60) +
                          read_file(segment_file(tmp.path(), 3)));
  ToolResult o = run_tool({"dump", spliced});
  EXPECT_EQ(o.exit_code, kCorruption) << o.describe();
  EXPECT_EQ(o.out, "lsn=1 sequence=1 put key=key-0 value=value-0\n");
  EXPECT_TRUE(one_error_line(o, spliced + ": corrupt at offset 60"));
}

TEST(KayaWalCli, HelpListsEveryCommandAndEachCommandHasHelp) {
  ToolResult top = run_tool({"--help"});
  ASSERT_EQ(top.exit_code, kOk);
  for (const char* command : {"write", "dump", "inspect", "verify", "recover", "bench"}) {
    EXPECT_THAT(top.out, HasSubstr(std::string("  ") + command + " "));
    ToolResult help = run_tool({command, "--help"});
    EXPECT_EQ(help.exit_code, kOk) << command;
    EXPECT_THAT(help.out, StartsWith(std::string("usage: kaya-wal ") + command));
    EXPECT_EQ(help.err, "");
  }
  EXPECT_THAT(run_tool({"write", "--help"}).out, HasSubstr("\\xHH"));
}

// -h and `help` are --help, at the top and for every command.
TEST(KayaWalCli, ShortHelpFlagPrintsTheSameUsage) {
  const ToolResult top = run_tool({"--help"});
  ASSERT_EQ(top.exit_code, kOk) << top.describe();
  EXPECT_THAT(top.out, HasSubstr("[--help | -h]"));
  for (const char* flag : {"-h", "help"}) {
    ToolResult r = run_tool({flag});
    EXPECT_EQ(r.exit_code, kOk) << flag << r.describe();
    EXPECT_EQ(r.out, top.out) << flag;
    EXPECT_EQ(r.err, "") << flag;
  }
  for (const char* command : {"write", "dump", "inspect", "verify", "recover", "bench"}) {
    ToolResult r = run_tool({command, "-h"});
    EXPECT_EQ(r.exit_code, kOk) << command << r.describe();
    EXPECT_EQ(r.out, run_tool({command, "--help"}).out) << command;
  }
}

// `--version` and `version` print the library's version and record format.
TEST(KayaWalCli, VersionNamesTheLibraryAndTheFormat) {
  for (const char* flag : {"--version", "version"}) {
    ToolResult v = run_tool({flag});
    EXPECT_EQ(v.exit_code, kOk) << v.describe();
    EXPECT_EQ(v.out, "kaya-wal " + std::string(kaya::version()) +
                         " (log record format version 1)\n");
    EXPECT_EQ(v.err, "");
  }
  EXPECT_THAT(run_tool({"--help"}).out, HasSubstr("--version"));
  ToolResult extra = run_tool({"--version", "x"});
  EXPECT_EQ(extra.exit_code, kInvalid) << extra.describe();
}

TEST(KayaWalCli, UsageMistakesExitFourWithOneErrorLine) {
  TempDir tmp;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "missing command"},
      {{"frob"}, "unknown command \"frob\""},
      {{"dump"}, "missing argument"},
      {{"dump", tmp.path(), "extra"}, "unexpected argument \"extra\""},
      {{"dump", tmp.path(), "--bogus"}, "unknown flag --bogus"},
      {{"dump", tmp.path(), "--from-lsn"}, "--from-lsn needs a value"},
      {{"dump", tmp.path(), "--from-lsn", "x1"}, "not a non-negative decimal integer"},
      {{"dump", tmp.path(), "--json", "--json"}, "--json given twice"},
      {{"dump", tmp.path(), "--json=yes"}, "--json takes no value"},
      {{"write", tmp.path(), "--durability", "fast"}, "not one of strict, relaxed"},
      {{"recover", tmp.path(), "--mode", "yolo"}, "not one of default"},
      {{"bench", "--threads", "0"}, "out of range"},
      {{"bench", "--size", "47"}, "out of range"},
  };
  for (const auto& [args, needle] : cases) {
    ToolResult r = run_tool(args);
    EXPECT_EQ(r.exit_code, kInvalid) << r.describe();
    EXPECT_TRUE(one_error_line(r, needle));
  }
}

TEST(KayaWalCli, MissingLogIsNotFoundAndAFileInsteadOfADirectoryIsIo) {
  TempDir tmp;
  const std::string missing = tmp.path() + "/nope";
  for (const char* command : {"dump", "inspect", "verify", "recover"}) {
    ToolResult r = run_tool({command, missing});
    EXPECT_EQ(r.exit_code, kNotFound) << command << r.describe();
    EXPECT_TRUE(one_error_line(r, missing));
    // An existing directory without wal/ is not mistaken for an empty log.
    ToolResult empty = run_tool({command, tmp.path()});
    EXPECT_EQ(empty.exit_code, kNotFound) << command << empty.describe();
    EXPECT_TRUE(one_error_line(empty, "no wal/ directory"));
  }
  const std::string file = tmp.path() + "/plain-file";
  write_file(file, "x");
  for (const char* command : {"write", "verify", "recover"}) {
    ToolResult r = run_tool({command, file}, "noop\n");
    EXPECT_EQ(r.exit_code, kIo) << command << r.describe();
    EXPECT_TRUE(one_error_line(r, file));
  }
  // dump and inspect read a file as one segment: this one is none.
  for (const char* command : {"dump", "inspect"}) {
    ToolResult r = run_tool({command, file});
    EXPECT_EQ(r.exit_code, kInvalid) << command << r.describe();
    EXPECT_TRUE(one_error_line(r, file + ": not a kaya segment"));
  }
}

TEST(KayaWalCli, PointingAtTheWalDirectoryItselfGivesAHint) {
  TempDir tmp;
  install_golden(tmp.path(), "valid.wal");
  ToolResult r = run_tool({"verify", tmp.path() + "/wal"});
  EXPECT_EQ(r.exit_code, kNotFound);
  EXPECT_TRUE(one_error_line(r, "pass its parent directory"));
}

// A RADOS location is accepted wherever a directory is; built without librados, the
// tool says so (exit 4). Either way a malformed location is a usage error.
TEST(KayaWalCli, RadosLocationsNeedTheBackendAndAWellFormedName) {
  ToolResult bad = run_tool({"dump", "rados:///no-pool"});
  EXPECT_EQ(bad.exit_code, kInvalid) << bad.describe();
  EXPECT_TRUE(one_error_line(bad, "the pool name is empty"));
#if !KAYA_HAVE_RADOS
  for (const char* command : {"write", "dump", "verify", "inspect", "recover"}) {
    ToolResult r = run_tool({command, "rados://kaya/log"}, "put k v\n");
    EXPECT_EQ(r.exit_code, kInvalid) << command << r.describe();
    EXPECT_TRUE(one_error_line(r, "kaya-wal was built without the RADOS backend"));
  }
#endif
}

}  // namespace
}  // namespace kaya::tool::testing
