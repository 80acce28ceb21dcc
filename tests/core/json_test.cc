// kaya/core/json.h: JSON text as the metrics and the tool's --json write it.
#include "kaya/core/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace kaya {
namespace {

TEST(JsonTest, ValidUtf8AcceptsWellFormedAndRefusesTheRest) {
  EXPECT_TRUE(json::is_valid_utf8(""));
  EXPECT_TRUE(json::is_valid_utf8("plain ascii"));
  EXPECT_TRUE(json::is_valid_utf8("\xc3\xa9"));           // U+00E9
  EXPECT_TRUE(json::is_valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_FALSE(json::is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(json::is_valid_utf8("\xe0\x80\xaf"));      // overlong, 3 bytes
  EXPECT_FALSE(json::is_valid_utf8("\xed\xa0\x80"));      // UTF-16 surrogate
  EXPECT_FALSE(json::is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(json::is_valid_utf8("\xc3"));              // cut short
  EXPECT_FALSE(json::is_valid_utf8("\x80"));              // a lone continuation byte
}

TEST(JsonTest, QuoteEscapesAndReplacesInvalidBytes) {
  EXPECT_EQ(json::json_quote(""), "\"\"");
  EXPECT_EQ(json::json_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json::json_quote("\n\t\r"), "\"\\n\\t\\r\"");
  EXPECT_EQ(json::json_quote(std::string("\x01\x7f", 2)), "\"\\u0001\\u007f\"");
  EXPECT_EQ(json::json_quote(std::string("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(json::json_quote("\xc3\xa9"), "\"\xc3\xa9\"");  // valid UTF-8 stays
  EXPECT_EQ(json::json_quote("a\xffz"), "\"a\\ufffdz\"");
}

TEST(JsonTest, ObjectKeepsTheOrderMembersWereAddedIn) {
  EXPECT_EQ(json::Object().build(), "{}");
  const std::string built = json::Object()
                                .str("name", "kaya")
                                .num("records", 18446744073709551615u)
                                .real("rate", 1.23456)
                                .real("nan", std::nan(""))
                                .real("inf", std::numeric_limits<double>::infinity())
                                .boolean("ok", true)
                                .null("none")
                                .raw("list", "[1,2]")
                                .build();
  EXPECT_EQ(built,
            "{\"name\":\"kaya\",\"records\":18446744073709551615,\"rate\":1.235,"
            "\"nan\":null,\"inf\":null,\"ok\":true,\"none\":null,\"list\":[1,2]}");
}

}  // namespace
}  // namespace kaya
