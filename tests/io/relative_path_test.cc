#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "kaya/io/disk.h"

namespace kaya::io {
namespace {

// The normalised text of `text`, failing the test if it does not parse.
std::string parsed(std::string_view text) {
  auto p = RelativePath::parse(text);
  EXPECT_TRUE(p.ok()) << "\"" << text << "\": " << p.error().to_string();
  return p.ok() ? p->str() : "<error>";
}

void expect_rejected(std::string_view text, std::string_view reason) {
  auto p = RelativePath::parse(text);
  ASSERT_FALSE(p.ok()) << "\"" << text << "\" parsed as \"" << p->str() << "\"";
  EXPECT_EQ(p.error().kind(), ErrorKind::kInvalidArgument) << p.error().to_string();
  EXPECT_NE(p.error().message().find(reason), std::string::npos)
      << "message \"" << p.error().message() << "\" should mention \"" << reason << "\"";
}

RelativePath path(std::string_view text) {
  auto p = RelativePath::parse(text);
  EXPECT_TRUE(p.ok()) << text;
  return p.ok() ? *p : RelativePath();
}

TEST(RelativePathTest, RejectsAbsolutePaths) {
  expect_rejected("/x", "absolute");
  expect_rejected("/", "absolute");
  expect_rejected("\\x", "absolute");
  expect_rejected("\\\\server\\share", "absolute");
  expect_rejected("\\.", "absolute");  // absolute even though it names the root
}

TEST(RelativePathTest, RejectsDrivePrefixes) {
  expect_rejected("C:x", "drive");
  expect_rejected("c:\\x", "drive");
  expect_rejected("C:/x", "drive");
  expect_rejected("z:", "drive");
}

TEST(RelativePathTest, RejectsDotDot) {
  expect_rejected("..", "..");
  expect_rejected("a/../b", "..");
  expect_rejected("a/..", "..");
  expect_rejected("../a", "..");
  expect_rejected("a\\..\\b", "..");
}

TEST(RelativePathTest, RejectsNul) {
  expect_rejected(std::string_view("a\0b", 3), "NUL");
  expect_rejected(std::string_view("\0", 1), "NUL");
}

TEST(RelativePathTest, AcceptsNamesThatOnlyLookSuspicious) {
  // Dots inside names, a colon after the first component and "..." are plain names.
  EXPECT_EQ(parsed("a..b"), "a..b");
  EXPECT_EQ(parsed("..."), "...");
  EXPECT_EQ(parsed(".hidden/x"), ".hidden/x");
  EXPECT_EQ(parsed("wal/0000000000000001.wal"), "wal/0000000000000001.wal");
  EXPECT_EQ(parsed("ab:c"), "ab:c");
  EXPECT_EQ(parsed("1:x"), "1:x");
}

TEST(RelativePathTest, Normalises) {
  EXPECT_EQ(parsed("a\\b"), "a/b");
  EXPECT_EQ(parsed("./a//b/."), "a/b");
  EXPECT_EQ(parsed("a/b/"), "a/b");
  EXPECT_EQ(parsed("a/./b\\\\c"), "a/b/c");
  EXPECT_EQ(parsed("a"), "a");
}

TEST(RelativePathTest, EmptyAndDotAreRoot) {
  for (std::string_view text : {"", ".", "./", ".//.", ".\\", "./."}) {
    SCOPED_TRACE(std::string(text));
    auto p = RelativePath::parse(text);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    EXPECT_TRUE(p->is_root());
    EXPECT_EQ(p->str(), "");
    EXPECT_EQ(*p, RelativePath());
  }
}

TEST(RelativePathTest, ParentAndFilename) {
  RelativePath p = path("wal/sub/0001.wal");
  EXPECT_EQ(p.filename(), "0001.wal");
  EXPECT_EQ(p.parent().str(), "wal/sub");
  EXPECT_EQ(p.parent().filename(), "sub");
  EXPECT_EQ(p.parent().parent().str(), "wal");
  EXPECT_TRUE(p.parent().parent().parent().is_root());

  RelativePath one = path("a");
  EXPECT_EQ(one.filename(), "a");
  EXPECT_TRUE(one.parent().is_root());

  RelativePath root;
  EXPECT_TRUE(root.is_root());
  EXPECT_EQ(root.filename(), "");
  EXPECT_TRUE(root.parent().is_root());
}

TEST(RelativePathTest, Join) {
  RelativePath root;
  auto a = root.join("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->str(), "a");

  auto ab = a->join("b\\c");
  ASSERT_TRUE(ab.ok());
  EXPECT_EQ(ab->str(), "a/b/c");
  EXPECT_EQ(*ab, path("a/b/c"));

  auto same = a->join("./");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->str(), "a");

  auto root_join = root.join("");
  ASSERT_TRUE(root_join.ok());
  EXPECT_TRUE(root_join->is_root());

  // join() parses its argument: it cannot escape the root or become absolute.
  for (std::string_view bad : {"..", "x/../y", "/etc", "\\x", "C:x"}) {
    SCOPED_TRACE(std::string(bad));
    auto j = a->join(bad);
    ASSERT_FALSE(j.ok()) << j->str();
    EXPECT_EQ(j.error().kind(), ErrorKind::kInvalidArgument);
  }
}

TEST(RelativePathTest, JoinThenParentRoundTrips) {
  RelativePath dir = path("wal");
  auto file = dir.join("0000000000000001.wal");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->parent(), dir);
  EXPECT_EQ(file->filename(), "0000000000000001.wal");
}

TEST(RelativePathTest, OrdersByText) {
  EXPECT_LT(path("a"), path("b"));
  EXPECT_LT(path("a"), path("a/b"));
  EXPECT_EQ(path("a\\b"), path("a/b"));
}

}  // namespace
}  // namespace kaya::io
