// Client Session against server Session with scripted time: every authentication method, IPCP,
// echo, terminate, and every timeout path.
#include "ppp/session.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ppp/frame.h"
#include "ppp/hdlc.h"
#include "ppp/multilink.h"

namespace ppp {
namespace {

using Type = SessionEvent::Type;

constexpr uint32_t Ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

RandomSource Scripted(uint8_t seed) {
  return [n = uint32_t{seed} * 7919u](absl::Span<uint8_t> out) mutable {
    for (uint8_t& b : out) {
      n = n * 1103515245u + 12345u;
      b = static_cast<uint8_t>(n >> 16);
    }
  };
}

class TestPolicy : public ServerPolicy {
 public:
  std::map<std::string, std::string, std::less<>> users = {{"alice", "s3cret"}};
  bool pending_credentials = false;
  bool pending_network = false;
  bool refuse = false;
  std::vector<std::string> lookups;
  NetworkAssignment assignment = [] {
    NetworkAssignment a;
    a.local_address = Ip(198, 18, 0, 1);
    a.remote_address = Ip(198, 18, 0, 10);
    a.primary_dns = Ip(198, 18, 0, 53);
    a.secondary_dns = Ip(198, 18, 1, 53);
    return a;
  }();
  std::optional<AuthResult> assigned_for;

  Credential LookupCredential(std::string_view user) override {
    lookups.emplace_back(user);
    if (pending_credentials) return Credential::Pending();
    auto it = users.find(user);
    return it == users.end() ? Credential::NotFound() : Credential::Found(it->second);
  }
  Decision AssignNetwork(const AuthResult* auth) override {
    if (auth) assigned_for = *auth;
    if (refuse) return Decision::Refuse("pool exhausted");
    if (pending_network) return Decision::Pending();
    return Decision::Assign(assignment);
  }
};

SessionConfig ServerConfig(TestPolicy* policy, std::vector<AuthMethod> methods) {
  SessionConfig c;
  c.role = SessionRole::kServer;
  c.policy = policy;
  c.auth_methods = std::move(methods);
  c.random = Scripted(1);
  return c;
}

SessionConfig ClientConfig(std::vector<AuthMethod> methods, std::string password = "s3cret") {
  SessionConfig c;
  c.role = SessionRole::kClient;
  c.auth_methods = std::move(methods);
  c.user = "alice";
  c.password = std::move(password);
  c.random = Scripted(2);
  return c;
}

// Two sessions joined by a lossless wire, with a filter to drop frames and scripted time.
class Wire {
 public:
  Wire(Session& server, Session& client) : s_(server), c_(client) {}
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  std::vector<SessionEvent> server_events, client_events;
  std::vector<std::vector<uint8_t>> server_sent, client_sent;
  // Return false to drop a frame: (from_server, frame).
  std::function<bool(bool, const std::vector<uint8_t>&)> pass = [](bool, const auto&) {
    return true;
  };

  void Pump() {
    for (int i = 0; i < 200; ++i) {
      bool moved = false;
      for (auto& f : s_.TakeOutput()) {
        moved = true;
        server_sent.push_back(f);
        if (pass(true, f) && !c_.terminated()) c_.ReceiveFrame(f, now).IgnoreError();
      }
      for (auto& f : c_.TakeOutput()) {
        moved = true;
        client_sent.push_back(f);
        if (pass(false, f) && !s_.terminated()) s_.ReceiveFrame(f, now).IgnoreError();
      }
      Collect();
      if (!moved) return;
    }
  }
  void Collect() {
    for (auto& e : s_.TakeEvents()) server_events.push_back(std::move(e));
    for (auto& e : c_.TakeEvents()) client_events.push_back(std::move(e));
  }
  // Advances scripted time to `until`, firing every deadline on the way.
  void RunUntil(absl::Time until) {
    Pump();
    for (int i = 0; i < 10000; ++i) {
      std::optional<absl::Time> d;
      for (Session* s : {&s_, &c_}) {
        auto t = s->NextDeadline();
        if (t && (!d || *t < *d)) d = t;
      }
      if (!d || *d > until) break;
      now = std::max(now, *d);
      s_.OnTimer(now);
      c_.OnTimer(now);
      Pump();
    }
    now = std::max(now, until);
  }
  void Run(absl::Duration d) { RunUntil(now + d); }
  void Start() {
    s_.Start(now);
    c_.Start(now);
    Pump();
  }

 private:
  Session& s_;
  Session& c_;
};

const SessionEvent* Find(const std::vector<SessionEvent>& events, Type type) {
  for (const SessionEvent& e : events) {
    if (e.type == type) return &e;
  }
  return nullptr;
}

size_t CountProtocol(const std::vector<std::vector<uint8_t>>& frames, uint16_t protocol,
                     uint8_t code = 0) {
  size_t n = 0;
  for (const auto& f : frames) {
    absl::StatusOr<FrameView> v = ParseFrame(f);
    if (v.ok() && v->protocol == protocol &&
        (code == 0 || (!v->information.empty() && v->information[0] == code))) {
      ++n;
    }
  }
  return n;
}

class SessionAuthTest : public ::testing::TestWithParam<AuthMethod> {};

TEST_P(SessionAuthTest, FullSessionConnectAuthenticateIpcpEchoDisconnect) {
  const AuthMethod method = GetParam();
  TestPolicy policy;
  Session server(ServerConfig(&policy, {method}));
  Session client(ClientConfig({method}));
  Wire w(server, client);
  w.Start();

  for (auto* events : {&w.server_events, &w.client_events}) {
    ASSERT_NE(Find(*events, Type::kLcpUp), nullptr);
    const SessionEvent* auth = Find(*events, Type::kAuthenticated);
    ASSERT_NE(auth, nullptr) << AuthMethodName(method);
    EXPECT_EQ(auth->auth->method, method);
    EXPECT_EQ(auth->auth->user, "alice");
    ASSERT_NE(Find(*events, Type::kNetworkUp), nullptr);
  }
  EXPECT_EQ(server.phase(), Phase::kNetwork);
  EXPECT_EQ(policy.lookups, std::vector<std::string>{"alice"});
  ASSERT_TRUE(policy.assigned_for.has_value());
  EXPECT_EQ(policy.assigned_for->user, "alice");

  const SessionEvent* sup = Find(w.server_events, Type::kNetworkUp);
  const SessionEvent* cup = Find(w.client_events, Type::kNetworkUp);
  EXPECT_EQ(sup->protocol, kProtocolIpcp);
  EXPECT_EQ(sup->network.local_address, Ip(198, 18, 0, 1));
  EXPECT_EQ(sup->network.remote_address, Ip(198, 18, 0, 10));
  EXPECT_EQ(cup->network.local_address, Ip(198, 18, 0, 10));
  EXPECT_EQ(cup->network.remote_address, Ip(198, 18, 0, 1));
  EXPECT_EQ(cup->network.primary_dns, Ip(198, 18, 0, 53));
  EXPECT_EQ(cup->network.secondary_dns, Ip(198, 18, 1, 53));

  // SSTP crypto binding key: MS-CHAPv2 (and v1) derive it from MPPE keys, equal on both ends;
  // PAP and CHAP use 32 zero bytes.
  std::array<uint8_t, 32> zero{};
  if (method == AuthMethod::kMsChapV2) {
    EXPECT_NE(server.Hlak(), zero);
    EXPECT_EQ(server.Hlak(), client.Hlak());
    ASSERT_TRUE(Find(w.server_events, Type::kAuthenticated)->auth->mppe.has_value());
  } else if (method == AuthMethod::kPap || method == AuthMethod::kChapMd5) {
    EXPECT_EQ(server.Hlak(), zero);
    EXPECT_EQ(client.Hlak(), zero);
  }

  // Data both ways.
  const std::vector<uint8_t> packet = {0x45, 0, 0, 20, 1, 2, 3, 4};
  ASSERT_TRUE(client.SendData(kProtocolIpv4, packet).ok());
  w.Pump();
  auto delivered = server.TakeDelivered();
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].first, kProtocolIpv4);
  EXPECT_EQ(delivered[0].second, packet);

  // Larger than the peer's MRU (1500 by default): refused, not truncated.
  EXPECT_FALSE(client.SendData(kProtocolIpv4, std::vector<uint8_t>(1501, 0x45)).ok());
  EXPECT_TRUE(client.SendData(kProtocolIpv4, std::vector<uint8_t>(1500, 0x45)).ok());
  w.Pump();
  EXPECT_EQ(server.TakeDelivered().size(), 1u);

  // Echo.
  client.SendEchoRequest(w.now);
  w.Pump();
  EXPECT_EQ(client.lcp().echo_replies(), 1u);

  // Disconnect from the client: Terminate-Request, Terminate-Ack; the server waits one restart
  // period in Stopping (RFC 1661 zrc) before it reports.
  client.Close(w.now, "user disconnect");
  w.Pump();
  const SessionEvent* ct = Find(w.client_events, Type::kTerminated);
  ASSERT_NE(ct, nullptr);
  EXPECT_EQ(ct->reason, TerminateReason::kAdministrative);
  ASSERT_NE(Find(w.server_events, Type::kNetworkDown), nullptr);
  w.Run(absl::Seconds(3));
  const SessionEvent* st = Find(w.server_events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kPeerTerminated);
  EXPECT_EQ(st->message, "peer sent Terminate-Request: \"user disconnect\"");
  EXPECT_TRUE(server.terminated());
  EXPECT_FALSE(server.NextDeadline().has_value());
}

INSTANTIATE_TEST_SUITE_P(AllMethods, SessionAuthTest,
                         ::testing::Values(AuthMethod::kPap, AuthMethod::kChapMd5,
                                           AuthMethod::kMsChapV1, AuthMethod::kMsChapV2),
                         [](const auto& info) { return std::string(AuthMethodName(info.param)); });

TEST(SessionTest, ServerPrefersMsChapV2AndClientNaksTowardWhatItAllows) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kPap, AuthMethod::kChapMd5,
                                        AuthMethod::kMsChapV1, AuthMethod::kMsChapV2}));
  Session client(ClientConfig({AuthMethod::kChapMd5}));
  Wire w(server, client);
  w.Start();
  const SessionEvent* a = Find(w.server_events, Type::kAuthenticated);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->auth->method, AuthMethod::kChapMd5);
}

TEST(SessionTest, WrongPasswordTerminatesBothEnds) {
  for (AuthMethod m : {AuthMethod::kPap, AuthMethod::kMsChapV2}) {
    TestPolicy policy;
    Session server(ServerConfig(&policy, {m}));
    Session client(ClientConfig({m}, "wrong"));
    Wire w(server, client);
    w.Start();
    w.Run(absl::Seconds(10));
    const SessionEvent* st = Find(w.server_events, Type::kTerminated);
    ASSERT_NE(st, nullptr) << AuthMethodName(m);
    EXPECT_EQ(st->reason, TerminateReason::kAuthFailed);
    const SessionEvent* ct = Find(w.client_events, Type::kTerminated);
    ASSERT_NE(ct, nullptr);
    EXPECT_TRUE(ct->reason == TerminateReason::kAuthFailed ||
                ct->reason == TerminateReason::kPeerTerminated)
        << TerminateReasonName(ct->reason);
    EXPECT_EQ(Find(w.server_events, Type::kNetworkUp), nullptr);
  }
}

TEST(SessionTest, UnknownUserIsRefused) {
  TestPolicy policy;
  policy.users.clear();
  Session server(ServerConfig(&policy, {AuthMethod::kMsChapV2}));
  Session client(ClientConfig({AuthMethod::kMsChapV2}));
  Wire w(server, client);
  w.Start();
  w.Run(absl::Seconds(10));
  const SessionEvent* st = Find(w.server_events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kAuthFailed);
}

TEST(SessionTest, NoCommonAuthMethod) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kMsChapV2}));
  Session client(ClientConfig({AuthMethod::kPap}));
  Wire w(server, client);
  w.Start();
  w.Run(absl::Seconds(10));
  const SessionEvent* st = Find(w.server_events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kNoCommonAuth);
}

TEST(SessionTest, AsynchronousCredentialAndNetworkDecisions) {
  TestPolicy policy;
  policy.pending_credentials = true;
  policy.pending_network = true;
  Session server(ServerConfig(&policy, {AuthMethod::kMsChapV2}));
  Session client(ClientConfig({AuthMethod::kMsChapV2}));
  Wire w(server, client);
  w.Start();
  EXPECT_EQ(Find(w.server_events, Type::kAuthenticated), nullptr);
  w.Run(absl::Seconds(1));
  ASSERT_TRUE(server.SupplyCredential("alice", Credential::Found("s3cret"), w.now).ok());
  w.Pump();
  ASSERT_NE(Find(w.server_events, Type::kAuthenticated), nullptr);
  // The client already asks for IPCP; the server keeps its request until the policy answers.
  EXPECT_EQ(Find(w.server_events, Type::kNetworkUp), nullptr);
  EXPECT_GE(CountProtocol(w.client_sent, kProtocolIpcp, 1), 1u);
  server.SupplyNetwork(policy.assignment, w.now);
  w.Pump();
  // Up at once: the held request was replayed, nobody waited a restart period.
  ASSERT_NE(Find(w.server_events, Type::kNetworkUp), nullptr);
  ASSERT_NE(Find(w.client_events, Type::kNetworkUp), nullptr);
  EXPECT_EQ(Find(w.client_events, Type::kNetworkUp)->network.local_address, Ip(198, 18, 0, 10));
}

TEST(SessionTest, PolicyRefusal) {
  TestPolicy policy;
  policy.refuse = true;
  Session server(ServerConfig(&policy, {AuthMethod::kPap}));
  Session client(ClientConfig({AuthMethod::kPap}));
  Wire w(server, client);
  w.Start();
  w.Run(absl::Seconds(10));
  const SessionEvent* st = Find(w.server_events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kNetworkRefused);
  EXPECT_EQ(st->message, "pool exhausted");
}

TEST(SessionTest, NoAuthenticationConfigured) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {}));
  Session client(ClientConfig({}));
  Wire w(server, client);
  w.Start();
  EXPECT_EQ(Find(w.server_events, Type::kAuthenticated), nullptr);
  ASSERT_NE(Find(w.server_events, Type::kNetworkUp), nullptr);
  EXPECT_FALSE(policy.assigned_for.has_value());
}

TEST(SessionTest, Ipv6cpAndBcpAlongsideIpcp) {
  TestPolicy policy;
  policy.assignment.local_mac = MacAddress{0x02, 0, 0, 0, 0, 1};
  SessionConfig sc = ServerConfig(&policy, {AuthMethod::kMsChapV2});
  sc.enable_ipv6cp = sc.enable_bcp = true;
  SessionConfig cc = ClientConfig({AuthMethod::kMsChapV2});
  cc.enable_ipv6cp = cc.enable_bcp = true;
  cc.client_mac = MacAddress{0x02, 0, 0, 0, 0, 2};
  Session server(sc), client(cc);
  Wire w(server, client);
  w.Start();
  std::vector<uint16_t> up;
  for (const auto& e : w.server_events) {
    if (e.type == Type::kNetworkUp) up.push_back(e.protocol);
  }
  EXPECT_THAT(up, ::testing::UnorderedElementsAre(kProtocolIpcp, kProtocolIpv6cp, kProtocolBcp));
  ASSERT_NE(server.bcp(), nullptr);
  EXPECT_EQ(server.bcp()->negotiated().peer_mac, cc.client_mac);
  EXPECT_NE(server.ipv6cp()->negotiated().remote_identifier, 0u);
}

TEST(SessionTest, AssignmentChoosesTheNcpsPerUser) {
  TestPolicy policy;
  policy.assignment.bcp = false;  // e.g. the user's profile has no bridge=
  SessionConfig sc = ServerConfig(&policy, {AuthMethod::kPap});
  sc.enable_bcp = true;
  SessionConfig cc = ClientConfig({AuthMethod::kPap});
  cc.enable_bcp = true;
  Session server(sc), client(cc);
  Wire w(server, client);
  w.Start();
  EXPECT_EQ(server.bcp(), nullptr);
  EXPECT_GE(CountProtocol(w.server_sent, kProtocolLcp, 8), 1u);  // Protocol-Reject of BCP
  ASSERT_NE(client.bcp(), nullptr);
  EXPECT_EQ(client.bcp()->state(), FsmState::kStopped);
  ASSERT_NE(Find(w.server_events, Type::kNetworkUp), nullptr);
  EXPECT_EQ(Find(w.server_events, Type::kNetworkUp)->protocol, kProtocolIpcp);
  EXPECT_FALSE(client.terminated());
}

TEST(SessionTest, PeerWithoutIpv6cpProtocolRejectsItAndIpcpCarriesOn) {
  TestPolicy policy;
  SessionConfig sc = ServerConfig(&policy, {AuthMethod::kPap});
  sc.enable_ipv6cp = true;
  Session server(sc);
  Session client(ClientConfig({AuthMethod::kPap}));  // IPCP only, like Windows without IPv6
  Wire w(server, client);
  w.Start();
  EXPECT_GE(CountProtocol(w.client_sent, kProtocolLcp, 8), 1u);  // Protocol-Reject
  ASSERT_NE(Find(w.server_events, Type::kNetworkUp), nullptr);
  EXPECT_EQ(server.ipv6cp()->state(), FsmState::kStopped);
  EXPECT_FALSE(server.terminated());
}

TEST(SessionTest, AllNcpsRejectedEndsTheLink) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kPap}));
  SessionConfig cc = ClientConfig({AuthMethod::kPap});
  cc.enable_ipcp = false;
  cc.enable_ipv6cp = true;
  Session client(cc);
  Wire w(server, client);
  w.Start();
  w.Run(absl::Seconds(60));
  const SessionEvent* st = Find(w.server_events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kNoNetworkProtocol);
}

TEST(SessionTest, UnknownProtocolIsProtocolRejected) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kPap}));
  Session client(ClientConfig({AuthMethod::kPap}));
  Wire w(server, client);
  w.Start();
  // CCP Configure-Request (MPPE): SSTP needs no PPP encryption, so CCP is not spoken.
  std::vector<uint8_t> ccp = {0xFF, 0x03, 0x80, 0xFD, 0x01, 0x01, 0x00,
                              0x0A, 0x12, 0x06, 0x01, 0x00, 0x00, 0x40};
  ASSERT_TRUE(server.ReceiveFrame(ccp, w.now).ok());
  auto out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(std::vector<uint8_t>(out[0].begin(), out[0].begin() + 10),
              ::testing::ElementsAreArray<int>(
                  {0xFF, 0x03, 0xC0, 0x21, 0x08, out[0][5], 0x00, 0x10, 0x80, 0xFD}));
  EXPECT_FALSE(server.terminated());
  // Malformed frames are reported and counted, nothing else.
  EXPECT_FALSE(server.ReceiveFrame(std::vector<uint8_t>{0xFF}, w.now).ok());
  EXPECT_GE(server.dropped_frames(), 1u);
}

TEST(SessionTest, ComprssedFramesFromThePeerAreAccepted) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kPap}));
  Session client(ClientConfig({AuthMethod::kPap}));
  Wire w(server, client);
  w.Start();
  // IPv4 with ACFC and PFC: just "21" and the packet.
  std::vector<uint8_t> f = {0x21, 0x45, 0, 0, 20};
  ASSERT_TRUE(server.ReceiveFrame(f, w.now).ok());
  ASSERT_EQ(server.TakeDelivered().size(), 1u);
}

// ----- Timeout paths -----

TEST(SessionTimeoutTest, LcpNoAnswerMaxConfigure) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kMsChapV2}));
  Session client(ClientConfig({AuthMethod::kMsChapV2}));
  Wire w(server, client);
  w.pass = [](bool, const auto&) { return false; };  // the peer hears nothing
  absl::Time t0 = w.now;
  w.Start();
  w.Run(absl::Seconds(29));
  EXPECT_EQ(Find(w.server_events, Type::kTerminated), nullptr);
  w.Run(absl::Seconds(2));
  const SessionEvent* st = Find(w.server_events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kNegotiationTimeout);
  EXPECT_EQ(CountProtocol(w.server_sent, kProtocolLcp, 1), 10u);
  EXPECT_LE(w.now - t0, absl::Seconds(31));
}

TEST(SessionTimeoutTest, AuthenticationTimeoutWhenThePeerGoesQuiet) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kMsChapV2}));
  Session client(ClientConfig({AuthMethod::kMsChapV2}));
  Wire w(server, client);
  // The client never answers the Challenge.
  w.pass = [](bool from_server, const std::vector<uint8_t>& f) {
    absl::StatusOr<FrameView> v = ParseFrame(f);
    return from_server || v->protocol != kProtocolChap;
  };
  w.Start();
  ASSERT_NE(Find(w.server_events, Type::kLcpUp), nullptr);
  w.Run(absl::Seconds(60));
  const SessionEvent* st = Find(w.server_events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kAuthFailed);
  EXPECT_EQ(CountProtocol(w.server_sent, kProtocolChap, 1), 10u);  // Max transmissions
}

TEST(SessionTimeoutTest, IpcpNoAnswerEndsWithNoNetworkProtocol) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kPap}));
  Session client(ClientConfig({AuthMethod::kPap}));
  Wire w(server, client);
  w.pass = [](bool, const std::vector<uint8_t>& f) {
    return ParseFrame(f)->protocol != kProtocolIpcp;
  };
  w.Start();
  w.Run(absl::Seconds(40));
  const SessionEvent* st = Find(w.server_events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kNoNetworkProtocol);
  EXPECT_NE(st->message.find("IPCP"), std::string::npos) << st->message;
}

TEST(SessionTimeoutTest, TerminateRequestUnansweredMaxTerminate) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kPap}));
  Session client(ClientConfig({AuthMethod::kPap}));
  Wire w(server, client);
  w.Start();
  w.pass = [](bool, const auto&) { return false; };
  absl::Time t0 = w.now;
  server.Close(w.now, "maintenance");
  w.Run(absl::Seconds(5));
  EXPECT_EQ(Find(w.server_events, Type::kTerminated), nullptr);
  w.Run(absl::Seconds(2));
  const SessionEvent* st = Find(w.server_events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kAdministrative);
  EXPECT_EQ(st->message, "maintenance");
  EXPECT_EQ(CountProtocol(w.server_sent, kProtocolLcp, 5), 2u);
  EXPECT_GE(w.now - t0, absl::Seconds(6));
}

TEST(SessionTimeoutTest, EchoKeepaliveAndEchoTimeout) {
  TestPolicy policy;
  SessionConfig sc = ServerConfig(&policy, {AuthMethod::kPap});
  sc.echo_interval = absl::Seconds(10);
  sc.echo_failures = 3;
  Session server(sc);
  Session client(ClientConfig({AuthMethod::kPap}));
  Wire w(server, client);
  w.Start();
  w.Run(absl::Seconds(35));  // answered echoes keep the link up
  EXPECT_EQ(Find(w.server_events, Type::kTerminated), nullptr);
  EXPECT_GE(client.lcp().state(), FsmState::kOpened);
  EXPECT_GE(server.lcp().echo_replies(), 3u);
  w.pass = [](bool, const auto&) { return false; };
  w.Run(absl::Seconds(60));
  const SessionEvent* st = Find(w.server_events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kEchoTimeout);
}

TEST(SessionTimeoutTest, LowerLayerDownTerminatesAtOnce) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kPap}));
  Session client(ClientConfig({AuthMethod::kPap}));
  Wire w(server, client);
  w.Start();
  server.LowerLayerDown(w.now);
  w.Collect();
  const SessionEvent* st = Find(w.server_events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kLowerLayerDown);
  ASSERT_NE(Find(w.server_events, Type::kNetworkDown), nullptr);
  EXPECT_TRUE(server.TakeOutput().empty());
}

TEST(SessionTest, LoopedBackLinkTerminates) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {}));
  absl::Time now = absl::FromUnixSeconds(1);
  server.Start(now);
  std::vector<SessionEvent> events;
  for (int i = 0; i < 100 && !server.terminated(); ++i) {
    for (auto& f : server.TakeOutput()) server.ReceiveFrame(f, now).IgnoreError();
    for (auto& e : server.TakeEvents()) events.push_back(std::move(e));
    if (!server.HasOutput()) {
      now += absl::Seconds(3);
      server.OnTimer(now);
    }
  }
  for (auto& e : server.TakeEvents()) events.push_back(std::move(e));
  const SessionEvent* st = Find(events, Type::kTerminated);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reason, TerminateReason::kLoopback);
}

// Retransmission paths: the first copy of each kind of request is lost; the restart timers
// recover and the session still comes up, each phase one restart period (3 s) later.
TEST(SessionTimeoutTest, LostFirstRequestsAreRetransmitted) {
  struct Case {
    uint16_t protocol;
    bool from_server;
  };
  for (Case c : {Case{kProtocolLcp, true}, Case{kProtocolLcp, false}, Case{kProtocolChap, true},
                 Case{kProtocolIpcp, true}, Case{kProtocolIpcp, false}}) {
    TestPolicy policy;
    Session server(ServerConfig(&policy, {AuthMethod::kMsChapV2}));
    Session client(ClientConfig({AuthMethod::kMsChapV2}));
    Wire w(server, client);
    int dropped = 0;
    w.pass = [&](bool from_server, const std::vector<uint8_t>& f) {
      absl::StatusOr<FrameView> v = ParseFrame(f);
      if (dropped == 0 && from_server == c.from_server && v->protocol == c.protocol &&
          v->information[0] == 1) {
        ++dropped;
        return false;
      }
      return true;
    };
    absl::Time t0 = w.now;
    w.Start();
    EXPECT_EQ(Find(w.server_events, Type::kNetworkUp), nullptr) << ProtocolName(c.protocol);
    w.Run(absl::Seconds(3));
    EXPECT_EQ(dropped, 1);
    ASSERT_NE(Find(w.server_events, Type::kNetworkUp), nullptr)
        << ProtocolName(c.protocol) << " from server " << c.from_server;
    ASSERT_NE(Find(w.client_events, Type::kNetworkUp), nullptr);
    EXPECT_EQ(w.now - t0, absl::Seconds(3));
  }
}

TEST(SessionTest, PeerRenegotiatesLcpAndTheLinkAuthenticatesAgain) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kMsChapV2}));
  Session client(ClientConfig({AuthMethod::kMsChapV2}));
  Wire w(server, client);
  w.Start();
  ASSERT_NE(Find(w.server_events, Type::kNetworkUp), nullptr);
  w.server_events.clear();
  w.client_events.clear();
  // The client restarts LCP (a fresh Configure-Request in Opened, RFC 1661 table: tld, scr).
  std::vector<uint8_t> cr = {0xFF, 0x03, 0xC0, 0x21, 0x01, 0x77, 0x00,
                             0x0A, 0x05, 0x06, 0x01, 0x02, 0x03, 0x04};
  ASSERT_TRUE(server.ReceiveFrame(cr, w.now).ok());
  w.Collect();
  ASSERT_NE(Find(w.server_events, Type::kLcpDown), nullptr);
  ASSERT_NE(Find(w.server_events, Type::kNetworkDown), nullptr);
  EXPECT_EQ(server.phase(), Phase::kEstablish);
  // The client's own LCP follows (it sees our new request), then everything runs again.
  w.Run(absl::Seconds(10));
  EXPECT_NE(Find(w.server_events, Type::kAuthenticated), nullptr);
  EXPECT_NE(Find(w.server_events, Type::kNetworkUp), nullptr);
  EXPECT_EQ(policy.lookups.size(), 2u);
  EXPECT_FALSE(server.terminated());
}

// A server Session against the exact frames a Windows SSTP client sends (PAP, so every byte is
// predictable): LCP with callback and MRRU, Identification, PAP, CCP and IPV6CP (rejected), IPCP
// with VJ, DNS and NBNS.
TEST(SessionTest, WindowsClientFramesByteForByte) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kPap}));
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  server.Start(now);
  auto out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  // FF 03 C0 21, Configure-Request id 1: auth PAP (C0 23), magic.
  ASSERT_EQ(out[0].size(), 18u);
  EXPECT_THAT(std::vector<uint8_t>(out[0].begin(), out[0].begin() + 14),
              ::testing::ElementsAreArray({0xFF, 0x03, 0xC0, 0x21, 0x01, 0x01, 0x00, 0x0E, 0x03,
                                           0x04, 0xC0, 0x23, 0x05, 0x06}));
  std::vector<uint8_t> our_request = out[0];

  auto in = [&](std::vector<uint8_t> f) {
    EXPECT_TRUE(server.ReceiveFrame(f, now).ok());
    return server.TakeOutput();
  };
  const std::vector<uint8_t> endpoint = {0x13, 0x17, 0x01, 0x9C, 0x3E, 0x41, 0x07, 0x5A,
                                         0xB2, 0x4D, 0x11, 0x8F, 0x20, 0x63, 0x4A, 0x1E,
                                         0xD0, 0x77, 0x05, 0x00, 0x00, 0x00, 0x00};
  std::vector<uint8_t> cr = {0xFF, 0x03, 0xC0, 0x21, 0x01, 0x00, 0x00, 0x30, 0x01, 0x04,
                             0x0F, 0xFB, 0x05, 0x06, 0x5A, 0x3C, 0x11, 0x7E, 0x07, 0x02,
                             0x08, 0x02, 0x0D, 0x03, 0x06, 0x11, 0x04, 0x06, 0x4E};
  cr.insert(cr.end(), endpoint.begin(), endpoint.end());
  out = in(cr);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0], ::testing::ElementsAreArray({0xFF, 0x03, 0xC0, 0x21, 0x04, 0x00, 0x00, 0x0B,
                                                   0x0D, 0x03, 0x06, 0x11, 0x04, 0x06, 0x4E}));
  std::vector<uint8_t> ack = our_request;
  ack[4] = 0x02;
  EXPECT_TRUE(in(ack).empty());
  std::vector<uint8_t> cr2 = {0xFF, 0x03, 0xC0, 0x21, 0x01, 0x01, 0x00, 0x29, 0x01, 0x04, 0x0F,
                              0xFB, 0x05, 0x06, 0x5A, 0x3C, 0x11, 0x7E, 0x07, 0x02, 0x08, 0x02};
  cr2.insert(cr2.end(), endpoint.begin(), endpoint.end());
  out = in(cr2);
  ASSERT_EQ(out.size(), 1u);
  std::vector<uint8_t> expected_ack = cr2;
  expected_ack[4] = 0x02;
  EXPECT_EQ(out[0], expected_ack);
  EXPECT_EQ(server.phase(), Phase::kAuthenticate);
  // LCP Identification "MSRASV5.20" (RFC 1570): taken silently.
  EXPECT_TRUE(in({0xFF, 0x03, 0xC0, 0x21, 0x0C, 0x02, 0x00, 0x12, 0x5A, 0x3C, 0x11,
                  0x7E, 'M',  'S',  'R',  'A',  'S',  'V',  '5',  '.',  '2',  '0'})
                  .empty());
  // PAP Authenticate-Request: alice / s3cret. Authenticate-Ack, then our IPCP request.
  out = in({0xFF, 0x03, 0xC0, 0x23, 0x01, 0x01, 0x00, 0x11, 0x05, 'a', 'l',
            'i',  'c',  'e',  0x06, 's',  '3',  'c',  'r',  'e',  't'});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_THAT(std::vector<uint8_t>(out[0].begin(), out[0].begin() + 6),
              ::testing::ElementsAreArray({0xFF, 0x03, 0xC0, 0x23, 0x02, 0x01}));
  EXPECT_THAT(out[1], ::testing::ElementsAreArray({0xFF, 0x03, 0x80, 0x21, 0x01, 0x01, 0x00, 0x0A,
                                                   0x03, 0x06, 198, 18, 0, 1}));
  // CCP and IPV6CP: not spoken here, Protocol-Reject.
  out = in({0xFF, 0x03, 0x80, 0xFD, 0x01, 0x03, 0x00, 0x0A, 0x12, 0x06, 0x01, 0x00, 0x00, 0x00});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(std::vector<uint8_t>(out[0].begin(), out[0].begin() + 4),
              ::testing::ElementsAreArray({0xFF, 0x03, 0xC0, 0x21}));
  EXPECT_EQ(out[0][4], 0x08);
  out = in({0xFF, 0x03, 0x80, 0x57, 0x01, 0x04, 0x00, 0x0E, 0x01, 0x0A, 0x11, 0x22, 0x33, 0x44,
            0x55, 0x66, 0x77, 0x88});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][4], 0x08);
  // IPCP: VJ and NBNS rejected, then address and DNS naked, then acked.
  out =
      in({0xFF, 0x03, 0x80, 0x21, 0x01, 0x05, 0x00, 0x28, 0x02, 0x06, 0x00, 0x2D, 0x0F, 0x01, 0x03,
          0x06, 0,    0,    0,    0,    0x81, 0x06, 0,    0,    0,    0,    0x82, 0x06, 0,    0,
          0,    0,    0x83, 0x06, 0,    0,    0,    0,    0x84, 0x06, 0,    0,    0,    0});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0],
              ::testing::ElementsAreArray({0xFF, 0x03, 0x80, 0x21, 0x04, 0x05, 0x00, 0x16, 0x02,
                                           0x06, 0x00, 0x2D, 0x0F, 0x01, 0x82, 0x06, 0,    0,
                                           0,    0,    0x84, 0x06, 0,    0,    0,    0}));
  out = in({0xFF, 0x03, 0x80, 0x21, 0x01, 0x06, 0x00, 0x16, 0x03, 0x06, 0, 0, 0,
            0,    0x81, 0x06, 0,    0,    0,    0,    0x83, 0x06, 0,    0, 0, 0});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0],
              ::testing::ElementsAreArray({0xFF, 0x03, 0x80, 0x21, 0x03, 0x06, 0x00, 0x16, 0x03,
                                           0x06, 198,  18,   0,    10,   0x81, 0x06, 198,  18,
                                           0,    53,   0x83, 0x06, 198,  18,   1,    53}));
  EXPECT_TRUE(
      in({0xFF, 0x03, 0x80, 0x21, 0x02, 0x01, 0x00, 0x0A, 0x03, 0x06, 198, 18, 0, 1}).empty());
  out = in({0xFF, 0x03, 0x80, 0x21, 0x01, 0x07, 0x00, 0x16, 0x03, 0x06, 198, 18, 0,
            10,   0x81, 0x06, 198,  18,   0,    53,   0x83, 0x06, 198,  18,  1,  53});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][4], 0x02);
  std::vector<SessionEvent> events = server.TakeEvents();
  const SessionEvent* up = Find(events, Type::kNetworkUp);
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->network.remote_address, Ip(198, 18, 0, 10));
  EXPECT_EQ(Find(events, Type::kLcpUp)->lcp->peer_mru, 4091);
  EXPECT_EQ(server.phase(), Phase::kNetwork);
}

TEST(SessionTest, MultilinkFragmentsAreReassembled) {
  TestPolicy policy;
  SessionConfig sc = ServerConfig(&policy, {AuthMethod::kPap});
  sc.multilink = true;
  SessionConfig cc = ClientConfig({AuthMethod::kPap});
  cc.multilink = true;
  Session server(sc), client(cc);
  Wire w(server, client);
  w.Start();
  ASSERT_NE(Find(w.server_events, Type::kNetworkUp), nullptr);
  EXPECT_EQ(server.lcp().negotiated().peer_mrru, 1614);
  // An IPv4 packet of 1400 bytes in 300-byte MP fragments (inner protocol field compressed).
  std::vector<uint8_t> inner = {0x21};
  for (int i = 0; i < 1400; ++i) inner.push_back(static_cast<uint8_t>(i));
  MultilinkFragmenter frag(/*short_sequence=*/false);
  std::vector<std::vector<uint8_t>> fragments;
  frag.Fragment(inner, 300, fragments);
  ASSERT_EQ(fragments.size(), 5u);
  for (const auto& f : fragments) {
    ASSERT_TRUE(server.ReceiveFrame(EncodeFrame(kProtocolMultilink, f), w.now).ok());
  }
  auto delivered = server.TakeDelivered();
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].first, kProtocolIpv4);
  EXPECT_EQ(delivered[0].second, std::vector<uint8_t>(inner.begin() + 1, inner.end()));
}

// pppd in pty mode speaks async HDLC (RFC 1662): the same sessions over an HDLC byte stream cut
// into odd-sized reads, with the default ACCM until LCP has agreed and the peer's afterwards.
TEST(SessionTest, OverAsyncHdlcByteStream) {
  TestPolicy policy;
  Session server(ServerConfig(&policy, {AuthMethod::kMsChapV2}));
  Session client(ClientConfig({AuthMethod::kMsChapV2}));
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  HdlcDecoder to_server, to_client;
  std::vector<SessionEvent> server_events, client_events;
  auto carry = [&](Session& from, Session& to, HdlcDecoder& decoder) {
    std::vector<uint8_t> stream;
    const bool opened = from.lcp().state() == FsmState::kOpened;
    for (auto& f : from.TakeOutput()) {
      HdlcEncode(f, opened ? from.lcp().negotiated().peer_accm : kDefaultAccm, stream);
    }
    for (size_t i = 0; i < stream.size(); i += 7) {
      decoder.Feed(
          absl::MakeConstSpan(stream).subspan(i, 7),
          [&](absl::Span<const uint8_t> frame) { to.ReceiveFrame(frame, now).IgnoreError(); },
          [](absl::Status s) { ADD_FAILURE() << s; });
    }
    return !stream.empty();
  };
  server.Start(now);
  client.Start(now);
  for (int i = 0; i < 100; ++i) {
    bool a = carry(server, client, to_client);
    bool b = carry(client, server, to_server);
    if (!a && !b) break;
  }
  for (auto& e : server.TakeEvents()) server_events.push_back(std::move(e));
  for (auto& e : client.TakeEvents()) client_events.push_back(std::move(e));
  ASSERT_NE(Find(server_events, Type::kNetworkUp), nullptr);
  ASSERT_NE(Find(client_events, Type::kNetworkUp), nullptr);
  EXPECT_EQ(to_server.errors(), 0u);
  EXPECT_GT(to_server.frames(), 5u);
}

TEST(SessionTest, CreateValidatesConfig) {
  SessionConfig c;
  EXPECT_FALSE(Session::Create(c).ok());  // server without policy
  c.role = SessionRole::kClient;
  EXPECT_FALSE(Session::Create(c).ok());  // client without user
  c.user = "alice";
  EXPECT_TRUE(Session::Create(c).ok());
}

}  // namespace
}  // namespace ppp
