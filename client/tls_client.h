// TLS for the client's kernel socket. The context is the project's tls::TlsContext in the client
// role (the same versions, suites, certificate loading and verification policy as the
// concentrator; its anonymous mode for "both ends are ours"). OpenSSL then drives the handshake
// and the record layer directly on the socket (SSL_set_fd): one laptop tunnel does not need the
// data plane's ipsec-mb record layer and key handover. What SSTP needs from TLS is here: server
// verification (chain to --ca-file or the system store, and the name given in --connect-to), the
// client certificate, and the hashes of the server's leaf certificate for the crypto binding
// (MS-SSTP 3.2.5.2: CERT_HASH over the DER certificate).
#ifndef CLIENT_TLS_CLIENT_H_
#define CLIENT_TLS_CLIENT_H_

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "tls/context.h"
#include "tls/lcore_crypto.h"

namespace client {

struct TlsClientConfig {
  std::string certificate_file;  // client certificate chain (PEM), optional
  std::string key_file;          // its key; empty: in certificate_file
  std::string ca_file;           // empty: the system's default store
  bool verify_server = true;
  // INSECURE: TLS 1.2 anonymous Diffie-Hellman, no certificates (RouterOS certificate=none on
  // both ends). The crypto binding then hashes no certificate (zeros).
  bool anonymous = false;
  std::string server_name;  // checked against the certificate (tls::TlsConfig::server_name)
};

// One SSL_CTX for all connections of the program.
class TlsClientContext {
 public:
  static absl::StatusOr<std::unique_ptr<TlsClientContext>> Create(const TlsClientConfig& config);
  ~TlsClientContext();
  SSL_CTX* get() const { return ctx_->ssl_ctx(); }
  const TlsClientConfig& config() const { return config_; }
  // What tls::TlsContext thinks the user should know (verification off, anonymous mode, ...).
  const std::vector<std::string>& warnings() const { return ctx_->warnings(); }

 private:
  TlsClientContext() = default;
  std::unique_ptr<tls::LcoreCrypto> lc_;
  std::unique_ptr<tls::TlsContext> ctx_;
  TlsClientConfig config_;
};

enum class IoWait : uint8_t { kNone, kRead, kWrite };

struct IoResult {
  size_t bytes = 0;             // transferred
  IoWait wait = IoWait::kNone;  // nothing transferred: wait for the socket to become ...
  bool eof = false;             // the server closed (close_notify or TCP FIN)
};

class TlsConnection {
 public:
  // `server_name`: sent as SNI (unless an IP address) and checked against the certificate.
  static absl::StatusOr<std::unique_ptr<TlsConnection>> Create(TlsClientContext& ctx, int fd,
                                                               const std::string& server_name);
  ~TlsConnection();

  // Advances the handshake: OK with wait == kNone when done; wait says what to wait for.
  absl::StatusOr<IoWait> Handshake();
  bool established() const { return established_; }
  absl::StatusOr<IoResult> Read(absl::Span<uint8_t> buf);
  absl::StatusOr<IoResult> Write(absl::Span<const uint8_t> buf);
  // Best-effort close_notify.
  void Shutdown();

  // After the handshake.
  const std::array<uint8_t, 20>& peer_cert_sha1() const { return sha1_; }
  const std::array<uint8_t, 32>& peer_cert_sha256() const { return sha256_; }
  const std::string& peer_subject() const { return subject_; }
  std::string version() const;
  std::string cipher() const;

 private:
  TlsConnection() = default;
  absl::Status Error(int ret, const char* what);
  std::string AlertHint(unsigned long reason) const;

  SSL* ssl_ = nullptr;
  bool established_ = false;
  bool verify_ = true;
  bool anonymous_ = false;
  bool has_certificate_ = false;  // we present a client certificate
  std::string server_name_;
  std::array<uint8_t, 20> sha1_{};
  std::array<uint8_t, 32> sha256_{};
  std::string subject_;
};

// Hex of an OpenSSL error queue, drained: "error:0A000086:SSL routines::certificate verify failed".
std::string DrainOpenSslErrors();

}  // namespace client

#endif  // CLIENT_TLS_CLIENT_H_
