// SSTP server and client state machines (MS-SSTP section 3), sans-I/O.
//
// Inputs: received SSTP packets (one complete packet each; see StreamAssembler), PPP frames from
// the local PPP engine, "authentication finished" with the HLAK, local disconnect/abort, transport
// loss, and OnTimer(now). Outputs go to a caller-owned Sink: SSTP packets to write to TLS, PPP
// frames to hand to the PPP engine, and events. Time comes in as an argument; next_deadline()
// says when OnTimer must be called next. Data packets pass through without allocation or copy.
#ifndef SSTP_STATE_MACHINE_H_
#define SSTP_STATE_MACHINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "sstp/crypto_binding.h"
#include "sstp/packet.h"

namespace sstp {

// All states of MS-SSTP 3.1.1.1 (common), 3.2.1.1.1 (client) and 3.3.1.1.1 (server).
enum class State : uint8_t {
  kServerCallDisconnected,
  kServerConnectRequestPending,
  kServerCallConnectedPending,
  kServerCallConnected,
  kClientCallDisconnected,
  kClientConnectRequestSent,
  kClientConnectAckReceived,
  kClientCallConnected,
  kCallAbortInProgress1,  // transient: CALL_ABORT being sent by us
  kCallAbortInProgress2,  // transient: answering the peer's CALL_ABORT
  kCallAbortPending,      // we sent CALL_ABORT, wait for the peer's (TIMER_VAL_ABORT_STATE_TIMER_1)
  kCallAbortTimeoutPending,       // TIMER_VAL_ABORT_STATE_TIMER_2 running, then close
  kCallDisconnectInProgress1,     // transient: CALL_DISCONNECT being sent by us
  kCallDisconnectInProgress2,     // transient: answering the peer's CALL_DISCONNECT
  kCallDisconnectAckPending,      // we sent CALL_DISCONNECT (TIMER_VAL_DISCONNECT_STATE_TIMER_1)
  kCallDisconnectTimeoutPending,  // we sent CALL_DISCONNECT_ACK
                                  // (TIMER_VAL_DISCONNECT_STATE_TIMER_2)
};
absl::string_view StateName(State state);

// MS-SSTP 3.1.2 timers (the SHOULD values are the defaults).
struct Timers {
  absl::Duration negotiation = absl::Seconds(60);
  // Hello (keepalive) interval: RouterOS keepalive-timeout. absl::InfiniteDuration() disables
  // echo and the dead-peer abort.
  absl::Duration hello = absl::Seconds(60);
  // After the first ECHO_REQUEST, resend one every echo_retransmit until the peer answers or a
  // second hello interval has passed (then the call is dead). MS-SSTP sends a single echo
  // (infinite, the default); RouterOS sends one every second (absl::Seconds(1)).
  absl::Duration echo_retransmit = absl::InfiniteDuration();
  absl::Duration abort_1 = absl::Seconds(3);
  absl::Duration abort_2 = absl::Seconds(1);
  absl::Duration disconnect_1 = absl::Seconds(5);
  absl::Duration disconnect_2 = absl::Seconds(1);
};

enum class EventType : uint8_t {
  // CALL_CONNECT_ACK sent (server) / received (client): start the PPP engine (LCP, auth, NCPs).
  kStartPpp,
  // Crypto binding verified (server) / CALL_CONNECTED sent (client): all PPP frames flow now.
  kConnected,
  // The call is being aborted (by us or the peer); `reason` says why.
  kAborted,
  // The call is being disconnected in an orderly way (by us or the peer).
  kDisconnected,
  // Everything is finished: close the TLS/TCP connection and free the session.
  kClosed,
};
absl::string_view EventTypeName(EventType type);

struct Event {
  EventType type = EventType::kClosed;
  bool by_peer = false;                      // kAborted/kDisconnected: the peer started it
  StatusCode status = StatusCode::kNoError;  // Status Info sent or received, if any
  std::string reason;                        // for the log
};

// Receives the state machine's outputs. Called synchronously from its methods.
class Sink {
 public:
  virtual ~Sink() = default;
  // One complete SSTP packet for the TLS stream: `head` followed by `tail` (tail is the PPP frame
  // of a data packet, empty for control packets), so data goes out without a copy.
  virtual void SendSstp(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) = 0;
  // A PPP frame from the peer for the local PPP engine (a view into the received packet).
  virtual void DeliverPpp(absl::Span<const uint8_t> frame) = 0;
  virtual void OnEvent(const Event& event) = 0;
};

// A Sink that keeps everything (tests, the client, tools). Clear() between steps if wanted.
class OutputBuffer : public Sink {
 public:
  std::vector<std::vector<uint8_t>> sent;       // SSTP packets, each complete
  std::vector<std::vector<uint8_t>> delivered;  // PPP frames
  std::vector<Event> events;

  void SendSstp(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) override;
  void DeliverPpp(absl::Span<const uint8_t> frame) override;
  void OnEvent(const Event& event) override { events.push_back(event); }
  void Clear();
};

// PPP protocol number of a frame as carried in SSTP (optional FF 03, 1- or 2-byte protocol), or
// nullopt if the frame is too short.
std::optional<uint16_t> PppProtocol(absl::Span<const uint8_t> frame);
// RFC 1661 section 2: protocols 0x8000-0xffff are NCPs and link-layer control (LCP, PAP, CHAP,
// EAP, CBCP, ...): the only frames relayed before the crypto binding is done.
bool IsPppControlFrame(absl::Span<const uint8_t> frame);

struct Counters {
  uint64_t data_packets_in = 0;
  uint64_t data_packets_out = 0;
  uint64_t control_packets_in = 0;
  uint64_t control_packets_out = 0;
  uint64_t dropped_before_connected = 0;  // PPP data frames refused before crypto binding
  uint64_t ignored_while_closing = 0;
  uint64_t echo_requests_sent = 0;
};

// Common machinery: abort/disconnect procedures, hello timer, echo. Not used directly.
class Machine {
 public:
  State state() const { return state_; }
  // CALL_CONNECTED done: all PPP frames flow.
  bool connected() const {
    return state_ == State::kServerCallConnected || state_ == State::kClientCallConnected;
  }
  // kClosed was emitted: nothing more will happen.
  bool closed() const { return closed_; }
  // When OnTimer must be called next (absl::InfiniteFuture() if no timer runs).
  absl::Time next_deadline() const;
  const Counters& counters() const { return counters_; }
  const Timers& timers() const { return timers_; }

  // Sends a PPP frame from the local PPP engine as an SSTP data packet. Before CALL_CONNECTED
  // only PPP control frames are sent; data frames are dropped (FailedPrecondition).
  absl::Status SendPppFrame(absl::Time now, absl::Span<const uint8_t> frame);

  // Local orderly disconnect (MS-SSTP 3.1.1.1.1): CALL_DISCONNECT, wait for the ACK up to
  // disconnect_1, then close. `reason` is for the event.
  void Disconnect(absl::Time now, std::string reason);
  // Local abort (e.g. PPP authentication failed): CALL_ABORT with a Status Info, wait abort_1.
  void Abort(absl::Time now, StatusCode status, std::string reason);
  // The TLS/TCP connection is gone: no more sending; emits kAborted (unless closing) and kClosed.
  void OnTransportClosed(absl::Time now, std::string reason);

  // Runs expired timers.
  void OnTimer(absl::Time now);

  // Data plane fast path: when connected() the data plane may strip data packets itself (check
  // with ReadHeader(): C bit clear, length = packet) instead of calling OnPacket; it then calls
  // this (once per burst is enough) because any received packet restarts the Hello timer
  // (MS-SSTP 3.1.2.3). Control packets still go to OnPacket.
  void NoteDataReceived(absl::Time now) {
    hello_deadline_ = now + timers_.hello;
    echo_outstanding_ = false;
  }

 protected:
  Machine(const Timers& timers, Sink* sink, State initial) noexcept
      : timers_(timers), sink_(sink), state_(initial), initial_(initial) {}

  // Shared receive path; calls HandleControl for the messages that depend on the role.
  void Receive(absl::Time now, absl::Span<const uint8_t> packet);
  virtual void HandleControl(absl::Time now, const ControlMessage& m,
                             absl::Span<const uint8_t> raw) = 0;
  virtual bool PendingState() const = 0;  // control-only relay state
  virtual void OnNegotiationTimeout(absl::Time now) = 0;
  // A parse error in a received control message (the server NAKs a bad CALL_CONNECT_REQUEST).
  virtual bool HandleParseError(absl::Time now, absl::Span<const uint8_t> raw,
                                const ParseError& error, const absl::Status& status) {
    return false;
  }

  bool Closing() const;
  void Send(const ControlPacket& p);
  void Emit(EventType type, bool by_peer, StatusCode status, std::string reason);
  void StartAbort(absl::Time now, StatusCode status, AttributeId attribute, std::string reason,
                  absl::Span<const uint8_t> original = {});
  void Close(absl::Time now);
  void EnterConnected(absl::Time now);
  void SetDeadline(absl::Time t) { deadline_ = t; }
  // Abort because a message arrived in a state where it is not expected (MS-SSTP 3.x.5: "Else
  // if CurrentState has any other value").
  void UnexpectedMessage(absl::Time now, MessageType type);

  Timers timers_;
  Sink* sink_;
  State state_;
  State initial_;
  bool closed_ = false;
  bool started_ = false;
  absl::Time deadline_ = absl::InfiniteFuture();  // negotiation / abort / disconnect timer
  absl::Time hello_deadline_ = absl::InfiniteFuture();
  bool echo_outstanding_ = false;
  absl::Time echo_dead_at_ = absl::InfiniteFuture();  // no answer by then: dead peer
  Counters counters_;
};

struct ServerConfig {
  Timers timers;
  // Hash protocols offered in CALL_CONNECT_ACK (MS-SSTP 2.2.6). Both by default.
  uint8_t hash_protocols = kHashProtocolSha1 | kHashProtocolSha256;
  // Hashes of the server's leaf certificate (CertificateHash()); SHA1 padded to 32 bytes.
  HashField cert_hash_sha1{};
  HashField cert_hash_sha256{};
  // Also accept a Compound MAC computed with a zero HLAK when the real HLAK does not match:
  // for clients that cannot read their MPPE keys (e.g. sstpc run without its pppd plugin). Off by
  // default: it gives up the binding of the PPP authentication (nonce and certificate hash are
  // still checked).
  bool accept_zero_hlak = false;
};

// MS-SSTP 3.3. Server_Call_Disconnected -> (Start) Server_Connect_Request_Pending ->
// Server_Call_Connected_Pending -> Server_Call_Connected.
class ServerStateMachine : public Machine {
 public:
  // `nonce`: 32 random bytes from the caller (the library has no randomness of its own).
  ServerStateMachine(const ServerConfig& config, const Nonce& nonce, Sink* sink);

  // The HTTP 200 has been sent: wait for CALL_CONNECT_REQUEST, negotiation timer running.
  void Start(absl::Time now);
  // One complete SSTP packet from the client.
  void OnPacket(absl::Time now, absl::Span<const uint8_t> packet) { Receive(now, packet); }
  // PPP authentication finished: the server HLAK (ServerHlakFromMppe for MS-CHAPv2, ZeroHlak()
  // for PAP/CHAP). A CALL_CONNECTED that arrived earlier is verified now.
  void OnAuthenticationFinished(absl::Time now, const Hlak& hlak);

  // Hash protocol the client chose in CALL_CONNECTED (0 until then).
  uint8_t chosen_hash_protocol() const { return chosen_hash_protocol_; }
  bool call_connected_deferred() const { return deferred_.has_value(); }
  // The client's MAC matched only with a zero HLAK (ServerConfig::accept_zero_hlak).
  bool zero_hlak_accepted() const { return zero_hlak_accepted_; }

 private:
  void HandleControl(absl::Time now, const ControlMessage& m,
                     absl::Span<const uint8_t> raw) override;
  bool PendingState() const override { return state_ == State::kServerCallConnectedPending; }
  void OnNegotiationTimeout(absl::Time now) override;
  bool HandleParseError(absl::Time now, absl::Span<const uint8_t> raw, const ParseError& error,
                        const absl::Status& status) override;
  void VerifyBinding(absl::Time now, const CryptoBinding& binding, absl::Span<const uint8_t> raw);

  ServerConfig config_;
  Nonce nonce_;
  std::optional<Hlak> hlak_;
  struct Deferred {
    CryptoBinding binding;
    std::array<uint8_t, kCallConnectedLength> raw;
  };
  std::optional<Deferred> deferred_;
  uint8_t chosen_hash_protocol_ = 0;
  bool zero_hlak_accepted_ = false;
};

struct ClientConfig {
  Timers timers;
  // Hash protocols the client accepts (MS-SSTP 3.2.1 ClientHashProtocolSupported).
  uint8_t hash_protocols = kHashProtocolSha1 | kHashProtocolSha256;
  // Hashes of the certificate the server presented in TLS (CertificateHash()).
  HashField cert_hash_sha1{};
  HashField cert_hash_sha256{};
  // CALL_CONNECT_REQUEST retries after a NAK (MS-SSTP 3.2.5.3.3, implementation-dependent).
  int max_connect_retries = 3;
};

// MS-SSTP 3.2. Client_Call_Disconnected -> (Start) Client_Connect_Request_Sent ->
// Client_Connect_Ack_Received -> (authentication finished) Client_Call_Connected.
class ClientStateMachine : public Machine {
 public:
  ClientStateMachine(const ClientConfig& config, Sink* sink);

  // The HTTP 200 was received: send CALL_CONNECT_REQUEST, negotiation timer running.
  void Start(absl::Time now);
  void OnPacket(absl::Time now, absl::Span<const uint8_t> packet) { Receive(now, packet); }
  // PPP authentication finished with the client HLAK (ClientHlakFromMppe for MS-CHAPv2,
  // ZeroHlak() otherwise): sends CALL_CONNECTED with the crypto binding.
  void OnAuthenticationFinished(absl::Time now, const Hlak& hlak);

  uint8_t chosen_hash_protocol() const { return chosen_hash_protocol_; }
  const Nonce& nonce() const { return nonce_; }

 private:
  void HandleControl(absl::Time now, const ControlMessage& m,
                     absl::Span<const uint8_t> raw) override;
  bool PendingState() const override { return state_ == State::kClientConnectAckReceived; }
  void OnNegotiationTimeout(absl::Time now) override;
  void SendCallConnected(absl::Time now);

  ClientConfig config_;
  Nonce nonce_{};
  std::optional<Hlak> hlak_;
  uint8_t chosen_hash_protocol_ = 0;
  int retries_ = 0;
};

// Feeds a TLS plaintext stream through `assembler` into `machine`. On a framing error the
// connection cannot be delineated (MS-SSTP 3.1.5.1): the machine is closed without sending.
template <typename M>
absl::Status FeedStream(absl::Time now, StreamAssembler& assembler, M& machine,
                        absl::Span<const uint8_t> bytes) {
  absl::Status s = assembler.Feed(
      bytes, [&](absl::Span<const uint8_t> packet) { machine.OnPacket(now, packet); });
  if (!s.ok()) machine.OnTransportClosed(now, std::string(s.message()));
  return s;
}

}  // namespace sstp

#endif  // SSTP_STATE_MACHINE_H_
