#include "ring/messages.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ring {
namespace {

RecordHeader HeaderFor(MsgType t, uint64_t session, const std::vector<uint8_t>& body) {
  return RecordHeader{uint16_t(t), kMessageVersion, 0, uint32_t(body.size()), session};
}

std::vector<Message> AllMessages() {
  SessionOpened o;
  o.lcore = 3;
  o.peer = IpAddr::V4(0xc6126301);  // 198.18.99.1
  o.peer_port = 43886;
  o.local = IpAddr::V4(0xc6125001);
  o.local_port = 443;
  o.tls_version = 0x0303;
  o.tls_cipher = "ECDHE-RSA-AES256-GCM-SHA384";
  o.has_client_cert = 1;
  o.client_cert_sha256[0] = 0xaa;
  o.client_cert_subject = "CN=laptop";
  o.opened_unix_ns = 1234567890123;
  SessionUp up;
  up.local_v4 = IpAddr::V4(0xc6136501);
  up.remote_v4 = IpAddr::V4(0xc6136564);
  up.mtu = 1500;
  up.mru = 1500;
  up.user = "Laptop";
  up.bridge = 1;
  up.bridge_port = "ether2";
  up.dns1 = IpAddr::V4(0xc6125001);
  up.routes.push_back({IpAddr::V4(0xc613ca00), 24, IpAddr::V4(0xc6121002), 1});
  SessionAuthorized a;
  a.method = AuthMethod::kMsChap2;
  a.hlak[31] = 7;
  a.user = "Laptop";
  Counters c;
  c.sessions.push_back({42, {1, 2, 3, 4, 5}});
  DumpSession d;
  d.opened = o;
  d.authorized = a;
  d.up = up;
  d.up_unix_ns = 99;
  return {Hello{4, 1, 77, 3},
          o,
          PppFrame{{0xc0, 0x21, 1, 1, 0, 4}},
          SessionClosed{CloseReason::kKeepaliveTimeout, "no echo reply", {10, 20, 1, 2, 0}},
          c,
          d,
          DumpEnd{5, 100},
          PortStatus{"ether1", {0, 0x30, 0x4f, 0x0b, 0x7b, 0xc1}, 1500, 1},
          a,
          up,
          SessionClose{CloseReason::kAdminClose, "removed"},
          Route{{IpAddr::V4(0xc6136500), 24, IpAddr::V4(0xc6121001), 1}},
          ServerConfig{1, 443, 1500, 1500, 0, 60, 1, 0x08, "/etc/sstp/server.pem", "/k.pem"},
          DumpRequest{9},
          PortConfig{"ether2", 1},
          IpAddressConfig{"ether2", IpAddr::V4(0xc6136501), 24, 1}};
}

TEST(Messages, EveryTypeRoundTrips) {
  for (const Message& m : AllMessages()) {
    for (bool alt : {false, true}) {
      MsgType t = TypeOf(m, alt);
      std::vector<uint8_t> body = Encode(m);
      auto d = Decode(HeaderFor(t, 55, body), body);
      ASSERT_TRUE(d.ok()) << MsgTypeName(t) << ": " << d.status();
      EXPECT_EQ(d->type, t);
      EXPECT_EQ(d->session_id, 55u);
      // Re-encoding the decoded message gives the same bytes.
      EXPECT_EQ(Encode(d->body), body) << MsgTypeName(t);
    }
  }
}

TEST(Messages, FieldsSurvive) {
  SessionUp up = std::get<SessionUp>(AllMessages()[9]);
  std::vector<uint8_t> body = Encode(up);
  auto d = Decode(HeaderFor(MsgType::kSessionUp, 1, body), body);
  ASSERT_TRUE(d.ok());
  const auto& got = std::get<SessionUp>(d->body);
  EXPECT_EQ(got.remote_v4.ToString(), "198.19.101.100");
  EXPECT_EQ(got.user, "Laptop");
  EXPECT_EQ(got.bridge, 1);
  EXPECT_EQ(got.bridge_port, "ether2");
  ASSERT_EQ(got.routes.size(), 1u);
  EXPECT_EQ(got.routes[0].dst.ToString(), "198.19.202.0");
  EXPECT_EQ(got.routes[0].prefix_len, 24);
  EXPECT_EQ(got.routes[0].gateway.ToString(), "198.18.16.2");
}

TEST(Messages, EveryTruncationIsRejected) {
  for (const Message& m : AllMessages()) {
    MsgType t = TypeOf(m);
    std::vector<uint8_t> body = Encode(m);
    for (size_t n = 0; n < body.size(); ++n) {
      std::vector<uint8_t> cut(body.begin(), body.begin() + n);
      EXPECT_FALSE(Decode(HeaderFor(t, 1, cut), cut).ok()) << MsgTypeName(t) << " cut at " << n;
    }
    std::vector<uint8_t> longer = body;
    longer.push_back(0);
    auto d = Decode(HeaderFor(t, 1, longer), longer);
    EXPECT_FALSE(d.ok()) << MsgTypeName(t);
  }
}

TEST(Messages, RejectsBadHeadersAndValues) {
  std::vector<uint8_t> body = Encode(DumpRequest{1});
  RecordHeader h = HeaderFor(MsgType::kDumpRequest, 0, body);
  h.version = 2;
  EXPECT_FALSE(Decode(h, body).ok());
  h = HeaderFor(MsgType::kDumpRequest, 0, body);
  h.type = 999;
  EXPECT_FALSE(Decode(h, body).ok());
  h.type = 0;  // padding is never a message
  EXPECT_FALSE(Decode(h, body).ok());
  h = HeaderFor(MsgType::kDumpRequest, 0, body);
  h.length = 3;
  EXPECT_FALSE(Decode(h, body).ok());

  std::vector<uint8_t> closed = Encode(SessionClose{CloseReason::kAdminClose, ""});
  closed[0] = 200;  // reason out of range
  auto d = Decode(HeaderFor(MsgType::kSessionClose, 0, closed), closed);
  EXPECT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("out of range"), std::string::npos);

  std::vector<uint8_t> route =
      Encode(Route{{IpAddr::V4(0xc6136500), 33, IpAddr::V4(0xc6121001), 1}});
  EXPECT_FALSE(Decode(HeaderFor(MsgType::kRouteAdd, 0, route), route).ok());

  std::vector<uint8_t> frame = Encode(PppFrame{{0xc0}});
  EXPECT_FALSE(Decode(HeaderFor(MsgType::kPppFrameUp, 0, frame), frame).ok());

  std::vector<uint8_t> hello = Encode(Hello{2, 2, 1, 1});  // lcore index >= count
  EXPECT_FALSE(Decode(HeaderFor(MsgType::kHello, 0, hello), hello).ok());
}

TEST(Messages, SendThroughARing) {
  auto seg = Segment::Create("/sstp-ring-test-msg", {.n_lcores = 1, .ring_bytes = 1 << 16});
  ASSERT_TRUE(seg.ok());
  Producer p = seg->UpProducer(0, -1);
  Consumer c = seg->UpConsumer(0);
  ASSERT_TRUE(Send(p, MsgType::kPppFrameUp, 12, PppFrame{{0xc0, 0x21, 1, 1, 0, 4}}));
  RecordHeader h;
  absl::Span<const uint8_t> payload;
  ASSERT_TRUE(c.Peek(&h, &payload));
  auto d = Decode(h, payload);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->type, MsgType::kPppFrameUp);
  EXPECT_EQ(std::get<PppFrame>(d->body).frame.size(), 6u);
  Segment::Unlink("/sstp-ring-test-msg");
}

}  // namespace
}  // namespace ring
