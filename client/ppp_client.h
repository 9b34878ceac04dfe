// The PPP client role over SSTP: ppp::Session in SessionRole::kClient (LCP, authentication as the
// peer with the methods the user allows, IPCP with address and DNS per RFC 1877, IPV6CP), seen
// through what the client's engine needs: frames in and out, the phase, the HLAK for the SSTP
// crypto binding, the negotiated addresses, and why the link ended. No I/O, time injected.
#ifndef CLIENT_PPP_CLIENT_H_
#define CLIENT_PPP_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ppp/auth.h"
#include "ppp/lcp.h"
#include "ppp/session.h"

namespace client {

struct PppClientConfig {
  std::string user;
  std::string password;
  uint8_t auth_methods = 0x0f;  // client::AuthMethod bits (options.h)
  int mru = 1500;
  std::optional<int> mrru;
  bool ipv6 = true;     // run IPV6CP (a server without IPv6 rejects it; IPv4 goes on)
  bool bridge = false;  // BCP (RFC 3518) only: no IPCP, no IPV6CP
  std::function<void(absl::Span<uint8_t>)> random;
};

// What the network control protocols agreed on.
struct PppNetwork {
  bool ipv4 = false;
  uint32_t local_address = 0;  // host byte order
  uint32_t remote_address = 0;
  uint32_t primary_dns = 0;
  uint32_t secondary_dns = 0;
  bool ipv6 = false;
  uint64_t local_interface_id = 0;
  uint64_t remote_interface_id = 0;
  bool bridge = false;  // BCP open: bridged Ethernet frames (RFC 3518 4.3) flow
  std::optional<ppp::MacAddress> local_mac;  // as announced/assigned in BCP, when any
  std::optional<ppp::MacAddress> peer_mac;
};

class PppClient {
 public:
  explicit PppClient(PppClientConfig config);
  ~PppClient();

  // The lower layer is up (SSTP CALL_CONNECT_ACK received): LCP starts negotiating.
  void Start(absl::Time now);
  // One PPP control frame from the server (with or without FF 03).
  void Receive(absl::Time now, absl::Span<const uint8_t> frame);
  // Orderly close: LCP Terminate-Request.
  void Close(absl::Time now, const std::string& reason);
  std::optional<absl::Time> NextDeadline() const;
  void OnTimer(absl::Time now);

  // Complete PPP frames to send, in order.
  std::vector<std::vector<uint8_t>> TakeFrames();
  // Network packets the session produced itself (RFC 1990 multilink reassembly): (protocol,
  // packet).
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> TakeDelivered() {
    return session_->TakeDelivered();
  }

  bool lcp_opened() const { return lcp_up_; }
  bool authenticating() const;
  // Set once authentication succeeded, or at once when the server asked for none.
  bool authenticated() const { return authenticated_; }
  std::string auth_method() const;
  // MS-SSTP 3.2.5.2 HLAK: the MS-CHAPv2 MPPE master keys, zeros otherwise.
  std::array<uint8_t, 32> Hlak() const { return session_->Hlak(); }
  const PppNetwork& network() const { return network_; }
  const ppp::LcpNegotiated& lcp() const { return session_->lcp().negotiated(); }
  // The link failed or was terminated: why.
  bool failed() const { return failed_; }
  const std::string& failure_reason() const { return failure_reason_; }
  // The authentication methods the server asked for in its LCP Configure-Requests before LCP
  // opened ("pap", "mschap2", ...), in order: a server that ends the call because none of them
  // is allowed by --authentication rarely says why.
  const std::vector<std::string>& server_auth_requests() const { return server_asked_; }

 private:
  void Pump(absl::Time now);
  void Fail(const std::string& reason);
  void NoteServerAuthRequest(absl::Span<const uint8_t> frame);

  std::unique_ptr<ppp::Session> session_;
  bool lcp_up_ = false;
  bool authenticated_ = false;
  bool closing_ = false;
  bool failed_ = false;
  std::string failure_reason_;
  std::vector<std::string> server_asked_;
  PppNetwork network_;
};

}  // namespace client

#endif  // CLIENT_PPP_CLIENT_H_
