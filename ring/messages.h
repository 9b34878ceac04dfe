// Message records carried by the rings (see ring.h for the framing). Every record has a
// RecordHeader {type, version, length, session_id}; the payload is a little-endian encoding of one
// of the structs below, with strings and byte strings as u16 length + bytes. Decode() validates
// every field (lengths, enums, counts, no trailing bytes) so a damaged or hostile record is
// rejected, never half-applied.
//
// Direction: "up" is data plane -> control plane, "down" is control plane -> data plane.
#ifndef RING_MESSAGES_H_
#define RING_MESSAGES_H_

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ring/ring.h"

namespace ring {

inline constexpr uint8_t kMessageVersion = 1;

enum class MsgType : uint16_t {
  // up
  kHello = 1,          // data plane started/attached: lcore count, epoch
  kSessionOpened = 2,  // SSTP Call Connect Request accepted on an lcore; PPP may start
  kPppFrameUp = 3,     // a PPP control frame from the client (LCP, auth, NCPs)
  kSessionClosed = 4,  // the data plane closed the session (reason, final counters)
  kCounters = 5,       // periodic per-session counters
  kDumpSession = 6,    // one established session, in reply to kDumpRequest
  kDumpEnd = 7,        // end of the dump of one lcore
  kPortStatus = 8,     // an Ethernet port of the data plane (name, MAC, MTU, running)
  // down
  kPppFrameDown = 32,  // a PPP control frame to the client
  kSessionAuthorized =
      33,              // authentication succeeded; HLAK for the crypto binding (MS-SSTP 3.2.5.2)
  kSessionUp = 34,     // NCPs opened: addresses, MTU, limits; start forwarding
  kSessionClose = 35,  // the control plane closes the session (reason)
  kRouteAdd = 36,      // install a route in the FIB (session routes and /ip route)
  kRouteDel = 37,
  kServerConfig = 38,  // /interface sstp-server server settings
  kDumpRequest = 39,   // send every established session (resync after a control plane restart)
  kPortConfig = 40,    // /interface ethernet settings (proxy-arp)
  kIpAddress = 41,     // /ip address on a port (add or remove)
};

// Session ids are allocated by the data plane with the owning lcore in the top 16 bits, so any
// lcore (and the control plane) can tell the owner of a session from its id.
inline constexpr uint64_t MakeSessionId(uint16_t lcore, uint64_t serial) {
  return (uint64_t(lcore) << 48) | (serial & ((uint64_t{1} << 48) - 1));
}
inline constexpr uint16_t SessionLcore(uint64_t session_id) { return uint16_t(session_id >> 48); }

const char* MsgTypeName(MsgType t);

struct IpAddr {
  uint8_t family = 0;  // 0 none, 4, 6
  std::array<uint8_t, 16> bytes{};
  static IpAddr V4(uint32_t host_order);
  uint32_t v4() const;  // host order
  std::string ToString() const;
  friend bool operator==(const IpAddr&, const IpAddr&) = default;
};

enum class AuthMethod : uint8_t { kNone = 0, kPap = 1, kChap = 2, kMsChap1 = 3, kMsChap2 = 4 };
const char* AuthMethodName(AuthMethod m);

// Why a session ended (SSTP Call Disconnect / Abort causes and PPP terminations).
enum class CloseReason : uint16_t {
  kUnknown = 0,
  kClientDisconnect = 1,  // SSTP CALL_DISCONNECT or PPP Terminate-Request from the client
  kTcpReset = 2,
  kKeepaliveTimeout = 3,
  kAuthFailed = 4,
  kNegotiationFailed = 5,
  kAdminClose = 6,      // /ppp active remove, secret disabled, server disabled
  kSessionTimeout = 7,  // profile session-timeout
  kIdleTimeout = 8,     // profile idle-timeout
  kNoAddress = 9,       // pool exhausted
  kControlPlaneGone = 10,
  kCryptoBindingFailed = 11,
  kRingFull = 12,
  kOnlyOne = 13,  // profile only-one=yes and the user is already connected
  kMax = 13,
};
const char* CloseReasonName(CloseReason r);

struct Hello {
  uint16_t n_lcores = 0;
  uint16_t lcore = 0;
  uint32_t pid = 0;
  uint64_t dp_epoch = 0;
};

struct SessionOpened {
  uint16_t lcore = 0;
  IpAddr peer;
  uint16_t peer_port = 0;
  IpAddr local;
  uint16_t local_port = 0;
  uint16_t tls_version = 0;  // 0x0303 TLS 1.2, 0x0304 TLS 1.3
  std::string tls_cipher;
  uint8_t has_client_cert = 0;
  std::array<uint8_t, 32> client_cert_sha256{};
  std::string client_cert_subject;
  uint64_t opened_unix_ns = 0;
};

// A PPP frame as an SSTP data packet carries it (MS-SSTP 2.2.3): optional address/control
// (FF 03), protocol field, information; no HDLC byte stuffing or FCS.
struct PppFrame {
  std::vector<uint8_t> frame;
};

struct CounterBlock {
  uint64_t rx_bytes = 0, tx_bytes = 0, rx_packets = 0, tx_packets = 0;
  uint64_t last_rx_unix_ns = 0;
};

struct SessionClosed {
  CloseReason reason = CloseReason::kUnknown;
  std::string detail;
  CounterBlock counters;
};

struct SessionCounters {
  uint64_t session_id = 0;
  CounterBlock counters;
};
struct Counters {
  std::vector<SessionCounters> sessions;  // at most kMaxCounterEntries
};
inline constexpr size_t kMaxCounterEntries = 256;

struct RouteEntry {
  IpAddr dst;
  uint8_t prefix_len = 0;
  IpAddr gateway;  // family 0: deliver to the record's session
  uint32_t metric = 1;
};
inline constexpr size_t kMaxRoutes = 64;

struct SessionUp {
  IpAddr local_v4;
  IpAddr remote_v4;
  uint64_t local_ifid = 0;  // IPV6CP interface identifiers (RFC 5072), 0: no IPv6
  uint64_t remote_ifid = 0;
  uint16_t mtu = 0;
  uint16_t mru = 0;
  uint64_t rate_rx_bps = 0;  // 0: unlimited
  uint64_t rate_tx_bps = 0;
  uint32_t session_timeout_s = 0;
  uint32_t idle_timeout_s = 0;
  uint8_t change_tcp_mss = 0;
  uint8_t bridge = 0;  // BCP opened (RFC 3518): the session carries Ethernet frames
  // The data-plane port the session's bridged frames are switched with (the profile's bridge=,
  // resolved by the control plane through /interface bridge port); empty: not bridged.
  std::string bridge_port;
  IpAddr dns1, dns2;
  std::string user;
  std::vector<RouteEntry> routes;  // the secret's routes=, installed with the session
};

struct SessionAuthorized {
  AuthMethod method = AuthMethod::kNone;
  // Higher-Layer Authentication Key for the SSTP crypto binding (MS-SSTP 3.2.5.2): for MS-CHAPv2
  // MasterSendKey || MasterReceiveKey (RFC 3079), zero for the other methods.
  std::array<uint8_t, 32> hlak{};
  std::string user;
};

struct SessionClose {
  CloseReason reason = CloseReason::kUnknown;
  std::string detail;
};

struct Route {
  RouteEntry route;
};

struct ServerConfig {
  uint8_t enabled = 0;
  uint16_t port = 443;
  uint16_t max_mtu = 1500;
  uint16_t max_mru = 1500;
  uint16_t mrru = 0;                  // 0: disabled
  uint32_t keepalive_timeout_s = 60;  // 0: disabled
  uint8_t require_client_certificate = 0;
  uint8_t auth_mask = 0x0f;      // bit 0 pap, 1 chap, 2 mschap1, 3 mschap2
  std::string certificate_file;  // PEM with the certificate chain
  std::string private_key_file;
};

struct DumpRequest {
  uint64_t cp_epoch = 0;
};

struct DumpSession {
  SessionOpened opened;
  SessionAuthorized authorized;
  SessionUp up;
  CounterBlock counters;
  uint64_t up_unix_ns = 0;
};

struct DumpEnd {
  uint64_t cp_epoch = 0;
  uint32_t sessions = 0;
};

struct PortStatus {
  std::string name;
  std::array<uint8_t, 6> mac{};
  uint16_t mtu = 1500;
  uint8_t running = 0;
};

struct PortConfig {
  std::string name;
  uint8_t proxy_arp = 0;
};

struct IpAddressConfig {
  std::string interface;
  IpAddr address;
  uint8_t prefix_len = 32;
  uint8_t add = 1;  // 0: remove
};

using Message = std::variant<Hello, SessionOpened, PppFrame, SessionClosed, Counters, DumpSession,
                             DumpEnd, PortStatus, SessionAuthorized, SessionUp, SessionClose, Route,
                             ServerConfig, DumpRequest, PortConfig, IpAddressConfig>;

// A decoded record: its type (PppFrame and Route have two types each), session and body.
struct Decoded {
  MsgType type;
  uint64_t session_id = 0;
  Message body;
};

// Validates and decodes one record.
absl::StatusOr<Decoded> Decode(const RecordHeader& header, absl::Span<const uint8_t> payload);

// Encodes a message body (without the record header). PppFrame/Route need the type to tell up
// from down / add from del; the others imply it.
std::vector<uint8_t> Encode(const Message& body);
MsgType TypeOf(const Message& body, bool down_or_del = false);

// Encodes and pushes; false when the ring is full (counted by the ring).
bool Send(Producer& producer, MsgType type, uint64_t session_id, const Message& body);

}  // namespace ring

#endif  // RING_MESSAGES_H_
