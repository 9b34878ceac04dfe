#include "ppp/session.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ppp/frame.h"
#include "ppp/ppp_crypto.h"

namespace ppp {

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kDead:
      return "Dead";
    case Phase::kEstablish:
      return "Establish";
    case Phase::kAuthenticate:
      return "Authenticate";
    case Phase::kNetwork:
      return "Network";
    case Phase::kTerminate:
      return "Terminate";
  }
  return "?";
}

std::string_view TerminateReasonName(TerminateReason reason) {
  switch (reason) {
    case TerminateReason::kAdministrative:
      return "administrative";
    case TerminateReason::kPeerTerminated:
      return "peer-terminated";
    case TerminateReason::kLowerLayerDown:
      return "lower-layer-down";
    case TerminateReason::kNegotiationTimeout:
      return "negotiation-timeout";
    case TerminateReason::kNegotiationFailed:
      return "negotiation-failed";
    case TerminateReason::kNoCommonAuth:
      return "no-common-auth";
    case TerminateReason::kAuthFailed:
      return "auth-failed";
    case TerminateReason::kNetworkRefused:
      return "network-refused";
    case TerminateReason::kNoNetworkProtocol:
      return "no-network-protocol";
    case TerminateReason::kLoopback:
      return "loopback";
    case TerminateReason::kEchoTimeout:
      return "echo-timeout";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<Session>> Session::Create(SessionConfig config) {
  if (config.role == SessionRole::kServer && config.policy == nullptr) {
    return absl::InvalidArgumentError("PPP server session: a ServerPolicy is required");
  }
  if (config.role == SessionRole::kClient && !config.auth_methods.empty() && config.user.empty()) {
    return absl::InvalidArgumentError("PPP client session: a user name is required");
  }
  if (config.echo_interval < absl::ZeroDuration() || config.echo_failures < 1) {
    return absl::InvalidArgumentError("PPP session: echo interval/failures out of range");
  }
  if (config.fsm.restart_timer <= absl::ZeroDuration() || config.fsm.max_configure < 1 ||
      config.fsm.max_terminate < 1 || config.fsm.max_failure < 1) {
    return absl::InvalidArgumentError("PPP session: restart timer and counters must be positive");
  }
  return std::make_unique<Session>(std::move(config));
}

Session::Session(SessionConfig config) : config_(std::move(config)) {
  if (!config_.random) config_.random = CryptoRandom;
  LcpConfig lc;
  lc.fsm = config_.fsm;
  lc.mru = config_.mru;
  lc.auth_methods = config_.auth_methods;
  lc.authenticator = config_.role == SessionRole::kServer;
  lc.request_pfc = config_.request_pfc;
  lc.request_acfc = config_.request_acfc;
  lc.multilink = config_.multilink;
  lc.mrru = config_.mrru;
  lc.random32 = [r = config_.random] {
    uint8_t b[4];
    r(absl::MakeSpan(b));
    return Load32(b);
  };
  lcp_ = std::make_unique<Lcp>(std::move(lc));
}

Session::~Session() = default;

// ----- Inputs -----

void Session::Start(absl::Time now) {
  if (started_) return;
  started_ = true;
  phase_ = Phase::kEstablish;
  lcp_->Open(now);
  lcp_->Up(now);
  Process(now);
}

absl::Status Session::ReceiveFrame(absl::Span<const uint8_t> frame, absl::Time now) {
  if (!started_ || terminated_) {
    ++dropped_frames_;
    return absl::FailedPreconditionError(terminated_ ? "PPP: session terminated, frame dropped"
                                                     : "PPP: session not started, frame dropped");
  }
  absl::StatusOr<FrameView> view = ParseFrame(frame);
  if (!view.ok()) {
    ++dropped_frames_;
    return view.status();
  }
  absl::Status status = ReceiveInner(view->protocol, view->information, now, false);
  if (!status.ok()) ++dropped_frames_;
  Process(now);
  return status;
}

absl::Status Session::ReceiveInner(uint16_t protocol, absl::Span<const uint8_t> info,
                                   absl::Time now, bool from_multilink) {
  const bool lcp_opened = lcp_->state() == FsmState::kOpened;
  switch (protocol) {
    case kProtocolLcp:
      return lcp_->Receive(info, now);
    case kProtocolPap:
    case kProtocolChap:
      if (auth_ && auth_->protocol() == protocol) return auth_->Receive(info, now);
      return absl::FailedPreconditionError(
          absl::StrCat("PPP: ", ProtocolName(protocol), " frame outside authentication"));
    case kProtocolIpcp:
    case kProtocolIpv6cp:
    case kProtocolBcp:
      return ReceiveNcpFrame(protocol, info, now);
    case kProtocolIpv4:
    case kProtocolIpv6:
    case kProtocolBridgedLan: {
      const Fsm* ncp = protocol == kProtocolIpv4   ? static_cast<const Fsm*>(ipcp_.get())
                       : protocol == kProtocolIpv6 ? static_cast<const Fsm*>(ipv6cp_.get())
                                                   : static_cast<const Fsm*>(bcp_.get());
      if (ncp == nullptr || ncp->state() != FsmState::kOpened) {
        // RFC 1661 3.4: network packets before their NCP is open are silently discarded.
        return absl::FailedPreconditionError(
            absl::StrCat("PPP: ", ProtocolName(protocol), " packet while its NCP is not open"));
      }
      delivered_.emplace_back(protocol, std::vector<uint8_t>(info.begin(), info.end()));
      return absl::OkStatus();
    }
    case kProtocolMultilink:
      if (reassembler_ && !from_multilink) {
        absl::Status s = reassembler_->Receive(info);
        for (std::vector<uint8_t>& packet : reassembler_->TakePackets()) {
          absl::StatusOr<FrameView> inner = ParseFrame(packet);
          if (inner.ok())
            ReceiveInner(inner->protocol, inner->information, now, true).IgnoreError();
        }
        return s;
      }
      [[fallthrough]];
    default:
      if (lcp_opened) {
        // Unknown or disabled protocol (CCP, CBCP, ...): RFC 1661 5.7.
        lcp_->SendProtocolReject(protocol, info);
        return absl::OkStatus();
      }
      return absl::FailedPreconditionError(
          absl::StrCat("PPP: ", ProtocolName(protocol), " frame before LCP is open"));
  }
}

absl::Status Session::ReceiveNcpFrame(uint16_t protocol, absl::Span<const uint8_t> info,
                                      absl::Time now) {
  const bool enabled = (protocol == kProtocolIpcp && config_.enable_ipcp) ||
                       (protocol == kProtocolIpv6cp && config_.enable_ipv6cp) ||
                       (protocol == kProtocolBcp && config_.enable_bcp);
  if (lcp_->state() != FsmState::kOpened) {
    return absl::FailedPreconditionError(
        absl::StrCat("PPP: ", ProtocolName(protocol), " frame before LCP is open"));
  }
  if (!enabled) {
    lcp_->SendProtocolReject(protocol, info);
    return absl::OkStatus();
  }
  Fsm* ncp = NcpFor(protocol);
  if (ncp == nullptr && phase_ == Phase::kNetwork && !network_pending_) {
    // The network phase runs without this NCP (the user's assignment left it out).
    lcp_->SendProtocolReject(protocol, info);
    return absl::OkStatus();
  }
  if (ncp == nullptr) {
    // Not in the network phase yet (authentication or the policy still running): keep the last
    // frame and replay it when the NCP opens, rather than making the peer wait a restart period.
    auto it = std::find_if(early_ncp_frames_.begin(), early_ncp_frames_.end(),
                           [&](const auto& f) { return f.first == protocol; });
    if (it != early_ncp_frames_.end()) {
      it->second.assign(info.begin(), info.end());
    } else {
      early_ncp_frames_.emplace_back(protocol, std::vector<uint8_t>(info.begin(), info.end()));
    }
    return absl::OkStatus();
  }
  return ncp->Receive(info, now);
}

Fsm* Session::NcpFor(uint16_t protocol) {
  switch (protocol) {
    case kProtocolIpcp:
      return ipcp_.get();
    case kProtocolIpv6cp:
      return ipv6cp_.get();
    case kProtocolBcp:
      return bcp_.get();
    default:
      return nullptr;
  }
}

std::optional<absl::Time> Session::NextDeadline() const {
  if (terminated_ || !started_) return std::nullopt;
  std::optional<absl::Time> d;
  auto take = [&d](std::optional<absl::Time> t) {
    if (t && (!d || *t < *d)) d = t;
  };
  take(lcp_->NextDeadline());
  if (auth_) take(auth_->NextDeadline());
  if (ipcp_) take(ipcp_->NextDeadline());
  if (ipv6cp_) take(ipv6cp_->NextDeadline());
  if (bcp_) take(bcp_->NextDeadline());
  take(next_echo_);
  return d;
}

void Session::OnTimer(absl::Time now) {
  if (terminated_ || !started_) return;
  lcp_->OnTimer(now);
  Process(now);
  if (auth_ && auth_->NextDeadline() && now >= *auth_->NextDeadline()) {
    auth_->OnTimer(now);
    Process(now);
  }
  for (Fsm* ncp : {static_cast<Fsm*>(ipcp_.get()), static_cast<Fsm*>(ipv6cp_.get()),
                   static_cast<Fsm*>(bcp_.get())}) {
    if (ncp) ncp->OnTimer(now);
  }
  Process(now);
  if (next_echo_ && now >= *next_echo_ && !terminated_) {
    if (echoes_outstanding_ >= config_.echo_failures) {
      next_echo_.reset();
      CloseWith(TerminateReason::kEchoTimeout,
                absl::StrCat("no reply to ", echoes_outstanding_, " LCP Echo-Requests"), now);
    } else {
      lcp_->SendEchoRequest();
      ++echoes_outstanding_;
      next_echo_ = now + config_.echo_interval;
    }
    Process(now);
  }
}

void Session::Close(absl::Time now, std::string_view reason) {
  if (!started_ || terminated_) return;
  CloseWith(TerminateReason::kAdministrative, std::string(reason), now);
  Process(now);
}

void Session::LowerLayerDown(absl::Time now) {
  if (!started_ || terminated_) return;
  if (!pending_reason_) {
    pending_reason_ = TerminateReason::kLowerLayerDown;
    pending_message_ = "lower layer down";
  }
  lcp_->Down(now);
  lcp_->TakeOutput();
  Process(now);
  Terminate(*pending_reason_, pending_message_);
}

absl::Status Session::SupplyCredential(std::string_view user, Credential credential,
                                       absl::Time now) {
  if (config_.role != SessionRole::kServer || !auth_) {
    return absl::FailedPreconditionError("PPP: no authentication waiting for a credential");
  }
  absl::Status s =
      static_cast<Authenticator*>(auth_.get())->SupplyCredential(user, std::move(credential), now);
  Process(now);
  return s;
}

void Session::SupplyNetwork(NetworkAssignment assignment, absl::Time now) {
  if (!network_pending_ || terminated_) return;
  network_pending_ = false;
  OpenNcps(assignment, now);
  Process(now);
}

void Session::RefuseNetwork(std::string_view reason, absl::Time now) {
  if (!network_pending_ || terminated_) return;
  network_pending_ = false;
  CloseWith(TerminateReason::kNetworkRefused, std::string(reason), now);
  Process(now);
}

void Session::SendEchoRequest(absl::Time now) {
  if (terminated_) return;
  lcp_->SendEchoRequest();
  ++echoes_outstanding_;
  Process(now);
}

absl::Status Session::SendData(uint16_t protocol, absl::Span<const uint8_t> information) {
  const Fsm* ncp = protocol == kProtocolIpv4         ? static_cast<const Fsm*>(ipcp_.get())
                   : protocol == kProtocolIpv6       ? static_cast<const Fsm*>(ipv6cp_.get())
                   : protocol == kProtocolBridgedLan ? static_cast<const Fsm*>(bcp_.get())
                                                     : nullptr;
  if (ncp == nullptr || ncp->state() != FsmState::kOpened) {
    return absl::FailedPreconditionError(
        absl::StrCat("PPP: cannot send ", ProtocolName(protocol), ": its NCP is not open"));
  }
  // The peer's MRU counts the information field (RFC 1661 6.1); SSTP's length field caps the
  // whole frame.
  size_t limit = std::min<size_t>(lcp_->negotiated().peer_mru, kSstpMaxInformation);
  if (information.size() > limit) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PPP: %d-byte packet exceeds the peer's MRU of %d", information.size(), limit));
  }
  SendFrame(protocol, information);
  return absl::OkStatus();
}

// ----- The machinery -----

void Session::SendFrame(uint16_t protocol, absl::Span<const uint8_t> information) {
  // We never compress what we send (always allowed), so the data plane's encapsulation is a
  // fixed FF 03 + 2-byte protocol.
  output_.push_back(EncodeFrame(protocol, information));
}

void Session::FlushFsm(Fsm& fsm) {
  for (std::vector<uint8_t>& p : fsm.TakeOutput()) SendFrame(fsm.protocol(), p);
}

void Session::Flush() {
  FlushFsm(*lcp_);
  if (auth_) {
    for (std::vector<uint8_t>& p : auth_->TakeOutput()) SendFrame(auth_->protocol(), p);
  }
  if (ipcp_) FlushFsm(*ipcp_);
  if (ipv6cp_) FlushFsm(*ipv6cp_);
  if (bcp_) FlushFsm(*bcp_);
}

void Session::Process(absl::Time now) {
  for (int round = 0; round < 32; ++round) {
    Flush();
    bool progress = false;
    for (LayerEvent e : lcp_->TakeEvents()) {
      progress = true;
      HandleLcpEvent(e, now);
      Flush();
    }
    if (terminated_) {
      Flush();
      return;
    }
    for (uint16_t p : lcp_->TakeProtocolRejects()) {
      progress = true;
      if (Fsm* ncp = NcpFor(p)) {
        ncp->ReceiveProtocolReject(now);
      } else if (p == kProtocolLcp || (auth_ && p == auth_->protocol())) {
        CloseWith(TerminateReason::kNegotiationFailed,
                  absl::StrCat("peer rejected protocol ", ProtocolName(p)), now);
      }
    }
    if (lcp_->loopback_detected() && !pending_reason_) {
      progress = true;
      CloseWith(TerminateReason::kLoopback, "the link is looped back (our magic number returned)",
                now);
    }
    if (lcp_->echo_replies() != echo_replies_seen_) {
      echo_replies_seen_ = lcp_->echo_replies();
      echoes_outstanding_ = 0;
    }
    if (auth_ && !auth_reported_ && auth_->result()) {
      progress = true;
      Flush();  // the Success/Failure goes out before anything it causes
      CheckAuthResult(now);
    }
    for (Fsm* ncp : {static_cast<Fsm*>(ipcp_.get()), static_cast<Fsm*>(ipv6cp_.get()),
                     static_cast<Fsm*>(bcp_.get())}) {
      if (ncp == nullptr) continue;
      for (LayerEvent e : ncp->TakeEvents()) {
        progress = true;
        HandleNcpEvent(*ncp, e, now);
        if (terminated_) break;
      }
    }
    Flush();
    if (!progress || terminated_) return;
  }
}

void Session::HandleLcpEvent(LayerEvent e, absl::Time now) {
  switch (e) {
    case LayerEvent::kUp: {
      SessionEvent ev{SessionEvent::Type::kLcpUp};
      ev.lcp = lcp_->negotiated();
      Emit(std::move(ev));
      if (config_.multilink && lcp_->negotiated().peer_mrru) {
        // We never ask for short sequence numbers (RFC 1990 5.1.2 is about what each end
        // receives), so the peer's fragments carry the long 24-bit format; they reassemble to at
        // most our MRRU.
        reassembler_ = std::make_unique<MultilinkReassembler>(
            MultilinkReassemblerConfig{.short_sequence = false, .mrru = config_.mrru});
      }
      if (config_.echo_interval > absl::ZeroDuration()) {
        next_echo_ = now + config_.echo_interval;
        echoes_outstanding_ = 0;
      }
      if (!pending_reason_) StartAuthentication(now);
      break;
    }
    case LayerEvent::kDown:
      Emit(SessionEvent{SessionEvent::Type::kLcpDown});
      TearDownUpperLayers(now);
      next_echo_.reset();
      phase_ = pending_reason_ ? Phase::kTerminate : Phase::kEstablish;
      break;
    case LayerEvent::kStarted:
      break;
    case LayerEvent::kFinished: {
      if (pending_reason_) {
        Terminate(*pending_reason_, pending_message_);
        break;
      }
      const std::string& why = lcp_->finish_reason();
      TerminateReason r = TerminateReason::kNegotiationFailed;
      if (lcp_->terminated_by_peer()) {
        r = TerminateReason::kPeerTerminated;
      } else if (why.find("Max-Configure") != std::string::npos) {
        r = TerminateReason::kNegotiationTimeout;
      } else if (why.find("authenticat") != std::string::npos) {
        r = TerminateReason::kNoCommonAuth;
      }
      Terminate(r, why.empty() ? std::string("LCP finished") : why);
      break;
    }
  }
}

void Session::StartAuthentication(absl::Time now) {
  phase_ = Phase::kAuthenticate;
  auth_reported_ = false;
  auth_result_.reset();
  std::optional<AuthMethod> method = lcp_->negotiated().auth;
  if (!method) {
    EnterNetworkPhase(now);  // no authentication agreed (RFC 1661 3.5 skips the phase)
    return;
  }
  if (config_.role == SessionRole::kServer) {
    AuthenticatorConfig ac;
    ac.name = config_.server_name;
    ServerPolicy* policy = config_.policy;
    ac.lookup = [policy](std::string_view user) { return policy->LookupCredential(user); };
    ac.random = config_.random;
    ac.restart_timer = config_.auth_restart_timer;
    ac.max_transmissions = config_.auth_max_transmissions;
    ac.success_message = config_.success_message;
    ac.failure_message = config_.failure_message;
    absl::StatusOr<std::unique_ptr<Authenticator>> a = MakeAuthenticator(*method, std::move(ac));
    if (!a.ok()) {
      CloseWith(TerminateReason::kAuthFailed, std::string(a.status().message()), now);
      return;
    }
    auth_ = std::move(*a);
  } else {
    PeerConfig pc;
    pc.user = config_.user;
    pc.password = config_.password;
    pc.random = config_.random;
    pc.restart_timer = config_.auth_restart_timer;
    pc.max_transmissions = config_.auth_max_transmissions;
    absl::StatusOr<std::unique_ptr<Peer>> p = MakePeer(*method, std::move(pc));
    if (!p.ok()) {
      CloseWith(TerminateReason::kAuthFailed, std::string(p.status().message()), now);
      return;
    }
    auth_ = std::move(*p);
  }
  auth_->Start(now);
  Flush();
  CheckAuthResult(now);
}

void Session::CheckAuthResult(absl::Time now) {
  if (!auth_ || auth_reported_ || auth_->result() == nullptr) return;
  auth_reported_ = true;
  auth_result_ = *auth_->result();
  if (auth_result_->success) {
    SessionEvent ev{SessionEvent::Type::kAuthenticated};
    ev.auth = *auth_result_;
    Emit(std::move(ev));
    EnterNetworkPhase(now);
  } else {
    CloseWith(TerminateReason::kAuthFailed,
              auth_result_->message.empty()
                  ? absl::StrCat("authentication failed: ",
                                 std::string(AuthFailureName(auth_result_->failure)))
                  : auth_result_->message,
              now);
  }
}

void Session::EnterNetworkPhase(absl::Time now) {
  phase_ = Phase::kNetwork;
  if (!config_.enable_ipcp && !config_.enable_ipv6cp && !config_.enable_bcp) {
    CloseWith(TerminateReason::kNoNetworkProtocol, "no network protocol is enabled", now);
    return;
  }
  if (config_.role == SessionRole::kClient) {
    OpenNcps(NetworkAssignment{}, now);
    return;
  }
  ServerPolicy::Decision d = config_.policy->AssignNetwork(auth_result());
  switch (d.kind) {
    case ServerPolicy::Decision::Kind::kAssign:
      OpenNcps(d.assignment, now);
      break;
    case ServerPolicy::Decision::Kind::kPending:
      network_pending_ = true;
      break;
    case ServerPolicy::Decision::Kind::kRefuse:
      CloseWith(TerminateReason::kNetworkRefused,
                d.reason.empty() ? std::string("network refused by policy") : d.reason, now);
      break;
  }
}

void Session::OpenNcps(const NetworkAssignment& a, absl::Time now) {
  const bool server = config_.role == SessionRole::kServer;
  if (server && !(config_.enable_ipcp && a.ipcp) && !(config_.enable_ipv6cp && a.ipv6cp) &&
      !(config_.enable_bcp && a.bcp)) {
    CloseWith(TerminateReason::kNoNetworkProtocol,
              "the assignment enables no network protocol for this user", now);
    return;
  }
  if (config_.enable_ipcp && (!server || a.ipcp)) {
    IpcpConfig c;
    c.fsm = config_.fsm;
    c.server = server;
    if (server) {
      c.local_address = a.local_address;
      c.remote_address = a.remote_address;
      c.primary_dns = a.primary_dns;
      c.secondary_dns = a.secondary_dns;
    } else {
      c.local_address = config_.client_requested_address;
      c.request_dns = config_.client_request_dns;
    }
    ipcp_ = std::make_unique<Ipcp>(c);
  }
  if (config_.enable_ipv6cp && (!server || a.ipv6cp)) {
    Ipv6cpConfig c;
    c.fsm = config_.fsm;
    c.local_identifier = server ? a.local_interface_id : config_.client_interface_id;
    c.remote_identifier = server ? a.remote_interface_id : 0;
    c.random64 = [r = config_.random] {
      uint8_t b[8];
      r(absl::MakeSpan(b));
      return uint64_t{Load32(b)} << 32 | Load32(absl::MakeConstSpan(b).subspan(4));
    };
    ipv6cp_ = std::make_unique<Ipv6cp>(c);
  }
  if (config_.enable_bcp && (!server || a.bcp)) {
    BcpConfig c;
    c.fsm = config_.fsm;
    c.local_mac = server ? a.local_mac : config_.client_mac;
    c.remote_mac = server ? a.remote_mac : std::nullopt;
    bcp_ = std::make_unique<Bcp>(c);
  }
  for (Fsm* ncp : {static_cast<Fsm*>(ipcp_.get()), static_cast<Fsm*>(ipv6cp_.get()),
                   static_cast<Fsm*>(bcp_.get())}) {
    if (ncp == nullptr) continue;
    ncp->Open(now);
    ncp->Up(now);
  }
  Flush();
  // Requests that arrived while we were not ready.
  auto early = std::move(early_ncp_frames_);
  early_ncp_frames_.clear();
  for (auto& [protocol, packet] : early) {
    if (Fsm* ncp = NcpFor(protocol)) {
      ncp->Receive(packet, now).IgnoreError();
    } else {
      lcp_->SendProtocolReject(protocol, packet);
    }
  }
}

SessionEvent Session::NetworkEvent(SessionEvent::Type type, const Fsm& ncp) const {
  SessionEvent ev{type};
  ev.protocol = ncp.protocol();
  if (&ncp == ipcp_.get()) {
    const IpcpNegotiated& n = ipcp_->negotiated();
    ev.network.local_address = n.local_address;
    ev.network.remote_address = n.remote_address;
    ev.network.primary_dns = n.primary_dns;
    ev.network.secondary_dns = n.secondary_dns;
  } else if (&ncp == ipv6cp_.get()) {
    ev.network.local_interface_id = ipv6cp_->negotiated().local_identifier;
    ev.network.remote_interface_id = ipv6cp_->negotiated().remote_identifier;
  } else if (&ncp == bcp_.get()) {
    ev.network.local_mac = bcp_->negotiated().local_mac;
    ev.network.peer_mac = bcp_->negotiated().peer_mac;
  }
  return ev;
}

void Session::HandleNcpEvent(Fsm& ncp, LayerEvent e, absl::Time now) {
  switch (e) {
    case LayerEvent::kUp:
      Emit(NetworkEvent(SessionEvent::Type::kNetworkUp, ncp));
      break;
    case LayerEvent::kDown:
      Emit(NetworkEvent(SessionEvent::Type::kNetworkDown, ncp));
      break;
    case LayerEvent::kStarted:
      break;
    case LayerEvent::kFinished: {
      if (pending_reason_) break;
      // The link stays up while any NCP is open or still negotiating (RFC 1661 3.4 lets the link
      // go when the last one closes).
      std::string reasons;
      for (const Fsm* n :
           {static_cast<const Fsm*>(ipcp_.get()), static_cast<const Fsm*>(ipv6cp_.get()),
            static_cast<const Fsm*>(bcp_.get())}) {
        if (n == nullptr) continue;
        FsmState s = n->state();
        if (s == FsmState::kOpened || s == FsmState::kReqSent || s == FsmState::kAckRcvd ||
            s == FsmState::kAckSent || s == FsmState::kStarting) {
          return;
        }
        absl::StrAppend(&reasons, reasons.empty() ? "" : "; ", n->name(), ": ",
                        n->finish_reason().empty() ? "closed" : n->finish_reason());
      }
      CloseWith(TerminateReason::kNoNetworkProtocol,
                absl::StrCat("no network protocol is up (", reasons, ")"), now);
      break;
    }
  }
}

void Session::TearDownUpperLayers(absl::Time now) {
  for (Fsm* ncp : {static_cast<Fsm*>(ipcp_.get()), static_cast<Fsm*>(ipv6cp_.get()),
                   static_cast<Fsm*>(bcp_.get())}) {
    if (ncp != nullptr && ncp->state() == FsmState::kOpened) {
      Emit(NetworkEvent(SessionEvent::Type::kNetworkDown, *ncp));
    }
  }
  ipcp_.reset();
  ipv6cp_.reset();
  bcp_.reset();
  auth_.reset();
  auth_reported_ = false;
  reassembler_.reset();
  early_ncp_frames_.clear();
  network_pending_ = false;
}

void Session::CloseWith(TerminateReason reason, std::string message, absl::Time now) {
  if (terminated_) return;
  if (!pending_reason_) {
    pending_reason_ = reason;
    pending_message_ = std::move(message);
  }
  phase_ = Phase::kTerminate;
  lcp_->Close(now, pending_message_);
  Flush();
  // Close from a state that sends nothing (Closed, Stopped, Initial) has no tlf to wait for.
  FsmState s = lcp_->state();
  if (s == FsmState::kClosed || s == FsmState::kInitial) {
    lcp_->TakeEvents();
    Terminate(*pending_reason_, pending_message_);
  }
}

void Session::Terminate(TerminateReason reason, std::string message) {
  if (terminated_) return;
  TearDownUpperLayers(absl::InfinitePast());
  terminated_ = true;
  phase_ = Phase::kDead;
  next_echo_.reset();
  SessionEvent ev{SessionEvent::Type::kTerminated};
  ev.reason = reason;
  ev.message = std::move(message);
  Emit(std::move(ev));
}

std::array<uint8_t, 32> Session::Hlak() const {
  std::array<uint8_t, 32> hlak{};
  if (!auth_result_ || !auth_result_->success || !auth_result_->mppe) return hlak;
  const MppeKeys& k = *auth_result_->mppe;
  const bool server = config_.role == SessionRole::kServer;
  const auto& first = server ? k.receive : k.send;
  const auto& second = server ? k.send : k.receive;
  std::copy(first.begin(), first.end(), hlak.begin());
  std::copy(second.begin(), second.end(), hlak.begin() + 16);
  return hlak;
}

}  // namespace ppp
