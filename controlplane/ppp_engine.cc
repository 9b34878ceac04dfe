#include "controlplane/ppp_engine.h"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "controlplane/values.h"
#include "ppp/session.h"

namespace cp {
namespace {

ring::AuthMethod ToRing(ppp::AuthMethod m) {
  switch (m) {
    case ppp::AuthMethod::kPap:
      return ring::AuthMethod::kPap;
    case ppp::AuthMethod::kChapMd5:
      return ring::AuthMethod::kChap;
    case ppp::AuthMethod::kMsChapV1:
      return ring::AuthMethod::kMsChap1;
    case ppp::AuthMethod::kMsChapV2:
      return ring::AuthMethod::kMsChap2;
  }
  return ring::AuthMethod::kNone;
}

ring::CloseReason ToRing(ppp::TerminateReason r) {
  using R = ppp::TerminateReason;
  switch (r) {
    case R::kAdministrative:
      return ring::CloseReason::kAdminClose;
    case R::kPeerTerminated:
      return ring::CloseReason::kClientDisconnect;
    case R::kLowerLayerDown:
      return ring::CloseReason::kTcpReset;
    case R::kAuthFailed:
      return ring::CloseReason::kAuthFailed;
    case R::kNetworkRefused:
      return ring::CloseReason::kNoAddress;
    case R::kEchoTimeout:
      return ring::CloseReason::kKeepaliveTimeout;
    default:
      return ring::CloseReason::kNegotiationFailed;
  }
}

// One PPP server link per SSTP session: ppp::Session in the server role, with the controller
// as its policy (users from /ppp secret, addresses from the secret, its profile or a pool).
class PppServerEngine : public SessionEngine, public ppp::ServerPolicy {
 public:
  PppServerEngine(Controller& c, Session& s) : c_(c), s_(s) {
    ppp::SessionConfig cfg;
    cfg.role = ppp::SessionRole::kServer;
    const Config& conf = c.config();
    cfg.mru = uint16_t(std::min<int64_t>(ParseInt(conf.Server("max-mru")).value_or(1500), 4091));
    max_mtu_ = uint16_t(ParseInt(conf.Server("max-mtu")).value_or(1500));
    std::string mrru = conf.Server("mrru");
    if (mrru != "disabled") {
      cfg.multilink = true;
      cfg.mrru = uint16_t(ParseInt(mrru).value_or(1614));
    }
    // The server's allowed methods (authentication=); ppp/ asks in the fixed preference order
    // mschap2 > mschap1 > chap > pap.
    uint8_t mask = c.AllowedAuth();
    cfg.auth_methods.clear();
    if (mask & 8) cfg.auth_methods.push_back(ppp::AuthMethod::kMsChapV2);
    if (mask & 4) cfg.auth_methods.push_back(ppp::AuthMethod::kMsChapV1);
    if (mask & 2) cfg.auth_methods.push_back(ppp::AuthMethod::kChapMd5);
    if (mask & 1) cfg.auth_methods.push_back(ppp::AuthMethod::kPap);
    cfg.random = [](absl::Span<uint8_t> out) { RAND_bytes(out.data(), int(out.size())); };
    cfg.policy = this;
    cfg.server_name = "sstp";
    cfg.enable_ipcp = true;
    // IPV6CP is not offered: the data plane forwards IPv4 and bridged frames only, and a client
    // that opened IPV6CP would route IPv6 into a tunnel that drops it. A client's IPV6CP
    // Configure-Request is Protocol-Rejected (RFC 1661 5.7), which every client takes as
    // "no IPv6 here" and goes on with IPCP.
    cfg.enable_ipv6cp = false;
    // BCP (RFC 3518) is allowed here and chosen per user once authenticated
    // (NetworkAssignment::bcp in AssignNetwork): only users whose profile names a bridge get it;
    // for the others a BCP Configure-Request is Protocol-Rejected (RFC 1661 5.7).
    cfg.enable_bcp = true;
    auto session = ppp::Session::Create(std::move(cfg));
    if (session.ok()) session_ = *std::move(session);
  }

  void Start(absl::Time now) override {
    if (!session_) {
      c_.Close(s_, ring::CloseReason::kNegotiationFailed, "PPP configuration invalid");
      return;
    }
    now_ = now;
    session_->Start(now);
    Pump(now);
  }
  void OnFrame(absl::Span<const uint8_t> frame, absl::Time now) override {
    if (!session_) return;
    now_ = now;
    (void)session_->ReceiveFrame(frame, now);  // a bad frame is dropped and counted by ppp/
    Pump(now);
  }
  void OnTimer(absl::Time now) override {
    if (!session_) return;
    now_ = now;
    session_->OnTimer(now);
    Pump(now);
  }
  void Terminate(const std::string& reason) override {
    if (!session_) return;
    session_->Close(now_, reason);  // LCP Terminate-Request; the SSTP close follows at once
    Pump(now_);
  }
  absl::Time NextDeadline() const override {
    if (!session_) return absl::InfiniteFuture();
    return session_->NextDeadline().value_or(absl::InfiniteFuture());
  }

  // ppp::ServerPolicy
  ppp::Credential LookupCredential(std::string_view user) override {
    // MS-CHAP peers may send DOMAIN\user: RouterOS matches the secret on the user part.
    std::string name(user);
    size_t bs = name.find('\\');
    if (bs != std::string::npos && !c_.FindUser(name)) name = name.substr(bs + 1);
    auto u = c_.FindUser(name);
    if (!u) return ppp::Credential::NotFound();
    absl::Status may = c_.MayConnect(s_, *u);
    if (!may.ok()) {
      // ppp/ only knows "disabled"; the log says which check refused the user.
      deny_reason_ = std::string(may.message());
      return ppp::Credential::Disabled();
    }
    return ppp::Credential::Found(u->password);
  }

  Decision AssignNetwork(const ppp::AuthResult* auth) override {
    if (auth == nullptr) return Decision::Refuse("no authentication");
    // ppp/ asks before it reports kAuthenticated: the session learns its user here.
    ReportAuthenticated(*auth, now_);
    ppp::NetworkAssignment n;
    n.bcp = c_.BridgedUser(s_.user);  // the profile's bridge= (manual: "SSTP also supports BCP")
    auto a = c_.Addresses(s_);
    if (!a.ok()) {
      // A bridged user needs no IPv4 address: the tunnel then carries Ethernet only.
      if (!n.bcp || !absl::IsNotFound(a.status())) {
        return Decision::Refuse(std::string(a.status().message()));
      }
      n.ipcp = false;
      n.ipv6cp = false;
      return Decision::Assign(n);
    }
    n.local_address = a->first;
    n.remote_address = a->second;
    auto dns = c_.DnsServers(s_);
    if (!dns.empty()) n.primary_dns = dns[0];
    if (dns.size() > 1) n.secondary_dns = dns[1];
    return Decision::Assign(n);
  }

 private:
  void ReportAuthenticated(const ppp::AuthResult& auth, absl::Time now) {
    if (authorized_ || !auth.success) return;
    authorized_ = true;
    std::string user = auth.user;
    size_t bs = user.find('\\');
    if (bs != std::string::npos && !c_.FindUser(user)) user = user.substr(bs + 1);
    c_.Authorized(s_, user, ToRing(auth.method), session_->Hlak(), now);
  }

  // One log line per failed authentication (RouterOS "<user> authentication failed: ...").
  // Logged as soon as the authenticator's verdict is known (the Failure goes out with it): the
  // client may hang up before the LCP termination that follows would report it.
  void LogAuthFailure(const ppp::SessionEvent* e, absl::Time now) {
    if (auth_failure_logged_) return;
    auth_failure_logged_ = true;
    const ppp::AuthResult* ar = session_->auth_result();
    std::string reason;
    if (e != nullptr && e->reason == ppp::TerminateReason::kNoCommonAuth) {
      reason = "no common authentication method";
    } else if (ar == nullptr) {
      reason = e != nullptr ? e->message : "authentication failed";
    } else {
      switch (ar->failure) {
        case ppp::AuthFailure::kWrongPassword:
          reason = "wrong password";
          break;
        case ppp::AuthFailure::kNoSuchUser:
          reason = "unknown user";
          break;
        case ppp::AuthFailure::kDisabled:
          reason = deny_reason_.empty() ? "user disabled" : deny_reason_;
          break;
        default:
          reason = std::string(ppp::AuthFailureName(ar->failure));
          break;
      }
    }
    c_.AuthFailed(s_, ar ? ar->user : "", ar ? ToRing(ar->method) : ring::AuthMethod::kNone, reason,
                  now);
  }

  void Pump(absl::Time now) {
    const ppp::AuthResult* verdict = session_->auth_result();
    if (verdict != nullptr && !verdict->success) LogAuthFailure(nullptr, now);
    for (auto& f : session_->TakeOutput()) c_.SendFrame(s_, f);
    for (auto& e : session_->TakeEvents()) {
      using T = ppp::SessionEvent::Type;
      switch (e.type) {
        case T::kLcpUp:
          if (e.lcp) mtu_ = std::min<uint16_t>(e.lcp->peer_mru, max_mtu_);
          break;
        case T::kAuthenticated:
          if (e.auth) ReportAuthenticated(*e.auth, now);
          break;
        case T::kNetworkUp:
          if (e.protocol == 0x8057) {  // IPV6CP (RFC 5072)
            local_ifid_ = e.network.local_interface_id;
            remote_ifid_ = e.network.remote_interface_id;
          }
          if (e.protocol == 0x8031) bridge_ = true;  // BCP (RFC 3518)
          c_.NetworkUp(s_, mtu_, local_ifid_, remote_ifid_, bridge_, now);
          break;
        case T::kTerminated:
          if (e.reason == ppp::TerminateReason::kAuthFailed ||
              e.reason == ppp::TerminateReason::kNoCommonAuth) {
            LogAuthFailure(&e, now);
          }
          c_.Close(s_, ToRing(e.reason), e.message);
          break;
        default:
          break;
      }
    }
  }

  Controller& c_;
  Session& s_;
  std::unique_ptr<ppp::Session> session_;
  uint16_t max_mtu_ = 1500;
  uint16_t mtu_ = 1500;
  uint64_t local_ifid_ = 0, remote_ifid_ = 0;
  bool bridge_ = false;
  bool authorized_ = false;
  std::string deny_reason_;  // why MayConnect refused the user, for the log
  bool auth_failure_logged_ = false;
  absl::Time now_;
};

}  // namespace

EngineFactory MakePppEngineFactory() {
  return [](Controller& c, Session& s) -> std::unique_ptr<SessionEngine> {
    return std::make_unique<PppServerEngine>(c, s);
  };
}

}  // namespace cp
