// The client's protocol engine for one connection, without I/O: the HTTP handshake (MS-SSTP
// 3.2.4.1), sstp::ClientStateMachine and the PPP client (LCP, authentication as the peer, IPCP)
// wired together. Bytes from the server (TLS plaintext) and IP packets from the TUN go in with the
// current time; bytes for the server, IP packets for the TUN and phase changes come out through
// EngineOutput. The program, the tests and the fuzz target drive the same code.
#ifndef CLIENT_ENGINE_H_
#define CLIENT_ENGINE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "sstp/http.h"
#include "sstp/packet.h"
#include "sstp/state_machine.h"

namespace client {

class PppClient;  // client/ppp_client.h
struct PppNetwork;

struct EngineConfig {
  std::string host;  // HTTP Host header: the server name as the user gave it
  std::string user;
  std::string password;
  uint8_t auth_methods = 0x0f;  // client::AuthMethod bits (options.h)
  int mru = 1500;
  std::optional<int> mrru;
  std::optional<absl::Duration> keepalive = absl::Seconds(60);  // nullopt: no SSTP echo
  bool ipv6 = true;                                             // run IPV6CP
  // Bridged Ethernet (RFC 3518): BCP instead of IPCP/IPV6CP; SendIp/DeliverIp carry Ethernet
  // frames (protocol 0x0031 with the 2-byte bridged header).
  bool bridge = false;
  // Hashes of the server's TLS leaf certificate (SHA1 padded to 32 bytes) for crypto binding.
  sstp::HashField cert_sha1{};
  sstp::HashField cert_sha256{};
  // Testing only (options.h Fault::kTamperCompoundMac): flip a bit of CALL_CONNECTED's MAC.
  bool tamper_compound_mac = false;
  // Unpredictable bytes (correlation id, nonces, PPP magic, MS-CHAPv2 peer challenge).
  std::function<void(absl::Span<uint8_t>)> random;
};

enum class Phase : uint8_t {
  kHttp,            // request sent, waiting for the 200
  kNegotiating,     // SSTP CALL_CONNECT_REQUEST / ACK, LCP
  kAuthenticating,  // PPP authentication
  kNetwork,         // IPCP
  kConnected,       // IPCP opened and CALL_CONNECTED sent: IP flows
  kDisconnecting,   // CALL_DISCONNECT / CALL_ABORT exchange
  kClosed,          // done: close the connection
};
const char* PhaseName(Phase phase);

struct NetworkUp {
  bool ipv4 = false;           // IPCP open
  uint32_t local_address = 0;  // host byte order
  uint32_t remote_address = 0;
  uint32_t primary_dns = 0;
  uint32_t secondary_dns = 0;
  bool ipv6 = false;  // IPV6CP open: link-local fe80::<interface id>
  uint64_t local_interface_id = 0;
  uint64_t remote_interface_id = 0;
  int peer_mru = 1500;                              // the largest frame the server accepts: our MTU
  std::string auth_method;                          // "mschap2", ...
  bool bridge = false;                              // BCP open: Ethernet frames flow
  std::optional<std::array<uint8_t, 6>> local_mac;  // BCP MAC-Address options, when exchanged
  std::optional<std::array<uint8_t, 6>> peer_mac;
};

class EngineOutput {
 public:
  virtual ~EngineOutput() = default;
  // Bytes for the TLS stream: `head` then `tail` (tail is empty except for data packets).
  virtual void SendToServer(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) = 0;
  // An IPv4 or IPv6 packet for the TUN (an Ethernet frame for the TAP in bridge mode).
  virtual void DeliverIp(absl::Span<const uint8_t> packet) = 0;
  // Phase changes, with a sentence for the status line. kConnected comes once more when IPCP
  // opens (or changes addresses) after the call was connected on IPV6CP alone.
  virtual void OnPhase(Phase phase, const std::string& detail) = 0;
  virtual void OnNetworkUp(const NetworkUp& up) = 0;
};

struct EngineCounters {
  uint64_t tx_bytes = 0, rx_bytes = 0, tx_packets = 0, rx_packets = 0;
  uint64_t tx_dropped = 0, rx_dropped = 0;
  absl::Time last_activity = absl::InfinitePast();
};

// Headroom the caller leaves in front of an IP packet (or Ethernet frame) given to SendIp: the PPP
// header (FF 03 and a 2-byte protocol) and, for bridged frames, the 2-byte header of RFC 3518
// 4.3 are written there, so the packet is not copied.
inline constexpr size_t kIpHeadroom = 6;

class Engine : private sstp::Sink {
 public:
  Engine(EngineConfig config, EngineOutput* out);
  ~Engine() override;

  // Sends the HTTP request; the negotiation timer runs from here.
  void Start(absl::Time now);
  // TLS plaintext from the server.
  void OnServerBytes(absl::Time now, absl::Span<const uint8_t> bytes);
  // An IP packet from the TUN (an Ethernet frame from the TAP in bridge mode) at
  // buf[kIpHeadroom, kIpHeadroom + len). Dropped (and counted) unless connected.
  void SendIp(absl::Time now, absl::Span<uint8_t> buf, size_t len);
  // Orderly end (SIGTERM): LCP Terminate-Request and SSTP CALL_DISCONNECT.
  void Disconnect(absl::Time now, const std::string& reason);
  // The TCP/TLS connection is gone.
  void OnTransportClosed(absl::Time now, const std::string& reason);
  absl::Time next_deadline() const;
  void OnTimer(absl::Time now);

  Phase phase() const { return phase_; }
  bool closed() const { return phase_ == Phase::kClosed; }
  bool connected() const { return phase_ == Phase::kConnected; }
  // Why the connection ended (or is ending), for the status line.
  const std::string& close_reason() const { return close_reason_; }
  const EngineCounters& counters() const { return counters_; }
  const sstp::ClientStateMachine& sstp() const { return *sstp_; }

 private:
  // sstp::Sink
  void SendSstp(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) override;
  void DeliverPpp(absl::Span<const uint8_t> frame) override;
  void OnEvent(const sstp::Event& event) override;

  void SetPhase(Phase phase, const std::string& detail);
  void PumpPpp(absl::Time now);
  // ": the server asks for pap, --authentication allows mschap2" when the call ends before LCP
  // opened and the server asked only for methods the user does not allow; "" otherwise.
  std::string AuthMismatchNote() const;
  void DeliverBridged(absl::Span<const uint8_t> information);

  EngineConfig config_;
  EngineOutput* out_;
  Phase phase_ = Phase::kHttp;
  sstp::HttpResponseParser http_;
  sstp::StreamAssembler assembler_;
  std::unique_ptr<sstp::ClientStateMachine> sstp_;
  std::unique_ptr<PppClient> ppp_;
  bool start_ppp_ = false;      // kStartPpp seen: start PPP once the SSTP call returns
  bool closed_event_ = false;   // kClosed seen
  bool disconnecting_ = false;  // an abort or disconnect is under way
  bool binding_sent_ = false;   // authentication finished and handed to the SSTP machine
  std::string auth_method_;
  std::unique_ptr<PppNetwork> reported_;  // what OnNetworkUp last said
  absl::Time http_deadline_ = absl::InfiniteFuture();
  std::string close_reason_;
  EngineCounters counters_;
  absl::Time now_ = absl::InfinitePast();
};

}  // namespace client

#endif  // CLIENT_ENGINE_H_
