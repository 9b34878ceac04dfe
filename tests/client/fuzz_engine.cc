// libFuzzer target: the client's receive path. Server bytes go through client::Engine: the HTTP
// reply parser (sstp::HttpResponseParser), the SSTP stream assembler and sstp::ClientStateMachine,
// and the PPP client (LCP, PAP/CHAP/MS-CHAPv2 peer, IPCP). A small scripted server inside the
// harness can open the way (HTTP 200, CALL_CONNECT_ACK, LCP request, acks of the client's
// Configure-Requests) so the fuzzed bytes also reach the authenticated and connected states.
//
// Input: byte 0 selects the mode:
//   bit 0    prefix: send HTTP 200 + CALL_CONNECT_ACK + an LCP Configure-Request first
//   bits 1-2 the authentication protocol in that LCP request: none, PAP, CHAP-MD5, MS-CHAPv2
//   bit 3    auto-ack: answer each LCP/IPCP Configure-Request of the client with a Configure-Ack
//   bits 4-7 seed of the chunk sizes and time steps
// The rest is the server's byte stream, fed in chunks, with time advancing between chunks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "client/engine.h"

namespace {

struct Output : client::EngineOutput {
  std::vector<uint8_t> to_server;
  size_t delivered = 0;
  void SendToServer(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) override {
    to_server.insert(to_server.end(), head.begin(), head.end());
    to_server.insert(to_server.end(), tail.begin(), tail.end());
  }
  void DeliverIp(absl::Span<const uint8_t> packet) override { delivered += packet.size(); }
  void OnPhase(client::Phase, const std::string&) override {}
  void OnNetworkUp(const client::NetworkUp&) override {}
};

void AppendData(std::vector<uint8_t>& out, uint16_t proto, const std::vector<uint8_t>& cp) {
  size_t len = 4 + 4 + cp.size();
  out.insert(out.end(),
             {0x10, 0x00, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len), 0xff, 0x03,
              static_cast<uint8_t>(proto >> 8), static_cast<uint8_t>(proto)});
  out.insert(out.end(), cp.begin(), cp.end());
}

// The acks a cooperative server would send for the client's Configure-Requests in `sent`.
std::vector<uint8_t> AutoAck(const std::vector<uint8_t>& sent, size_t& pos) {
  std::vector<uint8_t> reply;
  if (pos == 0) {  // skip the HTTP request
    const char* end = "\r\n\r\n";
    auto it = std::search(sent.begin(), sent.end(), end, end + 4);
    if (it == sent.end()) return reply;
    pos = (it - sent.begin()) + 4;
  }
  while (pos + 4 <= sent.size()) {
    size_t len = ((sent[pos + 2] & 0x0f) << 8) | sent[pos + 3];
    if (len < 4 || pos + len > sent.size()) break;
    const uint8_t* p = sent.data() + pos;
    pos += len;
    if (p[1] & 1) continue;  // control packet
    if (len < 12 || p[4] != 0xff || p[5] != 0x03) continue;
    uint16_t proto = (p[6] << 8) | p[7];
    if ((proto != 0xc021 && proto != 0x8021) || p[8] != 1) continue;
    std::vector<uint8_t> cp(p + 8, p + len);
    cp[0] = 2;  // Configure-Ack, same identifier and options
    if (proto == 0x8021) {
      // IPCP asking for 0.0.0.0 (address or DNS): Configure-Nak with values, as a server would.
      std::vector<uint8_t> nak = {3, cp[1], 0, 0};
      for (size_t i = 4; i + 6 <= cp.size() && cp[i + 1] == 6; i += 6) {
        if (cp[i + 2] == 0 && cp[i + 3] == 0 && cp[i + 4] == 0 && cp[i + 5] == 0) {
          uint8_t last = cp[i] == 3 ? 100 : 53;
          nak.insert(nak.end(), {cp[i], 6, 198, 19, 101, last});
        }
      }
      if (nak.size() > 4) {
        nak[3] = static_cast<uint8_t>(nak.size());
        cp = nak;
      }
    }
    AppendData(reply, proto, cp);
  }
  return reply;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  absl::Span<const uint8_t> rest(data + 1, size - 1);
  Output out;
  client::EngineConfig cfg;
  cfg.host = "vpn.example";
  cfg.user = "sstp-test";
  cfg.password = "123";
  cfg.keepalive = absl::Seconds(5);
  // The top bit of the mode also selects --bridge (BCP, bridged Ethernet frames on the receive
  // path and from the "TAP").
  cfg.bridge = (mode & 0x80) != 0;
  uint8_t counter = 0;
  // Deterministic "randomness" so that recorded seeds replay the same exchange.
  cfg.random = [&counter](absl::Span<uint8_t> o) {
    for (uint8_t& b : o) b = ++counter;
  };
  client::Engine engine(cfg, &out);
  absl::Time now = absl::UnixEpoch() + absl::Hours(1);
  engine.Start(now);
  size_t acked = 0;
  const bool auto_ack = mode & 0x08;
  auto feed = [&](absl::Span<const uint8_t> bytes) {
    engine.OnServerBytes(now, bytes);
    for (int i = 0; i < 8 && auto_ack && !engine.closed(); ++i) {
      std::vector<uint8_t> acks = AutoAck(out.to_server, acked);
      if (acks.empty()) break;
      engine.OnServerBytes(now, acks);
    }
  };
  if (mode & 0x01) {
    std::string http = "HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n\r\n";
    std::vector<uint8_t> pre(http.begin(), http.end());
    // CALL_CONNECT_ACK: Crypto Binding Request, both hash protocols, nonce 0x5a...
    pre.insert(pre.end(), {0x10, 0x01, 0x00, 0x30, 0x00, 0x02, 0x00, 0x01, 0x00, 0x04, 0x00, 0x28,
                           0x00, 0x00, 0x00, 0x03});
    pre.insert(pre.end(), 32, 0x5a);
    std::vector<uint8_t> lcp = {0x01, 0x01, 0x00, 0x0a, 0x05, 0x06, 0x11, 0x22, 0x33, 0x44};
    switch ((mode >> 1) & 3) {
      case 1:
        lcp.insert(lcp.end(), {0x03, 0x04, 0xc0, 0x23});
        break;
      case 2:
        lcp.insert(lcp.end(), {0x03, 0x05, 0xc2, 0x23, 0x05});
        break;
      case 3:
        lcp.insert(lcp.end(), {0x03, 0x05, 0xc2, 0x23, 0x81});
        break;
    }
    lcp[3] = static_cast<uint8_t>(lcp.size());
    AppendData(pre, 0xc021, lcp);
    feed(pre);
  }
  uint32_t lcg = 0x9e3779b9u * ((mode >> 4) + 1);
  size_t pos = 0;
  while (pos < rest.size() && !engine.closed()) {
    lcg = lcg * 1664525u + 1013904223u;
    size_t chunk = 1 + (lcg >> 24) % 96;
    chunk = std::min(chunk, rest.size() - pos);
    feed(rest.subspan(pos, chunk));
    pos += chunk;
    if ((lcg >> 8) & 1) {
      now += absl::Milliseconds((lcg >> 9) & 0x1fff);
      if (engine.next_deadline() <= now) engine.OnTimer(now);
    }
    // Traffic the other way, as from the TUN.
    if (engine.connected()) {
      uint8_t pkt[client::kIpHeadroom + 28] = {};
      pkt[client::kIpHeadroom] = 0x45;
      engine.SendIp(now, absl::MakeSpan(pkt), 28);
    }
  }
  // Run the timers out: every state must end.
  for (int i = 0; i < 64 && !engine.closed(); ++i) {
    absl::Time t = engine.next_deadline();
    if (t == absl::InfiniteFuture()) break;
    now = std::max(now, t);
    engine.OnTimer(now);
  }
  engine.Disconnect(now, "fuzz done");
  for (int i = 0; i < 64 && !engine.closed(); ++i) {
    absl::Time t = engine.next_deadline();
    if (t == absl::InfiniteFuture()) break;
    now = std::max(now, t);
    engine.OnTimer(now);
  }
  return 0;
}
