// Link Control Protocol (RFC 1661 section 6, RFC 1990 for MRRU/endpoint) on the generic Fsm.
//
// Options: MRU (clamped to kSstpMaxMru), ACCM (accepted; used by HDLC framing), authentication
// protocol (server: asks for the best method it allows; client: accepts one it allows or naks
// toward one), magic number with loopback detection, PFC, ACFC, MRRU, short sequence numbers and
// endpoint discriminator (multilink, when enabled), callback rejected (CBCP: a VPN concentrator
// does not call back). Codes: Protocol-Reject, Echo-Request/Reply, Discard-Request,
// Identification, Time-Remaining.
#ifndef PPP_LCP_H_
#define PPP_LCP_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "ppp/auth.h"
#include "ppp/fsm.h"

namespace ppp {

// LCP option types (RFC 1661 6, RFC 1570, RFC 1990 5.1).
enum LcpOption : uint8_t {
  kLcpMru = 1,
  kLcpAccm = 2,
  kLcpAuthProtocol = 3,
  kLcpQualityProtocol = 4,
  kLcpMagicNumber = 5,
  kLcpPfc = 7,
  kLcpAcfc = 8,
  kLcpCallback = 13,
  kLcpMrru = 17,
  kLcpShortSequence = 18,
  kLcpEndpointDiscriminator = 19,
};

// Methods in the order we prefer them: strongest first (the order, and RouterOS').
inline constexpr AuthMethod kAuthPreference[] = {AuthMethod::kMsChapV2, AuthMethod::kMsChapV1,
                                                 AuthMethod::kChapMd5, AuthMethod::kPap};

struct LcpConfig {
  FsmConfig fsm;
  // Our MRU; requested only when it differs from the default 1500. Clamped to [128, 4091].
  uint16_t mru = 1500;
  // Server (authenticator): the methods it may ask for; empty means no authentication. Client
  // (peer): the methods it accepts when the server asks.
  std::vector<AuthMethod> auth_methods;
  bool authenticator = false;  // true on the server: we request the Authentication-Protocol
  bool request_pfc = false;    // we never compress what we send, but may ask the peer to
  bool request_acfc = false;
  // Multilink (RFC 1990): accept the peer's MRRU / short sequence / endpoint, and request ours.
  bool multilink = false;
  uint16_t mrru = 1614;
  // Accept a Callback option (we never call back, so false: Configure-Reject it).
  bool accept_callback = false;
  // Loopback: declared after this many consecutive Configure-Requests carrying our own magic
  // (RFC 1661 6.4 leaves the count to the implementation).
  int max_magic_collisions = 5;
  // The source of magic numbers: must return a fresh, unpredictable 32-bit value (RFC 1661 6.4).
  std::function<uint32_t()> random32;
};

// What LCP agreed on, for the rest of the session and the data plane.
struct LcpNegotiated {
  uint16_t peer_mru = 1500;         // largest frame we may send (min(peer's MRU, 4091))
  uint16_t our_mru = 1500;          // what the peer agreed we receive
  uint32_t peer_accm = 0xFFFFFFFF;  // ACCM the peer asked for (HDLC framing of what we send)
  uint32_t our_magic = 0;
  uint32_t peer_magic = 0;
  std::optional<AuthMethod> auth;  // who authenticates: the server, with this method
  bool peer_pfc = false;           // the peer accepts compressed protocol fields from us
  bool peer_acfc = false;
  bool our_pfc = false;  // the peer may send us compressed protocol fields
  bool our_acfc = false;
  std::optional<uint16_t> peer_mrru;
  bool peer_short_sequence = false;
  std::vector<uint8_t> peer_endpoint;  // class byte + address, as sent
};

class Lcp : public Fsm {
 public:
  explicit Lcp(LcpConfig config);

  const LcpNegotiated& negotiated() const { return negotiated_; }
  const LcpConfig& lcp_config() const { return config_; }

  // Keepalive: sends an Echo-Request carrying our magic (only in Opened).
  void SendEchoRequest();
  // Rejects a frame of an unknown or disabled protocol (RFC 1661 5.7): `frame_info` starts with
  // the 2-byte protocol, then information. Only in Opened.
  void SendProtocolReject(uint16_t protocol, absl::Span<const uint8_t> information);

  // Echo bookkeeping for the session's keepalive.
  uint64_t echo_replies() const { return echo_replies_; }
  uint8_t last_echo_id() const { return last_echo_id_; }
  // Set when the link loops back to itself (our magic came back, RFC 1661 6.4).
  bool loopback_detected() const { return loopback_; }
  // Protocol-Rejects received, for the Session to stop the rejected NCP.
  std::vector<uint16_t> TakeProtocolRejects() { return std::move(protocol_rejects_); }

 protected:
  void ResetConfigureRequest() override;
  void BuildConfigureRequest(std::vector<uint8_t>& options) override;
  Verdict ReceiveConfigureRequest(const OptionList& options, bool nak_allowed,
                                  std::vector<uint8_t>& reply) override;
  void ReceiveConfigureAck(const OptionList& options) override;
  NakResult ReceiveConfigureNak(const OptionList& options) override;
  NakResult ReceiveConfigureReject(const OptionList& options) override;
  std::string FailReason() const override { return fail_reason_; }
  bool ReceiveOtherCode(uint8_t code, uint8_t id, absl::Span<const uint8_t> data,
                        absl::Time now) override;

 private:
  uint32_t NewMagic();
  // Next method to ask for after `current` was naked/refused; nullopt when none is left.
  std::optional<AuthMethod> NextAuthAfterRefusal(AuthMethod refused) const;
  bool Allows(AuthMethod m) const;

  LcpConfig config_;
  LcpNegotiated negotiated_;
  // Our current wishes (reset by ResetConfigureRequest()).
  bool want_mru_ = false;
  uint16_t mru_ = 1500;
  std::optional<AuthMethod> want_auth_;
  std::vector<AuthMethod> refused_auth_;  // methods the peer naked/rejected this negotiation
  bool want_magic_ = true;
  uint32_t magic_ = 0;
  bool want_pfc_ = false;
  bool want_acfc_ = false;
  bool want_mrru_ = false;
  int magic_collisions_ = 0;
  bool loopback_ = false;
  std::string fail_reason_;
  uint64_t echo_replies_ = 0;
  uint8_t last_echo_id_ = 0;
  uint8_t echo_id_ = 0;
  std::vector<uint16_t> protocol_rejects_;
};

}  // namespace ppp

#endif  // PPP_LCP_H_
