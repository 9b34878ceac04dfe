// tls::Connection: the byte-stream wrapper the Linux client uses, against itself, against an
// OpenSSL server (tickets after the handshake), on a legacy suite, and when verification fails.
#include "tls/connection.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>

#include "tests/tls/test_util.h"

namespace {

class ConnectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new tls_test::TestPki();
    lc_ = tls::LcoreCrypto::Create()->release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete lc_;
  }
  std::unique_ptr<tls::TlsContext> Server(bool legacy = false) {
    tls::TlsConfig cfg;
    cfg.role = tls::Role::kServer;
    cfg.certificate_file = pki_->server_ec_cert;
    cfg.private_key_file = pki_->server_ec_key;
    cfg.allow_legacy = legacy;
    return *tls::TlsContext::Create(*lc_, cfg, absl::Now());
  }
  std::unique_ptr<tls::TlsContext> Client(const std::string& ca) {
    tls::TlsConfig cfg;
    cfg.role = tls::Role::kClient;
    cfg.ca_file = ca;
    cfg.server_name = "sstp.test";
    return *tls::TlsContext::Create(*lc_, cfg, absl::Now());
  }
  static tls_test::TestPki* pki_;
  static tls::LcoreCrypto* lc_;
};
tls_test::TestPki* ConnectionTest::pki_;
tls::LcoreCrypto* ConnectionTest::lc_;

void Shuttle(tls::Connection& a, tls::Connection& b) {
  for (int i = 0; i < 20 && (a.has_output() || b.has_output()); ++i) {
    b.Feed(a.TakeOutput());
    a.Feed(b.TakeOutput());
  }
}

std::vector<uint8_t> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST_F(ConnectionTest, OursAgainstOursMovesDataAndClosesCleanly) {
  auto sctx = Server();
  auto cctx = Client(pki_->ca_cert);
  auto s = *tls::Connection::Create(*sctx, absl::UnixEpoch());
  auto c = *tls::Connection::Create(*cctx, absl::UnixEpoch());
  Shuttle(*c, *s);
  ASSERT_EQ(c->state(), tls::Connection::State::kOpen) << c->error();
  ASSERT_EQ(s->state(), tls::Connection::State::kOpen) << s->error();
  EXPECT_TRUE(c->on_ipsec_mb());
  ASSERT_TRUE(c->info().peer_certificate.has_value());
  EXPECT_EQ(c->info().peer_certificate->sha256, sctx->certificate_hashes()->sha256);
  std::vector<uint8_t> up = Random(100000, 1), down = Random(70000, 2);
  ASSERT_TRUE(c->Write(up).ok());
  ASSERT_TRUE(s->Write(down).ok());
  Shuttle(*c, *s);
  EXPECT_EQ(s->plaintext(), up);
  EXPECT_EQ(c->plaintext(), down);
  c->Close();
  Shuttle(*c, *s);
  EXPECT_EQ(s->state(), tls::Connection::State::kClosed);
  EXPECT_TRUE(s->peer_closed());
  EXPECT_TRUE(c->peer_closed()) << "the server answered close_notify";
  EXPECT_FALSE(c->Write(up).ok());
}

TEST_F(ConnectionTest, OursAgainstOpenSslServerWithTickets) {
  auto cctx = Client(pki_->ca_cert);
  SSL_CTX* pctx = tls_test::PeerContext(true, TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256",
                                        pki_->server_ec_cert, pki_->server_ec_key);
  {
    tls_test::Peer peer(pctx, true);
    auto c = *tls::Connection::Create(*cctx, absl::UnixEpoch());
    for (int i = 0; i < 10; ++i) {
      peer.Push(c->TakeOutput());
      SSL_do_handshake(peer.ssl);
      c->Feed(peer.Drain());
    }
    ASSERT_EQ(c->state(), tls::Connection::State::kOpen) << c->error();
    std::string hello = "hello from OpenSSL";
    size_t w;
    ASSERT_EQ(SSL_write_ex(peer.ssl, hello.data(), hello.size(), &w), 1);
    c->Feed(peer.Drain());
    EXPECT_EQ(std::string(c->plaintext().begin(), c->plaintext().end()), hello);
    std::vector<uint8_t> big = Random(40000, 3);
    ASSERT_TRUE(c->Write(big).ok());
    peer.Push(c->TakeOutput());
    std::vector<uint8_t> got(big.size());
    size_t total = 0;
    while (total < got.size()) {
      size_t n;
      ASSERT_EQ(SSL_read_ex(peer.ssl, got.data() + total, got.size() - total, &n), 1);
      total += n;
    }
    EXPECT_EQ(got, big);
  }
  SSL_CTX_free(pctx);
}

TEST_F(ConnectionTest, LegacySuiteStaysOnOpenSsl) {
  auto sctx = Server(/*legacy=*/true);
  SSL_CTX* pctx = tls_test::PeerContext(false, TLS1_2_VERSION, "ECDHE-ECDSA-AES256-SHA");
  {
    tls_test::Peer peer(pctx, false);
    auto s = *tls::Connection::Create(*sctx, absl::UnixEpoch());
    for (int i = 0; i < 10; ++i) {
      SSL_do_handshake(peer.ssl);
      s->Feed(peer.Drain());
      peer.Push(s->TakeOutput());
    }
    ASSERT_EQ(s->state(), tls::Connection::State::kOpen) << s->error();
    EXPECT_FALSE(s->on_ipsec_mb());
    std::string text = "old windows client";
    size_t w;
    ASSERT_EQ(SSL_write_ex(peer.ssl, text.data(), text.size(), &w), 1);
    s->Feed(peer.Drain());
    EXPECT_EQ(std::string(s->plaintext().begin(), s->plaintext().end()), text);
    ASSERT_TRUE(s->Write(s->plaintext()).ok());
    peer.Push(s->TakeOutput());
    char buf[64];
    ASSERT_EQ(SSL_read_ex(peer.ssl, buf, sizeof(buf), &w), 1);
    EXPECT_EQ(std::string(buf, w), text);
  }
  SSL_CTX_free(pctx);
}

TEST_F(ConnectionTest, VerificationFailureFailsBothEnds) {
  auto sctx = Server();
  auto cctx = Client(pki_->other_ca_cert);
  auto s = *tls::Connection::Create(*sctx, absl::UnixEpoch());
  auto c = *tls::Connection::Create(*cctx, absl::UnixEpoch());
  Shuttle(*c, *s);
  EXPECT_EQ(c->state(), tls::Connection::State::kFailed);
  EXPECT_EQ(s->state(), tls::Connection::State::kFailed);
  EXPECT_NE(c->error().message().find("certificate"), std::string::npos) << c->error();
  EXPECT_FALSE(c->Write(Random(10, 4)).ok());
}

TEST_F(ConnectionTest, HandshakeTimeout) {
  auto sctx = Server();
  auto s = *tls::Connection::Create(*sctx, absl::FromUnixSeconds(100));
  EXPECT_EQ(s->deadline(), absl::FromUnixSeconds(130));
  s->OnTimer(absl::FromUnixSeconds(130));
  EXPECT_EQ(s->state(), tls::Connection::State::kFailed);
  EXPECT_EQ(s->error().code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
