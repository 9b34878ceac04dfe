// The PPP client role over SSTP (RFC 1661 phases): LCP (ppp::Lcp), authentication as the peer
// (ppp::MakePeer with the method the server asks for, among those the user allows), then IPCP
// (ppp::Ipcp, address and DNS per RFC 1877). Takes whole PPP frames, queues whole PPP frames;
// no I/O, time injected.
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
#include "ppp/ipcp.h"
#include "ppp/lcp.h"

namespace client {

struct PppClientConfig {
  std::string user;
  std::string password;
  uint8_t auth_methods = 0x0f;  // client::AuthMethod bits (options.h)
  int mru = 1500;
  std::optional<int> mrru;
  std::function<void(absl::Span<uint8_t>)> random;
};

class PppClient {
 public:
  explicit PppClient(PppClientConfig config);
  ~PppClient();

  // The lower layer is up (SSTP CALL_CONNECT_ACK received): LCP starts negotiating.
  void Start(absl::Time now);
  // One PPP frame from the server (with or without FF 03). Network-layer frames are not handled
  // here (the engine passes them to the TUN).
  void Receive(absl::Time now, absl::Span<const uint8_t> frame);
  // Orderly close: LCP Terminate-Request.
  void Close(absl::Time now, const std::string& reason);
  std::optional<absl::Time> NextDeadline() const;
  void OnTimer(absl::Time now);

  // Complete PPP frames to send, in order.
  std::vector<std::vector<uint8_t>> TakeFrames();

  bool lcp_opened() const { return lcp_up_; }
  bool authenticating() const { return peer_ != nullptr && peer_->result() == nullptr; }
  // Set once authentication finished (success or not); nullptr before. With no authentication
  // asked for by the server, a success without MPPE keys.
  const ppp::AuthResult* auth_result() const { return auth_result_ ? &*auth_result_ : nullptr; }
  bool network_up() const { return ipcp_up_; }
  const ppp::IpcpNegotiated& ipcp() const { return ipcp_->negotiated(); }
  const ppp::LcpNegotiated& lcp() const { return lcp_->negotiated(); }
  // The link failed or was terminated: why.
  bool failed() const { return failed_; }
  const std::string& failure_reason() const { return failure_reason_; }

 private:
  void Pump(absl::Time now);
  void Fail(const std::string& reason);

  PppClientConfig config_;
  std::unique_ptr<ppp::Lcp> lcp_;
  std::unique_ptr<ppp::Ipcp> ipcp_;
  std::unique_ptr<ppp::Peer> peer_;
  std::optional<ppp::AuthResult> auth_result_;
  bool lcp_up_ = false;
  bool ipcp_started_ = false;
  bool ipcp_up_ = false;
  bool closing_ = false;
  bool failed_ = false;
  std::string failure_reason_;
  std::vector<std::vector<uint8_t>> frames_;
};

}  // namespace client

#endif  // CLIENT_PPP_CLIENT_H_
