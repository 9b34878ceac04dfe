// MS-CHAPv2 (RFC 2759 section 9) and MS-CHAPv1 (RFC 2433 appendix B) test vectors, and the
// crypto primitives under them.
#include "ppp/mschap.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "ppp/ppp_crypto.h"
#include "tests/ppp/auth_test_util.h"

namespace ppp {
namespace {

using testing::Hex;
using testing::HexArray;
using testing::ToHex;

TEST(PppCrypto, ProvidersLoadIntoPrivateContext) {
  ASSERT_TRUE(PppCryptoStatus().ok()) << PppCryptoStatus();
}

TEST(PppCrypto, DigestsOfKnownInputs) {
  const std::string abc = "abc";
  absl::Span<const uint8_t> in(reinterpret_cast<const uint8_t*>(abc.data()), abc.size());
  // RFC 1320 (MD4), RFC 1321 (MD5) and FIPS 180 (SHA-1) test suites: "abc".
  EXPECT_EQ(ToHex(*Md4({in})), "A448017AAF21D8525FC10AE87AA6729D");
  EXPECT_EQ(ToHex(*Md5({in})), "900150983CD24FB0D6963F7D28E17F72");
  EXPECT_EQ(ToHex(*Sha1({in})), "A9993E364706816ABA3E25717850C26C9CD0D89D");
  // Parts are hashed as one concatenated input.
  EXPECT_EQ(*Sha1({in.subspan(0, 1), in.subspan(1)}), *Sha1({in}));
}

TEST(PppCrypto, DesKeyExpansionRfc2759Section9_3) {
  // RFC 2759 section 9.3: 56-bit keys and their 64-bit forms with parity.
  EXPECT_EQ(ToHex(ExpandDesKey(HexArray<7>("FC 15 6A F7 ED CD 6C"))), "FD0B5B5E7F6E34D9");
  EXPECT_EQ(ToHex(ExpandDesKey(HexArray<7>("0E DD E3 33 7D 42 7F"))), "0E6E796737EA08FE");
}

TEST(PppCrypto, Utf8ToUtf16Le) {
  absl::StatusOr<std::vector<uint8_t>> u = Utf8ToUtf16Le("p\xC3\xA4sswörd€😀");
  ASSERT_TRUE(u.ok());
  // U+1F600 becomes the surrogate pair D83D DE00.
  EXPECT_EQ(ToHex(*u), "7000E400730073007700F60072006400AC203DD800DE");
  EXPECT_FALSE(Utf8ToUtf16Le("\xC0\x80").ok());          // overlong NUL
  EXPECT_FALSE(Utf8ToUtf16Le("\x80").ok());              // lone continuation byte
  EXPECT_FALSE(Utf8ToUtf16Le("\xE2\x82").ok());          // truncated
  EXPECT_FALSE(Utf8ToUtf16Le("\xED\xA0\x80").ok());      // UTF-16 surrogate encoded in UTF-8
  EXPECT_FALSE(Utf8ToUtf16Le("\xF4\x90\x80\x80").ok());  // above U+10FFFF
  EXPECT_TRUE(Utf8ToUtf16Le("").ok());
}

// RFC 2759 section 9.2, every intermediate value.
class Rfc2759Vectors : public ::testing::Test {
 protected:
  const std::string user = "User";
  const std::string password = "clientPass";
  const std::array<uint8_t, 16> auth_challenge =
      HexArray<16>("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28");
  const std::array<uint8_t, 16> peer_challenge =
      HexArray<16>("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E");
};

TEST_F(Rfc2759Vectors, UnicodePassword) {
  EXPECT_EQ(ToHex(*Utf8ToUtf16Le(password)), "63006C00690065006E0074005000610073007300");
}

TEST_F(Rfc2759Vectors, ChallengeHash) {
  absl::StatusOr<MsChapChallenge8> c = ChallengeHash(peer_challenge, auth_challenge, user);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(ToHex(*c), "D02E4386BCE91226");
  // The domain part is not hashed (RFC 2759 section 8.2).
  EXPECT_EQ(*ChallengeHash(peer_challenge, auth_challenge, "EXAMPLE\\User"), *c);
}

TEST_F(Rfc2759Vectors, PasswordHashAndHashHash) {
  absl::StatusOr<NtHash> h = NtPasswordHash(password);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(ToHex(*h), "44EBBA8D5312B8D611474411F56989AE");
  EXPECT_EQ(ToHex(*HashNtPasswordHash(*h)), "41C00C584BD2D91C4017A2A12FA59F3F");
}

TEST_F(Rfc2759Vectors, ChallengeResponseAndNtResponse) {
  MsChapChallenge8 challenge = HexArray<8>("D0 2E 43 86 BC E9 12 26");
  NtHash hash = HexArray<16>("44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE");
  EXPECT_EQ(ToHex(*ChallengeResponse(challenge, hash)),
            "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF");
  absl::StatusOr<MsChapResponse24> nt =
      GenerateNTResponse(auth_challenge, peer_challenge, user, password);
  ASSERT_TRUE(nt.ok()) << nt.status();
  EXPECT_EQ(ToHex(*nt), "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF");
}

TEST_F(Rfc2759Vectors, AuthenticatorResponse) {
  MsChapResponse24 nt = HexArray<24>("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF");
  absl::StatusOr<std::string> s =
      GenerateAuthenticatorResponse(password, nt, peer_challenge, auth_challenge, user);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, "S=407A5589115FD0D6209F510FE9C04566932CDA56");
  EXPECT_TRUE(*CheckAuthenticatorResponse(password, nt, peer_challenge, auth_challenge, user,
                                          "S=407A5589115FD0D6209F510FE9C04566932CDA56"));
  EXPECT_TRUE(*CheckAuthenticatorResponse(password, nt, peer_challenge, auth_challenge, user,
                                          "S=407a5589115fd0d6209f510fe9c04566932cda56"));
  EXPECT_FALSE(*CheckAuthenticatorResponse(password, nt, peer_challenge, auth_challenge, user,
                                           "S=407A5589115FD0D6209F510FE9C04566932CDA57"));
  EXPECT_FALSE(*CheckAuthenticatorResponse(password, nt, peer_challenge, auth_challenge, user,
                                           "S=407A5589115FD0D6209F510FE9C04566932CDA5"));
  EXPECT_FALSE(
      *CheckAuthenticatorResponse("clientPasS", nt, peer_challenge, auth_challenge, user, *s));
}

TEST(MsChap, NonAsciiPasswordHashesAsUtf16) {
  // MD4 of the UTF-16LE bytes, computed outside this code (python encode + openssl dgst -md4).
  absl::StatusOr<NtHash> h = NtPasswordHash("p\xC3\xA4sswörd€😀");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(ToHex(*h), "343B5F56098BEF0DE4739D82D102F3CA");
  EXPECT_FALSE(NtPasswordHash("\xFF").ok());
}

TEST(MsChap, PasswordLengthLimit) {
  EXPECT_TRUE(NtPasswordHash(std::string(256, 'a')).ok());
  absl::StatusOr<NtHash> h = NtPasswordHash(std::string(257, 'a'));
  EXPECT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("256"), std::string_view::npos);
}

// RFC 2433 appendix B.2: "MyPw" with the challenge 10 2D B5 DF 08 5D 30 41.
TEST(Rfc2433Vectors, NtAndLmResponses) {
  MsChapChallenge8 challenge = HexArray<8>("10 2D B5 DF 08 5D 30 41");
  EXPECT_EQ(ToHex(*Utf8ToUtf16Le("MyPw")), "4D00790050007700");
  EXPECT_EQ(ToHex(*NtPasswordHash("MyPw")), "FC156AF7EDCD6C0EDDE3337D427F4EAC");
  EXPECT_EQ(ToHex(*NtChallengeResponse(challenge, "MyPw")),
            "4E9D3C8F9CFD385D5BF4D3246791956CA4C351AB409A3D61");
  EXPECT_EQ(ToHex(*LmPasswordHash("MyPw")), "75BA30198E6D1975AAD3B435B51404EE");
  EXPECT_EQ(ToHex(*LmChallengeResponse(challenge, "MyPw")),
            "91881D0152AB0C33C524135EC24A95EE64E23CDC2D33347D");
}

TEST(MsChap, ResponseValues) {
  MsChapV2ResponseValue v2;
  v2.peer_challenge = HexArray<16>("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E");
  v2.nt_response = HexArray<24>("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF");
  std::array<uint8_t, 49> enc = EncodeMsChapV2ResponseValue(v2);
  absl::StatusOr<MsChapV2ResponseValue> back = ParseMsChapV2ResponseValue(enc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->peer_challenge, v2.peer_challenge);
  EXPECT_EQ(back->nt_response, v2.nt_response);
  enc[20] = 1;  // Reserved must be zero.
  EXPECT_FALSE(ParseMsChapV2ResponseValue(enc).ok());
  EXPECT_FALSE(ParseMsChapV2ResponseValue(absl::MakeSpan(enc).subspan(0, 48)).ok());

  MsChapV1ResponseValue v1;
  v1.nt_response = v2.nt_response;
  std::array<uint8_t, 49> enc1 = EncodeMsChapV1ResponseValue(v1);
  EXPECT_EQ(enc1[48], 1);                              // "use NT"
  for (int i = 0; i < 24; ++i) EXPECT_EQ(enc1[i], 0);  // no LAN Manager response
  EXPECT_EQ(ParseMsChapV1ResponseValue(enc1)->nt_response, v1.nt_response);
}

TEST(MsChap, FailureMessageRoundTrip) {
  MsChapFailure f;
  f.error = 691;
  f.challenge = Hex("5B5D7C7D7B3F2F3E3C2C602132262628");
  f.version = 3;
  f.message = "Authentication failed, try again";
  std::string text = FormatMsChapFailure(f);
  EXPECT_EQ(text,
            "E=691 R=0 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Authentication failed, "
            "try again");
  absl::StatusOr<MsChapFailure> back = ParseMsChapFailure(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->error, 691);
  EXPECT_FALSE(back->retry);
  EXPECT_EQ(back->challenge, f.challenge);
  EXPECT_EQ(back->version, 3);
  EXPECT_EQ(back->message, f.message);
  // MS-CHAPv1 style, no M=.
  absl::StatusOr<MsChapFailure> v1 = ParseMsChapFailure("E=647 R=1 C=102DB5DF085D3041 V=0");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->error, 647);
  EXPECT_TRUE(v1->retry);
  EXPECT_FALSE(ParseMsChapFailure("R=0 V=3").ok());
  EXPECT_FALSE(ParseMsChapFailure("E=abc").ok());
  EXPECT_FALSE(ParseMsChapFailure("E=691 C=12345").ok());
  EXPECT_FALSE(ParseMsChapFailure("garbage").ok());
}

TEST(MsChap, SuccessMessage) {
  std::string text = FormatMsChapV2Success("S=407A5589115FD0D6209F510FE9C04566932CDA56", "Welcome");
  EXPECT_EQ(text, "S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome");
  absl::StatusOr<MsChapV2Success> s = ParseMsChapV2Success(text);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->authenticator_response, "S=407A5589115FD0D6209F510FE9C04566932CDA56");
  EXPECT_EQ(s->message, "Welcome");
  EXPECT_TRUE(ParseMsChapV2Success("S=407A5589115FD0D6209F510FE9C04566932CDA56").ok());
  EXPECT_FALSE(ParseMsChapV2Success("S=407A5589115FD0D6209F510FE9C04566932CDA5").ok());
  EXPECT_FALSE(ParseMsChapV2Success("S=407A5589115FD0D6209F510FE9C04566932CDA5X").ok());
  EXPECT_FALSE(ParseMsChapV2Success("S=407A5589115FD0D6209F510FE9C04566932CDA567").ok());
  EXPECT_FALSE(ParseMsChapV2Success("M=hello").ok());
}

}  // namespace
}  // namespace ppp

namespace ppp {
namespace {

// The private OpenSSL context and fetched algorithms are shared by every thread (the control
// plane may run engines on several): concurrent use gives the same answers.
TEST(PppCrypto, ConcurrentUseFromThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&wrong] {
      const std::array<uint8_t, 16> auth = HexArray<16>("5B5D7C7D7B3F2F3E3C2C602132262628");
      const std::array<uint8_t, 16> peer = HexArray<16>("21402324255E262A28295F2B3A337C7E");
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<MsChapResponse24> nt = GenerateNTResponse(auth, peer, "User", "clientPass");
        if (!nt.ok() || ToHex(*nt) != "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF") ++wrong;
        std::array<uint8_t, 16> r{};
        if (!FillRandom(absl::MakeSpan(r)).ok()) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace ppp

namespace ppp {
namespace {

// Without OpenSSL's legacy provider (no MD4, no DES) every MS-CHAP call fails with a message that
// names it. Runs in a fresh process (threadsafe death test) so the context is created there.
TEST(PppCryptoDeathTest, MissingLegacyProviderIsAClearError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("OPENSSL_MODULES", "/nonexistent-ossl-modules", 1);
        absl::Status s = PppCryptoStatus();
        absl::StatusOr<NtHash> h = NtPasswordHash("x");
        std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
        bool clear = !s.ok() && !h.ok() && h.status() == s &&
                     s.message().find("legacy provider") != absl::string_view::npos;
        std::exit(clear ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "legacy provider");
}

}  // namespace
}  // namespace ppp
