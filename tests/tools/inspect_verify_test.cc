// kaya-wal inspect, verify and recover, run as a child process on the golden files and
// on logs damaged by byte surgery: verdicts, exit codes, JSON, and that the read-only
// commands (and recover --dry-run) leave every byte as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "testing/test_util.h"
#include "tools/json_lite.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing {
namespace {

using kaya::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Every file under `dir` with its bytes.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    files[e.path().string()] =
        e.is_regular_file() ? read_file(e.path().string()) : "<dir>";
  }
  return files;
}

std::string golden_path(const std::string& name) {
  const char* dir = std::getenv("KAYA_GOLDEN_DIR");
  return std::string(dir ? dir : "tests/golden") + "/" + name;
}

struct Golden {
  std::string file;
  int exit_code;
  std::string verdict;
  uint64_t records;  // valid records before the problem
  std::string state;
  std::optional<uint64_t> problem_offset;
  std::string text;  // in the plain table
};

void PrintTo(const Golden& g, std::ostream* os) { *os << g.file; }

class KayaWalInspectGolden : public ::testing::TestWithParam<Golden> {};

TEST_P(KayaWalInspectGolden, ClassifiesTheFileInALogAndAlone) {
  const Golden& g = GetParam();
  TempDir tmp;
  install_golden(tmp.path(), g.file);
  const auto before = snapshot(tmp.path());

  ToolResult plain = run_tool({"inspect", tmp.path()});
  EXPECT_EQ(plain.exit_code, g.exit_code) << plain.describe();
  EXPECT_THAT(plain.out, HasSubstr(g.text));
  if (g.exit_code != kOk) {
    EXPECT_TRUE(one_error_line(plain, "offset " + std::to_string(*g.problem_offset)));
  } else {
    EXPECT_EQ(plain.err, "");
  }

  for (const std::string& path : {tmp.path(), golden_path(g.file)}) {
    SCOPED_TRACE(path);
    ToolResult r = run_tool({"inspect", path, "--json"});
    EXPECT_EQ(r.exit_code, g.exit_code) << r.describe();
    Json j = parse_json(r);
    ASSERT_EQ(j["segments"].size(), 1u);
    const Json& s = j["segments"][0];
    EXPECT_EQ(s["bytes"].u64(), kaya::testing::read_golden(g.file).size());
    EXPECT_EQ(s["records"].u64(), g.records);
    EXPECT_EQ(s["state"].str(), g.state);
    EXPECT_EQ(s["problem_offset"].is_null(), !g.problem_offset.has_value());
    if (g.problem_offset) {
      EXPECT_EQ(s["problem_offset"].u64(), *g.problem_offset);
    }
    EXPECT_EQ(j["totals"]["verdict"].str(), g.verdict);
    EXPECT_EQ(j["anomalies"].size(), g.verdict == "clean" ? 0u : 1u);
  }
  EXPECT_EQ(run_tool({"inspect", golden_path(g.file)}).exit_code, g.exit_code);
  // dump of the lone file prints the records inspect counts and ends as inspect does.
  ToolResult d = run_tool({"dump", golden_path(g.file), "--json"});
  EXPECT_EQ(d.exit_code, g.exit_code) << d.describe();
  EXPECT_EQ(lines_of(d.out).size(), g.records) << d.describe();
  EXPECT_THAT(d.err, HasSubstr("LSN continuity with other files is not checked"));
  if (g.exit_code != kOk) {
    EXPECT_TRUE(one_error_line(d, golden_path(g.file) + ": " + g.text));
  } else if (g.problem_offset) {
    EXPECT_THAT(d.err, HasSubstr("note: the file ends early: " + golden_path(g.file) +
                                 ": " + g.text));
  }

  ToolResult v = run_tool({"verify", tmp.path()});
  EXPECT_EQ(v.exit_code, g.exit_code) << v.describe();
  EXPECT_EQ(lines_of(v.out).size(), 1u) << v.describe();
  EXPECT_THAT(v.out, StartsWith(g.exit_code == kOk           ? "ok: "
                                : g.exit_code == kCorruption ? "corrupt: "
                                                             : "unreadable: "));
  Json vj = parse_json(run_tool({"verify", tmp.path(), "--json"}));
  EXPECT_EQ(vj["ok"].boolean(), g.exit_code == kOk);
  EXPECT_EQ(vj["verdict"].str(), g.verdict);
  EXPECT_EQ(vj["totals"]["recoverable_records"].u64(), g.records);

  EXPECT_EQ(snapshot(tmp.path()), before) << "a read-only command changed the log";
}

INSTANTIATE_TEST_SUITE_P(
    Files, KayaWalInspectGolden,
    ::testing::Values(
        Golden{"valid.wal", kOk, "clean", 3, "clean", std::nullopt, "  clean\n"},
        Golden{"bytes.wal", kOk, "clean", 1, "clean", std::nullopt, "  clean\n"},
        Golden{"torn.wal", kOk, "torn_tail", 1, "torn_tail", 57,
               "torn tail of 44 bytes at offset 57: partial payload"},
        Golden{"bad_magic.wal", kCorruption, "corrupt", 0, "corrupt", 0,
               "corrupt at offset 0: bad magic"},
        // Version 9 with a header CRC that verifies: a newer format, refused.
        Golden{"bad_version.wal", kUnsupported, "newer_format", 0, "newer_format", 0,
               "newer format at offset 0: unsupported version 9"},
        Golden{"bad_payload_crc.wal", kCorruption, "corrupt", 1, "corrupt", 57,
               "corrupt at offset 57: bad payload checksum"}),
    [](const ::testing::TestParamInfo<Golden>& param_info) {
      return param_info.param.file.substr(0, param_info.param.file.find('.'));
    });

// A log of 3 segments written by the tool: 9 Puts of 60 bytes (40 header + 8 lengths
// + 5 key + 7 value), 3 per segment, so record i (LSN i + 1) is in segment i / 3 + 1
// at offset (i % 3) * 60.
std::string make_log(const std::string& dir) {
  std::string input;
  for (int i = 0; i < 9; ++i) {
    input += "put key-" + std::to_string(i) + " value-" + std::to_string(i) + "\n";
  }
  ToolResult w = run_tool({"write", dir, "--segment-max-bytes", "180"}, input);
  EXPECT_EQ(w.exit_code, kOk) << w.describe();
  EXPECT_TRUE(std::filesystem::exists(segment_file(dir, 3)));
  EXPECT_FALSE(std::filesystem::exists(segment_file(dir, 4)));
  return dir;
}

// Makes the log one written before recovery points (kaya 0.1, KayaDB): damage at its
// end is then judged by what follows it (docs/recovery.md, "no recovery point").
void drop_recovery_point(const std::string& dir) {
  std::filesystem::remove(dir + "/wal/RECOVERY_POINT");
}

// A file that never was a segment is said to be one neither by text nor by --json:
// exit 4 naming it. Zeros, an empty file or a cut first record are still judged.
TEST(KayaWalInspect, AFileThatIsNotASegmentIsRefused) {
  TempDir tmp;
  const std::string text = tmp.path() + "/passwd";
  write_file(text, "root:x:0:0:root:/root:/bin/bash\n");
  ToolResult r = run_tool({"inspect", text});
  EXPECT_EQ(r.exit_code, kUnsupported) << r.describe();
  EXPECT_TRUE(one_error_line(r, "not a kaya segment"));
  EXPECT_THAT(r.err, HasSubstr(text));
  ToolResult j = run_tool({"inspect", text, "--json"});
  EXPECT_EQ(j.exit_code, kUnsupported) << j.describe();
  EXPECT_FALSE(parse_json(j)["ok"].boolean());
  // dump refuses it in the same words.
  ToolResult d = run_tool({"dump", text});
  EXPECT_EQ(d.exit_code, kUnsupported) << d.describe();
  EXPECT_TRUE(one_error_line(d, text + ": not a kaya segment"));
  EXPECT_EQ(d.out, "");

  for (const std::string& content :
       {std::string(), std::string(64, '\0'), std::string("AYA")}) {
    const std::string file = tmp.path() + "/seg.wal";
    write_file(file, content);
    ToolResult s = run_tool({"inspect", file});
    EXPECT_EQ(s.exit_code, kOk) << content.size() << " bytes: " << s.describe();
  }
}

TEST(KayaWalVerify, DamageInAClosedSegmentIsCorruptionNamingSegmentAndOffset) {
  TempDir tmp;
  make_log(tmp.path());
  std::string seg = read_file(segment_file(tmp.path(), 2));
  seg[60 + 45] ^= 0x40;  // payload of the second record of segment 2 (LSN 5)
  write_file(segment_file(tmp.path(), 2), seg);

  ToolResult v = run_tool({"verify", tmp.path()});
  EXPECT_EQ(v.exit_code, kCorruption) << v.describe();
  EXPECT_TRUE(one_error_line(v, "segment 2 offset 60 LSN 5"));
  Json j = parse_json(run_tool({"inspect", tmp.path(), "--json"}));
  EXPECT_EQ(j["segments"][1]["state"].str(), "corrupt");
  // The log was closed: segment 2 is at or below its recovery point.
  EXPECT_THAT(j["segments"][1]["reason"].str(),
              HasSubstr("at or below the recovery point"));
  EXPECT_EQ(j["segments"][2]["state"].str(), "clean");  // scanned past the damage
  EXPECT_EQ(j["totals"]["records"].u64(), 7u);
  EXPECT_EQ(j["totals"]["recoverable_records"].u64(), 4u);
  EXPECT_EQ(j["totals"]["next_lsn"].u64(), 5u);
}

TEST(KayaWalVerify, MissingMiddleSegmentIsCorruption) {
  TempDir tmp;
  make_log(tmp.path());
  std::filesystem::remove(segment_file(tmp.path(), 2));
  ToolResult v = run_tool({"verify", tmp.path()});
  EXPECT_EQ(v.exit_code, kCorruption) << v.describe();
  EXPECT_TRUE(one_error_line(v, "segment 2 is missing"));
  ToolResult i = run_tool({"inspect", tmp.path()});
  EXPECT_EQ(i.exit_code, kCorruption);
  EXPECT_THAT(i.out, HasSubstr("segment 3 offset 0: corruption: segment 2 is missing"));
}

TEST(KayaWalVerify, ZeroPaddedLastSegmentIsPreallocatedSpaceAndClean) {
  TempDir tmp;
  make_log(tmp.path());
  const std::string last = segment_file(tmp.path(), 3);
  const std::string padded = read_file(last) + std::string(4096, '\0');
  write_file(last, padded);
  ToolResult v = run_tool({"verify", tmp.path()});
  EXPECT_EQ(v.exit_code, kOk) << v.describe();
  EXPECT_THAT(v.out, Not(HasSubstr("torn_tail")));
  EXPECT_EQ(v.err, "");
  EXPECT_EQ(read_file(last), padded);
}

TEST(KayaWalVerify, CutLastSegmentIsATornTailAndNotAnError) {
  TempDir tmp;
  make_log(tmp.path());
  drop_recovery_point(tmp.path());
  const std::string last = segment_file(tmp.path(), 3);
  const std::string intact = read_file(last);
  for (const std::string& damaged :
       {intact.substr(0, 150), intact.substr(0, 121) + std::string(4096, '\0')}) {
    write_file(last, damaged);
    ToolResult v = run_tool({"verify", tmp.path()});
    EXPECT_EQ(v.exit_code, kOk) << v.describe();
    EXPECT_THAT(v.out, HasSubstr("torn_tail"));
    EXPECT_EQ(v.err, "");
    EXPECT_EQ(read_file(last), damaged);
  }
}

TEST(KayaWalRecover, DryRunChangesNothingInAnyMode) {
  TempDir tmp;
  make_log(tmp.path());
  drop_recovery_point(tmp.path());
  const std::string last = segment_file(tmp.path(), 3);
  write_file(last, read_file(last).substr(0, 150));  // torn tail
  std::string first = read_file(segment_file(tmp.path(), 1));
  const auto torn = snapshot(tmp.path());

  for (const char* mode : {"default", "point-in-time", "absolute"}) {
    ToolResult r =
        run_tool({"recover", tmp.path(), "--dry-run", "--mode", mode, "--json"});
    EXPECT_EQ(r.exit_code, std::string(mode) == "absolute" ? kCorruption : kOk)
        << r.describe();
    if (r.exit_code == kOk) {
      Json j = parse_json(r);
      EXPECT_TRUE(j["dry_run"].boolean());
      EXPECT_FALSE(j["applied"].boolean());
      EXPECT_EQ(j["mode"].str(), mode);
      EXPECT_EQ(j["records"].u64(), 8u);
      EXPECT_EQ(j["next_lsn"].u64(), 9u);
      EXPECT_EQ(j["anomalies"][0]["kind"].str(), "torn_tail");
      EXPECT_EQ(j["dropped"][0]["offset"].u64(), 120u);
      EXPECT_EQ(j["dropped"][0]["bytes"].u64(), 30u);
    }
    EXPECT_EQ(snapshot(tmp.path()), torn) << mode;
  }

  first[10] ^= 0x01;  // and corruption in segment 1
  write_file(segment_file(tmp.path(), 1), first);
  const auto corrupt = snapshot(tmp.path());
  for (const char* mode : {"default", "point-in-time", "absolute"}) {
    ToolResult r = run_tool({"recover", tmp.path(), "--dry-run", "--mode", mode});
    EXPECT_EQ(r.exit_code, std::string(mode) == "point-in-time" ? kOk : kCorruption)
        << r.describe();
    if (r.exit_code == kCorruption) {
      EXPECT_TRUE(one_error_line(r, "segment 1"));
    }
    EXPECT_EQ(snapshot(tmp.path()), corrupt) << mode;
  }
}

// recover --json prints one JSON object also when recovery fails (and the error line
// on stderr): corruption, and a directory without a log; verify and inspect too.
TEST(KayaWalRecover, JsonPrintsOneObjectOnFailureToo) {
  TempDir bad;
  install_golden(bad.path(), "bad_payload_crc.wal");
  ToolResult r = run_tool({"recover", bad.path(), "--json"});
  EXPECT_EQ(r.exit_code, kCorruption) << r.describe();
  Json j = parse_json(r);
  EXPECT_FALSE(j["ok"].boolean());
  EXPECT_EQ(j["path"].str(), bad.path());
  EXPECT_EQ(j["error"]["kind"].str(), "Corruption");
  EXPECT_THAT(j["error"]["message"].str(), HasSubstr("offset 57"));
  EXPECT_TRUE(one_error_line(r, "offset 57"));

  TempDir empty;
  const std::string missing = empty.path() + "/nothing";
  ToolResult none = run_tool({"recover", missing, "--json"});
  EXPECT_EQ(none.exit_code, kNotFound) << none.describe();
  Json n = parse_json(none);
  EXPECT_FALSE(n["ok"].boolean());
  EXPECT_EQ(n["error"]["kind"].str(), "NotFound");

  // verify and inspect too, for a path that holds no log.
  for (const char* command : {"verify", "inspect"}) {
    ToolResult v = run_tool({command, missing, "--json"});
    EXPECT_EQ(v.exit_code, kNotFound) << command << ": " << v.describe();
    Json o = parse_json(v);
    EXPECT_FALSE(o["ok"].boolean()) << command;
    EXPECT_EQ(o["error"]["kind"].str(), "NotFound") << command;
  }

  TempDir good;
  install_golden(good.path(), "valid.wal");
  ToolResult ok = run_tool({"recover", good.path(), "--json", "--dry-run"});
  ASSERT_EQ(ok.exit_code, kOk) << ok.describe();
  EXPECT_TRUE(parse_json(ok)["ok"].boolean());
}

TEST(KayaWalRecover, RepairsATornTailAndMovesCorruptionAsideOnlyWhenAsked) {
  TempDir tmp;
  install_golden(tmp.path(), "torn.wal");
  ToolResult r = run_tool({"recover", tmp.path(), "--json"});
  ASSERT_EQ(r.exit_code, kOk) << r.describe();
  Json j = parse_json(r);
  EXPECT_TRUE(j["applied"].boolean());
  EXPECT_EQ(j["bytes_dropped"].u64(), 44u);
  EXPECT_EQ(j["dropped"][0]["moved_to"].str(), "");
  EXPECT_EQ(read_file(segment_file(tmp.path(), 1)).size(), 57u);
  EXPECT_EQ(run_tool({"verify", tmp.path()}).exit_code, kOk);

  TempDir bad;
  install_golden(bad.path(), "bad_payload_crc.wal");
  const std::string before = read_file(segment_file(bad.path(), 1));
  ToolResult fail = run_tool({"recover", bad.path()});
  EXPECT_EQ(fail.exit_code, kCorruption);
  EXPECT_TRUE(one_error_line(fail, "offset 57"));
  // (A recovery that is not a dry run takes the log's lock, creating wal/LOCK.)
  EXPECT_EQ(read_file(segment_file(bad.path(), 1)), before);
  ToolResult pit = run_tool({"recover", bad.path(), "--mode", "point-in-time"});
  ASSERT_EQ(pit.exit_code, kOk) << pit.describe();
  EXPECT_THAT(pit.out, HasSubstr("kept in wal/lost/"));
  EXPECT_TRUE(std::filesystem::exists(bad.path() + "/wal/lost"));
  EXPECT_EQ(run_tool({"verify", bad.path()}).exit_code, kOk);
}

// A log of Puts a (LSN 1) and b (2), then the batch c, d, e (3..5), each record 50
// bytes: the batch starts at offset 100 and its last record at 200. Cut at offset 220,
// inside the batch's last record.
std::string make_torn_batch_log(const std::string& dir) {
  ToolResult w = run_tool({"write", dir, "--extensions", "batches"},
                          "put a 1\nput b 2\nbegin\nput c 3\nput d 4\nput e 5\ncommit\n");
  EXPECT_EQ(w.exit_code, kOk) << w.describe();
  const std::string seg = segment_file(dir, 1);
  const std::string whole = read_file(seg);
  EXPECT_EQ(whole.size(), 250u);
  write_file(seg, whole.substr(0, 220));
  return seg;
}

// inspect and verify judge an incomplete batch as recovery does: at the batch's first
// record, with the same words, in text and JSON; none of the batch counts as
// recoverable.
TEST(KayaWalVerify, AnIncompleteBatchIsJudgedAtItsFirstRecordAsRecoveryJudgesIt) {
  TempDir tmp;
  make_torn_batch_log(tmp.path());
  // Without a recovery point (lost): the end of the last segment, a torn tail.
  drop_recovery_point(tmp.path());
  const auto before = snapshot(tmp.path());
  ToolResult v = run_tool({"verify", tmp.path()});
  EXPECT_EQ(v.exit_code, kOk) << v.describe();
  EXPECT_THAT(v.out, HasSubstr("2 records, LSN 1..2"));
  EXPECT_THAT(v.out, HasSubstr("torn_tail"));
  ToolResult i = run_tool({"inspect", tmp.path()});
  EXPECT_EQ(i.exit_code, kOk) << i.describe();
  EXPECT_THAT(i.out,
              HasSubstr("torn tail of 120 bytes at offset 100: incomplete batch: "
                        "the atomic batch from LSN 3 ends before its last record"));
  Json j = parse_json(run_tool({"inspect", tmp.path(), "--json"}));
  const Json& seg = j["segments"][0];
  EXPECT_EQ(seg["state"].str(), "torn_tail");
  EXPECT_EQ(seg["problem"].str(), "incomplete batch");
  EXPECT_EQ(seg["problem_offset"].u64(), 100u);
  EXPECT_EQ(seg["problem_lsn"].u64(), 3u);
  EXPECT_EQ(seg["records"].u64(), 2u);
  EXPECT_EQ(j["totals"]["recoverable_records"].u64(), 2u);
  EXPECT_EQ(j["totals"]["next_lsn"].u64(), 3u);
  Json r = parse_json(run_tool({"recover", tmp.path(), "--dry-run", "--json"}));
  EXPECT_EQ(j["anomalies"][0]["reason"].str(), r["anomalies"][0]["reason"].str());
  EXPECT_EQ(j["anomalies"][0]["offset"].u64(), r["anomalies"][0]["offset"].u64());
  EXPECT_EQ(snapshot(tmp.path()), before) << "inspection changed the log";
}

TEST(KayaWalVerify, AnIncompleteBatchBelowTheRecoveryPointIsCorruption) {
  TempDir tmp;
  make_torn_batch_log(tmp.path());  // closed: its recovery point names LSN 5
  ToolResult v = run_tool({"verify", tmp.path()});
  EXPECT_EQ(v.exit_code, kCorruption) << v.describe();
  EXPECT_TRUE(one_error_line(v, "segment 1 offset 100 LSN 3")) << v.describe();
  EXPECT_THAT(v.err, HasSubstr("incomplete batch: the atomic batch from LSN 3"));
  Json j = parse_json(run_tool({"verify", tmp.path(), "--json"}));
  EXPECT_EQ(j["verdict"].str(), "corrupt");
  EXPECT_EQ(j["anomalies"][0]["offset"].u64(), 100u);
  EXPECT_THAT(j["anomalies"][0]["reason"].str(), HasSubstr("so the batch is cut whole"));
}

}  // namespace
}  // namespace kaya::tool::testing
