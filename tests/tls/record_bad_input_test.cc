// Bad input ends the connection with the right alert and nothing else: each case feeds one side
// of a mirrored RecordSession pair and checks the status, the alert, and that the only thing
// queued for the peer is that fatal alert (which the peer's session decodes as such).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <random>

#include "tests/tls/test_util.h"
#include "tls/record.h"

namespace {

using tls::AlertDescription;
using tls::ContentType;
using tls::OpenStatus;

struct Param {
  tls::Version version;
  tls::Cipher cipher;
};

class BadInput : public ::testing::TestWithParam<Param> {
 protected:
  static void SetUpTestSuite() { lc_ = tls::LcoreCrypto::Create()->release(); }
  static void TearDownTestSuite() { delete lc_; }

  void SetUp() override {
    tls::SessionKeys s;
    s.version = GetParam().version;
    s.cipher = GetParam().cipher;
    s.server = true;
    std::mt19937 rng(7);
    for (auto& b : s.read.key) b = static_cast<uint8_t>(rng());
    for (auto& b : s.read.iv) b = static_cast<uint8_t>(rng());
    for (auto& b : s.read.secret) b = static_cast<uint8_t>(rng());
    for (auto& b : s.write.key) b = static_cast<uint8_t>(rng());
    for (auto& b : s.write.iv) b = static_cast<uint8_t>(rng());
    for (auto& b : s.write.secret) b = static_cast<uint8_t>(rng());
    tls::SessionKeys c = s;
    c.server = false;
    std::swap(c.read, c.write);
    ASSERT_TRUE(server_.Init(*lc_, s).ok());
    ASSERT_TRUE(client_.Init(*lc_, c).ok());
    keys_ = s;
  }

  bool tls13() const { return GetParam().version == tls::Version::kTls13; }

  // A record sealed by the client.
  std::vector<uint8_t> ClientRecord(ContentType type, std::vector<uint8_t> payload) {
    std::vector<uint8_t> rec(client_.overhead() + payload.size());
    auto n = client_.SealCopy(*lc_, type, payload, absl::MakeSpan(rec));
    EXPECT_TRUE(n.ok()) << n.status();
    return rec;
  }

  tls::OpenResult ServerOpen(std::vector<uint8_t>& wire) {
    absl::Span<uint8_t> s = absl::MakeSpan(wire);
    return server_.Open(*lc_, tls::Segments(&s, 1));
  }

  // The server must have queued exactly one fatal alert `a`, readable by the client.
  void ExpectFatalAlertSent(AlertDescription a) {
    ASSERT_TRUE(server_.HasPendingOutput());
    uint8_t out[tls::RecordSession::kMaxPendingOutput];
    auto n = server_.SealPendingOutput(*lc_, absl::MakeSpan(out));
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, server_.overhead() + 2) << "one alert record and nothing else";
    absl::Span<uint8_t> s = absl::MakeSpan(out, *n);
    tls::OpenResult r = client_.Open(*lc_, tls::Segments(&s, 1));
    EXPECT_EQ(r.status, OpenStatus::kPeerAlert);
    EXPECT_EQ(r.alert, a) << tls::AlertName(r.alert);
    EXPECT_EQ(r.record_len, *n);
    EXPECT_FALSE(server_.HasPendingOutput());
    // The connection is over: nothing more is accepted or sent.
    std::vector<uint8_t> more = {23, 3, 3, 0, 20};
    more.resize(25);
    EXPECT_EQ(ServerOpen(more).status, OpenStatus::kError);
    EXPECT_FALSE(server_.Seal(*lc_, ContentType::kApplicationData, {}).ok());
  }

  void ExpectError(tls::OpenResult r, AlertDescription a) {
    EXPECT_EQ(r.status, OpenStatus::kError);
    EXPECT_EQ(r.alert, a) << tls::AlertName(r.alert);
    ExpectFatalAlertSent(a);
  }

  static tls::LcoreCrypto* lc_;
  tls::RecordSession server_, client_;
  tls::SessionKeys keys_;
};
tls::LcoreCrypto* BadInput::lc_;
class Tls13Control : public BadInput {};
class Tls13Aes128 : public BadInput {};
class Tls12Only : public BadInput {};

TEST_P(BadInput, GoodRecordStillWorks) {
  std::vector<uint8_t> rec = ClientRecord(ContentType::kApplicationData, {'o', 'k'});
  tls::OpenResult r = ServerOpen(rec);
  ASSERT_EQ(r.status, OpenStatus::kData);
  EXPECT_EQ(r.data_len, 2u);
  EXPECT_FALSE(server_.HasPendingOutput());
}

TEST_P(BadInput, GarbageIsUnexpectedMessage) {
  std::vector<uint8_t> g = {0x47, 0x45, 0x54, 0x20, 0x2f,
                            0x20, 0x48, 0x54, 0x54, 0x50};  // "GET / HTTP"
  ExpectError(ServerOpen(g), AlertDescription::kUnexpectedMessage);
}

TEST_P(BadInput, RandomBodyIsBadRecordMac) {
  std::vector<uint8_t> g(5 + 100);
  std::mt19937 rng(1);
  for (auto& b : g) b = static_cast<uint8_t>(rng());
  g[0] = 23;
  g[1] = 3;
  g[2] = 3;
  g[3] = 0;
  g[4] = 100;
  ExpectError(ServerOpen(g), AlertDescription::kBadRecordMac);
}

TEST_P(BadInput, FlippedTagIsBadRecordMac) {
  std::vector<uint8_t> rec =
      ClientRecord(ContentType::kApplicationData, std::vector<uint8_t>(100, 7));
  rec.back() ^= 0x80;
  ExpectError(ServerOpen(rec), AlertDescription::kBadRecordMac);
}

TEST_P(BadInput, FlippedCiphertextIsBadRecordMac) {
  std::vector<uint8_t> rec =
      ClientRecord(ContentType::kApplicationData, std::vector<uint8_t>(100, 7));
  rec[server_.header_len() + 10] ^= 1;
  ExpectError(ServerOpen(rec), AlertDescription::kBadRecordMac);
}

TEST_P(BadInput, ReplayedRecordIsBadRecordMac) {
  std::vector<uint8_t> rec = ClientRecord(ContentType::kApplicationData, {1, 2, 3});
  std::vector<uint8_t> copy = rec;
  ASSERT_EQ(ServerOpen(rec).status, OpenStatus::kData);
  ExpectError(ServerOpen(copy), AlertDescription::kBadRecordMac);
}

TEST_P(BadInput, OversizedHeaderIsRecordOverflowBeforeTheBodyArrives) {
  size_t too_big = (tls13() ? tls::kMaxCiphertext13 : tls::kMaxCiphertext12) + 1;
  std::vector<uint8_t> h = {23, 3, 3, static_cast<uint8_t>(too_big >> 8),
                            static_cast<uint8_t>(too_big)};
  ExpectError(ServerOpen(h), AlertDescription::kRecordOverflow);
}

TEST_P(BadInput, TooShortIsBadRecordMac) {
  std::vector<uint8_t> h = {23, 3, 3, 0, 5, 1, 2, 3, 4, 5};
  ExpectError(ServerOpen(h), AlertDescription::kBadRecordMac);
}

TEST_P(BadInput, ChangeCipherSpecAfterHandshakeIsUnexpected) {
  std::vector<uint8_t> ccs = {20, 3, 3, 0, 1, 1};
  ExpectError(ServerOpen(ccs), AlertDescription::kUnexpectedMessage);
}

TEST_P(BadInput, ReceivedFatalAlertEndsSilently) {
  std::vector<uint8_t> rec = ClientRecord(ContentType::kAlert, {2, 40});
  tls::OpenResult r = ServerOpen(rec);
  EXPECT_EQ(r.status, OpenStatus::kPeerAlert);
  EXPECT_EQ(r.alert, AlertDescription::kHandshakeFailure);
  EXPECT_FALSE(server_.HasPendingOutput()) << "no answer to a fatal alert";
  EXPECT_FALSE(server_.Seal(*lc_, ContentType::kApplicationData, {}).ok());
}

TEST_P(BadInput, AlertOfWrongLengthIsDecodeError) {
  std::vector<uint8_t> rec = ClientRecord(ContentType::kAlert, {2, 40, 0});
  ExpectError(ServerOpen(rec), AlertDescription::kDecodeError);
}

TEST_P(BadInput, WarningAlertsAreBounded) {
  // TLS 1.2 warning alerts and TLS 1.3 user_canceled are not fatal, but a peer that sends nothing
  // else is cut off.
  for (int i = 0; i < 32; ++i) {
    std::vector<uint8_t> rec = ClientRecord(ContentType::kAlert, {1, 90});
    ASSERT_EQ(ServerOpen(rec).status, OpenStatus::kControl) << i;
  }
  std::vector<uint8_t> rec = ClientRecord(ContentType::kAlert, {1, 90});
  ExpectError(ServerOpen(rec), AlertDescription::kUnexpectedMessage);
}

TEST_P(BadInput, EmptyHandshakeRecordIsUnexpected) {
  std::vector<uint8_t> rec = ClientRecord(ContentType::kHandshake, {});
  ExpectError(ServerOpen(rec), AlertDescription::kUnexpectedMessage);
}

TEST_P(BadInput, RenegotiationOrTicketToServerIsUnexpected) {
  // TLS 1.2: a renegotiating ClientHello; TLS 1.3: a NewSessionTicket sent to the server.
  std::vector<uint8_t> msg =
      tls13() ? std::vector<uint8_t>{4, 0, 0, 2, 0, 0} : std::vector<uint8_t>{1, 0, 0, 2, 3, 3};
  std::vector<uint8_t> rec = ClientRecord(ContentType::kHandshake, msg);
  ExpectError(ServerOpen(rec), AlertDescription::kUnexpectedMessage);
}

TEST_P(BadInput, CloseNotifyThenDataIsIgnored) {
  std::vector<uint8_t> rec = ClientRecord(ContentType::kAlert, {1, 0});
  std::vector<uint8_t> more = ClientRecord(ContentType::kApplicationData, {9});
  tls::OpenResult r = ServerOpen(rec);
  ASSERT_EQ(r.status, OpenStatus::kCloseNotify);
  ASSERT_TRUE(server_.HasPendingOutput());
  uint8_t out[tls::RecordSession::kMaxPendingOutput];
  auto n = server_.SealPendingOutput(*lc_, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok());
  absl::Span<uint8_t> s = absl::MakeSpan(out, *n);
  EXPECT_EQ(client_.Open(*lc_, tls::Segments(&s, 1)).status, OpenStatus::kCloseNotify);
  r = ServerOpen(more);
  EXPECT_EQ(r.status, OpenStatus::kCloseNotify);
  EXPECT_EQ(r.record_len, 0u);
}

TEST_P(Tls13Control, Tls13Specifics) {
  {
    // A plaintext (unprotected) alert after the handshake.
    std::vector<uint8_t> a = {21, 3, 3, 0, 2, 2, 40};
    ExpectError(ServerOpen(a), AlertDescription::kUnexpectedMessage);
  }
}

TEST_P(Tls13Control, Tls13AllZeroInnerPlaintext) {
  std::vector<uint8_t> rec = ClientRecord(ContentType::kInvalid, {0, 0, 0});
  ExpectError(ServerOpen(rec), AlertDescription::kUnexpectedMessage);
}

TEST_P(Tls13Control, Tls13BadKeyUpdateValue) {
  std::vector<uint8_t> rec = ClientRecord(ContentType::kHandshake, {24, 0, 0, 1, 2});
  ExpectError(ServerOpen(rec), AlertDescription::kIllegalParameter);
}

TEST_P(Tls13Control, Tls13KeyUpdateNotAtRecordEnd) {
  std::vector<uint8_t> rec =
      ClientRecord(ContentType::kHandshake, {24, 0, 0, 1, 0, 24, 0, 0, 1, 0});
  ExpectError(ServerOpen(rec), AlertDescription::kUnexpectedMessage);
}

TEST_P(Tls13Aes128, OversizedInnerPlaintextIsRecordOverflow) {
  // Built by hand with OpenSSL's EVP AES-128-GCM, since our Seal refuses to make it.
  // 16385 bytes of content + inner type: within the ciphertext limit, over the plaintext one.
  const size_t inner = tls::kMaxPlaintext + 2;
  std::vector<uint8_t> rec(5 + inner + 16, 0x61);
  rec[0] = 23;
  rec[1] = 3;
  rec[2] = 3;
  rec[3] = static_cast<uint8_t>((inner + 16) >> 8);
  rec[4] = static_cast<uint8_t>(inner + 16);
  rec[5 + inner - 1] = 23;
  uint8_t nonce[12];
  std::memcpy(nonce, keys_.read.iv, 12);  // client write IV, sequence 0
  EVP_CIPHER_CTX* e = EVP_CIPHER_CTX_new();
  int len;
  EVP_EncryptInit_ex(e, EVP_aes_128_gcm(), nullptr, keys_.read.key, nonce);
  EVP_EncryptUpdate(e, nullptr, &len, rec.data(), 5);
  EVP_EncryptUpdate(e, rec.data() + 5, &len, rec.data() + 5, static_cast<int>(inner));
  EVP_EncryptFinal_ex(e, nullptr, &len);
  EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_GET_TAG, 16, rec.data() + 5 + inner);
  EVP_CIPHER_CTX_free(e);
  ExpectError(ServerOpen(rec), AlertDescription::kRecordOverflow);
}

TEST_P(Tls12Only, WrongRecordVersion) {
  std::vector<uint8_t> rec = ClientRecord(ContentType::kApplicationData, {1});
  rec[2] = 1;
  ExpectError(ServerOpen(rec), AlertDescription::kProtocolVersion);
}

TEST_P(BadInput, SealRefusesOversizedPayload) {
  std::vector<uint8_t> rec(server_.overhead() + tls::kMaxPlaintext + 1);
  absl::Span<uint8_t> s = absl::MakeSpan(rec);
  EXPECT_FALSE(server_.Seal(*lc_, ContentType::kApplicationData, tls::Segments(&s, 1)).ok());
}

std::string Name(const ::testing::TestParamInfo<Param>& i) {
  std::string n = i.param.version == tls::Version::kTls13 ? "Tls13_" : "Tls12_";
  switch (i.param.cipher) {
    case tls::Cipher::kAes128Gcm:
      return n + "Aes128Gcm";
    case tls::Cipher::kAes256Gcm:
      return n + "Aes256Gcm";
    default:
      return n + "ChaCha20Poly1305";
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllSuites, BadInput,
    ::testing::Values(Param{tls::Version::kTls13, tls::Cipher::kAes128Gcm},
                      Param{tls::Version::kTls13, tls::Cipher::kAes256Gcm},
                      Param{tls::Version::kTls13, tls::Cipher::kChaCha20Poly1305},
                      Param{tls::Version::kTls12, tls::Cipher::kAes128Gcm},
                      Param{tls::Version::kTls12, tls::Cipher::kAes256Gcm},
                      Param{tls::Version::kTls12, tls::Cipher::kChaCha20Poly1305}),
    Name);

TEST_P(Tls13Control, TicketSpanningRecordsIsSkipped) {
  // A NewSessionTicket to the client whose header and body straddle three records.
  std::vector<uint8_t> body(300, 0xab);
  std::vector<uint8_t> msg = {4, 0, 1, 44};  // 300 bytes
  msg.insert(msg.end(), body.begin(), body.end());
  std::vector<std::vector<uint8_t>> parts = {{msg.begin(), msg.begin() + 2},
                                             {msg.begin() + 2, msg.begin() + 150},
                                             {msg.begin() + 150, msg.end()}};
  for (auto& p : parts) {
    std::vector<uint8_t> rec(server_.overhead() + p.size());
    ASSERT_TRUE(server_.SealCopy(*lc_, ContentType::kHandshake, p, absl::MakeSpan(rec)).ok());
    absl::Span<uint8_t> s = absl::MakeSpan(rec);
    EXPECT_EQ(client_.Open(*lc_, tls::Segments(&s, 1)).status, OpenStatus::kControl);
  }
  std::vector<uint8_t> rec(server_.overhead() + 1);
  ASSERT_TRUE(server_
                  .SealCopy(*lc_, ContentType::kApplicationData, std::vector<uint8_t>{5},
                            absl::MakeSpan(rec))
                  .ok());
  absl::Span<uint8_t> s = absl::MakeSpan(rec);
  EXPECT_EQ(client_.Open(*lc_, tls::Segments(&s, 1)).status, OpenStatus::kData);
}

TEST_P(Tls13Control, AutomaticKeyUpdateBeforeTheGcmLimit) {
  tls::SessionKeys k = keys_;
  k.write.seq = tls::kKeyUpdateAfterRecords - 1;
  tls::RecordSession s;
  ASSERT_TRUE(s.Init(*lc_, k).ok());
  std::vector<uint8_t> rec(s.overhead() + 1);
  ASSERT_TRUE(
      s.SealCopy(*lc_, ContentType::kApplicationData, std::vector<uint8_t>{1}, absl::MakeSpan(rec))
          .ok());
  ASSERT_TRUE(s.HasPendingOutput());
  uint8_t out[tls::RecordSession::kMaxPendingOutput];
  auto n = s.SealPendingOutput(*lc_, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(s.write_seq(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Tls13, Tls13Control,
                         ::testing::Values(Param{tls::Version::kTls13, tls::Cipher::kAes128Gcm},
                                           Param{tls::Version::kTls13, tls::Cipher::kAes256Gcm},
                                           Param{tls::Version::kTls13,
                                                 tls::Cipher::kChaCha20Poly1305}),
                         Name);

INSTANTIATE_TEST_SUITE_P(Tls13, Tls13Aes128,
                         ::testing::Values(Param{tls::Version::kTls13, tls::Cipher::kAes128Gcm}),
                         Name);

INSTANTIATE_TEST_SUITE_P(Tls12, Tls12Only,
                         ::testing::Values(Param{tls::Version::kTls12, tls::Cipher::kAes128Gcm},
                                           Param{tls::Version::kTls12, tls::Cipher::kAes256Gcm},
                                           Param{tls::Version::kTls12,
                                                 tls::Cipher::kChaCha20Poly1305}),
                         Name);

}  // namespace
