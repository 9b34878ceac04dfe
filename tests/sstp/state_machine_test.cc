// Server and client state machines driven against each other with scripted time.
#include "sstp/state_machine.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/sstp/test_util.h"

namespace sstp {
namespace {

using ::sstp::testing::Hex;

const std::vector<uint8_t> kLcpConfigureRequest = Hex("FF 03 C0 21 01 01 00 0A 05 06 12 34 56 78");
const std::vector<uint8_t> kLcpConfigureAck = Hex("FF 03 C0 21 02 01 00 0A 05 06 12 34 56 78");
const std::vector<uint8_t> kIpcpConfigureRequest =
    Hex("80 21 01 01 00 0A 03 06 C6 12 00 01");  // ACFC: no FF 03
const std::vector<uint8_t> kIpv4Frame =
    Hex("FF 03 00 21 45 00 00 14 00 00 00 00 40 01 00 00 C6 12 00 02 C6 12 00 01");
const std::vector<uint8_t> kIpv4FrameCompressed = Hex("21 45 00 00 14");  // PFC + ACFC

std::vector<uint8_t> ServerCertDer() { return Hex("30 82 01 0A 02 82 01 01 00 C3 5A 11 22 33"); }

Nonce TestNonce() {
  Nonce n;
  for (size_t i = 0; i < n.size(); ++i) n[i] = static_cast<uint8_t>(0x40 + i);
  return n;
}

// MS-CHAPv2 master keys as each side holds them (RFC 3079: the server's send key is the client's
// receive key).
const std::vector<uint8_t> kClientSendKey = Hex(testing::kSpec47MasterSendKey);
const std::vector<uint8_t> kClientReceiveKey = Hex(testing::kSpec47MasterReceiveKey);

bool Has(const OutputBuffer& o, EventType t) {
  for (const Event& e : o.events) {
    if (e.type == t) return true;
  }
  return false;
}

const Event* Find(const OutputBuffer& o, EventType t) {
  for (const Event& e : o.events) {
    if (e.type == t) return &e;
  }
  return nullptr;
}

// Parses every packet a side sent; returns the message types of control packets (data: 0).
std::vector<int> SentTypes(const OutputBuffer& o) {
  std::vector<int> types;
  for (const auto& p : o.sent) {
    absl::StatusOr<Packet> parsed = ParsePacket(p);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    types.push_back(parsed.ok() && parsed->control ? static_cast<int>(parsed->message.type) : 0);
  }
  return types;
}

int LastSentType(const OutputBuffer& o) {
  const std::vector<int> t = SentTypes(o);
  return t.empty() ? -1 : t.back();
}

ControlMessage LastSentMessage(const OutputBuffer& o) {
  absl::StatusOr<Packet> p = ParsePacket(o.sent.back());
  EXPECT_TRUE(p.ok());
  return p.ok() ? p->message : ControlMessage{};
}

constexpr int T(MessageType t) { return static_cast<int>(t); }

class Session : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto der = ServerCertDer();
    server_config_.cert_hash_sha1 = *CertificateHash(kHashProtocolSha1, der);
    server_config_.cert_hash_sha256 = *CertificateHash(kHashProtocolSha256, der);
    client_config_.cert_hash_sha1 = server_config_.cert_hash_sha1;
    client_config_.cert_hash_sha256 = server_config_.cert_hash_sha256;
  }

  void Create() {
    server_ = std::make_unique<ServerStateMachine>(server_config_, TestNonce(), &sout_);
    client_ = std::make_unique<ClientStateMachine>(client_config_, &cout_);
  }

  // Both ends started: the HTTP exchange is done.
  void Start() {
    Create();
    server_->Start(now_);
    client_->Start(now_);
    Pump();
  }

  // Moves every packet sent so far to the other side through a stream assembler, in 5-byte
  // reads so that packets span reads, until both sides are quiet.
  void Pump() {
    for (bool moved = true; moved;) {
      moved = false;
      while (c_pos_ < cout_.sent.size()) {
        const std::vector<uint8_t> p = cout_.sent[c_pos_++];
        if (drop_client_to_server_) continue;
        FeedChunks(s_asm_, *server_, p);
        moved = true;
      }
      while (s_pos_ < sout_.sent.size()) {
        const std::vector<uint8_t> p = sout_.sent[s_pos_++];
        if (drop_server_to_client_) continue;
        FeedChunks(c_asm_, *client_, p);
        moved = true;
      }
    }
  }

  template <typename M>
  void FeedChunks(StreamAssembler& a, M& m, const std::vector<uint8_t>& bytes) {
    for (size_t i = 0; i < bytes.size(); i += 5) {
      const size_t n = std::min<size_t>(5, bytes.size() - i);
      ASSERT_TRUE(FeedStream(now_, a, m, absl::MakeConstSpan(bytes.data() + i, n)).ok());
    }
  }

  // Advances scripted time by `d`, firing every timer of both sides at its deadline.
  void Advance(absl::Duration d) {
    const absl::Time target = now_ + d;
    for (;;) {
      const absl::Time next = std::min(server_->next_deadline(), client_->next_deadline());
      if (next > target) break;
      now_ = std::max(now_, next);
      server_->OnTimer(now_);
      client_->OnTimer(now_);
      Pump();
    }
    now_ = target;
  }

  void AuthenticateMsChapV2() {
    client_->OnAuthenticationFinished(now_, ClientHlakFromMppe(kClientSendKey, kClientReceiveKey));
    Pump();
    server_->OnAuthenticationFinished(now_,
                                      ServerHlakFromMppe(/*master_send_key=*/kClientReceiveKey,
                                                         /*master_receive_key=*/kClientSendKey));
    Pump();
  }

  void Connect() {
    Start();
    ASSERT_EQ(server_->state(), State::kServerCallConnectedPending);
    AuthenticateMsChapV2();
    ASSERT_TRUE(server_->connected());
    ASSERT_TRUE(client_->connected());
  }

  absl::Time now_ = absl::FromUnixSeconds(1'790'000'000);
  ServerConfig server_config_;
  ClientConfig client_config_;
  OutputBuffer sout_, cout_;
  std::unique_ptr<ServerStateMachine> server_;
  std::unique_ptr<ClientStateMachine> client_;
  StreamAssembler s_asm_, c_asm_;
  size_t s_pos_ = 0, c_pos_ = 0;
  bool drop_client_to_server_ = false;
  bool drop_server_to_client_ = false;
};

// ---- full sessions --------------------------------------------------------------------------

TEST_F(Session, FullSessionWithPppRelayAndMsChapV2Binding) {
  Start();
  EXPECT_EQ(client_->state(), State::kClientConnectAckReceived);
  EXPECT_EQ(server_->state(), State::kServerCallConnectedPending);
  EXPECT_TRUE(Has(cout_, EventType::kStartPpp));
  EXPECT_TRUE(Has(sout_, EventType::kStartPpp));
  EXPECT_EQ(client_->chosen_hash_protocol(), kHashProtocolSha256);  // the stronger of the two
  EXPECT_EQ(client_->nonce(), TestNonce());

  // PPP negotiation relayed both ways while pending.
  ASSERT_TRUE(client_->SendPppFrame(now_, kLcpConfigureRequest).ok());
  ASSERT_TRUE(server_->SendPppFrame(now_, kLcpConfigureAck).ok());
  ASSERT_TRUE(server_->SendPppFrame(now_, kIpcpConfigureRequest).ok());
  Pump();
  ASSERT_EQ(sout_.delivered.size(), 1u);
  EXPECT_EQ(sout_.delivered[0], kLcpConfigureRequest);
  ASSERT_EQ(cout_.delivered.size(), 2u);
  EXPECT_EQ(cout_.delivered[0], kLcpConfigureAck);
  EXPECT_EQ(cout_.delivered[1], kIpcpConfigureRequest);

  // IP data is refused before CALL_CONNECTED, in both directions.
  EXPECT_FALSE(client_->SendPppFrame(now_, kIpv4Frame).ok());
  EXPECT_FALSE(server_->SendPppFrame(now_, kIpv4FrameCompressed).ok());

  AuthenticateMsChapV2();
  EXPECT_EQ(client_->state(), State::kClientCallConnected);
  EXPECT_EQ(server_->state(), State::kServerCallConnected);
  EXPECT_EQ(server_->chosen_hash_protocol(), kHashProtocolSha256);
  EXPECT_TRUE(Has(sout_, EventType::kConnected));
  EXPECT_TRUE(Has(cout_, EventType::kConnected));
  EXPECT_EQ(SentTypes(cout_), (std::vector<int>{T(MessageType::kCallConnectRequest), 0,
                                                T(MessageType::kCallConnected)}));

  // Data flows now.
  ASSERT_TRUE(client_->SendPppFrame(now_, kIpv4Frame).ok());
  ASSERT_TRUE(server_->SendPppFrame(now_, kIpv4FrameCompressed).ok());
  Pump();
  EXPECT_EQ(sout_.delivered.back(), kIpv4Frame);
  EXPECT_EQ(cout_.delivered.back(), kIpv4FrameCompressed);
  EXPECT_EQ(server_->counters().data_packets_in, 2u);

  // Orderly disconnect from the client: DISCONNECT, DISCONNECT_ACK; the client closes at once,
  // the server after TIMER_VAL_DISCONNECT_STATE_TIMER_2 (1 s).
  client_->Disconnect(now_, "user request");
  Pump();
  EXPECT_TRUE(client_->closed());
  EXPECT_TRUE(Has(cout_, EventType::kDisconnected));
  EXPECT_EQ(server_->state(), State::kCallDisconnectTimeoutPending);
  const Event* d = Find(sout_, EventType::kDisconnected);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->by_peer);
  EXPECT_EQ(LastSentType(sout_), T(MessageType::kCallDisconnectAck));
  EXPECT_EQ(server_->next_deadline(), now_ + absl::Seconds(1));
  Advance(absl::Milliseconds(999));
  EXPECT_FALSE(server_->closed());
  Advance(absl::Milliseconds(1));
  EXPECT_TRUE(server_->closed());
  EXPECT_EQ(server_->next_deadline(), absl::InfiniteFuture());
  // The DISCONNECT carried a Status Info.
  absl::StatusOr<Packet> disc = ParsePacket(cout_.sent.back());
  ASSERT_TRUE(disc.ok());
  EXPECT_EQ(disc->message.type, MessageType::kCallDisconnect);
  EXPECT_EQ(disc->message.status_info_count, 1);
}

TEST_F(Session, PapOrChapBindsWithZeroHlak) {
  server_config_.hash_protocols = kHashProtocolSha1;  // and SHA1 this time
  Start();
  EXPECT_EQ(client_->chosen_hash_protocol(), kHashProtocolSha1);
  client_->OnAuthenticationFinished(now_, ZeroHlak());
  server_->OnAuthenticationFinished(now_, ZeroHlak());
  Pump();
  EXPECT_TRUE(server_->connected());
  EXPECT_EQ(server_->chosen_hash_protocol(), kHashProtocolSha1);
  EXPECT_TRUE(client_->connected());
}

TEST_F(Session, CallConnectedBeforeServerAuthenticationIsDeferred) {
  Start();
  client_->OnAuthenticationFinished(now_, ClientHlakFromMppe(kClientSendKey, kClientReceiveKey));
  Pump();
  EXPECT_TRUE(client_->connected());
  EXPECT_EQ(server_->state(), State::kServerCallConnectedPending);
  EXPECT_TRUE(server_->call_connected_deferred());
  EXPECT_FALSE(Has(sout_, EventType::kConnected));
  // Still only control frames until the check is done.
  ASSERT_TRUE(client_->SendPppFrame(now_, kIpv4Frame).ok());
  Pump();
  EXPECT_TRUE(sout_.delivered.empty());
  EXPECT_EQ(server_->counters().dropped_before_connected, 1u);
  server_->OnAuthenticationFinished(now_, ServerHlakFromMppe(kClientReceiveKey, kClientSendKey));
  Pump();
  EXPECT_TRUE(server_->connected());
  EXPECT_TRUE(Has(sout_, EventType::kConnected));
}

TEST_F(Session, DeferredCallConnectedWithWrongKeysAbortsWhenTheHlakArrives) {
  Start();
  client_->OnAuthenticationFinished(now_, ClientHlakFromMppe(kClientSendKey, kClientReceiveKey));
  Pump();
  server_->OnAuthenticationFinished(now_, ZeroHlak());  // server did not get MPPE keys
  Pump();
  EXPECT_FALSE(server_->connected());
  const Event* a = Find(sout_, EventType::kAborted);
  ASSERT_NE(a, nullptr);
  EXPECT_NE(a->reason.find("Compound MAC"), std::string::npos) << a->reason;
  EXPECT_EQ(a->status, StatusCode::kValueNotSupported);
}

TEST_F(Session, ZeroHlakFromAClientWithoutKeysOnlyWhenAllowed) {
  for (bool allow : {false, true}) {
    server_config_.accept_zero_hlak = allow;
    sout_.Clear();
    cout_.Clear();
    s_pos_ = c_pos_ = 0;
    s_asm_.Reset();
    c_asm_.Reset();
    Start();
    client_->OnAuthenticationFinished(now_, ZeroHlak());  // sstpc without its pppd plugin
    server_->OnAuthenticationFinished(now_, ServerHlakFromMppe(kClientReceiveKey, kClientSendKey));
    Pump();
    EXPECT_EQ(server_->connected(), allow);
    EXPECT_EQ(server_->zero_hlak_accepted(), allow);
  }
}

// ---- crypto binding failures ----------------------------------------------------------------

class CryptoBindingFailure : public Session {
 protected:
  // Delivers the client's CALL_CONNECTED to the server after `tamper` changed it.
  void RunWithTamperedCallConnected(size_t offset) {
    Start();
    server_->OnAuthenticationFinished(now_, ServerHlakFromMppe(kClientReceiveKey, kClientSendKey));
    drop_client_to_server_ = true;
    client_->OnAuthenticationFinished(now_, ClientHlakFromMppe(kClientSendKey, kClientReceiveKey));
    Pump();
    drop_client_to_server_ = false;
    std::vector<uint8_t> cc = cout_.sent.back();
    ASSERT_EQ(cc.size(), kCallConnectedLength);
    cc[offset] ^= 0x80;
    server_->OnPacket(now_, cc);
    Pump();
  }

  void ExpectAbortedWithCryptoBindingStatus(const std::string& reason_part) {
    EXPECT_FALSE(server_->connected());
    EXPECT_EQ(server_->state(), State::kCallAbortTimeoutPending);  // the client answered
    const ControlMessage abort = [&] {
      for (const auto& p : sout_.sent) {
        absl::StatusOr<Packet> parsed = ParsePacket(p);
        if (parsed.ok() && parsed->control && parsed->message.type == MessageType::kCallAbort) {
          return parsed->message;
        }
      }
      return ControlMessage{};
    }();
    ASSERT_EQ(abort.type, MessageType::kCallAbort);
    ASSERT_NE(abort.first_status(), nullptr);
    EXPECT_EQ(abort.first_status()->attrib_id, AttributeId::kCryptoBinding);
    EXPECT_EQ(abort.first_status()->status, StatusCode::kValueNotSupported);
    const Event* e = Find(sout_, EventType::kAborted);
    ASSERT_NE(e, nullptr);
    EXPECT_FALSE(e->by_peer);
    EXPECT_NE(e->reason.find(reason_part), std::string::npos) << e->reason;
    // The client saw the server's CALL_ABORT.
    const Event* c = Find(cout_, EventType::kAborted);
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->by_peer);
    EXPECT_EQ(c->status, StatusCode::kValueNotSupported);
  }
};

TEST_F(CryptoBindingFailure, TamperedMacAborts) {
  RunWithTamperedCallConnected(kCallConnectedMacOffset + 3);
  ExpectAbortedWithCryptoBindingStatus("Compound MAC");
}

TEST_F(CryptoBindingFailure, WrongNonceAborts) {
  RunWithTamperedCallConnected(kCallConnectedNonceOffset);
  ExpectAbortedWithCryptoBindingStatus("nonce");
}

TEST_F(CryptoBindingFailure, WrongCertificateHashAborts) {
  // A TLS-intercepting proxy: the client saw another certificate.
  client_config_.cert_hash_sha256 = *CertificateHash(kHashProtocolSha256, Hex("30 03 02 01 07"));
  Start();
  server_->OnAuthenticationFinished(now_, ServerHlakFromMppe(kClientReceiveKey, kClientSendKey));
  client_->OnAuthenticationFinished(now_, ClientHlakFromMppe(kClientSendKey, kClientReceiveKey));
  Pump();
  ExpectAbortedWithCryptoBindingStatus("certificate hash");
}

TEST_F(CryptoBindingFailure, UnofferedHashProtocolAborts) {
  RunWithTamperedCallConnected(kCallConnectedHashProtocolOffset);  // 0x02 -> 0x82
  ExpectAbortedWithCryptoBindingStatus("hash protocol");
}

// ---- timers ---------------------------------------------------------------------------------

TEST_F(Session, ServerNegotiationTimeoutWithoutCallConnectRequest) {
  Create();
  server_->Start(now_);
  EXPECT_EQ(server_->next_deadline(), now_ + absl::Seconds(60));
  server_->OnTimer(now_ + absl::Seconds(59));
  EXPECT_TRUE(sout_.sent.empty());
  now_ += absl::Seconds(60);
  server_->OnTimer(now_);
  ASSERT_EQ(LastSentType(sout_), T(MessageType::kCallAbort));
  EXPECT_EQ(LastSentMessage(sout_).first_status()->status, StatusCode::kNegotiationTimeout);
  EXPECT_EQ(server_->state(), State::kCallAbortPending);
  // TIMER_VAL_ABORT_STATE_TIMER_1: 3 s without the peer's CALL_ABORT, then clean up.
  EXPECT_EQ(server_->next_deadline(), now_ + absl::Seconds(3));
  server_->OnTimer(now_ + absl::Seconds(3));
  EXPECT_TRUE(server_->closed());
  EXPECT_TRUE(Has(sout_, EventType::kClosed));
}

TEST_F(Session, ServerNegotiationTimeoutWithoutCallConnected) {
  client_config_.timers.negotiation = absl::Seconds(120);  // only the server's timer fires
  Start();
  drop_server_to_client_ = true;  // the client never hears the abort
  Advance(absl::Seconds(59));
  EXPECT_EQ(server_->state(), State::kServerCallConnectedPending);
  Advance(absl::Seconds(1));
  EXPECT_EQ(server_->state(), State::kCallAbortPending);
  const Event* a = Find(sout_, EventType::kAborted);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->status, StatusCode::kNegotiationTimeout);
  EXPECT_NE(a->reason.find("negotiation"), std::string::npos);
  Advance(absl::Seconds(3));
  EXPECT_TRUE(server_->closed());
}

TEST_F(Session, ClientNegotiationTimeoutWithoutAck) {
  server_config_.timers.negotiation = absl::Seconds(120);
  drop_client_to_server_ = true;
  Start();
  EXPECT_EQ(client_->state(), State::kClientConnectRequestSent);
  Advance(absl::Seconds(60));
  EXPECT_EQ(client_->state(), State::kCallAbortPending);
  EXPECT_EQ(Find(cout_, EventType::kAborted)->status, StatusCode::kNegotiationTimeout);
  Advance(absl::Seconds(3));
  EXPECT_TRUE(client_->closed());
}

TEST_F(Session, ClientNegotiationTimeoutWithoutAuthentication) {
  server_config_.timers.negotiation = absl::Seconds(120);
  Start();
  drop_client_to_server_ = true;
  Advance(absl::Seconds(60));
  EXPECT_EQ(client_->state(), State::kCallAbortPending);
}

TEST_F(Session, HelloTimerSendsEchoAndTheAnswerKeepsTheCallUp) {
  Connect();
  EXPECT_EQ(server_->next_deadline(), now_ + absl::Seconds(60));
  // Both sides' hello timers fire at 60 s; each answers the other's echo.
  Advance(absl::Seconds(60));
  EXPECT_EQ(server_->counters().echo_requests_sent, 1u);
  EXPECT_EQ(client_->counters().echo_requests_sent, 1u);
  EXPECT_TRUE(server_->connected());
  EXPECT_TRUE(client_->connected());
  std::vector<int> types = SentTypes(sout_);
  EXPECT_NE(std::find(types.begin(), types.end(), T(MessageType::kEchoRequest)), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), T(MessageType::kEchoResponse)), types.end());
  // Hours of silence with a live peer: echo every interval, never an abort.
  Advance(absl::Hours(2));
  EXPECT_TRUE(server_->connected());
  EXPECT_TRUE(client_->connected());
  EXPECT_GT(server_->counters().echo_requests_sent, 100u);
}

TEST_F(Session, AnyReceivedPacketRestartsTheHelloTimer) {
  Connect();
  Advance(absl::Seconds(50));
  ASSERT_TRUE(client_->SendPppFrame(now_, kIpv4Frame).ok());
  Pump();
  EXPECT_EQ(server_->next_deadline(), now_ + absl::Seconds(60));
}

TEST_F(Session, DataPlaneFastPathRestartsTheHelloTimer) {
  Connect();
  Advance(absl::Seconds(59));
  server_->NoteDataReceived(now_);
  EXPECT_EQ(server_->next_deadline(), now_ + absl::Seconds(60));
  drop_client_to_server_ = true;
  Advance(absl::Seconds(59));
  EXPECT_EQ(server_->counters().echo_requests_sent, 0u);
}

TEST_F(Session, UnansweredEchoAbortsWithoutSendingCallAbort) {
  Connect();
  drop_server_to_client_ = true;
  drop_client_to_server_ = true;
  const size_t sent_before = sout_.sent.size();
  Advance(absl::Seconds(60));
  EXPECT_EQ(sout_.sent.size(), sent_before + 1);
  EXPECT_EQ(LastSentType(sout_), T(MessageType::kEchoRequest));
  EXPECT_TRUE(server_->connected());
  Advance(absl::Seconds(60));
  EXPECT_TRUE(server_->closed());
  EXPECT_EQ(sout_.sent.size(), sent_before + 1);  // MS-SSTP 3.1.2.3: no CALL_ABORT
  const Event* a = Find(sout_, EventType::kAborted);
  ASSERT_NE(a, nullptr);
  EXPECT_NE(a->reason.find("ECHO_REQUEST"), std::string::npos);
  EXPECT_TRUE(Has(sout_, EventType::kClosed));
}

TEST_F(Session, KeepaliveIntervalIsConfigurable) {
  server_config_.timers.hello = absl::Seconds(10);  // RouterOS keepalive-timeout=10
  Connect();
  EXPECT_EQ(server_->next_deadline(), now_ + absl::Seconds(10));
  drop_client_to_server_ = true;
  Advance(absl::Seconds(20));
  EXPECT_TRUE(server_->closed());
}

TEST_F(Session, RouterOsStyleKeepaliveResendsEchoEverySecond) {
  server_config_.timers.hello = absl::Seconds(10);
  server_config_.timers.echo_retransmit = absl::Seconds(1);
  Connect();
  drop_client_to_server_ = true;
  drop_server_to_client_ = true;
  Advance(absl::Seconds(10));
  EXPECT_EQ(server_->counters().echo_requests_sent, 1u);
  Advance(absl::Seconds(5));
  EXPECT_EQ(server_->counters().echo_requests_sent, 6u);
  EXPECT_TRUE(server_->connected());
  // The peer answers one: the call stays up and the hello interval starts over.
  drop_client_to_server_ = false;
  server_->OnPacket(now_, EncodeEchoResponse().span());
  EXPECT_EQ(server_->next_deadline(), now_ + absl::Seconds(10));
  drop_client_to_server_ = true;
  // Silent again: dead after 2 x keepalive-timeout.
  Advance(absl::Seconds(19));
  EXPECT_TRUE(server_->connected());
  Advance(absl::Seconds(1));
  EXPECT_TRUE(server_->closed());
}

TEST_F(Session, KeepaliveDisabled) {
  server_config_.timers.hello = absl::InfiniteDuration();
  client_config_.timers.hello = absl::InfiniteDuration();
  Connect();
  EXPECT_EQ(server_->next_deadline(), absl::InfiniteFuture());
  drop_client_to_server_ = true;
  Advance(absl::Hours(24));
  EXPECT_TRUE(server_->connected());
  EXPECT_EQ(server_->counters().echo_requests_sent, 0u);
}

TEST_F(Session, AbortIsAnsweredAndBothSidesCloseAfterTimer2) {
  Connect();
  server_->Abort(now_, StatusCode::kNoError, "administrator removed the session");
  EXPECT_EQ(server_->state(), State::kCallAbortPending);
  Pump();
  // Client: Call_Abort_In_Progress_2 -> answered -> Call_Abort_Timeout_Pending (1 s).
  EXPECT_EQ(client_->state(), State::kCallAbortTimeoutPending);
  EXPECT_EQ(LastSentType(cout_), T(MessageType::kCallAbort));
  EXPECT_EQ(LastSentMessage(cout_).status_info_count, 1);
  // Server got the answer while in Call_Abort_Pending: timer 2.
  EXPECT_EQ(server_->state(), State::kCallAbortTimeoutPending);
  EXPECT_EQ(server_->next_deadline(), now_ + absl::Seconds(1));
  // Anything else is ignored meanwhile.
  ASSERT_TRUE(client_->SendPppFrame(now_, kIpv4Frame).code() ==
              absl::StatusCode::kFailedPrecondition);
  Advance(absl::Seconds(1));
  EXPECT_TRUE(server_->closed());
  EXPECT_TRUE(client_->closed());
}

TEST_F(Session, AbortTimer1WhenThePeerNeverAnswers) {
  Connect();
  drop_server_to_client_ = true;
  server_->Abort(now_, StatusCode::kNoError, "test");
  Advance(absl::Milliseconds(2999));
  EXPECT_FALSE(server_->closed());
  Advance(absl::Milliseconds(1));
  EXPECT_TRUE(server_->closed());
}

TEST_F(Session, AbortCollision) {
  Connect();
  server_->Abort(now_, StatusCode::kNoError, "server side");
  client_->Abort(now_, StatusCode::kNoError, "client side");
  Pump();
  EXPECT_EQ(server_->state(), State::kCallAbortTimeoutPending);
  EXPECT_EQ(client_->state(), State::kCallAbortTimeoutPending);
  Advance(absl::Seconds(1));
  EXPECT_TRUE(server_->closed());
  EXPECT_TRUE(client_->closed());
}

TEST_F(Session, DisconnectTimer1WhenNoAckArrives) {
  Connect();
  drop_client_to_server_ = true;
  client_->Disconnect(now_, "user request");
  EXPECT_EQ(client_->state(), State::kCallDisconnectAckPending);
  Advance(absl::Milliseconds(4999));
  EXPECT_FALSE(client_->closed());
  Advance(absl::Milliseconds(1));
  EXPECT_TRUE(client_->closed());
}

TEST_F(Session, ServerInitiatedDisconnectWithAck) {
  Connect();
  server_->Disconnect(now_, "session limit");
  Pump();
  EXPECT_TRUE(server_->closed());  // DISCONNECT_ACK received
  EXPECT_EQ(client_->state(), State::kCallDisconnectTimeoutPending);
  Advance(absl::Seconds(1));
  EXPECT_TRUE(client_->closed());
}

TEST_F(Session, DisconnectCollision) {
  Connect();
  server_->Disconnect(now_, "a");
  client_->Disconnect(now_, "b");
  Pump();
  Advance(absl::Seconds(1));
  EXPECT_TRUE(server_->closed());
  EXPECT_TRUE(client_->closed());
}

// ---- negative acknowledgement and unexpected messages ---------------------------------------

TEST_F(Session, ServerNaksAnUnknownEncapsulatedProtocolThenAcceptsPpp) {
  Create();
  server_->Start(now_);
  server_->OnPacket(now_, EncodeCallConnectRequest(2).span());
  ASSERT_EQ(LastSentType(sout_), T(MessageType::kCallConnectNak));
  const ControlMessage nak = LastSentMessage(sout_);
  EXPECT_EQ(nak.num_attributes, 1);
  EXPECT_EQ(nak.first_status()->attrib_id, AttributeId::kEncapsulatedProtocolId);
  EXPECT_EQ(nak.first_status()->status, StatusCode::kValueNotSupported);
  EXPECT_EQ(nak.first_status()->value_length, kEncapsulatedProtocolIdLength);
  EXPECT_EQ(server_->state(), State::kServerConnectRequestPending);
  server_->OnPacket(now_, EncodeCallConnectRequest().span());
  EXPECT_EQ(LastSentType(sout_), T(MessageType::kCallConnectAck));
  EXPECT_EQ(server_->state(), State::kServerCallConnectedPending);
}

TEST_F(Session, ServerNaksAStatusInfoInCallConnectRequest) {
  Create();
  server_->Start(now_);
  std::vector<uint8_t> req = testing::Spec47CallConnectRequest();
  const std::vector<uint8_t> si = {0x00, 0x02, 0x00, 0x0C, 0, 0, 0, 0, 0, 0, 0, 7};
  req.insert(req.end(), si.begin(), si.end());
  req[3] = static_cast<uint8_t>(req.size());
  req[7] = 2;
  server_->OnPacket(now_, req);
  ASSERT_EQ(LastSentType(sout_), T(MessageType::kCallConnectNak));
  EXPECT_EQ(LastSentMessage(sout_).first_status()->status,
            StatusCode::kStatusInfoNotSupportedInMsg);
}

TEST_F(Session, ClientRetriesAfterNakThenAborts) {
  Create();
  client_->Start(now_);
  const ControlPacket nak =
      EncodeCallConnectNak(AttributeId::kEncapsulatedProtocolId, StatusCode::kValueNotSupported);
  for (int i = 0; i < client_config_.max_connect_retries; ++i) {
    client_->OnPacket(now_, nak.span());
    EXPECT_EQ(LastSentType(cout_), T(MessageType::kCallConnectRequest));
    EXPECT_EQ(client_->state(), State::kClientConnectRequestSent);
  }
  client_->OnPacket(now_, nak.span());
  EXPECT_EQ(LastSentType(cout_), T(MessageType::kCallAbort));
  EXPECT_EQ(LastSentMessage(cout_).first_status()->status, StatusCode::kRetryCountExceeded);
  EXPECT_EQ(SentTypes(cout_).size(), 1u + client_config_.max_connect_retries + 1u);
}

TEST_F(Session, ClientAbortsWhenNoHashProtocolIsAcceptable) {
  client_config_.hash_protocols = kHashProtocolSha256;
  server_config_.hash_protocols = kHashProtocolSha1;
  Start();
  EXPECT_EQ(LastSentType(cout_), T(MessageType::kCallAbort));
  EXPECT_EQ(LastSentMessage(cout_).first_status()->attrib_id, AttributeId::kCryptoBindingRequest);
  EXPECT_FALSE(Has(cout_, EventType::kStartPpp));
}

TEST_F(Session, UnexpectedMessagesAbort) {
  Connect();
  server_->OnPacket(now_, EncodeCallConnectRequest().span());  // again, after connect
  EXPECT_EQ(server_->state(), State::kCallAbortPending);
  EXPECT_EQ(LastSentMessage(sout_).first_status()->status, StatusCode::kUnacceptedFrameReceived);
  EXPECT_NE(Find(sout_, EventType::kAborted)->reason.find("SSTP_MSG_CALL_CONNECT_REQUEST"),
            std::string::npos);
}

TEST_F(Session, ServerAbortsOnACallConnectAckFromTheClient) {
  Start();
  server_->OnPacket(now_, EncodeCallConnectAck(3, TestNonce()).span());
  EXPECT_EQ(server_->state(), State::kCallAbortPending);
}

TEST_F(Session, EchoBeforeCallConnectRequestAborts) {
  Create();
  server_->Start(now_);
  server_->OnPacket(now_, EncodeEchoRequest().span());
  EXPECT_EQ(server_->state(), State::kCallAbortPending);
}

TEST_F(Session, InvalidPacketAbortsWithTheParseStatus) {
  Connect();
  const ControlPacket e = EncodeEchoRequest();
  std::vector<uint8_t> echo(e.span().begin(), e.span().end());
  echo.insert(echo.end(), {0x00, 0x09, 0x00, 0x04});  // unknown attribute
  echo[3] = 12;
  echo[7] = 1;
  client_->OnPacket(now_, echo);
  EXPECT_EQ(client_->state(), State::kCallAbortPending);
  EXPECT_EQ(LastSentMessage(cout_).first_status()->status, StatusCode::kUnrecognizedAttribute);
}

TEST_F(Session, FramingErrorClosesWithoutSending) {
  Connect();
  const size_t sent = sout_.sent.size();
  const std::vector<uint8_t> garbage = Hex("16 03 03 00 20");
  EXPECT_FALSE(FeedStream(now_, s_asm_, *server_, garbage).ok());
  EXPECT_TRUE(server_->closed());
  EXPECT_EQ(sout_.sent.size(), sent);  // MS-SSTP 3.1.5.1: no message to the far end
  EXPECT_TRUE(Has(sout_, EventType::kAborted));
}

TEST_F(Session, TransportLoss) {
  Connect();
  server_->OnTransportClosed(now_, "TCP reset");
  EXPECT_TRUE(server_->closed());
  EXPECT_NE(Find(sout_, EventType::kAborted)->reason.find("TCP reset"), std::string::npos);
  EXPECT_EQ(server_->next_deadline(), absl::InfiniteFuture());
  // Nothing happens after close.
  server_->OnPacket(now_, EncodeEchoRequest().span());
  EXPECT_FALSE(server_->SendPppFrame(now_, kIpv4Frame).ok());
}

TEST_F(Session, OversizedFrameIsRefused) {
  Connect();
  std::vector<uint8_t> big(kMaxDataPayload + 1, 0);
  big[0] = 0xFF;
  big[1] = 0x03;
  big[2] = 0x00;
  big[3] = 0x21;
  EXPECT_EQ(client_->SendPppFrame(now_, big).code(), absl::StatusCode::kInvalidArgument);
  big.pop_back();
  EXPECT_TRUE(client_->SendPppFrame(now_, big).ok());
  Pump();
  EXPECT_EQ(sout_.delivered.back().size(), kMaxDataPayload);
}

TEST(PppControlFrames, ProtocolClassification) {
  EXPECT_TRUE(IsPppControlFrame(Hex("FF 03 C0 21 01")));   // LCP
  EXPECT_TRUE(IsPppControlFrame(Hex("C0 23 01")));         // PAP, ACFC
  EXPECT_TRUE(IsPppControlFrame(Hex("C2 23 01")));         // CHAP
  EXPECT_TRUE(IsPppControlFrame(Hex("80 21 01")));         // IPCP
  EXPECT_TRUE(IsPppControlFrame(Hex("80 57 01")));         // IPV6CP
  EXPECT_FALSE(IsPppControlFrame(Hex("FF 03 00 21 45")));  // IPv4
  EXPECT_FALSE(IsPppControlFrame(Hex("21 45")));           // IPv4, PFC
  EXPECT_FALSE(IsPppControlFrame(Hex("00 57 60")));        // IPv6
  EXPECT_FALSE(IsPppControlFrame(Hex("FF 03")));
  EXPECT_FALSE(IsPppControlFrame({}));
  EXPECT_EQ(PppProtocol(Hex("FF 03 C0 21")), 0xC021);
  EXPECT_EQ(PppProtocol(Hex("21")), 0x21);
}

TEST(StateNames, ForLogs) {
  EXPECT_EQ(StateName(State::kServerCallConnectedPending), "Server_Call_Connected_Pending");
  EXPECT_EQ(StateName(State::kCallDisconnectTimeoutPending), "Call_Disconnect_Timeout_Pending");
  EXPECT_EQ(EventTypeName(EventType::kConnected), "connected");
}

}  // namespace
}  // namespace sstp
