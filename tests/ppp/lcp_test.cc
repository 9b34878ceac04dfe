#include "ppp/lcp.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ppp/frame.h"

namespace ppp {
namespace {

using ::testing::ElementsAreArray;

std::function<uint32_t()> Counter(uint32_t start) {
  return [n = start]() mutable { return n++; };
}

// Moves packets both ways until neither side has anything to send.
void Pump(Fsm& a, Fsm& b, absl::Time now) {
  for (int round = 0; round < 100 && (a.HasOutput() || b.HasOutput()); ++round) {
    for (auto& p : a.TakeOutput()) b.Receive(p, now).IgnoreError();
    for (auto& p : b.TakeOutput()) a.Receive(p, now).IgnoreError();
  }
}

LcpConfig ServerConfig(std::vector<AuthMethod> methods) {
  LcpConfig c;
  c.authenticator = true;
  c.auth_methods = std::move(methods);
  c.random32 = Counter(0x11110000);
  return c;
}

LcpConfig ClientConfig(std::vector<AuthMethod> methods) {
  LcpConfig c;
  c.auth_methods = std::move(methods);
  c.random32 = Counter(0x22220000);
  return c;
}

// What a Windows 10/11 SSTP client sends first (RFC 1661 option encoding):
//   mru 4091, magic, pcomp, accomp, callback CBCP (operation 6), mrru 1614, endpoint (class 1,
//   20 bytes locally assigned).
std::vector<uint8_t> WindowsConfigureRequest(uint8_t id, bool with_callback_and_mrru) {
  std::vector<uint8_t> p = {0x01, id,   0x00, 0x00, 0x01, 0x04, 0x0F, 0xFB,  // MRU 4091
                            0x05, 0x06, 0x5A, 0x3C, 0x11, 0x7E,              // magic 0x5A3C117E
                            0x07, 0x02,                                      // PFC
                            0x08, 0x02};                                     // ACFC
  if (with_callback_and_mrru) {
    p.insert(p.end(), {0x0D, 0x03, 0x06});        // callback, CBCP
    p.insert(p.end(), {0x11, 0x04, 0x06, 0x4E});  // MRRU 1614
  }
  p.insert(p.end(),
           {0x13, 0x17, 0x01, 0x9C, 0x3E, 0x41, 0x07, 0x5A, 0xB2, 0x4D, 0x11, 0x8F,
            0x20, 0x63, 0x4A, 0x1E, 0xD0, 0x77, 0x05, 0x00, 0x00, 0x00, 0x00});  // endpoint
  p[3] = static_cast<uint8_t>(p.size());
  return p;
}

TEST(LcpTest, WindowsClientNegotiatesToOpened) {
  absl::Time now = absl::FromUnixSeconds(100);
  Lcp server(ServerConfig({AuthMethod::kMsChapV2, AuthMethod::kPap}));
  server.Up(now);
  server.Open(now);
  auto out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  // Our request: auth MS-CHAPv2 (C2 23 81) and our magic; MRU 1500 is the default, not sent.
  EXPECT_THAT(out[0], ElementsAreArray({0x01, 0x01, 0x00, 0x0F, 0x03, 0x05, 0xC2, 0x23, 0x81, 0x05,
                                        0x06, 0x11, 0x11, 0x00, 0x00}));

  // Windows' first request: callback and MRRU rejected (no multilink, no callback).
  ASSERT_TRUE(server.Receive(WindowsConfigureRequest(0, true), now).ok());
  out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0],
              ElementsAreArray({0x04, 0x00, 0x00, 0x0B, 0x0D, 0x03, 0x06, 0x11, 0x04, 0x06, 0x4E}));
  // Windows acks ours...
  std::vector<uint8_t> ack = {0x02, 0x01, 0x00, 0x0F, 0x03, 0x05, 0xC2, 0x23,
                              0x81, 0x05, 0x06, 0x11, 0x11, 0x00, 0x00};
  ASSERT_TRUE(server.Receive(ack, now).ok());
  EXPECT_EQ(server.state(), FsmState::kAckRcvd);
  // ...and retries without them: acked verbatim, LCP is up.
  std::vector<uint8_t> retry = WindowsConfigureRequest(1, false);
  ASSERT_TRUE(server.Receive(retry, now).ok());
  out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  std::vector<uint8_t> expected_ack = retry;
  expected_ack[0] = 0x02;
  EXPECT_EQ(out[0], expected_ack);
  EXPECT_EQ(server.state(), FsmState::kOpened);
  EXPECT_THAT(server.TakeEvents(), ElementsAreArray({LayerEvent::kUp}));

  const LcpNegotiated& n = server.negotiated();
  EXPECT_EQ(n.peer_mru, 4091);
  EXPECT_EQ(n.peer_magic, 0x5A3C117Eu);
  EXPECT_EQ(n.our_magic, 0x11110000u);
  EXPECT_TRUE(n.peer_pfc);
  EXPECT_TRUE(n.peer_acfc);
  EXPECT_EQ(n.auth, AuthMethod::kMsChapV2);
  EXPECT_EQ(n.peer_endpoint.size(), 21u);
  EXPECT_FALSE(n.peer_mrru.has_value());
}

TEST(LcpTest, WindowsClientWithMultilinkEnabledGetsMrruAcked) {
  absl::Time now = absl::FromUnixSeconds(100);
  LcpConfig c = ServerConfig({AuthMethod::kMsChapV2});
  c.multilink = true;
  Lcp server(c);
  server.Up(now);
  server.Open(now);
  server.TakeOutput();
  ASSERT_TRUE(server.Receive(WindowsConfigureRequest(0, true), now).ok());
  auto out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0], ElementsAreArray({0x04, 0x00, 0x00, 0x07, 0x0D, 0x03, 0x06}));
}

TEST(LcpTest, MruAboveSstpLimitIsClampedForSending) {
  absl::Time now = absl::FromUnixSeconds(1);
  LcpConfig sc = ServerConfig({});
  sc.mru = 9000;  // clamped to 4091 in our request
  Lcp server(sc);
  LcpConfig cc = ClientConfig({});
  cc.mru = 8000;
  Lcp client(cc);
  for (Lcp* l : {&server, &client}) l->Up(now), l->Open(now);
  Pump(server, client, now);
  ASSERT_EQ(server.state(), FsmState::kOpened);
  ASSERT_EQ(client.state(), FsmState::kOpened);
  EXPECT_EQ(server.negotiated().our_mru, 4091);
  EXPECT_EQ(server.negotiated().peer_mru, 4091);
  EXPECT_FALSE(server.negotiated().auth.has_value());
}

TEST(LcpTest, ClientNaksTowardAMethodItAllowsAndServerFollows) {
  absl::Time now = absl::FromUnixSeconds(1);
  Lcp server(ServerConfig({AuthMethod::kMsChapV2, AuthMethod::kChapMd5, AuthMethod::kPap}));
  Lcp client(ClientConfig({AuthMethod::kPap, AuthMethod::kChapMd5}));
  for (Lcp* l : {&server, &client}) l->Up(now), l->Open(now);
  Pump(server, client, now);
  ASSERT_EQ(server.state(), FsmState::kOpened);
  ASSERT_EQ(client.state(), FsmState::kOpened);
  // The client naks MS-CHAPv2 toward CHAP-MD5, its best; the server allows it.
  EXPECT_EQ(server.negotiated().auth, AuthMethod::kChapMd5);
  EXPECT_EQ(client.negotiated().auth, AuthMethod::kChapMd5);
}

TEST(LcpTest, NoCommonAuthMethodClosesWithAReason) {
  absl::Time now = absl::FromUnixSeconds(1);
  Lcp server(ServerConfig({AuthMethod::kMsChapV2}));
  Lcp client(ClientConfig({AuthMethod::kPap}));
  for (Lcp* l : {&server, &client}) l->Up(now), l->Open(now);
  Pump(server, client, now);
  EXPECT_NE(server.state(), FsmState::kOpened);
  EXPECT_NE(server.finish_reason().find("no authentication method in common"), std::string::npos)
      << server.finish_reason();
}

TEST(LcpTest, ClientThatRejectsAuthenticationIsRefused) {
  absl::Time now = absl::FromUnixSeconds(1);
  Lcp server(ServerConfig({AuthMethod::kPap}));
  server.Up(now);
  server.Open(now);
  auto out = server.TakeOutput();
  std::vector<uint8_t> rej = {0x04, out[0][1], 0x00, 0x08, 0x03, 0x04, 0xC0, 0x23};
  ASSERT_TRUE(server.Receive(rej, now).ok());
  EXPECT_EQ(server.state(), FsmState::kClosing);
  EXPECT_NE(server.finish_reason().find("refuses to authenticate"), std::string::npos);
}

TEST(LcpTest, LoopedBackLinkIsDetected) {
  absl::Time now = absl::FromUnixSeconds(1);
  Lcp lcp(ClientConfig({}));
  lcp.Up(now);
  lcp.Open(now);
  // Everything we send comes straight back, as on a looped-back line (RFC 1661 6.4).
  for (int i = 0; i < 50 && !lcp.loopback_detected(); ++i) {
    for (auto& p : lcp.TakeOutput()) lcp.Receive(p, now).IgnoreError();
  }
  EXPECT_TRUE(lcp.loopback_detected());
}

TEST(LcpTest, EchoDiscardAndProtocolReject) {
  absl::Time now = absl::FromUnixSeconds(1);
  Lcp server(ServerConfig({}));
  Lcp client(ClientConfig({}));
  for (Lcp* l : {&server, &client}) l->Up(now), l->Open(now);
  Pump(server, client, now);
  ASSERT_EQ(server.state(), FsmState::kOpened);

  server.SendEchoRequest();
  auto out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][0], 9);
  EXPECT_EQ(Load32(absl::MakeConstSpan(out[0]).subspan(4)), server.negotiated().our_magic);
  ASSERT_TRUE(client.Receive(out[0], now).ok());
  auto reply = client.TakeOutput();
  ASSERT_EQ(reply.size(), 1u);
  EXPECT_EQ(reply[0][0], 10);
  EXPECT_EQ(reply[0][1], out[0][1]);
  EXPECT_EQ(Load32(absl::MakeConstSpan(reply[0]).subspan(4)), client.negotiated().our_magic);
  ASSERT_TRUE(server.Receive(reply[0], now).ok());
  EXPECT_EQ(server.echo_replies(), 1u);
  EXPECT_FALSE(server.loopback_detected());

  // Discard-Request: no answer.
  std::vector<uint8_t> discard = {11, 7, 0, 8, 0, 0, 0, 0};
  ASSERT_TRUE(server.Receive(discard, now).ok());
  EXPECT_FALSE(server.HasOutput());

  // Protocol-Reject: the session learns which protocol to stop.
  client.SendProtocolReject(kProtocolIpv6cp, std::vector<uint8_t>{1, 2, 0, 4});
  auto pr = client.TakeOutput();
  ASSERT_EQ(pr.size(), 1u);
  EXPECT_THAT(pr[0], ElementsAreArray<int>({8, pr[0][1], 0, 10, 0x80, 0x57, 1, 2, 0, 4}));
  ASSERT_TRUE(server.Receive(pr[0], now).ok());
  EXPECT_THAT(server.TakeProtocolRejects(), ElementsAreArray({kProtocolIpv6cp}));

  // An echo carrying our own magic means the line loops back.
  std::vector<uint8_t> own = {9, 1, 0, 8, 0, 0, 0, 0};
  uint32_t m = server.negotiated().our_magic;
  own[4] = m >> 24, own[5] = m >> 16, own[6] = m >> 8, own[7] = m;
  ASSERT_TRUE(server.Receive(own, now).ok());
  EXPECT_TRUE(server.loopback_detected());
}

TEST(LcpTest, EchoOutsideOpenedIsDiscarded) {
  absl::Time now = absl::FromUnixSeconds(1);
  Lcp server(ServerConfig({}));
  server.Up(now);
  server.Open(now);
  server.TakeOutput();
  std::vector<uint8_t> echo = {9, 1, 0, 8, 1, 2, 3, 4};
  ASSERT_TRUE(server.Receive(echo, now).ok());
  EXPECT_FALSE(server.HasOutput());
}

TEST(LcpTest, UnknownAndMalformedOptionsAreRejected) {
  absl::Time now = absl::FromUnixSeconds(1);
  Lcp server(ServerConfig({}));
  server.Up(now);
  server.Open(now);
  server.TakeOutput();
  // Quality protocol (4), MRU with a bad length, option 99.
  std::vector<uint8_t> req = {1, 5, 0, 17, 4, 4, 0xC0, 0x25, 1, 3, 5, 99, 2, 5, 6, 0, 0, 0, 1};
  req[3] = static_cast<uint8_t>(req.size());
  ASSERT_TRUE(server.Receive(req, now).ok());
  auto out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0], ElementsAreArray({4, 5, 0, 13, 4, 4, 0xC0, 0x25, 1, 3, 5, 99, 2}));
}

TEST(LcpTest, ZeroMagicAndTinyMruAreNaked) {
  absl::Time now = absl::FromUnixSeconds(1);
  Lcp server(ServerConfig({}));
  server.Up(now);
  server.Open(now);
  server.TakeOutput();
  std::vector<uint8_t> req = {1, 5, 0, 14, 1, 4, 0, 64, 5, 6, 0, 0, 0, 0};
  ASSERT_TRUE(server.Receive(req, now).ok());
  auto out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].size(), 14u);
  EXPECT_EQ(out[0][0], 3);
  EXPECT_THAT(std::vector<uint8_t>(out[0].begin() + 4, out[0].begin() + 8),
              ElementsAreArray({1, 4, 0, 128}));
  EXPECT_EQ(out[0][8], 5);
  EXPECT_NE(Load32(absl::MakeConstSpan(out[0]).subspan(10)), 0u);
}

}  // namespace
}  // namespace ppp
