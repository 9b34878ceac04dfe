// IPCP (RFC 1332/1877), IPV6CP (RFC 5072) and BCP (RFC 3518) negotiations.
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ppp/bcp.h"
#include "ppp/ipcp.h"
#include "ppp/ipv6cp.h"

namespace ppp {
namespace {

using ::testing::ElementsAreArray;

constexpr uint32_t Ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

void Pump(Fsm& a, Fsm& b, absl::Time now, std::vector<std::vector<uint8_t>>* a_sent = nullptr) {
  for (int round = 0; round < 100 && (a.HasOutput() || b.HasOutput()); ++round) {
    for (auto& p : a.TakeOutput()) {
      if (a_sent) a_sent->push_back(p);
      b.Receive(p, now).IgnoreError();
    }
    for (auto& p : b.TakeOutput()) a.Receive(p, now).IgnoreError();
  }
}

void Start(Fsm& f, absl::Time now) {
  f.Up(now);
  f.Open(now);
}

IpcpConfig Server() {
  IpcpConfig c;
  c.server = true;
  c.local_address = Ip(198, 18, 0, 1);
  c.remote_address = Ip(198, 18, 0, 77);
  c.primary_dns = Ip(198, 18, 0, 53);
  c.secondary_dns = Ip(198, 18, 1, 53);
  return c;
}

TEST(IpcpTest, ClientGetsAddressAndDnsThroughNaks) {
  absl::Time now = absl::FromUnixSeconds(5);
  Ipcp server(Server());
  Ipcp client(IpcpConfig{});
  Start(server, now);
  Start(client, now);
  std::vector<std::vector<uint8_t>> client_sent;
  Pump(client, server, now, &client_sent);
  ASSERT_EQ(server.state(), FsmState::kOpened);
  ASSERT_EQ(client.state(), FsmState::kOpened);
  // First request: 0.0.0.0 and DNS 0.0.0.0 twice.
  EXPECT_THAT(client_sent[0],
              ElementsAreArray({0x01, 0x01, 0x00, 0x16, 0x03, 0x06, 0,    0, 0, 0, 0x81,
                                0x06, 0,    0,    0,    0,    0x83, 0x06, 0, 0, 0, 0}));
  EXPECT_EQ(client.negotiated().local_address, Ip(198, 18, 0, 77));
  EXPECT_EQ(client.negotiated().remote_address, Ip(198, 18, 0, 1));
  EXPECT_EQ(client.negotiated().primary_dns, Ip(198, 18, 0, 53));
  EXPECT_EQ(client.negotiated().secondary_dns, Ip(198, 18, 1, 53));
  EXPECT_EQ(server.negotiated().remote_address, Ip(198, 18, 0, 77));
  EXPECT_EQ(server.negotiated().local_address, Ip(198, 18, 0, 1));
}

TEST(IpcpTest, ServerNakBytesAndVjRejected) {
  absl::Time now = absl::FromUnixSeconds(5);
  Ipcp server(Server());
  Start(server, now);
  server.TakeOutput();
  // Windows: IP 0.0.0.0, VJ compression, DNS/NBNS 0.0.0.0.
  std::vector<uint8_t> req = {
      0x01, 0x05, 0x00, 0x22, 0x02, 0x06, 0x00, 0x2D, 0x0F, 0x01, 0x03, 0x06, 0,    0, 0, 0, 0x81,
      0x06, 0,    0,    0,    0,    0x82, 0x06, 0,    0,    0,    0,    0x83, 0x06, 0, 0, 0, 0};
  ASSERT_TRUE(server.Receive(req, now).ok());
  auto out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  // VJ and NBNS (none configured) rejected first.
  EXPECT_THAT(out[0], ElementsAreArray({0x04, 0x05, 0x00, 0x10, 0x02, 0x06, 0x00, 0x2D, 0x0F, 0x01,
                                        0x82, 0x06, 0, 0, 0, 0}));
  std::vector<uint8_t> req2 = {0x01, 0x06, 0x00, 0x16, 0x03, 0x06, 0,    0, 0, 0, 0x81,
                               0x06, 0,    0,    0,    0,    0x83, 0x06, 0, 0, 0, 0};
  ASSERT_TRUE(server.Receive(req2, now).ok());
  out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0],
              ElementsAreArray({0x03, 0x06, 0x00, 0x16, 0x03, 0x06, 198,  18,  0,  77, 0x81,
                                0x06, 198,  18,   0,    53,   0x83, 0x06, 198, 18, 1,  53}));
}

TEST(IpcpTest, ServerWithoutDnsRejectsDnsAndClientStopsAsking) {
  absl::Time now = absl::FromUnixSeconds(5);
  IpcpConfig sc = Server();
  sc.primary_dns = sc.secondary_dns = 0;
  Ipcp server(sc);
  Ipcp client(IpcpConfig{});
  Start(server, now);
  Start(client, now);
  Pump(client, server, now);
  ASSERT_EQ(client.state(), FsmState::kOpened);
  EXPECT_EQ(client.negotiated().local_address, Ip(198, 18, 0, 77));
  EXPECT_EQ(client.negotiated().primary_dns, 0u);
}

TEST(IpcpTest, ClientAskingForAnotherAddressIsNakedToTheAssignment) {
  absl::Time now = absl::FromUnixSeconds(5);
  Ipcp server(Server());
  IpcpConfig cc;
  cc.local_address = Ip(198, 18, 9, 9);
  cc.request_dns = false;
  Ipcp client(cc);
  Start(server, now);
  Start(client, now);
  Pump(client, server, now);
  ASSERT_EQ(client.state(), FsmState::kOpened);
  EXPECT_EQ(client.negotiated().local_address, Ip(198, 18, 0, 77));
}

TEST(IpcpTest, ServerWithNothingToAssignRefusesAndClientFails) {
  absl::Time now = absl::FromUnixSeconds(5);
  IpcpConfig sc = Server();
  sc.remote_address = 0;
  Ipcp server(sc);
  Ipcp client(IpcpConfig{});
  Start(server, now);
  Start(client, now);
  Pump(client, server, now);
  EXPECT_NE(client.state(), FsmState::kOpened);
  EXPECT_EQ(client.finish_reason(), "the server refuses to assign an IPv4 address");
}

TEST(IpcpTest, Formatting) { EXPECT_EQ(Ipv4ToString(Ip(198, 18, 0, 1)), "198.18.0.1"); }

TEST(Ipv6cpTest, IdentifiersNegotiatedAndCollisionsResolved) {
  absl::Time now = absl::FromUnixSeconds(5);
  Ipv6cpConfig a;
  a.local_identifier = 0x0000000000000001;
  Ipv6cpConfig b;
  b.local_identifier = 0x0000000000000001;  // the same: must be naked apart
  uint64_t n = 0x1000;
  b.random64 = [&n] { return n++; };
  Ipv6cp server(a), client(b);
  Start(server, now);
  Start(client, now);
  Pump(server, client, now);
  ASSERT_EQ(server.state(), FsmState::kOpened);
  ASSERT_EQ(client.state(), FsmState::kOpened);
  EXPECT_NE(server.negotiated().local_identifier, client.negotiated().local_identifier);
  EXPECT_EQ(server.negotiated().local_identifier, client.negotiated().remote_identifier);
  EXPECT_EQ(client.negotiated().local_identifier, server.negotiated().remote_identifier);
  EXPECT_NE(client.negotiated().local_identifier, 0u);
  auto ll = LinkLocalAddress(0x0211223344556677);
  EXPECT_THAT(ll, ElementsAreArray({0xFE, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0x33, 0x44,
                                    0x55, 0x66, 0x77}));
}

TEST(Ipv6cpTest, ZeroIdentifierIsNakedWithAssignment) {
  absl::Time now = absl::FromUnixSeconds(5);
  Ipv6cpConfig sc;
  sc.local_identifier = 0x0200000000000001;
  sc.remote_identifier = 0x0200000000000002;
  Ipv6cp server(sc);
  Start(server, now);
  server.TakeOutput();
  std::vector<uint8_t> req = {1, 9, 0, 14, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0};
  ASSERT_TRUE(server.Receive(req, now).ok());
  auto out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0], ElementsAreArray({3, 9, 0, 14, 1, 10, 2, 0, 0, 0, 0, 0, 0, 2}));
  std::vector<uint8_t> comp = {1, 10, 0, 8, 2, 4, 0, 0x4F};  // IPHC compression: rejected
  ASSERT_TRUE(server.Receive(comp, now).ok());
  out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][0], 4);
}

TEST(BcpTest, LinuxStyleRequestIsAcked) {
  absl::Time now = absl::FromUnixSeconds(5);
  BcpConfig sc;
  sc.local_mac = MacAddress{0x02, 0, 0, 0, 0, 1};
  Bcp server(sc);
  Start(server, now);
  auto ours = server.TakeOutput();
  ASSERT_EQ(ours.size(), 1u);
  EXPECT_THAT(ours[0], ElementsAreArray({1, 1, 0, 15, 3, 3, 1, 6, 8, 2, 0, 0, 0, 0, 1}));
  // MAC-Support Ethernet, Tagged frames on, MAC-Address, Management-Inline, Line-Id.
  std::vector<uint8_t> req = {1,    1,    0,    0,    3,    3,    1, 8, 3, 1, 6,    8,
                              0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 9, 2, 2, 4, 0x00, 0x12};
  req[3] = static_cast<uint8_t>(req.size());
  ASSERT_TRUE(server.Receive(req, now).ok());
  auto out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][0], 2);
  std::vector<uint8_t> ack = ours[0];
  ack[0] = 2;
  ASSERT_TRUE(server.Receive(ack, now).ok());
  ASSERT_EQ(server.state(), FsmState::kOpened);
  EXPECT_EQ(server.negotiated().peer_mac, (MacAddress{0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE}));
  EXPECT_TRUE(server.negotiated().peer_tagged_frames);
  EXPECT_TRUE(server.negotiated().peer_management_inline);
}

TEST(BcpTest, TinygramNakedMacAssignedObsoleteRejected) {
  absl::Time now = absl::FromUnixSeconds(5);
  BcpConfig sc;
  sc.remote_mac = MacAddress{0x02, 0, 0, 0, 0, 9};
  Bcp server(sc);
  Start(server, now);
  server.TakeOutput();
  std::vector<uint8_t> req = {1, 1, 0, 15, 4, 3, 1, 6, 8, 0, 0, 0, 0, 0, 0};
  ASSERT_TRUE(server.Receive(req, now).ok());
  auto out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0], ElementsAreArray({3, 1, 0, 15, 4, 3, 2, 6, 8, 2, 0, 0, 0, 0, 9}));
  std::vector<uint8_t> lan_id = {1, 2, 0, 10, 5, 6, 0, 0, 0, 1};
  ASSERT_TRUE(server.Receive(lan_id, now).ok());
  out = server.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][0], 4);
}

TEST(BcpTest, TwoEndsAgree) {
  absl::Time now = absl::FromUnixSeconds(5);
  BcpConfig a, b;
  a.local_mac = MacAddress{0x02, 0, 0, 0, 0, 1};
  Bcp x(a), y(b);
  Start(x, now);
  Start(y, now);
  Pump(x, y, now);
  EXPECT_EQ(x.state(), FsmState::kOpened);
  EXPECT_EQ(y.state(), FsmState::kOpened);
  EXPECT_EQ(y.negotiated().peer_mac, a.local_mac);
}

TEST(BcpTest, BridgedFrameHeader) {
  std::vector<uint8_t> info = {0x00, 0x01};
  for (int i = 0; i < 60; ++i) info.push_back(static_cast<uint8_t>(i));
  absl::StatusOr<BridgedFrame> f = ParseBridgedFrame(info);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->frame.size(), 60u);
  EXPECT_EQ(f->mac_type, kMacTypeEthernet);
  info[0] = 0x80 | 0x02;  // LAN FCS present, 2 pads
  f = ParseBridgedFrame(info);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->lan_fcs_present);
  EXPECT_EQ(f->frame.size(), 54u);
  info[0] = 0x0F;
  EXPECT_TRUE(ParseBridgedFrame(info).ok());
  std::vector<uint8_t> tiny = {0x8F, 0x01, 1, 2, 3};
  EXPECT_FALSE(ParseBridgedFrame(tiny).ok());
  std::vector<uint8_t> lanid = {0x40, 0x01, 1, 2, 3};
  EXPECT_FALSE(ParseBridgedFrame(lanid).ok());
  EXPECT_FALSE(ParseBridgedFrame(std::vector<uint8_t>{0x00}).ok());
}

}  // namespace
}  // namespace ppp
