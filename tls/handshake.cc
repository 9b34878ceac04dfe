#include "tls/handshake.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace tls {
namespace internal {

void KeylogCallback(const SSL* ssl, const char* line) {
  auto* h = static_cast<Handshake*>(SSL_get_app_data(ssl));
  if (h != nullptr) h->OnKeylogLine(line);
}

}  // namespace internal

namespace {

// Handshake messages the peer may make us buffer (a client certificate chain is the largest).
constexpr size_t kMaxBufferedInput = 256 * 1024;

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses the hex secret at the end of an NSS key log line; returns its length (0 on error).
size_t ParseHex(const char* hex, uint8_t* out, size_t max) {
  size_t n = 0;
  while (hex[0] != '\0' && hex[1] != '\0' && n < max) {
    int hi = HexValue(hex[0]);
    int lo = HexValue(hex[1]);
    if (hi < 0 || lo < 0) return 0;
    out[n++] = static_cast<uint8_t>(hi << 4 | lo);
    hex += 2;
  }
  return hex[0] == '\0' ? n : 0;
}

void InfoCallback(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0) return;
  auto* h = static_cast<Handshake*>(SSL_get_app_data(ssl));
  if (h != nullptr) h->OnAlert((where & SSL_CB_WRITE) != 0, ret);
}

std::optional<Cipher> CipherOf(const SSL_CIPHER* c) {
  if (c == nullptr) return std::nullopt;
  switch (SSL_CIPHER_get_cipher_nid(c)) {
    case NID_aes_128_gcm:
      return Cipher::kAes128Gcm;
    case NID_aes_256_gcm:
      return Cipher::kAes256Gcm;
    case NID_chacha20_poly1305:
      return Cipher::kChaCha20Poly1305;
    default:
      return std::nullopt;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Handshake>> Handshake::Create(TlsContext& ctx, absl::Time now) {
  if (!ctx.AcquireHandshakeSlot()) {
    return absl::ResourceExhaustedError(absl::StrCat("too many TLS handshakes in progress (limit ",
                                                     ctx.config().max_concurrent_handshakes,
                                                     " per lcore)"));
  }
  std::unique_ptr<Handshake> h(new Handshake(ctx));
  h->holds_slot_ = true;
  h->deadline_ = now + ctx.config().handshake_timeout;
  h->ssl_ = SSL_new(ctx.ssl_ctx());
  if (h->ssl_ == nullptr) {
    return absl::ResourceExhaustedError("SSL_new failed: " + OpenSslErrors());
  }
  h->rbio_ = BIO_new(BIO_s_mem());
  h->wbio_ = BIO_new(BIO_s_mem());
  if (h->rbio_ == nullptr || h->wbio_ == nullptr) {
    BIO_free(h->rbio_);
    BIO_free(h->wbio_);
    return absl::ResourceExhaustedError("BIO_new failed");
  }
  // An empty read BIO means "no data yet", not end of stream.
  BIO_set_mem_eof_return(h->rbio_, -1);
  SSL_set_bio(h->ssl_, h->rbio_, h->wbio_);
  SSL_set_app_data(h->ssl_, h.get());
  SSL_set_info_callback(h->ssl_, &InfoCallback);
  const TlsConfig& cfg = ctx.config();
  if (ctx.role() == Role::kServer) {
    SSL_set_accept_state(h->ssl_);
  } else {
    SSL_set_connect_state(h->ssl_);
    if (!cfg.server_name.empty()) {
      unsigned char addr[16];
      const bool is_ip = inet_pton(AF_INET, cfg.server_name.c_str(), addr) == 1 ||
                         inet_pton(AF_INET6, cfg.server_name.c_str(), addr) == 1;
      // RFC 6066 3: SNI carries host names only, never address literals.
      if (!is_ip) SSL_set_tlsext_host_name(h->ssl_, cfg.server_name.c_str());
      if (!cfg.anonymous && cfg.verify_server_certificate && cfg.verify_hostname) {
        X509_VERIFY_PARAM* p = SSL_get0_param(h->ssl_);
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(p, cfg.server_name.c_str())
                       : SSL_set1_host(h->ssl_, cfg.server_name.c_str());
        if (ok != 1) {
          return absl::InvalidArgumentError("invalid server_name " + cfg.server_name);
        }
      }
    }
    h->Step();  // produce the ClientHello
  }
  return h;
}

Handshake::~Handshake() {
  ReleaseSlot();
  if (ssl_ != nullptr) SSL_free(ssl_);
  OPENSSL_cleanse(client_secret_, sizeof(client_secret_));
  OPENSSL_cleanse(server_secret_, sizeof(server_secret_));
}

void Handshake::ReleaseSlot() {
  if (holds_slot_) {
    ctx_->ReleaseHandshakeSlot();
    holds_slot_ = false;
  }
}

void Handshake::OnKeylogLine(const char* line) {
  // NSS key log format: "<LABEL> <client_random hex> <secret hex>".
  const char* sp1 = std::strchr(line, ' ');
  if (sp1 == nullptr) return;
  const char* sp2 = std::strchr(sp1 + 1, ' ');
  if (sp2 == nullptr) return;
  std::string label(line, sp1 - line);
  if (label == "CLIENT_TRAFFIC_SECRET_0") {
    client_secret_len_ = static_cast<uint8_t>(ParseHex(sp2 + 1, client_secret_, 48));
  } else if (label == "SERVER_TRAFFIC_SECRET_0") {
    server_secret_len_ = static_cast<uint8_t>(ParseHex(sp2 + 1, server_secret_, 48));
  }
}

void Handshake::OnAlert(bool sent, int value) {
  auto desc = static_cast<AlertDescription>(value & 0xff);
  if (sent) {
    if (!alert_sent_) alert_sent_ = desc;
  } else {
    if (!alert_received_) alert_received_ = desc;
  }
}

void Handshake::SetFailed(absl::Status s) {
  state_ = HandshakeState::kFailed;
  error_ = std::move(s);
  ReleaseSlot();
}

void Handshake::Step() {
  if (state_ != HandshakeState::kInProgress) return;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    state_ = HandshakeState::kEstablished;
    ReleaseSlot();
    return;
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
  std::string detail = OpenSslErrors();
  std::string msg = "TLS handshake failed";
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    absl::StrAppend(&msg, ": peer certificate rejected (", X509_verify_cert_error_string(verify),
                    ")");
  }
  if (alert_received_) {
    absl::StrAppend(&msg, ": peer sent alert ", AlertName(*alert_received_));
  } else if (alert_sent_) {
    absl::StrAppend(&msg, ": sent alert ", AlertName(*alert_sent_));
  }
  if (!detail.empty()) absl::StrAppend(&msg, " [", detail, "]");
  SetFailed(absl::PermissionDeniedError(msg));
}

HandshakeState Handshake::Feed(absl::Span<const uint8_t> in) {
  if (state_ == HandshakeState::kFailed || ssl_ == nullptr) return state_;
  if (BIO_ctrl_pending(rbio_) + in.size() > kMaxBufferedInput) {
    SetFailed(absl::ResourceExhaustedError(
        "TLS handshake: peer sent more than 256 KiB of unprocessed handshake data"));
    return state_;
  }
  if (!in.empty() && BIO_write(rbio_, in.data(), static_cast<int>(in.size())) <= 0) {
    SetFailed(absl::ResourceExhaustedError("TLS handshake: cannot buffer input"));
    return state_;
  }
  Step();
  return state_;
}

size_t Handshake::pending_output() const { return ssl_ == nullptr ? 0 : BIO_ctrl_pending(wbio_); }

size_t Handshake::TakeOutput(absl::Span<uint8_t> out) {
  if (ssl_ == nullptr || out.empty()) return 0;
  int n = BIO_read(wbio_, out.data(), static_cast<int>(out.size()));
  return n > 0 ? static_cast<size_t>(n) : 0;
}

std::vector<uint8_t> Handshake::TakeOutput() {
  std::vector<uint8_t> v(pending_output());
  v.resize(TakeOutput(absl::Span<uint8_t>(v)));
  return v;
}

void Handshake::OnTimer(absl::Time now) {
  if (state_ == HandshakeState::kInProgress && now >= deadline_) {
    SetFailed(absl::DeadlineExceededError(
        absl::StrCat("TLS handshake did not complete within ",
                     absl::FormatDuration(ctx_->config().handshake_timeout))));
  }
}

std::string Handshake::cipher_name() const {
  if (ssl_ == nullptr) return "";
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_);
  return c ? SSL_CIPHER_get_name(c) : "";
}

Version Handshake::version() const {
  return ssl_ != nullptr && SSL_version(ssl_) == TLS1_3_VERSION ? Version::kTls13 : Version::kTls12;
}

bool Handshake::CanHandOver() const {
  if (state_ != HandshakeState::kEstablished || ssl_ == nullptr) return false;
  int v = SSL_version(ssl_);
  if (v != TLS1_2_VERSION && v != TLS1_3_VERSION) return false;
  auto cipher = CipherOf(SSL_get_current_cipher(ssl_));
  if (!cipher) return false;
  if (v == TLS1_3_VERSION) {
    size_t hl = HashLength(*cipher);
    return client_secret_len_ == hl && server_secret_len_ == hl;
  }
  return true;
}

absl::StatusOr<Handover> Handshake::TakeHandover() {
  if (state_ != HandshakeState::kEstablished || ssl_ == nullptr) {
    return absl::FailedPreconditionError("TLS handshake not established");
  }
  if (!CanHandOver()) {
    return absl::FailedPreconditionError(
        absl::StrCat("suite ", cipher_name(), " is not implemented by the record layer"));
  }
  if (SSL_has_pending(ssl_)) {
    // With read_ahead off OpenSSL never reads past a record; if it did, those bytes would be lost.
    return absl::InternalError("OpenSSL buffered data past the handshake; cannot hand over");
  }
  LcoreCrypto& lc = ctx_->lcore();
  const bool server = ctx_->role() == Role::kServer;
  Handover h;
  const Cipher cipher = *CipherOf(SSL_get_current_cipher(ssl_));
  h.keys.cipher = cipher;
  h.keys.server = server;
  h.cipher_name = cipher_name();
  TrafficKeys client, server_keys;
  if (SSL_version(ssl_) == TLS1_3_VERSION) {
    h.keys.version = Version::kTls13;
    std::memcpy(client.secret, client_secret_, 48);
    std::memcpy(server_keys.secret, server_secret_, 48);
    absl::Status s = DeriveTls13TrafficKeys(lc, cipher, client);
    if (s.ok()) s = DeriveTls13TrafficKeys(lc, cipher, server_keys);
    if (!s.ok()) return s;
    // RFC 8446 5.3: each new traffic key starts at sequence number 0. The server sent no
    // NewSessionTicket (num_tickets is 0), so nothing was protected with these keys yet.
    client.seq = 0;
    server_keys.seq = 0;
  } else {
    h.keys.version = Version::kTls12;
    uint8_t master[SSL_MAX_MASTER_KEY_LENGTH];
    size_t mlen = SSL_SESSION_get_master_key(SSL_get_session(ssl_), master, sizeof(master));
    uint8_t cr[32], sr[32];
    SSL_get_client_random(ssl_, cr, sizeof(cr));
    SSL_get_server_random(ssl_, sr, sizeof(sr));
    absl::Status s = DeriveTls12Keys(lc, cipher, absl::Span<const uint8_t>(master, mlen), cr, sr,
                                     client, server_keys);
    OPENSSL_cleanse(master, sizeof(master));
    if (!s.ok()) return s;
    // Each side has sent exactly one record under these keys: its Finished (RFC 5246 7.4.9).
    client.seq = 1;
    server_keys.seq = 1;
  }
  h.keys.read = server ? client : server_keys;
  h.keys.write = server ? server_keys : client;
  Wipe(client);
  Wipe(server_keys);

  h.pending_output = TakeOutput();
  size_t in = BIO_ctrl_pending(rbio_);
  h.pending_input.resize(in);
  if (in > 0) BIO_read(rbio_, h.pending_input.data(), static_cast<int>(in));
  if (const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) h.server_name = sni;
  if (X509* peer = SSL_get0_peer_certificate(ssl_)) {
    h.peer_certificate = HashCertificate(lc, peer);
    char buf[512];
    X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof(buf));
    h.peer_subject = buf;
  }
  SSL_free(ssl_);
  ssl_ = nullptr;
  rbio_ = wbio_ = nullptr;
  OPENSSL_cleanse(client_secret_, sizeof(client_secret_));
  OPENSSL_cleanse(server_secret_, sizeof(server_secret_));
  return h;
}

absl::StatusOr<size_t> Handshake::ReadApplicationData(absl::Span<uint8_t> out) {
  if (state_ != HandshakeState::kEstablished || ssl_ == nullptr) {
    return absl::FailedPreconditionError("TLS connection not established");
  }
  size_t n = 0;
  ERR_clear_error();
  if (SSL_read_ex(ssl_, out.data(), out.size(), &n) == 1) return n;
  int e = SSL_get_error(ssl_, 0);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
  if (e == SSL_ERROR_ZERO_RETURN) return absl::OutOfRangeError("peer sent close_notify");
  return absl::DataLossError("TLS record error: " + OpenSslErrors());
}

absl::Status Handshake::WriteApplicationData(absl::Span<const uint8_t> in) {
  if (state_ != HandshakeState::kEstablished || ssl_ == nullptr) {
    return absl::FailedPreconditionError("TLS connection not established");
  }
  size_t n = 0;
  ERR_clear_error();
  if (in.empty()) return absl::OkStatus();
  if (SSL_write_ex(ssl_, in.data(), in.size(), &n) != 1 || n != in.size()) {
    return absl::InternalError("SSL_write failed: " + OpenSslErrors());
  }
  return absl::OkStatus();
}

}  // namespace tls
