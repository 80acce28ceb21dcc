// kaya-wal write, run as a child process: round trips through the escaping in text and
// JSON, malformed input, segments, and refusals with their exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "tools/json_lite.h"
#include "tools/tool_runner.h"
#include "tools/write_dump_util.h"

namespace kaya::tool::testing {
namespace {

using kaya::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace write_dump;  // NOLINT(google-build-using-namespace)

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

}  // namespace
}  // namespace kaya::tool::testing
