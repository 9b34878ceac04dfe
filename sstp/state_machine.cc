#include "sstp/state_machine.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sstp {

absl::string_view StateName(State s) {
  switch (s) {
    case State::kServerCallDisconnected:
      return "Server_Call_Disconnected";
    case State::kServerConnectRequestPending:
      return "Server_Connect_Request_Pending";
    case State::kServerCallConnectedPending:
      return "Server_Call_Connected_Pending";
    case State::kServerCallConnected:
      return "Server_Call_Connected";
    case State::kClientCallDisconnected:
      return "Client_Call_Disconnected";
    case State::kClientConnectRequestSent:
      return "Client_Connect_Request_Sent";
    case State::kClientConnectAckReceived:
      return "Client_Connect_Ack_Received";
    case State::kClientCallConnected:
      return "Client_Call_Connected";
    case State::kCallAbortInProgress1:
      return "Call_Abort_In_Progress_1";
    case State::kCallAbortInProgress2:
      return "Call_Abort_In_Progress_2";
    case State::kCallAbortPending:
      return "Call_Abort_Pending";
    case State::kCallAbortTimeoutPending:
      return "Call_Abort_Timeout_Pending";
    case State::kCallDisconnectInProgress1:
      return "Call_Disconnect_In_Progress_1";
    case State::kCallDisconnectInProgress2:
      return "Call_Disconnect_In_Progress_2";
    case State::kCallDisconnectAckPending:
      return "Call_Disconnect_Ack_Pending";
    case State::kCallDisconnectTimeoutPending:
      return "Call_Disconnect_Timeout_Pending";
  }
  return "Unknown";
}

absl::string_view EventTypeName(EventType t) {
  switch (t) {
    case EventType::kStartPpp:
      return "start-ppp";
    case EventType::kConnected:
      return "connected";
    case EventType::kAborted:
      return "aborted";
    case EventType::kDisconnected:
      return "disconnected";
    case EventType::kClosed:
      return "closed";
  }
  return "unknown";
}

void OutputBuffer::SendSstp(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) {
  std::vector<uint8_t> p(head.begin(), head.end());
  p.insert(p.end(), tail.begin(), tail.end());
  sent.push_back(std::move(p));
}

void OutputBuffer::DeliverPpp(absl::Span<const uint8_t> frame) {
  delivered.emplace_back(frame.begin(), frame.end());
}

void OutputBuffer::Clear() {
  sent.clear();
  delivered.clear();
  events.clear();
}

std::optional<uint16_t> PppProtocol(absl::Span<const uint8_t> f) {
  size_t i = 0;
  if (f.size() >= 2 && f[0] == 0xFF && f[1] == 0x03) i = 2;  // address/control (ACFC off)
  if (i >= f.size()) return std::nullopt;
  if (f[i] & 0x01) return f[i];  // RFC 1661 6.5: compressed (odd) one-byte protocol field
  if (i + 1 >= f.size()) return std::nullopt;
  return static_cast<uint16_t>((f[i] << 8) | f[i + 1]);
}

bool IsPppControlFrame(absl::Span<const uint8_t> frame) {
  const std::optional<uint16_t> p = PppProtocol(frame);
  return p.has_value() && *p >= 0x8000;
}

// ---------------------------------------------------------------------------------------------
// Machine: the common part (MS-SSTP 3.1).

absl::Time Machine::next_deadline() const {
  if (closed_) return absl::InfiniteFuture();
  return connected() ? std::min(deadline_, hello_deadline_) : deadline_;
}

bool Machine::Closing() const {
  switch (state_) {
    case State::kCallAbortInProgress1:
    case State::kCallAbortInProgress2:
    case State::kCallAbortPending:
    case State::kCallAbortTimeoutPending:
    case State::kCallDisconnectInProgress1:
    case State::kCallDisconnectInProgress2:
    case State::kCallDisconnectAckPending:
    case State::kCallDisconnectTimeoutPending:
      return true;
    default:
      return false;
  }
}

void Machine::Send(const ControlPacket& p) {
  ++counters_.control_packets_out;
  sink_->SendSstp(p.span(), {});
}

void Machine::Emit(EventType type, bool by_peer, StatusCode status, std::string reason) {
  Event e;
  e.type = type;
  e.by_peer = by_peer;
  e.status = status;
  e.reason = std::move(reason);
  sink_->OnEvent(e);
}

void Machine::StartAbort(absl::Time now, StatusCode status, AttributeId attribute,
                         std::string reason, absl::Span<const uint8_t> original) {
  if (closed_ || Closing()) return;
  // MS-SSTP 3.1.5.1: Call_Abort_In_Progress_1, send CALL_ABORT (with a Status Info), start
  // TIMER_VAL_ABORT_STATE_TIMER_1, Call_Abort_Pending.
  state_ = State::kCallAbortInProgress1;
  Send(EncodeCallAbort(attribute, status, original));
  state_ = State::kCallAbortPending;
  deadline_ = now + timers_.abort_1;
  Emit(EventType::kAborted, false, status,
       absl::StrCat(reason, " (sent CALL_ABORT with ", StatusCodeName(status), ")"));
}

void Machine::Close(absl::Time now) {
  if (closed_) return;
  closed_ = true;
  state_ = initial_;
  deadline_ = absl::InfiniteFuture();
  hello_deadline_ = absl::InfiniteFuture();
  Emit(EventType::kClosed, false, StatusCode::kNoError, "connection state cleared");
}

void Machine::EnterConnected(absl::Time now) {
  deadline_ = absl::InfiniteFuture();  // negotiation timer stopped
  // MS-SSTP 3.1.2.3: the Hello timer starts once the call is connected.
  hello_deadline_ = now + timers_.hello;
  echo_outstanding_ = false;
}

void Machine::UnexpectedMessage(absl::Time now, MessageType type) {
  StartAbort(now, StatusCode::kUnacceptedFrameReceived, AttributeId::kNoError,
             absl::StrCat("unexpected ", MessageTypeName(type), " in state ", StateName(state_)));
}

void Machine::Receive(absl::Time now, absl::Span<const uint8_t> packet) {
  if (closed_ || !started_) return;
  // Data fast path: no parse structure, no copy (a view into the caller's bytes goes up).
  Header h;
  if (packet.size() >= kHeaderSize && ReadHeader(packet.data(), &h) && !h.control &&
      h.length == packet.size()) {
    ++counters_.data_packets_in;
    if (Closing()) {
      ++counters_.ignored_while_closing;
      return;
    }
    // MS-SSTP 3.1.2.3: any received packet restarts the Hello timer.
    hello_deadline_ = now + timers_.hello;
    echo_outstanding_ = false;
    const absl::Span<const uint8_t> frame = packet.subspan(kHeaderSize);
    if (connected() || (PendingState() && IsPppControlFrame(frame))) {
      sink_->DeliverPpp(frame);
    } else {
      ++counters_.dropped_before_connected;
    }
    return;
  }

  ParseError perr;
  absl::StatusOr<Packet> parsed = ParsePacket(packet, &perr);
  if (!parsed.ok()) {
    if (Closing()) {
      ++counters_.ignored_while_closing;
      return;
    }
    if (HandleParseError(now, packet, perr, parsed.status())) return;
    StartAbort(now, perr.status, perr.attribute,
               absl::StrCat("invalid SSTP packet from peer: ", parsed.status().message()));
    return;
  }
  ++counters_.control_packets_in;
  hello_deadline_ = now + timers_.hello;
  echo_outstanding_ = false;
  const ControlMessage& m = parsed->message;

  switch (m.type) {
    case MessageType::kCallAbort: {  // MS-SSTP 3.2.5.3.4 / 3.3.5.2.4
      if (state_ == State::kCallAbortPending) {
        state_ = State::kCallAbortTimeoutPending;
        deadline_ = now + timers_.abort_2;
      } else if (state_ == State::kCallAbortTimeoutPending ||
                 state_ == State::kCallDisconnectTimeoutPending ||
                 state_ == State::kCallAbortInProgress2) {
        ++counters_.ignored_while_closing;
      } else {
        const StatusInfo* si = m.first_status();
        const StatusCode peer_status = si ? si->status : StatusCode::kNoError;
        state_ = State::kCallAbortInProgress2;
        Send(EncodeCallAbort(AttributeId::kNoError, StatusCode::kNoError));
        state_ = State::kCallAbortTimeoutPending;
        deadline_ = now + timers_.abort_2;
        Emit(EventType::kAborted, true, peer_status,
             si ? absl::StrCat("peer sent CALL_ABORT: ", StatusCodeName(si->status), " about ",
                               AttributeIdName(si->attrib_id))
                : std::string("peer sent CALL_ABORT without a Status Info"));
      }
      return;
    }
    case MessageType::kCallDisconnect: {  // MS-SSTP 3.2.5.3.5 / 3.3.5.2.5
      if (state_ == State::kCallAbortPending || state_ == State::kCallAbortTimeoutPending ||
          state_ == State::kCallDisconnectTimeoutPending) {
        ++counters_.ignored_while_closing;
        return;
      }
      const bool collision = state_ == State::kCallDisconnectAckPending;
      const StatusInfo* si = m.first_status();
      state_ = State::kCallDisconnectInProgress2;
      Send(EncodeCallDisconnectAck());
      state_ = State::kCallDisconnectTimeoutPending;
      deadline_ = now + timers_.disconnect_2;
      if (!collision) {
        Emit(EventType::kDisconnected, true, si ? si->status : StatusCode::kNoError,
             si && si->status != StatusCode::kNoError
                 ? absl::StrCat("peer sent CALL_DISCONNECT: ", StatusCodeName(si->status))
                 : std::string("peer sent CALL_DISCONNECT"));
      }
      return;
    }
    case MessageType::kCallDisconnectAck:  // MS-SSTP 3.2.5.3.6 / 3.3.5.2.6
      if (state_ == State::kCallDisconnectAckPending) {
        Close(now);
      } else if (Closing()) {
        ++counters_.ignored_while_closing;
      } else {
        UnexpectedMessage(now, m.type);
      }
      return;
    case MessageType::kEchoRequest:  // MS-SSTP 3.2.5.3.7 / 3.3.5.2.7
      if (Closing()) {
        ++counters_.ignored_while_closing;
      } else if (connected() || PendingState()) {
        // The spec answers only when connected; a peer that probes during PPP negotiation is
        // answered too rather than aborted (harmless, and kinder to keepalive-happy clients).
        Send(EncodeEchoResponse());
      } else {
        UnexpectedMessage(now, m.type);
      }
      return;
    case MessageType::kEchoResponse:  // MS-SSTP 3.2.5.3.8: the Hello timer restart is all
      if (Closing()) {
        ++counters_.ignored_while_closing;
      } else if (!connected() && !PendingState()) {
        UnexpectedMessage(now, m.type);
      }
      return;
    default:
      if (Closing()) {
        ++counters_.ignored_while_closing;
        return;
      }
      HandleControl(now, m, packet);
      return;
  }
}

absl::Status Machine::SendPppFrame(absl::Time now, absl::Span<const uint8_t> frame) {
  if (closed_ || !started_ || Closing()) {
    return absl::FailedPreconditionError(
        absl::StrCat("SSTP call is not up (state ", StateName(state_), ")"));
  }
  if (frame.size() > kMaxDataPayload) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PPP frame of %d bytes exceeds the SSTP maximum of %d", frame.size(), kMaxDataPayload));
  }
  if (!connected() && !(PendingState() && IsPppControlFrame(frame))) {
    ++counters_.dropped_before_connected;
    return absl::FailedPreconditionError(
        absl::StrCat("only PPP control frames may be sent before CALL_CONNECTED (state ",
                     StateName(state_), ")"));
  }
  uint8_t head[kHeaderSize];
  WriteDataHeader(head, frame.size());
  ++counters_.data_packets_out;
  sink_->SendSstp(head, frame);
  return absl::OkStatus();
}

void Machine::Disconnect(absl::Time now, std::string reason) {
  if (closed_) return;
  if (!started_) {
    closed_ = true;
    return;
  }
  if (Closing()) return;
  // MS-SSTP 3.1.1.1.1: Call_Disconnect_In_Progress_1, send CALL_DISCONNECT, start
  // TIMER_VAL_DISCONNECT_STATE_TIMER_1, Call_Disconnect_Ack_Pending.
  state_ = State::kCallDisconnectInProgress1;
  Send(EncodeCallDisconnect(AttributeId::kNoError, StatusCode::kNoError));
  state_ = State::kCallDisconnectAckPending;
  deadline_ = now + timers_.disconnect_1;
  Emit(EventType::kDisconnected, false, StatusCode::kNoError, std::move(reason));
}

void Machine::Abort(absl::Time now, StatusCode status, std::string reason) {
  if (closed_) return;
  if (!started_) {
    closed_ = true;
    return;
  }
  StartAbort(now, status, AttributeId::kNoError, std::move(reason));
}

void Machine::OnTransportClosed(absl::Time now, std::string reason) {
  if (closed_) return;
  if (started_ && !Closing()) {
    Emit(EventType::kAborted, true, StatusCode::kNoError,
         absl::StrCat("transport closed: ", reason));
  }
  started_ = true;
  Close(now);
}

void Machine::OnTimer(absl::Time now) {
  if (closed_ || !started_) return;
  if (now >= deadline_) {
    deadline_ = absl::InfiniteFuture();
    switch (state_) {
      case State::kCallAbortPending:         // TIMER_VAL_ABORT_STATE_TIMER_1 (3 s): give up waiting
      case State::kCallAbortTimeoutPending:  // TIMER_VAL_ABORT_STATE_TIMER_2 (1 s)
      case State::kCallDisconnectAckPending:      // TIMER_VAL_DISCONNECT_STATE_TIMER_1 (5 s)
      case State::kCallDisconnectTimeoutPending:  // TIMER_VAL_DISCONNECT_STATE_TIMER_2 (1 s)
        Close(now);
        return;
      default:
        OnNegotiationTimeout(now);
        return;
    }
  }
  if (connected() && now >= hello_deadline_) {
    if (echo_outstanding_ && now >= echo_dead_at_) {
      // MS-SSTP 3.1.2.3: no answer within the next interval: "it MUST abort the connection
      // without sending a Call Abort packet."
      Emit(EventType::kAborted, false, StatusCode::kNoError,
           absl::StrCat("peer silent for ", absl::FormatDuration(timers_.hello * 2),
                        " (no answer to ECHO_REQUEST): dead peer"));
      Close(now);
      return;
    }
    if (!echo_outstanding_) {
      // MS-SSTP 3.1.2.3: Hello timer expired: send ECHO_REQUEST, wait one more interval.
      echo_outstanding_ = true;
      echo_dead_at_ = now + timers_.hello;
    }
    ++counters_.echo_requests_sent;
    Send(EncodeEchoRequest());
    hello_deadline_ = std::min(now + timers_.echo_retransmit, echo_dead_at_);
  }
}

// ---------------------------------------------------------------------------------------------
// Server (MS-SSTP 3.3).

ServerStateMachine::ServerStateMachine(const ServerConfig& config, const Nonce& nonce, Sink* sink)
    : Machine(config.timers, sink, State::kServerCallDisconnected),
      config_(config),
      nonce_(nonce) {}

void ServerStateMachine::Start(absl::Time now) {
  if (started_) return;
  started_ = true;
  state_ = State::kServerConnectRequestPending;
  deadline_ = now + timers_.negotiation;
}

bool ServerStateMachine::HandleParseError(absl::Time now, absl::Span<const uint8_t> raw,
                                          const ParseError& error, const absl::Status& status) {
  // MS-SSTP 3.1.5.1 / 3.3.5.2.2: attributes of a CALL_CONNECT_REQUEST the server cannot accept
  // are answered with a NAK listing them; the client may retry.
  if (state_ != State::kServerConnectRequestPending || raw.size() < kControlHeaderSize ||
      !(raw[1] & 0x01) ||
      ((raw[4] << 8) | raw[5]) != static_cast<int>(MessageType::kCallConnectRequest) ||
      error.status == StatusCode::kInvalidFrameReceived) {
    return false;
  }
  Send(EncodeCallConnectNak(error.attribute, error.status));
  deadline_ = now + timers_.negotiation;
  return true;
}

void ServerStateMachine::HandleControl(absl::Time now, const ControlMessage& m,
                                       absl::Span<const uint8_t> raw) {
  switch (m.type) {
    case MessageType::kCallConnectRequest: {  // MS-SSTP 3.3.5.2.2
      if (state_ != State::kServerConnectRequestPending) return UnexpectedMessage(now, m.type);
      if (m.encapsulated_protocol != kEncapsulatedProtocolPpp) {
        // NAK carrying the refused attribute; stay in Server_Connect_Request_Pending.
        uint8_t original[kEncapsulatedProtocolIdLength] = {
            0,
            static_cast<uint8_t>(AttributeId::kEncapsulatedProtocolId),
            0,
            kEncapsulatedProtocolIdLength,
            static_cast<uint8_t>(*m.encapsulated_protocol >> 8),
            static_cast<uint8_t>(*m.encapsulated_protocol)};
        Send(EncodeCallConnectNak(AttributeId::kEncapsulatedProtocolId,
                                  StatusCode::kValueNotSupported, original));
        deadline_ = now + timers_.negotiation;
        return;
      }
      Send(EncodeCallConnectAck(config_.hash_protocols, nonce_));
      state_ = State::kServerCallConnectedPending;
      deadline_ = now + timers_.negotiation;
      Emit(EventType::kStartPpp, false, StatusCode::kNoError,
           "CALL_CONNECT_REQUEST accepted, CALL_CONNECT_ACK sent");
      return;
    }
    case MessageType::kCallConnected: {  // MS-SSTP 3.3.5.2.3
      if (state_ != State::kServerCallConnectedPending || deferred_.has_value()) {
        return UnexpectedMessage(now, m.type);
      }
      if (!hlak_.has_value()) {
        // The client finished PPP authentication before our PPP engine told us: keep the
        // message and check it when OnAuthenticationFinished gives the HLAK.
        Deferred d;
        d.binding = *m.crypto_binding;
        std::memcpy(d.raw.data(), raw.data(), kCallConnectedLength);
        deferred_ = d;
        return;
      }
      VerifyBinding(now, *m.crypto_binding, raw);
      return;
    }
    default:  // ACK, NAK: only a server sends them.
      return UnexpectedMessage(now, m.type);
  }
}

void ServerStateMachine::OnAuthenticationFinished(absl::Time now, const Hlak& hlak) {
  if (closed_ || hlak_.has_value()) return;
  hlak_ = hlak;
  if (deferred_.has_value() && state_ == State::kServerCallConnectedPending) {
    const Deferred d = *deferred_;
    VerifyBinding(now, d.binding, d.raw);
  }
}

void ServerStateMachine::VerifyBinding(absl::Time now, const CryptoBinding& binding,
                                       absl::Span<const uint8_t> raw) {
  BindingExpectation expect;
  expect.offered_hash_protocols = config_.hash_protocols;
  expect.nonce = nonce_;
  expect.cert_hash_sha1 = config_.cert_hash_sha1;
  expect.cert_hash_sha256 = config_.cert_hash_sha256;
  BindingFailure failure;
  if (!VerifyCallConnected(expect, binding, raw, *hlak_, &failure)) {
    BindingFailure zero_failure;
    if (!config_.accept_zero_hlak || *hlak_ == ZeroHlak() ||
        !VerifyCallConnected(expect, binding, raw, ZeroHlak(), &zero_failure)) {
      StartAbort(now, failure.status, failure.attribute, failure.reason);
      return;
    }
    zero_hlak_accepted_ = true;
  }
  chosen_hash_protocol_ = binding.hash_protocol;
  state_ = State::kServerCallConnected;
  EnterConnected(now);
  Emit(EventType::kConnected, false, StatusCode::kNoError,
       absl::StrCat("crypto binding verified (",
                    binding.hash_protocol == kHashProtocolSha256 ? "SHA256" : "SHA1",
                    zero_hlak_accepted_ ? ", client used a zero HLAK" : "", ")"));
}

void ServerStateMachine::OnNegotiationTimeout(absl::Time now) {
  if (state_ == State::kServerConnectRequestPending ||
      state_ == State::kServerCallConnectedPending) {
    StartAbort(now, StatusCode::kNegotiationTimeout, AttributeId::kNoError,
               absl::StrCat("negotiation timer (", absl::FormatDuration(timers_.negotiation),
                            ") expired in ", StateName(state_),
                            state_ == State::kServerCallConnectedPending && deferred_.has_value()
                                ? " (CALL_CONNECTED waits for PPP authentication)"
                                : ""));
  }
}

// ---------------------------------------------------------------------------------------------
// Client (MS-SSTP 3.2).

ClientStateMachine::ClientStateMachine(const ClientConfig& config, Sink* sink)
    : Machine(config.timers, sink, State::kClientCallDisconnected), config_(config) {}

void ClientStateMachine::Start(absl::Time now) {
  if (started_) return;
  started_ = true;
  Send(EncodeCallConnectRequest());
  state_ = State::kClientConnectRequestSent;
  deadline_ = now + timers_.negotiation;
}

void ClientStateMachine::HandleControl(absl::Time now, const ControlMessage& m,
                                       absl::Span<const uint8_t> raw) {
  switch (m.type) {
    case MessageType::kCallConnectAck: {  // MS-SSTP 3.2.5.3.2
      if (state_ != State::kClientConnectRequestSent) return UnexpectedMessage(now, m.type);
      const uint8_t offered = m.crypto_binding_request->hash_protocol_bitmask;
      const uint8_t chosen = ChooseHashProtocol(offered & config_.hash_protocols);
      if (chosen == 0) {
        return StartAbort(now, StatusCode::kValueNotSupported, AttributeId::kCryptoBindingRequest,
                          absl::StrFormat("server offers hash protocols 0x%02x, we accept 0x%02x",
                                          offered, config_.hash_protocols));
      }
      chosen_hash_protocol_ = chosen;
      nonce_ = m.crypto_binding_request->nonce;
      state_ = State::kClientConnectAckReceived;
      deadline_ = now + timers_.negotiation;
      Emit(EventType::kStartPpp, false, StatusCode::kNoError, "CALL_CONNECT_ACK received");
      if (hlak_.has_value()) SendCallConnected(now);
      return;
    }
    case MessageType::kCallConnectNak: {  // MS-SSTP 3.2.5.3.3
      if (state_ != State::kClientConnectRequestSent) return UnexpectedMessage(now, m.type);
      if (retries_ < config_.max_connect_retries) {
        ++retries_;
        Send(EncodeCallConnectRequest());
        deadline_ = now + timers_.negotiation;
        return;
      }
      const StatusInfo* si = m.first_status();
      return StartAbort(now, StatusCode::kRetryCountExceeded, AttributeId::kNoError,
                        absl::StrCat("server refused CALL_CONNECT_REQUEST ", retries_ + 1, " times",
                                     si ? absl::StrCat(" (", StatusCodeName(si->status), " about ",
                                                       AttributeIdName(si->attrib_id), ")")
                                        : std::string()));
    }
    default:  // REQUEST, CONNECTED: only a client sends them.
      return UnexpectedMessage(now, m.type);
  }
}

void ClientStateMachine::OnAuthenticationFinished(absl::Time now, const Hlak& hlak) {
  if (closed_ || hlak_.has_value()) return;
  hlak_ = hlak;
  if (state_ == State::kClientConnectAckReceived) SendCallConnected(now);
}

void ClientStateMachine::SendCallConnected(absl::Time now) {
  const HashField& cert = chosen_hash_protocol_ == kHashProtocolSha256 ? config_.cert_hash_sha256
                                                                       : config_.cert_hash_sha1;
  Send(BuildCallConnected(chosen_hash_protocol_, nonce_, cert, *hlak_));
  state_ = State::kClientCallConnected;
  EnterConnected(now);
  Emit(EventType::kConnected, false, StatusCode::kNoError,
       absl::StrCat("CALL_CONNECTED sent (",
                    chosen_hash_protocol_ == kHashProtocolSha256 ? "SHA256" : "SHA1", ")"));
}

void ClientStateMachine::OnNegotiationTimeout(absl::Time now) {
  if (state_ == State::kClientConnectRequestSent || state_ == State::kClientConnectAckReceived) {
    StartAbort(now, StatusCode::kNegotiationTimeout, AttributeId::kNoError,
               absl::StrCat("negotiation timer (", absl::FormatDuration(timers_.negotiation),
                            ") expired in ", StateName(state_)));
  }
}

}  // namespace sstp
