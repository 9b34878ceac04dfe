#include "sstp/crypto_binding.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/sstp/test_util.h"

namespace sstp {
namespace {

using ::sstp::testing::Hex;

template <size_t N>
std::array<uint8_t, N> Arr(const std::vector<uint8_t>& v, size_t offset = 0) {
  std::array<uint8_t, N> a{};
  std::copy(v.begin() + offset, v.begin() + offset + N, a.begin());
  return a;
}

// HMAC through OpenSSL's EVP_MAC interface: a different code path from the library's HMAC().
std::vector<uint8_t> ReferenceHmac(const char* digest, const std::vector<uint8_t>& key,
                                   const std::vector<uint8_t>& data) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  std::vector<uint8_t> out(64);
  size_t len = 0;
  EXPECT_EQ(EVP_MAC_init(ctx, key.data(), key.size(), params), 1);
  EXPECT_EQ(EVP_MAC_update(ctx, data.data(), data.size()), 1);
  EXPECT_EQ(EVP_MAC_final(ctx, out.data(), &len, out.size()), 1);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  out.resize(len);
  return out;
}

std::vector<uint8_t> CmkSeed(uint8_t digest_len) {
  const std::string label = "SSTP inner method derived CMK";
  std::vector<uint8_t> s(label.begin(), label.end());
  s.push_back(digest_len);  // 16-bit little endian length
  s.push_back(0x00);
  s.push_back(0x01);
  return s;
}

// ---- MS-SSTP 4.7 ----------------------------------------------------------------------------

TEST(CryptoBinding, Spec47HlakFromMsChapV2KeysBothSides) {
  const auto send = Hex(testing::kSpec47MasterSendKey);
  const auto recv = Hex(testing::kSpec47MasterReceiveKey);
  const Hlak client = ClientHlakFromMppe(send, recv);
  EXPECT_EQ(client, Arr<32>(Hex(std::string(testing::kSpec47MasterSendKey) +
                                testing::kSpec47MasterReceiveKey)));
  // The server's send key is the client's receive key and vice versa; its HLAK is
  // MasterReceiveKey | MasterSendKey, which is the same 32 bytes.
  EXPECT_EQ(ServerHlakFromMppe(/*master_send_key=*/recv, /*master_receive_key=*/send), client);
}

TEST(CryptoBinding, Spec47CompoundMac) {
  const auto& msg = testing::Spec47CallConnected();
  const Hlak hlak =
      ClientHlakFromMppe(Hex(testing::kSpec47MasterSendKey), Hex(testing::kSpec47MasterReceiveKey));
  const HashField cmk = DeriveCmk(kHashProtocolSha256, hlak);
  // CMK cross-checked against an independent HMAC-SHA256 over the spelled-out seed.
  const auto ref_cmk = ReferenceHmac("SHA256", {hlak.begin(), hlak.end()}, CmkSeed(32));
  EXPECT_EQ(std::vector<uint8_t>(cmk.begin(), cmk.end()), ref_cmk);
  EXPECT_EQ(cmk, Arr<32>(Hex("ECF59AC9FE155CF0A9E7D66ADC1B363C1AD7BA91A9217F0CEC2A534298828DF6")));
  const HashField mac = ComputeCompoundMac(kHashProtocolSha256, cmk, msg);
  // The MAC the spec shows at offset 80 of the CALL_CONNECTED.
  EXPECT_EQ(mac, Arr<32>(msg, kCallConnectedMacOffset));
}

TEST(CryptoBinding, Spec47BuildCallConnectedReproducesTheMessage) {
  const auto& msg = testing::Spec47CallConnected();
  const Hlak hlak =
      ClientHlakFromMppe(Hex(testing::kSpec47MasterSendKey), Hex(testing::kSpec47MasterReceiveKey));
  const ControlPacket p =
      BuildCallConnected(kHashProtocolSha256, Arr<32>(msg, kCallConnectedNonceOffset),
                         Arr<32>(msg, kCallConnectedCertHashOffset), hlak);
  EXPECT_EQ(std::vector<uint8_t>(p.span().begin(), p.span().end()), msg);
}

BindingExpectation Spec47Expectation() {
  const auto& msg = testing::Spec47CallConnected();
  BindingExpectation e;
  e.offered_hash_protocols = kHashProtocolSha256;  // as in 4.7's ACK
  e.nonce = Arr<32>(msg, kCallConnectedNonceOffset);
  e.cert_hash_sha256 = Arr<32>(msg, kCallConnectedCertHashOffset);
  return e;
}

CryptoBinding BindingOf(const std::vector<uint8_t>& msg) {
  absl::StatusOr<Packet> p = ParsePacket(msg);
  EXPECT_TRUE(p.ok());
  return *p->message.crypto_binding;
}

TEST(CryptoBinding, Spec47VerifiesAndEveryTamperingFails) {
  const auto& msg = testing::Spec47CallConnected();
  // Server side, with the server's own view of the keys.
  const Hlak server_hlak =
      ServerHlakFromMppe(Hex(testing::kSpec47MasterReceiveKey), Hex(testing::kSpec47MasterSendKey));
  BindingFailure f;
  EXPECT_TRUE(VerifyCallConnected(Spec47Expectation(), BindingOf(msg), msg, server_hlak, &f))
      << f.reason;

  for (size_t offset : {kCallConnectedNonceOffset + 5, kCallConnectedCertHashOffset + 31,
                        kCallConnectedMacOffset, kCallConnectedMacOffset + 31}) {
    std::vector<uint8_t> bad = msg;
    bad[offset] ^= 0x01;
    BindingFailure why;
    EXPECT_FALSE(VerifyCallConnected(Spec47Expectation(), BindingOf(bad), bad, server_hlak, &why))
        << offset;
    EXPECT_EQ(why.status, StatusCode::kValueNotSupported);
    EXPECT_EQ(why.attribute, AttributeId::kCryptoBinding);
    EXPECT_FALSE(why.reason.empty());
  }
  // Wrong HLAK (e.g. zeros: the client did PAP but the server expected MS-CHAPv2 keys).
  BindingFailure why;
  EXPECT_FALSE(VerifyCallConnected(Spec47Expectation(), BindingOf(msg), msg, ZeroHlak(), &why));
  EXPECT_NE(why.reason.find("Compound MAC"), std::string::npos);
  // Hash protocol not offered.
  BindingExpectation sha1_only = Spec47Expectation();
  sha1_only.offered_hash_protocols = kHashProtocolSha1;
  EXPECT_FALSE(VerifyCallConnected(sha1_only, BindingOf(msg), msg, server_hlak, &why));
  EXPECT_NE(why.reason.find("hash protocol"), std::string::npos);
  // Both bits set in the CALL_CONNECTED: not a single protocol.
  std::vector<uint8_t> both = msg;
  both[kCallConnectedHashProtocolOffset] = 3;
  BindingExpectation any = Spec47Expectation();
  any.offered_hash_protocols = 3;
  EXPECT_FALSE(VerifyCallConnected(any, BindingOf(both), both, server_hlak, &why));
}

// ---- SHA1 -----------------------------------------------------------------------------------

TEST(CryptoBinding, Sha1CmkAndMacMatchAnIndependentComputation) {
  Hlak hlak;
  for (size_t i = 0; i < hlak.size(); ++i) hlak[i] = static_cast<uint8_t>(0xA0 + i);
  Nonce nonce;
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(i);
  HashField cert{};
  for (size_t i = 0; i < 20; ++i) cert[i] = static_cast<uint8_t>(0x50 + i);  // 12 zero padding

  const ControlPacket p = BuildCallConnected(kHashProtocolSha1, nonce, cert, hlak);
  // Hand-derived: CMK = HMAC-SHA1(HLAK, label | 0x14 0x00 | 0x01) (20-byte digest, LE length).
  const std::vector<uint8_t> seed = CmkSeed(20);
  EXPECT_EQ(seed.size(), 32u);
  EXPECT_EQ(seed[29], 0x14);
  const auto cmk = ReferenceHmac("SHA1", {hlak.begin(), hlak.end()}, seed);
  ASSERT_EQ(cmk.size(), 20u);
  const HashField lib_cmk = DeriveCmk(kHashProtocolSha1, hlak);
  EXPECT_EQ(std::vector<uint8_t>(lib_cmk.begin(), lib_cmk.begin() + 20), cmk);
  EXPECT_TRUE(std::all_of(lib_cmk.begin() + 20, lib_cmk.end(), [](uint8_t b) { return b == 0; }));
  // MAC = HMAC-SHA1(CMK (20 bytes), the 112 bytes with the MAC field zeroed).
  std::vector<uint8_t> zeroed(p.span().begin(), p.span().end());
  std::fill(zeroed.begin() + kCallConnectedMacOffset, zeroed.end(), 0);
  const auto mac = ReferenceHmac("SHA1", cmk, zeroed);
  EXPECT_EQ(std::vector<uint8_t>(p.bytes.begin() + 80, p.bytes.begin() + 100), mac);
  // Padding after the 20-byte MAC and cert hash stays zero.
  for (size_t i = 100; i < 112; ++i) EXPECT_EQ(p.bytes[i], 0) << i;
  for (size_t i = 68; i < 80; ++i) EXPECT_EQ(p.bytes[i], 0) << i;
  EXPECT_EQ(p.bytes[kCallConnectedHashProtocolOffset], kHashProtocolSha1);

  BindingExpectation e;
  e.nonce = nonce;
  e.cert_hash_sha1 = cert;
  BindingFailure f;
  EXPECT_TRUE(
      VerifyCallConnected(e, BindingOf({p.span().begin(), p.span().end()}), p.span(), hlak, &f))
      << f.reason;
}

TEST(CryptoBinding, Sha1PublicVector) {
  // An SHA1 CALL_CONNECTED from a public SSTP implementation's tests; agrees with this library and
  // the independent computation above.
  const auto msg = Hex(
      "10 01 00 70 00 04 00 01 00 03 00 68 00 00 00 01 0F 1A 2D 58 D4 A3 E3 00 0F AD 3C E4 90 6E "
      "07 B7 07 AA 9E 44 1C CE AC 5C BD 7B 2C C1 C9 D8 6C DF 58 26 B6 29 BD A5 9B 8E 6F D8 DC D2 "
      "62 2F D3 4C 53 48 05 A5 00 00 00 00 00 00 00 00 00 00 00 00 69 91 5D D5 83 D8 06 2F EF 16 "
      "F6 1D B2 F0 32 90 EC 27 CB 6C 00 00 00 00 00 00 00 00 00 00 00 00");
  const Hlak hlak =
      Arr<32>(Hex("4B 31 28 F4 39 25 D9 00 6E EF B1 C4 E8 65 15 A1 D8 8E 56 BA B3 "
                  "CA 2B DF 03 73 B7 F5 A8 A1 3B 19"));
  const HashField mac =
      ComputeCompoundMac(kHashProtocolSha1, DeriveCmk(kHashProtocolSha1, hlak), msg);
  EXPECT_EQ(mac, Arr<32>(msg, kCallConnectedMacOffset));
  const auto cmk = ReferenceHmac("SHA1", {hlak.begin(), hlak.end()}, CmkSeed(20));
  std::vector<uint8_t> zeroed = msg;
  std::fill(zeroed.begin() + kCallConnectedMacOffset, zeroed.end(), 0);
  EXPECT_EQ(ReferenceHmac("SHA1", cmk, zeroed),
            std::vector<uint8_t>(msg.begin() + 80, msg.begin() + 100));
}

TEST(CryptoBinding, ZeroHlakForPapAndChap) {
  EXPECT_EQ(ZeroHlak(), Hlak{});
  Nonce nonce{};
  nonce[0] = 1;
  HashField cert{};
  cert[0] = 2;
  const ControlPacket p = BuildCallConnected(kHashProtocolSha256, nonce, cert, ZeroHlak());
  const auto cmk = ReferenceHmac("SHA256", std::vector<uint8_t>(32, 0), CmkSeed(32));
  std::vector<uint8_t> zeroed(p.span().begin(), p.span().end());
  std::fill(zeroed.begin() + kCallConnectedMacOffset, zeroed.end(), 0);
  EXPECT_EQ(ReferenceHmac("SHA256", cmk, zeroed),
            std::vector<uint8_t>(p.bytes.begin() + 80, p.bytes.begin() + 112));
}

// ---- certificate hash and protocol choice ---------------------------------------------------

TEST(CryptoBinding, CertificateHashFips180Vectors) {
  const std::vector<uint8_t> abc = {'a', 'b', 'c'};
  absl::StatusOr<HashField> sha1 = CertificateHash(kHashProtocolSha1, abc);
  ASSERT_TRUE(sha1.ok());
  HashField want1 = Arr<32>(Hex("A9993E364706816ABA3E25717850C26C9CD0D89D" + std::string(24, '0')));
  EXPECT_EQ(*sha1, want1);  // SHA1 padded with zeros to 32 bytes
  absl::StatusOr<HashField> sha256 = CertificateHash(kHashProtocolSha256, abc);
  ASSERT_TRUE(sha256.ok());
  EXPECT_EQ(*sha256,
            Arr<32>(Hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")));
  EXPECT_FALSE(CertificateHash(3, abc).ok());
  EXPECT_FALSE(CertificateHash(kHashProtocolSha1, {}).ok());
}

TEST(CryptoBinding, ChooseHashProtocolPrefersSha256) {
  EXPECT_EQ(ChooseHashProtocol(kHashProtocolSha1 | kHashProtocolSha256), kHashProtocolSha256);
  EXPECT_EQ(ChooseHashProtocol(kHashProtocolSha1), kHashProtocolSha1);
  EXPECT_EQ(ChooseHashProtocol(0), 0);
  EXPECT_EQ(ChooseHashProtocol(0xFC), 0);
  EXPECT_EQ(DigestSize(kHashProtocolSha1), 20u);
  EXPECT_EQ(DigestSize(kHashProtocolSha256), 32u);
}

}  // namespace
}  // namespace sstp
