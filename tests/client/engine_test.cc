// client::Engine against a server scripted in the test, with scripted time: every path a user
// meets (connect, data both ways, orderly and abrupt ends, every timer) without sleeping.
#include "client/engine.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace client {
namespace {

using ::testing::HasSubstr;

constexpr uint16_t kLcp = 0xc021, kPap = 0xc023, kIpcp = 0x8021, kIpv4 = 0x0021;

struct Output : EngineOutput {
  std::vector<uint8_t> to_server;
  std::vector<std::vector<uint8_t>> ip;
  std::vector<Phase> phases;
  std::vector<NetworkUp> ups;
  void SendToServer(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) override {
    to_server.insert(to_server.end(), head.begin(), head.end());
    to_server.insert(to_server.end(), tail.begin(), tail.end());
  }
  void DeliverIp(absl::Span<const uint8_t> p) override { ip.emplace_back(p.begin(), p.end()); }
  std::vector<std::string> details;
  void OnPhase(Phase p, const std::string& d) override {
    phases.push_back(p);
    details.push_back(d);
  }
  void OnNetworkUp(const NetworkUp& u) override { ups.push_back(u); }
};

// One SSTP packet the client sent.
struct Sent {
  bool control = false;
  uint16_t type = 0;          // control
  uint16_t protocol = 0;      // data: PPP protocol
  std::vector<uint8_t> body;  // control: after the 8-byte header; data: PPP information
};

std::vector<uint8_t> Control(uint16_t type, std::vector<uint8_t> attrs = {}, uint16_t n = 0) {
  size_t len = 8 + attrs.size();
  std::vector<uint8_t> p = {0x10,
                            0x01,
                            static_cast<uint8_t>(len >> 8),
                            static_cast<uint8_t>(len),
                            0,
                            static_cast<uint8_t>(type),
                            0,
                            static_cast<uint8_t>(n)};
  p.insert(p.end(), attrs.begin(), attrs.end());
  return p;
}

std::vector<uint8_t> Data(uint16_t proto, std::vector<uint8_t> info) {
  size_t len = 8 + info.size();
  std::vector<uint8_t> p = {
      0x10, 0x00, static_cast<uint8_t>(len >> 8),   static_cast<uint8_t>(len),
      0xff, 0x03, static_cast<uint8_t>(proto >> 8), static_cast<uint8_t>(proto)};
  p.insert(p.end(), info.begin(), info.end());
  return p;
}

std::vector<uint8_t> Cp(uint8_t code, uint8_t id, std::vector<uint8_t> data) {
  size_t len = 4 + data.size();
  std::vector<uint8_t> p = {code, id, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  p.insert(p.end(), data.begin(), data.end());
  return p;
}

std::vector<uint8_t> StatusInfo(uint32_t status) {
  return {0,
          2,
          0,
          12,
          0,
          0,
          0,
          0,
          static_cast<uint8_t>(status >> 24),
          static_cast<uint8_t>(status >> 16),
          static_cast<uint8_t>(status >> 8),
          static_cast<uint8_t>(status)};
}

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() {
    cfg_.host = "vpn.sstpt.test";
    cfg_.user = "sstp-test";
    cfg_.password = "123";
    cfg_.keepalive = absl::Seconds(10);
    cfg_.random = [this](absl::Span<uint8_t> o) {
      for (uint8_t& b : o) b = ++counter_;
    };
  }

  void Make() { engine_ = std::make_unique<Engine>(cfg_, &out_); }

  void Feed(const std::vector<uint8_t>& bytes) { engine_->OnServerBytes(now_, bytes); }

  // Parses what the client sent since the last call.
  std::vector<Sent> TakeSent() {
    std::vector<Sent> out;
    if (!http_skipped_) {
      std::string s(out_.to_server.begin(), out_.to_server.end());
      size_t end = s.find("\r\n\r\n");
      if (end == std::string::npos) return out;
      request_ = s.substr(0, end);
      pos_ = end + 4;
      http_skipped_ = true;
    }
    const auto& b = out_.to_server;
    while (pos_ + 4 <= b.size()) {
      size_t len = ((b[pos_ + 2] & 0x0f) << 8) | b[pos_ + 3];
      Sent p;
      p.control = b[pos_ + 1] & 1;
      if (p.control) {
        p.type = (b[pos_ + 4] << 8) | b[pos_ + 5];
        p.body.assign(b.begin() + pos_ + 8, b.begin() + pos_ + len);
      } else {
        p.protocol = (b[pos_ + 6] << 8) | b[pos_ + 7];  // we always send FF 03
        p.body.assign(b.begin() + pos_ + 8, b.begin() + pos_ + len);
      }
      out.push_back(std::move(p));
      pos_ += len;
    }
    return out;
  }

  // A cooperative server: PAP, address 198.19.101.100, DNS 198.18.0.53, IPV6CP ignored.
  void RunCooperativeServer() {
    Feed(std::vector<uint8_t>(kOk.begin(), kOk.end()));
    std::vector<uint8_t> ack_attr = {0, 4, 0, 40, 0, 0, 0, 3};
    ack_attr.insert(ack_attr.end(), 32, 0x5a);
    Feed(Control(2, ack_attr, 1));
    Feed(Data(kLcp, Cp(1, 1, {3, 4, 0xc0, 0x23, 5, 6, 1, 2, 3, 4})));
    for (int round = 0; round < 20 && !engine_->closed(); ++round) {
      auto sent = TakeSent();
      if (sent.empty()) break;
      for (const Sent& s : sent) {
        if (s.control) continue;
        if (s.protocol == kLcp && s.body[0] == 1) {
          auto ack = s.body;
          ack[0] = 2;
          Feed(Data(kLcp, ack));
        } else if (s.protocol == kPap && s.body[0] == 1) {
          Feed(Data(kPap, Cp(2, s.body[1], {0})));
          Feed(Data(kIpcp, Cp(1, 1, {3, 6, 198, 19, 101, 1})));
        } else if (s.protocol == kIpcp && s.body[0] == 1) {
          // Reject what we do not offer (secondary DNS), nak 0.0.0.0 toward the assignment,
          // ack the rest.
          bool zero = false;
          std::vector<uint8_t> rej;
          for (size_t i = 4; i + 6 <= s.body.size(); i += s.body[i + 1]) {
            if (s.body[i] != 3 && s.body[i] != 129) {
              rej.insert(rej.end(), s.body.begin() + i, s.body.begin() + i + s.body[i + 1]);
            }
            zero |= s.body[i + 2] == 0 && s.body[i + 3] == 0;
          }
          if (!rej.empty()) {
            Feed(Data(kIpcp, Cp(4, s.body[1], rej)));
          } else if (zero) {
            Feed(Data(kIpcp, Cp(3, s.body[1], {3, 6, 198, 19, 101, 100, 129, 6, 198, 18, 0, 53})));
          } else {
            auto ack = s.body;
            ack[0] = 2;
            Feed(Data(kIpcp, ack));
          }
        }
      }
    }
  }

  static constexpr std::string_view kOk =
      "HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\nServer: test\r\n\r\n";
  EngineConfig cfg_;
  Output out_;
  std::unique_ptr<Engine> engine_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  uint8_t counter_ = 0;
  bool http_skipped_ = false;
  size_t pos_ = 0;
  std::string request_;
};

TEST_F(EngineTest, SendsTheSstpHttpRequest) {
  Make();
  engine_->Start(now_);
  std::string req(out_.to_server.begin(), out_.to_server.end());
  EXPECT_THAT(req, HasSubstr("SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ "
                             "HTTP/1.1\r\n"));
  EXPECT_THAT(req, HasSubstr("Host: vpn.sstpt.test\r\n"));
  EXPECT_THAT(req, HasSubstr("Content-Length: 18446744073709551615\r\n"));
  EXPECT_THAT(req, HasSubstr("SSTPCORRELATIONID: {"));
  EXPECT_EQ(engine_->phase(), Phase::kHttp);
}

TEST_F(EngineTest, NoHttpReplyTimesOut) {
  Make();
  engine_->Start(now_);
  EXPECT_EQ(engine_->next_deadline(), now_ + absl::Seconds(60));
  engine_->OnTimer(now_ + absl::Seconds(59));
  EXPECT_FALSE(engine_->closed());
  engine_->OnTimer(now_ + absl::Seconds(60));
  EXPECT_TRUE(engine_->closed());
  EXPECT_THAT(engine_->close_reason(), HasSubstr("no HTTP reply"));
}

TEST_F(EngineTest, HttpErrorClosesWithTheStatus) {
  Make();
  engine_->Start(now_);
  std::string r = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  Feed(std::vector<uint8_t>(r.begin(), r.end()));
  EXPECT_TRUE(engine_->closed());
  EXPECT_THAT(engine_->close_reason(), HasSubstr("404"));
}

TEST_F(EngineTest, ConnectsWithPapAndCarriesIp) {
  Make();
  engine_->Start(now_);
  RunCooperativeServer();
  ASSERT_TRUE(engine_->connected()) << engine_->close_reason();
  ASSERT_EQ(out_.ups.size(), 1u);
  EXPECT_TRUE(out_.ups[0].ipv4);
  EXPECT_EQ(out_.ups[0].local_address, 0xC6136564u);   // 198.19.101.100
  EXPECT_EQ(out_.ups[0].remote_address, 0xC6136501u);  // 198.19.101.1
  EXPECT_EQ(out_.ups[0].primary_dns, 0xC6120035u);     // 198.18.0.53
  EXPECT_EQ(out_.ups[0].auth_method, "pap");
  EXPECT_THAT(out_.phases, ::testing::Contains(Phase::kAuthenticating));

  // The CALL_CONNECTED went out with SHA256 and the server's nonce (PAP: HLAK zeros).
  out_.to_server.clear();
  pos_ = 0;
  // TUN -> server: FF 03 00 21 + packet, in one SSTP data packet.
  std::vector<uint8_t> buf(kIpHeadroom + 28, 0);
  buf[kIpHeadroom] = 0x45;
  buf[kIpHeadroom + 27] = 0x99;
  engine_->SendIp(now_, absl::MakeSpan(buf), 28);
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_FALSE(sent[0].control);
  EXPECT_EQ(sent[0].protocol, kIpv4);
  ASSERT_EQ(sent[0].body.size(), 28u);
  EXPECT_EQ(sent[0].body[27], 0x99);
  // Server -> TUN.
  std::vector<uint8_t> pkt(40, 0);
  pkt[0] = 0x45;
  Feed(Data(kIpv4, pkt));
  ASSERT_EQ(out_.ip.size(), 1u);
  EXPECT_EQ(out_.ip[0], pkt);
  // IPv6 has no open NCP here: dropped, counted.
  std::vector<uint8_t> v6(kIpHeadroom + 40, 0);
  v6[kIpHeadroom] = 0x60;
  engine_->SendIp(now_, absl::MakeSpan(v6), 40);
  EXPECT_EQ(engine_->counters().tx_packets, 1u);
  EXPECT_EQ(engine_->counters().rx_packets, 1u);
  EXPECT_EQ(engine_->counters().tx_dropped, 1u);
}

TEST_F(EngineTest, OrderlyDisconnectWaitsForTheAck) {
  Make();
  engine_->Start(now_);
  RunCooperativeServer();
  ASSERT_TRUE(engine_->connected());
  TakeSent();
  engine_->Disconnect(now_, "stopped by SIGTERM");
  auto sent = TakeSent();
  bool terminate = false, disconnect = false;
  for (const Sent& s : sent) {
    terminate |= !s.control && s.protocol == kLcp && s.body[0] == 5;
    disconnect |= s.control && s.type == 6;
  }
  EXPECT_TRUE(terminate) << "LCP Terminate-Request";
  EXPECT_TRUE(disconnect) << "CALL_DISCONNECT";
  EXPECT_EQ(engine_->phase(), Phase::kDisconnecting);
  Feed(Control(7));  // CALL_DISCONNECT_ACK
  // MS-SSTP 3.1.2: the ack may still be followed by a short wait; all timers end it.
  for (int i = 0; i < 5 && !engine_->closed(); ++i) {
    now_ = std::max(now_, engine_->next_deadline());
    engine_->OnTimer(now_);
  }
  EXPECT_TRUE(engine_->closed());
  EXPECT_EQ(engine_->close_reason(), "stopped by SIGTERM");
}

TEST_F(EngineTest, DisconnectWithoutAckEndsOnTheTimer) {
  Make();
  engine_->Start(now_);
  RunCooperativeServer();
  engine_->Disconnect(now_, "bye");
  absl::Time start = now_;
  for (int i = 0; i < 10 && !engine_->closed(); ++i) {
    now_ = std::max(now_, engine_->next_deadline());
    engine_->OnTimer(now_);
  }
  EXPECT_TRUE(engine_->closed());
  EXPECT_LE(now_ - start, absl::Seconds(7));  // disconnect timers 5 s + 1 s
}

TEST_F(EngineTest, KeepaliveAbortsASilentServer) {
  Make();
  engine_->Start(now_);
  RunCooperativeServer();
  ASSERT_TRUE(engine_->connected());
  TakeSent();
  bool echo = false;
  absl::Time start = now_;
  for (int i = 0; i < 20 && !engine_->closed(); ++i) {
    now_ = std::max(now_, engine_->next_deadline());
    engine_->OnTimer(now_);
    for (const Sent& s : TakeSent()) echo |= s.control && s.type == 8;
  }
  EXPECT_TRUE(echo) << "ECHO_REQUEST after the hello interval";
  EXPECT_TRUE(engine_->closed());
  EXPECT_GE(now_ - start, absl::Seconds(10));
}

TEST_F(EngineTest, EchoRequestIsAnsweredAndKeepsTheCall) {
  Make();
  engine_->Start(now_);
  RunCooperativeServer();
  TakeSent();
  for (int i = 0; i < 100; ++i) Feed(Control(8));
  int responses = 0;
  for (const Sent& s : TakeSent()) responses += s.control && s.type == 9;
  EXPECT_EQ(responses, 100);
  EXPECT_TRUE(engine_->connected());
}

TEST_F(EngineTest, ServerAbortSaysWhy) {
  Make();
  engine_->Start(now_);
  RunCooperativeServer();
  Feed(Control(5, StatusInfo(6), 1));  // Retry Count Exceeded
  for (int i = 0; i < 5 && !engine_->closed(); ++i) {
    now_ = std::max(now_, engine_->next_deadline());
    engine_->OnTimer(now_);
  }
  EXPECT_TRUE(engine_->closed());
  EXPECT_THAT(engine_->close_reason(), HasSubstr("the server aborted the call"));
  EXPECT_THAT(engine_->close_reason(), HasSubstr("RETRY_COUNT"));
}

// A server that asks only for a method --authentication does not allow ends the call (ours with
// CALL_ABORT, no Status Info): the reason names both sides' methods.
TEST_F(EngineTest, AuthMismatchNamesTheMethods) {
  cfg_.auth_methods = 0x08;  // kAuthMschap2
  Make();
  engine_->Start(now_);
  Feed(std::vector<uint8_t>(kOk.begin(), kOk.end()));
  std::vector<uint8_t> ack_attr = {0, 4, 0, 40, 0, 0, 0, 3};
  ack_attr.insert(ack_attr.end(), 32, 0x5a);
  Feed(Control(2, ack_attr, 1));
  Feed(Data(kLcp, Cp(1, 1, {3, 4, 0xc0, 0x23, 5, 6, 1, 2, 3, 4})));  // PAP
  Feed(Control(5));
  for (int i = 0; i < 5 && !engine_->closed(); ++i) {
    now_ = std::max(now_, engine_->next_deadline());
    engine_->OnTimer(now_);
  }
  EXPECT_TRUE(engine_->closed());
  EXPECT_THAT(engine_->close_reason(),
              HasSubstr("the server aborted the call: the server asks for pap, "
                        "--authentication allows mschap2"));
}

// A server that asked for an allowed method and aborts later: no word about methods.
TEST_F(EngineTest, AbortAfterAuthenticationHasNoMethodNote) {
  Make();
  engine_->Start(now_);
  RunCooperativeServer();
  Feed(Control(5));
  EXPECT_THAT(engine_->close_reason(), ::testing::Not(HasSubstr("asks for")));
}

// --fault=tamper-compound-mac: the same CALL_CONNECTED as without it (same randomness, same
// time), except one bit of the Compound MAC (MS-SSTP 2.2.7: the field at offset 80).
TEST_F(EngineTest, TamperFaultFlipsOneBitOfTheCompoundMac) {
  auto call_connected = [this](bool tamper) {
    cfg_.tamper_compound_mac = tamper;
    counter_ = 0;
    http_skipped_ = false;
    pos_ = 0;
    out_ = Output();
    Make();
    engine_->Start(now_);
    RunCooperativeServer();
    EXPECT_TRUE(engine_->connected()) << engine_->close_reason();
    pos_ = 0;
    http_skipped_ = false;
    std::vector<uint8_t> found;
    for (const Sent& s : TakeSent()) {
      if (s.control && s.type == 4) found = s.body;
    }
    return found;
  };
  std::vector<uint8_t> good = call_connected(false);
  std::vector<uint8_t> bad = call_connected(true);
  ASSERT_EQ(good.size(), 112u - 8);
  ASSERT_EQ(bad.size(), good.size());
  size_t mac = 80 - 8;  // body offsets start after the 8-byte control header
  for (size_t i = 0; i < good.size(); ++i) {
    EXPECT_EQ(bad[i], i == mac ? (good[i] ^ 0x01) : good[i]) << "byte " << i + 8;
  }
}

// --bridge: BCP (RFC 3518) instead of IPCP/IPV6CP; Ethernet frames both ways as protocol 0x0031
// with the 2-byte bridged header (flags 0, MAC type 1).
TEST_F(EngineTest, BridgeRunsBcpAndCarriesEthernetFrames) {
  constexpr uint16_t kBcp = 0x8031, kBridged = 0x0031;
  cfg_.bridge = true;
  Make();
  engine_->Start(now_);
  Feed(std::vector<uint8_t>(kOk.begin(), kOk.end()));
  std::vector<uint8_t> ack_attr = {0, 4, 0, 40, 0, 0, 0, 3};
  ack_attr.insert(ack_attr.end(), 32, 0x5a);
  Feed(Control(2, ack_attr, 1));
  Feed(Data(kLcp, Cp(1, 1, {3, 4, 0xc0, 0x23})));
  bool ipcp_seen = false, bcp_acked = false;
  for (int round = 0; round < 20 && !engine_->connected(); ++round) {
    auto sent = TakeSent();
    if (sent.empty()) break;
    for (const Sent& p : sent) {
      if (p.control) continue;
      ipcp_seen |= p.protocol == kIpcp || p.protocol == 0x8057;
      if (p.protocol == kLcp && p.body[0] == 1) {
        auto ack = p.body;
        ack[0] = 2;
        Feed(Data(kLcp, ack));
      } else if (p.protocol == kPap && p.body[0] == 1) {
        Feed(Data(kPap, Cp(2, p.body[1], {0})));
        // The server's BCP request: MAC-Address (6) announcing its own.
        Feed(Data(kBcp, Cp(1, 1, {6, 8, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01})));
      } else if (p.protocol == kBcp && p.body[0] == 1) {
        auto ack = p.body;
        ack[0] = 2;
        Feed(Data(kBcp, ack));
        bcp_acked = true;
      }
    }
  }
  ASSERT_TRUE(engine_->connected()) << engine_->close_reason();
  EXPECT_TRUE(bcp_acked);
  EXPECT_FALSE(ipcp_seen);
  ASSERT_EQ(out_.ups.size(), 1u);
  EXPECT_TRUE(out_.ups[0].bridge);
  EXPECT_FALSE(out_.ups[0].ipv4);
  ASSERT_TRUE(out_.ups[0].peer_mac.has_value());
  EXPECT_EQ((*out_.ups[0].peer_mac)[5], 0x01);

  // TAP -> server: FF 03 00 31 00 01 + the frame, no copy of the frame needed.
  std::vector<uint8_t> buf(kIpHeadroom + 60, 0);
  for (int i = 0; i < 60; ++i) buf[kIpHeadroom + i] = static_cast<uint8_t>(i);
  engine_->SendIp(now_, absl::MakeSpan(buf), 60);
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].protocol, kBridged);
  ASSERT_EQ(sent[0].body.size(), 62u);
  EXPECT_EQ(sent[0].body[0], 0x00);
  EXPECT_EQ(sent[0].body[1], 0x01);
  EXPECT_EQ(sent[0].body[2 + 59], 59);
  // Server -> TAP: the frame without the bridged header; a runt is dropped.
  std::vector<uint8_t> eth(64, 0xab);
  std::vector<uint8_t> info = {0x00, 0x01};
  info.insert(info.end(), eth.begin(), eth.end());
  Feed(Data(kBridged, info));
  ASSERT_EQ(out_.ip.size(), 1u);
  EXPECT_EQ(out_.ip[0], eth);
  Feed(Data(kBridged, {0x00, 0x01, 1, 2, 3}));
  EXPECT_EQ(out_.ip.size(), 1u);
  EXPECT_EQ(engine_->counters().rx_dropped, 1u);
  // An IP packet has no NCP in bridge mode.
  Feed(Data(kIpv4, std::vector<uint8_t>(40, 0x45)));
  EXPECT_EQ(out_.ip.size(), 1u);
}

// IPV6CP often opens before IPCP (our server does that): the call is connected on IPv6 first,
// and the status line is given again with the IPv4 addresses once IPCP opens.
TEST_F(EngineTest, ConnectedAgainWhenIpcpOpensAfterIpv6cp) {
  constexpr uint16_t kIpv6cp = 0x8057;
  Make();
  engine_->Start(now_);
  Feed(std::vector<uint8_t>(kOk.begin(), kOk.end()));
  std::vector<uint8_t> ack_attr = {0, 4, 0, 40, 0, 0, 0, 3};
  ack_attr.insert(ack_attr.end(), 32, 0x5a);
  Feed(Control(2, ack_attr, 1));
  Feed(Data(kLcp, Cp(1, 1, {3, 4, 0xc0, 0x23})));
  std::vector<uint8_t> ipcp_request;  // held back until IPV6CP is open
  for (int round = 0; round < 20; ++round) {
    auto sent = TakeSent();
    if (sent.empty()) break;
    for (const Sent& p : sent) {
      if (p.control) continue;
      if ((p.protocol == kLcp || p.protocol == kIpv6cp) && p.body[0] == 1) {
        auto ack = p.body;
        ack[0] = 2;
        Feed(Data(p.protocol, ack));
      } else if (p.protocol == kPap && p.body[0] == 1) {
        Feed(Data(kPap, Cp(2, p.body[1], {0})));
        Feed(Data(kIpv6cp, Cp(1, 1, {1, 10, 2, 0, 0, 0, 0, 0, 0, 1})));
      } else if (p.protocol == kIpcp && p.body[0] == 1) {
        ipcp_request = p.body;
      }
    }
  }
  ASSERT_TRUE(engine_->connected()) << engine_->close_reason();
  ASSERT_FALSE(out_.details.empty());
  EXPECT_EQ(out_.details.back(), "IPv6 only");
  ASSERT_FALSE(ipcp_request.empty());
  // IPCP now: the server's request, then a Nak with the address and an Ack of the client's.
  Feed(Data(kIpcp, Cp(1, 1, {3, 6, 198, 19, 101, 1})));
  Feed(Data(kIpcp, Cp(3, ipcp_request[1], {3, 6, 198, 19, 101, 100})));
  for (const Sent& p : TakeSent()) {
    if (!p.control && p.protocol == kIpcp && p.body[0] == 1) {
      auto ack = p.body;
      ack[0] = 2;
      Feed(Data(kIpcp, ack));
    }
  }
  ASSERT_TRUE(engine_->connected());
  EXPECT_EQ(out_.phases.back(), Phase::kConnected);
  EXPECT_EQ(out_.details.back(), "198.19.101.100 peer 198.19.101.1");
  ASSERT_EQ(out_.ups.size(), 2u);
  EXPECT_TRUE(out_.ups[1].ipv4 && out_.ups[1].ipv6);
}

TEST_F(EngineTest, PapRefusalIsReported) {
  Make();
  engine_->Start(now_);
  Feed(std::vector<uint8_t>(kOk.begin(), kOk.end()));
  std::vector<uint8_t> ack_attr = {0, 4, 0, 40, 0, 0, 0, 3};
  ack_attr.insert(ack_attr.end(), 32, 0x5a);
  Feed(Control(2, ack_attr, 1));
  Feed(Data(kLcp, Cp(1, 1, {3, 4, 0xc0, 0x23, 5, 6, 1, 2, 3, 4})));
  for (int round = 0; round < 5; ++round) {
    for (const Sent& s : TakeSent()) {
      if (!s.control && s.protocol == kLcp && s.body[0] == 1) {
        auto ack = s.body;
        ack[0] = 2;
        Feed(Data(kLcp, ack));
      } else if (!s.control && s.protocol == kPap && s.body[0] == 1) {
        std::vector<uint8_t> msg = {6, 'N', 'o', ' ', 'w', 'a', 'y'};
        Feed(Data(kPap, Cp(3, s.body[1], msg)));
      }
    }
  }
  for (int i = 0; i < 10 && !engine_->closed(); ++i) {
    now_ = std::max(now_, engine_->next_deadline());
    engine_->OnTimer(now_);
  }
  EXPECT_TRUE(engine_->closed());
  EXPECT_THAT(engine_->close_reason(), HasSubstr("authentication failed (pap)"));
}

TEST_F(EngineTest, SilentServerAfterAckHitsTheNegotiationTimer) {
  Make();
  engine_->Start(now_);
  Feed(std::vector<uint8_t>(kOk.begin(), kOk.end()));
  std::vector<uint8_t> ack_attr = {0, 4, 0, 40, 0, 0, 0, 3};
  ack_attr.insert(ack_attr.end(), 32, 0x5a);
  Feed(Control(2, ack_attr, 1));
  absl::Time start = now_;
  for (int i = 0; i < 40 && !engine_->closed(); ++i) {
    now_ = std::max(now_, engine_->next_deadline());
    engine_->OnTimer(now_);
  }
  EXPECT_TRUE(engine_->closed());
  EXPECT_LE(now_ - start, absl::Seconds(70));  // LCP gives up, or the 60 s negotiation timer
}

TEST_F(EngineTest, MalformedSstpStreamCloses) {
  Make();
  engine_->Start(now_);
  Feed(std::vector<uint8_t>(kOk.begin(), kOk.end()));
  Feed({0x20, 0x01, 0x00, 0x08, 0, 8, 0, 0});  // version 2.0
  EXPECT_TRUE(engine_->closed());
  EXPECT_THAT(engine_->close_reason(), HasSubstr("malformed SSTP"));
}

}  // namespace
}  // namespace client
