#include "ppp/lcp.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "ppp/frame.h"

namespace ppp {
namespace {

constexpr uint16_t kMinMru = 128;  // as pppd: smaller cannot carry an LCP or IPCP exchange

uint16_t ClampMru(uint16_t mru) {
  return static_cast<uint16_t>(std::clamp<size_t>(mru, kMinMru, kSstpMaxMru));
}

void AppendRaw(const Option& o, std::vector<uint8_t>& out) {
  out.insert(out.end(), o.raw.begin(), o.raw.end());
}

}  // namespace

Lcp::Lcp(LcpConfig config) : Fsm(kProtocolLcp, "LCP", config.fsm), config_(std::move(config)) {
  if (!config_.random32) {
    config_.random32 = [] {
      absl::BitGen gen;
      return absl::Uniform<uint32_t>(gen);
    };
  }
}

uint32_t Lcp::NewMagic() {
  uint32_t m = 0;
  for (int i = 0; i < 8 && (m == 0 || m == magic_); ++i) m = config_.random32();
  if (m == 0 || m == magic_) m = magic_ + 0x9E3779B9u;  // a broken random source still differs
  return m;
}

bool Lcp::Allows(AuthMethod m) const {
  return std::find(config_.auth_methods.begin(), config_.auth_methods.end(), m) !=
         config_.auth_methods.end();
}

std::optional<AuthMethod> Lcp::NextAuthAfterRefusal(AuthMethod refused) const {
  for (AuthMethod m : kAuthPreference) {
    if (!Allows(m) || m == refused) continue;
    if (std::find(refused_auth_.begin(), refused_auth_.end(), m) != refused_auth_.end()) continue;
    return m;
  }
  return std::nullopt;
}

void Lcp::ResetConfigureRequest() {
  mru_ = ClampMru(config_.mru);
  want_mru_ = mru_ != 1500;
  want_auth_.reset();
  refused_auth_.clear();
  if (config_.authenticator) {
    for (AuthMethod m : kAuthPreference) {
      if (Allows(m)) {
        want_auth_ = m;
        break;
      }
    }
  }
  want_magic_ = true;
  magic_ = NewMagic();
  want_pfc_ = config_.request_pfc;
  want_acfc_ = config_.request_acfc;
  want_mrru_ = config_.multilink;
  fail_reason_.clear();
}

void Lcp::BuildConfigureRequest(std::vector<uint8_t>& options) {
  if (want_mru_) AppendOption16(kLcpMru, mru_, options);
  if (want_auth_) AppendOption(kLcpAuthProtocol, EncodeAuthOption(*want_auth_), options);
  if (want_magic_) AppendOption32(kLcpMagicNumber, magic_, options);
  if (want_pfc_) AppendOption(kLcpPfc, {}, options);
  if (want_acfc_) AppendOption(kLcpAcfc, {}, options);
  if (want_mrru_) AppendOption16(kLcpMrru, config_.mrru, options);
}

Verdict Lcp::ReceiveConfigureRequest(const OptionList& options, bool nak_allowed,
                                     std::vector<uint8_t>& reply) {
  std::vector<uint8_t> nak, rej, nak_as_rej;
  LcpNegotiated cand = negotiated_;
  cand.peer_mru = 1500;
  cand.peer_accm = 0xFFFFFFFF;
  cand.peer_magic = 0;
  cand.peer_pfc = cand.peer_acfc = false;
  cand.peer_mrru.reset();
  cand.peer_short_sequence = false;
  cand.peer_endpoint.clear();
  if (!config_.authenticator) cand.auth.reset();
  bool magic_collision = false;

  auto do_nak = [&](const Option& o, auto&& append_suggestion) {
    append_suggestion(nak);
    AppendRaw(o, nak_as_rej);
  };

  for (const Option& o : options) {
    switch (o.type) {
      case kLcpMru:
        if (o.data.size() != 2) {
          AppendRaw(o, rej);
        } else if (Load16(o.data) < kMinMru) {
          do_nak(o, [](std::vector<uint8_t>& v) { AppendOption16(kLcpMru, kMinMru, v); });
        } else {
          cand.peer_mru = std::min<uint16_t>(Load16(o.data), kSstpMaxMru);
        }
        break;
      case kLcpAccm:
        if (o.data.size() != 4) {
          AppendRaw(o, rej);
        } else {
          cand.peer_accm = Load32(o.data);
        }
        break;
      case kLcpAuthProtocol: {
        if (config_.authenticator) {
          // The concentrator does not authenticate itself to its clients.
          AppendRaw(o, rej);
          break;
        }
        absl::StatusOr<AuthMethod> m = ParseAuthOption(o.data);
        if (m.ok() && Allows(*m)) {
          cand.auth = *m;
          break;
        }
        // Nak toward the method we like best among those we allow (RFC 1661 6.2).
        std::optional<AuthMethod> best;
        for (AuthMethod p : kAuthPreference) {
          if (Allows(p)) {
            best = p;
            break;
          }
        }
        if (!best) {
          AppendRaw(o, rej);
        } else {
          do_nak(o, [&](std::vector<uint8_t>& v) {
            AppendOption(kLcpAuthProtocol, EncodeAuthOption(*best), v);
          });
        }
        break;
      }
      case kLcpMagicNumber: {
        if (o.data.size() != 4) {
          AppendRaw(o, rej);
          break;
        }
        uint32_t m = Load32(o.data);
        if (want_magic_ && m == magic_ && m != 0) {
          // Our own magic came back: a looped-back link or a peer that chose the same number.
          // Nak with another value and choose a new one ourselves (RFC 1661 6.4).
          magic_collision = true;
          magic_ = NewMagic();
          uint32_t suggestion = NewMagic();
          do_nak(o,
                 [&](std::vector<uint8_t>& v) { AppendOption32(kLcpMagicNumber, suggestion, v); });
        } else if (m == 0) {
          uint32_t suggestion = NewMagic();
          do_nak(o,
                 [&](std::vector<uint8_t>& v) { AppendOption32(kLcpMagicNumber, suggestion, v); });
        } else {
          cand.peer_magic = m;
        }
        break;
      }
      case kLcpPfc:
      case kLcpAcfc:
        if (!o.data.empty()) {
          AppendRaw(o, rej);
        } else if (o.type == kLcpPfc) {
          cand.peer_pfc = true;
        } else {
          cand.peer_acfc = true;
        }
        break;
      case kLcpMrru:
        if (!config_.multilink || o.data.size() != 2) {
          AppendRaw(o, rej);
        } else {
          cand.peer_mrru = Load16(o.data);
        }
        break;
      case kLcpShortSequence:
        if (!config_.multilink || !o.data.empty()) {
          AppendRaw(o, rej);
        } else {
          cand.peer_short_sequence = true;
        }
        break;
      case kLcpEndpointDiscriminator:
        // RFC 1990 5.1.3: class byte and address. Harmless without multilink; Windows sends it.
        if (o.data.empty()) {
          AppendRaw(o, rej);
        } else {
          cand.peer_endpoint.assign(o.data.begin(), o.data.end());
        }
        break;
      case kLcpCallback:
        if (!config_.accept_callback) AppendRaw(o, rej);
        break;
      default:  // Quality-Protocol, FCS alternatives, unknown: reject (RFC 1661 5.4)
        AppendRaw(o, rej);
        break;
    }
  }

  if (magic_collision) {
    if (++magic_collisions_ >= config_.max_magic_collisions) {
      loopback_ = true;
    }
  } else {
    magic_collisions_ = 0;
  }

  if (!rej.empty()) {
    reply = std::move(rej);
    return Verdict::kReject;
  }
  if (!nak.empty()) {
    reply = nak_allowed ? std::move(nak) : std::move(nak_as_rej);
    return nak_allowed ? Verdict::kNak : Verdict::kReject;
  }
  for (const Option& o : options) AppendRaw(o, reply);
  negotiated_.peer_mru = cand.peer_mru;
  negotiated_.peer_accm = cand.peer_accm;
  negotiated_.peer_magic = cand.peer_magic;
  negotiated_.peer_pfc = cand.peer_pfc;
  negotiated_.peer_acfc = cand.peer_acfc;
  negotiated_.peer_mrru = cand.peer_mrru;
  negotiated_.peer_short_sequence = cand.peer_short_sequence;
  negotiated_.peer_endpoint = std::move(cand.peer_endpoint);
  if (!config_.authenticator) negotiated_.auth = cand.auth;
  return Verdict::kAck;
}

void Lcp::ReceiveConfigureAck(const OptionList&) {
  negotiated_.our_mru = want_mru_ ? mru_ : 1500;
  negotiated_.our_magic = want_magic_ ? magic_ : 0;
  negotiated_.our_pfc = want_pfc_;
  negotiated_.our_acfc = want_acfc_;
  if (config_.authenticator) negotiated_.auth = want_auth_;
}

NakResult Lcp::ReceiveConfigureNak(const OptionList& options) {
  for (const Option& o : options) {
    switch (o.type) {
      case kLcpMru:
        // The peer suggests an MRU; take it if we can receive it (at most our configured one).
        if (o.data.size() == 2 && Load16(o.data) >= kMinMru &&
            Load16(o.data) <= ClampMru(config_.mru)) {
          mru_ = Load16(o.data);
          want_mru_ = mru_ != 1500;
        }
        break;
      case kLcpAuthProtocol: {
        if (!want_auth_) break;  // unsolicited: we do not authenticate to a client
        absl::StatusOr<AuthMethod> m = ParseAuthOption(o.data);
        refused_auth_.push_back(*want_auth_);
        if (m.ok() && Allows(*m) &&
            std::find(refused_auth_.begin(), refused_auth_.end(), *m) == refused_auth_.end()) {
          want_auth_ = *m;
          break;
        }
        std::optional<AuthMethod> next = NextAuthAfterRefusal(*want_auth_);
        if (!next) {
          fail_reason_ = absl::StrCat(
              "no authentication method in common with the peer (it asks for ",
              m.ok() ? std::string(AuthMethodName(*m)) : std::string("an unsupported one"), ")");
          return NakResult::kFail;
        }
        want_auth_ = next;
        break;
      }
      case kLcpMagicNumber:
        if (o.data.size() == 4) {
          magic_ = NewMagic();
          if (++magic_collisions_ >= config_.max_magic_collisions) loopback_ = true;
        }
        break;
      case kLcpMrru:
        if (want_mrru_ && o.data.size() == 2 && Load16(o.data) >= kMinMru) {
          config_.mrru = Load16(o.data);
        }
        break;
      default:
        break;  // suggestions of options we did not ask for: ignored
    }
  }
  return NakResult::kApplied;
}

NakResult Lcp::ReceiveConfigureReject(const OptionList& options) {
  for (const Option& o : options) {
    switch (o.type) {
      case kLcpMru:
        want_mru_ = false;
        break;
      case kLcpAuthProtocol:
        if (want_auth_) {
          fail_reason_ = "the peer refuses to authenticate (rejected Authentication-Protocol)";
          return NakResult::kFail;
        }
        break;
      case kLcpMagicNumber:
        want_magic_ = false;
        break;
      case kLcpPfc:
        want_pfc_ = false;
        break;
      case kLcpAcfc:
        want_acfc_ = false;
        break;
      case kLcpMrru:
        want_mrru_ = false;
        break;
      default:
        break;
    }
  }
  return NakResult::kApplied;
}

bool Lcp::ReceiveOtherCode(uint8_t code, uint8_t id, absl::Span<const uint8_t> data,
                           absl::Time now) {
  const bool opened = state() == FsmState::kOpened;
  switch (static_cast<Code>(code)) {
    case Code::kProtocolReject:
      // RFC 1661 5.7: only meaningful in Opened; the Session stops the rejected protocol.
      if (opened && data.size() >= 2) protocol_rejects_.push_back(Load16(data));
      return true;
    case Code::kEchoRequest: {
      if (!opened || data.size() < 4) return true;  // RFC 1661 5.8: discard outside Opened
      uint32_t magic = Load32(data);
      if (negotiated_.our_magic != 0 && magic == negotiated_.our_magic) loopback_ = true;
      std::vector<uint8_t> reply(data.begin(), data.end());
      uint32_t m = negotiated_.our_magic;
      reply[0] = static_cast<uint8_t>(m >> 24);
      reply[1] = static_cast<uint8_t>(m >> 16);
      reply[2] = static_cast<uint8_t>(m >> 8);
      reply[3] = static_cast<uint8_t>(m);
      SendPacket(static_cast<uint8_t>(Code::kEchoReply), id, reply);
      return true;
    }
    case Code::kEchoReply:
      if (!opened || data.size() < 4) return true;
      if (negotiated_.our_magic != 0 && Load32(data) == negotiated_.our_magic) loopback_ = true;
      ++echo_replies_;
      last_echo_id_ = id;
      return true;
    case Code::kDiscardRequest:
    case Code::kIdentification:
    case Code::kTimeRemaining:
      return true;
    default:
      return false;
  }
}

void Lcp::SendEchoRequest() {
  if (state() != FsmState::kOpened) return;
  uint32_t m = negotiated_.our_magic;
  uint8_t data[4] = {static_cast<uint8_t>(m >> 24), static_cast<uint8_t>(m >> 16),
                     static_cast<uint8_t>(m >> 8), static_cast<uint8_t>(m)};
  SendPacket(static_cast<uint8_t>(Code::kEchoRequest), ++echo_id_, data);
}

void Lcp::SendProtocolReject(uint16_t protocol, absl::Span<const uint8_t> information) {
  if (state() != FsmState::kOpened) return;
  std::vector<uint8_t> data;
  // The rejected information is truncated to fit the peer's MRU (RFC 1661 5.7).
  size_t room = negotiated_.peer_mru > 6 ? negotiated_.peer_mru - 6 : 0;
  information = information.subspan(0, std::min(information.size(), room));
  data.reserve(2 + information.size());
  data.push_back(static_cast<uint8_t>(protocol >> 8));
  data.push_back(static_cast<uint8_t>(protocol));
  data.insert(data.end(), information.begin(), information.end());
  SendPacket(static_cast<uint8_t>(Code::kProtocolReject), NewIdentifier(), data);
}

}  // namespace ppp
