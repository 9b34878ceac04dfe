// The option-negotiation automaton of RFC 1661 section 4, generic over the protocols that use it
// (LCP, IPCP, IPV6CP, BCP, CCP). A protocol derives from Fsm and supplies its options through the
// virtual hooks; the Fsm owns the state table, the Restart timer and the counters.
//
// No I/O and no clock: every call takes `now`. Packets to send are queued and taken with
// TakeOutput() (each the payload of one frame of protocol(): code, identifier, length, data), and
// the this-layer actions (tlu, tld, tls, tlf) are queued as events taken with TakeEvents(), so the
// owner (ppp::Session) sequences the layers.
#ifndef PPP_FSM_H_
#define PPP_FSM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace ppp {

// RFC 1661 section 4.2 states, numbered as in the state table.
enum class FsmState : uint8_t {
  kInitial = 0,
  kStarting = 1,
  kClosed = 2,
  kStopped = 3,
  kClosing = 4,
  kStopping = 5,
  kReqSent = 6,
  kAckRcvd = 7,
  kAckSent = 8,
  kOpened = 9,
};
std::string_view FsmStateName(FsmState state);

// Packet codes (RFC 1661 section 5; 12 Identification and 13 Time-Remaining from RFC 1570).
enum class Code : uint8_t {
  kConfigureRequest = 1,
  kConfigureAck = 2,
  kConfigureNak = 3,
  kConfigureReject = 4,
  kTerminateRequest = 5,
  kTerminateAck = 6,
  kCodeReject = 7,
  kProtocolReject = 8,
  kEchoRequest = 9,
  kEchoReply = 10,
  kDiscardRequest = 11,
  kIdentification = 12,
  kTimeRemaining = 13,
};

// One Configuration Option (RFC 1661 section 6): type, length, data, viewing the packet.
struct Option {
  uint8_t type = 0;
  absl::Span<const uint8_t> data;  // after the 2-byte type/length
  absl::Span<const uint8_t> raw;   // the whole option, type and length included
};
using OptionList = absl::InlinedVector<Option, 12>;

// Splits an option list; fails (the packet is then discarded) when an option's length is below 2
// or runs past the end.
absl::Status ParseOptions(absl::Span<const uint8_t> data, OptionList& out);
void AppendOption(uint8_t type, absl::Span<const uint8_t> data, std::vector<uint8_t>& out);
void AppendOption8(uint8_t type, uint8_t value, std::vector<uint8_t>& out);
void AppendOption16(uint8_t type, uint16_t value, std::vector<uint8_t>& out);
void AppendOption32(uint8_t type, uint32_t value, std::vector<uint8_t>& out);
inline uint16_t Load16(absl::Span<const uint8_t> p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t Load32(absl::Span<const uint8_t> p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// Restart timer and counters (RFC 1661 section 4.6), with the RFC's suggested defaults.
struct FsmConfig {
  absl::Duration restart_timer = absl::Seconds(3);
  int max_terminate = 2;
  int max_configure = 10;
  int max_failure = 5;
};

// The reply the protocol chose for the peer's Configure-Request. The Fsm sends it: RCR+ is kAck,
// RCR- is kNak or kReject.
enum class Verdict : uint8_t { kAck, kNak, kReject };

// What the protocol made of a Configure-Nak or Configure-Reject of its request.
enum class NakResult : uint8_t {
  kApplied,  // request adjusted: the RCN event proceeds
  kDiscard,  // malformed or not about our request: drop the packet, no event (RFC 1661 5.3)
  kFail,     // cannot agree (e.g. no common auth method): Close with FailReason()
};

enum class LayerEvent : uint8_t { kUp, kDown, kStarted, kFinished };

class Fsm {
 public:
  Fsm(uint16_t protocol, std::string name, FsmConfig config);
  virtual ~Fsm() = default;
  Fsm(const Fsm&) = delete;
  Fsm& operator=(const Fsm&) = delete;

  uint16_t protocol() const { return protocol_; }
  const std::string& name() const { return name_; }
  FsmState state() const { return state_; }
  const FsmConfig& config() const { return config_; }

  // Administrative and lower-layer events (RFC 1661 4.1).
  void Up(absl::Time now);
  void Down(absl::Time now);
  void Open(absl::Time now);
  // `reason` goes into the Terminate-Request data (text, for the peer's log).
  void Close(absl::Time now, std::string_view reason = {});

  // One received packet of protocol(). Malformed and unexpected packets are dropped with the
  // returned status saying why; the automaton is unaffected by them.
  absl::Status Receive(absl::Span<const uint8_t> packet, absl::Time now);

  // The RXJ event from outside: LCP received a Protocol-Reject for this protocol, which is
  // catastrophic for it (RFC 1661 5.7).
  void ReceiveProtocolReject(absl::Time now);

  // The Restart timer.
  std::optional<absl::Time> NextDeadline() const { return deadline_; }
  void OnTimer(absl::Time now);

  std::vector<std::vector<uint8_t>> TakeOutput() { return std::move(output_); }
  bool HasOutput() const { return !output_.empty(); }
  std::vector<LayerEvent> TakeEvents() { return std::move(events_); }

  // Why the layer last finished or went down (empty when closed administratively without a cause),
  // e.g. "no reply to 10 Configure-Requests" or "peer sent Terminate-Request: \"bye\"".
  const std::string& finish_reason() const { return finish_reason_; }
  // True when the last tlf/tld came from the peer (Terminate-Request) rather than from us.
  bool terminated_by_peer() const { return terminated_by_peer_; }

  // Counters for diagnostics.
  int restart_count() const { return restart_count_; }
  int failure_count() const { return failure_count_; }

 protected:
  // ----- Protocol hooks -----
  // Return to the configured wishes before a new negotiation (RFC 1661: naks and rejects of an
  // earlier negotiation are forgotten).
  virtual void ResetConfigureRequest() {}
  // Appends the options of this end's Configure-Request.
  virtual void BuildConfigureRequest(std::vector<uint8_t>& options) = 0;
  // Judges the peer's Configure-Request option by option and appends the options of the reply
  // to `reply`: all of them for kAck, the naked ones for kNak, the rejected ones for kReject
  // (rejects win over naks, RFC 1661 5.3/5.4). `nak_allowed` is false after Max-Failure naks:
  // then what would be naked is rejected (RFC 1661 4.6).
  virtual Verdict ReceiveConfigureRequest(const OptionList& options, bool nak_allowed,
                                          std::vector<uint8_t>& reply) = 0;
  // The peer acked our request (already checked to be identical to what we sent).
  virtual void ReceiveConfigureAck(const OptionList& options) {}
  virtual NakResult ReceiveConfigureNak(const OptionList& options) = 0;
  virtual NakResult ReceiveConfigureReject(const OptionList& options) = 0;
  // The reason used when a hook returns NakResult::kFail.
  virtual std::string FailReason() const { return "negotiation failed"; }
  // Codes beyond Code-Reject (LCP's 8-13). Return false for an unknown code (then Code-Reject).
  virtual bool ReceiveOtherCode(uint8_t code, uint8_t id, absl::Span<const uint8_t> data,
                                absl::Time now) {
    return false;
  }
  // This-Layer-Up/Down/Started/Finished hooks, called before the event is queued.
  virtual void OnLayerUp(absl::Time now) {}
  virtual void OnLayerDown(absl::Time now) {}

  // Sends a packet of protocol() with these fields (for LCP's Echo/Discard/Protocol-Reject).
  void SendPacket(uint8_t code, uint8_t id, absl::Span<const uint8_t> data);
  uint8_t NewIdentifier() { return next_id_++; }
  void SetFinishReason(std::string reason, bool by_peer);

 private:
  enum class Event : uint8_t { kRcrGood, kRcrBad, kRca, kRcn, kRtr, kRta };

  void SetState(FsmState state);
  void ArmTimer(absl::Time now) { deadline_ = now + config_.restart_timer; }
  void InitRestartCountConfigure() { restart_count_ = config_.max_configure; }
  void InitRestartCountTerminate() { restart_count_ = config_.max_terminate; }
  enum class RequestMode : uint8_t { kNew, kRetransmit, kAfterNak };
  void SendConfigureRequest(absl::Time now, RequestMode mode = RequestMode::kNew);
  void SendTerminateRequest(absl::Time now);
  void SendTerminateAck(uint8_t id);
  void SendCodeReject(absl::Span<const uint8_t> packet);
  void ThisLayerUp(absl::Time now);
  void ThisLayerDown(absl::Time now);
  void ThisLayerStarted();
  void ThisLayerFinished();

  void ReceiveConfigureRequestPacket(uint8_t id, absl::Span<const uint8_t> data, absl::Time now);
  absl::Status ReceiveConfigureReply(Code code, uint8_t id, absl::Span<const uint8_t> data,
                                     absl::Time now);
  void ReceiveTerminateRequest(uint8_t id, absl::Span<const uint8_t> data, absl::Time now);
  void ReceiveTerminateAck(absl::Time now);
  void ReceiveCodeReject(absl::Span<const uint8_t> data, absl::Time now);
  void Rxj(bool permitted, absl::Time now);
  // Sends our verdict on the request (sca or scn).
  void SendConfigureReply(Verdict verdict, uint8_t id);
  void JudgeRequest(absl::Span<const uint8_t> data, Verdict& verdict);

  const uint16_t protocol_;
  const std::string name_;
  const FsmConfig config_;
  FsmState state_ = FsmState::kInitial;
  std::optional<absl::Time> deadline_;
  int restart_count_ = 0;
  int failure_count_ = 0;  // Configure-Naks sent since the last Configure-Ack (Max-Failure)
  uint8_t next_id_ = 1;
  uint8_t request_id_ = 0;                // Identifier of our outstanding Configure-Request
  std::vector<uint8_t> request_options_;  // its options (an Ack must repeat them exactly)
  bool answered_ = false;                 // an Ack/Nak/Reject for request_id_ has been handled
  uint8_t terminate_id_ = 0;
  std::string terminate_reason_;
  std::vector<uint8_t> reply_;  // scratch for the reply to the peer's request
  std::vector<std::vector<uint8_t>> output_;
  std::vector<LayerEvent> events_;
  std::string finish_reason_;
  bool terminated_by_peer_ = false;
};

}  // namespace ppp

#endif  // PPP_FSM_H_
