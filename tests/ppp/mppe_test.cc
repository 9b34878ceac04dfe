// RFC 3079 MPPE key derivation vectors: section 3.5 (MS-CHAPv2) and section 2.5 (MS-CHAPv1).
#include "ppp/mppe.h"

#include <string>

#include "gtest/gtest.h"
#include "ppp/mschap.h"
#include "ppp/ppp_crypto.h"
#include "tests/ppp/auth_test_util.h"

namespace ppp {
namespace {

using testing::Hex;
using testing::HexArray;
using testing::ToHex;

const std::string kMessage = "test message";
absl::Span<const uint8_t> MessageBytes() {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(kMessage.data()),
                                   kMessage.size());
}

// RFC 3079 section 3.5: "User" / "clientPass" with RFC 2759's challenges.
class Rfc3079Section3_5 : public ::testing::Test {
 protected:
  const MsChapResponse24 nt_response =
      HexArray<24>("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF");
  const NtHash password_hash_hash = HexArray<16>("41C00C584BD2D91C4017A2A12FA59F3F");
  const std::array<uint8_t, 16> master_key = HexArray<16>("FDECE3717A8C838CB388E527AE3CDD31");
};

TEST_F(Rfc3079Section3_5, MasterKey) {
  absl::StatusOr<std::array<uint8_t, 16>> mk = GetMasterKey(password_hash_hash, nt_response);
  ASSERT_TRUE(mk.ok()) << mk.status();
  EXPECT_EQ(ToHex(*mk), "FDECE3717A8C838CB388E527AE3CDD31");
}

TEST_F(Rfc3079Section3_5, Sample40BitKeys) {  // 3.5.1
  absl::StatusOr<std::vector<uint8_t>> start = GetAsymmetricStartKey(master_key, 8, true, true);
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(ToHex(*start), "8B7CDC149B993A1B");
  absl::StatusOr<std::vector<uint8_t>> session = MppeInitialSessionKey(*start, 40);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(ToHex(*session), "D1269EC49FA62E3E");
  EXPECT_EQ(ToHex(*Rc4(*session, MessageBytes())), "929137917E5803D668D75898");
}

TEST_F(Rfc3079Section3_5, Sample56BitKeys) {  // 3.5.2
  absl::StatusOr<std::vector<uint8_t>> start = GetAsymmetricStartKey(master_key, 8, true, true);
  ASSERT_TRUE(start.ok());
  absl::StatusOr<std::vector<uint8_t>> session = MppeInitialSessionKey(*start, 56);
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(ToHex(*session), "D15C00C49FA62E3E");
  // The RFC prints the encrypted sample as ...BC 57 58; RC4 under this key gives ...BC 57 B8
  // (a known typo in the RFC's last octet: every independent RC4 agrees on B8).
  EXPECT_EQ(ToHex(*Rc4(*session, MessageBytes())), "3F106833FA448DA842BC57B8");
}

TEST_F(Rfc3079Section3_5, Sample128BitKeys) {  // 3.5.3
  absl::StatusOr<std::vector<uint8_t>> start = GetAsymmetricStartKey(master_key, 16, true, true);
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(ToHex(*start), "8B7CDC149B993A1BA118CB153F56DCCB");
  absl::StatusOr<std::vector<uint8_t>> session = MppeInitialSessionKey(*start, 128);
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(ToHex(*session), "405CB2247A7956E6E211007AE27B22D4");
  EXPECT_EQ(ToHex(*Rc4(*session, MessageBytes())), "81848317DF68846272FB5ABE");
}

TEST_F(Rfc3079Section3_5, MasterKeysPerRole) {
  // The RFC's send key is the server's; the client receives with it, and the client's send key
  // is the server's receive key.
  absl::StatusOr<MppeKeys> server = MsChapV2MppeKeys("clientPass", nt_response, true);
  absl::StatusOr<MppeKeys> client = MsChapV2MppeKeys("clientPass", nt_response, false);
  ASSERT_TRUE(server.ok() && client.ok());
  EXPECT_EQ(ToHex(server->send), "8B7CDC149B993A1BA118CB153F56DCCB");
  EXPECT_EQ(client->receive, server->send);
  EXPECT_EQ(client->send, server->receive);
  EXPECT_NE(server->send, server->receive);
  EXPECT_EQ(ToHex(server->receive), "D5F0E9521E3EA9589645E86051C82226");
}

TEST(Mppe, BadKeyLengths) {
  std::array<uint8_t, 16> mk{};
  EXPECT_FALSE(GetAsymmetricStartKey(mk, 12, true, true).ok());
  EXPECT_FALSE(GetNewKeyFromSHA(Hex("0102"), Hex("0102"), 8).ok());
  EXPECT_FALSE(MppeInitialSessionKey(Hex("0102030405060708"), 64).ok());
}

// RFC 3079 section 2.5: MS-CHAPv1 with "clientPass" and the challenge 10 2D B5 DF 08 5D 30 41.
TEST(Rfc3079Section2_5, MsChapV1Keys) {
  MsChapChallenge8 challenge = HexArray<8>("10 2D B5 DF 08 5D 30 41");
  absl::StatusOr<NtHash> hash = NtPasswordHash("clientPass");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(ToHex(*hash), "44EBBA8D5312B8D611474411F56989AE");
  absl::StatusOr<NtHash> hash_hash = HashNtPasswordHash(*hash);
  EXPECT_EQ(ToHex(*hash_hash), "41C00C584BD2D91C4017A2A12FA59F3F");
  // 2.5.1 starts from the LAN Manager hash of the password.
  EXPECT_EQ(ToHex(*LmPasswordHash("clientPass")), "76A152936096D7830E2390227404AFD2");
  // 2.5.3, 128-bit: the start key (the RFC's step 3 misprints one octet as CA; its step 4 and
  // the session key that follows agree on C1) and the initial session key.
  absl::StatusOr<std::array<uint8_t, 16>> start = MsChapV1StartKey(challenge, *hash_hash);
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(ToHex(*start), "A8947850CFC0ACC1D1789FB62DDCDDB0");
  EXPECT_EQ(ToHex(*MppeInitialSessionKey(*start, 128)), "59D159BC09F76F1DA2A86A28FFEC0B1E");
  absl::StatusOr<MppeKeys> keys = MsChapV1MppeKeys("clientPass", challenge);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->send, *start);
  EXPECT_EQ(keys->receive, *start);  // MS-CHAPv1 uses one key both ways.
}

}  // namespace
}  // namespace ppp
