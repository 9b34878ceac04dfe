#include "tls/context.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace tls {
namespace internal {
// Defined in handshake.cc: collects the TLS 1.3 traffic secrets for the key handover.
void KeylogCallback(const SSL* ssl, const char* line);
}  // namespace internal

namespace {

// TLS 1.2: ECDHE key exchange with AEAD suites only (what the record layer implements).
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// Added by allow_legacy, for clients that know nothing better (old Windows SChannel).
constexpr char kLegacyCiphers[] =
    ":ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
    "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA:@SECLEVEL=0";
// Anonymous mode: ephemeral DH without authentication (TLS 1.2 only).
constexpr char kAnonCiphers[] = "ADH-AES128-GCM-SHA256:ADH-AES256-GCM-SHA384";
constexpr char kAnonLegacyCiphers[] =
    ":AECDH-AES128-SHA:AECDH-AES256-SHA:ADH-AES128-SHA256:ADH-AES256-SHA256:ADH-AES128-SHA:"
    "ADH-AES256-SHA";
constexpr char kTls13Suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no OpenSSL detail" : out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " file ", path, ": ", std::strerror(errno)));
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// All certificates in a PEM text, in order.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(LcoreCrypto& lc, const std::string& pem,
                                                       const std::string& source) {
  std::vector<X509Ptr> out;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  ERR_clear_error();
  for (;;) {
    X509* x = X509_new_ex(lc.libctx(), nullptr);
    if (PEM_read_bio_X509(bio, &x, nullptr, nullptr) == nullptr) {
      X509_free(x);
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        break;  // end of the certificates
      }
      BIO_free(bio);
      return absl::InvalidArgumentError(absl::StrCat(source, ": certificate ", out.size() + 1,
                                                     " is not valid PEM/X.509: ", OpenSslErrors()));
    }
    out.emplace_back(x);
  }
  BIO_free(bio);
  if (out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, " holds no certificate (expected a -----BEGIN CERTIFICATE----- block)"));
  }
  return out;
}

absl::StatusOr<PkeyPtr> ParsePrivateKey(LcoreCrypto& lc, const std::string& pem,
                                        const std::string& source) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  ERR_clear_error();
  // No passphrase callback: an encrypted key fails here instead of prompting on a terminal.
  EVP_PKEY* k = PEM_read_bio_PrivateKey_ex(
      bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr, lc.libctx(), nullptr);
  BIO_free(bio);
  if (k == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, " holds no usable private key (expected an unencrypted PEM RSA or EC key): ",
        OpenSslErrors()));
  }
  return PkeyPtr(k);
}

std::string TimeText(const ASN1_TIME* t) {
  BIO* b = BIO_new(BIO_s_mem());
  ASN1_TIME_print(b, t);
  char* data;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, n);
  BIO_free(b);
  return s;
}

}  // namespace

CertificateHashes HashCertificate(LcoreCrypto& lc, X509* cert) {
  CertificateHashes h;
  unsigned int n = 0;
  X509_digest(cert, lc.sha1(), h.sha1.data(), &n);
  X509_digest(cert, lc.sha256(), h.sha256.data(), &n);
  return h;
}

absl::StatusOr<std::unique_ptr<TlsContext>> TlsContext::Create(LcoreCrypto& lc,
                                                               const TlsConfig& config,
                                                               absl::Time now) {
  std::unique_ptr<TlsContext> c(new TlsContext());
  c->lc_ = &lc;
  c->config_ = config;
  const bool server = config.role == Role::kServer;
  c->ctx_ =
      SSL_CTX_new_ex(lc.libctx(), nullptr, server ? TLS_server_method() : TLS_client_method());
  if (c->ctx_ == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_CTX_new_ex failed: ", OpenSslErrors()));
  }
  SSL_CTX* ctx = c->ctx_;
  if (config.max_concurrent_handshakes <= 0) {
    return absl::InvalidArgumentError("max_concurrent_handshakes must be positive");
  }

  // Versions and suites.
  std::string ciphers;
  if (config.anonymous) {
    ciphers = kAnonCiphers;
    if (config.allow_legacy) ciphers += kAnonLegacyCiphers;
    ciphers += ":@SECLEVEL=0";
    SSL_CTX_set_min_proto_version(ctx, config.allow_legacy ? TLS1_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_dh_auto(ctx, 1);
    c->warnings_.push_back(
        "INSECURE: anonymous TLS (no certificates): the peer is not authenticated and any man in "
        "the middle can read and change the tunnel; use only when both ends are yours");
  } else {
    ciphers = kTls12Ciphers;
    if (config.allow_legacy) ciphers += kLegacyCiphers;
    SSL_CTX_set_min_proto_version(ctx, config.allow_legacy ? TLS1_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    if (config.allow_legacy) {
      c->warnings_.push_back(
          "legacy TLS enabled: TLS 1.0/1.1 and CBC suites are accepted; such connections use "
          "OpenSSL's record layer");
    }
  }
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    return absl::InternalError(
        absl::StrCat("OpenSSL refused cipher list ", ciphers, ": ", OpenSslErrors()));
  }
  if (SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1) {
    return absl::InternalError(absl::StrCat("OpenSSL refused TLS 1.3 suites: ", OpenSslErrors()));
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  // Sessions are not resumed: every lcore has its own context, so a cache or ticket key would
  // only work on one lcore. Without TLS 1.3 tickets the server writes nothing after its handshake
  // ends, so no record protected with the application keys is produced before the handover.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (server) SSL_CTX_set_num_tickets(ctx, 0);
  // Read exactly one record at a time, so bytes after the peer's Finished stay in the read BIO and
  // are handed to the record layer with the keys.
  SSL_CTX_set_read_ahead(ctx, 0);
  SSL_CTX_set_keylog_callback(ctx, &internal::KeylogCallback);

  absl::Status s = c->LoadIdentity(now);
  if (!s.ok()) return s;
  s = c->LoadTrust();
  if (!s.ok()) return s;
  return c;
}

TlsContext::~TlsContext() {
  for (X509* x : chain_) X509_free(x);
  SSL_CTX_free(ctx_);
}

absl::Status TlsContext::LoadIdentity(absl::Time now) {
  const bool server = config_.role == Role::kServer;
  if (config_.anonymous) {
    if (!config_.certificate_file.empty()) {
      return absl::InvalidArgumentError(
          "anonymous TLS uses no certificates, but certificate_file is set: choose one");
    }
    return absl::OkStatus();
  }
  std::string cert_pem, key_pem, cert_src, key_src;
  if (!config_.certificate_file.empty()) {
    auto c = ReadFile(config_.certificate_file, "certificate");
    if (!c.ok()) return c.status();
    cert_pem = *std::move(c);
    cert_src = "certificate file " + config_.certificate_file;
    const std::string& kf =
        config_.private_key_file.empty() ? config_.certificate_file : config_.private_key_file;
    auto k = ReadFile(kf, "private key");
    if (!k.ok()) return k.status();
    key_pem = *std::move(k);
    key_src = "private key file " + kf;
  } else if (server) {
    if (config_.self_signed_path.empty()) {
      return absl::InvalidArgumentError(
          "the SSTP server needs a certificate: set certificate_file (and private_key_file), or "
          "self_signed_path to generate one, or enable anonymous mode");
    }
    auto id = LoadOrCreateSelfSigned(*lc_, config_.self_signed_path,
                                     config_.self_signed_common_name, now);
    if (!id.ok()) return id.status();
    cert_pem = id->certificate_pem;
    key_pem = id->private_key_pem;
    cert_src = key_src = "self-signed identity " + config_.self_signed_path;
    warnings_.push_back(absl::StrCat("using the self-signed certificate in ",
                                     config_.self_signed_path,
                                     ": clients that verify the server will refuse it"));
  } else {
    return absl::OkStatus();  // client without a client certificate
  }

  auto certs = ParseCertificates(*lc_, cert_pem, cert_src);
  if (!certs.ok()) return certs.status();
  auto key = ParsePrivateKey(*lc_, key_pem, key_src);
  if (!key.ok()) return key.status();
  X509* leaf = (*certs)[0].get();
  if (X509_check_private_key(leaf, key->get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("the key in ", key_src, " does not belong to the first certificate in ",
                     cert_src, " (the leaf certificate must come first, then its intermediates)"));
  }
  time_t t = absl::ToTimeT(now);
  if (X509_cmp_time(X509_get0_notAfter(leaf), &t) < 0) {
    warnings_.push_back(absl::StrCat("the certificate in ", cert_src, " expired on ",
                                     TimeText(X509_get0_notAfter(leaf))));
  } else if (X509_cmp_time(X509_get0_notBefore(leaf), &t) > 0) {
    warnings_.push_back(absl::StrCat("the certificate in ", cert_src, " is not valid before ",
                                     TimeText(X509_get0_notBefore(leaf))));
  }
  if (SSL_CTX_use_certificate(ctx_, leaf) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("OpenSSL refused the certificate in ", cert_src, ": ", OpenSslErrors()));
  }
  for (size_t i = 1; i < certs->size(); ++i) {
    X509_up_ref((*certs)[i].get());
    chain_.push_back((*certs)[i].get());
    if (SSL_CTX_add1_chain_cert(ctx_, (*certs)[i].get()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("OpenSSL refused chain certificate ", i + 1,
                                                     " in ", cert_src, ": ", OpenSslErrors()));
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx_, key->get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("OpenSSL refused the key in ", key_src, ": ", OpenSslErrors()));
  }
  hashes_ = HashCertificate(*lc_, leaf);
  return absl::OkStatus();
}

absl::Status TlsContext::LoadTrust() {
  const bool server = config_.role == Role::kServer;
  if (config_.anonymous) {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    return absl::OkStatus();
  }
  std::vector<X509Ptr> cas;
  if (!config_.ca_file.empty()) {
    auto pem = ReadFile(config_.ca_file, "CA");
    if (!pem.ok()) return pem.status();
    auto parsed = ParseCertificates(*lc_, *pem, "CA file " + config_.ca_file);
    if (!parsed.ok()) return parsed.status();
    cas = *std::move(parsed);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
    for (auto& ca : cas) {
      if (X509_STORE_add_cert(store, ca.get()) != 1) {
        return absl::InvalidArgumentError(absl::StrCat("cannot add a certificate from CA file ",
                                                       config_.ca_file, ": ", OpenSslErrors()));
      }
    }
  }
  if (server) {
    if (!config_.require_client_certificate) {
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
      return absl::OkStatus();
    }
    bool partial = false;
    if (cas.empty()) {
      // RouterOS semantics: the client's certificate must come from the server's own chain.
      for (X509* x : chain_) {
        X509_up_ref(x);
        cas.emplace_back(x);
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), x);
        partial = partial || X509_check_issued(x, x) != X509_V_OK;  // not self-signed
      }
    }
    if (cas.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "require-client-certificate=yes needs the CA that client certificates must chain to: "
          "set ca_file, or append the CA certificate(s) after the server certificate in ",
          config_.certificate_file.empty() ? "the certificate file" : config_.certificate_file));
    }
    if (partial) {
      // An intermediate from our chain is an anchor even without its root.
      X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx_), X509_V_FLAG_PARTIAL_CHAIN);
    }
    // Tell clients which CAs we accept so they pick the right certificate (RFC 8446 4.2.4).
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (auto& ca : cas) sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca.get())));
    SSL_CTX_set_client_CA_list(ctx_, names);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    return absl::OkStatus();
  }
  // Client.
  if (!config_.verify_server_certificate) {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    warnings_.push_back(
        "server certificate verification is OFF: any man in the middle can impersonate the "
        "server");
    return absl::OkStatus();
  }
  if (cas.empty() && SSL_CTX_set_default_verify_paths(ctx_) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot load the system CA store: ", OpenSslErrors(), "; set ca_file"));
  }
  if (config_.verify_hostname && config_.server_name.empty()) {
    return absl::InvalidArgumentError(
        "verifying the server's name needs server_name (or turn verify_hostname off explicitly)");
  }
  if (!config_.verify_hostname) {
    warnings_.push_back(
        "the server's name is not checked against its certificate: any certificate from the "
        "trusted CAs is accepted");
  }
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  return absl::OkStatus();
}

bool TlsContext::AcquireHandshakeSlot() {
  int cur = in_progress_.load(std::memory_order_relaxed);
  while (cur < config_.max_concurrent_handshakes) {
    if (in_progress_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

void TlsContext::ReleaseHandshakeSlot() { in_progress_.fetch_sub(1, std::memory_order_relaxed); }

absl::StatusOr<PemIdentity> GenerateSelfSigned(LcoreCrypto& lc, const std::string& common_name,
                                               absl::Time now) {
  PkeyPtr key(EVP_PKEY_Q_keygen(lc.libctx(), nullptr, "EC", "P-256"));
  if (!key) return absl::InternalError("cannot generate a P-256 key: " + OpenSslErrors());
  X509Ptr x(X509_new_ex(lc.libctx(), nullptr));
  X509_set_version(x.get(), X509_VERSION_3);
  uint8_t serial[16];
  if (RAND_bytes_ex(lc.libctx(), serial, sizeof(serial), 0) != 1) {
    return absl::InternalError("no randomness for the certificate serial: " + OpenSslErrors());
  }
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  time_t t = absl::ToTimeT(now);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), t - 3600);
  ASN1_TIME_set(X509_getm_notAfter(x.get()), t + 10L * 365 * 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key.get());
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  const std::pair<int, std::string> exts[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_alt_name, "DNS:" + common_name},
  };
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (e == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot build certificate extension ", value, ": ", OpenSslErrors()));
    }
    X509_add_ext(x.get(), e, -1);
    X509_EXTENSION_free(e);
  }
  if (X509_sign(x.get(), key.get(), lc.sha256()) <= 0) {
    return absl::InternalError("cannot sign the self-signed certificate: " + OpenSslErrors());
  }
  PemIdentity id;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x.get());
  char* data;
  long n = BIO_get_mem_data(b, &data);
  id.certificate_pem.assign(data, n);
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  n = BIO_get_mem_data(b, &data);
  id.private_key_pem.assign(data, n);
  BIO_free(b);
  return id;
}

absl::StatusOr<PemIdentity> LoadOrCreateSelfSigned(LcoreCrypto& lc, const std::string& path,
                                                   const std::string& common_name, absl::Time now) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    auto pem = ReadFile(path, "self-signed identity");
    if (!pem.ok()) return pem.status();
    auto certs = ParseCertificates(lc, *pem, "self-signed identity " + path);
    if (!certs.ok()) return certs.status();
    auto key = ParsePrivateKey(lc, *pem, "self-signed identity " + path);
    if (!key.ok()) return key.status();
    // Keep the file's own text for both: the PEM readers skip the other block.
    return PemIdentity{*pem, *pem};
  }
  auto id = GenerateSelfSigned(lc, common_name, now);
  if (!id.ok()) return id.status();
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write the self-signed identity to ", tmp, ": ", std::strerror(errno)));
  }
  std::string all = id->certificate_pem + id->private_key_pem;
  size_t off = 0;
  while (off < all.size()) {
    ssize_t w = write(fd, all.data() + off, all.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return absl::InternalError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(err)));
    }
    off += static_cast<size_t>(w);
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return absl::InternalError(
        absl::StrCat("cannot store the self-signed identity at ", path, ": ", std::strerror(err)));
  }
  return id;
}

}  // namespace tls
