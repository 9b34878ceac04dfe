// A whole TLS connection over byte buffers, for programs whose transport is a byte stream (the
// Linux client on a kernel socket, control-plane tools, tests): the handshake, the key handover
// and the ipsec-mb record layer behind one Feed/Write/TakeOutput interface. The data plane, which
// holds its bytes in mbuf segments, uses Handshake and RecordSession directly instead.
//
// Sans-I/O: the caller moves bytes between the transport and Feed()/TakeOutput() and passes the
// time in. Connections negotiated with legacy (non-AEAD) suites stay on OpenSSL's record layer
// behind the same interface.
#ifndef TLS_CONNECTION_H_
#define TLS_CONNECTION_H_

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
#include "tls/handshake.h"
#include "tls/record.h"

namespace tls {

class Connection {
 public:
  enum class State : uint8_t {
    kHandshake,  // handshake in progress
    kOpen,       // application data flows
    kClosed,     // close_notify sent and/or received; no more data
    kFailed,     // handshake or record error; see error()
  };

  // A client connection has its ClientHello ready in TakeOutput() on return.
  static absl::StatusOr<std::unique_ptr<Connection>> Create(TlsContext& ctx, absl::Time now);

  // Bytes received from the transport.
  void Feed(absl::Span<const uint8_t> in);
  // Plaintext received so far; the caller takes it (and may clear the vector).
  std::vector<uint8_t>& plaintext() { return plaintext_; }
  // Queues application data (kOpen only), split into records of at most 16 KiB.
  absl::Status Write(absl::Span<const uint8_t> data);
  // Sends close_notify; the peer's answer ends the connection.
  void Close();
  // Bytes to send to the transport.
  std::vector<uint8_t> TakeOutput();
  bool has_output() const { return !output_.empty(); }

  State state() const { return state_; }
  const absl::Status& error() const { return error_; }
  // True once the peer sent close_notify (an orderly end, not a truncation).
  bool peer_closed() const { return peer_closed_; }

  absl::Time deadline() const;
  void OnTimer(absl::Time now);

  // Known once the handshake is done: suite, SNI, the peer's certificate hashes (the client's
  // view of the server certificate feeds SSTP crypto binding). Keys are wiped.
  const Handover& info() const { return info_; }
  Version version() const { return version_; }
  // False for legacy suites kept on OpenSSL's record layer.
  bool on_ipsec_mb() const { return records_ != nullptr; }

 private:
  explicit Connection(TlsContext& ctx) : ctx_(&ctx) {}
  void AfterHandshake();
  void OpenRecords();
  void DrainPending();
  void Fail(absl::Status s);

  TlsContext* ctx_;
  std::unique_ptr<Handshake> handshake_;  // also the record layer for legacy suites
  std::unique_ptr<RecordSession> records_;
  State state_ = State::kHandshake;
  Version version_ = Version::kTls13;
  bool peer_closed_ = false;
  absl::Status error_;
  Handover info_;
  std::vector<uint8_t> input_;  // received ciphertext not yet opened
  std::vector<uint8_t> output_;
  std::vector<uint8_t> plaintext_;
};

}  // namespace tls

#endif  // TLS_CONNECTION_H_
