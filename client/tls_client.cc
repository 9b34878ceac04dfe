#include "client/tls_client.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace client {
namespace {

bool IsIpLiteral(const std::string& s) {
  uint8_t buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

std::string DrainOpenSslErrors() {
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

absl::StatusOr<std::unique_ptr<TlsClientContext>> TlsClientContext::Create(
    const TlsClientConfig& config) {
  std::unique_ptr<TlsClientContext> c(new TlsClientContext());
  c->config_ = config;
  auto lc = tls::LcoreCrypto::Create();
  if (!lc.ok()) return lc.status();
  c->lc_ = std::move(*lc);
  tls::TlsConfig tc;
  tc.role = tls::Role::kClient;
  tc.certificate_file = config.certificate_file;
  tc.private_key_file = config.key_file;
  tc.ca_file = config.verify_server ? config.ca_file : "";
  tc.server_name = config.server_name;
  tc.verify_server_certificate = config.verify_server && !config.anonymous;
  tc.verify_hostname = config.verify_server && !config.anonymous;
  tc.anonymous = config.anonymous;
  auto ctx = tls::TlsContext::Create(*c->lc_, tc, absl::Now());
  if (!ctx.ok()) return ctx.status();
  c->ctx_ = std::move(*ctx);
  SSL_CTX* s = c->ctx_->ssl_ctx();
  // The context is made for memory BIOs and a handover; on a socket we also want partial writes
  // from a buffer that may move, and a server that closes TCP without close_notify (most SSTP
  // servers do) to read as the end of the connection rather than a TLS error.
  SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(s, SSL_OP_IGNORE_UNEXPECTED_EOF);
  return c;
}

TlsClientContext::~TlsClientContext() = default;

absl::StatusOr<std::unique_ptr<TlsConnection>> TlsConnection::Create(
    TlsClientContext& ctx, int fd, const std::string& server_name) {
  std::unique_ptr<TlsConnection> c(new TlsConnection());
  c->ssl_ = SSL_new(ctx.get());
  if (c->ssl_ == nullptr) return absl::InternalError("SSL_new: " + DrainOpenSslErrors());
  SSL_set_fd(c->ssl_, fd);
  SSL_set_connect_state(c->ssl_);
  c->verify_ = ctx.config().verify_server && !ctx.config().anonymous;
  c->anonymous_ = ctx.config().anonymous;
  c->has_certificate_ = !ctx.config().certificate_file.empty();
  c->server_name_ = server_name;
  bool ip = IsIpLiteral(server_name);
  // RFC 6066 3: SNI carries host names only, never addresses.
  if (!ip) SSL_set_tlsext_host_name(c->ssl_, server_name.c_str());
  if (c->verify_) {
    X509_VERIFY_PARAM* param = SSL_get0_param(c->ssl_);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(c->ssl_, server_name.c_str());
    }
  }
  return c;
}

TlsConnection::~TlsConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

// What a user should do about the alerts a server sends when it refuses us (RFC 8446 6.2): the
// OpenSSL text names the alert, not the cause. Empty when the error is not one of those.
std::string TlsConnection::AlertHint(unsigned long reason) const {
  switch (reason) {
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return "the server requires a client certificate (--certificate)";
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
      return has_certificate_
                 ? "the server refused our client certificate (--certificate: is it issued by a "
                   "CA the server trusts, and still valid?)"
                 : "the server requires a client certificate (--certificate)";
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      if (anonymous_) {
        return "the server does not offer anonymous TLS (--anonymous-tls needs a server in "
               "anonymous mode)";
      }
      // A bare handshake_failure alert: no suite in common, which is also what a server in
      // anonymous mode answers a certificate-verifying client.
      return has_certificate_ ? "no TLS suite in common (a server in anonymous mode needs "
                                "--anonymous-tls)"
                              : "the server may require a client certificate (--certificate), "
                                "or it is in anonymous mode (--anonymous-tls)";
    default:
      return "";
  }
}

absl::Status TlsConnection::Error(int ret, const char* what) {
  int err = SSL_get_error(ssl_, ret);
  int saved_errno = errno;
  std::string hint = AlertHint(ERR_GET_REASON(ERR_peek_error()));
  std::string queue = DrainOpenSslErrors();
  if (!hint.empty()) {
    return absl::UnavailableError(absl::StrCat(what, ": ", hint, " [", queue, "]"));
  }
  if (!established_ && verify_) {
    long v = SSL_get_verify_result(ssl_);
    if (v != X509_V_OK) {
      return absl::PermissionDeniedError(absl::StrCat(
          "server certificate not trusted for \"", server_name_,
          "\": ", X509_verify_cert_error_string(v),
          " (give the issuing CA with --ca-file; --verify-server=no turns the check off)"));
    }
  }
  if (err == SSL_ERROR_SYSCALL) {
    if (saved_errno == 0) {
      return absl::UnavailableError(absl::StrCat(what, ": connection closed by the server"));
    }
    return absl::ErrnoToStatus(saved_errno, what);
  }
  if (err == SSL_ERROR_ZERO_RETURN) {
    return absl::UnavailableError(absl::StrCat(what, ": server closed the TLS session"));
  }
  return absl::UnavailableError(absl::StrCat(what, ": ", queue.empty() ? "TLS error" : queue));
}

absl::StatusOr<IoWait> TlsConnection::Handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    established_ = true;
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) {
      if (anonymous_) {
        subject_ = "(anonymous)";
        return IoWait::kNone;
      }
      return absl::PermissionDeniedError("server sent no certificate");
    }
    // MS-SSTP 2.2.7 / 3.2.5.2: the hash is over the DER encoding of the server's certificate.
    unsigned char* der = nullptr;
    int len = i2d_X509(cert, &der);
    if (len > 0) {
      unsigned int n = 0;
      EVP_Digest(der, len, sha1_.data(), &n, EVP_sha1(), nullptr);
      EVP_Digest(der, len, sha256_.data(), &n, EVP_sha256(), nullptr);
      OPENSSL_free(der);
    }
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
    subject_ = subject;
    X509_free(cert);
    return IoWait::kNone;
  }
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ) return IoWait::kRead;
  if (err == SSL_ERROR_WANT_WRITE) return IoWait::kWrite;
  return Error(r, "TLS handshake");
}

absl::StatusOr<IoResult> TlsConnection::Read(absl::Span<uint8_t> buf) {
  ERR_clear_error();
  size_t n = 0;
  int r = SSL_read_ex(ssl_, buf.data(), buf.size(), &n);
  if (r == 1) return IoResult{n, IoWait::kNone, false};
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ) return IoResult{0, IoWait::kRead, false};
  if (err == SSL_ERROR_WANT_WRITE) return IoResult{0, IoWait::kWrite, false};
  if (err == SSL_ERROR_ZERO_RETURN) return IoResult{0, IoWait::kNone, true};
  if (err == SSL_ERROR_SYSCALL && errno == 0) {
    // TCP FIN without close_notify: the server is gone all the same.
    return IoResult{0, IoWait::kNone, true};
  }
  return Error(r, "TLS read");
}

absl::StatusOr<IoResult> TlsConnection::Write(absl::Span<const uint8_t> buf) {
  ERR_clear_error();
  size_t n = 0;
  int r = SSL_write_ex(ssl_, buf.data(), buf.size(), &n);
  if (r == 1) return IoResult{n, IoWait::kNone, false};
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ) return IoResult{0, IoWait::kRead, false};
  if (err == SSL_ERROR_WANT_WRITE) return IoResult{0, IoWait::kWrite, false};
  return Error(r, "TLS write");
}

void TlsConnection::Shutdown() {
  if (established_) SSL_shutdown(ssl_);
}

std::string TlsConnection::version() const { return SSL_get_version(ssl_); }

std::string TlsConnection::cipher() const {
  const char* c = SSL_get_cipher_name(ssl_);
  return c ? c : "";
}

}  // namespace client
