// The TLS handshake driven over byte buffers, and the key handover to the record layer.
//
// Whoever owns the transport (the data plane's TCP, the client's socket, a test) feeds received
// bytes with Feed() and sends what TakeOutput() returns. OpenSSL runs the handshake over a pair of
// memory BIOs; nothing here does I/O or reads a clock. When state() is kEstablished,
// TakeHandover() extracts the traffic keys (TLS 1.3: the traffic secrets from the keylog callback
// and HKDF-Expand-Label; TLS 1.2: the key block from the master secret and the hello randoms) and
// the bytes already received after the peer's Finished, and frees the SSL object. The caller then
// builds a RecordSession (tls/record.h) from Handover::keys, feeds it Handover::pending_input
// first, and destroys the Handshake.
//
// Sessions negotiated with legacy (non-AEAD) suites cannot be handed over; they keep using
// OpenSSL's record layer through ReadApplicationData()/WriteApplicationData().
#ifndef TLS_HANDSHAKE_H_
#define TLS_HANDSHAKE_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "tls/context.h"
#include "tls/key_schedule.h"
#include "tls/record.h"

namespace tls {

enum class HandshakeState : uint8_t { kInProgress, kEstablished, kFailed };

struct Handover {
  SessionKeys keys;  // wipe with tls::Wipe once the RecordSession is built
  // Send these bytes before any record the RecordSession seals (the tail of our last flight if
  // the caller had not taken all output yet). Usually empty.
  std::vector<uint8_t> pending_output;
  // Bytes the peer sent after its Finished (records under the new keys): open them first.
  std::vector<uint8_t> pending_input;
  std::string server_name;  // SNI: what the client asked for (server) or sent (client)
  std::string cipher_name;  // OpenSSL's name of the negotiated suite
  // The peer's leaf certificate, if it sent one (client: the server's; its hashes feed the SSTP
  // crypto binding).
  std::optional<CertificateHashes> peer_certificate;
  std::string peer_subject;
};

class Handshake {
 public:
  // Refuses with ResourceExhausted when the context already has max_concurrent_handshakes in
  // flight. A client handshake has its ClientHello ready in TakeOutput() on return.
  static absl::StatusOr<std::unique_ptr<Handshake>> Create(TlsContext& ctx, absl::Time now);
  ~Handshake();
  Handshake(const Handshake&) = delete;
  Handshake& operator=(const Handshake&) = delete;

  // Bytes received from the peer. Runs the handshake as far as they allow.
  HandshakeState Feed(absl::Span<const uint8_t> in);

  // Bytes to send to the peer (handshake flights, alerts on failure).
  size_t pending_output() const;
  size_t TakeOutput(absl::Span<uint8_t> out);
  std::vector<uint8_t> TakeOutput();

  HandshakeState state() const { return state_; }
  // Why the handshake failed, in words an operator can act on.
  const absl::Status& error() const { return error_; }
  // Alerts seen during the handshake (e.g. 42 bad_certificate, 116 certificate_required).
  std::optional<AlertDescription> alert_sent() const { return alert_sent_; }
  std::optional<AlertDescription> alert_received() const { return alert_received_; }

  // The handshake fails when it is still in progress at its deadline.
  absl::Time deadline() const { return deadline_; }
  void OnTimer(absl::Time now);

  // True when the negotiated version and suite are implemented by tls::RecordSession.
  bool CanHandOver() const;
  // Extracts keys and buffered bytes and frees the SSL object. Only in kEstablished.
  absl::StatusOr<Handover> TakeHandover();

  // For connections that cannot be handed over (legacy suites): OpenSSL's record layer.
  // Returns the number of plaintext bytes read (0: need more input); OutOfRange at close_notify.
  absl::StatusOr<size_t> ReadApplicationData(absl::Span<uint8_t> out);
  // Encrypts into the output (TakeOutput()).
  absl::Status WriteApplicationData(absl::Span<const uint8_t> in);

  // Details of the established connection (before the handover).
  std::string cipher_name() const;
  Version version() const;
  SSL* ssl() const { return ssl_; }

  // Called by OpenSSL (through the context's keylog callback) with the TLS 1.3 secrets.
  void OnKeylogLine(const char* line);
  void OnAlert(bool sent, int value);

 private:
  explicit Handshake(TlsContext& ctx) : ctx_(&ctx) {}
  void Step();
  void SetFailed(absl::Status s);
  void ReleaseSlot();

  TlsContext* ctx_;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  HandshakeState state_ = HandshakeState::kInProgress;
  bool holds_slot_ = false;
  absl::Status error_;
  absl::Time deadline_ = absl::InfiniteFuture();
  std::optional<AlertDescription> alert_sent_;
  std::optional<AlertDescription> alert_received_;
  uint8_t client_secret_[48] = {};
  uint8_t server_secret_[48] = {};
  uint8_t client_secret_len_ = 0;
  uint8_t server_secret_len_ = 0;
};

}  // namespace tls

#endif  // TLS_HANDSHAKE_H_
