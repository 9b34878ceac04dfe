// Contexts and the handshake driver: certificate loading and its error messages, self-signed
// generation, client-certificate policy, server verification with hostname check, anonymous mode,
// legacy suites on OpenSSL's record layer, the concurrent-handshake bound and the timeout.
#include "tls/handshake.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <memory>

#include "tests/tls/test_util.h"
#include "tls/context.h"
#include "tls/record.h"

namespace {

using tls_test::Peer;

class HandshakeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new tls_test::TestPki();
    lc_ = tls::LcoreCrypto::Create()->release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete lc_;
  }

  std::unique_ptr<tls::TlsContext> Ctx(const tls::TlsConfig& cfg) {
    auto c = tls::TlsContext::Create(*lc_, cfg, absl::Now());
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  tls::TlsConfig ServerConfig() {
    tls::TlsConfig cfg;
    cfg.role = tls::Role::kServer;
    cfg.certificate_file = pki_->server_ec_cert;
    cfg.private_key_file = pki_->server_ec_key;
    return cfg;
  }
  tls::TlsConfig ClientConfig() {
    tls::TlsConfig cfg;
    cfg.role = tls::Role::kClient;
    cfg.ca_file = pki_->ca_cert;
    cfg.server_name = "sstp.test";
    return cfg;
  }

  static tls_test::TestPki* pki_;
  static tls::LcoreCrypto* lc_;
};
tls_test::TestPki* HandshakeTest::pki_;
tls::LcoreCrypto* HandshakeTest::lc_;

// Runs two of our handshakes against each other.
bool PumpPair(tls::Handshake& a, tls::Handshake& b) {
  for (int i = 0; i < 20; ++i) {
    std::vector<uint8_t> ab = a.TakeOutput();
    if (!ab.empty() || b.state() == tls::HandshakeState::kInProgress) b.Feed(ab);
    std::vector<uint8_t> ba = b.TakeOutput();
    if (!ba.empty() || a.state() == tls::HandshakeState::kInProgress) a.Feed(ba);
    if (a.state() == tls::HandshakeState::kFailed || b.state() == tls::HandshakeState::kFailed) {
      a.Feed(b.TakeOutput());
      b.Feed(a.TakeOutput());
      return false;
    }
    if (a.state() == tls::HandshakeState::kEstablished &&
        b.state() == tls::HandshakeState::kEstablished && a.pending_output() == 0 &&
        b.pending_output() == 0) {
      return true;
    }
  }
  return false;
}

// After the handover both RecordSessions talk to each other.
void ExpectRecordsFlow(tls::LcoreCrypto& lc, tls::Handshake& server, tls::Handshake& client) {
  auto hs = server.TakeHandover();
  auto hc = client.TakeHandover();
  ASSERT_TRUE(hs.ok()) << hs.status();
  ASSERT_TRUE(hc.ok()) << hc.status();
  tls::RecordSession s, c;
  ASSERT_TRUE(s.Init(lc, hs->keys).ok());
  ASSERT_TRUE(c.Init(lc, hc->keys).ok());
  std::string text = "SSTP_DUPLEX_POST";
  std::vector<uint8_t> rec(c.overhead() + text.size());
  ASSERT_TRUE(c.SealCopy(lc, tls::ContentType::kApplicationData,
                         absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()),
                                                   text.size()),
                         absl::MakeSpan(rec))
                  .ok());
  absl::Span<uint8_t> sp = absl::MakeSpan(rec);
  tls::OpenResult r = s.Open(lc, tls::Segments(&sp, 1));
  ASSERT_EQ(r.status, tls::OpenStatus::kData);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(rec.data()) + r.data_offset, r.data_len), text);
}

TEST_F(HandshakeTest, ServerAndClientWithVerificationAndCertHashes) {
  auto sctx = Ctx(ServerConfig());
  auto cctx = Ctx(ClientConfig());
  ASSERT_TRUE(sctx && cctx);
  ASSERT_TRUE(sctx->certificate_hashes().has_value());
  auto s = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  auto c = tls::Handshake::Create(*cctx, absl::UnixEpoch());
  ASSERT_TRUE(s.ok() && c.ok());
  EXPECT_GT((*c)->pending_output(), 0u) << "ClientHello ready at creation";
  ASSERT_TRUE(PumpPair(**s, **c)) << (*s)->error() << " / " << (*c)->error();
  EXPECT_EQ((*c)->version(), tls::Version::kTls13);
  auto hc = (*c)->TakeHandover();
  ASSERT_TRUE(hc.ok());
  // The client sees the server's leaf certificate hashes: what SSTP crypto binding uses.
  ASSERT_TRUE(hc->peer_certificate.has_value());
  EXPECT_EQ(hc->peer_certificate->sha256, sctx->certificate_hashes()->sha256);
  EXPECT_EQ(hc->peer_certificate->sha1, sctx->certificate_hashes()->sha1);
  // Independently: SHA-256 over the DER of the leaf certificate in the PEM file.
  FILE* f = fopen(pki_->server_ec_cert.c_str(), "r");
  X509* leaf = PEM_read_X509(f, nullptr, nullptr, nullptr);
  fclose(f);
  unsigned char* der = nullptr;
  int dlen = i2d_X509(leaf, &der);
  unsigned char md[32];
  unsigned int mdlen;
  EVP_Digest(der, dlen, md, &mdlen, EVP_sha256(), nullptr);
  EXPECT_EQ(0, std::memcmp(md, sctx->certificate_hashes()->sha256.data(), 32));
  EVP_Digest(der, dlen, md, &mdlen, EVP_sha1(), nullptr);
  EXPECT_EQ(0, std::memcmp(md, sctx->certificate_hashes()->sha1.data(), 20));
  OPENSSL_free(der);
  X509_free(leaf);
  auto hs = (*s)->TakeHandover();
  ASSERT_TRUE(hs.ok());
  EXPECT_EQ(hs->server_name, "sstp.test");
  EXPECT_FALSE(hs->peer_certificate.has_value());
}

TEST_F(HandshakeTest, RsaServerTls12) {
  tls::TlsConfig scfg = ServerConfig();
  scfg.certificate_file = pki_->server_rsa_cert;
  scfg.private_key_file = pki_->server_rsa_key;
  auto sctx = Ctx(scfg);
  ASSERT_TRUE(sctx);
  SSL_CTX* pctx = tls_test::PeerContext(false, TLS1_2_VERSION, "ECDHE-RSA-AES256-GCM-SHA384");
  {
    Peer peer(pctx, false);
    auto s = tls::Handshake::Create(*sctx, absl::UnixEpoch());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(tls_test::Pump(**s, peer)) << (*s)->error();
    EXPECT_EQ((*s)->cipher_name(), "ECDHE-RSA-AES256-GCM-SHA384");
    EXPECT_TRUE((*s)->CanHandOver());
  }
  SSL_CTX_free(pctx);
}

TEST_F(HandshakeTest, FullChainIsSentSoAClientTrustingOnlyTheRootAccepts) {
  tls::TlsConfig scfg = ServerConfig();
  scfg.certificate_file = pki_->server_chain_cert;
  scfg.private_key_file = pki_->server_chain_key;
  auto sctx = Ctx(scfg);
  auto cctx = Ctx(ClientConfig());  // trusts ca only
  ASSERT_TRUE(sctx && cctx);
  auto s = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  auto c = tls::Handshake::Create(*cctx, absl::UnixEpoch());
  ASSERT_TRUE(PumpPair(**s, **c)) << (*c)->error();
}

// Whatever the peer sends right behind its Finished (an SSTP client's HTTP request, a server's
// first data) arrives in the same read as the Finished and must reach the record layer.
class EarlyData : public HandshakeTest, public ::testing::WithParamInterface<int> {};

TEST_P(EarlyData, BytesBehindFinishedAreHandedOver) {
  const int version = GetParam();
  const char* suite =
      version == TLS1_3_VERSION ? "TLS_AES_256_GCM_SHA384" : "ECDHE-ECDSA-CHACHA20-POLY1305";
  const std::string text = "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/";
  for (bool ours_is_server : {true, false}) {
    SCOPED_TRACE(ours_is_server ? "ours is server" : "ours is client");
    auto ctx = Ctx(ours_is_server ? ServerConfig() : ClientConfig());
    SSL_CTX* pctx = ours_is_server
                        ? tls_test::PeerContext(false, version, suite)
                        : tls_test::PeerContext(true, version, suite, pki_->server_ec_cert,
                                                pki_->server_ec_key);
    {
      Peer peer(pctx, !ours_is_server);
      auto h = tls::Handshake::Create(*ctx, absl::UnixEpoch());
      ASSERT_TRUE(h.ok());
      bool peer_done = false;
      for (int i = 0; i < 20 && !((*h)->state() == tls::HandshakeState::kEstablished && peer_done);
           ++i) {
        peer.Push((*h)->TakeOutput());
        if (!peer_done && SSL_do_handshake(peer.ssl) == 1) {
          peer_done = true;
          // The peer's last flight and its first data leave together.
          size_t w;
          ASSERT_EQ(SSL_write_ex(peer.ssl, text.data(), text.size(), &w), 1);
        }
        (*h)->Feed(peer.Drain());
        ASSERT_NE((*h)->state(), tls::HandshakeState::kFailed) << (*h)->error();
      }
      ASSERT_EQ((*h)->state(), tls::HandshakeState::kEstablished);
      auto ho = (*h)->TakeHandover();
      ASSERT_TRUE(ho.ok()) << ho.status();
      peer.Push(ho->pending_output);
      tls::RecordSession rs;
      ASSERT_TRUE(rs.Init(*lc_, ho->keys).ok());
      std::vector<uint8_t>& in = ho->pending_input;
      ASSERT_FALSE(in.empty());
      size_t off = 0;
      std::string got;
      while (off < in.size()) {
        absl::Span<uint8_t> rest = absl::MakeSpan(in).subspan(off);
        tls::OpenResult r = rs.Open(*lc_, tls::Segments(&rest, 1));
        ASSERT_TRUE(r.status == tls::OpenStatus::kData || r.status == tls::OpenStatus::kControl)
            << tls::AlertName(r.alert);
        if (r.status == tls::OpenStatus::kData) {
          got.append(reinterpret_cast<char*>(rest.data()) + r.data_offset, r.data_len);
        }
        off += r.record_len;
      }
      EXPECT_EQ(got, text);
    }
    SSL_CTX_free(pctx);
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, EarlyData, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION));

TEST_F(HandshakeTest, WrongHostnameIsRefused) {
  auto sctx = Ctx(ServerConfig());
  tls::TlsConfig ccfg = ClientConfig();
  ccfg.server_name = "other.test";
  auto cctx = Ctx(ccfg);
  auto s = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  auto c = tls::Handshake::Create(*cctx, absl::UnixEpoch());
  EXPECT_FALSE(PumpPair(**s, **c));
  EXPECT_EQ((*c)->state(), tls::HandshakeState::kFailed);
  EXPECT_NE((*c)->error().message().find("hostname mismatch"), std::string::npos) << (*c)->error();
}

TEST_F(HandshakeTest, UnknownCaIsRefusedUnlessVerificationIsExplicitlyOff) {
  auto sctx = Ctx(ServerConfig());
  tls::TlsConfig ccfg = ClientConfig();
  ccfg.ca_file = pki_->other_ca_cert;
  auto cctx = Ctx(ccfg);
  auto s = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  auto c = tls::Handshake::Create(*cctx, absl::UnixEpoch());
  EXPECT_FALSE(PumpPair(**s, **c));
  EXPECT_NE((*c)->error().message().find("certificate rejected"), std::string::npos)
      << (*c)->error();

  ccfg.verify_server_certificate = false;
  auto loose = Ctx(ccfg);
  ASSERT_TRUE(loose);
  EXPECT_FALSE(loose->warnings().empty());
  auto s2 = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  auto c2 = tls::Handshake::Create(*loose, absl::UnixEpoch());
  EXPECT_TRUE(PumpPair(**s2, **c2)) << (*c2)->error();
}

class ClientCertPolicy : public HandshakeTest, public ::testing::WithParamInterface<int> {};

TEST_P(ClientCertPolicy, AcceptedOnlyWhenChainLeadsToConfiguredCa) {
  const int version = GetParam();
  tls::TlsConfig scfg = ServerConfig();
  scfg.require_client_certificate = true;
  scfg.ca_file = pki_->ca_cert;
  auto sctx = Ctx(scfg);
  ASSERT_TRUE(sctx);
  const char* suite =
      version == TLS1_3_VERSION ? "TLS_AES_128_GCM_SHA256" : "ECDHE-ECDSA-AES128-GCM-SHA256";
  struct Case {
    std::string cert, key;
    bool accepted;
  } cases[] = {
      {pki_->client_cert, pki_->client_key, true},
      {pki_->rogue_client_cert, pki_->rogue_client_key, false},
      {"", "", false},
  };
  for (const auto& cs : cases) {
    SCOPED_TRACE(cs.cert.empty() ? "no certificate" : cs.cert);
    SSL_CTX* pctx = tls_test::PeerContext(false, version, suite, cs.cert, cs.key);
    {
      Peer peer(pctx, false);
      auto s = tls::Handshake::Create(*sctx, absl::UnixEpoch());
      ASSERT_TRUE(s.ok());
      bool ok = tls_test::Pump(**s, peer);
      EXPECT_EQ(ok, cs.accepted) << (*s)->error();
      if (cs.accepted) {
        auto h = (*s)->TakeHandover();
        ASSERT_TRUE(h.ok());
        EXPECT_NE(h->peer_subject.find("branch-router"), std::string::npos);
        EXPECT_TRUE(h->peer_certificate.has_value());
      } else {
        EXPECT_EQ((*s)->state(), tls::HandshakeState::kFailed);
        ASSERT_TRUE((*s)->alert_sent().has_value());
        if (cs.cert.empty()) {
          // RFC 8446 4.4.2.4: certificate_required in TLS 1.3; handshake_failure in TLS 1.2.
          EXPECT_EQ(*(*s)->alert_sent(), version == TLS1_3_VERSION
                                             ? tls::AlertDescription::kCertificateRequired
                                             : tls::AlertDescription::kHandshakeFailure);
        } else {
          EXPECT_EQ(*(*s)->alert_sent(), tls::AlertDescription::kUnknownCa);
          // The log names it (it used to read "unknown_alert").
          EXPECT_STREQ(tls::AlertName(*(*s)->alert_sent()), "unknown_ca");
        }
        EXPECT_FALSE((*s)->error().message().empty());
      }
    }
    SSL_CTX_free(pctx);
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, ClientCertPolicy,
                         ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION));

TEST_F(HandshakeTest, OurClientPresentsItsCertificate) {
  tls::TlsConfig scfg = ServerConfig();
  scfg.require_client_certificate = true;
  scfg.ca_file = pki_->ca_cert;
  auto sctx = Ctx(scfg);
  tls::TlsConfig ccfg = ClientConfig();
  ccfg.certificate_file = pki_->client_cert;
  ccfg.private_key_file = pki_->client_key;
  auto cctx = Ctx(ccfg);
  ASSERT_TRUE(sctx && cctx);
  auto s = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  auto c = tls::Handshake::Create(*cctx, absl::UnixEpoch());
  ASSERT_TRUE(PumpPair(**s, **c)) << (*s)->error() << " / " << (*c)->error();
  ExpectRecordsFlow(*lc_, **s, **c);
}

TEST_F(HandshakeTest, RequireClientCertificateNeedsACa) {
  // A leaf-only certificate file and no ca_file: nothing to check client certificates against.
  tls::TlsConfig scfg = ServerConfig();
  scfg.certificate_file = pki_->server_rsa_cert;
  scfg.private_key_file = pki_->server_rsa_key;
  scfg.require_client_certificate = true;
  auto c = tls::TlsContext::Create(*lc_, scfg, absl::Now());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("ca_file"), std::string::npos) << c.status();
  EXPECT_NE(c.status().message().find("server-rsa.pem"), std::string::npos) << c.status();
}

TEST_F(HandshakeTest, RequireClientCertificateFromTheServersOwnChain) {
  // RouterOS: "checks whether client's certificate belongs to the same certificate chain as
  // server's certificate". server_ec_cert holds leaf + CA; no ca_file is configured.
  tls::TlsConfig scfg = ServerConfig();
  scfg.require_client_certificate = true;
  auto sctx = Ctx(scfg);
  ASSERT_TRUE(sctx);
  for (bool good : {true, false}) {
    tls::TlsConfig ccfg = ClientConfig();
    ccfg.certificate_file = good ? pki_->client_cert : pki_->rogue_client_cert;
    ccfg.private_key_file = good ? pki_->client_key : pki_->rogue_client_key;
    auto cctx = Ctx(ccfg);
    auto s = tls::Handshake::Create(*sctx, absl::UnixEpoch());
    auto c = tls::Handshake::Create(*cctx, absl::UnixEpoch());
    EXPECT_EQ(PumpPair(**s, **c), good) << (*s)->error();
  }
}

TEST_F(HandshakeTest, AnonymousModeNeedsBothSidesAndIsFlagged) {
  tls::TlsConfig scfg;
  scfg.role = tls::Role::kServer;
  scfg.anonymous = true;
  tls::TlsConfig ccfg;
  ccfg.role = tls::Role::kClient;
  ccfg.anonymous = true;
  auto sctx = Ctx(scfg);
  auto cctx = Ctx(ccfg);
  ASSERT_TRUE(sctx && cctx);
  ASSERT_FALSE(sctx->warnings().empty());
  EXPECT_NE(sctx->warnings()[0].find("INSECURE"), std::string::npos);
  EXPECT_FALSE(sctx->certificate_hashes().has_value());
  auto s = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  auto c = tls::Handshake::Create(*cctx, absl::UnixEpoch());
  ASSERT_TRUE(PumpPair(**s, **c)) << (*s)->error() << " / " << (*c)->error();
  EXPECT_EQ((*s)->version(), tls::Version::kTls12);
  EXPECT_NE((*s)->cipher_name().find("ADH-AES"), std::string::npos) << (*s)->cipher_name();
  ExpectRecordsFlow(*lc_, **s, **c);

  // Off by default: an ordinary client does not talk to an anonymous server.
  auto normal = Ctx(ClientConfig());
  auto s2 = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  auto c2 = tls::Handshake::Create(*normal, absl::UnixEpoch());
  EXPECT_FALSE(PumpPair(**s2, **c2));
}

TEST_F(HandshakeTest, SelfSignedIsGeneratedKeptAndReused) {
  std::string path = pki_->Path("selfsigned.pem");
  tls::TlsConfig scfg;
  scfg.role = tls::Role::kServer;
  scfg.self_signed_path = path;
  scfg.self_signed_common_name = "vpn.example.test";
  auto a = Ctx(scfg);
  ASSERT_TRUE(a);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the private key is not readable by others";
  auto b = Ctx(scfg);  // a second lcore, or a restart: same certificate
  ASSERT_TRUE(b);
  ASSERT_TRUE(a->certificate_hashes() && b->certificate_hashes());
  EXPECT_EQ(a->certificate_hashes()->sha256, b->certificate_hashes()->sha256);
  // A client that explicitly skips verification connects and sees that certificate.
  tls::TlsConfig ccfg;
  ccfg.role = tls::Role::kClient;
  ccfg.verify_server_certificate = false;
  auto cctx = Ctx(ccfg);
  auto s = tls::Handshake::Create(*a, absl::UnixEpoch());
  auto c = tls::Handshake::Create(*cctx, absl::UnixEpoch());
  ASSERT_TRUE(PumpPair(**s, **c));
  auto hc = (*c)->TakeHandover();
  ASSERT_TRUE(hc.ok());
  EXPECT_EQ(hc->peer_certificate->sha256, a->certificate_hashes()->sha256);
  EXPECT_NE(hc->peer_subject.find("vpn.example.test"), std::string::npos);
}

TEST_F(HandshakeTest, ErrorsNameTheFileAndTheProblem) {
  tls::TlsConfig cfg = ServerConfig();
  cfg.certificate_file = pki_->Path("missing.pem");
  auto c = tls::TlsContext::Create(*lc_, cfg, absl::Now());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("missing.pem"), std::string::npos) << c.status();

  cfg = ServerConfig();
  cfg.private_key_file = pki_->server_rsa_key;  // not the EC certificate's key
  c = tls::TlsContext::Create(*lc_, cfg, absl::Now());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("does not belong"), std::string::npos) << c.status();
  EXPECT_NE(c.status().message().find("server-rsa.key"), std::string::npos) << c.status();

  std::string junk = pki_->Path("junk.pem");
  std::ofstream(junk) << "this is not a certificate\n";
  cfg = ServerConfig();
  cfg.certificate_file = junk;
  c = tls::TlsContext::Create(*lc_, cfg, absl::Now());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("junk.pem holds no certificate"), std::string::npos)
      << c.status();

  cfg = ServerConfig();
  cfg.certificate_file.clear();
  c = tls::TlsContext::Create(*lc_, cfg, absl::Now());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("needs a certificate"), std::string::npos) << c.status();

  tls::TlsConfig ccfg = ClientConfig();
  ccfg.server_name.clear();
  c = tls::TlsContext::Create(*lc_, ccfg, absl::Now());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("server_name"), std::string::npos) << c.status();
}

TEST_F(HandshakeTest, ExpiredCertificateIsReported) {
  auto c = tls::TlsContext::Create(*lc_, ServerConfig(), absl::Now() + absl::Hours(24 * 800));
  ASSERT_TRUE(c.ok());
  ASSERT_FALSE((*c)->warnings().empty());
  EXPECT_NE((*c)->warnings()[0].find("expired"), std::string::npos);
}

TEST_F(HandshakeTest, LegacyCbcOnlyByExplicitConfigurationAndStaysOnOpenSsl) {
  SSL_CTX* pctx = tls_test::PeerContext(false, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA");
  auto strict = Ctx(ServerConfig());
  {
    Peer peer(pctx, false);
    auto s = tls::Handshake::Create(*strict, absl::UnixEpoch());
    EXPECT_FALSE(tls_test::Pump(**s, peer)) << "CBC refused by default";
  }
  tls::TlsConfig lcfg = ServerConfig();
  lcfg.allow_legacy = true;
  auto legacy = Ctx(lcfg);
  {
    Peer peer(pctx, false);
    auto s = tls::Handshake::Create(*legacy, absl::UnixEpoch());
    ASSERT_TRUE(tls_test::Pump(**s, peer)) << (*s)->error();
    EXPECT_FALSE((*s)->CanHandOver());
    EXPECT_FALSE((*s)->TakeHandover().ok());
    // OpenSSL's record layer carries the data both ways.
    std::string text = "legacy client";
    size_t w;
    ASSERT_EQ(SSL_write_ex(peer.ssl, text.data(), text.size(), &w), 1);
    (*s)->Feed(peer.Drain());
    uint8_t buf[64];
    auto n = (*s)->ReadApplicationData(absl::MakeSpan(buf));
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *n), text);
    ASSERT_TRUE((*s)->WriteApplicationData(absl::MakeSpan(buf, *n)).ok());
    peer.Push((*s)->TakeOutput());
    ASSERT_EQ(SSL_read_ex(peer.ssl, buf, sizeof(buf), &w), 1);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), w), text);
  }
  SSL_CTX_free(pctx);
}

TEST_F(HandshakeTest, Tls10OnlyWithAllowLegacy) {
  SSL_CTX* pctx = tls_test::PeerContext(false, TLS1_VERSION, "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0");
  auto strict = Ctx(ServerConfig());
  {
    Peer peer(pctx, false);
    auto s = tls::Handshake::Create(*strict, absl::UnixEpoch());
    EXPECT_FALSE(tls_test::Pump(**s, peer)) << "TLS 1.0 refused by default";
  }
  tls::TlsConfig lcfg = ServerConfig();
  lcfg.allow_legacy = true;
  auto legacy = Ctx(lcfg);
  {
    Peer peer(pctx, false);
    auto s = tls::Handshake::Create(*legacy, absl::UnixEpoch());
    ASSERT_TRUE(tls_test::Pump(**s, peer)) << (*s)->error();
    EXPECT_EQ(SSL_version((*s)->ssl()), TLS1_VERSION);
    EXPECT_FALSE((*s)->CanHandOver());
  }
  SSL_CTX_free(pctx);
}

TEST_F(HandshakeTest, ConcurrentHandshakesAreBounded) {
  tls::TlsConfig cfg = ServerConfig();
  cfg.max_concurrent_handshakes = 2;
  auto sctx = Ctx(cfg);
  auto a = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  auto b = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  a->reset();
  EXPECT_TRUE(tls::Handshake::Create(*sctx, absl::UnixEpoch()).ok());
  // A finished handshake frees its slot even before it is destroyed.
  auto cctx = Ctx(ClientConfig());
  auto s = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  auto cl = tls::Handshake::Create(*cctx, absl::UnixEpoch());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(PumpPair(**s, **cl));
  EXPECT_EQ(sctx->handshakes_in_progress(), 1);
}

TEST_F(HandshakeTest, TimeoutFailsTheHandshake) {
  tls::TlsConfig cfg = ServerConfig();
  cfg.handshake_timeout = absl::Seconds(10);
  auto sctx = Ctx(cfg);
  absl::Time t0 = absl::FromUnixSeconds(1000);
  auto s = tls::Handshake::Create(*sctx, t0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->deadline(), t0 + absl::Seconds(10));
  (*s)->OnTimer(t0 + absl::Seconds(9));
  EXPECT_EQ((*s)->state(), tls::HandshakeState::kInProgress);
  (*s)->OnTimer(t0 + absl::Seconds(10));
  EXPECT_EQ((*s)->state(), tls::HandshakeState::kFailed);
  EXPECT_EQ((*s)->error().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(sctx->handshakes_in_progress(), 0);
}

TEST_F(HandshakeTest, GarbageInsteadOfClientHelloFails) {
  auto sctx = Ctx(ServerConfig());
  auto s = tls::Handshake::Create(*sctx, absl::UnixEpoch());
  std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  (*s)->Feed(absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(http.data()), http.size()));
  EXPECT_EQ((*s)->state(), tls::HandshakeState::kFailed);
  EXPECT_FALSE((*s)->error().ok());
}

}  // namespace
