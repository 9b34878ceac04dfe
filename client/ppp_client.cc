#include "client/ppp_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/options.h"
#include "ppp/frame.h"
#include "ppp/fsm.h"

namespace client {

PppClient::PppClient(PppClientConfig config) {
  ppp::SessionConfig sc;
  sc.role = ppp::SessionRole::kClient;
  sc.mru = static_cast<uint16_t>(config.mru);
  sc.multilink = config.mrru.has_value();
  if (config.mrru) sc.mrru = static_cast<uint16_t>(*config.mrru);
  // The methods the user allows (the manual's `authentication`); LCP naks the server toward one.
  sc.auth_methods.clear();
  for (ppp::AuthMethod m : ppp::kAuthPreference) {
    uint8_t bit = m == ppp::AuthMethod::kMsChapV2   ? kAuthMschap2
                  : m == ppp::AuthMethod::kMsChapV1 ? kAuthMschap1
                  : m == ppp::AuthMethod::kChapMd5  ? kAuthChap
                                                    : kAuthPap;
    if (config.auth_methods & bit) sc.auth_methods.push_back(m);
  }
  sc.random = config.random;
  sc.user = config.user;
  sc.password = config.password;
  sc.enable_ipcp = !config.bridge;
  sc.enable_ipv6cp = config.ipv6 && !config.bridge;
  sc.enable_bcp = config.bridge;
  sc.client_request_dns = true;
  session_ = std::make_unique<ppp::Session>(std::move(sc));
}

PppClient::~PppClient() = default;

void PppClient::Start(absl::Time now) {
  session_->Start(now);
  Pump(now);
}

void PppClient::Fail(const std::string& reason) {
  if (failed_) return;
  failed_ = true;
  failure_reason_ = reason;
}

void PppClient::NoteServerAuthRequest(absl::Span<const uint8_t> frame) {
  // RFC 1661 5.1 / 6.2: an LCP Configure-Request (code 1) whose Authentication-Protocol option
  // (type 3) names the method the server wants. Only remembered for the failure message; the
  // session parses and answers the same frame itself.
  auto f = ppp::ParseFrame(frame);
  if (!f.ok() || f->protocol != ppp::kProtocolLcp || f->information.size() < 4 ||
      f->information[0] != 1) {
    return;
  }
  size_t len = ppp::Load16(f->information.subspan(2));
  if (len < 4 || len > f->information.size()) return;
  ppp::OptionList opts;
  if (!ppp::ParseOptions(f->information.subspan(4, len - 4), opts).ok()) return;
  for (const ppp::Option& o : opts) {
    if (o.type != ppp::kLcpAuthProtocol) continue;
    auto m = ppp::ParseAuthOption(o.data);
    std::string name = m.ok() ? std::string(ppp::AuthMethodName(*m)) : "an unsupported method";
    if (std::find(server_asked_.begin(), server_asked_.end(), name) == server_asked_.end()) {
      server_asked_.push_back(name);
    }
  }
}

void PppClient::Receive(absl::Time now, absl::Span<const uint8_t> frame) {
  if (!lcp_up_) NoteServerAuthRequest(frame);
  (void)session_->ReceiveFrame(frame, now);  // bad frames are dropped and counted there
  Pump(now);
}

void PppClient::Close(absl::Time now, const std::string& reason) {
  closing_ = true;
  session_->Close(now, reason);
  Pump(now);
}

std::optional<absl::Time> PppClient::NextDeadline() const { return session_->NextDeadline(); }

void PppClient::OnTimer(absl::Time now) {
  session_->OnTimer(now);
  Pump(now);
}

std::vector<std::vector<uint8_t>> PppClient::TakeFrames() { return session_->TakeOutput(); }

bool PppClient::authenticating() const {
  return lcp_up_ && !authenticated_ && !failed_ && lcp().auth.has_value();
}

std::string PppClient::auth_method() const {
  return lcp().auth ? std::string(ppp::AuthMethodName(*lcp().auth)) : "none";
}

void PppClient::Pump(absl::Time now) {
  for (const ppp::SessionEvent& e : session_->TakeEvents()) {
    switch (e.type) {
      case ppp::SessionEvent::Type::kLcpUp:
        lcp_up_ = true;
        // RFC 1661 3.5: no Authentication-Protocol agreed, straight to the network phase.
        if (!lcp().auth.has_value()) authenticated_ = true;
        break;
      case ppp::SessionEvent::Type::kAuthenticated:
        authenticated_ = true;
        break;
      case ppp::SessionEvent::Type::kNetworkUp:
        if (e.protocol == ppp::kProtocolIpcp) {
          network_.ipv4 = true;
          network_.local_address = e.network.local_address;
          network_.remote_address = e.network.remote_address;
          network_.primary_dns = e.network.primary_dns;
          network_.secondary_dns = e.network.secondary_dns;
        } else if (e.protocol == ppp::kProtocolIpv6cp) {
          network_.ipv6 = true;
          network_.local_interface_id = e.network.local_interface_id;
          network_.remote_interface_id = e.network.remote_interface_id;
        } else if (e.protocol == ppp::kProtocolBcp) {
          network_.bridge = true;
          network_.local_mac = e.network.local_mac;
          network_.peer_mac = e.network.peer_mac;
        }
        break;
      case ppp::SessionEvent::Type::kNetworkDown:
        // RFC 1661 4: a Configure-Request in Opened renegotiates; the link stays.
        if (e.protocol == ppp::kProtocolIpcp) network_.ipv4 = false;
        if (e.protocol == ppp::kProtocolIpv6cp) network_.ipv6 = false;
        if (e.protocol == ppp::kProtocolBcp) network_.bridge = false;
        break;
      case ppp::SessionEvent::Type::kLcpDown:
        lcp_up_ = false;
        network_.ipv4 = network_.ipv6 = network_.bridge = false;
        break;
      case ppp::SessionEvent::Type::kTerminated:
        lcp_up_ = false;
        network_.ipv4 = network_.ipv6 = network_.bridge = false;
        if (!closing_ || e.reason != ppp::TerminateReason::kAdministrative) {
          std::string what(ppp::TerminateReasonName(e.reason));
          Fail(e.message.empty() ? absl::StrCat("PPP: ", what)
                                 : absl::StrCat("PPP: ", what, ": ", e.message));
        }
        break;
    }
  }
  // Authentication failure: say so now, while LCP is still terminating.
  const ppp::AuthResult* r = session_->auth_result();
  if (r != nullptr && !r->success && !failed_) {
    Fail(absl::StrCat("authentication failed (", std::string(ppp::AuthMethodName(r->method)),
                      "): ", r->message));
  }
  (void)now;
}

}  // namespace client
