// End to end, without I/O: the SSTP client and server state machines carrying the PPP client and
// server sessions, driven against each other with scripted time. Connect (HTTP handshake, CALL_
// CONNECT_REQUEST/ACK), LCP, authentication with each method, crypto binding with the HLAK the
// PPP layer derived (real MS-CHAPv2 keys, zeros otherwise), IPCP, IP data, SSTP echo, and an
// orderly disconnect.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ppp/frame.h"
#include "ppp/session.h"
#include "sstp/crypto_binding.h"
#include "sstp/http.h"
#include "sstp/state_machine.h"

namespace {

using ppp::AuthMethod;
using PppEvent = ppp::SessionEvent::Type;

constexpr uint32_t Ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

ppp::RandomSource Scripted(uint32_t seed) {
  return [n = seed * 7919u](absl::Span<uint8_t> out) mutable {
    for (uint8_t& b : out) {
      n = n * 1103515245u + 12345u;
      b = static_cast<uint8_t>(n >> 16);
    }
  };
}

class Policy : public ppp::ServerPolicy {
 public:
  ppp::Credential LookupCredential(std::string_view user) override {
    return user == "alice" ? ppp::Credential::Found("s3cret") : ppp::Credential::NotFound();
  }
  Decision AssignNetwork(const ppp::AuthResult* auth) override {
    ppp::NetworkAssignment a;
    a.local_address = Ip(198, 18, 0, 1);
    a.remote_address = Ip(198, 18, 0, 10);
    a.primary_dns = Ip(198, 18, 0, 53);
    return Decision::Assign(a);
  }
};

// One end: SSTP state machine + PPP session, joined as the server and client programs join them.
struct End : public sstp::Sink {
  std::vector<uint8_t> tls_out;              // SSTP bytes for the peer, in order
  std::vector<std::vector<uint8_t>> ppp_in;  // frames for the PPP session
  std::vector<sstp::Event> sstp_events;
  std::vector<ppp::SessionEvent> ppp_events;
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> ip_in;
  std::unique_ptr<ppp::Session> ppp;
  sstp::Machine* sstp = nullptr;
  sstp::StreamAssembler assembler;
  bool ppp_started = false;
  std::array<uint8_t, 32> hlak{};

  void SendSstp(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) override {
    tls_out.insert(tls_out.end(), head.begin(), head.end());
    tls_out.insert(tls_out.end(), tail.begin(), tail.end());
  }
  void DeliverPpp(absl::Span<const uint8_t> frame) override {
    ppp_in.emplace_back(frame.begin(), frame.end());
  }
  void OnEvent(const sstp::Event& e) override { sstp_events.push_back(e); }

  bool HasSstp(sstp::EventType t) const {
    for (const auto& e : sstp_events) {
      if (e.type == t) return true;
    }
    return false;
  }
  const ppp::SessionEvent* FindPpp(PppEvent t) const {
    for (const auto& e : ppp_events) {
      if (e.type == t) return &e;
    }
    return nullptr;
  }
};

class EndToEnd : public ::testing::TestWithParam<AuthMethod> {
 protected:
  void SetUp() override {
    const std::vector<uint8_t> cert_der = {0x30, 0x82, 0x02, 0x0A, 0x02, 0x01, 0x01, 0x30, 0x0D};
    sstp::ServerConfig sc;
    sc.cert_hash_sha1 = *sstp::CertificateHash(sstp::kHashProtocolSha1, cert_der);
    sc.cert_hash_sha256 = *sstp::CertificateHash(sstp::kHashProtocolSha256, cert_der);
    sstp::ClientConfig cc;
    cc.cert_hash_sha1 = sc.cert_hash_sha1;
    cc.cert_hash_sha256 = sc.cert_hash_sha256;
    sstp::Nonce nonce;
    Scripted(99)(absl::MakeSpan(nonce));
    sstp_server_ = std::make_unique<sstp::ServerStateMachine>(sc, nonce, &server_);
    sstp_client_ = std::make_unique<sstp::ClientStateMachine>(cc, &client_);
    server_.sstp = sstp_server_.get();
    client_.sstp = sstp_client_.get();

    ppp::SessionConfig ps;
    ps.role = ppp::SessionRole::kServer;
    ps.policy = &policy_;
    ps.auth_methods = {GetParam()};
    ps.random = Scripted(1);
    ppp::SessionConfig pc;
    pc.role = ppp::SessionRole::kClient;
    pc.auth_methods = {GetParam()};
    pc.user = "alice";
    pc.password = password_;
    pc.random = Scripted(2);
    auto s = ppp::Session::Create(std::move(ps));
    auto c = ppp::Session::Create(std::move(pc));
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE(c.ok()) << c.status();
    server_.ppp = std::move(*s);
    client_.ppp = std::move(*c);
  }

  // The HTTPS handshake in both directions, as the programs do it, then both SSTP machines start.
  void HttpHandshake() {
    const std::string request = sstp::BuildClientRequest("198.18.0.1", "{E2E-CORRELATION}");
    sstp::HttpRequestParser req;
    ASSERT_EQ(req.Feed(request), sstp::HttpParse::kComplete);
    sstp_server_->Start(now_);
    const std::string reply = sstp::BuildServerReply("sstp-concentrator");
    sstp::HttpResponseParser resp;
    ASSERT_EQ(resp.Feed(reply), sstp::HttpParse::kComplete);
    sstp_client_->Start(now_);
  }

  // Runs one end's glue: PPP frames up, PPP output down, PPP events to SSTP and back.
  bool Glue(End& end) {
    bool progress = false;
    for (const sstp::Event& e : end.sstp_events) {
      if (e.type == sstp::EventType::kStartPpp && !end.ppp_started) {
        end.ppp_started = true;
        end.ppp->Start(now_);
        progress = true;
      }
    }
    std::vector<std::vector<uint8_t>> frames = std::move(end.ppp_in);
    end.ppp_in.clear();
    for (const auto& f : frames) {
      (void)end.ppp->ReceiveFrame(f, now_);
      progress = true;
    }
    for (const auto& f : end.ppp->TakeOutput()) {
      // Before CALL_CONNECTED only control frames may go (the PPP engine sends nothing else
      // then); while the call is closing nothing is sent.
      const absl::Status sent = end.sstp->SendPppFrame(now_, f);
      EXPECT_TRUE(sent.ok() || !end.sstp->connected()) << sent;
      progress = true;
    }
    for (auto& e : end.ppp->TakeEvents()) {
      progress = true;
      if (e.type == PppEvent::kAuthenticated && e.auth && e.auth->success) {
        end.hlak = end.ppp->Hlak();
        if (&end == &server_) {
          sstp_server_->OnAuthenticationFinished(now_, end.hlak);
        } else {
          sstp_client_->OnAuthenticationFinished(now_, end.hlak);
        }
      }
      if (e.type == PppEvent::kTerminated && !end.sstp->closed()) {
        if (e.reason == ppp::TerminateReason::kAuthFailed) {
          end.sstp->Abort(now_, sstp::StatusCode::kNoError, "PPP authentication failed");
        } else {
          end.sstp->Disconnect(now_, "PPP link terminated");
        }
      }
      end.ppp_events.push_back(std::move(e));
    }
    for (auto& d : end.ppp->TakeDelivered()) end.ip_in.push_back(std::move(d));
    return progress;
  }

  // Moves TLS plaintext across in 7-byte reads (packets span reads) and runs the glue, until
  // everything is quiet.
  void Pump() {
    for (int rounds = 0; rounds < 1000; ++rounds) {
      bool progress = Transfer(client_, server_, *sstp_server_);
      progress |= Transfer(server_, client_, *sstp_client_);
      progress |= Glue(server_);
      progress |= Glue(client_);
      if (!progress) return;
    }
    FAIL() << "no quiescence";
  }

  template <typename M>
  bool Transfer(End& from, End& to, M& machine) {
    if (from.tls_out.empty()) return false;
    const std::vector<uint8_t> bytes = std::move(from.tls_out);
    from.tls_out.clear();
    for (size_t i = 0; i < bytes.size(); i += 7) {
      const size_t n = std::min<size_t>(7, bytes.size() - i);
      EXPECT_TRUE(
          sstp::FeedStream(now_, to.assembler, machine, absl::MakeConstSpan(bytes.data() + i, n))
              .ok());
    }
    return true;
  }

  absl::Time NextDeadline() const {
    absl::Time t = std::min(sstp_server_->next_deadline(), sstp_client_->next_deadline());
    for (const ppp::Session* s : {server_.ppp.get(), client_.ppp.get()}) {
      if (auto d = s->NextDeadline()) t = std::min(t, *d);
    }
    return t;
  }

  void Advance(absl::Duration d) {
    const absl::Time target = now_ + d;
    for (int i = 0; i < 100000; ++i) {
      const absl::Time next = NextDeadline();
      if (next > target) break;
      now_ = std::max(now_, next);
      sstp_server_->OnTimer(now_);
      sstp_client_->OnTimer(now_);
      for (ppp::Session* s : {server_.ppp.get(), client_.ppp.get()}) {
        if (auto dl = s->NextDeadline(); dl && *dl <= now_) s->OnTimer(now_);
      }
      Pump();
    }
    now_ = target;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'790'000'000);
  Policy policy_;
  std::string password_ = "s3cret";
  End server_, client_;
  std::unique_ptr<sstp::ServerStateMachine> sstp_server_;
  std::unique_ptr<sstp::ClientStateMachine> sstp_client_;
};

std::vector<uint8_t> Ipv4Packet(uint32_t src, uint32_t dst) {
  std::vector<uint8_t> p = {0x45, 0x00, 0x00, 0x1C, 0x12, 0x34, 0x00, 0x00, 0x40, 0x01,
                            0x00, 0x00, 0,    0,    0,    0,    0,    0,    0,    0,
                            0x08, 0x00, 0xF7, 0xFF, 0x00, 0x00, 0x00, 0x00};
  for (int i = 0; i < 4; ++i) {
    p[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    p[16 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
  }
  return p;
}

TEST_P(EndToEnd, ConnectAuthenticateIpcpEchoDisconnect) {
  HttpHandshake();
  Pump();

  // SSTP: call connected on both ends, with the crypto binding verified by the server.
  ASSERT_TRUE(sstp_server_->connected()) << sstp::StateName(sstp_server_->state());
  ASSERT_TRUE(sstp_client_->connected()) << sstp::StateName(sstp_client_->state());
  EXPECT_TRUE(server_.HasSstp(sstp::EventType::kConnected));
  EXPECT_EQ(sstp_server_->chosen_hash_protocol(), sstp::kHashProtocolSha256);

  // PPP: authenticated with the requested method, and the HLAK the binding used.
  const ppp::SessionEvent* auth = server_.FindPpp(PppEvent::kAuthenticated);
  ASSERT_NE(auth, nullptr);
  ASSERT_TRUE(auth->auth.has_value());
  EXPECT_EQ(auth->auth->method, GetParam());
  EXPECT_EQ(auth->auth->user, "alice");
  EXPECT_EQ(server_.hlak, client_.hlak);  // same 32 bytes from both ends' own keys
  if (GetParam() == AuthMethod::kMsChapV2) {
    ASSERT_TRUE(auth->auth->mppe.has_value());
    EXPECT_NE(server_.hlak, sstp::ZeroHlak());  // real keys bind the call
    EXPECT_EQ(server_.hlak,
              sstp::ServerHlakFromMppe(auth->auth->mppe->send, auth->auth->mppe->receive));
  } else if (GetParam() == AuthMethod::kPap || GetParam() == AuthMethod::kChapMd5) {
    EXPECT_EQ(server_.hlak, sstp::ZeroHlak());
  }

  // IPCP: the client got its address.
  const ppp::SessionEvent* up = client_.FindPpp(PppEvent::kNetworkUp);
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->protocol, ppp::kProtocolIpcp);
  EXPECT_EQ(up->network.local_address, Ip(198, 18, 0, 10));
  EXPECT_EQ(up->network.remote_address, Ip(198, 18, 0, 1));
  ASSERT_NE(server_.FindPpp(PppEvent::kNetworkUp), nullptr);

  // IP data both ways through SSTP data packets.
  const auto ping = Ipv4Packet(Ip(198, 18, 0, 10), Ip(198, 18, 0, 1));
  ASSERT_TRUE(client_.ppp->SendData(ppp::kProtocolIpv4, ping).ok());
  Pump();
  ASSERT_EQ(server_.ip_in.size(), 1u);
  EXPECT_EQ(server_.ip_in[0].second, ping);
  const auto pong = Ipv4Packet(Ip(198, 18, 0, 1), Ip(198, 18, 0, 10));
  ASSERT_TRUE(server_.ppp->SendData(ppp::kProtocolIpv4, pong).ok());
  Pump();
  ASSERT_EQ(client_.ip_in.size(), 1u);
  EXPECT_EQ(client_.ip_in[0].second, pong);
  EXPECT_EQ(sstp_server_->counters().dropped_before_connected, 0u);

  // Idle for five minutes: SSTP echo keeps the call up.
  Advance(absl::Minutes(5));
  EXPECT_TRUE(sstp_server_->connected());
  EXPECT_TRUE(sstp_client_->connected());
  EXPECT_GE(
      sstp_server_->counters().echo_requests_sent + sstp_client_->counters().echo_requests_sent,
      4u);

  // The user disconnects: PPP terminates, then SSTP CALL_DISCONNECT / ACK; everything closes.
  client_.ppp->Close(now_, "user disconnect");
  Pump();
  Advance(absl::Seconds(10));
  EXPECT_TRUE(client_.ppp->terminated());
  EXPECT_TRUE(server_.ppp->terminated());
  EXPECT_TRUE(sstp_client_->closed());
  EXPECT_TRUE(sstp_server_->closed());
  EXPECT_TRUE(server_.HasSstp(sstp::EventType::kDisconnected));
  EXPECT_FALSE(server_.HasSstp(sstp::EventType::kAborted));
}

TEST_P(EndToEnd, WrongPasswordEndsTheCall) {
  password_ = "wrong";
  // Rebuild the client PPP session with the wrong password.
  ppp::SessionConfig pc;
  pc.role = ppp::SessionRole::kClient;
  pc.auth_methods = {GetParam()};
  pc.user = "alice";
  pc.password = password_;
  pc.random = Scripted(2);
  client_.ppp = *ppp::Session::Create(std::move(pc));
  HttpHandshake();
  Pump();
  Advance(absl::Seconds(60));
  EXPECT_FALSE(server_.HasSstp(sstp::EventType::kConnected));
  EXPECT_TRUE(sstp_server_->closed());
  EXPECT_TRUE(sstp_client_->closed());
  const ppp::SessionEvent* t = server_.FindPpp(PppEvent::kTerminated);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->reason, ppp::TerminateReason::kAuthFailed);
}

INSTANTIATE_TEST_SUITE_P(AllMethods, EndToEnd,
                         ::testing::Values(AuthMethod::kPap, AuthMethod::kChapMd5,
                                           AuthMethod::kMsChapV1, AuthMethod::kMsChapV2),
                         [](const ::testing::TestParamInfo<AuthMethod>& info) {
                           switch (info.param) {
                             case AuthMethod::kPap:
                               return std::string("pap");
                             case AuthMethod::kChapMd5:
                               return std::string("chap");
                             case AuthMethod::kMsChapV1:
                               return std::string("mschap1");
                             case AuthMethod::kMsChapV2:
                               return std::string("mschap2");
                           }
                           return std::string("unknown");
                         });

}  // namespace
