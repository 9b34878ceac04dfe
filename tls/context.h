// TLS contexts for the concentrator (server) and the client: identity, trust, versions and suites.
//
// One TlsContext per lcore (it is built in that lcore's OSSL_LIB_CTX, tls/lcore_crypto.h) from one
// shared TlsConfig. Everything an operator can get wrong (a missing file, a key that does not
// match its certificate, an expired certificate) is reported by Create() with the file name and
// what is wrong.
#ifndef TLS_CONTEXT_H_
#define TLS_CONTEXT_H_

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tls/lcore_crypto.h"

namespace tls {

enum class Role : uint8_t { kServer, kClient };

// What SSTP's crypto binding needs (MS-SSTP 3.2.5.2 / 2.2.7: CERT_HASH over the DER encoding of
// the server's leaf certificate, SHA1 or SHA256 depending on the negotiated hash protocol).
struct CertificateHashes {
  std::array<uint8_t, 20> sha1{};
  std::array<uint8_t, 32> sha256{};
};

// Hashes of one DER-encoded certificate, with the digests of the calling lcore's library context
// (the default one would be shared, and contended, by all lcores).
CertificateHashes HashCertificate(LcoreCrypto& lc, X509* cert);

struct TlsConfig {
  Role role = Role::kServer;

  // Own identity (server: required unless anonymous or a self-signed one is generated; client:
  // optional client certificate). PEM; the certificate file may hold the full chain, leaf first.
  // The key may be RSA or ECDSA and may sit in the same file as the certificate.
  std::string certificate_file;
  std::string private_key_file;

  // Server with no certificate_file: the self-signed certificate kept at this path (PEM,
  // certificate and key), generated on first use. Empty: no fallback, a certificate is required.
  std::string self_signed_path;
  std::string self_signed_common_name = "sstp-concentrator";

  // Trust anchors (PEM, may hold several certificates). Server: the CA client certificates must
  // chain to. Client: the CA the server's chain must lead to; empty uses the system's store.
  std::string ca_file;

  // Server: RouterOS require-client-certificate=yes: the client's certificate must belong to the
  // same chain as the server's. The anchors are ca_file if set, else the CA certificates that
  // follow the leaf in certificate_file (an intermediate there is trusted as an anchor).
  bool require_client_certificate = false;

  // Client: the name sent as SNI and checked against the server's certificate.
  std::string server_name;
  // Client: verify the server's certificate chain (default) and its name. Turning either off must
  // be explicit: without them any man in the middle can read the tunnel.
  bool verify_server_certificate = true;
  bool verify_hostname = true;

  // TLS 1.2 and 1.3 with ECDHE + AEAD only by default. allow_legacy adds TLS 1.0/1.1 and CBC
  // suites for old Windows clients; those connections stay on OpenSSL's record layer
  // (Handshake::CanHandOver() is false for them).
  bool allow_legacy = false;

  // INSECURE. No certificates on either side (RouterOS: both ends are ours, certificate=none):
  // TLS 1.2 anonymous Diffie-Hellman suites, open to any man in the middle.
  bool anonymous = false;

  // Handshakes in flight per context (so per lcore) before new ones are refused.
  int max_concurrent_handshakes = 1024;
  absl::Duration handshake_timeout = absl::Seconds(30);
};

class TlsContext {
 public:
  // `now` is used to generate a self-signed certificate and to warn about expired ones.
  static absl::StatusOr<std::unique_ptr<TlsContext>> Create(LcoreCrypto& lc,
                                                            const TlsConfig& config,
                                                            absl::Time now);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ssl_ctx() const { return ctx_; }
  LcoreCrypto& lcore() const { return *lc_; }
  const TlsConfig& config() const { return config_; }
  Role role() const { return config_.role; }

  // Hashes of our own leaf certificate, if we have one (the server's, for crypto binding).
  const std::optional<CertificateHashes>& certificate_hashes() const { return hashes_; }
  // Things the operator should know that do not stop the context (anonymous mode, a certificate
  // that expires soon or has expired, verification turned off). The caller logs them.
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Concurrent-handshake accounting used by tls::Handshake.
  bool AcquireHandshakeSlot();
  void ReleaseHandshakeSlot();
  int handshakes_in_progress() const { return in_progress_.load(std::memory_order_relaxed); }

 private:
  TlsContext() = default;
  absl::Status LoadIdentity(absl::Time now);
  absl::Status LoadTrust();

  LcoreCrypto* lc_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
  TlsConfig config_;
  std::optional<CertificateHashes> hashes_;
  std::vector<X509*> chain_;  // certificates after the leaf in certificate_file (owned)
  std::vector<std::string> warnings_;
  std::atomic<int> in_progress_{0};
};

// A PEM certificate + key pair.
struct PemIdentity {
  std::string certificate_pem;
  std::string private_key_pem;
};

// Generates an ECDSA P-256 self-signed certificate for `common_name` valid from now - 1 hour to
// now + 10 years.
absl::StatusOr<PemIdentity> GenerateSelfSigned(LcoreCrypto& lc, const std::string& common_name,
                                               absl::Time now);

// Loads the identity kept at `path`, or generates one and writes it there (mode 0600, written to
// a temporary file and renamed so a crash never leaves half a key). Call it once, before the
// lcores build their contexts, so every lcore presents the same certificate.
absl::StatusOr<PemIdentity> LoadOrCreateSelfSigned(LcoreCrypto& lc, const std::string& path,
                                                   const std::string& common_name, absl::Time now);

}  // namespace tls

#endif  // TLS_CONTEXT_H_
