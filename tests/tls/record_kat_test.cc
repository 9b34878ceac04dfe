// Known-answer tests for the record layer and the key schedule.
//   TLS 1.3: RFC 8448 section 3 (simple 1-RTT handshake): traffic secrets -> keys/IVs, the
//            server's NewSessionTicket record, both application_data records and both
//            close_notify alerts.
//   TLS 1.2: records and key blocks computed independently (Python's `cryptography` AESGCM /
//            ChaCha20Poly1305 and an HMAC-based P_hash) from the RFC 5246/5288/7905 formulas.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "tests/tls/test_util.h"
#include "tls/key_schedule.h"
#include "tls/lcore_crypto.h"
#include "tls/record.h"

namespace {

using tls_test::Hex;
using tls_test::ToHex;

std::unique_ptr<tls::LcoreCrypto> Lc() {
  auto lc = tls::LcoreCrypto::Create();
  EXPECT_TRUE(lc.ok()) << lc.status();
  return *std::move(lc);
}

void Copy(const std::vector<uint8_t>& v, uint8_t* out) { std::memcpy(out, v.data(), v.size()); }

// RFC 8448 section 3.
const char kClientAppSecret[] =
    "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 "
    "a5";
const char kServerAppSecret[] =
    "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 "
    "43";
const char kClientAppKey[] = "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51";
const char kClientAppIv[] = "5b 78 92 3d ee 08 57 90 33 e5 23 d9";
const char kServerAppKey[] = "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56";
const char kServerAppIv[] = "cf 78 2b 88 dd 83 54 9a ad f1 e9 84";
const char kNewSessionTicketRecord[] =
    "17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24"
    "0e 6c ff ac 11 6e 95 d4 1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a"
    "01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88 91 a3 8e fb cf 57 53 ad 8e f1"
    "70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0"
    "9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15"
    "13 98 91 d5 e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77"
    "f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51 9d 86 cb ee ac 87 aa c3"
    "47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49 fe 51 37 12 1c 74"
    "bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b"
    "3b 6c 67 79 b3 7b f1 59 85 68 4f";
const char kClientAppRecord[] =
    "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea"
    "42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b"
    "62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4";
const char kServerAppRecord[] =
    "17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc"
    "32 25 d0 5f 82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8"
    "fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d";
const char kClientAlertRecord[] =
    "17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3";
const char kServerAlertRecord[] =
    "17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9";

std::vector<uint8_t> Payload50() {
  std::vector<uint8_t> p(50);
  for (int i = 0; i < 50; ++i) p[i] = static_cast<uint8_t>(i);
  return p;
}

tls::SessionKeys Rfc8448Keys(bool server) {
  tls::SessionKeys k;
  k.version = tls::Version::kTls13;
  k.cipher = tls::Cipher::kAes128Gcm;
  k.server = server;
  tls::TrafficKeys c, s;
  Copy(Hex(kClientAppKey), c.key);
  Copy(Hex(kClientAppIv), c.iv);
  Copy(Hex(kClientAppSecret), c.secret);
  Copy(Hex(kServerAppKey), s.key);
  Copy(Hex(kServerAppIv), s.iv);
  Copy(Hex(kServerAppSecret), s.secret);
  k.read = server ? c : s;
  k.write = server ? s : c;
  return k;
}

TEST(KeySchedule, Rfc8448TrafficKeysFromSecrets) {
  auto lc = Lc();
  tls::TrafficKeys k;
  Copy(Hex(kServerAppSecret), k.secret);
  ASSERT_TRUE(tls::DeriveTls13TrafficKeys(*lc, tls::Cipher::kAes128Gcm, k).ok());
  EXPECT_EQ(ToHex(absl::MakeSpan(k.key, 16)), ToHex(Hex(kServerAppKey)));
  EXPECT_EQ(ToHex(absl::MakeSpan(k.iv, 12)), ToHex(Hex(kServerAppIv)));
  Copy(Hex(kClientAppSecret), k.secret);
  ASSERT_TRUE(tls::DeriveTls13TrafficKeys(*lc, tls::Cipher::kAes128Gcm, k).ok());
  EXPECT_EQ(ToHex(absl::MakeSpan(k.key, 16)), ToHex(Hex(kClientAppKey)));
  EXPECT_EQ(ToHex(absl::MakeSpan(k.iv, 12)), ToHex(Hex(kClientAppIv)));
}

// The client's view of RFC 8448 section 3 after the handshake, every record as in the RFC.
void RunRfc8448Client(size_t pieces) {
  auto lc = Lc();
  tls::RecordSession rs;
  ASSERT_TRUE(rs.Init(*lc, Rfc8448Keys(false)).ok());

  // {server} NewSessionTicket (server seq 0): consumed inside the record layer.
  std::vector<uint8_t> nst = Hex(kNewSessionTicketRecord);
  ASSERT_EQ(nst.size(), 227u);
  auto segs = tls_test::RandomSplit(absl::MakeSpan(nst), pieces, 1);
  tls::OpenResult r = rs.Open(*lc, segs);
  EXPECT_EQ(r.status, tls::OpenStatus::kControl);
  EXPECT_EQ(r.record_len, 227u);
  EXPECT_FALSE(rs.HasPendingOutput());

  // {client} application_data (client seq 0): our sealing reproduces it byte for byte.
  std::vector<uint8_t> p = Payload50();
  std::vector<uint8_t> rec(rs.overhead() + p.size());
  std::memcpy(rec.data() + rs.header_len(), p.data(), p.size());
  auto wsegs = tls_test::RandomSplit(absl::MakeSpan(rec), pieces, 2);
  ASSERT_TRUE(rs.Seal(*lc, tls::ContentType::kApplicationData, wsegs).ok());
  EXPECT_EQ(ToHex(rec), ToHex(Hex(kClientAppRecord)));

  // {server} application_data (server seq 1).
  std::vector<uint8_t> srv = Hex(kServerAppRecord);
  segs = tls_test::RandomSplit(absl::MakeSpan(srv), pieces, 3);
  r = rs.Open(*lc, segs);
  ASSERT_EQ(r.status, tls::OpenStatus::kData);
  EXPECT_EQ(r.record_len, srv.size());
  EXPECT_EQ(ToHex(absl::MakeSpan(srv).subspan(r.data_offset, r.data_len)), ToHex(p));

  // {client} close_notify (client seq 1).
  rs.Close();
  ASSERT_TRUE(rs.HasPendingOutput());
  uint8_t out[tls::RecordSession::kMaxPendingOutput];
  auto n = rs.SealPendingOutput(*lc, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(ToHex(absl::MakeSpan(out, *n)), ToHex(Hex(kClientAlertRecord)));
  EXPECT_FALSE(rs.Seal(*lc, tls::ContentType::kApplicationData, wsegs).ok());

  // {server} close_notify (server seq 2).
  std::vector<uint8_t> alert = Hex(kServerAlertRecord);
  segs = tls_test::RandomSplit(absl::MakeSpan(alert), pieces, 4);
  r = rs.Open(*lc, segs);
  EXPECT_EQ(r.status, tls::OpenStatus::kCloseNotify);
  EXPECT_FALSE(rs.HasPendingOutput());  // ours was already sent
}

TEST(RecordKat, Rfc8448ClientContiguous) { RunRfc8448Client(1); }
TEST(RecordKat, Rfc8448ClientAcrossSegments) {
  for (size_t pieces : {2, 3, 7, 20}) RunRfc8448Client(pieces);
}

TEST(RecordKat, Rfc8448ServerSide) {
  auto lc = Lc();
  tls::RecordSession rs;
  tls::SessionKeys k = Rfc8448Keys(true);
  k.write.seq = 1;  // the server's seq 0 carried the NewSessionTicket
  ASSERT_TRUE(rs.Init(*lc, k).ok());
  std::vector<uint8_t> in = Hex(kClientAppRecord);
  tls::OpenResult r =
      rs.Open(*lc, tls::Segments(std::vector<absl::Span<uint8_t>>{absl::MakeSpan(in)}));
  ASSERT_EQ(r.status, tls::OpenStatus::kData);
  EXPECT_EQ(ToHex(absl::MakeSpan(in).subspan(r.data_offset, r.data_len)), ToHex(Payload50()));
  std::vector<uint8_t> rec(rs.overhead() + 50);
  auto n = rs.SealCopy(*lc, tls::ContentType::kApplicationData, Payload50(), absl::MakeSpan(rec));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(ToHex(rec), ToHex(Hex(kServerAppRecord)));
}

// TLS 1.2: key block for master = 40..6f, client_random = 80..9f, server_random = c0..df.
TEST(KeySchedule, Tls12KeyBlock) {
  auto lc = Lc();
  std::vector<uint8_t> master(48), cr(32), sr(32);
  for (int i = 0; i < 48; ++i) master[i] = static_cast<uint8_t>(0x40 + i);
  for (int i = 0; i < 32; ++i) cr[i] = static_cast<uint8_t>(0x80 + i);
  for (int i = 0; i < 32; ++i) sr[i] = static_cast<uint8_t>(0xc0 + i);
  struct Case {
    tls::Cipher cipher;
    const char* block;
  } cases[] = {
      {tls::Cipher::kAes128Gcm,
       "9bf3221eb9c5000c7f00aa9c0e16d71274684edb93a3e02da6f47efab572d8a266095cc3cede0579"},
      {tls::Cipher::kAes256Gcm,
       "ba1ada3dd088f97503a4870db1fa286443f457b3b2a27cb4ff077544fdcebcce54eb4ea343cfb85e39c155cd2a"
       "18e21c0395032bd16b6192bb95027cdfae6f8246b54a60a8636b0e"},
      {tls::Cipher::kChaCha20Poly1305,
       "9bf3221eb9c5000c7f00aa9c0e16d71274684edb93a3e02da6f47efab572d8a266095cc3cede05790aebd829c7"
       "dcbaae105dbfa5e4f5fc94f67b1c188e590dc1d659be2874aed19c45c9995ad91398d4ff04a7e4605f2ff3"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(tls::CipherName(c.cipher));
    tls::TrafficKeys cw, sw;
    ASSERT_TRUE(tls::DeriveTls12Keys(*lc, c.cipher, master, cr, sr, cw, sw).ok());
    std::vector<uint8_t> block = Hex(c.block);
    size_t kl = tls::KeyLength(c.cipher);
    size_t ivl = c.cipher == tls::Cipher::kChaCha20Poly1305 ? 12 : 4;
    EXPECT_EQ(ToHex(absl::MakeSpan(cw.key, kl)), ToHex(absl::MakeSpan(block).subspan(0, kl)));
    EXPECT_EQ(ToHex(absl::MakeSpan(sw.key, kl)), ToHex(absl::MakeSpan(block).subspan(kl, kl)));
    EXPECT_EQ(ToHex(absl::MakeSpan(cw.iv, ivl)), ToHex(absl::MakeSpan(block).subspan(2 * kl, ivl)));
    EXPECT_EQ(ToHex(absl::MakeSpan(sw.iv, ivl)),
              ToHex(absl::MakeSpan(block).subspan(2 * kl + ivl, ivl)));
  }
}

// TLS 1.2 records at sequence number 5 with the payload "SSTP over TLS 1.2: known answer test!".
TEST(RecordKat, Tls12Records) {
  auto lc = Lc();
  const std::string text = "SSTP over TLS 1.2: known answer test!";
  std::vector<uint8_t> pt(text.begin(), text.end());
  struct Case {
    tls::Cipher cipher;
    uint8_t key_start;
    const char* iv;
    const char* record;
  } cases[] = {
      {tls::Cipher::kAes128Gcm, 0, "a0a1a2a3",
       "170303003d0000000000000005824dc7ee06b03383f876ba88616eade4e99710c865da182b427e2070f1c3df28"
       "54dcc3dfd70a8904cc6860d753e094dd231780f670"},
      {tls::Cipher::kAes256Gcm, 32, "a0a1a2a3",
       "170303003d000000000000000511746e7e4ca83358760a5552581d309fd980a763cdad82e873b5f25e5002ca6d"
       "45f6827c80e9dd28cde497a861c6ab3a995802e66b"},
      {tls::Cipher::kChaCha20Poly1305, 64, "b0b1b2b3b4b5b6b7b8b9babb",
       "17030300351d36ef38be5c5f0fad8bb949cb22f936d838181662b10242a051a25911046742a2fada063cffbe36"
       "6228680620d6f67e4e8c01ef06"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(tls::CipherName(c.cipher));
    tls::SessionKeys k;
    k.version = tls::Version::kTls12;
    k.cipher = c.cipher;
    for (int i = 0; i < 32; ++i)
      k.write.key[i] = k.read.key[i] = static_cast<uint8_t>(c.key_start + i);
    std::vector<uint8_t> iv = Hex(c.iv);
    Copy(iv, k.write.iv);
    Copy(iv, k.read.iv);
    k.write.seq = k.read.seq = 5;
    tls::RecordSession writer, reader;
    ASSERT_TRUE(writer.Init(*lc, k).ok());
    ASSERT_TRUE(reader.Init(*lc, k).ok());
    for (size_t pieces : {1, 2, 5}) {
      tls::RecordSession w;
      ASSERT_TRUE(w.Init(*lc, k).ok());
      std::vector<uint8_t> rec(w.overhead() + pt.size());
      std::memcpy(rec.data() + w.header_len(), pt.data(), pt.size());
      auto segs = tls_test::RandomSplit(absl::MakeSpan(rec), pieces, 9);
      ASSERT_TRUE(w.Seal(*lc, tls::ContentType::kApplicationData, segs).ok());
      EXPECT_EQ(ToHex(rec), c.record);
      EXPECT_EQ(w.write_seq(), 6u);
    }
    std::vector<uint8_t> rec = Hex(c.record);
    auto segs = tls_test::RandomSplit(absl::MakeSpan(rec), 4, 11);
    tls::OpenResult r = reader.Open(*lc, segs);
    ASSERT_EQ(r.status, tls::OpenStatus::kData);
    EXPECT_EQ(ToHex(absl::MakeSpan(rec).subspan(r.data_offset, r.data_len)), ToHex(pt));
    EXPECT_EQ(reader.read_seq(), 6u);
  }
}

TEST(RecordSession, StateIsSmall) {
  // The per-session budget from the issue: at most 2.5 KiB of TLS state per established session.
  EXPECT_LE(sizeof(tls::RecordSession), 2560u);
  EXPECT_EQ(alignof(tls::RecordSession), 64u);
}

}  // namespace
