#include "client/ppp_client.h"

#include "absl/strings/str_cat.h"
#include "client/options.h"
#include "ppp/frame.h"

namespace client {

PppClient::PppClient(PppClientConfig config) : config_(std::move(config)) {
  ppp::LcpConfig lc;
  lc.mru = static_cast<uint16_t>(config_.mru);
  // The methods the user allows, strongest first; LCP naks the server toward one of them.
  for (ppp::AuthMethod m : ppp::kAuthPreference) {
    uint8_t bit = m == ppp::AuthMethod::kMsChapV2   ? kAuthMschap2
                  : m == ppp::AuthMethod::kMsChapV1 ? kAuthMschap1
                  : m == ppp::AuthMethod::kChapMd5  ? kAuthChap
                                                    : kAuthPap;
    if (config_.auth_methods & bit) lc.auth_methods.push_back(m);
  }
  lc.authenticator = false;
  lc.multilink = config_.mrru.has_value();
  if (config_.mrru) lc.mrru = static_cast<uint16_t>(*config_.mrru);
  auto random = config_.random;
  lc.random32 = [random]() {
    uint8_t b[4];
    random(absl::MakeSpan(b));
    return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
  };
  lcp_ = std::make_unique<ppp::Lcp>(std::move(lc));
  ppp::IpcpConfig ic;
  ic.server = false;
  ic.request_dns = true;
  ipcp_ = std::make_unique<ppp::Ipcp>(ic);
}

PppClient::~PppClient() = default;

void PppClient::Start(absl::Time now) {
  lcp_->Up(now);
  lcp_->Open(now);
  Pump(now);
}

void PppClient::Fail(const std::string& reason) {
  if (failed_) return;
  failed_ = true;
  failure_reason_ = reason;
}

void PppClient::Receive(absl::Time now, absl::Span<const uint8_t> frame) {
  auto f = ppp::ParseFrame(frame);
  if (!f.ok()) return;  // RFC 1661 2: frames that do not parse are silently discarded
  const uint16_t proto = f->protocol;
  if (proto == ppp::kProtocolLcp) {
    (void)lcp_->Receive(f->information, now);
  } else if (proto == ppp::kProtocolPap || proto == ppp::kProtocolChap) {
    if (peer_ != nullptr && peer_->protocol() == proto) {
      (void)peer_->Receive(f->information, now);
    }
  } else if (proto == ppp::kProtocolIpcp) {
    if (ipcp_started_) (void)ipcp_->Receive(f->information, now);
  } else if (lcp_up_) {
    // IPV6CP, CCP, BCP, anything else: not spoken here (RFC 1661 5.7).
    lcp_->SendProtocolReject(proto, f->information);
  }
  Pump(now);
}

void PppClient::Close(absl::Time now, const std::string& reason) {
  closing_ = true;
  lcp_->Close(now, reason);
  Pump(now);
}

std::optional<absl::Time> PppClient::NextDeadline() const {
  std::optional<absl::Time> t = lcp_->NextDeadline();
  auto merge = [&t](std::optional<absl::Time> o) {
    if (o && (!t || *o < *t)) t = o;
  };
  if (peer_ != nullptr) merge(peer_->NextDeadline());
  if (ipcp_started_) merge(ipcp_->NextDeadline());
  return t;
}

void PppClient::OnTimer(absl::Time now) {
  if (auto t = lcp_->NextDeadline(); t && *t <= now) lcp_->OnTimer(now);
  if (peer_ != nullptr) {
    if (auto t = peer_->NextDeadline(); t && *t <= now) peer_->OnTimer(now);
  }
  if (ipcp_started_) {
    if (auto t = ipcp_->NextDeadline(); t && *t <= now) ipcp_->OnTimer(now);
  }
  Pump(now);
}

std::vector<std::vector<uint8_t>> PppClient::TakeFrames() { return std::move(frames_); }

void PppClient::Pump(absl::Time now) {
  // Run the layers until nothing changes: each layer's events may start or stop the next.
  for (int round = 0; round < 8; ++round) {
    bool changed = false;
    for (ppp::LayerEvent e : lcp_->TakeEvents()) {
      changed = true;
      if (e == ppp::LayerEvent::kUp) {
        lcp_up_ = true;
        const auto& n = lcp_->negotiated();
        if (n.auth.has_value()) {
          ppp::PeerConfig pc;
          pc.user = config_.user;
          pc.password = config_.password;
          pc.random = config_.random;
          auto peer = ppp::MakePeer(*n.auth, pc);
          if (!peer.ok()) {
            Fail(absl::StrCat("authentication: ", peer.status().message()));
            lcp_->Close(now, "authentication not possible");
          } else {
            peer_ = std::move(*peer);
            peer_->Start(now);
          }
        } else {
          // RFC 1661 3.5: no Authentication-Protocol negotiated, straight to the network phase.
          ppp::AuthResult r;
          r.success = true;
          r.user = config_.user;
          r.message = "the server asked for no authentication";
          auth_result_ = r;
          ipcp_started_ = true;
          ipcp_->Up(now);
          ipcp_->Open(now);
        }
      } else if (e == ppp::LayerEvent::kDown || e == ppp::LayerEvent::kFinished) {
        bool was_up = lcp_up_;
        lcp_up_ = false;
        if (ipcp_started_) ipcp_->Down(now);
        if (!closing_) {
          std::string why = lcp_->finish_reason();
          Fail(why.empty() ? (was_up ? "the link went down" : "LCP negotiation failed")
                           : absl::StrCat("LCP: ", why));
        }
      }
    }
    if (peer_ != nullptr && !auth_result_ && peer_->result() != nullptr) {
      changed = true;
      auth_result_ = *peer_->result();
      if (auth_result_->success) {
        ipcp_started_ = true;
        ipcp_->Up(now);
        ipcp_->Open(now);
      } else {
        Fail(absl::StrCat("authentication failed (",
                          std::string(ppp::AuthMethodName(auth_result_->method)),
                          "): ", auth_result_->message));
        closing_ = true;
        lcp_->Close(now, "authentication failed");
      }
    }
    if (ipcp_started_) {
      for (ppp::LayerEvent e : ipcp_->TakeEvents()) {
        changed = true;
        if (e == ppp::LayerEvent::kUp) {
          ipcp_up_ = true;
        } else if (e == ppp::LayerEvent::kDown) {
          // RFC 1661 4: a Configure-Request in Opened renegotiates; the link stays.
          ipcp_up_ = false;
        } else if (e == ppp::LayerEvent::kFinished) {
          bool was = ipcp_up_;
          ipcp_up_ = false;
          if (!closing_ && lcp_up_) {
            std::string why = ipcp_->finish_reason();
            Fail(absl::StrCat("IPCP: ", why.empty() ? (was ? "closed" : "failed") : why));
            closing_ = true;
            lcp_->Close(now, "IPCP failed");
          }
        }
      }
    }
    for (uint16_t rejected : lcp_->TakeProtocolRejects()) {
      changed = true;
      if (rejected == ppp::kProtocolIpcp && ipcp_started_) ipcp_->ReceiveProtocolReject(now);
    }
    for (auto& p : lcp_->TakeOutput()) frames_.push_back(ppp::EncodeFrame(ppp::kProtocolLcp, p));
    if (peer_ != nullptr) {
      for (auto& p : peer_->TakeOutput()) frames_.push_back(ppp::EncodeFrame(peer_->protocol(), p));
    }
    if (ipcp_started_) {
      for (auto& p : ipcp_->TakeOutput())
        frames_.push_back(ppp::EncodeFrame(ppp::kProtocolIpcp, p));
    }
    if (!changed) break;
  }
}

}  // namespace client
