#include "ppp/fsm.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ppp {

std::string_view FsmStateName(FsmState state) {
  switch (state) {
    case FsmState::kInitial:
      return "Initial";
    case FsmState::kStarting:
      return "Starting";
    case FsmState::kClosed:
      return "Closed";
    case FsmState::kStopped:
      return "Stopped";
    case FsmState::kClosing:
      return "Closing";
    case FsmState::kStopping:
      return "Stopping";
    case FsmState::kReqSent:
      return "Req-Sent";
    case FsmState::kAckRcvd:
      return "Ack-Rcvd";
    case FsmState::kAckSent:
      return "Ack-Sent";
    case FsmState::kOpened:
      return "Opened";
  }
  return "?";
}

absl::Status ParseOptions(absl::Span<const uint8_t> data, OptionList& out) {
  out.clear();
  size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < 2) {
      return absl::InvalidArgumentError(
          absl::StrFormat("option at offset %d: truncated type/length", pos));
    }
    uint8_t type = data[pos];
    uint8_t length = data[pos + 1];
    if (length < 2) {
      return absl::InvalidArgumentError(
          absl::StrFormat("option %d at offset %d: length %d below 2", type, pos, length));
    }
    if (length > data.size() - pos) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "option %d at offset %d: length %d runs past the packet", type, pos, length));
    }
    out.push_back(Option{type, data.subspan(pos + 2, length - 2), data.subspan(pos, length)});
    pos += length;
  }
  return absl::OkStatus();
}

void AppendOption(uint8_t type, absl::Span<const uint8_t> data, std::vector<uint8_t>& out) {
  out.push_back(type);
  out.push_back(static_cast<uint8_t>(data.size() + 2));
  out.insert(out.end(), data.begin(), data.end());
}
void AppendOption8(uint8_t type, uint8_t value, std::vector<uint8_t>& out) {
  uint8_t d[1] = {value};
  AppendOption(type, d, out);
}
void AppendOption16(uint8_t type, uint16_t value, std::vector<uint8_t>& out) {
  uint8_t d[2] = {static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
  AppendOption(type, d, out);
}
void AppendOption32(uint8_t type, uint32_t value, std::vector<uint8_t>& out) {
  uint8_t d[4] = {static_cast<uint8_t>(value >> 24), static_cast<uint8_t>(value >> 16),
                  static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
  AppendOption(type, d, out);
}

Fsm::Fsm(uint16_t protocol, std::string name, FsmConfig config)
    : protocol_(protocol), name_(std::move(name)), config_(config) {}

void Fsm::SetState(FsmState state) {
  state_ = state;
  // The Restart timer runs only in the states that wait for an answer (RFC 1661 4.6).
  switch (state) {
    case FsmState::kInitial:
    case FsmState::kStarting:
    case FsmState::kClosed:
    case FsmState::kStopped:
    case FsmState::kOpened:
      deadline_.reset();
      break;
    default:
      break;
  }
}

void Fsm::SetFinishReason(std::string reason, bool by_peer) {
  finish_reason_ = std::move(reason);
  terminated_by_peer_ = by_peer;
}

void Fsm::SendPacket(uint8_t code, uint8_t id, absl::Span<const uint8_t> data) {
  std::vector<uint8_t> p;
  p.reserve(4 + data.size());
  size_t length = 4 + data.size();
  p.push_back(code);
  p.push_back(id);
  p.push_back(static_cast<uint8_t>(length >> 8));
  p.push_back(static_cast<uint8_t>(length));
  p.insert(p.end(), data.begin(), data.end());
  output_.push_back(std::move(p));
}

void Fsm::SendConfigureRequest(absl::Time now, RequestMode mode) {
  answered_ = false;
  if (mode != RequestMode::kRetransmit) {
    // Outside a negotiation, start from the configured wishes again (as pppd's fsm_sconfreq),
    // unless this request answers a Nak/Reject, whose adjustments it must carry.
    if (mode == RequestMode::kNew && state_ != FsmState::kReqSent && state_ != FsmState::kAckRcvd &&
        state_ != FsmState::kAckSent) {
      ResetConfigureRequest();
      failure_count_ = 0;
    }
    request_options_.clear();
    BuildConfigureRequest(request_options_);
    // A new Identifier for new contents (RFC 1661 5.1); retransmissions keep theirs so that a
    // late answer to the previous copy still counts.
    request_id_ = NewIdentifier();
  }
  SendPacket(static_cast<uint8_t>(Code::kConfigureRequest), request_id_, request_options_);
  --restart_count_;
  ArmTimer(now);
}

void Fsm::SendTerminateRequest(absl::Time now) {
  terminate_id_ = NewIdentifier();
  SendPacket(static_cast<uint8_t>(Code::kTerminateRequest), terminate_id_,
             absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(terminate_reason_.data()),
                                 terminate_reason_.size()));
  --restart_count_;
  ArmTimer(now);
}

void Fsm::SendTerminateAck(uint8_t id) {
  SendPacket(static_cast<uint8_t>(Code::kTerminateAck), id, {});
}

void Fsm::SendCodeReject(absl::Span<const uint8_t> packet) {
  // The rejected packet, truncated so the Code-Reject fits a minimal MRU (RFC 1661 5.6).
  constexpr size_t kMax = 1500 - 4;
  SendPacket(static_cast<uint8_t>(Code::kCodeReject), NewIdentifier(),
             packet.subspan(0, std::min(packet.size(), kMax)));
}

void Fsm::ThisLayerUp(absl::Time now) {
  finish_reason_.clear();
  terminated_by_peer_ = false;
  OnLayerUp(now);
  events_.push_back(LayerEvent::kUp);
}
void Fsm::ThisLayerDown(absl::Time now) {
  OnLayerDown(now);
  events_.push_back(LayerEvent::kDown);
}
void Fsm::ThisLayerStarted() { events_.push_back(LayerEvent::kStarted); }
void Fsm::ThisLayerFinished() { events_.push_back(LayerEvent::kFinished); }

// ----- Events of RFC 1661 4.1, each a column walk of the state table in 4.1 -----

void Fsm::Up(absl::Time now) {
  switch (state_) {
    case FsmState::kInitial:
      SetState(FsmState::kClosed);
      break;
    case FsmState::kStarting:
      InitRestartCountConfigure();
      SendConfigureRequest(now);
      SetState(FsmState::kReqSent);
      break;
    default:
      break;  // illegal event: ignore
  }
}

void Fsm::Down(absl::Time now) {
  switch (state_) {
    case FsmState::kClosed:
    case FsmState::kClosing:
      SetState(FsmState::kInitial);
      break;
    case FsmState::kStopped:
      ThisLayerStarted();
      SetState(FsmState::kStarting);
      break;
    case FsmState::kStopping:
    case FsmState::kReqSent:
    case FsmState::kAckRcvd:
    case FsmState::kAckSent:
      SetState(FsmState::kStarting);
      break;
    case FsmState::kOpened:
      if (finish_reason_.empty()) SetFinishReason("lower layer down", false);
      ThisLayerDown(now);
      SetState(FsmState::kStarting);
      break;
    default:
      break;
  }
  deadline_.reset();
}

void Fsm::Open(absl::Time now) {
  switch (state_) {
    case FsmState::kInitial:
      ThisLayerStarted();
      SetState(FsmState::kStarting);
      break;
    case FsmState::kClosed:
      InitRestartCountConfigure();
      SendConfigureRequest(now);
      SetState(FsmState::kReqSent);
      break;
    case FsmState::kClosing:
      SetState(FsmState::kStopping);
      break;
    default:
      break;  // 1, 3, 5-9: stay ("r" restart option not implemented)
  }
}

void Fsm::Close(absl::Time now, std::string_view reason) {
  terminate_reason_ = std::string(reason);
  switch (state_) {
    case FsmState::kStarting:
      ThisLayerFinished();
      SetState(FsmState::kInitial);
      break;
    case FsmState::kStopped:
      SetState(FsmState::kClosed);
      break;
    case FsmState::kStopping:
      SetState(FsmState::kClosing);
      break;
    case FsmState::kOpened:
      SetFinishReason(std::string(reason), false);
      ThisLayerDown(now);
      [[fallthrough]];
    case FsmState::kReqSent:
    case FsmState::kAckRcvd:
    case FsmState::kAckSent:
      if (state_ != FsmState::kOpened) SetFinishReason(std::string(reason), false);
      InitRestartCountTerminate();
      SendTerminateRequest(now);
      SetState(FsmState::kClosing);
      break;
    default:
      break;  // Initial, Closed, Closing: stay
  }
}

void Fsm::OnTimer(absl::Time now) {
  if (!deadline_ || now < *deadline_) return;
  deadline_.reset();
  bool plus = restart_count_ > 0;
  switch (state_) {
    case FsmState::kClosing:
    case FsmState::kStopping:
      if (plus) {
        SendTerminateRequest(now);
      } else {
        // Terminate-Ack never came: finish anyway (RFC 1661 4.6 Max-Terminate).
        ThisLayerFinished();
        SetState(state_ == FsmState::kClosing ? FsmState::kClosed : FsmState::kStopped);
      }
      break;
    case FsmState::kReqSent:
    case FsmState::kAckRcvd:
    case FsmState::kAckSent:
      if (plus) {
        SendConfigureRequest(now, RequestMode::kRetransmit);
        if (state_ == FsmState::kAckRcvd) SetState(FsmState::kReqSent);
      } else {
        SetFinishReason(absl::StrCat("no answer to ", config_.max_configure,
                                     " Configure-Requests (Max-Configure)"),
                        false);
        ThisLayerFinished();
        SetState(FsmState::kStopped);
      }
      break;
    default:
      break;
  }
}

void Fsm::ReceiveProtocolReject(absl::Time now) {
  SetFinishReason(absl::StrCat("peer rejected protocol ", name_), true);
  Rxj(/*permitted=*/false, now);
}

// ----- Receive -----

absl::Status Fsm::Receive(absl::Span<const uint8_t> packet, absl::Time now) {
  if (packet.size() < 4) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: packet of %d bytes, shorter than its 4-byte header", name_, packet.size()));
  }
  size_t length = Load16(packet.subspan(2));
  if (length < 4 || length > packet.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: length field %d does not fit the %d-byte packet", name_, length, packet.size()));
  }
  // Octets past Length are padding (RFC 1661 5).
  packet = packet.subspan(0, length);
  uint8_t code = packet[0];
  uint8_t id = packet[1];
  absl::Span<const uint8_t> data = packet.subspan(4);
  if (state_ == FsmState::kInitial || state_ == FsmState::kStarting) {
    // The lower layer is not up: nothing can arrive legally (RFC 1661 4.2).
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: packet in state %s dropped", name_, FsmStateName(state_)));
  }
  switch (static_cast<Code>(code)) {
    case Code::kConfigureRequest:
      ReceiveConfigureRequestPacket(id, data, now);
      return absl::OkStatus();
    case Code::kConfigureAck:
    case Code::kConfigureNak:
    case Code::kConfigureReject:
      return ReceiveConfigureReply(static_cast<Code>(code), id, data, now);
    case Code::kTerminateRequest:
      ReceiveTerminateRequest(id, data, now);
      return absl::OkStatus();
    case Code::kTerminateAck:
      ReceiveTerminateAck(now);
      return absl::OkStatus();
    case Code::kCodeReject:
      ReceiveCodeReject(data, now);
      return absl::OkStatus();
    default:
      if (ReceiveOtherCode(code, id, data, now)) return absl::OkStatus();
      SendCodeReject(packet);  // RUC: scj, no state change
      return absl::OkStatus();
  }
}

void Fsm::JudgeRequest(absl::Span<const uint8_t> data, Verdict& verdict) {
  OptionList options;
  reply_.clear();
  if (absl::Status s = ParseOptions(data, options); !s.ok()) {
    // A request whose options cannot be parsed is rejected whole: we can neither ack nor nak
    // what we cannot read, and silently dropping it would let a broken peer retry forever.
    reply_.assign(data.begin(), data.end());
    verdict = Verdict::kReject;
    return;
  }
  verdict = ReceiveConfigureRequest(options, failure_count_ < config_.max_failure, reply_);
}

void Fsm::SendConfigureReply(Verdict verdict, uint8_t id) {
  Code code = verdict == Verdict::kAck   ? Code::kConfigureAck
              : verdict == Verdict::kNak ? Code::kConfigureNak
                                         : Code::kConfigureReject;
  if (verdict == Verdict::kAck) {
    failure_count_ = 0;
  } else if (verdict == Verdict::kNak) {
    ++failure_count_;
  }
  SendPacket(static_cast<uint8_t>(code), id, reply_);
}

void Fsm::ReceiveConfigureRequestPacket(uint8_t id, absl::Span<const uint8_t> data,
                                        absl::Time now) {
  Verdict verdict;
  switch (state_) {
    case FsmState::kClosed:
      SendTerminateAck(id);
      return;
    case FsmState::kClosing:
    case FsmState::kStopping:
      return;
    case FsmState::kStopped:
      InitRestartCountConfigure();
      SendConfigureRequest(now);
      JudgeRequest(data, verdict);
      SendConfigureReply(verdict, id);
      SetState(verdict == Verdict::kAck ? FsmState::kAckSent : FsmState::kReqSent);
      return;
    case FsmState::kReqSent:
    case FsmState::kAckSent:
      JudgeRequest(data, verdict);
      SendConfigureReply(verdict, id);
      SetState(verdict == Verdict::kAck ? FsmState::kAckSent : FsmState::kReqSent);
      return;
    case FsmState::kAckRcvd:
      JudgeRequest(data, verdict);
      SendConfigureReply(verdict, id);
      if (verdict == Verdict::kAck) {
        SetState(FsmState::kOpened);
        ThisLayerUp(now);
      }
      return;
    case FsmState::kOpened:
      // Renegotiation: tld, scr, then sca/scn.
      SetFinishReason("peer renegotiates", true);
      ThisLayerDown(now);
      SendConfigureRequest(now);  // from the configured wishes again
      JudgeRequest(data, verdict);
      SendConfigureReply(verdict, id);
      SetState(verdict == Verdict::kAck ? FsmState::kAckSent : FsmState::kReqSent);
      return;
    default:
      return;
  }
}

absl::Status Fsm::ReceiveConfigureReply(Code code, uint8_t id, absl::Span<const uint8_t> data,
                                        absl::Time now) {
  const bool negotiating = state_ == FsmState::kReqSent || state_ == FsmState::kAckRcvd ||
                           state_ == FsmState::kAckSent || state_ == FsmState::kOpened;
  Event event = code == Code::kConfigureAck ? Event::kRca : Event::kRcn;
  if (negotiating) {
    // One answer per request: a duplicate must not count twice (as pppd's seen_ack). In Opened
    // the table's RCA/RCN events (renegotiation) still apply.
    if (id != request_id_ || (answered_ && state_ != FsmState::kOpened)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: Configure-%s with identifier %d, expected %d: dropped", name_,
                          code == Code::kConfigureAck   ? "Ack"
                          : code == Code::kConfigureNak ? "Nak"
                                                        : "Reject",
                          id, request_id_));
    }
    OptionList options;
    if (absl::Status s = ParseOptions(data, options); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(name_, ": bad reply options: ", s.message()));
    }
    if (code == Code::kConfigureAck) {
      if (!std::equal(data.begin(), data.end(), request_options_.begin(), request_options_.end())) {
        // RFC 1661 5.2: the options of an Ack must be exactly those of the request.
        return absl::InvalidArgumentError(
            absl::StrCat(name_, ": Configure-Ack does not repeat our request: dropped"));
      }
      if (state_ != FsmState::kOpened) ReceiveConfigureAck(options);
    } else {
      NakResult r = code == Code::kConfigureNak ? ReceiveConfigureNak(options)
                                                : ReceiveConfigureReject(options);
      if (r == NakResult::kDiscard) {
        return absl::InvalidArgumentError(
            absl::StrCat(name_, ": Configure-Nak/Reject not about our request: dropped"));
      }
      if (r == NakResult::kFail) {
        std::string reason = FailReason();
        Close(now, reason);
        SetFinishReason(reason, false);
        return absl::OkStatus();
      }
    }
    answered_ = true;
  }
  switch (state_) {
    case FsmState::kClosed:
    case FsmState::kStopped:
      SendTerminateAck(id);
      break;
    case FsmState::kReqSent:
      if (event == Event::kRca) {
        InitRestartCountConfigure();
        SetState(FsmState::kAckRcvd);
      } else {
        InitRestartCountConfigure();
        SendConfigureRequest(now, RequestMode::kAfterNak);
      }
      break;
    case FsmState::kAckRcvd:
      // Crossed connection (the "x" of the table): send a new request.
      SendConfigureRequest(now, event == Event::kRcn ? RequestMode::kAfterNak : RequestMode::kNew);
      SetState(FsmState::kReqSent);
      break;
    case FsmState::kAckSent:
      InitRestartCountConfigure();
      if (event == Event::kRca) {
        SetState(FsmState::kOpened);
        ThisLayerUp(now);
      } else {
        SendConfigureRequest(now, RequestMode::kAfterNak);
      }
      break;
    case FsmState::kOpened:
      SetFinishReason("peer renegotiates", true);
      ThisLayerDown(now);
      SendConfigureRequest(now, event == Event::kRcn ? RequestMode::kAfterNak : RequestMode::kNew);
      SetState(FsmState::kReqSent);
      break;
    default:
      break;  // Closing, Stopping: ignore
  }
  return absl::OkStatus();
}

void Fsm::ReceiveTerminateRequest(uint8_t id, absl::Span<const uint8_t> data, absl::Time now) {
  switch (state_) {
    case FsmState::kOpened: {
      std::string text(reinterpret_cast<const char*>(data.data()), data.size());
      SetFinishReason(text.empty() ? "peer sent Terminate-Request"
                                   : absl::StrCat("peer sent Terminate-Request: \"",
                                                  absl::CHexEscape(text), "\""),
                      true);
      ThisLayerDown(now);
      restart_count_ = 0;  // zrc: wait one Restart period in Stopping before finishing
      ArmTimer(now);
      SendTerminateAck(id);
      SetState(FsmState::kStopping);
      break;
    }
    case FsmState::kAckRcvd:
    case FsmState::kAckSent:
      SendTerminateAck(id);
      SetState(FsmState::kReqSent);
      break;
    default:
      SendTerminateAck(id);  // sta, state unchanged
      break;
  }
}

void Fsm::ReceiveTerminateAck(absl::Time now) {
  switch (state_) {
    case FsmState::kClosing:
      ThisLayerFinished();
      SetState(FsmState::kClosed);
      break;
    case FsmState::kStopping:
      ThisLayerFinished();
      SetState(FsmState::kStopped);
      break;
    case FsmState::kAckRcvd:
      SetState(FsmState::kReqSent);
      break;
    case FsmState::kOpened:
      SetFinishReason("peer sent an unexpected Terminate-Ack", true);
      ThisLayerDown(now);
      SendConfigureRequest(now);
      SetState(FsmState::kReqSent);
      break;
    default:
      break;
  }
}

void Fsm::ReceiveCodeReject(absl::Span<const uint8_t> data, absl::Time now) {
  if (data.empty()) return;
  // Codes the automaton cannot work without make the reject catastrophic (RFC 1661 5.6); LCP's
  // extensions (Echo, Discard...) are optional.
  uint8_t rejected = data[0];
  bool permitted = rejected < 1 || rejected > static_cast<uint8_t>(Code::kCodeReject);
  if (!permitted) {
    SetFinishReason(absl::StrFormat("peer sent Code-Reject of code %d", rejected), true);
  }
  Rxj(permitted, now);
}

void Fsm::Rxj(bool permitted, absl::Time now) {
  if (permitted) {
    if (state_ == FsmState::kAckRcvd) SetState(FsmState::kReqSent);
    return;
  }
  switch (state_) {
    case FsmState::kClosed:
    case FsmState::kClosing:
      ThisLayerFinished();
      SetState(FsmState::kClosed);
      break;
    case FsmState::kStopped:
    case FsmState::kStopping:
    case FsmState::kReqSent:
    case FsmState::kAckRcvd:
    case FsmState::kAckSent:
      ThisLayerFinished();
      SetState(FsmState::kStopped);
      break;
    case FsmState::kOpened:
      ThisLayerDown(now);
      InitRestartCountTerminate();
      SendTerminateRequest(now);
      SetState(FsmState::kStopping);
      break;
    default:
      break;
  }
}

}  // namespace ppp
