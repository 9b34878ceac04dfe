#include "controlplane/controller.h"

#include <unistd.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controlplane/client_supervisor.h"
#include "controlplane/persist.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controlplane/test_util.h"

namespace cp {
namespace {

using ::testing::HasSubstr;

// An engine that does nothing by itself: tests call the controller's engine callbacks directly.
class IdleEngine : public SessionEngine {
 public:
  void Start(absl::Time) override {}
  void OnFrame(absl::Span<const uint8_t>, absl::Time) override {}
  void OnTimer(absl::Time) override {}
  absl::Time NextDeadline() const override { return absl::InfiniteFuture(); }
};

class ControllerTest : public ::testing::Test {
 protected:
  ControllerTest() : c_(&sink_, {Dir(), "sstp"}) {
    c_.set_engine_factory([](Controller&, Session&) { return std::make_unique<IdleEngine>(); });
    c_.AddPort("ether1", "00:30:4F:0B:7B:C1", 1500);
    c_.AddPort("ether2", "00:30:4F:06:62:12", 1500);
  }
  static std::string Dir() {
    static std::string d = [] {
      char t[] = "/tmp/cp-ctl-XXXXXX";
      return std::string(mkdtemp(t));
    }();
    return d;
  }
  Controller::Result Run(const std::string& line) { return c_.Execute(line, {}, now_); }
  void Ok(const std::string& line) {
    auto r = Run(line);
    ASSERT_TRUE(r.status.ok()) << line << ": " << r.status;
  }
  void Resync() {
    c_.StartResync(1, now_);
    for (uint32_t l = 0; l < sink_.n_lcores(); ++l) {
      c_.OnMessage(l, {ring::MsgType::kDumpEnd, 0, ring::DumpEnd{1, 0}}, now_);
    }
  }
  Session* Open(uint64_t id, uint32_t peer = 0xc6126301, uint16_t port = 40000) {
    ring::SessionOpened o;
    o.lcore = ring::SessionLcore(id);
    o.peer = ring::IpAddr::V4(peer);
    o.peer_port = port;
    c_.OnMessage(o.lcore, {ring::MsgType::kSessionOpened, id, o}, now_);
    return c_.FindSession(id);
  }

  testing::CaptureSink sink_{2};
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  Controller c_;
};

TEST_F(ControllerTest, EveryBadCommandIsRefusedAndChangesNothing) {
  Ok("/ppp secret add name=a password=1");
  Ok("/ip pool add name=p1 ranges=198.19.101.10-198.19.101.20");
  const std::string before = c_.ExportConfig();
  const std::vector<std::pair<std::string, std::string>> cases = {
      // missing arguments
      {"/ppp secret add", "failure: name not specified"},
      {"/ppp secret add password=1", "failure: name not specified"},
      {"/ppp secret set password=1", "failure: item not specified"},
      {"/ppp secret remove", "failure: item not specified"},
      {"/ip route add dst-address=198.19.1.0/24", "failure: gateway not specified"},
      {"/ip address add address=198.18.1.1/24", "failure: interface not specified"},
      {"/ip pool add name=p2", "failure: ranges not specified"},
      {"/certificate import", "failure: file-name not specified"},
      {"/interface sstp-server monitor", "failure: item not specified"},
      // unknown arguments, commands and menus
      {"/ppp secret add name=b bogus=1", "expected end of command (line 1 column 24)"},
      {"/ppp secret add name=b extra", "expected end of command (line 1 column 24)"},
      {"/ppp secret remove 0 password=1", "expected end of command (line 1 column 22)"},
      {"/ppp secret print bogus", "expected end of command (line 1 column 19)"},
      {"/interface sstp-server server set foo=1", "expected end of command (line 1 column 35)"},
      {"/interface sstp-server server print x=1", "expected end of command (line 1 column 37)"},
      {"/interface sstp-server server set 0 enabled=yes", "expected end of command"},
      {"/interface sstp-server monitor 0 forever", "no such item"},
      {"/ppp secret frobnicate", "bad command name frobnicate (line 1 column 13)"},
      {"/pp secret print", "bad command name pp (line 1 column 1)"},
      {"/interface ethernet add name=x", "bad command name add"},
      {"/ppp active add name=x", "bad command name add"},
      {"/export bogus", "expected end of command"},
      {"/ppp secret set 0 mac-address=1", "expected end of command"},
      // malformed values
      {"/ppp secret add name=b local-address=198.19.101",
       "invalid value for argument local-address"},
      {"/ppp secret add name=b remote-address=nopool", "invalid value for argument remote-address"},
      {"/ppp secret add name=b profile=nope", "invalid value for argument profile"},
      {"/ppp secret add name=b service=telnet", "invalid value for argument service"},
      {"/ppp secret add name=b routes=\"198.19.1.0/24 x\"", "invalid value for argument routes"},
      {"/ppp secret add name=b disabled=maybe", "invalid value for argument disabled"},
      {"/ppp secret add name=", "failure: name not specified"},
      {"/ppp secret add name=a", "failure: item with such name already exists"},
      {"/ppp secret add name=\"open", "syntax error"},
      {"/ppp secret set 7 password=1", "no such item"},
      {"/ppp secret set nobody password=1", "no such item"},
      {"/ppp secret set x,y password=1", "no such item"},
      {"/interface sstp-server server set port=0", "invalid value for argument port (1..65535)"},
      {"/interface sstp-server server set port=65536", "invalid value for argument port"},
      {"/interface sstp-server server set max-mtu=big", "invalid value for argument max-mtu"},
      {"/interface sstp-server server set mrru=100", "invalid value for argument mrru"},
      {"/interface sstp-server server set keepalive-timeout=-1", "invalid value"},
      {"/interface sstp-server server set authentication=eap",
       "invalid value for argument authentication"},
      {"/interface sstp-server server set enabled=maybe", "invalid value for argument enabled"},
      {"/interface sstp-server server set certificate=nocert",
       "invalid value for argument certificate"},
      {"/interface sstp-server server set default-profile=nope", "invalid value"},
      {"/interface sstp-client add connect-to=198.19.101.1:99999",
       "invalid value for argument connect-to"},
      {"/interface sstp-client add proxy=host", "invalid value for argument proxy"},
      {"/ppp profile add name=x session-timeout=forever",
       "invalid value for argument session-timeout"},
      {"/ppp profile add name=x dns-server=1.2.3.4,5.6.7.8,9.9.9.9", "invalid value"},
      {"/ppp profile add name=x only-one=sometimes", "invalid value for argument only-one"},
      {"/ppp profile add name=x rate-limit=fast", "invalid value for argument rate-limit"},
      {"/ppp profile remove default", "failure: can not remove default profile"},
      {"/ppp profile set default name=other", "failure: can not rename default profile"},
      {"/ip pool add name=p2 ranges=198.19.101.20-198.19.101.10",
       "invalid value for argument ranges"},
      {"/ip pool remove p1 p2", "expected end of command"},
      {"/ip route add dst-address=198.19.1.0/33 gateway=198.18.16.1",
       "invalid value for argument dst-address"},
      {"/ip route add dst-address=198.19.1.0/24 gateway=198.18.16",
       "invalid value for argument gateway"},
      {"/ip route add dst-address=198.19.1.0/24 gateway=198.18.16.1 distance=256", "invalid value"},
      {"/ip address add address=198.18.1.1/40 interface=ether1",
       "invalid value for argument address"},
      {"/interface ethernet set ether9 arp=proxy-arp", "no such item"},
      {"/interface ethernet set ether1 arp=sometimes", "invalid value for argument arp"},
      {"/interface ethernet set ether1 mac-address=00:00:00:00:00:01", "expected end of command"},
      {"/certificate import file-name=missing.pem", "failure: file missing.pem not found"},
      {"/certificate import file-name=../../etc/passwd", "invalid value for argument file-name"},
      {"/certificate import file-name=/etc/passwd", "invalid value for argument file-name"},
      {"/certificate import file-name=x.pem bogus=1", "expected end of command"},
      {"/interface sstp-client report nobody status=connected", "no such item"},
      {"/ppp secret print \x01", "syntax error"},
      {std::string(20000, 'a'), "failure: command too long"},
  };
  for (const auto& [line, error] : cases) {
    auto r = Run(line);
    EXPECT_FALSE(r.status.ok()) << line;
    EXPECT_THAT(std::string(r.status.message()), HasSubstr(error)) << line;
    EXPECT_FALSE(r.changed) << line;
    EXPECT_EQ(c_.ExportConfig(), before) << line;
  }
}

TEST_F(ControllerTest, NumbersNamesAndFind) {
  Ok("/ppp secret add name=a password=1");
  Ok("/ppp secret add name=b password=2");
  Ok("/ppp secret add name=c password=3");
  Ok("/ppp secret set [find name=b] password=bb");
  Ok("/ppp secret set c,0 profile=default-encryption");
  Ok("/ppp secret set [find name=nobody] password=x");  // matches nothing: no change, no error
  EXPECT_EQ(c_.config().Get({"ppp", "secret"}, 1, "password"), "bb");
  EXPECT_EQ(c_.config().Get({"ppp", "secret"}, 0, "profile"), "default-encryption");
  Ok("/ppp secret remove 0,2");
  auto r = Run("/ppp secret print");
  EXPECT_THAT(r.output, HasSubstr(" 0   b "));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr(" a ")));
  // A profile in use cannot go away.
  Ok("/ppp profile add name=office dns-server=198.18.0.53");
  Ok("/ppp secret set b profile=office");
  EXPECT_FALSE(Run("/ppp profile remove office").status.ok());
  Ok("/ppp secret set b profile=default");
  Ok("/ppp profile remove office");
  // Relative paths.
  auto cd = c_.Execute("/ppp secret", {}, now_);
  EXPECT_EQ(PathString(cd.cwd), "/ppp secret");
  EXPECT_TRUE(c_.Execute("print", cd.cwd, now_).status.ok());
}

TEST_F(ControllerTest, ServerSettingsGoToTheDataPlane) {
  Ok("/interface sstp-server server set enabled=yes max-mtu=1400 keepalive-timeout=disabled "
     "authentication=mschap2,pap");
  auto cfg = sink_.Of(ring::MsgType::kServerConfig);
  ASSERT_FALSE(cfg.empty());
  const auto& c = std::get<ring::ServerConfig>(cfg.back().body);
  EXPECT_EQ(c.enabled, 1);
  EXPECT_EQ(c.max_mtu, 1400);
  EXPECT_EQ(c.keepalive_timeout_s, 0u);
  EXPECT_EQ(c.auth_mask, 0x09);
  Ok("/interface ethernet set ether2 arp=proxy-arp");
  auto pc = sink_.Of(ring::MsgType::kPortConfig);
  ASSERT_FALSE(pc.empty());
  bool proxy = false;
  for (const auto& s : pc) {
    const auto& p = std::get<ring::PortConfig>(s.body);
    if (p.name == "ether2") proxy = p.proxy_arp;
  }
  EXPECT_TRUE(proxy);
  Ok("/ip address add address=198.18.80.1/24 interface=ether1");
  auto addr = sink_.Of(ring::MsgType::kIpAddress);
  ASSERT_FALSE(addr.empty());
  EXPECT_EQ(std::get<ring::IpAddressConfig>(addr.back().body).address.ToString(), "198.18.80.1");
  auto pr = Run("/ip address print");
  EXPECT_THAT(pr.output, HasSubstr("198.18.80.1/24     198.18.80.0     ether1"));
}

TEST_F(ControllerTest, StaticRoutesAreInstalledAndRemoved) {
  Ok("/ip route add dst-address=198.19.101.0/24 gateway=198.18.16.1");
  auto adds = sink_.Of(ring::MsgType::kRouteAdd);
  ASSERT_EQ(adds.size(), 1u);
  const auto& r = std::get<ring::Route>(adds[0].body).route;
  EXPECT_EQ(r.dst.ToString(), "198.19.101.0");
  EXPECT_EQ(r.prefix_len, 24);
  EXPECT_EQ(r.gateway.ToString(), "198.18.16.1");
  EXPECT_EQ(adds[0].session, 0u);
  Ok("/ip route set 0 disabled=yes");
  EXPECT_EQ(sink_.Of(ring::MsgType::kRouteDel).size(), 1u);
  Ok("/ip route set 0 disabled=no");
  EXPECT_EQ(sink_.Of(ring::MsgType::kRouteAdd).size(), 2u);
  Ok("/ip route remove 0");
  EXPECT_EQ(sink_.Of(ring::MsgType::kRouteDel).size(), 2u);
}

TEST_F(ControllerTest, PoolsSplitPerLcoreAndNeverHandOutTwice) {
  Ok("/ip pool add name=p1 ranges=198.19.101.10-198.19.101.19");
  Ok("/ppp profile add name=pooled local-address=198.19.101.1 remote-address=p1");
  Ok("/ppp secret add name=u password=1 profile=pooled");
  Ok("/interface sstp-server server set enabled=yes");
  Resync();
  std::set<uint32_t> seen;
  uint64_t serial = 1;
  for (uint16_t lcore : {0, 1}) {
    for (int k = 0; k < 5; ++k) {
      Session* s = Open(ring::MakeSessionId(lcore, serial++));
      ASSERT_NE(s, nullptr);
      c_.Authorized(*s, "u", ring::AuthMethod::kMsChap2, {}, now_);
      auto a = c_.Addresses(*s);
      ASSERT_TRUE(a.ok()) << a.status();
      EXPECT_EQ(a->first, 0xc6136501u);
      EXPECT_EQ(OwnerLcore(a->second, 2), lcore) << FormatIpv4(a->second);
      EXPECT_TRUE(seen.insert(a->second).second) << "handed out twice: " << FormatIpv4(a->second);
    }
    // This lcore's half of the pool (5 addresses) is used up.
    Session* s = Open(ring::MakeSessionId(lcore, serial++));
    c_.Authorized(*s, "u", ring::AuthMethod::kMsChap2, {}, now_);
    EXPECT_EQ(c_.Addresses(*s).status().code(), absl::StatusCode::kResourceExhausted);
  }
  // Closing a session returns its address.
  uint64_t first = ring::MakeSessionId(0, 1);
  uint32_t addr = c_.FindSession(first)->remote_addr;
  c_.OnMessage(0, {ring::MsgType::kSessionClosed, first, ring::SessionClosed{}}, now_);
  EXPECT_EQ(c_.FindSession(first), nullptr);
  Session* s = Open(ring::MakeSessionId(0, 100));
  c_.Authorized(*s, "u", ring::AuthMethod::kMsChap2, {}, now_);
  auto a = c_.Addresses(*s);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->second, addr);
  auto used = Run("/ip pool used print");
  EXPECT_THAT(used.output, HasSubstr("p1"));
}

TEST_F(ControllerTest, FixedAddressIsNotSharedByTwoSessions) {
  Ok("/ppp secret add name=fixed password=1 local-address=198.19.101.1 "
     "remote-address=198.19.101.100");
  Ok("/interface sstp-server server set enabled=yes");
  Resync();
  Session* a = Open(ring::MakeSessionId(0, 1));
  Session* b = Open(ring::MakeSessionId(1, 2));
  c_.Authorized(*a, "fixed", ring::AuthMethod::kPap, {}, now_);
  c_.Authorized(*b, "fixed", ring::AuthMethod::kPap, {}, now_);
  EXPECT_TRUE(c_.Addresses(*a).ok());
  EXPECT_FALSE(c_.Addresses(*b).ok());
}

TEST_F(ControllerTest, SessionRoutesFollowTheSession) {
  Ok("/ppp secret add name=Home password=123 local-address=198.18.16.1 "
     "remote-address=198.18.16.2 routes=\"198.19.202.0/24 198.18.16.2 1\"");
  Ok("/interface sstp-server server set enabled=yes");
  Resync();
  uint64_t id = ring::MakeSessionId(1, 7);
  Session* s = Open(id);
  std::array<uint8_t, 32> hlak{};
  hlak[0] = 0x42;
  c_.Authorized(*s, "Home", ring::AuthMethod::kMsChap2, hlak, now_);
  auto auth = sink_.Of(ring::MsgType::kSessionAuthorized);
  ASSERT_EQ(auth.size(), 1u);
  EXPECT_EQ(auth[0].lcore, 1u);
  EXPECT_EQ(std::get<ring::SessionAuthorized>(auth[0].body).hlak[0], 0x42);
  ASSERT_TRUE(c_.Addresses(*s).ok());
  c_.NetworkUp(*s, 1500, 0, 0, false, now_);
  auto up = sink_.Of(ring::MsgType::kSessionUp);
  ASSERT_EQ(up.size(), 1u);
  const auto& su = std::get<ring::SessionUp>(up[0].body);
  EXPECT_EQ(su.remote_v4.ToString(), "198.18.16.2");
  ASSERT_EQ(su.routes.size(), 2u);
  auto adds = sink_.Of(ring::MsgType::kRouteAdd);
  ASSERT_EQ(adds.size(), 2u);
  EXPECT_EQ(std::get<ring::Route>(adds[0].body).route.prefix_len, 32);
  EXPECT_EQ(std::get<ring::Route>(adds[1].body).route.dst.ToString(), "198.19.202.0");
  EXPECT_EQ(adds[1].session, id);
  auto active = Run("/ppp active print");
  EXPECT_THAT(active.output, HasSubstr("Home"));
  EXPECT_THAT(active.output, HasSubstr("198.18.16.2"));
  auto routes = Run("/ip route print");
  EXPECT_THAT(routes.output, HasSubstr("198.19.202.0/24"));
  // The administrator removes the active session: close it and withdraw its routes.
  Ok("/ppp active remove 0");
  EXPECT_EQ(sink_.Of(ring::MsgType::kSessionClose).size(), 1u);
  EXPECT_EQ(sink_.Of(ring::MsgType::kRouteDel).size(), 2u);
  EXPECT_EQ(c_.FindSession(id), nullptr);
}

TEST_F(ControllerTest, RefusesNewSessionsWhileResyncingOrDisabled) {
  Ok("/interface sstp-server server set enabled=yes");
  c_.StartResync(1, now_);
  Open(ring::MakeSessionId(0, 1));
  auto closes = sink_.Of(ring::MsgType::kSessionClose);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(std::get<ring::SessionClose>(closes[0].body).reason, ring::CloseReason::kAdminClose);
  for (uint32_t l = 0; l < 2; ++l) {
    c_.OnMessage(l, {ring::MsgType::kDumpEnd, 0, ring::DumpEnd{1, 0}}, now_);
  }
  EXPECT_TRUE(c_.resynced());
  EXPECT_NE(Open(ring::MakeSessionId(0, 2)), nullptr);
  Ok("/interface sstp-server server set enabled=no");
  EXPECT_EQ(c_.FindSession(ring::MakeSessionId(0, 2)), nullptr);
}

TEST_F(ControllerTest, ResyncRebuildsSessionsAndLeases) {
  Ok("/ip pool add name=p1 ranges=198.19.101.10-198.19.101.11");
  Ok("/ppp profile add name=pooled remote-address=p1");
  Ok("/ppp secret add name=u password=1 profile=pooled");
  Ok("/interface sstp-server server set enabled=yes");
  c_.StartResync(1, now_);
  EXPECT_EQ(sink_.Of(ring::MsgType::kDumpRequest).size(), 2u);
  // 198.19.101.10 is even: lcore 0 owns it.
  c_.OnMessage(0,
               testing::DumpOf(ring::MakeSessionId(0, 5), "u", 0xc6126301, 40000, 0, 0xc613650a,
                               1500, now_ - absl::Hours(1), now_),
               now_);
  for (uint32_t l = 0; l < 2; ++l) {
    c_.OnMessage(l, {ring::MsgType::kDumpEnd, 0, ring::DumpEnd{1, 1}}, now_);
  }
  EXPECT_THAT(Run("/ppp active print").output, HasSubstr("198.19.101.10"));
  EXPECT_THAT(Run("/interface sstp-server print").output, HasSubstr("<sstp-u>"));
  Session* s = Open(ring::MakeSessionId(0, 6));
  c_.Authorized(*s, "u", ring::AuthMethod::kMsChap2, {}, now_);
  // The only lcore-0 address is held by the resynced session.
  EXPECT_FALSE(c_.Addresses(*s).ok());
  // A session that was still negotiating has lost its PPP state: it is closed.
  auto half =
      testing::DumpOf(ring::MakeSessionId(1, 8), "u", 0xc6126301, 40001, 0, 0, 1500, now_, now_);
  std::get<ring::DumpSession>(half.body).up_unix_ns = 0;
  c_.OnMessage(1, half, now_);
  EXPECT_EQ(c_.FindSession(ring::MakeSessionId(1, 8)), nullptr);
  auto closes = sink_.Of(ring::MsgType::kSessionClose);
  ASSERT_FALSE(closes.empty());
  EXPECT_EQ(std::get<ring::SessionClose>(closes.back().body).reason,
            ring::CloseReason::kControlPlaneGone);
  // A dump from an older epoch does not count.
  c_.StartResync(2, now_);
  c_.OnMessage(0, {ring::MsgType::kDumpEnd, 0, ring::DumpEnd{1, 0}}, now_);
  c_.OnMessage(1, {ring::MsgType::kDumpEnd, 0, ring::DumpEnd{1, 0}}, now_);
  EXPECT_FALSE(c_.resynced());
}

TEST_F(ControllerTest, StaticInterfaceBindsItsUser) {
  Ok("/ppp secret add name=Laptop password=1 remote-address=198.19.101.100");
  Ok("/interface sstp-server add name=office-laptop user=Laptop");
  Ok("/interface sstp-server server set enabled=yes");
  Resync();
  Session* s = Open(ring::MakeSessionId(0, 1));
  c_.Authorized(*s, "Laptop", ring::AuthMethod::kMsChap2, {}, now_);
  ASSERT_TRUE(c_.Addresses(*s).ok());
  c_.NetworkUp(*s, 1400, 0, 0, false, now_);
  auto p = Run("/interface sstp-server print");
  EXPECT_THAT(p.output, HasSubstr(" 0   R office... Laptop       1400"));
  EXPECT_THAT(Run("/interface sstp-server monitor office-laptop").output,
              HasSubstr("status: \"connected\""));
}

TEST_F(ControllerTest, StaticInterfaceTakenLaterAndSecondSessionStaysDynamic) {
  Ok("/ppp secret add name=Laptop password=1 remote-address=198.19.101.100");
  Ok("/ppp secret add name=Laptop2 password=1 remote-address=198.19.101.101");
  Ok("/interface sstp-server server set enabled=yes");
  Resync();
  Session* a = Open(ring::MakeSessionId(0, 1));
  c_.Authorized(*a, "Laptop", ring::AuthMethod::kMsChap2, {}, now_);
  ASSERT_TRUE(c_.Addresses(*a).ok());
  c_.NetworkUp(*a, 1500, 0, 0, false, now_);
  EXPECT_EQ(a->iface, "<sstp-Laptop>");
  EXPECT_TRUE(a->dynamic_iface);
  // The static entry added while the session is up: the session takes the name at once.
  Ok("/interface sstp-server add name=sstp-office user=Laptop");
  EXPECT_EQ(a->iface, "sstp-office");
  EXPECT_FALSE(a->dynamic_iface);
  EXPECT_THAT(Run("/ppp active print detail").output, HasSubstr("interface=\"sstp-office\""));
  EXPECT_THAT(Run("/ip route print").output, HasSubstr("198.19.101.100/32  "));
  EXPECT_THAT(Run("/ip route print").output, HasSubstr(" sstp-office "));
  // A second session of the same user while sstp-office is in use: dynamic (manual: "or in case
  // the entry is active already").
  Session* b = Open(ring::MakeSessionId(1, 2));
  c_.Authorized(*b, "Laptop", ring::AuthMethod::kMsChap2, {}, now_);
  EXPECT_EQ(b->iface, "<sstp-Laptop>");
  EXPECT_TRUE(b->dynamic_iface);
  // The first one goes: the name is free again, for the next session that authenticates.
  c_.OnMessage(0, {ring::MsgType::kSessionClosed, a->id, ring::SessionClosed{}}, now_);
  Session* c = Open(ring::MakeSessionId(0, 3));
  c_.Authorized(*c, "Laptop", ring::AuthMethod::kMsChap2, {}, now_);
  EXPECT_EQ(c->iface, "sstp-office");
  // A disabled static entry binds nobody.
  Ok("/interface sstp-server set sstp-office disabled=yes");
  EXPECT_EQ(c->iface, "<sstp-Laptop>");
}

TEST_F(ControllerTest, CountersFromTheDataPlaneShowInPrintMonitorAndActive) {
  Ok("/ppp secret add name=Laptop password=1 remote-address=198.19.101.100");
  Ok("/interface sstp-server server set enabled=yes");
  Resync();
  const uint64_t id = ring::MakeSessionId(1, 3);
  Session* s = Open(id, 0xc6126301, 43886);
  c_.Authorized(*s, "Laptop", ring::AuthMethod::kMsChap2, {}, now_);
  ASSERT_TRUE(c_.Addresses(*s).ok());
  c_.NetworkUp(*s, 1400, 0, 0, false, now_);
  // Before any counters: zeros, idle since the link came up.
  auto m0 = Run("/interface sstp-server monitor 0");
  EXPECT_THAT(m0.output, HasSubstr("    rx-byte: 0\n"));
  EXPECT_THAT(m0.output, HasSubstr("  idle-time: 0s\n"));

  // The data plane's periodic counters, 90 s later; the client last sent something 30 s ago.
  const absl::Time later = now_ + absl::Seconds(90);
  ring::Counters c;
  ring::SessionCounters sc;
  sc.session_id = id;
  sc.counters = {1234567, 7654321, 1000, 5000,
                 uint64_t(absl::ToUnixNanos(later - absl::Seconds(30)))};
  c.sessions.push_back(sc);
  ring::SessionCounters unknown = sc;
  unknown.session_id = ring::MakeSessionId(0, 99);  // a session we do not know: ignored
  c.sessions.push_back(unknown);
  c_.OnMessage(1, {ring::MsgType::kCounters, 0, c}, later);

  auto mon = c_.Execute("/interface sstp-server monitor 0", {}, later).output;
  EXPECT_THAT(mon, HasSubstr("     uptime: 1m30s\n"));
  EXPECT_THAT(mon, HasSubstr("  idle-time: 30s\n"));
  EXPECT_THAT(mon, HasSubstr("  caller-id: \"198.18.99.1:43886\"\n"));
  EXPECT_THAT(mon, HasSubstr("        mtu: 1400\n"));
  EXPECT_THAT(mon, HasSubstr("    rx-byte: 1234567\n"));
  EXPECT_THAT(mon, HasSubstr("    tx-byte: 7654321\n"));
  EXPECT_THAT(mon, HasSubstr("  rx-packet: 1000\n"));
  EXPECT_THAT(mon, HasSubstr("  tx-packet: 5000\n"));
  auto stats = c_.Execute("/interface sstp-server print stats", {}, later).output;
  EXPECT_THAT(stats, HasSubstr("<sstp-Laptop>              1 234 567       7 654 321       1 000"
                               "       5 000"));
  auto active = c_.Execute("/ppp active print detail", {}, later).output;
  EXPECT_THAT(active, HasSubstr("uptime=1m30s"));
  EXPECT_THAT(active, HasSubstr("idle-time=30s"));
  EXPECT_THAT(active, HasSubstr("mtu=1400"));
  EXPECT_THAT(active, HasSubstr("rx-byte=1234567 tx-byte=7654321 rx-packet=1000 tx-packet=5000"));
  EXPECT_THAT(c_.Execute("/ppp active print stats", {}, later).output,
              HasSubstr("Laptop                     1 234 567       7 654 321"));

  // A counter update without new receive time keeps the idle clock running.
  sc.counters.tx_bytes += 100;
  ring::Counters c2;
  c2.sessions.push_back(sc);
  c_.OnMessage(1, {ring::MsgType::kCounters, 0, c2}, later + absl::Seconds(10));
  EXPECT_THAT(c_.Execute("/interface sstp-server monitor 0", {}, later + absl::Seconds(10)).output,
              HasSubstr("  idle-time: 40s\n"));
}

TEST_F(ControllerTest, BridgedSessionUpNamesTheBridgePort) {
  Ok("/interface bridge add name=bridge1");
  Ok("/interface bridge add name=empty");
  Ok("/interface bridge port add bridge=bridge1 interface=ether2");
  Ok("/ppp profile add name=bridged bridge=bridge1");
  Ok("/ppp profile add name=portless bridge=empty");
  Ok("/ppp secret add name=Branch password=1 profile=bridged");
  Ok("/ppp secret add name=Nowhere password=1 profile=portless");
  Ok("/interface sstp-server server set enabled=yes");
  Resync();
  EXPECT_TRUE(c_.BridgedUser("Branch"));
  EXPECT_FALSE(c_.BridgedUser("nobody"));
  Session* s = Open(ring::MakeSessionId(0, 1));
  c_.Authorized(*s, "Branch", ring::AuthMethod::kMsChap2, {}, now_);
  c_.NetworkUp(*s, 1500, 0, 0, /*bridge=*/true, now_);
  Session* t = Open(ring::MakeSessionId(1, 2));
  c_.Authorized(*t, "Nowhere", ring::AuthMethod::kMsChap2, {}, now_);
  c_.NetworkUp(*t, 1500, 0, 0, /*bridge=*/true, now_);
  auto ups = sink_.Of(ring::MsgType::kSessionUp);
  ASSERT_EQ(ups.size(), 2u);
  const auto& a = std::get<ring::SessionUp>(ups[0].body);
  EXPECT_EQ(a.bridge, 1);
  EXPECT_EQ(a.bridge_port, "ether2");
  const auto& b = std::get<ring::SessionUp>(ups[1].body);
  EXPECT_EQ(b.bridge, 1);
  EXPECT_EQ(b.bridge_port, "");  // the bridge has no port: nothing to switch with
  // A disabled port no longer counts.
  Ok("/interface bridge port set 0 disabled=yes");
  EXPECT_EQ(c_.BridgePortOf("bridged"), "");
  Ok("/interface bridge port set 0 disabled=no");
  EXPECT_EQ(c_.BridgePortOf("bridged"), "ether2");
  EXPECT_FALSE(Run("/interface bridge remove bridge1").status.ok());
}

TEST_F(ControllerTest, TimeoutsCloseSessions) {
  Ok("/ppp profile add name=short session-timeout=1h idle-timeout=10m");
  Ok("/ppp secret add name=u password=1 profile=short remote-address=198.19.101.100");
  Ok("/interface sstp-server server set enabled=yes");
  Resync();
  Session* s = Open(ring::MakeSessionId(0, 1));
  c_.Authorized(*s, "u", ring::AuthMethod::kMsChap2, {}, now_);
  ASSERT_TRUE(c_.Addresses(*s).ok());
  c_.NetworkUp(*s, 1500, 0, 0, false, now_);
  EXPECT_EQ(c_.NextDeadline(), now_ + absl::Minutes(10));
  c_.OnTimer(now_ + absl::Minutes(9));
  EXPECT_NE(c_.FindSession(ring::MakeSessionId(0, 1)), nullptr);
  c_.OnTimer(now_ + absl::Minutes(10));
  EXPECT_EQ(c_.FindSession(ring::MakeSessionId(0, 1)), nullptr);
  auto closes = sink_.Of(ring::MsgType::kSessionClose);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(std::get<ring::SessionClose>(closes[0].body).reason, ring::CloseReason::kIdleTimeout);
}

TEST_F(ControllerTest, UserChecks) {
  Ok("/ppp secret add name=u password=1 caller-id=198.18.99.1 service=sstp");
  Ok("/ppp secret add name=p password=1 service=pppoe");
  Ok("/ppp profile add name=one only-one=yes");
  Ok("/ppp secret add name=o password=1 profile=one");
  Ok("/interface sstp-server server set enabled=yes");
  Resync();
  Session* s = Open(ring::MakeSessionId(0, 1), 0xc6126301);
  EXPECT_TRUE(c_.MayConnect(*s, *c_.FindUser("u")).ok());
  Session* t = Open(ring::MakeSessionId(0, 2), 0xc6126302);
  EXPECT_FALSE(c_.MayConnect(*t, *c_.FindUser("u")).ok());
  EXPECT_FALSE(c_.MayConnect(*t, *c_.FindUser("p")).ok());
  c_.Authorized(*s, "o", ring::AuthMethod::kPap, {}, now_);
  EXPECT_FALSE(c_.MayConnect(*t, *c_.FindUser("o")).ok());
  EXPECT_FALSE(c_.FindUser("nobody"));
  Ok("/ppp secret set u disabled=yes");
  EXPECT_FALSE(c_.MayConnect(*s, *c_.FindUser("u")).ok());
}

TEST_F(ControllerTest, ExportLoadsBackAndDamageIsRefusedWithTheLine) {
  testing::WriteSelfSignedPem(Dir() + "/server.pem", "sstp.example");
  Ok("/certificate import file-name=server.pem name=server");
  Ok("/interface sstp-server server set enabled=yes certificate=server authentication=mschap2");
  Ok("/ip pool add name=p1 ranges=198.19.101.10-198.19.101.19");
  Ok("/ppp profile add name=office local-address=198.19.101.1 remote-address=p1 "
     "dns-server=198.18.0.53 session-timeout=1d");
  Ok("/ppp profile set default-encryption dns-server=198.18.0.54");
  Ok("/ppp secret add name=\"with space\" password=\"p w\\\"d\" profile=office comment=\"a b\"");
  Ok("/interface ethernet set ether2 arp=proxy-arp");
  Ok("/ip address add address=198.18.80.1/24 interface=ether1");
  Ok("/ip route add dst-address=198.19.202.0/24 gateway=198.18.16.2 distance=5");
  Ok("/interface sstp-server add name=s1 user=\"with space\"");
  Ok("/interface sstp-client add connect-to=198.18.80.1 user=x password=y");
  auto certs = Run("/certificate print");
  EXPECT_THAT(certs.output, HasSubstr("Flags: K - private-key, T - trusted"));
  EXPECT_THAT(certs.output, HasSubstr(" 0 KT server       sstp.example"));
  EXPECT_FALSE(Run("/certificate remove server").status.ok());  // in use by the server
  auto cfg = sink_.Of(ring::MsgType::kServerConfig);
  ASSERT_FALSE(cfg.empty());
  EXPECT_EQ(std::get<ring::ServerConfig>(cfg.back().body).certificate_file, Dir() + "/server.pem");
  const std::string text = c_.ExportConfig();
  testing::CaptureSink other_sink;
  Controller other(&other_sink, {Dir(), "sstp"});
  other.AddPort("ether1", "", 0);
  ASSERT_TRUE(other.LoadConfig(text, now_).ok()) << text;
  EXPECT_EQ(other.ExportConfig(), text);
  EXPECT_EQ(other.config().Get({"ppp", "secret"}, 0, "password"), "p w\"d");

  // A damaged file: refused with its line and reason, and the running configuration stays.
  std::string damaged = text + "/ppp secret\nadd name=broken profile=nope\n";
  auto s = other.LoadConfig(damaged, now_);
  ASSERT_FALSE(s.ok());
  int lines = int(std::count(text.begin(), text.end(), '\n'));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(absl::StrCat("line ", lines + 2, ": invalid value for argument profile")));
  EXPECT_EQ(other.ExportConfig(), text);
  EXPECT_FALSE(other.LoadConfig("/ppp secret\nprint\n", now_).ok());
  EXPECT_FALSE(other.LoadConfig("/nonsense\n", now_).ok());
}

TEST_F(ControllerTest, SstpClientEntriesBecomeClientConfigFiles) {
  Ok("/interface sstp-client add connect-to=198.18.80.1 user=Home password=\"p\\\"w\" "
     "disabled=no max-mtu=9000");
  Ok("/interface sstp-client add name=off connect-to=198.18.80.2 user=x password=y");
  auto specs = ClientSpecs(c_.config(), "/files", "/run/x/clients");
  ASSERT_EQ(specs.size(), 1u);  // the disabled entry runs no client
  EXPECT_EQ(specs[0].name, "sstp-out1");
  const std::string& t = specs[0].config_text;
  EXPECT_THAT(t, HasSubstr("\nname=sstp-out1\n"));
  EXPECT_THAT(t, HasSubstr("\nconnect-to=198.18.80.1:443\n"));
  EXPECT_THAT(t, HasSubstr("\nuser=\"Home\"\n"));
  EXPECT_THAT(t, HasSubstr("\npassword=\"p\\\"w\"\n"));  // quote escaped for the client's parser
  EXPECT_THAT(t, HasSubstr("\nmax-mtu=4091\n"));         // the client's upper bound
  EXPECT_THAT(t, HasSubstr("\nverify-server=no\n"));     // RouterOS's default
  EXPECT_THAT(t, HasSubstr("\nstatus-socket=\"/run/x/clients/sstp-out1.sock\"\n"));
  EXPECT_THAT(t, ::testing::Not(HasSubstr("proxy=")));  // 0.0.0.0:443 is "no proxy"
  Ok("/interface sstp-client set 0 proxy=198.18.80.3:8080 verify-server-certificate=yes");
  specs = ClientSpecs(c_.config(), "/files", "/run/x/clients");
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_THAT(specs[0].config_text, HasSubstr("\nproxy=198.18.80.3:8080\n"));
  EXPECT_THAT(specs[0].config_text, HasSubstr("\nverify-server=yes\n"));
  EXPECT_THAT(specs[0].config_text, HasSubstr("\nca-file=\"/run/x/clients/sstp-out1.ca.pem\"\n"));

  // What the client's status socket says shows in monitor and the R flag.
  auto st = ParseClientStatus(
      "     status: \"connected\"\n     uptime: 1m5s\n       user: \"Home\"\n"
      "        mtu: 1500\n    tx-byte: 840\n    rx-byte: 420\n");
  EXPECT_EQ(st["status"], "connected");
  EXPECT_EQ(st["user"], "Home");
  EXPECT_EQ(st["tx-byte"], "840");
  c_.SetClientStatus("sstp-out1", st);
  auto mon = Run("/interface sstp-client monitor 0").output;
  EXPECT_EQ(mon,
            "   status: \"connected\"\n   uptime: 1m5s\n     user: \"Home\"\n"
            "      mtu: 1500\n  rx-byte: 420\n  tx-byte: 840\n");
  EXPECT_THAT(Run("/interface sstp-client print").output, HasSubstr(" 0  R name=\"sstp-out1\""));
  EXPECT_EQ(Run("/interface sstp-client print stats").output,
            "Flags: X - disabled, R - running\n"
            " #    NAME                         RX-BYTE         TX-BYTE   RX-PACKET   TX-PACKET\n"
            " 0  R sstp-out1                        420             840           0           0\n"
            " 1 X  off                                0               0           0           0\n");
  c_.SetClientStatus("sstp-out1", {});
  EXPECT_EQ(Run("/interface sstp-client monitor 0").output, "  status: \"disconnected\"\n");
  EXPECT_EQ(Run("/interface sstp-client monitor off").output, "  status: \"disabled\"\n");
}

TEST(Persist, AtomicSaveReplacesWholeFiles) {
  char t[] = "/tmp/cp-persist-XXXXXX";
  std::string dir = mkdtemp(t);
  std::string path = dir + "/config.rsc";
  EXPECT_TRUE(absl::IsNotFound(ReadWholeFile(path).status()));
  ASSERT_TRUE(SaveAtomically(path, "one\n").ok());
  ASSERT_TRUE(SaveAtomically(path, "two\n").ok());
  EXPECT_EQ(*ReadWholeFile(path), "two\n");
  EXPECT_FALSE(SaveAtomically(dir + "/missing-dir/x", "x").ok());
}

}  // namespace
}  // namespace cp
