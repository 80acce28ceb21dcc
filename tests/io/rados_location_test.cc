// RADOS locations ("rados://POOL/PREFIX[?ns=NAMESPACE]"), parsed with or without
// librados; no cluster needed.
#include <gtest/gtest.h>

#include "kaya/io/rados_disk.h"
#include "testing/test_util.h"

namespace kaya::io {
namespace {

TEST(RadosLocationTest, ParsesPoolPrefixAndNamespace) {
  EXPECT_TRUE(is_rados_location("rados://p/x"));
  EXPECT_FALSE(is_rados_location("/var/lib/rados://p"));
  auto a = parse_rados_location("rados://kaya/logs//orders/");
  KAYA_ASSERT_OK(a);
  EXPECT_EQ(a->pool, "kaya");
  EXPECT_EQ(a->prefix, "logs/orders");
  EXPECT_EQ(a->object_namespace, "");
  auto b = parse_rados_location("rados://kaya/p?ns=tenant1");
  KAYA_ASSERT_OK(b);
  EXPECT_EQ(b->prefix, "p");
  EXPECT_EQ(b->object_namespace, "tenant1");
  auto c = parse_rados_location("rados://kaya");
  KAYA_ASSERT_OK(c);
  EXPECT_EQ(c->prefix, "");
}

TEST(RadosLocationTest, RejectsMalformedLocations) {
  for (const char* bad : {"rados://", "rados:///prefix", "rados://p/../x",
                          "rados://p/x?ns=", "rados://p/x?other=1", "file:///tmp"}) {
    auto r = parse_rados_location(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(r.error().message().find(bad), std::string::npos) << r.error().message();
  }
}

}  // namespace
}  // namespace kaya::io
