// The control plane's PPP server engine (ppp::Session in the server role behind the ring
// messages) against ppp/'s client role for every authentication method, and against a scripted
// Windows-style LCP negotiation.
#include "controlplane/ppp_engine.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ppp/frame.h"
#include "ppp/session.h"
#include "tests/controlplane/test_util.h"

namespace cp {
namespace {

using ::testing::HasSubstr;

class PppEngineTest : public ::testing::Test {
 protected:
  PppEngineTest() : c_(&sink_, {"/nonexistent", "sstp"}) {
    c_.set_engine_factory(MakePppEngineFactory());
    Ok("/ppp secret add name=Laptop service=sstp password=123 local-address=198.19.101.1 "
       "remote-address=198.19.101.100");
    Ok("/ppp profile set default dns-server=198.18.0.53");
    Ok("/interface sstp-server server set enabled=yes");
    c_.StartResync(1, now_);
    for (uint32_t l = 0; l < 2; ++l) {
      c_.OnMessage(l, {ring::MsgType::kDumpEnd, 0, ring::DumpEnd{1, 0}}, now_);
    }
  }
  void Ok(const std::string& line) {
    auto r = c_.Execute(line, {}, now_);
    ASSERT_TRUE(r.status.ok()) << line << ": " << r.status;
  }
  void Open(uint64_t id) {
    ring::SessionOpened o;
    o.lcore = ring::SessionLcore(id);
    o.peer = ring::IpAddr::V4(0xc6126301);
    o.peer_port = 43886;
    c_.OnMessage(o.lcore, {ring::MsgType::kSessionOpened, id, o}, now_);
  }
  void Up(uint64_t id, const std::vector<uint8_t>& frame) {
    c_.OnMessage(ring::SessionLcore(id), {ring::MsgType::kPppFrameUp, id, ring::PppFrame{frame}},
                 now_);
  }
  // Frames the controller sent down for `id` since the last call.
  std::vector<std::vector<uint8_t>> Down(uint64_t id) {
    std::vector<std::vector<uint8_t>> out;
    for (; cursor_ < sink_.sent.size(); ++cursor_) {
      const auto& s = sink_.sent[cursor_];
      if (s.type == ring::MsgType::kPppFrameDown && s.session == id) {
        out.push_back(std::get<ring::PppFrame>(s.body).frame);
      }
    }
    return out;
  }

  struct Outcome {
    bool network_up = false;
    bool bcp_up = false;
    bool ipv6_up = false;
    bool terminated = false;
    uint32_t client_address = 0;
    uint32_t dns = 0;
    std::array<uint8_t, 32> client_hlak{};
  };
  // Runs a ppp/ client against the engine until the client's IPCP opens or the link ends.
  Outcome Converse(uint64_t id, const std::string& user, const std::string& password,
                   std::vector<ppp::AuthMethod> client_methods, bool bcp = false,
                   bool ipv6 = false) {
    ppp::SessionConfig cfg;
    cfg.role = ppp::SessionRole::kClient;
    cfg.enable_bcp = bcp;
    cfg.enable_ipv6cp = ipv6;
    cfg.user = user;
    cfg.password = password;
    cfg.auth_methods = client_methods;
    uint8_t counter = 1;
    cfg.random = [counter](absl::Span<uint8_t> out) mutable {
      for (auto& b : out) b = counter++;
    };
    auto client = ppp::Session::Create(cfg);
    EXPECT_TRUE(client.ok()) << client.status();
    Outcome o;
    if (!client.ok()) return o;
    Open(id);
    (*client)->Start(now_);
    for (int round = 0; round < 200 && !(bcp ? o.bcp_up : o.network_up) && !o.terminated; ++round) {
      for (auto& f : (*client)->TakeOutput()) Up(id, f);
      for (auto& f : Down(id)) (void)(*client)->ReceiveFrame(f, now_);
      for (auto& e : (*client)->TakeEvents()) {
        if (e.type == ppp::SessionEvent::Type::kNetworkUp && e.protocol == ppp::kProtocolIpcp) {
          o.network_up = true;
          o.client_address = e.network.local_address;
          o.dns = e.network.primary_dns;
        }
        if (e.type == ppp::SessionEvent::Type::kNetworkUp && e.protocol == ppp::kProtocolBcp) {
          o.bcp_up = true;
        }
        if (e.type == ppp::SessionEvent::Type::kNetworkUp && e.protocol == ppp::kProtocolIpv6cp) {
          o.ipv6_up = true;
        }
        if (e.type == ppp::SessionEvent::Type::kTerminated) o.terminated = true;
      }
      if (c_.FindSession(id) == nullptr) o.terminated = true;
    }
    // Let the last acknowledgements through so both ends agree.
    for (int k = 0; k < 3; ++k) {
      for (auto& f : (*client)->TakeOutput()) Up(id, f);
      for (auto& f : Down(id)) (void)(*client)->ReceiveFrame(f, now_);
      for (auto& e : (*client)->TakeEvents()) {
        if (e.type == ppp::SessionEvent::Type::kNetworkUp && e.protocol == ppp::kProtocolIpv6cp) {
          o.ipv6_up = true;
        }
      }
    }
    o.client_hlak = (*client)->Hlak();
    return o;
  }

  testing::CaptureSink sink_{2};
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  Controller c_;
  size_t cursor_ = 0;
};

// The data plane forwards no IPv6, so IPV6CP is not offered: a client asking for it (as Windows
// and sstpc/pppd do) gets a Protocol-Reject and still gets IPv4, and the data plane is told of one
// network layer only, without interface identifiers.
TEST_F(PppEngineTest, Ipv6cpIsRejectedAndIpv4StillComesUp) {
  const uint64_t id = ring::MakeSessionId(0, 21);
  Outcome o = Converse(id, "Laptop", "123", {ppp::AuthMethod::kMsChapV2}, false, true);
  ASSERT_TRUE(o.network_up);
  // Converse runs a few rounds past IPCP, in which an accepted IPV6CP would have opened too.
  EXPECT_FALSE(o.ipv6_up);
  auto up = sink_.Of(ring::MsgType::kSessionUp);
  ASSERT_EQ(up.size(), 1u);
  const auto& u = std::get<ring::SessionUp>(up[0].body);
  EXPECT_EQ(u.local_ifid, 0u);
  EXPECT_EQ(u.remote_ifid, 0u);
  EXPECT_EQ(u.remote_v4.ToString(), "198.19.101.100");
}

struct MethodCase {
  const char* server_auth;
  ppp::AuthMethod client;
  ring::AuthMethod expect;
};

class EveryMethod : public PppEngineTest, public ::testing::WithParamInterface<MethodCase> {};

TEST_P(EveryMethod, ClientConnectsAndGetsItsAddressAndRoutes) {
  const MethodCase& m = GetParam();
  Ok(std::string("/interface sstp-server server set authentication=") + m.server_auth);
  const uint64_t id = ring::MakeSessionId(1, 11);
  Outcome o = Converse(id, "Laptop", "123", {m.client});
  ASSERT_TRUE(o.network_up) << m.server_auth;
  EXPECT_EQ(o.client_address, 0xc6136564u);  // 198.19.101.100 from the secret
  EXPECT_EQ(o.dns, 0xc6120035u);             // 198.18.0.53 from the profile (RFC 1877)
  auto auth = sink_.Of(ring::MsgType::kSessionAuthorized);
  ASSERT_EQ(auth.size(), 1u);
  const auto& a = std::get<ring::SessionAuthorized>(auth[0].body);
  EXPECT_EQ(a.method, m.expect);
  EXPECT_EQ(a.user, "Laptop");
  EXPECT_EQ(auth[0].lcore, 1u);
  // The HLAK for the SSTP crypto binding: the same bytes the client computes; zero unless
  // MS-CHAPv2 (MS-SSTP 3.2.5.2).
  EXPECT_EQ(a.hlak, o.client_hlak);
  const bool zero = a.hlak == std::array<uint8_t, 32>{};
  if (m.expect == ring::AuthMethod::kMsChap2) EXPECT_FALSE(zero);
  if (m.expect == ring::AuthMethod::kPap || m.expect == ring::AuthMethod::kChap) EXPECT_TRUE(zero);
  auto up = sink_.Of(ring::MsgType::kSessionUp);
  ASSERT_GE(up.size(), 1u);
  EXPECT_EQ(std::get<ring::SessionUp>(up[0].body).remote_v4.ToString(), "198.19.101.100");
  EXPECT_EQ(sink_.Of(ring::MsgType::kRouteAdd).size(), 1u);  // the client's /32
  auto active = c_.Execute("/ppp active print", {}, now_);
  EXPECT_THAT(active.output, HasSubstr("Laptop"));
  EXPECT_THAT(c_.Execute("/interface sstp-server monitor 0", {}, now_).output,
              HasSubstr("status: \"connected\""));
}

INSTANTIATE_TEST_SUITE_P(
    Methods, EveryMethod,
    ::testing::Values(MethodCase{"pap", ppp::AuthMethod::kPap, ring::AuthMethod::kPap},
                      MethodCase{"chap", ppp::AuthMethod::kChapMd5, ring::AuthMethod::kChap},
                      MethodCase{"mschap1", ppp::AuthMethod::kMsChapV1, ring::AuthMethod::kMsChap1},
                      MethodCase{"mschap2", ppp::AuthMethod::kMsChapV2, ring::AuthMethod::kMsChap2},
                      // All allowed, the client takes anything: MS-CHAPv2 is preferred.
                      MethodCase{"pap,chap,mschap1,mschap2", ppp::AuthMethod::kMsChapV2,
                                 ring::AuthMethod::kMsChap2}),
    [](const auto& info) {
      std::string n = info.param.server_auth;
      for (char& ch : n) {
        if (ch == ',') ch = '_';
      }
      return n;
    });

TEST_F(PppEngineTest, PreferredMethodWhenTheClientAcceptsAll) {
  const uint64_t id = ring::MakeSessionId(0, 3);
  Outcome o = Converse(id, "Laptop", "123",
                       {ppp::AuthMethod::kPap, ppp::AuthMethod::kChapMd5,
                        ppp::AuthMethod::kMsChapV1, ppp::AuthMethod::kMsChapV2});
  ASSERT_TRUE(o.network_up);
  auto auth = sink_.Of(ring::MsgType::kSessionAuthorized);
  ASSERT_EQ(auth.size(), 1u);
  EXPECT_EQ(std::get<ring::SessionAuthorized>(auth[0].body).method, ring::AuthMethod::kMsChap2);
}

TEST_F(PppEngineTest, WrongPasswordUnknownUserAndDisabledAreRefused) {
  for (auto [user, pass, n] :
       {std::tuple<const char*, const char*, int>{"Laptop", "wrong", 1}, {"nobody", "123", 2}}) {
    const uint64_t id = ring::MakeSessionId(0, uint64_t(n));
    Outcome o = Converse(id, user, pass, {ppp::AuthMethod::kMsChapV2});
    EXPECT_FALSE(o.network_up) << user;
    EXPECT_EQ(c_.FindSession(id), nullptr) << user;
  }
  Ok("/ppp secret set Laptop disabled=yes");
  Outcome o = Converse(ring::MakeSessionId(0, 3), "Laptop", "123", {ppp::AuthMethod::kPap});
  EXPECT_FALSE(o.network_up);
  EXPECT_TRUE(sink_.Of(ring::MsgType::kSessionAuthorized).empty());
  EXPECT_TRUE(sink_.Of(ring::MsgType::kSessionUp).empty());
  // A secret for another service (RouterOS service=) is refused the same way.
  Ok("/ppp secret add name=Dialup service=pppoe password=123");
  o = Converse(ring::MakeSessionId(0, 4), "Dialup", "123", {ppp::AuthMethod::kMsChapV2});
  EXPECT_FALSE(o.network_up);
  auto closes = sink_.Of(ring::MsgType::kSessionClose);
  ASSERT_EQ(closes.size(), 4u);
  for (const auto& c : closes) {
    EXPECT_EQ(std::get<ring::SessionClose>(c.body).reason, ring::CloseReason::kAuthFailed);
  }
  // One log line per failure: user, why, caller and method (RouterOS "... authentication
  // failed: ..."), in /log print as well.
  std::vector<std::string> lines;
  for (const LogEntry& e : c_.log()) {
    if (e.topics == "sstp,ppp,error") lines.push_back(e.message);
  }
  EXPECT_THAT(lines,
              ::testing::ElementsAre(
                  "Laptop authentication failed: wrong password (caller-id 198.18.99.1:43886, "
                  "mschap2)",
                  "nobody authentication failed: unknown user (caller-id 198.18.99.1:43886, "
                  "mschap2)",
                  "Laptop authentication failed: user disabled (caller-id 198.18.99.1:43886, pap)",
                  "Dialup authentication failed: service mismatch (caller-id "
                  "198.18.99.1:43886, mschap2)"));
  auto log = c_.Execute("/log print", {}, now_);
  ASSERT_TRUE(log.status.ok());
  EXPECT_THAT(log.output, HasSubstr(" 08:00:00 sstp,ppp,error Laptop authentication failed: "
                                    "wrong password (caller-id 198.18.99.1:43886, mschap2)\n"));
  EXPECT_THAT(c_.Execute("/log print", {}, now_ + absl::Hours(24)).output,
              HasSubstr(" jan/15 08:00:00 sstp,ppp,error Dialup authentication failed"));
  // Nobody logged in, so nobody logged out.
  for (const LogEntry& e : c_.log()) EXPECT_THAT(e.message, ::testing::Not(HasSubstr("logged")));
}

// A client that hangs up right after the authenticator's Failure (as ours does: SSTP disconnect,
// no LCP Terminate): the failure is still logged, once.
TEST_F(PppEngineTest, AuthFailureIsLoggedWhenTheClientHangsUpAtOnce) {
  ppp::SessionConfig cfg;
  cfg.role = ppp::SessionRole::kClient;
  cfg.user = "Laptop";
  cfg.password = "wrong";
  cfg.auth_methods = {ppp::AuthMethod::kMsChapV2};
  cfg.random = [](absl::Span<uint8_t> out) {
    for (auto& b : out) b = 7;
  };
  auto client = ppp::Session::Create(cfg);
  ASSERT_TRUE(client.ok());
  const uint64_t id = ring::MakeSessionId(0, 41);
  Open(id);
  (*client)->Start(now_);
  bool failed = false;
  for (int round = 0; round < 100 && !failed; ++round) {
    for (auto& f : (*client)->TakeOutput()) Up(id, f);
    for (auto& f : Down(id)) (void)(*client)->ReceiveFrame(f, now_);
    const ppp::AuthResult* r = (*client)->auth_result();
    failed = r != nullptr && !r->success;
  }
  ASSERT_TRUE(failed);
  ring::SessionClosed closed;
  closed.reason = ring::CloseReason::kClientDisconnect;
  c_.OnMessage(0, {ring::MsgType::kSessionClosed, id, closed}, now_);
  EXPECT_EQ(c_.FindSession(id), nullptr);
  int n = 0;
  for (const LogEntry& e : c_.log()) {
    if (e.message ==
        "Laptop authentication failed: wrong password (caller-id "
        "198.18.99.1:43886, mschap2)") {
      ++n;
    }
  }
  EXPECT_EQ(n, 1);
}

// The administrator removes an active session: the client gets an LCP Terminate-Request
// (RFC 1661 5.5) before the data plane is told to close the call, and its PPP sees it.
TEST_F(PppEngineTest, AdminCloseSendsLcpTerminateBeforeTheSstpClose) {
  const uint64_t id = ring::MakeSessionId(1, 51);
  ASSERT_TRUE(Converse(id, "Laptop", "123", {ppp::AuthMethod::kMsChapV2}).network_up);
  const size_t mark = sink_.sent.size();
  auto r = c_.Execute("/ppp active remove 0", {}, now_);
  ASSERT_TRUE(r.status.ok()) << r.status;
  int terminate_at = -1, close_at = -1;
  for (size_t i = mark; i < sink_.sent.size(); ++i) {
    const auto& m = sink_.sent[i];
    if (m.session != id) continue;
    if (m.type == ring::MsgType::kPppFrameDown) {
      const auto& f = std::get<ring::PppFrame>(m.body).frame;
      size_t o = f.size() >= 2 && f[0] == 0xff && f[1] == 0x03 ? 2 : 0;
      if (f.size() >= o + 3 && f[o] == 0xc0 && f[o + 1] == 0x21 && f[o + 2] == 5) {
        terminate_at = int(i);  // LCP (0xc021) Terminate-Request (code 5)
      }
    }
    if (m.type == ring::MsgType::kSessionClose) {
      close_at = int(i);
      EXPECT_EQ(std::get<ring::SessionClose>(m.body).reason, ring::CloseReason::kAdminClose);
    }
  }
  ASSERT_GE(terminate_at, 0) << "no LCP Terminate-Request";
  ASSERT_GE(close_at, 0) << "no SessionClose";
  EXPECT_LT(terminate_at, close_at);
  EXPECT_EQ(c_.FindSession(id), nullptr);
  EXPECT_EQ(sink_.Of(ring::MsgType::kSessionClose).size(), 1u);
}

TEST_F(PppEngineTest, LoginAndLogoutAreLoggedWithTheCounters) {
  const uint64_t id = ring::MakeSessionId(1, 21);
  ASSERT_TRUE(Converse(id, "Laptop", "123", {ppp::AuthMethod::kMsChapV2}).network_up);
  ring::SessionClosed closed;
  closed.reason = ring::CloseReason::kClientDisconnect;
  closed.counters = {8400, 16800, 100, 200, 0};
  c_.OnMessage(1, {ring::MsgType::kSessionClosed, id, closed}, now_ + absl::Seconds(65));
  EXPECT_EQ(c_.FindSession(id), nullptr);
  std::vector<std::string> lines;
  for (const LogEntry& e : c_.log()) lines.push_back(e.topics + " " + e.message);
  EXPECT_THAT(lines, ::testing::ElementsAre(
                         "sstp,ppp,info,account Laptop logged in, 198.19.101.100 from "
                         "198.18.99.1:43886 (mschap2)",
                         "sstp,ppp,info,account Laptop logged out, 65 8400 16800 100 200 "
                         "(client-disconnect)"));
}

// The manual's "SSTP also supports BCP": a profile with bridge=bridge1, whose port is ether2. The
// user's session negotiates BCP and the data plane is told to bridge it to ether2; a user without
// a bridge gets no BCP (Protocol-Reject) and an unbridged SessionUp.
TEST_F(PppEngineTest, BridgeProfileNegotiatesBcpAndNamesThePort) {
  c_.AddPort("ether1", "00:30:4F:0B:7B:C1", 1500);
  c_.AddPort("ether2", "00:30:4F:06:62:12", 1500);
  Ok("/interface bridge add name=bridge1");
  Ok("/interface bridge port add bridge=bridge1 interface=ether2");
  Ok("/ppp profile add name=bridged bridge=bridge1");
  Ok("/ppp secret add name=Branch service=sstp password=123 profile=bridged "
     "local-address=198.19.101.1 remote-address=198.19.101.150");
  Ok("/ppp secret add name=L2only service=sstp password=123 profile=bridged");

  const uint64_t id = ring::MakeSessionId(0, 31);
  Outcome o = Converse(id, "Branch", "123", {ppp::AuthMethod::kMsChapV2}, /*bcp=*/true);
  ASSERT_TRUE(o.bcp_up);
  auto ups = sink_.Of(ring::MsgType::kSessionUp);
  ASSERT_FALSE(ups.empty());
  bool bridged = false;
  for (const auto& u : ups) {
    const auto& su = std::get<ring::SessionUp>(u.body);
    EXPECT_EQ(su.user, "Branch");
    if (su.bridge) {
      bridged = true;
      EXPECT_EQ(su.bridge_port, "ether2");
    }
  }
  EXPECT_TRUE(bridged);
  // While up, the session is a dynamic port of bridge1.
  auto ports = c_.Execute("/interface bridge port print", {}, now_).output;
  EXPECT_THAT(ports, HasSubstr(" 0     ether2                 bridge1\n"));
  EXPECT_THAT(ports, HasSubstr(" 1   D <sstp-Branch>          bridge1\n"));

  // A bridged user without any address: Ethernet only (no IPCP), still bridged.
  const size_t before = sink_.Of(ring::MsgType::kSessionUp).size();
  const uint64_t l2 = ring::MakeSessionId(1, 32);
  o = Converse(l2, "L2only", "123", {ppp::AuthMethod::kMsChapV2}, /*bcp=*/true);
  ASSERT_TRUE(o.bcp_up);
  EXPECT_FALSE(o.network_up);
  ups = sink_.Of(ring::MsgType::kSessionUp);
  ASSERT_GT(ups.size(), before);
  const auto& l2up = std::get<ring::SessionUp>(ups.back().body);
  EXPECT_EQ(ups.back().session, l2);
  EXPECT_EQ(l2up.bridge, 1);
  EXPECT_EQ(l2up.bridge_port, "ether2");
  EXPECT_EQ(l2up.remote_v4.family, 0);

  // Laptop's profile has no bridge: its client's BCP is refused, IPCP works, nothing bridged.
  const size_t before2 = sink_.Of(ring::MsgType::kSessionUp).size();
  const uint64_t lap = ring::MakeSessionId(0, 33);
  o = Converse(lap, "Laptop", "123", {ppp::AuthMethod::kMsChapV2}, /*bcp=*/true);
  ASSERT_TRUE(o.network_up);
  EXPECT_FALSE(o.bcp_up);
  EXPECT_FALSE(o.terminated);
  ups = sink_.Of(ring::MsgType::kSessionUp);
  ASSERT_GT(ups.size(), before2);
  for (size_t i = before2; i < ups.size(); ++i) {
    EXPECT_EQ(std::get<ring::SessionUp>(ups[i].body).bridge, 0);
    EXPECT_EQ(std::get<ring::SessionUp>(ups[i].body).bridge_port, "");
  }
}

TEST_F(PppEngineTest, PoolAddressesAndOnlyOne) {
  Ok("/ip pool add name=p1 ranges=198.19.101.10-198.19.101.13");
  Ok("/ppp profile add name=pooled local-address=198.19.101.1 remote-address=p1 only-one=no");
  Ok("/ppp secret add name=u password=pw profile=pooled");
  std::set<uint32_t> seen;
  for (uint64_t k = 1; k <= 2; ++k) {
    const uint64_t id = ring::MakeSessionId(1, k);
    Outcome o = Converse(id, "u", "pw", {ppp::AuthMethod::kMsChapV2});
    ASSERT_TRUE(o.network_up);
    EXPECT_EQ(o.client_address % 2, 1u);  // lcore 1 owns the odd addresses of the pool
    EXPECT_TRUE(seen.insert(o.client_address).second);
  }
  // lcore 1's share (.11, .13) is used up: the third user of lcore 1 is refused.
  Outcome o = Converse(ring::MakeSessionId(1, 3), "u", "pw", {ppp::AuthMethod::kMsChapV2});
  EXPECT_FALSE(o.network_up);
  auto closes = sink_.Of(ring::MsgType::kSessionClose);
  ASSERT_FALSE(closes.empty());
  EXPECT_EQ(std::get<ring::SessionClose>(closes.back().body).reason, ring::CloseReason::kNoAddress);
}

// Parses FF 03 (optional) + protocol + code/id/length + options.
struct Cp {
  uint16_t protocol;
  uint8_t code, id;
  std::vector<uint8_t> data;
};
Cp ParseCp(const std::vector<uint8_t>& f) {
  size_t i = (f.size() >= 2 && f[0] == 0xff && f[1] == 0x03) ? 2 : 0;
  Cp c{uint16_t(f[i] << 8 | f[i + 1]), f[i + 2], f[i + 3], {}};
  uint16_t len = uint16_t(f[i + 4] << 8 | f[i + 5]);
  c.data.assign(f.begin() + long(i) + 6, f.begin() + long(i) + 2 + len);
  return c;
}
bool HasOption(const Cp& c, uint8_t type) {
  for (size_t k = 0; k + 1 < c.data.size(); k += c.data[k + 1]) {
    if (c.data[k] == type) return true;
    if (c.data[k + 1] < 2) return false;
  }
  return false;
}
std::vector<uint8_t> LcpFrame(uint8_t code, uint8_t id, const std::vector<uint8_t>& options) {
  uint16_t len = uint16_t(4 + options.size());
  std::vector<uint8_t> f = {0xff, 0x03, 0xc0, 0x21, code, id, uint8_t(len >> 8), uint8_t(len)};
  f.insert(f.end(), options.begin(), options.end());
  return f;
}

TEST_F(PppEngineTest, WindowsStyleLcpIsNegotiated) {
  const uint64_t id = ring::MakeSessionId(0, 9);
  Open(id);
  auto first = Down(id);
  ASSERT_FALSE(first.empty());
  Cp server_req = ParseCp(first[0]);
  ASSERT_EQ(server_req.protocol, 0xc021);
  ASSERT_EQ(server_req.code, 1);  // Configure-Request
  // The server asks for MS-CHAPv2 first (auth protocol C223, algorithm 0x81).
  const std::vector<uint8_t> mschap2 = {0x03, 0x05, 0xc2, 0x23, 0x81};
  EXPECT_NE(
      std::search(server_req.data.begin(), server_req.data.end(), mschap2.begin(), mschap2.end()),
      server_req.data.end());
  // What Windows sends: mru 4091, magic, pcomp, accomp, callback CBCP, mrru 1614, endpoint.
  std::vector<uint8_t> mru = {0x01, 0x04, 0x0f, 0xfb};
  std::vector<uint8_t> magic = {0x05, 0x06, 0x12, 0x34, 0x56, 0x78};
  std::vector<uint8_t> pfc = {0x07, 0x02}, acfc = {0x08, 0x02};
  std::vector<uint8_t> callback = {0x0d, 0x03, 0x06};
  std::vector<uint8_t> mrru = {0x11, 0x04, 0x06, 0x4e};
  std::vector<uint8_t> endpoint = {0x13, 0x13, 0x01};
  for (int k = 0; k < 16; ++k) endpoint.push_back(uint8_t(0xa0 + k));
  auto cat = [](std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  Up(id, LcpFrame(1, 1, cat({mru, magic, pfc, acfc, callback, mrru, endpoint})));
  bool rejected_callback = false, rejected_mrru = false;
  for (auto& f : Down(id)) {
    Cp c = ParseCp(f);
    if (c.protocol == 0xc021 && c.code == 4 && c.id == 1) {  // Configure-Reject
      rejected_callback = HasOption(c, 0x0d);
      rejected_mrru = HasOption(c, 0x11);
      EXPECT_FALSE(HasOption(c, 0x01)) << "MRU 4091 is acceptable";
      EXPECT_FALSE(HasOption(c, 0x05)) << "magic is acceptable";
    }
  }
  EXPECT_TRUE(rejected_callback) << "Callback (CBCP) is not offered by the server";
  EXPECT_TRUE(rejected_mrru) << "multilink is off (mrru=disabled)";
  // Windows retries without the rejected options; the server acknowledges.
  Up(id, LcpFrame(1, 2, cat({mru, magic, pfc, acfc, endpoint})));
  // And we acknowledge the server's request (echoing it).
  Up(id, LcpFrame(2, server_req.id, server_req.data));
  bool acked = false, challenged = false;
  for (auto& f : Down(id)) {
    Cp c = ParseCp(f);
    if (c.protocol == 0xc021 && c.code == 2 && c.id == 2) acked = true;
    if (c.protocol == 0xc223 && c.code == 1) challenged = true;  // MS-CHAPv2 Challenge
  }
  EXPECT_TRUE(acked);
  EXPECT_TRUE(challenged);
  EXPECT_NE(c_.FindSession(id), nullptr);
  // Terminate-Request from the client ends the session (client-disconnect).
  Up(id, LcpFrame(5, 3, {}));
  for (int k = 0; k < 3 && c_.FindSession(id) != nullptr; ++k) {
    now_ += absl::Seconds(4);
    c_.OnTimer(now_);
  }
  EXPECT_EQ(c_.FindSession(id), nullptr);
  auto closes = sink_.Of(ring::MsgType::kSessionClose);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(std::get<ring::SessionClose>(closes[0].body).reason,
            ring::CloseReason::kClientDisconnect);
}

}  // namespace
}  // namespace cp
