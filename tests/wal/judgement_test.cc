// The damage judgement (kaya/wal/judgement.h) against a table written here by hand
// from the rules of docs/recovery.md, cell by cell: judge() is never used to build the
// expectation. Also: explain(), needs_follows(), error_kind(), the printed
// decision_table(), and that docs/recovery.md shows exactly that table.
#include "kaya/wal/judgement.h"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace kaya::wal {
namespace {

constexpr Verdict T = Verdict::kTornTail;
constexpr Verdict L = Verdict::kLostAfterHole;
constexpr Verdict C = Verdict::kCorruption;
constexpr Verdict N = Verdict::kNewerFormat;
constexpr Verdict O = Verdict::kOverLimit;

// One finding's verdicts. "Beyond" does not depend on the segment; without a recovery
// point it does. "nothing" / "valid": what follows the spot.
struct Row {
  Finding finding;
  Verdict covered;
  Verdict beyond_nothing, beyond_valid;
  Verdict none_last_nothing, none_last_valid;
  Verdict none_other_nothing, none_other_valid;
};

// The rules: a newer format and a record over the limit are refused as such everywhere.
// Otherwise, at or below the recovery point everything is corruption. Beyond it, a log
// ending early or a mismatched record is corruption; damage is a torn tail when nothing
// follows and lost after a hole when a valid record does; a verified record out of
// place is lost after a hole. Without a recovery point only damage in the last segment
// with nothing after it is a torn tail; everything else is corruption.
// T torn tail, L lost after a hole, C corruption, N newer format, O over the limit;
// in each pair the first verdict is for "nothing follows", the second for "a valid
// record follows".
// clang-format off
constexpr std::array<Row, 16> kRows = {{
    //                          covered  beyond   none, last  none, other
    {Finding::kPartialHeader,   C,       T, L,    T, C,       C, C},
    {Finding::kDamagedHeader,   C,       T, L,    T, C,       C, C},
    {Finding::kZeros,           C,       T, L,    T, C,       C, C},
    {Finding::kPartialPayload,  C,       T, L,    T, C,       C, C},
    {Finding::kDamagedPayload,  C,       T, L,    T, C,       C, C},
    {Finding::kNewerFormat,     N,       N, N,    N, N,       N, N},
    {Finding::kOverLimit,       O,       O, O,    O, O,       O, O},
    {Finding::kLsnZero,         C,       L, L,    C, C,       C, C},
    {Finding::kLsnStepBack,     C,       L, L,    C, C,       C, C},
    {Finding::kLsnGap,          C,       L, L,    C, C,       C, C},
    {Finding::kLsnExhausted,    C,       L, L,    C, C,       C, C},
    {Finding::kMissingSegment,  C,       L, L,    C, C,       C, C},
    {Finding::kEmptySegment,    C,       L, L,    C, C,       C, C},
    {Finding::kEndsEarly,       C,       C, C,    C, C,       C, C},
    {Finding::kMismatch,        C,       C, C,    C, C,       C, C},
    {Finding::kIncompleteBatch, C,       T, L,    T, C,       C, C},
}};
// clang-format on

constexpr std::array kWheres = {Where::kCovered, Where::kBeyond, Where::kNoRecoveryPoint};
constexpr std::array kFollows = {Follows::kNothing, Follows::kValidRecord};
constexpr std::array kVerdicts = {T, L, C, N, O};

const Row& row_of(Finding f) {
  for (const Row& row : kRows) {
    if (row.finding == f) return row;
  }
  ADD_FAILURE() << "no row for finding " << static_cast<int>(f);
  return kRows[0];
}

Verdict expected(Where where, bool last_segment, Finding finding, Follows follows) {
  const Row& r = row_of(finding);
  const bool nothing = follows == Follows::kNothing;
  switch (where) {
    case Where::kCovered:
      return r.covered;
    case Where::kBeyond:
      return nothing ? r.beyond_nothing : r.beyond_valid;
    case Where::kNoRecoveryPoint:
      if (last_segment) return nothing ? r.none_last_nothing : r.none_last_valid;
      return nothing ? r.none_other_nothing : r.none_other_valid;
  }
  ADD_FAILURE() << "unknown Where";
  return C;
}

struct Cell {
  Where where;
  bool last_segment;
  Finding finding;
  Follows follows;
};

std::string name(const Cell& c) {
  return std::string(to_string(c.where)) + ", " +
         (c.last_segment ? "last segment" : "other segment") + ", " +
         std::string(to_string(c.finding)) + ", " + std::string(to_string(c.follows));
}

std::vector<Cell> all_cells() {
  std::vector<Cell> cells;
  for (Where w : kWheres) {
    for (bool last : {true, false}) {
      for (const Row& row : kRows) {
        for (Follows f : kFollows) cells.push_back({w, last, row.finding, f});
      }
    }
  }
  return cells;
}

TEST(JudgementTest, TheHandWrittenTableCoversEveryFindingOnce) {
  std::set<Finding> seen;
  for (const Row& row : kRows) EXPECT_TRUE(seen.insert(row.finding).second);
  // The last enumerator: a finding added after it would need a row here.
  EXPECT_EQ(static_cast<size_t>(Finding::kIncompleteBatch) + 1, kRows.size());
}

TEST(JudgementTest, JudgeFollowsTheTableInEveryCell) {
  for (const Cell& c : all_cells()) {
    EXPECT_EQ(to_string(judge(c.where, c.last_segment, c.finding, c.follows)),
              to_string(expected(c.where, c.last_segment, c.finding, c.follows)))
        << name(c);
  }
}

TEST(JudgementTest, ExplainIsNonEmptyAndDiffersBetweenVerdicts) {
  const std::vector<Cell> cells = all_cells();
  std::map<Verdict, std::set<std::string>> by_verdict;
  for (const Cell& c : cells) {
    const std::string_view why = explain(c.where, c.last_segment, c.finding, c.follows);
    EXPECT_FALSE(why.empty()) << name(c);
    by_verdict[expected(c.where, c.last_segment, c.finding, c.follows)].insert(
        std::string(why));
  }
  // Every verdict occurs, and no explanation serves two verdicts.
  ASSERT_EQ(by_verdict.size(), kVerdicts.size());
  std::map<std::string, Verdict> owner;
  for (const auto& [verdict, texts] : by_verdict) {
    for (const std::string& text : texts) {
      auto [it, inserted] = owner.emplace(text, verdict);
      EXPECT_TRUE(inserted) << "\"" << text << "\" explains both "
                            << to_string(it->second) << " and " << to_string(verdict);
    }
  }
}

TEST(JudgementTest, NeedsFollowsExactlyWhereTheVerdictDependsOnIt) {
  for (Where w : kWheres) {
    for (bool last : {true, false}) {
      for (const Row& row : kRows) {
        const bool depends = expected(w, last, row.finding, Follows::kNothing) !=
                             expected(w, last, row.finding, Follows::kValidRecord);
        EXPECT_EQ(needs_follows(w, last, row.finding), depends)
            << to_string(w) << ", " << (last ? "last" : "other") << " segment, "
            << to_string(row.finding);
      }
    }
  }
}

// A search for a valid record that gave up is judged as if one followed (the verdict
// that cuts nothing, never a torn tail), and the explanation says it was undetermined.
TEST(JudgementTest, UndeterminedIsJudgedAsAValidRecordFollowsAndSaysSo) {
  for (Where w : kWheres) {
    for (bool last : {true, false}) {
      for (const Row& row : kRows) {
        const Verdict v = judge(w, last, row.finding, Follows::kUndetermined);
        EXPECT_EQ(to_string(v),
                  to_string(expected(w, last, row.finding, Follows::kValidRecord)))
            << to_string(w) << ", " << to_string(row.finding);
        EXPECT_NE(v, Verdict::kTornTail);
        if (needs_follows(w, last, row.finding)) {
          const std::string_view why =
              explain(w, last, row.finding, Follows::kUndetermined);
          EXPECT_NE(why.find("undetermined"), std::string_view::npos) << why;
          EXPECT_NE(why, explain(w, last, row.finding, Follows::kValidRecord));
        }
      }
    }
  }
}

TEST(JudgementTest, ErrorKindOfEachVerdict) {
  EXPECT_FALSE(error_kind(Verdict::kTornTail).has_value());
  EXPECT_FALSE(error_kind(Verdict::kLostAfterHole).has_value());
  EXPECT_EQ(error_kind(Verdict::kCorruption), ErrorKind::kCorruption);
  EXPECT_EQ(error_kind(Verdict::kNewerFormat), ErrorKind::kUnsupportedVersion);
  EXPECT_EQ(error_kind(Verdict::kOverLimit), ErrorKind::kInvalidArgument);
}

TEST(JudgementTest, NamesAreDistinctAndNonEmpty) {
  std::set<std::string_view> names;
  for (const Row& row : kRows) EXPECT_TRUE(names.insert(to_string(row.finding)).second);
  for (Verdict v : kVerdicts) EXPECT_TRUE(names.insert(to_string(v)).second);
  for (Where w : kWheres) EXPECT_TRUE(names.insert(to_string(w)).second);
  for (Follows f : kFollows) EXPECT_TRUE(names.insert(to_string(f)).second);
  EXPECT_EQ(names.count(""), 0u);
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, sep);) parts.push_back(part);
  return parts;
}

std::string trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \n");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \n") + 1 - begin);
}

// The printed table: its columns are (covered), (beyond), (none, last segment) and
// (none, other segment); a row per finding, two for a finding whose verdict depends on
// what follows ("(any)" otherwise). Each cell is checked against the hand-written table.
TEST(JudgementTest, DecisionTablePrintsTheTable) {
  const std::string table = decision_table();
  ASSERT_FALSE(table.empty());
  EXPECT_EQ(table.back(), '\n');
  const std::vector<std::string> lines = split(table, '\n');
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "| finding | what follows | at or below the recovery point | beyond the "
            "recovery point | no recovery point, last segment | no recovery point, "
            "other segment |");
  EXPECT_EQ(lines[1], "| --- | --- | --- | --- | --- | --- |");
  const std::array<std::pair<Where, bool>, 4> columns = {
      {{Where::kCovered, true},
       {Where::kBeyond, true},
       {Where::kNoRecoveryPoint, true},
       {Where::kNoRecoveryPoint, false}}};
  std::map<std::string, Finding> finding_named;
  for (const Row& row : kRows)
    finding_named[std::string(to_string(row.finding))] = row.finding;
  std::set<std::pair<std::string, std::string>> rows_seen;
  size_t expected_rows = 0;
  for (const Row& row : kRows) {
    bool varies = false;
    for (Where w : kWheres) {
      for (bool last : {true, false}) {
        varies |= expected(w, last, row.finding, Follows::kNothing) !=
                  expected(w, last, row.finding, Follows::kValidRecord);
      }
    }
    expected_rows += varies ? 2 : 1;
  }
  EXPECT_EQ(lines.size(), 2 + expected_rows);
  for (size_t i = 2; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i]);
    const std::vector<std::string> cells = split(lines[i], '|');
    // "| a | b | c | d | e | f |" splits into "", a..f.
    ASSERT_EQ(cells.size(), 7u);
    EXPECT_EQ(cells[0], "");
    const std::string finding_text = trim(cells[1]);
    const std::string follows_text = trim(cells[2]);
    ASSERT_EQ(finding_named.count(finding_text), 1u);
    EXPECT_TRUE(rows_seen.insert({finding_text, follows_text}).second) << "row twice";
    const Finding f = finding_named[finding_text];
    std::vector<Follows> follows;
    if (follows_text == "(any)") {
      follows = {Follows::kNothing, Follows::kValidRecord};
    } else {
      ASSERT_TRUE(follows_text == to_string(Follows::kNothing) ||
                  follows_text == to_string(Follows::kValidRecord));
      follows = {follows_text == to_string(Follows::kNothing) ? Follows::kNothing
                                                              : Follows::kValidRecord};
    }
    for (size_t col = 0; col < columns.size(); ++col) {
      for (Follows fo : follows) {
        EXPECT_EQ(trim(cells[3 + col]),
                  to_string(expected(columns[col].first, columns[col].second, f, fo)))
            << "column " << col << ", " << to_string(fo);
      }
    }
  }
}

// The page is not hand-maintained: between the markers it shows decision_table()
// exactly (blank lines around the table aside).
TEST(JudgementTest, RecoveryDocShowsTheDecisionTableExactly) {
  const std::string path = std::string(KAYA_SOURCE_DIR) + "/docs/recovery.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  const std::string page = text.str();
  const std::string open = "<!-- decision-table -->";
  const std::string close = "<!-- /decision-table -->";
  const size_t begin = page.find(open);
  ASSERT_NE(begin, std::string::npos) << path << " lacks " << open;
  EXPECT_EQ(page.find(open, begin + 1), std::string::npos) << open << " twice";
  const size_t end = page.find(close, begin);
  ASSERT_NE(end, std::string::npos) << path << " lacks " << close;
  const std::string shown = page.substr(begin + open.size(), end - begin - open.size());
  const std::string table = decision_table();
  EXPECT_EQ(trim(shown), trim(table)) << path << " must show decision_table() between "
                                      << open << " and " << close << "; the table is:\n"
                                      << table;
}

}  // namespace
}  // namespace kaya::wal
