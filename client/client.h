// The sstp-client program: TUN, kernel TCP (optionally through an HTTP proxy), TLS, and one
// client::Engine per connection, in an epoll loop; reconnect with backoff; routes, addresses and
// DNS of the tunnel; status lines and the --status socket; clean CALL_DISCONNECT on SIGTERM.
#ifndef CLIENT_CLIENT_H_
#define CLIENT_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/backoff.h"
#include "client/engine.h"
#include "client/event_loop.h"
#include "client/net.h"
#include "client/netlink.h"
#include "client/options.h"
#include "client/status.h"
#include "client/tls_client.h"
#include "client/tun.h"

namespace client {

class Client : private EngineOutput {
 public:
  explicit Client(Options options);
  ~Client() override;

  // Opens the TUN, the status socket and the TLS context; checks what can be checked before the
  // first connection (certificate files, CA file, root).
  absl::Status Init();
  // Runs until a signal (exit code 0) or, with --once, until the first session ends (0 when it
  // was connected and ended by the server or a signal, 1 when it failed).
  int Run();

 private:
  enum class Stage {
    kIdle,        // dial-on-demand: waiting for the first packet
    kBackoff,     // waiting to reconnect
    kConnecting,  // TCP connect
    kProxy,       // HTTP CONNECT through the proxy
    kTls,         // TLS handshake
    kSession,     // SSTP/PPP through the engine
    kStopped,
  };

  // EngineOutput
  void SendToServer(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) override;
  void DeliverIp(absl::Span<const uint8_t> packet) override;
  void OnPhase(Phase phase, const std::string& detail) override;
  void OnNetworkUp(const NetworkUp& up) override;

  void Say(const std::string& line);
  void SetStatus(const std::string& status, const std::string& detail = "");
  void StartAttempt();
  void TryNextAddress();
  void OnSocketEvent(uint32_t events);
  void OnConnected();
  void ProxyRead();
  void StartTls();
  void TlsHandshakeStep();
  void SessionRead();
  void FlushOutput();
  // After every call into the engine: write what it produced, and end the attempt if it closed.
  void AfterEngine();
  void UpdateSocketInterest(IoWait tls_wait);
  void OnTunReadable();
  void OnSignal();
  void OnTimer();
  absl::Time NextDeadline() const;
  // Ends the current attempt or session: tears down what belongs to it and schedules the next.
  void EndAttempt(const std::string& reason, bool failure);
  void CloseConnection();
  void RemoveSessionNetwork();
  absl::Status InstallHostRoutes(const std::vector<SocketAddress>& addrs);
  absl::Status InstallTunnelRoutes(std::vector<Prefix>* record);
  void RemoveRoutes(std::vector<Prefix>* routes);
  void WriteDns(const NetworkUp& up);
  StatusSnapshot Snapshot() const;
  int TunMtu() const;  // the interface MTU for the negotiated MRU (less the Ethernet framing)

  Options opt_;
  std::unique_ptr<EventLoop> loop_;
  std::optional<Tun> tun_;
  std::optional<Netlink> nl_;
  std::unique_ptr<TlsClientContext> tls_ctx_;
  std::unique_ptr<StatusServer> status_server_;
  int signal_fd_ = -1;
  absl::BitGen rng_;
  Backoff backoff_;

  Stage stage_ = Stage::kIdle;
  bool stopping_ = false;
  int exit_code_ = 0;
  absl::Time stage_deadline_ = absl::InfiniteFuture();
  absl::Time stop_deadline_ = absl::InfiniteFuture();

  // The current connection.
  std::vector<SocketAddress> addrs_;
  size_t addr_index_ = 0;
  SocketAddress peer_;
  int fd_ = -1;
  std::unique_ptr<TlsConnection> tls_;
  std::unique_ptr<Engine> engine_;
  std::vector<uint8_t> out_;  // TLS plaintext waiting to be written
  size_t out_pos_ = 0;
  std::vector<uint8_t> in_;  // TLS read buffer
  std::vector<uint8_t> tun_buf_;
  IoWait tls_write_wait_ = IoWait::kNone;
  bool tun_paused_ = false;
  bool was_connected_ = false;
  bool demand_wait_after_backoff_ = false;
  std::vector<uint8_t> proxy_buf_;  // proxy reply header read so far
  std::string transport_error_;     // a TLS write failed: tell the engine after the call

  // Network state of the tunnel.
  std::optional<NetworkUp> network_;
  std::vector<Prefix> session_routes_;  // removed when the session ends
  std::vector<Prefix> demand_routes_;   // dial-on-demand: installed for the program's life
  struct HostRoute {
    Prefix dst;
    int ifindex;
    IpAddress gateway;
  };
  std::vector<HostRoute> host_routes_;  // to the server and the proxy, via the old gateway
  bool dns_written_ = false;

  // For --status.
  std::string status_ = "disconnected";
  std::string last_error_;
  std::string caller_id_;
  absl::Time connected_since_ = absl::InfinitePast();
  uint32_t reconnects_ = 0;
  EngineCounters totals_;  // counters of ended sessions
};

}  // namespace client

#endif  // CLIENT_CLIENT_H_
