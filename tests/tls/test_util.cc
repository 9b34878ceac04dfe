#include "tests/tls/test_util.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>

namespace tls_test {

std::vector<uint8_t> Hex(const std::string& text) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : text) {
    int v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

std::string ToHex(absl::Span<const uint8_t> b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}

namespace {

EVP_PKEY* NewKey(KeyType t) {
  return t == KeyType::kEcP256 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                               : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", (size_t)2048);
}

X509* NewCert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca,
              bool server) {
  X509* x = X509_new();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), static_cast<long>(random() & 0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x, key);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer : x, x, nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> exts;
  if (ca) {
    exts = {{NID_basic_constraints, "critical,CA:TRUE"},
            {NID_key_usage, "critical,keyCertSign,cRLSign"},
            {NID_subject_key_identifier, "hash"}};
  } else {
    exts = {{NID_basic_constraints, "critical,CA:FALSE"},
            {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
            {NID_ext_key_usage, server ? "serverAuth" : "clientAuth"}};
    if (server) exts.push_back({NID_subject_alt_name, "DNS:" + cn});
  }
  for (auto& [nid, v] : exts) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &v3, nid, v.c_str());
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  }
  X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
  return x;
}

void WritePem(const std::string& path, X509* cert, X509* chain_extra, EVP_PKEY* key) {
  FILE* f = fopen(path.c_str(), "w");
  if (cert) PEM_write_X509(f, cert);
  if (chain_extra) PEM_write_X509(f, chain_extra);
  if (key) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  fclose(f);
}

}  // namespace

TestPki::TestPki() {
  char tmpl[] = "/tmp/tls-test-pki.XXXXXX";
  dir = mkdtemp(tmpl);
  EVP_PKEY* cak = NewKey(KeyType::kEcP256);
  X509* ca = NewCert("Test Root CA", cak, nullptr, nullptr, true, false);
  EVP_PKEY* ocak = NewKey(KeyType::kEcP256);
  X509* oca = NewCert("Other CA", ocak, nullptr, nullptr, true, false);
  EVP_PKEY* sek = NewKey(KeyType::kEcP256);
  X509* se = NewCert("sstp.test", sek, ca, cak, false, true);
  EVP_PKEY* srk = NewKey(KeyType::kRsa2048);
  X509* sr = NewCert("sstp.test", srk, ca, cak, false, true);
  EVP_PKEY* ck = NewKey(KeyType::kEcP256);
  X509* c = NewCert("branch-router", ck, ca, cak, false, false);
  EVP_PKEY* ik = NewKey(KeyType::kEcP256);
  X509* inter = NewCert("Test Intermediate CA", ik, ca, cak, true, false);
  EVP_PKEY* chk = NewKey(KeyType::kEcP256);
  X509* ch = NewCert("sstp.test", chk, inter, ik, false, true);
  server_chain_cert = Path("server-chain.pem");
  server_chain_key = Path("server-chain.key");
  WritePem(server_chain_cert, ch, inter, nullptr);
  WritePem(server_chain_key, nullptr, nullptr, chk);
  X509_free(inter);
  X509_free(ch);
  EVP_PKEY_free(ik);
  EVP_PKEY_free(chk);
  EVP_PKEY* rk = NewKey(KeyType::kEcP256);
  X509* r = NewCert("intruder", rk, oca, ocak, false, false);
  ca_cert = Path("ca.pem");
  ca_key = Path("ca.key");
  other_ca_cert = Path("other-ca.pem");
  other_ca_key = Path("other-ca.key");
  server_ec_cert = Path("server-ec.pem");
  server_ec_key = Path("server-ec.key");
  server_rsa_cert = Path("server-rsa.pem");
  server_rsa_key = Path("server-rsa.key");
  client_cert = Path("client.pem");
  client_key = Path("client.key");
  rogue_client_cert = Path("rogue.pem");
  rogue_client_key = Path("rogue.key");
  WritePem(ca_cert, ca, nullptr, nullptr);
  WritePem(ca_key, nullptr, nullptr, cak);
  WritePem(other_ca_cert, oca, nullptr, nullptr);
  WritePem(other_ca_key, nullptr, nullptr, ocak);
  WritePem(server_ec_cert, se, ca, nullptr);  // full chain: leaf then CA
  WritePem(server_ec_key, nullptr, nullptr, sek);
  WritePem(server_rsa_cert, sr, nullptr, nullptr);
  WritePem(server_rsa_key, nullptr, nullptr, srk);
  WritePem(client_cert, c, nullptr, nullptr);
  WritePem(client_key, nullptr, nullptr, ck);
  WritePem(rogue_client_cert, r, nullptr, nullptr);
  WritePem(rogue_client_key, nullptr, nullptr, rk);
  for (X509* x : {ca, oca, se, sr, c, r}) X509_free(x);
  for (EVP_PKEY* k : {cak, ocak, sek, srk, ck, rk}) EVP_PKEY_free(k);
}

TestPki::~TestPki() { std::filesystem::remove_all(dir); }

Peer::Peer(SSL_CTX* ctx, bool server) {
  ssl = SSL_new(ctx);
  rbio = BIO_new(BIO_s_mem());
  wbio = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(rbio, -1);
  SSL_set_bio(ssl, rbio, wbio);
  if (server) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
  }
}

Peer::~Peer() { SSL_free(ssl); }

std::vector<uint8_t> Peer::Drain() {
  std::vector<uint8_t> v(BIO_ctrl_pending(wbio));
  if (!v.empty()) BIO_read(wbio, v.data(), static_cast<int>(v.size()));
  return v;
}

void Peer::Push(absl::Span<const uint8_t> in) {
  if (!in.empty()) BIO_write(rbio, in.data(), static_cast<int>(in.size()));
}

bool Pump(tls::Handshake& ours, Peer& peer, int max_rounds) {
  bool peer_done = false;
  for (int i = 0; i < max_rounds; ++i) {
    if (!peer_done) {
      int r = SSL_do_handshake(peer.ssl);
      if (r == 1)
        peer_done = true;
      else {
        int e = SSL_get_error(peer.ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
          // Deliver the peer's alert to us before giving up.
          ours.Feed(peer.Drain());
          return false;
        }
      }
    }
    std::vector<uint8_t> to_us = peer.Drain();
    if (!to_us.empty() || ours.state() == tls::HandshakeState::kInProgress) ours.Feed(to_us);
    if (ours.state() == tls::HandshakeState::kFailed) {
      peer.Push(ours.TakeOutput());
      SSL_do_handshake(peer.ssl);
      return false;
    }
    std::vector<uint8_t> to_peer = ours.TakeOutput();
    peer.Push(to_peer);
    if (peer_done && ours.state() == tls::HandshakeState::kEstablished && to_peer.empty() &&
        to_us.empty()) {
      return true;
    }
  }
  return false;
}

tls::SegmentList RandomSplit(absl::Span<uint8_t> buf, size_t pieces, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<size_t> cuts;
  for (size_t i = 1; i < pieces && buf.size() > 0; ++i) cuts.push_back(rng() % (buf.size() + 1));
  std::sort(cuts.begin(), cuts.end());
  tls::SegmentList out;
  size_t prev = 0;
  for (size_t c : cuts) {
    out.push_back(buf.subspan(prev, c - prev));
    prev = c;
  }
  out.push_back(buf.subspan(prev));
  return out;
}

SSL_CTX* PeerContext(bool server, int version, const std::string& suite, const std::string& cert,
                     const std::string& key) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, version);
  SSL_CTX_set_max_proto_version(ctx, version);
  if (version == TLS1_3_VERSION) {
    SSL_CTX_set_ciphersuites(ctx, suite.c_str());
  } else {
    SSL_CTX_set_cipher_list(ctx, suite.c_str());
  }
  if (!cert.empty()) {
    SSL_CTX_use_certificate_chain_file(ctx, cert.c_str());
    SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM);
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  return ctx;
}

}  // namespace tls_test
