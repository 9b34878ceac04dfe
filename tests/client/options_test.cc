#include "client/options.h"

#include <arpa/inet.h>

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace client {
namespace {

using ::testing::HasSubstr;

// Fake file system and environment for ParseOptions.
std::map<std::string, std::string>* g_files;
std::map<std::string, std::string>* g_env;
bool g_world_readable = false;

std::optional<std::string> FakeGetenv(const char* name) {
  auto it = g_env->find(name);
  if (it == g_env->end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::string> FakeRead(const std::string& path, bool* world_readable) {
  auto it = g_files->find(path);
  if (it == g_files->end()) return absl::NotFoundError("No such file or directory");
  *world_readable = g_world_readable;
  return it->second;
}

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_files = &files_;
    g_env = &env_;
    g_world_readable = false;
  }
  absl::StatusOr<Options> Parse(std::vector<std::string> args) {
    OptionSources src;
    src.args = std::move(args);
    src.getenv = FakeGetenv;
    src.read_file = FakeRead;
    return ParseOptions(src);
  }
  std::map<std::string, std::string> files_;
  std::map<std::string, std::string> env_;
};

TEST_F(OptionsTest, DefaultsFollowTheManual) {
  auto o = Parse({"--connect-to", "198.18.80.1", "--user", "Home"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->name, "sstp-out1");
  EXPECT_EQ(o->connect_to.host, "198.18.80.1");
  EXPECT_EQ(o->connect_to.port, 443);
  EXPECT_EQ(o->max_mtu, 1500);
  EXPECT_EQ(o->max_mru, 1500);
  EXPECT_FALSE(o->mrru.has_value());
  EXPECT_EQ(o->keepalive_timeout, absl::Seconds(60));
  EXPECT_EQ(o->authentication, kAuthAll);
  EXPECT_EQ(AuthMethodsToString(o->authentication), "pap,chap,mschap1,mschap2");
  EXPECT_TRUE(o->verify_server);
  EXPECT_TRUE(o->proxy.empty());
  EXPECT_FALSE(o->add_default_route);
  EXPECT_FALSE(o->dial_on_demand);
  EXPECT_EQ(o->StatusSocketPath(), "/run/sstp-client/sstp-out1.sock");
}

TEST_F(OptionsTest, EveryKeyOnTheCommandLine) {
  auto o = Parse({"--connect-to=vpn.example.net:8443",
                  "--user=u",
                  "--password",
                  "p w",
                  "--authentication",
                  "mschap2,chap",
                  "--certificate",
                  "/c.pem",
                  "--certificate-key",
                  "/k.pem",
                  "--ca-file",
                  "/ca.pem",
                  "--verify-server=no",
                  "--proxy",
                  "198.18.0.9:3128",
                  "--proxy-user",
                  "pu",
                  "--proxy-password",
                  "pp",
                  "--add-default-route",
                  "--dial-on-demand",
                  "--keepalive-timeout",
                  "disabled",
                  "--max-mtu",
                  "1400",
                  "--max-mru=1450",
                  "--mrru",
                  "1614",
                  "--route",
                  "198.19.101.0/24",
                  "--route",
                  "2001:db8::/32",
                  "--use-peer-dns",
                  "--name",
                  "vpn0",
                  "--reconnect-interval",
                  "500ms",
                  "--reconnect-max-interval",
                  "1m",
                  "--once",
                  "--anonymous-tls"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->connect_to.ToString(), "vpn.example.net:8443");
  EXPECT_EQ(o->password, "p w");
  EXPECT_TRUE(o->password_on_command_line);
  EXPECT_EQ(o->authentication, kAuthMschap2 | kAuthChap);
  EXPECT_EQ(o->certificate, "/c.pem");
  EXPECT_EQ(o->certificate_key, "/k.pem");
  EXPECT_EQ(o->ca_file, "/ca.pem");
  EXPECT_FALSE(o->verify_server);
  EXPECT_EQ(o->proxy.ToString(), "198.18.0.9:3128");
  EXPECT_EQ(o->proxy_user, "pu");
  EXPECT_EQ(o->proxy_password, "pp");
  EXPECT_TRUE(o->add_default_route);
  EXPECT_TRUE(o->dial_on_demand);
  EXPECT_FALSE(o->keepalive_timeout.has_value());
  EXPECT_EQ(o->max_mtu, 1400);
  EXPECT_EQ(o->max_mru, 1450);
  EXPECT_EQ(o->mrru, 1614);
  ASSERT_EQ(o->routes.size(), 2u);
  EXPECT_EQ(o->routes[0].ToString(), "198.19.101.0/24");
  EXPECT_EQ(o->routes[1].ToString(), "2001:db8::/32");
  EXPECT_TRUE(o->use_peer_dns);
  EXPECT_EQ(o->name, "vpn0");
  EXPECT_EQ(o->StatusSocketPath(), "/run/sstp-client/vpn0.sock");
  EXPECT_EQ(o->DnsFilePath(), "/run/sstp-client/vpn0.resolv.conf");
  EXPECT_EQ(o->reconnect_min, absl::Milliseconds(500));
  EXPECT_EQ(o->reconnect_max, absl::Minutes(1));
  EXPECT_TRUE(o->once);
  EXPECT_TRUE(o->anonymous_tls);
}

TEST_F(OptionsTest, ConfigFileWithManualPropertyNames) {
  files_["/etc/sstp/home.conf"] = R"(# the manual's site-to-site example
connect-to=198.18.80.1
user="Home"
password=123
authentication=pap,chap,mschap1,mschap2
keepalive-timeout=60
max-mtu=1500
max-mru=1500
mrru=disabled
add-default-route=no
dial-on-demand=no
proxy=0.0.0.0:443
certificate=none
profile=default
comment=office link
route=198.19.101.0/24, 198.19.102.0/24
)";
  auto o = Parse({"--config", "/etc/sstp/home.conf"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->connect_to.ToString(), "198.18.80.1:443");
  EXPECT_EQ(o->user, "Home");
  EXPECT_EQ(o->password, "123");
  EXPECT_FALSE(o->password_on_command_line);
  EXPECT_TRUE(o->proxy.empty());
  EXPECT_TRUE(o->certificate.empty());
  EXPECT_EQ(o->routes.size(), 2u);
  EXPECT_EQ(o->config_file, "/etc/sstp/home.conf");
}

TEST_F(OptionsTest, CommandLineOverridesConfigFile) {
  files_["/c"] = "connect-to=198.18.80.1\nuser=a\nmax-mtu=1400\n";
  auto o = Parse({"--max-mtu", "1300", "--config", "/c", "--user=b"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->max_mtu, 1300);
  EXPECT_EQ(o->user, "b");
}

TEST_F(OptionsTest, ConfigErrorsNameTheLine) {
  files_["/c"] = "connect-to=198.18.80.1\n\nmax-mtu=99999\n";
  auto o = Parse({"--config", "/c"});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("/c:3"));
  EXPECT_THAT(o.status().message(), HasSubstr("max-mtu"));

  files_["/d"] = "connect-to=198.18.80.1\nbogus-key=1\n";
  o = Parse({"--config", "/d"});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("line 2"));
  EXPECT_THAT(o.status().message(), HasSubstr("bogus-key"));

  files_["/e"] = "just words\n";
  o = Parse({"--config", "/e"});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("key=value"));

  o = Parse({"--config", "/missing"});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("/missing"));
}

TEST_F(OptionsTest, ProfileSectionsApplyAsDefaults) {
  files_["/c"] = R"(connect-to=198.18.80.1
user=u
profile=roadwarrior
max-mtu=1400
[profile roadwarrior]
add-default-route=yes
use-peer-dns=yes
max-mtu=1300
[profile office]
route=198.19.101.0/24
)";
  auto o = Parse({"--config", "/c"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->add_default_route);
  EXPECT_TRUE(o->use_peer_dns);
  EXPECT_EQ(o->max_mtu, 1400);  // the main section wins over the profile
  EXPECT_TRUE(o->routes.empty());

  o = Parse({"--config", "/c", "--profile", "office"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->add_default_route);
  EXPECT_EQ(o->routes.size(), 1u);

  o = Parse({"--config", "/c", "--profile", "nope"});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("\"nope\" is not defined"));

  o = Parse({"--connect-to", "198.18.80.1", "--user", "u", "--profile", "office"});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("needs a [profile office] section"));
}

TEST_F(OptionsTest, PasswordSources) {
  files_["/pw"] = "s3cret\nignored second line\n";
  auto o = Parse({"--connect-to", "h", "--user", "u", "--password-file", "/pw"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->password, "s3cret");
  EXPECT_FALSE(o->password_on_command_line);

  env_["SSTP_PASSWORD"] = "fromenv";
  env_["SSTP_PROXY_PASSWORD"] = "proxyenv";
  o = Parse({"--connect-to", "h", "--user", "u", "--proxy", "p:3128", "--proxy-user", "x"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->password, "fromenv");
  EXPECT_EQ(o->proxy_password, "proxyenv");

  // The password file beats the environment; the command line beats both.
  o = Parse({"--connect-to", "h", "--user", "u", "--password-file", "/pw"});
  EXPECT_EQ(o->password, "s3cret");
  o = Parse({"--connect-to", "h", "--user", "u", "--password-file", "/pw", "--password", "cli"});
  EXPECT_EQ(o->password, "cli");
  EXPECT_TRUE(o->password_on_command_line);

  files_["/c"] = "connect-to=h\nuser=u\npassword=filepw\n";
  env_.clear();
  g_world_readable = true;
  o = Parse({"--config", "/c"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->password, "filepw");
  EXPECT_TRUE(o->config_file_world_readable);
}

TEST_F(OptionsTest, ScrubSecretArgsHidesPasswords) {
  char a0[] = "sstp-client", a1[] = "--password", a2[] = "hunter2", a3[] = "--proxy-password=pp",
       a4[] = "--user", a5[] = "bob";
  char* argv[] = {a0, a1, a2, a3, a4, a5, nullptr};
  ScrubSecretArgs(6, argv);
  EXPECT_STREQ(argv[2], "xxxxxxx");
  EXPECT_STREQ(argv[3], "--proxy-password=xx");
  EXPECT_STREQ(argv[5], "bob");
}

TEST_F(OptionsTest, RejectsBadInput) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"--user", "u"}, "connect-to"},
      {{"--connect-to", "h"}, "user"},
      {{"--connect-to", "h:0", "--user", "u"}, "bad port"},
      {{"--connect-to", "h:99999", "--user", "u"}, "bad port"},
      {{"--connect-to", "[2001:db8::1", "--user", "u"}, "missing ']'"},
      {{"--connect-to", "h", "--user", "u", "--authentication", "mschap3"}, "mschap3"},
      {{"--connect-to", "h", "--user", "u", "--max-mtu", "5000"}, "max-mtu"},
      {{"--connect-to", "h", "--user", "u", "--keepalive-timeout", "soon"}, "keepalive-timeout"},
      {{"--connect-to", "h", "--user", "u", "--route", "198.18.0.0/33"}, "prefix length"},
      {{"--connect-to", "h", "--user", "u", "--route", "not-an-ip"}, "not an address"},
      {{"--connect-to", "h", "--user", "u", "--verify-server=maybe"}, "yes or no"},
      {{"--connect-to", "h", "--user", "u", "--frobnicate"}, "unknown option --frobnicate"},
      {{"--connect-to", "h", "--user", "u", "--name", "a-very-long-interface-name"}, "name"},
      {{"--connect-to", "h", "--user", "u", "--proxy-user", "x"}, "without proxy"},
      {{"--connect-to"}, "needs a value"},
      {{"stray"}, "unexpected argument"},
  };
  for (const auto& c : cases) {
    auto o = Parse(c.args);
    ASSERT_FALSE(o.ok()) << c.args[0];
    EXPECT_THAT(o.status().message(), HasSubstr(c.message)) << o.status();
  }
}

TEST_F(OptionsTest, StatusQueryNeedsNoServer) {
  auto o = Parse({"--status", "--name", "vpn1"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->status_query);
  EXPECT_EQ(o->StatusSocketPath(), "/run/sstp-client/vpn1.sock");
}

// --fault breaks every call on purpose: only with SSTP_CLIENT_ALLOW_FAULTS=1 in the environment,
// from the command line or a config file alike.
TEST_F(OptionsTest, FaultNeedsTheEnvironmentsConsent) {
  auto o = Parse({"--connect-to", "h", "--user", "u", "--fault=tamper-compound-mac"});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("SSTP_CLIENT_ALLOW_FAULTS=1"));
  files_["/c"] = "connect-to=h\nuser=u\nfault=tamper-compound-mac\n";
  o = Parse({"--config", "/c"});
  ASSERT_FALSE(o.ok());
  env_["SSTP_CLIENT_ALLOW_FAULTS"] = "yes";  // only "1"
  o = Parse({"--config", "/c"});
  ASSERT_FALSE(o.ok());

  env_["SSTP_CLIENT_ALLOW_FAULTS"] = "1";
  o = Parse({"--connect-to", "h", "--user", "u", "--fault=tamper-compound-mac"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->fault, Fault::kTamperCompoundMac);
  o = Parse({"--connect-to", "h", "--user", "u", "--fault=flip-everything"});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("tamper-compound-mac"));

  // Without the option nothing changes, variable or not.
  o = Parse({"--connect-to", "h", "--user", "u"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->fault, Fault::kNone);
}

// --bridge carries Ethernet frames: the IP-only options conflict with it, by name.
TEST_F(OptionsTest, BridgeRefusesIpOnlyOptions) {
  auto o = Parse({"--connect-to", "h", "--user", "u", "--bridge"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->bridge);
  for (const char* extra :
       {"--route=198.19.0.0/16", "--add-default-route", "--use-peer-dns", "--dial-on-demand"}) {
    o = Parse({"--connect-to", "h", "--user", "u", "--bridge", extra});
    ASSERT_FALSE(o.ok()) << extra;
    EXPECT_THAT(std::string(o.status().message()), HasSubstr("bridge: ")) << extra;
  }
  files_["/c"] = "connect-to=h\nuser=u\nbridge=yes\n";
  o = Parse({"--config", "/c"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->bridge);
}

TEST(HostPortTest, Forms) {
  auto hp = ParseHostPort("2001:db8::1", 443);
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "2001:db8::1");
  EXPECT_EQ(hp->port, 443);
  EXPECT_EQ(hp->ToString(), "[2001:db8::1]:443");
  hp = ParseHostPort("[2001:db8::1]:8443", 443);
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->port, 8443);
  hp = ParseHostPort("vpn.example.net", 443);
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->ToString(), "vpn.example.net:443");
  EXPECT_FALSE(ParseHostPort(":443", 443).ok());
  EXPECT_FALSE(ParseHostPort("h:", 443).ok());
}

TEST(PrefixTest, ClearsHostBits) {
  auto p = ParsePrefix("198.18.1.7/24");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ToString(), "198.18.1.0/24");
  p = ParsePrefix("198.18.1.7");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ToString(), "198.18.1.7/32");
  p = ParsePrefix("0.0.0.0/0");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ToString(), "0.0.0.0/0");
  p = ParsePrefix("2001:db8:1:2::5/60");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ToString(), "2001:db8:1::/60");
}

TEST(DurationTest, RouterOsForms) {
  EXPECT_EQ(*ParseRouterOsDuration("60"), absl::Seconds(60));
  EXPECT_EQ(*ParseRouterOsDuration("1m30s"), absl::Seconds(90));
  EXPECT_EQ(*ParseRouterOsDuration("1d2h"), absl::Hours(26));
  EXPECT_EQ(*ParseRouterOsDuration("250ms"), absl::Milliseconds(250));
  EXPECT_FALSE(ParseRouterOsDuration("-5").ok());
  EXPECT_FALSE(ParseRouterOsDuration("abc").ok());
  // The manual's monitor output.
  EXPECT_EQ(FormatRouterOsDuration(absl::Seconds(17 * 60 + 47)), "17m47s");
  EXPECT_EQ(FormatRouterOsDuration(absl::Seconds(3600 + 45)), "1h45s");
  EXPECT_EQ(FormatRouterOsDuration(absl::Seconds(0)), "0s");
  EXPECT_EQ(FormatRouterOsDuration(absl::Hours(24 * 9) + absl::Seconds(1)), "1w2d1s");
}

}  // namespace
}  // namespace client
