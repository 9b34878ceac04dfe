// CHAP (RFC 1994) with MD5, MS-CHAPv1 (RFC 2433) and MS-CHAPv2 (RFC 2759): packet codec, and peer
// against authenticator with scripted time, for every algorithm.
#include <regex>
#include <string>

#include "gtest/gtest.h"
#include "ppp/auth.h"
#include "ppp/chap.h"
#include "ppp/mppe.h"
#include "ppp/mschap.h"
#include "tests/ppp/auth_test_harness.h"
#include "tests/ppp/auth_test_util.h"

namespace ppp {
namespace {

using testing::Dir;
using testing::Harness;
using testing::Hex;
using testing::HexArray;
using testing::ScriptedRandom;
using testing::ToHex;
using testing::UserTable;

TEST(ChapPacket, ChallengeRoundTrip) {
  std::vector<uint8_t> value = Hex("0102030405060708");
  std::vector<uint8_t> p = EncodeChapChallengeOrResponse(ChapCode::kChallenge, 0x42, value, "srv");
  EXPECT_EQ(p, Hex("01 42 0010 08 0102030405060708 737276"));
  absl::StatusOr<ChapPacket> c = ParseChapPacket(p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->code, ChapCode::kChallenge);
  EXPECT_EQ(c->identifier, 0x42);
  EXPECT_EQ(c->value, value);
  EXPECT_EQ(c->name, "srv");
  std::vector<uint8_t> s = EncodeChapResult(ChapCode::kSuccess, 0x42, "ok");
  EXPECT_EQ(s, Hex("03 42 0006 6F6B"));
  EXPECT_EQ(ParseChapPacket(s)->message, "ok");
  EXPECT_EQ(ParseChapPacket(Hex("04 01 0004"))->message, "");
}

TEST(ChapPacket, StrictLengths) {
  const char* bad[] = {
      "01 01",               // short header
      "01 01 0002",          // Length below 4
      "02 01 0009 04 0102",  // Length beyond the data
      "01 01 0004",          // no Value-Size
      "01 01 0005 00",       // Value-Size 0
      "02 01 0007 04 0102",  // Value beyond Length
      "05 01 0004",          // unknown Code
      "00 01 0004",          // unknown Code
  };
  for (const char* hex : bad) {
    absl::StatusOr<ChapPacket> r = ParseChapPacket(Hex(hex));
    EXPECT_FALSE(r.ok()) << hex;
  }
  // Padding after Length is ignored.
  absl::StatusOr<ChapPacket> padded = ParseChapPacket(Hex("02 01 0006 01 AA 00 00"));
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(padded->name, "");
}

TEST(ChapMd5, ComputedExample) {
  // RFC 1994 section 4.1: MD5 over Identifier || secret || Challenge. Identifier 1, secret
  // "sepp", Challenge 10 2D B5 DF 08 5D 30 41; the digest computed independently (Python
  // hashlib.md5).
  absl::StatusOr<Md5Digest> d = ChapMd5Response(1, "sepp", Hex("102DB5DF085D3041"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(ToHex(*d), "D39BFAF5D6855A948C8C81A85947502C");
}

struct MethodCase {
  AuthMethod method;
  size_t challenge_size;
  bool has_keys;
};

class ChapSession : public ::testing::TestWithParam<MethodCase> {
 protected:
  AuthMethod method() const { return GetParam().method; }

  void Make(std::string user, std::string password, int max_transmissions = 4) {
    users.passwords["bob"] = "s3cret";
    users.passwords["EXAMPLE\\bob"] = "s3cret";
    users.passwords["jürgen"] = "pässwörd€😀";
    users.disabled["carol"] = true;
    AuthenticatorConfig ac;
    ac.name = "sstp-server";
    ac.lookup = users.Lookup();
    ac.random = auth_random.Source();
    ac.restart_timer = absl::Seconds(3);
    ac.max_transmissions = max_transmissions;
    ac.success_message = "Welcome";
    ac.failure_message = "Go away";
    auto a = MakeAuthenticator(method(), ac);
    ASSERT_TRUE(a.ok()) << a.status();
    h.auth = *std::move(a);
    PeerConfig pc;
    pc.user = user;
    pc.password = password;
    pc.random = peer_random.Source();
    pc.restart_timer = absl::Seconds(3);
    pc.max_transmissions = max_transmissions;
    auto p = MakePeer(method(), pc);
    ASSERT_TRUE(p.ok()) << p.status();
    h.peer = *std::move(p);
    EXPECT_EQ(h.auth->protocol(), kProtocolChap);
    EXPECT_EQ(h.peer->protocol(), kProtocolChap);
  }

  void ExpectSuccess(std::string_view user) {
    ASSERT_NE(h.auth->result(), nullptr);
    ASSERT_NE(h.peer->result(), nullptr);
    const AuthResult& a = *h.auth->result();
    const AuthResult& p = *h.peer->result();
    EXPECT_TRUE(a.success) << a.message;
    EXPECT_TRUE(p.success) << p.message;
    EXPECT_EQ(a.user, user);
    EXPECT_EQ(a.method, method());
    EXPECT_EQ(a.role, AuthRole::kAuthenticator);
    EXPECT_EQ(p.role, AuthRole::kPeer);
    EXPECT_EQ(a.failure, AuthFailure::kNone);
    if (GetParam().has_keys) {
      ASSERT_TRUE(a.mppe.has_value());
      ASSERT_TRUE(p.mppe.has_value());
      // What one side sends with, the other receives with: the SSTP HLAK matches on both ends.
      EXPECT_EQ(a.mppe->send, p.mppe->receive);
      EXPECT_EQ(a.mppe->receive, p.mppe->send);
    } else {
      EXPECT_FALSE(a.mppe.has_value());
      EXPECT_FALSE(p.mppe.has_value());
    }
  }

  UserTable users;
  ScriptedRandom auth_random{0x11};
  ScriptedRandom peer_random{0xA0};
  Harness h;
};

TEST_P(ChapSession, Success) {
  Make("bob", "s3cret");
  h.Run();
  ExpectSuccess("bob");
  ASSERT_EQ(h.to_peer.size(), 2u);  // Challenge, Success
  ASSERT_EQ(h.to_auth.size(), 1u);  // Response
  absl::StatusOr<ChapPacket> challenge = ParseChapPacket(h.to_peer[0]);
  ASSERT_TRUE(challenge.ok());
  EXPECT_EQ(challenge->code, ChapCode::kChallenge);
  EXPECT_EQ(challenge->value.size(), GetParam().challenge_size);
  EXPECT_EQ(challenge->name, "sstp-server");
  absl::StatusOr<ChapPacket> response = ParseChapPacket(h.to_auth[0]);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->identifier, challenge->identifier);
  EXPECT_EQ(response->name, "bob");
  absl::StatusOr<ChapPacket> success = ParseChapPacket(h.to_peer[1]);
  ASSERT_TRUE(success.ok());
  EXPECT_EQ(success->code, ChapCode::kSuccess);
  EXPECT_EQ(success->identifier, challenge->identifier);
  if (method() == AuthMethod::kMsChapV2) {
    EXPECT_TRUE(std::regex_match(success->message, std::regex("S=[0-9A-F]{40} M=Welcome")))
        << success->message;
  } else {
    EXPECT_EQ(success->message, "Welcome");
  }
  EXPECT_FALSE(h.auth->NextDeadline().has_value());
  EXPECT_FALSE(h.peer->NextDeadline().has_value());
  EXPECT_TRUE(h.auth_errors.empty());
  EXPECT_TRUE(h.peer_errors.empty());
}

TEST_P(ChapSession, WrongPassword) {
  Make("bob", "S3cret");
  h.Run();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_FALSE(h.auth->result()->success);
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kWrongPassword);
  EXPECT_NE(h.auth->result()->message.find("wrong password"), std::string::npos);
  EXPECT_FALSE(h.auth->result()->mppe.has_value());
  EXPECT_FALSE(h.peer->result()->success);
  EXPECT_EQ(h.peer->result()->failure, AuthFailure::kRejected);
  absl::StatusOr<ChapPacket> failure = ParseChapPacket(h.to_peer.back());
  ASSERT_TRUE(failure.ok());
  EXPECT_EQ(failure->code, ChapCode::kFailure);
  switch (method()) {
    case AuthMethod::kMsChapV2:
      EXPECT_TRUE(
          std::regex_match(failure->message, std::regex("E=691 R=0 C=[0-9A-F]{32} V=3 M=Go away")))
          << failure->message;
      EXPECT_NE(h.peer->result()->message.find("E=691"), std::string::npos);
      break;
    case AuthMethod::kMsChapV1:
      EXPECT_TRUE(std::regex_match(failure->message, std::regex("E=691 R=0 C=[0-9A-F]{16} V=0")))
          << failure->message;
      break;
    default:
      EXPECT_EQ(failure->message, "Go away");
  }
}

TEST_P(ChapSession, UnknownUser) {
  Make("mallory", "s3cret");
  h.Run();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kNoSuchUser);
  EXPECT_EQ(h.auth->result()->user, "mallory");
  EXPECT_EQ(h.peer->result()->failure, AuthFailure::kRejected);
}

TEST_P(ChapSession, DisabledUser) {
  Make("carol", "x");
  h.Run();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kDisabled);
  if (method() != AuthMethod::kChapMd5) {
    // MS-CHAP tells the client why (E=647 ERROR_ACCT_DISABLED).
    EXPECT_EQ(h.peer->result()->failure, AuthFailure::kDisabled);
  }
}

TEST_P(ChapSession, NonAsciiUtf8Password) {
  Make("jürgen", "pässwörd€😀");
  h.Run();
  ExpectSuccess("jürgen");
}

TEST_P(ChapSession, NonAsciiPasswordMismatchFails) {
  Make("jürgen", "passwörd€😀");
  h.Run();
  ASSERT_TRUE(h.auth->result());
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kWrongPassword);
}

TEST_P(ChapSession, DomainUserName) {
  Make("EXAMPLE\\bob", "s3cret");
  h.Run();
  ExpectSuccess("EXAMPLE\\bob");
}

TEST_P(ChapSession, LostChallengeIsRetransmitted) {
  Make("bob", "s3cret");
  h.wire = [](Dir d, int i, std::vector<uint8_t>&) { return d == Dir::kToPeer && i < 2; };
  absl::Time start = h.now;
  h.Run();
  ExpectSuccess("bob");
  ASSERT_EQ(h.to_peer.size(), 4u);  // 3 Challenges, Success
  EXPECT_EQ(h.to_peer[0], h.to_peer[1]);
  EXPECT_EQ(h.to_peer[1], h.to_peer[2]);
  EXPECT_EQ(h.now - start, absl::Seconds(6));
}

TEST_P(ChapSession, LostResponseIsAnsweredAgainForTheRepeatedChallenge) {
  Make("bob", "s3cret");
  h.wire = [](Dir d, int i, std::vector<uint8_t>&) { return d == Dir::kToAuthenticator && i == 0; };
  h.Run();
  ExpectSuccess("bob");
  ASSERT_GE(h.to_auth.size(), 2u);
  EXPECT_EQ(h.to_auth[0], h.to_auth[1]);  // the same Response (MS-CHAPv2: same Peer-Challenge)
  EXPECT_EQ(users.lookups.size(), 1u);
}

TEST_P(ChapSession, LostSuccessIsRecoveredByTheRepeatedResponse) {
  Make("bob", "s3cret");
  h.wire = [](Dir d, int i, std::vector<uint8_t>& p) {
    return d == Dir::kToPeer && p[0] == static_cast<uint8_t>(ChapCode::kSuccess) && i == 1;
  };
  h.Run();
  ExpectSuccess("bob");
  ASSERT_EQ(h.to_peer.size(), 3u);  // Challenge, Success (lost), Success again
  EXPECT_EQ(h.to_peer[1], h.to_peer[2]);
  EXPECT_EQ(users.lookups.size(), 1u);
}

TEST_P(ChapSession, AuthenticatorTimesOutAfterMaxChallenges) {
  Make("bob", "s3cret", /*max_transmissions=*/5);
  h.wire = [](Dir d, int, std::vector<uint8_t>&) { return d == Dir::kToPeer; };
  absl::Time start = h.now;
  h.Run();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_EQ(h.to_peer.size(), 5u);
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kTimeout);
  EXPECT_EQ(h.peer->result()->failure, AuthFailure::kTimeout);  // never saw a Challenge
  EXPECT_EQ(h.now - start, absl::Seconds(15));
  EXPECT_FALSE(h.auth->NextDeadline().has_value());
  EXPECT_FALSE(h.peer->NextDeadline().has_value());
}

TEST_P(ChapSession, PeerTimesOutWithoutAnswer) {
  Make("bob", "s3cret", /*max_transmissions=*/3);
  // Challenges get through, nothing comes back.
  h.wire = [](Dir d, int, std::vector<uint8_t>&) { return d == Dir::kToAuthenticator; };
  h.Run();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kTimeout);
  EXPECT_EQ(h.peer->result()->failure, AuthFailure::kTimeout);
  EXPECT_NE(h.peer->result()->message.find("no Success or Failure"), std::string::npos);
}

TEST_P(ChapSession, AsynchronousCredentialLookup) {
  Make("bob", "s3cret");
  AuthenticatorConfig ac;
  ac.lookup = [](std::string_view) { return Credential::Pending(); };
  ac.random = auth_random.Source();
  h.auth = *MakeAuthenticator(method(), ac);
  h.Start();
  EXPECT_EQ(h.auth->PendingLookup(), std::optional<std::string>("bob"));
  EXPECT_FALSE(h.auth->NextDeadline().has_value());  // no Challenge while verifying
  EXPECT_EQ(h.auth->result(), nullptr);
  ASSERT_TRUE(h.auth->SupplyCredential("bob", Credential::Found("s3cret"), h.now).ok());
  h.Pump();
  ExpectSuccess("bob");
}

TEST_P(ChapSession, BackendErrorFails) {
  Make("bob", "s3cret");
  AuthenticatorConfig ac;
  ac.lookup = [](std::string_view) {
    Credential c;
    c.status = Credential::Status::kError;
    c.error = "RADIUS server unreachable";
    return c;
  };
  ac.random = auth_random.Source();
  h.auth = *MakeAuthenticator(method(), ac);
  h.Run();
  ASSERT_TRUE(h.auth->result());
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kBackendError);
  EXPECT_NE(h.auth->result()->message.find("RADIUS server unreachable"), std::string::npos);
}

TEST_P(ChapSession, StrayAndMalformedPacketsAreDropped) {
  Make("bob", "s3cret");
  h.auth->Start(h.now);
  std::vector<std::vector<uint8_t>> out = h.auth->TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  uint8_t id = out[0][1];
  // A Response with another Identifier, a Challenge, garbage: all dropped with a reason.
  std::vector<uint8_t> value(method() == AuthMethod::kChapMd5 ? 16 : 49, 0);
  EXPECT_FALSE(h.auth
                   ->Receive(EncodeChapChallengeOrResponse(
                                 ChapCode::kResponse, static_cast<uint8_t>(id + 1), value, "bob"),
                             h.now)
                   .ok());
  EXPECT_FALSE(h.auth->Receive(out[0], h.now).ok());
  EXPECT_FALSE(h.auth->Receive(Hex("02"), h.now).ok());
  // A Response Value of the wrong size for the algorithm.
  EXPECT_FALSE(
      h.auth
          ->Receive(EncodeChapChallengeOrResponse(ChapCode::kResponse, id, Hex("0102"), "bob"),
                    h.now)
          .ok());
  EXPECT_EQ(h.auth->result(), nullptr);
  EXPECT_TRUE(users.lookups.empty());
  // The peer drops Success before it has answered anything, and a Challenge of the wrong size.
  h.peer->Start(h.now);
  EXPECT_FALSE(h.peer->Receive(EncodeChapResult(ChapCode::kSuccess, id, "S=00"), h.now).ok());
  if (method() != AuthMethod::kChapMd5) {
    EXPECT_FALSE(h.peer
                     ->Receive(EncodeChapChallengeOrResponse(ChapCode::kChallenge, id,
                                                             Hex("010203040506070809"), "x"),
                               h.now)
                     .ok());
  }
  EXPECT_EQ(h.peer->result(), nullptr);
  EXPECT_FALSE(h.peer->HasOutput());
  // The real exchange still works afterwards.
  EXPECT_TRUE(h.peer->Receive(out[0], h.now).ok());
  h.Pump();
  ExpectSuccess("bob");
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, ChapSession,
                         ::testing::Values(MethodCase{AuthMethod::kChapMd5, 16, false},
                                           MethodCase{AuthMethod::kMsChapV1, 8, true},
                                           MethodCase{AuthMethod::kMsChapV2, 16, true}),
                         [](const ::testing::TestParamInfo<MethodCase>& i) {
                           return std::string(AuthMethodName(i.param.method));
                         });

// MS-CHAPv2 mutual authentication (RFC 2759 section 5): the peer checks S=.
class MsChapV2Mutual : public ::testing::Test {
 protected:
  void RunWithTamperedSuccess(std::function<void(std::string&)> tamper) {
    users.passwords["bob"] = "s3cret";
    AuthenticatorConfig ac;
    ac.lookup = users.Lookup();
    ac.random = auth_random.Source();
    h.auth = *MakeAuthenticator(AuthMethod::kMsChapV2, ac);
    PeerConfig pc;
    pc.user = "bob";
    pc.password = "s3cret";
    pc.random = peer_random.Source();
    h.peer = *MakePeer(AuthMethod::kMsChapV2, pc);
    h.wire = [tamper](Dir d, int, std::vector<uint8_t>& p) {
      if (d == Dir::kToPeer && p[0] == static_cast<uint8_t>(ChapCode::kSuccess)) {
        std::string msg(p.begin() + 4, p.end());
        tamper(msg);
        p = EncodeChapResult(ChapCode::kSuccess, p[1], msg);
      }
      return false;
    };
    h.Run();
  }
  UserTable users;
  ScriptedRandom auth_random{0x11};
  ScriptedRandom peer_random{0xA0};
  Harness h;
};

TEST_F(MsChapV2Mutual, TamperedAuthenticatorResponseFails) {
  RunWithTamperedSuccess([](std::string& m) { m[10] = m[10] == '0' ? '1' : '0'; });
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_TRUE(h.auth->result()->success);  // the authenticator cannot know
  EXPECT_FALSE(h.peer->result()->success);
  EXPECT_EQ(h.peer->result()->failure, AuthFailure::kBadAuthenticatorResponse);
  EXPECT_FALSE(h.peer->result()->mppe.has_value());
}

TEST_F(MsChapV2Mutual, MissingAuthenticatorResponseFails) {
  RunWithTamperedSuccess([](std::string& m) { m = "M=Welcome"; });
  ASSERT_TRUE(h.peer->result());
  EXPECT_EQ(h.peer->result()->failure, AuthFailure::kBadAuthenticatorResponse);
}

TEST_F(MsChapV2Mutual, LowerCaseHexIsAccepted) {
  RunWithTamperedSuccess([](std::string& m) {
    for (size_t i = 2; i < 42; ++i) m[i] = static_cast<char>(std::tolower(m[i]));
  });
  ASSERT_TRUE(h.peer->result());
  EXPECT_TRUE(h.peer->result()->success) << h.peer->result()->message;
}

// The engines against RFC 2759's vectors: with the RFC's challenges injected, the authenticator
// accepts the RFC's NT-Response and answers with the RFC's authenticator response and keys.
TEST(MsChapV2Engine, AuthenticatorReproducesRfcVectors) {
  const std::vector<uint8_t> auth_challenge = Hex("5B5D7C7D7B3F2F3E3C2C602132262628");
  int calls = 0;
  AuthenticatorConfig ac;
  ac.lookup = [](std::string_view u) {
    return u == "User" ? Credential::Found("clientPass") : Credential::NotFound();
  };
  ac.random = [&](absl::Span<uint8_t> out) {
    if (calls++ == 0) {
      std::copy(auth_challenge.begin(), auth_challenge.end(), out.begin());
    } else {
      std::fill(out.begin(), out.end(), 0x07);  // Identifier
    }
  };
  auto auth = *MakeAuthenticator(AuthMethod::kMsChapV2, ac);
  absl::Time now = absl::FromUnixSeconds(0);
  auth->Start(now);
  auto challenge = auth->TakeOutput();
  ASSERT_EQ(challenge.size(), 1u);
  EXPECT_EQ(ParseChapPacket(challenge[0])->value, auth_challenge);
  MsChapV2ResponseValue v;
  v.peer_challenge = HexArray<16>("21402324255E262A28295F2B3A337C7E");
  v.nt_response = HexArray<24>("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF");
  std::array<uint8_t, 49> value = EncodeMsChapV2ResponseValue(v);
  ASSERT_TRUE(
      auth->Receive(EncodeChapChallengeOrResponse(ChapCode::kResponse, 7, value, "User"), now)
          .ok());
  auto out = auth->TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ParseChapPacket(out[0])->message,
            "S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome");
  ASSERT_TRUE(auth->result() && auth->result()->success);
  ASSERT_TRUE(auth->result()->mppe.has_value());
  EXPECT_EQ(ToHex(auth->result()->mppe->send), "8B7CDC149B993A1BA118CB153F56DCCB");
  EXPECT_EQ(ToHex(auth->result()->mppe->receive), "D5F0E9521E3EA9589645E86051C82226");
}

}  // namespace
}  // namespace ppp

namespace ppp {
namespace {

TEST(ChapEngine, ChallengeBeforeStartIsAnswered) {
  PeerConfig pc;
  pc.user = "bob";
  pc.password = "s3cret";
  auto peer = *MakePeer(AuthMethod::kChapMd5, pc);
  absl::Time now = absl::FromUnixSeconds(100);
  std::vector<uint8_t> challenge = Hex("00112233445566778899AABBCCDDEEFF");
  ASSERT_TRUE(
      peer->Receive(EncodeChapChallengeOrResponse(ChapCode::kChallenge, 9, challenge, "srv"), now)
          .ok());
  auto out = peer->TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  absl::StatusOr<ChapPacket> r = ParseChapPacket(out[0]);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, ChapCode::kResponse);
  EXPECT_EQ(r->identifier, 9);
  Md5Digest want = *ChapMd5Response(9, "s3cret", challenge);
  EXPECT_EQ(r->value, std::vector<uint8_t>(want.begin(), want.end()));
  EXPECT_EQ(r->name, "bob");
}

}  // namespace
}  // namespace ppp

namespace ppp {
namespace {

// A RADIUS-like backend: it never hands out the password, it checks what the peer presented and
// answers with a verdict (for MS-CHAPv2 with the S= value and the MPPE keys, as MS-CHAP2-Success
// and MS-MPPE-Send/Recv-Key would carry them).
ExternalVerdict RemoteVerify(const PresentedCredentials& p) {
  const std::string password = "s3cret";
  ExternalVerdict v;
  if (p.user != "bob") {
    v.failure = AuthFailure::kNoSuchUser;
    return v;
  }
  switch (p.method) {
    case AuthMethod::kPap:
      v.success = p.password == password;
      break;
    case AuthMethod::kChapMd5: {
      Md5Digest d = *ChapMd5Response(p.identifier, password, p.challenge);
      v.success = std::vector<uint8_t>(d.begin(), d.end()) == p.response;
      break;
    }
    case AuthMethod::kMsChapV1: {
      MsChapV1ResponseValue r = *ParseMsChapV1ResponseValue(p.response);
      MsChapChallenge8 ch;
      std::copy_n(p.challenge.begin(), 8, ch.begin());
      v.success = *NtChallengeResponse(ch, password) == r.nt_response;
      if (v.success) v.mppe = *MsChapV1MppeKeys(password, ch);
      break;
    }
    case AuthMethod::kMsChapV2: {
      MsChapV2ResponseValue r = *ParseMsChapV2ResponseValue(p.response);
      std::array<uint8_t, 16> ch;
      std::copy_n(p.challenge.begin(), 16, ch.begin());
      v.success = *GenerateNTResponse(ch, r.peer_challenge, p.user, password) == r.nt_response;
      if (v.success) {
        v.authenticator_response =
            *GenerateAuthenticatorResponse(password, r.nt_response, r.peer_challenge, ch, p.user);
        v.mppe = *MsChapV2MppeKeys(password, r.nt_response, /*is_server=*/true);
      }
      break;
    }
  }
  if (!v.success) v.reason = "Reply-Message: denied";
  return v;
}

class ExternalVerification : public ::testing::TestWithParam<AuthMethod> {
 protected:
  void Run(const std::string& password) {
    AuthenticatorConfig ac;
    ac.lookup = [](std::string_view) { return Credential::Pending(); };
    ac.random = auth_random.Source();
    h.auth = *MakeAuthenticator(GetParam(), ac);
    PeerConfig pc;
    pc.user = "bob";
    pc.password = password;
    pc.random = peer_random.Source();
    h.peer = *MakePeer(GetParam(), pc);
    h.Start();
    std::optional<PresentedCredentials> p = h.auth->PendingRequest();
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->method, GetParam());
    EXPECT_EQ(p->user, "bob");
    ASSERT_TRUE(h.auth->CompleteVerification(RemoteVerify(*p), h.now).ok());
    EXPECT_FALSE(h.auth->PendingRequest().has_value());
    h.Pump();
    ASSERT_TRUE(h.auth->result() && h.peer->result());
  }
  ScriptedRandom auth_random{0x11};
  ScriptedRandom peer_random{0xA0};
  Harness h;
};

TEST_P(ExternalVerification, Success) {
  Run("s3cret");
  EXPECT_TRUE(h.auth->result()->success) << h.auth->result()->message;
  EXPECT_TRUE(h.peer->result()->success) << h.peer->result()->message;  // S= checked for v2
  if (GetParam() == AuthMethod::kMsChapV1 || GetParam() == AuthMethod::kMsChapV2) {
    ASSERT_TRUE(h.auth->result()->mppe && h.peer->result()->mppe);
    EXPECT_EQ(h.auth->result()->mppe->send, h.peer->result()->mppe->receive);
    EXPECT_EQ(h.auth->result()->mppe->receive, h.peer->result()->mppe->send);
  }
}

TEST_P(ExternalVerification, Rejected) {
  Run("wrong");
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kWrongPassword);
  EXPECT_NE(h.auth->result()->message.find("Reply-Message: denied"), std::string::npos);
  EXPECT_EQ(h.peer->result()->failure, AuthFailure::kRejected);
}

INSTANTIATE_TEST_SUITE_P(AllMethods, ExternalVerification,
                         ::testing::Values(AuthMethod::kPap, AuthMethod::kChapMd5,
                                           AuthMethod::kMsChapV1, AuthMethod::kMsChapV2),
                         [](const ::testing::TestParamInfo<AuthMethod>& i) {
                           return std::string(AuthMethodName(i.param));
                         });

TEST(ExternalVerificationV2, SuccessWithoutAuthenticatorResponseIsRefused) {
  ScriptedRandom r;
  AuthenticatorConfig ac;
  ac.lookup = [](std::string_view) { return Credential::Pending(); };
  ac.random = r.Source();
  auto auth = *MakeAuthenticator(AuthMethod::kMsChapV2, ac);
  EXPECT_FALSE(auth->CompleteVerification(ExternalVerdict{}, absl::UnixEpoch()).ok());
  absl::Time now = absl::UnixEpoch();
  auth->Start(now);
  auto ch = ParseChapPacket(auth->TakeOutput()[0]);
  std::array<uint8_t, 49> value = EncodeMsChapV2ResponseValue(MsChapV2ResponseValue{});
  ASSERT_TRUE(
      auth->Receive(
              EncodeChapChallengeOrResponse(ChapCode::kResponse, ch->identifier, value, "bob"), now)
          .ok());
  ExternalVerdict v;
  v.success = true;
  EXPECT_FALSE(auth->CompleteVerification(v, now).ok());
  EXPECT_EQ(auth->result(), nullptr);
  v.authenticator_response = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
  EXPECT_TRUE(auth->CompleteVerification(v, now).ok());
  ASSERT_TRUE(auth->result() && auth->result()->success);
  EXPECT_EQ(ParseChapPacket(auth->TakeOutput()[0])->message,
            "S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome");
}

}  // namespace
}  // namespace ppp
