#include "client/engine.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/options.h"
#include "client/ppp_client.h"
#include "ppp/bcp.h"
#include "ppp/frame.h"
#include "sstp/crypto_binding.h"

namespace client {
namespace {

constexpr absl::Duration kHttpTimeout = absl::Seconds(60);  // MS-SSTP 3.2.2 negotiation timer

std::string Ipv4(uint32_t a) {
  return absl::StrCat(a >> 24, ".", (a >> 16) & 0xff, ".", (a >> 8) & 0xff, ".", a & 0xff);
}

}  // namespace

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kHttp:
      return "http";
    case Phase::kNegotiating:
      return "negotiating";
    case Phase::kAuthenticating:
      return "authenticating";
    case Phase::kNetwork:
      return "network";
    case Phase::kConnected:
      return "connected";
    case Phase::kDisconnecting:
      return "disconnecting";
    case Phase::kClosed:
      return "closed";
  }
  return "?";
}

Engine::Engine(EngineConfig config, EngineOutput* out) : config_(std::move(config)), out_(out) {
  sstp::ClientConfig sc;
  sc.timers.hello = config_.keepalive.value_or(absl::InfiniteDuration());
  sc.cert_hash_sha1 = config_.cert_sha1;
  sc.cert_hash_sha256 = config_.cert_sha256;
  sstp_ = std::make_unique<sstp::ClientStateMachine>(sc, static_cast<sstp::Sink*>(this));
  PppClientConfig pc;
  pc.user = config_.user;
  pc.password = config_.password;
  pc.auth_methods = config_.auth_methods;
  pc.mru = config_.mru;
  pc.mrru = config_.mrru;
  pc.random = config_.random;
  pc.ipv6 = config_.ipv6;
  pc.bridge = config_.bridge;
  ppp_ = std::make_unique<PppClient>(std::move(pc));
}

Engine::~Engine() = default;

void Engine::SetPhase(Phase phase, const std::string& detail) {
  if (phase_ == phase || phase_ == Phase::kClosed) return;
  phase_ = phase;
  out_->OnPhase(phase, detail);
}

void Engine::Start(absl::Time now) {
  now_ = now;
  uint8_t id[16];
  config_.random(absl::MakeSpan(id));
  std::string req = sstp::BuildClientRequest(config_.host, sstp::FormatCorrelationId(id));
  out_->SendToServer(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(req.data()), req.size()),
                     {});
  phase_ = Phase::kHttp;
  http_deadline_ = now + kHttpTimeout;
  out_->OnPhase(Phase::kHttp, "HTTPS request sent");
}

void Engine::OnServerBytes(absl::Time now, absl::Span<const uint8_t> bytes) {
  now_ = now;
  if (phase_ == Phase::kClosed) return;
  if (phase_ == Phase::kHttp) {
    sstp::HttpParse r = http_.Feed(bytes);
    if (r == sstp::HttpParse::kNeedMore) return;
    if (r == sstp::HttpParse::kError) {
      close_reason_ = absl::StrCat("the server's HTTP reply is not SSTP: ", http_.error_reason());
      SetPhase(Phase::kClosed, close_reason_);
      return;
    }
    bytes = bytes.subspan(http_.consumed());
    SetPhase(Phase::kNegotiating, "SSTP call connect");
    sstp_->Start(now);
    PumpPpp(now);
    if (bytes.empty()) return;
  }
  absl::Status s = assembler_.Feed(
      bytes, [&](absl::Span<const uint8_t> packet) { sstp_->OnPacket(now, packet); });
  if (!s.ok()) {
    // MS-SSTP 3.1.5.1: a stream that cannot be delineated is dropped without a word.
    if (close_reason_.empty()) {
      close_reason_ = absl::StrCat("the server sent a malformed SSTP stream: ", s.message());
    }
    sstp_->OnTransportClosed(now, close_reason_);
  }
  PumpPpp(now);
}

void Engine::SendIp(absl::Time now, absl::Span<uint8_t> buf, size_t len) {
  now_ = now;
  if (phase_ != Phase::kConnected || len == 0) {
    ++counters_.tx_dropped;
    return;
  }
  if (config_.bridge) {
    if (!ppp_->network().bridge || len < 14) {
      ++counters_.tx_dropped;
      return;
    }
    // RFC 1661 2 / 3518 4.3: FF 03 00 31, then flags 0 (no LAN FCS, no padding) and MAC type
    // Ethernet, in front of the frame as the TAP gave it.
    uint8_t* frame = buf.data();
    frame[0] = ppp::kAllStationsAddress;
    frame[1] = ppp::kUiControl;
    frame[2] = static_cast<uint8_t>(ppp::kProtocolBridgedLan >> 8);
    frame[3] = static_cast<uint8_t>(ppp::kProtocolBridgedLan);
    frame[4] = ppp::kBridgedEthernetHeader[0];
    frame[5] = ppp::kBridgedEthernetHeader[1];
    if (!sstp_->SendPppFrame(now, absl::MakeConstSpan(frame, kIpHeadroom + len)).ok()) {
      ++counters_.tx_dropped;
      return;
    }
    ++counters_.tx_packets;
    counters_.tx_bytes += len;
    counters_.last_activity = now;
    return;
  }
  uint8_t version = buf[kIpHeadroom] >> 4;
  uint16_t proto;
  if (version == 4 && ppp_->network().ipv4) {
    proto = ppp::kProtocolIpv4;
  } else if (version == 6 && ppp_->network().ipv6) {
    proto = ppp::kProtocolIpv6;
  } else {
    // The NCP of this protocol is not open (the server rejected IPV6CP, say).
    ++counters_.tx_dropped;
    return;
  }
  // RFC 1661 2 / 1662 3.2: FF 03 and the protocol, written into the headroom in front.
  uint8_t* frame = buf.data() + kIpHeadroom - 4;
  frame[0] = ppp::kAllStationsAddress;
  frame[1] = ppp::kUiControl;
  frame[2] = static_cast<uint8_t>(proto >> 8);
  frame[3] = static_cast<uint8_t>(proto);
  absl::Status s = sstp_->SendPppFrame(now, absl::MakeConstSpan(frame, 4 + len));
  if (!s.ok()) {
    ++counters_.tx_dropped;
    return;
  }
  ++counters_.tx_packets;
  counters_.tx_bytes += len;
  counters_.last_activity = now;
}

void Engine::Disconnect(absl::Time now, const std::string& reason) {
  now_ = now;
  if (phase_ == Phase::kClosed) return;
  if (close_reason_.empty()) close_reason_ = reason;
  if (phase_ == Phase::kHttp) {
    SetPhase(Phase::kClosed, reason);
    return;
  }
  // From here the NCPs going down are the end of the call, not a renegotiation.
  disconnecting_ = true;
  // Windows ends a call the same way: LCP Terminate-Request, then CALL_DISCONNECT (MS-SSTP
  // 3.2.5.1 "administrative disconnect").
  if (ppp_->lcp_opened()) ppp_->Close(now, reason);
  PumpPpp(now);
  sstp_->Disconnect(now, reason);
  PumpPpp(now);
}

void Engine::OnTransportClosed(absl::Time now, const std::string& reason) {
  now_ = now;
  if (phase_ == Phase::kClosed) return;
  if (close_reason_.empty()) close_reason_ = reason;
  if (phase_ == Phase::kHttp) {
    SetPhase(Phase::kClosed, reason);
    return;
  }
  sstp_->OnTransportClosed(now, reason);
  PumpPpp(now);
}

absl::Time Engine::next_deadline() const {
  if (phase_ == Phase::kClosed) return absl::InfiniteFuture();
  if (phase_ == Phase::kHttp) return http_deadline_;
  absl::Time t = sstp_->next_deadline();
  if (auto p = ppp_->NextDeadline(); p && *p < t) t = *p;
  return t;
}

void Engine::OnTimer(absl::Time now) {
  now_ = now;
  if (phase_ == Phase::kClosed) return;
  if (phase_ == Phase::kHttp) {
    if (now >= http_deadline_) {
      close_reason_ = "no HTTP reply from the server within 60 s";
      SetPhase(Phase::kClosed, close_reason_);
    }
    return;
  }
  if (sstp_->next_deadline() <= now) sstp_->OnTimer(now);
  if (auto p = ppp_->NextDeadline(); p && *p <= now) ppp_->OnTimer(now);
  PumpPpp(now);
}

void Engine::SendSstp(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) {
  if (config_.tamper_compound_mac && head.size() == sstp::kCallConnectedLength && tail.empty()) {
    sstp::Header h;
    const uint16_t type = static_cast<uint16_t>(head[4] << 8 | head[5]);
    if (sstp::ReadHeader(head.data(), &h) && h.control &&
        type == static_cast<uint16_t>(sstp::MessageType::kCallConnected)) {
      // Testing fault: the packet as the state machine built it, one bit of the Compound MAC
      // flipped. A server must abort (MS-SSTP 3.1.5.2.4: verification failure).
      std::array<uint8_t, sstp::kCallConnectedLength> bad;
      std::copy(head.begin(), head.end(), bad.begin());
      bad[sstp::kCallConnectedMacOffset] ^= 0x01;
      out_->SendToServer(absl::MakeConstSpan(bad), {});
      return;
    }
  }
  out_->SendToServer(head, tail);
}

void Engine::DeliverPpp(absl::Span<const uint8_t> frame) {
  auto h = ppp::PeekHeader(frame);
  if (!h.ok()) {
    ++counters_.rx_dropped;
    return;
  }
  if (h->protocol == ppp::kProtocolBridgedLan) {
    DeliverBridged(frame.subspan(h->header_length));
    return;
  }
  if (h->protocol == ppp::kProtocolIpv4 || h->protocol == ppp::kProtocolIpv6) {
    absl::Span<const uint8_t> packet = frame.subspan(h->header_length);
    const bool v4 = h->protocol == ppp::kProtocolIpv4;
    const bool open = v4 ? ppp_->network().ipv4 : ppp_->network().ipv6;
    if (phase_ != Phase::kConnected || !open || packet.size() < (v4 ? 20u : 40u) ||
        (packet[0] >> 4) != (v4 ? 4 : 6)) {
      ++counters_.rx_dropped;
      return;
    }
    ++counters_.rx_packets;
    counters_.rx_bytes += packet.size();
    counters_.last_activity = now_;
    out_->DeliverIp(packet);
    return;
  }
  // Control frames only queue output in the PPP client; PumpPpp sends it after the SSTP machine
  // returns (the machine is not re-entered from its own callback).
  ppp_->Receive(now_, frame);
  // Multilink fragments (MRRU negotiated) come back whole from the session's reassembler.
  for (auto& [proto, packet] : ppp_->TakeDelivered()) {
    if (proto == ppp::kProtocolBridgedLan) {
      DeliverBridged(packet);
      continue;
    }
    const bool v4 = proto == ppp::kProtocolIpv4;
    if (phase_ != Phase::kConnected || (!v4 && proto != ppp::kProtocolIpv6) ||
        packet.size() < (v4 ? 20u : 40u)) {
      ++counters_.rx_dropped;
      continue;
    }
    ++counters_.rx_packets;
    counters_.rx_bytes += packet.size();
    counters_.last_activity = now_;
    out_->DeliverIp(packet);
  }
}

void Engine::DeliverBridged(absl::Span<const uint8_t> information) {
  // RFC 3518 4.3: only Ethernet frames (MAC type 1) for the TAP, and only once BCP is open.
  auto b = ppp::ParseBridgedFrame(information);
  if (phase_ != Phase::kConnected || !ppp_->network().bridge || !b.ok() ||
      b->mac_type != ppp::kMacTypeEthernet || b->frame.size() < 14) {
    ++counters_.rx_dropped;
    return;
  }
  ++counters_.rx_packets;
  counters_.rx_bytes += b->frame.size();
  counters_.last_activity = now_;
  out_->DeliverIp(b->frame);
}

void Engine::OnEvent(const sstp::Event& e) {
  switch (e.type) {
    case sstp::EventType::kStartPpp:
      start_ppp_ = true;
      break;
    case sstp::EventType::kConnected:
      break;
    case sstp::EventType::kAborted:
    case sstp::EventType::kDisconnected: {
      if (close_reason_.empty()) {
        std::string what = e.type == sstp::EventType::kAborted ? "aborted" : "disconnected";
        if (e.by_peer) {
          close_reason_ = absl::StrCat("the server ", what, " the call");
          if (e.status != sstp::StatusCode::kNoError) {
            absl::StrAppend(&close_reason_, " (", sstp::StatusCodeName(e.status), ")");
          }
          absl::StrAppend(&close_reason_, AuthMismatchNote());
        } else {
          close_reason_ = e.reason.empty() ? absl::StrCat("call ", what) : e.reason;
        }
      }
      disconnecting_ = true;
      break;
    }
    case sstp::EventType::kClosed:
      closed_event_ = true;
      if (close_reason_.empty()) close_reason_ = e.reason;
      break;
  }
}

std::string Engine::AuthMismatchNote() const {
  if (ppp_->lcp_opened() || ppp_->authenticated()) return "";
  const std::vector<std::string>& asked = ppp_->server_auth_requests();
  if (asked.empty()) return "";
  for (const std::string& m : asked) {
    auto bit = ParseAuthMethods(m);
    if (bit.ok() && (*bit & config_.auth_methods) != 0) return "";  // one was acceptable
  }
  return absl::StrCat(": the server asks for ", absl::StrJoin(asked, ", "),
                      ", --authentication allows ", AuthMethodsToString(config_.auth_methods));
}

void Engine::PumpPpp(absl::Time now) {
  for (int round = 0; round < 4; ++round) {
    if (start_ppp_) {
      start_ppp_ = false;
      ppp_->Start(now);
    }
    for (const auto& f : ppp_->TakeFrames()) {
      (void)sstp_->SendPppFrame(now, f);  // control frames: allowed before CALL_CONNECTED
    }
    if (!start_ppp_) break;
  }
  if (phase_ == Phase::kClosed) return;
  if (closed_event_ || sstp_->closed()) {
    SetPhase(Phase::kClosed, close_reason_);
    return;
  }
  if (disconnecting_) {
    SetPhase(Phase::kDisconnecting, close_reason_);
    return;
  }
  if (ppp_->failed()) {
    if (close_reason_.empty()) close_reason_ = ppp_->failure_reason();
    // The PPP link is over: end the call in order (MS-SSTP 3.2.5.1).
    disconnecting_ = true;
    sstp_->Disconnect(now, close_reason_);
    for (const auto& f : ppp_->TakeFrames()) (void)sstp_->SendPppFrame(now, f);
    if (sstp_->closed()) {
      SetPhase(Phase::kClosed, close_reason_);
    } else {
      SetPhase(Phase::kDisconnecting, close_reason_);
    }
    return;
  }
  if (ppp_->authenticating()) {
    SetPhase(Phase::kAuthenticating,
             absl::StrCat(ppp_->auth_method(), " as \"", config_.user, "\""));
  }
  if (ppp_->authenticated() && !binding_sent_) {
    binding_sent_ = true;
    // MS-SSTP 3.2.5.2: the HLAK is the MPPE send||receive master keys after MS-CHAPv2, zeros
    // for the methods without keys.
    sstp_->OnAuthenticationFinished(now, ppp_->Hlak());
    auth_method_ = ppp_->auth_method();
    SetPhase(Phase::kNetwork,
             absl::StrCat("authenticated (", auth_method_, "), ", config_.bridge ? "BCP" : "IPCP"));
    if (sstp_->closed()) {
      SetPhase(Phase::kClosed, close_reason_);
      return;
    }
  }
  const PppNetwork& net = ppp_->network();
  bool up = (net.ipv4 || net.ipv6 || net.bridge) && sstp_->connected();
  if (phase_ == Phase::kConnected && !up) {
    SetPhase(Phase::kNetwork, "IPCP renegotiating");
  }
  if (!up) return;
  // Report every change (IPV6CP may open after IPCP; either may renegotiate).
  bool ipv4_news = false;  // IPCP opened (or changed) after the call was already connected
  if (!reported_ || reported_->ipv4 != net.ipv4 || reported_->ipv6 != net.ipv6 ||
      reported_->local_address != net.local_address ||
      reported_->remote_address != net.remote_address ||
      reported_->local_interface_id != net.local_interface_id || reported_->bridge != net.bridge) {
    ipv4_news = phase_ == Phase::kConnected && net.ipv4 &&
                (!reported_->ipv4 || reported_->local_address != net.local_address ||
                 reported_->remote_address != net.remote_address);
    reported_ = std::make_unique<PppNetwork>(net);
    NetworkUp u;
    u.ipv4 = net.ipv4;
    u.local_address = net.local_address;
    u.remote_address = net.remote_address;
    u.primary_dns = net.primary_dns;
    u.secondary_dns = net.secondary_dns;
    u.ipv6 = net.ipv6;
    u.local_interface_id = net.local_interface_id;
    u.remote_interface_id = net.remote_interface_id;
    u.peer_mru = ppp_->lcp().peer_mru;
    u.auth_method = auth_method_;
    u.bridge = net.bridge;
    u.local_mac = net.local_mac;
    u.peer_mac = net.peer_mac;
    out_->OnNetworkUp(u);
  }
  std::string what = net.bridge ? std::string("bridged Ethernet (BCP)")
                     : net.ipv4
                         ? absl::StrCat(Ipv4(net.local_address), " peer ", Ipv4(net.remote_address))
                         : std::string("IPv6 only");
  if (phase_ != Phase::kConnected) {
    SetPhase(Phase::kConnected, what);
  } else if (ipv4_news) {
    // IPV6CP often opens before IPCP: the status line that said "IPv6 only" is out of date, and
    // the IPv4 address is what a user looks for in it.
    out_->OnPhase(Phase::kConnected, what);
  }
}

}  // namespace client
