#include "controlplane/values.h"

#include "controlplane/cli.h"
#include "gtest/gtest.h"

namespace cp {
namespace {

TEST(Values, Durations) {
  EXPECT_EQ(ParseDuration("1h47s"), 3647u);
  EXPECT_EQ(ParseDuration("17m47s"), 1067u);
  EXPECT_EQ(ParseDuration("90"), 90u);
  EXPECT_EQ(ParseDuration("00:10:00"), 600u);
  EXPECT_EQ(ParseDuration("1w2d"), 9u * 86400);
  EXPECT_FALSE(ParseDuration("h"));
  EXPECT_FALSE(ParseDuration("1x"));
  EXPECT_FALSE(ParseDuration(""));
  EXPECT_EQ(FormatDuration(3647), "1h47s");
  EXPECT_EQ(FormatDuration(1067), "17m47s");
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(86400 + 1), "1d1s");
}

TEST(Values, AddressesAndPrefixes) {
  EXPECT_EQ(ParseIpv4("198.18.80.1"), 0xc6125001u);
  EXPECT_FALSE(ParseIpv4("198.18.80"));
  EXPECT_FALSE(ParseIpv4("198.18.80.256"));
  auto p = ParsePrefix("198.19.101.7/24");
  ASSERT_TRUE(p);
  EXPECT_EQ(FormatIpv4(p->Network()), "198.19.101.0");
  EXPECT_FALSE(ParsePrefix("198.19.101.0/33"));
  EXPECT_FALSE(ParsePrefix("198.19.101.0/"));
  auto ipp = ParseIpPort("198.19.101.1", 443);
  ASSERT_TRUE(ipp);
  EXPECT_EQ(FormatIpPort(*ipp), "198.19.101.1:443");
  EXPECT_FALSE(ParseIpPort("198.19.101.1:0", 443));
  EXPECT_FALSE(ParseIpPort("198.19.101.1:70000", 443));
}

TEST(Values, AuthListsAreCanonical) {
  EXPECT_EQ(FormatAuthList(*ParseAuthList("mschap2,pap")), "pap,mschap2");
  EXPECT_EQ(FormatAuthList(*ParseAuthList("pap,chap,mschap1,mschap2")), "pap,chap,mschap1,mschap2");
  EXPECT_FALSE(ParseAuthList("eap"));
  EXPECT_FALSE(ParseAuthList(""));
}

TEST(Values, RangesAndRoutes) {
  auto r = ParseRanges("198.19.101.100-198.19.101.200,198.19.102.0/30");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(FormatRanges(*r), "198.19.101.100-198.19.101.200,198.19.102.0-198.19.102.3");
  EXPECT_FALSE(ParseRanges("198.19.101.200-198.19.101.100"));
  auto routes = ParseRoutes("198.19.202.0/24 198.18.16.2 1, 198.19.203.0/24");
  ASSERT_TRUE(routes);
  ASSERT_EQ(routes->size(), 2u);
  EXPECT_EQ(*(*routes)[0].gateway, 0xc6121002u);
  EXPECT_FALSE((*routes)[1].gateway);
  EXPECT_FALSE(ParseRoutes("198.19.202.0/24 nope"));
  EXPECT_FALSE(ParseRoutes("198.19.202.0/24 198.18.16.2 1 extra"));
  EXPECT_TRUE(ParseRoutes("")->empty());
}

TEST(Cli, ParsesPathsVerbsAndArguments) {
  auto c = ParseCommand("/ppp secret add name=Home routes=\"198.19.202.0/24 198.18.16.2 1\"", {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(PathString(c->path), "/ppp secret");
  EXPECT_EQ(c->verb, "add");
  ASSERT_EQ(c->args.size(), 2u);
  EXPECT_EQ(c->args[1].value, "198.19.202.0/24 198.18.16.2 1");
  auto rel = ParseCommand("secret print detail", {"ppp"});
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(PathString(rel->path), "/ppp secret");
  ASSERT_EQ(rel->positional.size(), 1u);
  auto up = ParseCommand(".. profile print", {"ppp", "secret"});
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(PathString(up->path), "/ppp profile");
  auto slash = ParseCommand("/ppp/secret/print", {});
  ASSERT_TRUE(slash.ok());
  EXPECT_EQ(slash->verb, "print");
  auto find =
      ParseCommand("/interface ethernet set [ find default-name=ether2 ] arp=proxy-arp", {});
  ASSERT_TRUE(find.ok());
  ASSERT_EQ(find->positional.size(), 1u);
  EXPECT_TRUE(find->positional[0].find);
  EXPECT_EQ(find->positional[0].text, "default-name=ether2");
  auto exp = ParseCommand("/export", {});
  ASSERT_TRUE(exp.ok());
  EXPECT_EQ(exp->verb, "export");
}

TEST(Cli, ErrorsNameTheColumn) {
  auto bad = ParseCommand("/ppp sekret print", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "bad command name sekret (line 1 column 6)");
  auto q = ParseCommand("/ppp secret add name=\"open", {});
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message(), "syntax error (line 1 column 17)");
  EXPECT_FALSE(ParseCommand("/ppp secret set [oops] name=x", {}).ok());
  EXPECT_FALSE(ParseCommand("/ppp secret set [find name=x", {}).ok());
  EXPECT_FALSE(ParseCommand("/ppp secret add =x", {}).ok());
}

TEST(Cli, Completion) {
  EXPECT_EQ(Complete("/ppp se", {}, {}, {}), std::vector<std::string>{"secret"});
  EXPECT_EQ(Complete("/in", {}, {}, {}), std::vector<std::string>{"/interface"});
  auto args = Complete("add pass", {"ppp", "secret"}, {"name", "password", "profile"}, {});
  EXPECT_EQ(args, std::vector<std::string>{"password="});
  auto names = Complete("set La", {"ppp", "secret"}, {"name"}, {"Laptop", "Home"});
  EXPECT_EQ(names, std::vector<std::string>{"Laptop"});
}

TEST(Cli, Quoting) {
  EXPECT_EQ(QuoteIfNeeded(""), "\"\"");
  EXPECT_EQ(QuoteIfNeeded("abc"), "abc");
  EXPECT_EQ(QuoteIfNeeded("a b"), "\"a b\"");
  EXPECT_EQ(Quote("a\"b"), "\"a\\\"b\"");
}

}  // namespace
}  // namespace cp
