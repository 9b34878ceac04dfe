// The SSTP server in the data plane (issue 6): per worker lcore, TCP accept -> TLS handshake (slow
// path, bounded per lcore by TlsConfig::max_concurrent_handshakes) -> handover to the ipsec-mb
// record layer -> HTTP SSTP_DUPLEX_POST -> 200 -> sstp::ServerStateMachine. PPP control frames go
// up the shared-memory ring to the control plane and come back down; the control plane's
// kSessionAuthorized (HLAK) completes the crypto binding and kSessionUp starts forwarding.
//
// Fast path, upstream: SSTP data packet -> PPP IPv4 frame -> IPv4 header check -> source address
// check (the session's address or its routes) -> dp::Ipv4Forward. Downstream: the FIB routes a
// packet to kNextHopSession -> Hooks::session_output on the owning worker -> PPP + SSTP headers
// prepended in the mbuf's headroom -> TLS record sealed in place -> TCP Send.
//
// The ring segment is created here (the data plane owns it; it outlives control plane restarts).
// A control thread keeps the data plane's heartbeat fresh and exchanges doorbells with the
// control plane over <run-dir>/ring.sock. Without a ready control plane new calls are refused with
// CALL_ABORT (established sessions keep forwarding).
//
// Use from sstp-dataplane's main():
//   auto opts = dp::srv::ExtractServerArgs(&args);      // before dp::ParseArgs
//   ... CreateNet ...
//   auto server = dp::srv::StartServer(net.get(), *opts);  // sets net->hooks
//   dp::RunWorkers(net.get());
//   server->reset();                                      // after the workers stopped
#ifndef DATAPLANE_SSTP_SERVER_H_
#define DATAPLANE_SSTP_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace dp {

struct Net;

namespace srv {

struct ServerOptions {
  std::string ring_name = "/sstp-ring";  // --ring: POSIX shm name shared with sstp-controlplane
  std::string run_dir = "/run/sstp";     // --run-dir: where the control plane's ring.sock is
  // --sstp-listen PORT: accept calls on PORT before the control plane has sent its configuration
  // (0: wait for /interface sstp-server server enabled=yes).
  uint16_t listen_port = 0;
  // --sstp-certificate / --sstp-key: PEM identity used until the control plane names one.
  std::string certificate_file;
  std::string private_key_file;
  // --sstp-self-signed PATH: self-signed identity generated on first use (default
  // <run-dir>/dataplane-identity.pem) when no certificate is configured.
  std::string self_signed_path;
  // --sstp-ca FILE: CA for require-client-certificate=yes.
  std::string ca_file;
  // --sstp-accept-zero-hlak: accept a Compound MAC computed with a zero HLAK for MS-CHAPv2 (clients
  // that cannot read their MPPE keys, e.g. sstpc without its pppd plugin). Off by default.
  bool accept_zero_hlak = false;
  // --sstp-strict-binding: PAP/CHAP calls whose client never sends CALL_CONNECTED (sstpc 1.0.18
  // after MD5-CHAP)
  // stay blocked. By default they are completed once the NCPs are up (zero HLAK), and logged.
  bool strict_binding = false;
  // --sstp-anonymous-tls: anonymous DH instead of a certificate (INSECURE, logged at start).
  bool anonymous_tls = false;
  uint32_t ring_bytes = 1 << 20;  // --ring-bytes
  // --sstp-negotiation-timeout: from the HTTP 200 to CALL_CONNECTED (MS-SSTP 3.3.2: 60 s).
  uint32_t negotiation_timeout_s = 60;
  // --sstp-down-queue N: downstream packets per session held (not yet sealed) while the outer TCP
  // send queue is full; beyond it they are dropped and counted. 0: drop at once (the old path).
  uint32_t down_queue_packets = 512;
  // --sstp-max-handshakes: TLS handshakes in progress per lcore; more callers wait in turn.
  uint32_t max_handshakes = 256;
};

// Removes the server's options (listed above) from `args` and returns them; the rest is left for
// dp::ParseArgs. InvalidArgument names the option that is wrong.
absl::StatusOr<ServerOptions> ExtractServerArgs(std::vector<std::string>* args);
// Help text for the options above.
std::string ServerUsage();

class Server;
struct ServerDeleter {
  void operator()(Server* s) const;
};
using ServerHandle = std::unique_ptr<Server, ServerDeleter>;

// Creates the ring segment, prepares the TLS identity and installs the hooks in `net` (before
// RunWorkers). Destroy the handle after RunWorkers has returned.
absl::StatusOr<ServerHandle> StartServer(Net* net, const ServerOptions& options);

}  // namespace srv
}  // namespace dp

#endif  // DATAPLANE_SSTP_SERVER_H_
