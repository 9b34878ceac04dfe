// Differential tests: a real OpenSSL peer (its own record layer) against our handshake driver,
// key handover and ipsec-mb record layer, for TLS 1.2 and 1.3, every suite, both roles, random
// record sizes 0..16384 and records spread over random segments. Also KeyUpdate and close_notify
// against OpenSSL.
#include <gtest/gtest.h>
#include <openssl/err.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>

#include "tests/tls/test_util.h"
#include "tls/context.h"
#include "tls/handshake.h"
#include "tls/record.h"

namespace {

using tls_test::Peer;

struct SuiteCase {
  int version;
  const char* openssl_suite;  // for the OpenSSL peer
  tls::Cipher cipher;
};

const SuiteCase kSuites[] = {
    {TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", tls::Cipher::kAes128Gcm},
    {TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", tls::Cipher::kAes256Gcm},
    {TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", tls::Cipher::kChaCha20Poly1305},
    {TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", tls::Cipher::kAes128Gcm},
    {TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", tls::Cipher::kAes256Gcm},
    {TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", tls::Cipher::kChaCha20Poly1305},
};

class Differential : public ::testing::TestWithParam<std::tuple<int, bool>> {
 protected:
  static void SetUpTestSuite() {
    pki_ = new tls_test::TestPki();
    lc_ = tls::LcoreCrypto::Create()->release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete lc_;
  }
  static tls_test::TestPki* pki_;
  static tls::LcoreCrypto* lc_;
};
tls_test::TestPki* Differential::pki_;
tls::LcoreCrypto* Differential::lc_;

// One established connection: our side handed over to a RecordSession, the other side OpenSSL.
struct Connection {
  std::unique_ptr<tls::TlsContext> ctx;
  SSL_CTX* peer_ctx = nullptr;
  std::unique_ptr<Peer> peer;
  tls::RecordSession rs;
  tls::Handover handover;
  ~Connection() {
    peer.reset();
    SSL_CTX_free(peer_ctx);
  }
};

void Establish(tls::LcoreCrypto& lc, const tls_test::TestPki& pki, const SuiteCase& sc,
               bool ours_is_server, Connection& c) {
  tls::TlsConfig cfg;
  if (ours_is_server) {
    cfg.role = tls::Role::kServer;
    cfg.certificate_file = pki.server_ec_cert;
    cfg.private_key_file = pki.server_ec_key;
    c.peer_ctx = tls_test::PeerContext(false, sc.version, sc.openssl_suite);
  } else {
    cfg.role = tls::Role::kClient;
    cfg.ca_file = pki.ca_cert;
    cfg.server_name = "sstp.test";
    c.peer_ctx = tls_test::PeerContext(true, sc.version, sc.openssl_suite, pki.server_ec_cert,
                                       pki.server_ec_key);
  }
  auto ctx = tls::TlsContext::Create(lc, cfg, absl::Now());
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  c.ctx = *std::move(ctx);
  c.peer = std::make_unique<Peer>(c.peer_ctx, !ours_is_server);
  auto h = tls::Handshake::Create(*c.ctx, absl::UnixEpoch());
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_TRUE(tls_test::Pump(**h, *c.peer)) << (*h)->error();
  ASSERT_TRUE((*h)->CanHandOver());
  auto ho = (*h)->TakeHandover();
  ASSERT_TRUE(ho.ok()) << ho.status();
  c.handover = *std::move(ho);
  EXPECT_EQ(c.handover.keys.cipher, sc.cipher);
  EXPECT_EQ(c.handover.keys.version,
            sc.version == TLS1_3_VERSION ? tls::Version::kTls13 : tls::Version::kTls12);
  EXPECT_TRUE(c.handover.pending_output.empty());
  ASSERT_TRUE(c.rs.Init(lc, c.handover.keys).ok());
  tls::Wipe(c.handover.keys);
  if (!ours_is_server) {
    ASSERT_TRUE(c.handover.peer_certificate.has_value());
    EXPECT_EQ(c.handover.server_name, "sstp.test");
  }
  // Records that arrived with the handshake's last flight (TLS 1.3 tickets from an OpenSSL
  // server) go to the record layer first.
  std::vector<uint8_t>& in = c.handover.pending_input;
  if (!ours_is_server && sc.version == TLS1_3_VERSION) {
    EXPECT_FALSE(in.empty()) << "OpenSSL's server sends two NewSessionTickets after Finished";
  }
  size_t off = 0;
  while (off < in.size()) {
    absl::Span<uint8_t> rest = absl::MakeSpan(in).subspan(off);
    tls::OpenResult r = c.rs.Open(lc, tls::Segments(&rest, 1));
    ASSERT_EQ(r.status, tls::OpenStatus::kControl);
    off += r.record_len;
  }
}

// Reads one record's worth of plaintext from the OpenSSL peer.
std::vector<uint8_t> PeerRead(Peer& p, size_t expect) {
  std::vector<uint8_t> out(expect + 1);
  size_t got = 0;
  while (got < expect) {
    size_t n = 0;
    if (SSL_read_ex(p.ssl, out.data() + got, out.size() - got, &n) != 1) break;
    got += n;
  }
  out.resize(got);
  return out;
}

TEST_P(Differential, RandomSizesBothDirections) {
  const SuiteCase& sc = kSuites[std::get<0>(GetParam())];
  const bool ours_is_server = std::get<1>(GetParam());
  Connection c;
  Establish(*lc_, *pki_, sc, ours_is_server, c);
  if (HasFatalFailure()) return;
  std::mt19937 rng(std::get<0>(GetParam()) * 2 + ours_is_server);
  std::vector<size_t> sizes = {0, 1, 15, 16, 17, 64, 512, 1400, 16383, 16384};
  for (int i = 0; i < 60; ++i) sizes.push_back(rng() % 16385);
  uint64_t sent = 0, received = 0;
  for (size_t size : sizes) {
    SCOPED_TRACE(size);
    std::vector<uint8_t> data(size);
    for (auto& b : data) b = static_cast<uint8_t>(rng());

    // OpenSSL -> us (OpenSSL does not send empty records for empty writes).
    if (size > 0) {
      size_t w = 0;
      ASSERT_EQ(SSL_write_ex(c.peer->ssl, data.data(), size, &w), 1);
      std::vector<uint8_t> wire = c.peer->Drain();
      auto segs = tls_test::RandomSplit(absl::MakeSpan(wire), 1 + rng() % 6, rng());
      tls::OpenResult r = c.rs.Open(*lc_, segs);
      ASSERT_EQ(r.status, tls::OpenStatus::kData);
      ASSERT_EQ(r.record_len, wire.size());
      ASSERT_EQ(r.data_len, size);
      ASSERT_EQ(0, std::memcmp(wire.data() + r.data_offset, data.data(), size));
      ++received;
    }

    // us -> OpenSSL.
    std::vector<uint8_t> rec(c.rs.overhead() + size);
    if (size > 0) std::memcpy(rec.data() + c.rs.header_len(), data.data(), size);
    auto segs = tls_test::RandomSplit(absl::MakeSpan(rec), 1 + rng() % 6, rng());
    ASSERT_TRUE(c.rs.Seal(*lc_, tls::ContentType::kApplicationData, segs).ok());
    c.peer->Push(rec);
    if (size > 0) {
      std::vector<uint8_t> got = PeerRead(*c.peer, size);
      ASSERT_EQ(got.size(), size);
      ASSERT_EQ(0, std::memcmp(got.data(), data.data(), size));
    }
    ++sent;
  }
  // A partial record is reported as kNeedMore with its full length, and then completes.
  std::vector<uint8_t> data(3000, 0x5a);
  size_t w;
  ASSERT_EQ(SSL_write_ex(c.peer->ssl, data.data(), data.size(), &w), 1);
  std::vector<uint8_t> wire = c.peer->Drain();
  for (size_t cut : {size_t{0}, size_t{3}, size_t{5}, wire.size() - 1}) {
    absl::Span<uint8_t> part = absl::MakeSpan(wire).first(cut);
    tls::OpenResult r = c.rs.Open(*lc_, tls::Segments(&part, 1));
    ASSERT_EQ(r.status, tls::OpenStatus::kNeedMore);
    if (cut >= 5) EXPECT_EQ(r.record_len, wire.size());
  }
  absl::Span<uint8_t> all = absl::MakeSpan(wire);
  EXPECT_EQ(c.rs.Open(*lc_, tls::Segments(&all, 1)).status, tls::OpenStatus::kData);
}

TEST_P(Differential, KeyUpdateAndCloseNotify) {
  const SuiteCase& sc = kSuites[std::get<0>(GetParam())];
  const bool ours_is_server = std::get<1>(GetParam());
  Connection c;
  Establish(*lc_, *pki_, sc, ours_is_server, c);
  if (HasFatalFailure()) return;
  auto roundtrip = [&](const std::string& text) {
    size_t w;
    ASSERT_EQ(SSL_write_ex(c.peer->ssl, text.data(), text.size(), &w), 1);
    std::vector<uint8_t> wire = c.peer->Drain();
    size_t off = 0;
    bool got_data = false;
    while (off < wire.size()) {
      absl::Span<uint8_t> rest = absl::MakeSpan(wire).subspan(off);
      tls::OpenResult r = c.rs.Open(*lc_, tls::Segments(&rest, 1));
      ASSERT_TRUE(r.status == tls::OpenStatus::kData || r.status == tls::OpenStatus::kControl)
          << static_cast<int>(r.status) << " " << tls::AlertName(r.alert);
      if (r.status == tls::OpenStatus::kData) {
        EXPECT_EQ(std::string(reinterpret_cast<char*>(rest.data()) + r.data_offset, r.data_len),
                  text);
        got_data = true;
      }
      off += r.record_len;
    }
    EXPECT_TRUE(got_data);
    if (c.rs.HasPendingOutput()) {
      uint8_t out[tls::RecordSession::kMaxPendingOutput];
      auto n = c.rs.SealPendingOutput(*lc_, absl::MakeSpan(out));
      ASSERT_TRUE(n.ok());
      c.peer->Push(absl::MakeSpan(out, *n));
    }
    std::vector<uint8_t> rec(c.rs.overhead() + text.size());
    auto n = c.rs.SealCopy(
        *lc_, tls::ContentType::kApplicationData,
        absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
        absl::MakeSpan(rec));
    ASSERT_TRUE(n.ok());
    c.peer->Push(rec);
    std::vector<uint8_t> got = PeerRead(*c.peer, text.size());
    EXPECT_EQ(std::string(got.begin(), got.end()), text);
  };
  roundtrip("before any key update");
  if (sc.version == TLS1_3_VERSION) {
    // The peer updates its keys and asks us to update ours (RFC 8446 4.6.3).
    ASSERT_EQ(SSL_key_update(c.peer->ssl, SSL_KEY_UPDATE_REQUESTED), 1);
    uint64_t read_seq_before = c.rs.read_seq();
    roundtrip("after the peer's KeyUpdate");
    EXPECT_LT(c.rs.read_seq(), read_seq_before + 1);  // restarted at 0 under the new key
    EXPECT_EQ(c.rs.write_seq(), 1u);                  // our KeyUpdate, then one record
    // We update ours and ask the peer to follow.
    ASSERT_TRUE(c.rs.RequestKeyUpdate(true).ok());
    uint8_t out[tls::RecordSession::kMaxPendingOutput];
    auto n = c.rs.SealPendingOutput(*lc_, absl::MakeSpan(out));
    ASSERT_TRUE(n.ok());
    c.peer->Push(absl::MakeSpan(out, *n));
    EXPECT_EQ(c.rs.write_seq(), 0u);
    roundtrip("after our KeyUpdate");
    roundtrip("and once more");
  } else {
    EXPECT_FALSE(c.rs.RequestKeyUpdate(false).ok());  // no KeyUpdate in TLS 1.2
  }
  // The peer closes: we answer with close_notify and OpenSSL sees a clean shutdown.
  SSL_shutdown(c.peer->ssl);
  std::vector<uint8_t> wire = c.peer->Drain();
  absl::Span<uint8_t> all = absl::MakeSpan(wire);
  tls::OpenResult r = c.rs.Open(*lc_, tls::Segments(&all, 1));
  ASSERT_EQ(r.status, tls::OpenStatus::kCloseNotify);
  ASSERT_TRUE(c.rs.HasPendingOutput());
  uint8_t out[tls::RecordSession::kMaxPendingOutput];
  auto n = c.rs.SealPendingOutput(*lc_, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok());
  c.peer->Push(absl::MakeSpan(out, *n));
  EXPECT_EQ(SSL_shutdown(c.peer->ssl), 1);
  EXPECT_FALSE(c.rs.Seal(*lc_, tls::ContentType::kApplicationData, {}).ok());
}

TEST_P(Differential, WeCloseFirst) {
  const SuiteCase& sc = kSuites[std::get<0>(GetParam())];
  Connection c;
  Establish(*lc_, *pki_, sc, std::get<1>(GetParam()), c);
  if (HasFatalFailure()) return;
  c.rs.Close();
  uint8_t out[tls::RecordSession::kMaxPendingOutput];
  auto n = c.rs.SealPendingOutput(*lc_, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok());
  c.peer->Push(absl::MakeSpan(out, *n));
  uint8_t buf[16];
  size_t got;
  EXPECT_EQ(SSL_read_ex(c.peer->ssl, buf, sizeof(buf), &got), 0);
  EXPECT_EQ(SSL_get_error(c.peer->ssl, 0), SSL_ERROR_ZERO_RETURN);
}

// Our fatal alerts reach OpenSSL as the alert we meant: corrupt a record from the peer.
TEST_P(Differential, BadTagSendsBadRecordMacToOpenSsl) {
  const SuiteCase& sc = kSuites[std::get<0>(GetParam())];
  Connection c;
  Establish(*lc_, *pki_, sc, std::get<1>(GetParam()), c);
  if (HasFatalFailure()) return;
  std::string text = "hello";
  size_t w;
  ASSERT_EQ(SSL_write_ex(c.peer->ssl, text.data(), text.size(), &w), 1);
  std::vector<uint8_t> wire = c.peer->Drain();
  wire.back() ^= 1;
  absl::Span<uint8_t> all = absl::MakeSpan(wire);
  tls::OpenResult r = c.rs.Open(*lc_, tls::Segments(&all, 1));
  ASSERT_EQ(r.status, tls::OpenStatus::kError);
  EXPECT_EQ(r.alert, tls::AlertDescription::kBadRecordMac);
  uint8_t out[tls::RecordSession::kMaxPendingOutput];
  auto n = c.rs.SealPendingOutput(*lc_, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok());
  c.peer->Push(absl::MakeSpan(out, *n));
  uint8_t buf[16];
  size_t got;
  EXPECT_EQ(SSL_read_ex(c.peer->ssl, buf, sizeof(buf), &got), 0);
  unsigned long e = ERR_peek_last_error();
  EXPECT_EQ(ERR_GET_REASON(e), SSL_AD_REASON_OFFSET + SSL_AD_BAD_RECORD_MAC)
      << ERR_reason_error_string(e);
  ERR_clear_error();
}

INSTANTIATE_TEST_SUITE_P(AllSuites, Differential,
                         ::testing::Combine(::testing::Range(0, 6), ::testing::Bool()),
                         [](const auto& info) {
                           const SuiteCase& sc = kSuites[std::get<0>(info.param)];
                           std::string n = sc.openssl_suite;
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return (sc.version == TLS1_3_VERSION ? std::string("Tls13_")
                                                                : std::string("Tls12_")) +
                                  n + (std::get<1>(info.param) ? "_OursServer" : "_OursClient");
                         });

}  // namespace
