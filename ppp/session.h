// A whole PPP link in the server or client role (RFC 1661 section 3 phases): LCP, then
// authentication (ppp/auth.h), then the network control protocols (IPCP, IPV6CP, BCP), with no
// I/O. The SSTP layer, the control plane and the client drive it:
//
//   ppp::Session s(config);           // server: config.policy answers credentials and addresses
//   s.Start(now);                     // the transport is up (SSTP: call connected to PPP)
//   loop:
//     s.ReceiveFrame(frame, now);     // every PPP frame from the peer (with or without FF 03)
//     if (now >= s.NextDeadline()) s.OnTimer(now);
//     for (auto& f : s.TakeOutput()) send(f);           // whole PPP frames, FF 03 + protocol
//     for (auto& e : s.TakeEvents()) ...                 // LCP up, authenticated, network up...
//   s.Close(now, "admin");            // orderly Terminate; kTerminated follows
//
// Data frames (IPv4, IPv6, bridged Ethernet) are the data plane's: it strips the header with
// ppp::PeekHeader() and never hands them to the Session. Given to ReceiveFrame anyway (the client,
// tests), they are queued for TakeDelivered() when their NCP is open, and dropped otherwise.
#ifndef PPP_SESSION_H_
#define PPP_SESSION_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ppp/auth.h"
#include "ppp/bcp.h"
#include "ppp/fsm.h"
#include "ppp/ipcp.h"
#include "ppp/ipv6cp.h"
#include "ppp/lcp.h"
#include "ppp/multilink.h"

namespace ppp {

enum class SessionRole : uint8_t { kServer, kClient };

// RFC 1661 section 3.2.
enum class Phase : uint8_t { kDead, kEstablish, kAuthenticate, kNetwork, kTerminate };
std::string_view PhaseName(Phase phase);

// What the server hands a user once authenticated (RouterOS: /ppp secret and /ppp profile
// local-address, remote-address, dns-server, bridge...). A zero or unset field is not offered.
struct NetworkAssignment {
  // IPCP. Host byte order.
  uint32_t local_address = 0;   // our end (the gateway)
  uint32_t remote_address = 0;  // the client's address
  uint32_t primary_dns = 0;
  uint32_t secondary_dns = 0;
  // IPV6CP interface identifiers (0: random).
  uint64_t local_interface_id = 0;
  uint64_t remote_interface_id = 0;
  // BCP: our MAC, and one to give a peer that asks.
  std::optional<MacAddress> local_mac;
  std::optional<MacAddress> remote_mac;
  // Which NCPs run for this user, among those SessionConfig enables (e.g. BCP only for users
  // whose profile has bridge=). A disabled one is Protocol-Rejected when the peer starts it.
  bool ipcp = true;
  bool ipv6cp = true;
  bool bcp = true;
};

// The server's questions to its caller (the control plane).
class ServerPolicy {
 public:
  virtual ~ServerPolicy() = default;

  // The authenticator's credential lookup (ppp/auth.h): the user's password, NotFound(),
  // Disabled(), or Pending() followed later by Session::SupplyCredential().
  virtual Credential LookupCredential(std::string_view user) = 0;

  struct Decision {
    enum class Kind : uint8_t {
      kAssign,   // use `assignment` now
      kPending,  // answered later through Session::SupplyNetwork() / RefuseNetwork()
      kRefuse,   // e.g. pool exhausted, profile forbids: the link is terminated with `reason`
    };
    Kind kind = Kind::kRefuse;
    NetworkAssignment assignment;
    std::string reason;

    static Decision Assign(NetworkAssignment a) { return {Kind::kAssign, std::move(a), {}}; }
    static Decision Pending() { return {Kind::kPending, {}, {}}; }
    static Decision Refuse(std::string reason) { return {Kind::kRefuse, {}, std::move(reason)}; }
  };
  // Called once authentication has succeeded (or at once when no authentication is configured:
  // then `auth` is nullptr), before any NCP is opened.
  virtual Decision AssignNetwork(const AuthResult* auth) = 0;
};

struct SessionConfig {
  SessionRole role = SessionRole::kServer;

  // ----- LCP -----
  FsmConfig fsm;        // restart timer 3 s, Max-Configure 10, Max-Terminate 2, Max-Failure 5
  uint16_t mru = 1500;  // clamped to 4091 (what fits an SSTP packet)
  bool request_pfc = false;
  bool request_acfc = false;
  bool multilink = false;  // accept MRRU/short sequence and reassemble MP fragments
  uint16_t mrru = 1614;
  // Server: methods it may ask for, in the fixed preference mschap2 > mschap1 > chap > pap; empty
  // means no authentication. Client: the methods it accepts.
  std::vector<AuthMethod> auth_methods = {AuthMethod::kMsChapV2};
  // LCP Echo keepalive (pppd lcp-echo-interval/failure): zero disables. SSTP has its own echo,
  // so the concentrator usually leaves this off.
  absl::Duration echo_interval = absl::ZeroDuration();
  int echo_failures = 5;

  // ----- Authentication -----
  absl::Duration auth_restart_timer = absl::Seconds(3);
  int auth_max_transmissions = 10;
  RandomSource random;  // challenges, magic numbers, identifiers; tests inject a scripted one
  // Server.
  ServerPolicy* policy = nullptr;  // not owned; required for the server role
  std::string server_name = "sstp";
  std::string success_message = "Welcome";
  std::string failure_message = "Authentication failed";
  // Client.
  std::string user;
  std::string password;

  // ----- Network -----
  bool enable_ipcp = true;
  bool enable_ipv6cp = false;
  bool enable_bcp = false;
  // Client IPCP wishes: an address to ask for (0 asks the server) and whether to ask for DNS.
  uint32_t client_requested_address = 0;
  bool client_request_dns = true;
  uint64_t client_interface_id = 0;      // IPV6CP (0: random)
  std::optional<MacAddress> client_mac;  // BCP
};

// Why the link ended.
enum class TerminateReason : uint8_t {
  kAdministrative,      // Close() was called
  kPeerTerminated,      // the peer sent LCP Terminate-Request
  kLowerLayerDown,      // LowerLayerDown() was called (transport gone)
  kNegotiationTimeout,  // LCP: no answer to Max-Configure requests
  kNegotiationFailed,   // LCP did not converge or was rejected
  kNoCommonAuth,        // no authentication method both ends accept
  kAuthFailed,          // authentication failed (wrong password, no such user, timeout...)
  kNetworkRefused,      // the server policy refused the user's network
  kNoNetworkProtocol,   // every NCP failed or was rejected
  kLoopback,            // the link is looped back (magic number)
  kEchoTimeout,         // LCP echo unanswered
};
std::string_view TerminateReasonName(TerminateReason reason);

struct SessionEvent {
  enum class Type : uint8_t {
    kLcpUp,          // LCP opened: `lcp` holds what was agreed
    kAuthenticated,  // `auth` holds the result (user, method, MS-CHAP MPPE master keys)
    kNetworkUp,      // one NCP opened: `protocol` and `network`
    kNetworkDown,    // one NCP closed
    kLcpDown,        // LCP left Opened (renegotiation or termination)
    kTerminated,     // the link is dead: `reason`, `message`; nothing more will happen
  };
  Type type;
  uint16_t protocol = 0;  // kNetworkUp/Down: kProtocolIpcp, kProtocolIpv6cp, kProtocolBcp
  std::optional<LcpNegotiated> lcp;
  std::optional<AuthResult> auth;
  struct Network {
    uint32_t local_address = 0;  // IPCP (host order)
    uint32_t remote_address = 0;
    uint32_t primary_dns = 0;
    uint32_t secondary_dns = 0;
    uint64_t local_interface_id = 0;  // IPV6CP
    uint64_t remote_interface_id = 0;
    std::optional<MacAddress> local_mac;  // BCP
    std::optional<MacAddress> peer_mac;
  } network;
  TerminateReason reason = TerminateReason::kAdministrative;
  std::string message;
};

class Session {
 public:
  // The config is validated by Create(); the constructor assumes a valid one.
  static absl::StatusOr<std::unique_ptr<Session>> Create(SessionConfig config);
  explicit Session(SessionConfig config);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // ----- Inputs -----
  // The transport is up: LCP opens and sends its Configure-Request.
  void Start(absl::Time now);
  // One PPP frame from the peer. Errors say why a frame was dropped (for debug logs); the session
  // itself is unaffected by bad frames.
  absl::Status ReceiveFrame(absl::Span<const uint8_t> frame, absl::Time now);
  std::optional<absl::Time> NextDeadline() const;
  void OnTimer(absl::Time now);
  // Orderly close: LCP Terminate-Request, then kTerminated once acked or timed out.
  void Close(absl::Time now, std::string_view reason = "administrative close");
  // The transport is gone: kTerminated at once, nothing is sent.
  void LowerLayerDown(absl::Time now);
  // Server, asynchronous backends: answers a Pending() credential lookup / network decision.
  absl::Status SupplyCredential(std::string_view user, Credential credential, absl::Time now);
  void SupplyNetwork(NetworkAssignment assignment, absl::Time now);
  void RefuseNetwork(std::string_view reason, absl::Time now);
  // Sends an LCP Echo-Request now (e.g. on demand from a CLI); counts toward echo_failures.
  void SendEchoRequest(absl::Time now);
  // Sends a data packet of an open NCP's protocol (client and tests; the data plane has its own
  // path). Fails when that protocol is not up.
  absl::Status SendData(uint16_t protocol, absl::Span<const uint8_t> information);

  // ----- Outputs -----
  std::vector<std::vector<uint8_t>> TakeOutput() { return std::move(output_); }
  bool HasOutput() const { return !output_.empty(); }
  std::vector<SessionEvent> TakeEvents() { return std::move(events_); }
  // Data frames received for an open NCP: (protocol, information).
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> TakeDelivered() {
    return std::move(delivered_);
  }

  // ----- State -----
  SessionRole role() const { return config_.role; }
  Phase phase() const { return phase_; }
  bool terminated() const { return terminated_; }
  const Lcp& lcp() const { return *lcp_; }
  const AuthResult* auth_result() const { return auth_result_ ? &*auth_result_ : nullptr; }
  // SSTP crypto binding's Higher-Layer Authentication Key (MS-SSTP 3.2.5.2): 32 zero bytes for
  // PAP/CHAP/none, the MS-CHAPv2 MPPE master keys otherwise (server MasterReceiveKey ||
  // MasterSendKey, client MasterSendKey || MasterReceiveKey: both ends compute the same bytes).
  std::array<uint8_t, 32> Hlak() const;
  const Ipcp* ipcp() const { return ipcp_.get(); }
  const Ipv6cp* ipv6cp() const { return ipv6cp_.get(); }
  const Bcp* bcp() const { return bcp_.get(); }
  // Frames dropped since creation (malformed, unexpected protocol...), for counters.
  uint64_t dropped_frames() const { return dropped_frames_; }

 private:
  void Process(absl::Time now);
  void Flush();
  void FlushFsm(Fsm& fsm);
  void Emit(SessionEvent e) { events_.push_back(std::move(e)); }
  void HandleLcpEvent(LayerEvent e, absl::Time now);
  void HandleNcpEvent(Fsm& ncp, LayerEvent e, absl::Time now);
  void StartAuthentication(absl::Time now);
  void CheckAuthResult(absl::Time now);
  void EnterNetworkPhase(absl::Time now);
  void OpenNcps(const NetworkAssignment& assignment, absl::Time now);
  void CloseWith(TerminateReason reason, std::string message, absl::Time now);
  void Terminate(TerminateReason reason, std::string message);
  void TearDownUpperLayers(absl::Time now);
  Fsm* NcpFor(uint16_t protocol);
  absl::Status ReceiveNcpFrame(uint16_t protocol, absl::Span<const uint8_t> info, absl::Time now);
  absl::Status ReceiveInner(uint16_t protocol, absl::Span<const uint8_t> info, absl::Time now,
                            bool from_multilink);
  void SendFrame(uint16_t protocol, absl::Span<const uint8_t> information);
  SessionEvent NetworkEvent(SessionEvent::Type type, const Fsm& ncp) const;

  SessionConfig config_;
  Phase phase_ = Phase::kDead;
  bool started_ = false;
  bool terminated_ = false;
  std::unique_ptr<Lcp> lcp_;
  std::unique_ptr<AuthEngine> auth_;
  std::optional<AuthResult> auth_result_;
  bool auth_reported_ = false;
  bool network_pending_ = false;  // server: waiting for SupplyNetwork()
  std::unique_ptr<Ipcp> ipcp_;
  std::unique_ptr<Ipv6cp> ipv6cp_;
  std::unique_ptr<Bcp> bcp_;
  std::unique_ptr<MultilinkReassembler> reassembler_;
  // NCP frames that arrived before the network phase (the peer may be quicker than our policy):
  // the last one per protocol is replayed when the NCP opens.
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> early_ncp_frames_;
  std::optional<TerminateReason> pending_reason_;
  std::string pending_message_;
  // LCP echo keepalive.
  std::optional<absl::Time> next_echo_;
  int echoes_outstanding_ = 0;
  uint64_t echo_replies_seen_ = 0;
  std::vector<std::vector<uint8_t>> output_;
  std::vector<SessionEvent> events_;
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> delivered_;
  uint64_t dropped_frames_ = 0;
};

}  // namespace ppp

#endif  // PPP_SESSION_H_
