// TLS test services on the data plane's userspace TCP stack, the per-connection sequence of
// tls/README.md end to end against real peers (openssl s_client/s_server, curl, socat):
//
//   --tls-echo PORT[,client-cert=required]   TLS echo: every application_data record's plaintext
//                                            is sealed again and sent back; close_notify is
//                                            answered with close_notify + FIN.
//   --tls-http PORT[,client-cert=required]   "GET /N" answered with an HTTP/1.0 200 and N bytes of
//                                            the chargen stream (dp::ChargenByte), then
//                                            close_notify + FIN (for curl and s_client).
//   --tls-connect A.B.C.D:P,bytes=N          client role: TLS handshake (server verified against
//                                            --tls-ca and --tls-server-name unless --tls-insecure),
//                                            N chargen bytes, close_notify, FIN.
//   --tls-cert FILE --tls-key FILE --tls-ca FILE --tls-server-name NAME --tls-insecure
//   --tls-handshake-timeout SECONDS
//
// Path per connection (dp::TlsConn, dataplane/tls_conn.h, shared with the SSTP server):
// accept -> tls::Handshake fed from the OnData chains -> TakeHandover ->
// RecordSession::Open over the received mbuf segments (records may span segments) -> plaintext
// sealed into a fresh mbuf chain -> tcp Send. Back-pressure: while sealed records wait for send
// space, no further record is opened and the received bytes stay unconsumed, so the peer's
// sending is throttled by the TCP receive window.
//
// The services chain themselves into Net::hooks after whatever was installed before (the SSTP
// server): start them after it.
#ifndef DATAPLANE_TLS_SERVICE_H_
#define DATAPLANE_TLS_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace dp {

struct Net;

namespace tlssvc {

struct TlsServiceConfig {
  enum Mode : uint8_t { kEcho, kHttp } mode = kEcho;
  uint16_t port = 0;
  bool require_client_certificate = false;
};

struct TlsConnectConfig {
  uint32_t remote_addr = 0;  // host byte order
  uint16_t remote_port = 0;
  uint64_t bytes = 0;
};

struct TlsServiceOptions {
  std::vector<TlsServiceConfig> services;
  std::vector<TlsConnectConfig> connects;
  std::string certificate_file, private_key_file, ca_file, server_name;
  uint32_t handshake_timeout_s = 30;
  bool insecure = false;  // client role: do not verify the server (explicit, logged)
  bool empty() const { return services.empty() && connects.empty(); }
};

// Removes the --tls-* options from `args` (the rest goes to dp::ParseArgs).
absl::StatusOr<TlsServiceOptions> ExtractTlsArgs(std::vector<std::string>* args);
std::string TlsUsage();

class TlsServices;
struct TlsServicesDeleter {
  void operator()(TlsServices* s) const;
};
using TlsServicesHandle = std::unique_ptr<TlsServices, TlsServicesDeleter>;

// Installs the hooks (chained after the existing ones). Destroy the handle after the workers have
// stopped. Null handle when `options` is empty.
absl::StatusOr<TlsServicesHandle> StartTlsServices(Net* net, const TlsServiceOptions& options);

}  // namespace tlssvc
}  // namespace dp

#endif  // DATAPLANE_TLS_SERVICE_H_
