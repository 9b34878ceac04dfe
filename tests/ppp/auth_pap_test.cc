// PAP (RFC 1334): packet codec, and peer against authenticator with scripted time.
#include <string>

#include "gtest/gtest.h"
#include "ppp/auth.h"
#include "ppp/pap.h"
#include "tests/ppp/auth_test_harness.h"
#include "tests/ppp/auth_test_util.h"

namespace ppp {
namespace {

using testing::Dir;
using testing::Harness;
using testing::Hex;
using testing::UserTable;

TEST(PapPacket, RequestRoundTrip) {
  std::vector<uint8_t> p = EncodePapRequest(7, "bob", "secret");
  EXPECT_EQ(p, Hex("01 07 000F 03 626F62 06 736563726574"));
  absl::StatusOr<PapPacket> r = ParsePapPacket(p);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->code, PapCode::kAuthenticateRequest);
  EXPECT_EQ(r->identifier, 7);
  EXPECT_EQ(r->peer_id, "bob");
  EXPECT_EQ(r->password, "secret");
}

TEST(PapPacket, ReplyRoundTripAndEmptyAck) {
  std::vector<uint8_t> p = EncodePapReply(PapCode::kAuthenticateNak, 9, "no");
  EXPECT_EQ(p, Hex("03 09 0007 02 6E6F"));
  absl::StatusOr<PapPacket> r = ParsePapPacket(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, PapCode::kAuthenticateNak);
  EXPECT_EQ(r->message, "no");
  // pppd may send an Ack with no Msg-Length octet.
  absl::StatusOr<PapPacket> bare = ParsePapPacket(Hex("02 01 0004"));
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->message, "");
  // Octets beyond Length are padding (RFC 1661 section 5).
  EXPECT_TRUE(ParsePapPacket(Hex("02 01 0005 00 FFFF")).ok());
}

TEST(PapPacket, StrictLengths) {
  struct Case {
    const char* hex;
    const char* why;
  } cases[] = {
      {"01 01 00", "short header"},
      {"01 01 0003", "Length below 4"},
      {"01 01 0010 03 626F62", "Length beyond the data"},
      {"01 01 0004", "Request without Peer-ID"},
      {"01 01 0008 03 626F62", "no Passwd-Length"},
      {"01 01 0009 03 626F62 02", "Passwd beyond Length"},
      {"01 01 000A 03 626F62 00 FF", "extra octet after Passwd"},
      {"01 01 0005 09", "Peer-ID beyond Length"},
      {"02 01 0006 05 41", "Msg-Length beyond Length"},
      {"03 01 0007 01 4141", "Msg-Length short of Length"},
      {"04 01 0004", "unknown Code"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<PapPacket> r = ParsePapPacket(Hex(c.hex));
    EXPECT_FALSE(r.ok()) << c.why;
    if (!r.ok()) {
      EXPECT_FALSE(r.status().message().empty());
    }
  }
}

class PapSession : public ::testing::Test {
 protected:
  void Make(std::string user, std::string password) {
    users.passwords["bob"] = "s3cret";
    users.passwords["jürgen"] = "pässwörd€😀";
    users.disabled["carol"] = true;
    AuthenticatorConfig ac;
    ac.lookup = users.Lookup();
    ac.success_message = "Welcome";
    ac.failure_message = "Go away";
    ac.restart_timer = absl::Seconds(3);
    ac.max_transmissions = 4;
    auto a = MakeAuthenticator(AuthMethod::kPap, ac);
    ASSERT_TRUE(a.ok()) << a.status();
    h.auth = *std::move(a);
    PeerConfig pc;
    pc.user = user;
    pc.password = password;
    pc.restart_timer = absl::Seconds(3);
    pc.max_transmissions = 4;
    auto p = MakePeer(AuthMethod::kPap, pc);
    ASSERT_TRUE(p.ok()) << p.status();
    h.peer = *std::move(p);
    EXPECT_EQ(h.auth->protocol(), kProtocolPap);
  }
  UserTable users;
  Harness h;
};

TEST_F(PapSession, Success) {
  Make("bob", "s3cret");
  h.Run();
  ASSERT_NE(h.auth->result(), nullptr);
  ASSERT_NE(h.peer->result(), nullptr);
  EXPECT_TRUE(h.auth->result()->success);
  EXPECT_EQ(h.auth->result()->user, "bob");
  EXPECT_EQ(h.auth->result()->method, AuthMethod::kPap);
  EXPECT_FALSE(h.auth->result()->mppe.has_value());
  EXPECT_TRUE(h.peer->result()->success);
  EXPECT_NE(h.peer->result()->message.find("Welcome"), std::string::npos);
  ASSERT_EQ(h.to_auth.size(), 1u);
  ASSERT_EQ(h.to_peer.size(), 1u);
  EXPECT_EQ(h.to_peer[0][0], 2);  // Ack
  EXPECT_EQ(users.lookups, std::vector<std::string>{"bob"});
  EXPECT_FALSE(h.auth->NextDeadline().has_value());
  EXPECT_FALSE(h.peer->NextDeadline().has_value());
}

TEST_F(PapSession, WrongPassword) {
  Make("bob", "S3cret");
  h.Run();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_FALSE(h.auth->result()->success);
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kWrongPassword);
  EXPECT_NE(h.auth->result()->message.find("wrong password"), std::string::npos);
  EXPECT_EQ(h.peer->result()->failure, AuthFailure::kRejected);
  EXPECT_NE(h.peer->result()->message.find("Go away"), std::string::npos);
  EXPECT_EQ(h.to_peer[0][0], 3);  // Nak
}

TEST_F(PapSession, UnknownAndDisabledUsers) {
  Make("mallory", "x");
  h.Run();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kNoSuchUser);
  EXPECT_EQ(h.peer->result()->failure, AuthFailure::kRejected);

  Harness h2;
  h = std::move(h2);
  Make("carol", "x");
  h.Run();
  ASSERT_TRUE(h.auth->result());
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kDisabled);
}

TEST_F(PapSession, NonAsciiUtf8Password) {
  Make("jürgen", "pässwörd€😀");
  h.Run();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_TRUE(h.auth->result()->success);
  EXPECT_EQ(h.auth->result()->user, "jürgen");
  EXPECT_TRUE(h.peer->result()->success);
}

TEST_F(PapSession, LostRequestIsRetransmittedWithNewIdentifier) {
  Make("bob", "s3cret");
  h.wire = [](Dir d, int i, std::vector<uint8_t>&) { return d == Dir::kToAuthenticator && i < 2; };
  absl::Time start = h.now;
  h.Run();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_TRUE(h.peer->result()->success);
  ASSERT_EQ(h.to_auth.size(), 3u);
  EXPECT_NE(h.to_auth[0][1], h.to_auth[1][1]);
  EXPECT_EQ(h.now - start, absl::Seconds(6));  // two restart timers
}

TEST_F(PapSession, LostAckIsRepeatedForTheRetransmittedRequest) {
  Make("bob", "s3cret");
  h.wire = [](Dir d, int i, std::vector<uint8_t>&) { return d == Dir::kToPeer && i == 0; };
  h.Run();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_TRUE(h.peer->result()->success);
  ASSERT_EQ(h.to_peer.size(), 2u);
  EXPECT_EQ(h.to_peer[1][0], 2);                // Ack again
  EXPECT_EQ(h.to_peer[1][1], h.to_auth[1][1]);  // for the new Identifier
  EXPECT_EQ(users.lookups.size(), 1u);
}

TEST_F(PapSession, TimeoutAfterMaxRetransmissions) {
  Make("bob", "s3cret");
  h.wire = [](Dir d, int, std::vector<uint8_t>&) { return d == Dir::kToAuthenticator; };
  absl::Time start = h.now;
  h.Run();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_EQ(h.to_auth.size(), 4u);  // max_transmissions
  EXPECT_EQ(h.peer->result()->failure, AuthFailure::kTimeout);
  EXPECT_EQ(h.auth->result()->failure, AuthFailure::kTimeout);
  EXPECT_EQ(h.now - start, absl::Seconds(12));
  EXPECT_FALSE(h.auth->NextDeadline().has_value());
  EXPECT_FALSE(h.peer->NextDeadline().has_value());
}

TEST_F(PapSession, AsynchronousCredentialLookup) {
  UserTable table;
  table.passwords["bob"] = "s3cret";
  std::vector<std::string> asked;
  AuthenticatorConfig ac;
  ac.lookup = [&asked](std::string_view user) {
    asked.emplace_back(user);
    return Credential::Pending();
  };
  h.auth = *MakeAuthenticator(AuthMethod::kPap, ac);
  PeerConfig pc;
  pc.user = "bob";
  pc.password = "s3cret";
  h.peer = *MakePeer(AuthMethod::kPap, pc);
  h.Start();
  EXPECT_EQ(asked, std::vector<std::string>{"bob"});
  EXPECT_EQ(h.auth->PendingLookup(), std::optional<std::string>("bob"));
  EXPECT_EQ(h.auth->result(), nullptr);
  EXPECT_FALSE(h.auth->SupplyCredential("eve", Credential::Found("x"), h.now).ok());
  EXPECT_FALSE(h.auth->SupplyCredential("bob", Credential::Pending(), h.now).ok());
  ASSERT_TRUE(h.auth->SupplyCredential("bob", Credential::Found("s3cret"), h.now).ok());
  h.Pump();
  ASSERT_TRUE(h.auth->result() && h.peer->result());
  EXPECT_TRUE(h.auth->result()->success);
  EXPECT_TRUE(h.peer->result()->success);
  EXPECT_FALSE(h.auth->PendingLookup().has_value());
  EXPECT_FALSE(h.auth->SupplyCredential("bob", Credential::Found("s3cret"), h.now).ok());
}

TEST_F(PapSession, MalformedAndStrayPacketsAreDroppedWithReasons) {
  Make("bob", "s3cret");
  h.auth->Start(h.now);
  EXPECT_FALSE(h.auth->Receive(Hex("01 01 0009 03 626F62 02"), h.now).ok());
  EXPECT_FALSE(h.auth->Receive(Hex("02 01 0004"), h.now).ok());  // Ack to an authenticator
  EXPECT_EQ(h.auth->result(), nullptr);
  h.peer->Start(h.now);
  std::vector<std::vector<uint8_t>> out = h.peer->TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  uint8_t id = out[0][1];
  std::vector<uint8_t> ack = EncodePapReply(PapCode::kAuthenticateAck, id + 1, "");
  EXPECT_FALSE(h.peer->Receive(ack, h.now).ok());  // wrong Identifier
  EXPECT_EQ(h.peer->result(), nullptr);
  EXPECT_TRUE(h.peer->Receive(EncodePapReply(PapCode::kAuthenticateAck, id, ""), h.now).ok());
  ASSERT_NE(h.peer->result(), nullptr);
  EXPECT_TRUE(h.peer->result()->success);
}

TEST(AuthOption, EncodeAndParse) {
  EXPECT_EQ(EncodeAuthOption(AuthMethod::kPap), Hex("C023"));
  EXPECT_EQ(EncodeAuthOption(AuthMethod::kChapMd5), Hex("C22305"));
  EXPECT_EQ(EncodeAuthOption(AuthMethod::kMsChapV1), Hex("C22380"));
  EXPECT_EQ(EncodeAuthOption(AuthMethod::kMsChapV2), Hex("C22381"));
  for (AuthMethod m :
       {AuthMethod::kPap, AuthMethod::kChapMd5, AuthMethod::kMsChapV1, AuthMethod::kMsChapV2}) {
    EXPECT_EQ(*ParseAuthOption(EncodeAuthOption(m)), m);
    EXPECT_EQ(*AuthMethodFromName(AuthMethodName(m)), m);
  }
  EXPECT_FALSE(ParseAuthOption(Hex("C2")).ok());
  EXPECT_FALSE(ParseAuthOption(Hex("C223")).ok());
  EXPECT_FALSE(ParseAuthOption(Hex("C22306")).ok());  // SHA-1 CHAP: not supported
  EXPECT_FALSE(ParseAuthOption(Hex("C02300")).ok());
  EXPECT_FALSE(ParseAuthOption(Hex("C227")).ok());  // EAP: not supported
  EXPECT_EQ(*AuthMethodFromName("MSCHAP2"), AuthMethod::kMsChapV2);
  EXPECT_FALSE(AuthMethodFromName("eap").ok());
}

TEST(AuthFactory, RejectsIncompleteConfigs) {
  AuthenticatorConfig ac;  // no lookup
  EXPECT_FALSE(MakeAuthenticator(AuthMethod::kPap, ac).ok());
  ac.lookup = [](std::string_view) { return Credential::NotFound(); };
  EXPECT_FALSE(MakeAuthenticator(AuthMethod::kChapMd5, ac).ok());  // no random source
  ac.random = [](absl::Span<uint8_t>) {};
  ac.max_transmissions = 0;
  EXPECT_FALSE(MakeAuthenticator(AuthMethod::kChapMd5, ac).ok());
  PeerConfig pc;
  pc.user = "u";
  pc.password = "\xFF";  // not UTF-8: MS-CHAP cannot hash it
  EXPECT_FALSE(MakePeer(AuthMethod::kMsChapV2, pc).ok());
  pc.random = [](absl::Span<uint8_t>) {};
  EXPECT_FALSE(MakePeer(AuthMethod::kMsChapV1, pc).ok());
  EXPECT_TRUE(MakePeer(AuthMethod::kPap, pc).ok());  // PAP sends the bytes as they are
  pc.restart_timer = absl::ZeroDuration();
  EXPECT_FALSE(MakePeer(AuthMethod::kPap, pc).ok());
}

}  // namespace
}  // namespace ppp

namespace ppp {
namespace {

TEST(PapEngine, RequestBeforeStartIsAnswered) {
  AuthenticatorConfig ac;
  ac.lookup = [](std::string_view u) {
    return u == "bob" ? Credential::Found("s3cret") : Credential::NotFound();
  };
  auto auth = *MakeAuthenticator(AuthMethod::kPap, ac);
  absl::Time now = absl::FromUnixSeconds(100);
  ASSERT_TRUE(auth->Receive(EncodePapRequest(5, "bob", "s3cret"), now).ok());
  auto out = auth->TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][0], 2);
  EXPECT_EQ(out[0][1], 5);
  ASSERT_TRUE(auth->result() && auth->result()->success);
}

}  // namespace
}  // namespace ppp
