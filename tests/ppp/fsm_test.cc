// The RFC 1661 section 4.1 state transition table, row by row, on a minimal protocol.
#include "ppp/fsm.h"

#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppp {
namespace {

using S = FsmState;
using ::testing::ElementsAreArray;

// One option, type 1 with a 1-byte value. Our wish is `want`; from the peer we accept value 1 and
// nak anything else toward 1; other option types are rejected.
class TestFsm : public Fsm {
 public:
  explicit TestFsm(FsmConfig c) : Fsm(0x8021, "TEST", c) {}
  uint8_t want = 1;
  bool send_option = true;
  bool fail_on_nak = false;

 protected:
  void ResetConfigureRequest() override {
    want = 1;
    send_option = true;
  }
  void BuildConfigureRequest(std::vector<uint8_t>& o) override {
    if (send_option) AppendOption8(1, want, o);
  }
  Verdict ReceiveConfigureRequest(const OptionList& opts, bool nak_allowed,
                                  std::vector<uint8_t>& reply) override {
    std::vector<uint8_t> nak, rej;
    for (const Option& o : opts) {
      if (o.type != 1 || o.data.size() != 1) {
        rej.insert(rej.end(), o.raw.begin(), o.raw.end());
      } else if (o.data[0] != 1) {
        if (nak_allowed) {
          AppendOption8(1, 1, nak);
        } else {
          rej.insert(rej.end(), o.raw.begin(), o.raw.end());
        }
      }
    }
    if (!rej.empty()) {
      reply = rej;
      return Verdict::kReject;
    }
    if (!nak.empty()) {
      reply = nak;
      return Verdict::kNak;
    }
    for (const Option& o : opts) reply.insert(reply.end(), o.raw.begin(), o.raw.end());
    return Verdict::kAck;
  }
  NakResult ReceiveConfigureNak(const OptionList& opts) override {
    if (fail_on_nak) return NakResult::kFail;
    for (const Option& o : opts) {
      if (o.type == 1 && o.data.size() == 1) want = o.data[0];
    }
    return NakResult::kApplied;
  }
  NakResult ReceiveConfigureReject(const OptionList&) override {
    send_option = false;
    return NakResult::kApplied;
  }
  std::string FailReason() const override { return "test says no"; }
};

std::vector<uint8_t> Packet(Code code, uint8_t id, std::vector<uint8_t> data) {
  std::vector<uint8_t> p = {static_cast<uint8_t>(code), id, 0, 0};
  p.insert(p.end(), data.begin(), data.end());
  p[3] = static_cast<uint8_t>(p.size());
  return p;
}

class Harness {
 public:
  explicit Harness(FsmConfig c = {}) : fsm(c) {}
  TestFsm fsm;
  absl::Time now = absl::FromUnixSeconds(1000);
  std::vector<uint8_t> sent_codes;
  std::vector<LayerEvent> events;
  uint8_t cr_id = 0;
  std::vector<uint8_t> cr_options;

  void Drain() {
    for (auto& p : fsm.TakeOutput()) {
      sent_codes.push_back(p[0]);
      if (p[0] == static_cast<uint8_t>(Code::kConfigureRequest)) {
        cr_id = p[1];
        cr_options.assign(p.begin() + 4, p.end());
      }
    }
    for (LayerEvent e : fsm.TakeEvents()) events.push_back(e);
  }
  void Clear() {
    Drain();
    sent_codes.clear();
    events.clear();
  }
  void In(std::vector<uint8_t> p) {
    fsm.Receive(p, now).IgnoreError();
    Drain();
  }
  // Events of RFC 1661 4.1.
  void Up() { fsm.Up(now), Drain(); }
  void Down() { fsm.Down(now), Drain(); }
  void Open() { fsm.Open(now), Drain(); }
  void Close() { fsm.Close(now, "admin"), Drain(); }
  void Timeout() {
    ASSERT_TRUE(fsm.NextDeadline().has_value());
    now = *fsm.NextDeadline();
    fsm.OnTimer(now);
    Drain();
  }
  void RcrGood() { In(Packet(Code::kConfigureRequest, 50, {1, 3, 1})); }
  void RcrBad() { In(Packet(Code::kConfigureRequest, 51, {1, 3, 7})); }
  void Rca() { In(Packet(Code::kConfigureAck, cr_id, cr_options)); }
  void Rcn() { In(Packet(Code::kConfigureNak, cr_id, {1, 3, 1})); }
  void Rtr() { In(Packet(Code::kTerminateRequest, 60, {})); }
  void Rta() { In(Packet(Code::kTerminateAck, 61, {})); }
  void Ruc() { In(Packet(static_cast<Code>(42), 62, {9, 9})); }
  void RxjPlus() { In(Packet(Code::kCodeReject, 63, Packet(static_cast<Code>(42), 1, {}))); }
  void RxjMinus() { In(Packet(Code::kCodeReject, 64, Packet(Code::kConfigureRequest, 1, {}))); }

  // Reach each state of the table.
  void Reach(S s) {
    switch (s) {
      case S::kInitial:
        break;
      case S::kStarting:
        Open();
        break;
      case S::kClosed:
        Up();
        break;
      case S::kStopped:
        Reach(S::kReqSent);
        while (fsm.state() == S::kReqSent) Timeout();
        break;
      case S::kClosing:
        Reach(S::kReqSent), Close();
        break;
      case S::kStopping:
        Reach(S::kOpened), Rtr();
        break;
      case S::kReqSent:
        Up(), Open();
        break;
      case S::kAckRcvd:
        Reach(S::kReqSent), Rca();
        break;
      case S::kAckSent:
        Reach(S::kReqSent), RcrGood();
        break;
      case S::kOpened:
        Reach(S::kAckRcvd), RcrGood();
        break;
    }
    ASSERT_EQ(fsm.state(), s) << FsmStateName(s);
    Clear();
  }
};

enum class Ev {
  kUp,
  kDown,
  kOpen,
  kClose,
  kToPlus,
  kToMinus,
  kRcrGood,
  kRcrBad,
  kRca,
  kRcn,
  kRtr,
  kRta,
  kRuc,
  kRxjPlus,
  kRxjMinus
};

const char* EvName(Ev e) {
  static const char* n[] = {"Up",  "Down", "Open", "Close", "TO+", "TO-",  "RCR+", "RCR-",
                            "RCA", "RCN",  "RTR",  "RTA",   "RUC", "RXJ+", "RXJ-"};
  return n[static_cast<int>(e)];
}

constexpr uint8_t CR = 1, CA = 2, CN = 3, TR = 5, TA = 6, CJ = 7;
using L = LayerEvent;

struct Row {
  S from;
  Ev ev;
  S to;
  std::vector<uint8_t> sent;
  std::vector<LayerEvent> layer;
};

void Apply(Harness& h, Ev e) {
  switch (e) {
    case Ev::kUp:
      h.Up();
      break;
    case Ev::kDown:
      h.Down();
      break;
    case Ev::kOpen:
      h.Open();
      break;
    case Ev::kClose:
      h.Close();
      break;
    case Ev::kToPlus:
    case Ev::kToMinus:
      h.Timeout();
      break;
    case Ev::kRcrGood:
      h.RcrGood();
      break;
    case Ev::kRcrBad:
      h.RcrBad();
      break;
    case Ev::kRca:
      h.Rca();
      break;
    case Ev::kRcn:
      h.Rcn();
      break;
    case Ev::kRtr:
      h.Rtr();
      break;
    case Ev::kRta:
      h.Rta();
      break;
    case Ev::kRuc:
      h.Ruc();
      break;
    case Ev::kRxjPlus:
      h.RxjPlus();
      break;
    case Ev::kRxjMinus:
      h.RxjMinus();
      break;
  }
}

TEST(FsmTableTest, EveryTransitionOfRfc1661Section4) {
  const std::vector<Row> rows = {
      // Up, Down
      {S::kInitial, Ev::kUp, S::kClosed, {}, {}},
      {S::kStarting, Ev::kUp, S::kReqSent, {CR}, {}},
      {S::kClosed, Ev::kDown, S::kInitial, {}, {}},
      {S::kStopped, Ev::kDown, S::kStarting, {}, {L::kStarted}},
      {S::kClosing, Ev::kDown, S::kInitial, {}, {}},
      {S::kStopping, Ev::kDown, S::kStarting, {}, {}},
      {S::kReqSent, Ev::kDown, S::kStarting, {}, {}},
      {S::kAckRcvd, Ev::kDown, S::kStarting, {}, {}},
      {S::kAckSent, Ev::kDown, S::kStarting, {}, {}},
      {S::kOpened, Ev::kDown, S::kStarting, {}, {L::kDown}},
      // Open
      {S::kInitial, Ev::kOpen, S::kStarting, {}, {L::kStarted}},
      {S::kStarting, Ev::kOpen, S::kStarting, {}, {}},
      {S::kClosed, Ev::kOpen, S::kReqSent, {CR}, {}},
      {S::kStopped, Ev::kOpen, S::kStopped, {}, {}},
      {S::kClosing, Ev::kOpen, S::kStopping, {}, {}},
      {S::kStopping, Ev::kOpen, S::kStopping, {}, {}},
      {S::kReqSent, Ev::kOpen, S::kReqSent, {}, {}},
      {S::kAckRcvd, Ev::kOpen, S::kAckRcvd, {}, {}},
      {S::kAckSent, Ev::kOpen, S::kAckSent, {}, {}},
      {S::kOpened, Ev::kOpen, S::kOpened, {}, {}},
      // Close
      {S::kInitial, Ev::kClose, S::kInitial, {}, {}},
      {S::kStarting, Ev::kClose, S::kInitial, {}, {L::kFinished}},
      {S::kClosed, Ev::kClose, S::kClosed, {}, {}},
      {S::kStopped, Ev::kClose, S::kClosed, {}, {}},
      {S::kClosing, Ev::kClose, S::kClosing, {}, {}},
      {S::kStopping, Ev::kClose, S::kClosing, {}, {}},
      {S::kReqSent, Ev::kClose, S::kClosing, {TR}, {}},
      {S::kAckRcvd, Ev::kClose, S::kClosing, {TR}, {}},
      {S::kAckSent, Ev::kClose, S::kClosing, {TR}, {}},
      {S::kOpened, Ev::kClose, S::kClosing, {TR}, {L::kDown}},
      // TO+ (restart counter not yet exhausted)
      {S::kClosing, Ev::kToPlus, S::kClosing, {TR}, {}},
      {S::kReqSent, Ev::kToPlus, S::kReqSent, {CR}, {}},
      {S::kAckRcvd, Ev::kToPlus, S::kReqSent, {CR}, {}},
      {S::kAckSent, Ev::kToPlus, S::kAckSent, {CR}, {}},
      // RCR+
      {S::kClosed, Ev::kRcrGood, S::kClosed, {TA}, {}},
      {S::kStopped, Ev::kRcrGood, S::kAckSent, {CR, CA}, {}},
      {S::kClosing, Ev::kRcrGood, S::kClosing, {}, {}},
      {S::kStopping, Ev::kRcrGood, S::kStopping, {}, {}},
      {S::kReqSent, Ev::kRcrGood, S::kAckSent, {CA}, {}},
      {S::kAckRcvd, Ev::kRcrGood, S::kOpened, {CA}, {L::kUp}},
      {S::kAckSent, Ev::kRcrGood, S::kAckSent, {CA}, {}},
      {S::kOpened, Ev::kRcrGood, S::kAckSent, {CR, CA}, {L::kDown}},
      // RCR-
      {S::kClosed, Ev::kRcrBad, S::kClosed, {TA}, {}},
      {S::kStopped, Ev::kRcrBad, S::kReqSent, {CR, CN}, {}},
      {S::kClosing, Ev::kRcrBad, S::kClosing, {}, {}},
      {S::kStopping, Ev::kRcrBad, S::kStopping, {}, {}},
      {S::kReqSent, Ev::kRcrBad, S::kReqSent, {CN}, {}},
      {S::kAckRcvd, Ev::kRcrBad, S::kAckRcvd, {CN}, {}},
      {S::kAckSent, Ev::kRcrBad, S::kReqSent, {CN}, {}},
      {S::kOpened, Ev::kRcrBad, S::kReqSent, {CR, CN}, {L::kDown}},
      // RCA
      {S::kClosed, Ev::kRca, S::kClosed, {TA}, {}},
      {S::kStopped, Ev::kRca, S::kStopped, {TA}, {}},
      {S::kClosing, Ev::kRca, S::kClosing, {}, {}},
      {S::kStopping, Ev::kRca, S::kStopping, {}, {}},
      {S::kReqSent, Ev::kRca, S::kAckRcvd, {}, {}},
      {S::kAckSent, Ev::kRca, S::kOpened, {}, {L::kUp}},
      {S::kOpened, Ev::kRca, S::kReqSent, {CR}, {L::kDown}},
      // RCN
      {S::kClosed, Ev::kRcn, S::kClosed, {TA}, {}},
      {S::kStopped, Ev::kRcn, S::kStopped, {TA}, {}},
      {S::kClosing, Ev::kRcn, S::kClosing, {}, {}},
      {S::kStopping, Ev::kRcn, S::kStopping, {}, {}},
      {S::kReqSent, Ev::kRcn, S::kReqSent, {CR}, {}},
      {S::kAckSent, Ev::kRcn, S::kAckSent, {CR}, {}},
      {S::kOpened, Ev::kRcn, S::kReqSent, {CR}, {L::kDown}},
      // RTR
      {S::kClosed, Ev::kRtr, S::kClosed, {TA}, {}},
      {S::kStopped, Ev::kRtr, S::kStopped, {TA}, {}},
      {S::kClosing, Ev::kRtr, S::kClosing, {TA}, {}},
      {S::kStopping, Ev::kRtr, S::kStopping, {TA}, {}},
      {S::kReqSent, Ev::kRtr, S::kReqSent, {TA}, {}},
      {S::kAckRcvd, Ev::kRtr, S::kReqSent, {TA}, {}},
      {S::kAckSent, Ev::kRtr, S::kReqSent, {TA}, {}},
      {S::kOpened, Ev::kRtr, S::kStopping, {TA}, {L::kDown}},
      // RTA
      {S::kClosed, Ev::kRta, S::kClosed, {}, {}},
      {S::kStopped, Ev::kRta, S::kStopped, {}, {}},
      {S::kClosing, Ev::kRta, S::kClosed, {}, {L::kFinished}},
      {S::kStopping, Ev::kRta, S::kStopped, {}, {L::kFinished}},
      {S::kReqSent, Ev::kRta, S::kReqSent, {}, {}},
      {S::kAckRcvd, Ev::kRta, S::kReqSent, {}, {}},
      {S::kAckSent, Ev::kRta, S::kAckSent, {}, {}},
      {S::kOpened, Ev::kRta, S::kReqSent, {CR}, {L::kDown}},
      // RUC
      {S::kClosed, Ev::kRuc, S::kClosed, {CJ}, {}},
      {S::kStopped, Ev::kRuc, S::kStopped, {CJ}, {}},
      {S::kClosing, Ev::kRuc, S::kClosing, {CJ}, {}},
      {S::kStopping, Ev::kRuc, S::kStopping, {CJ}, {}},
      {S::kReqSent, Ev::kRuc, S::kReqSent, {CJ}, {}},
      {S::kAckRcvd, Ev::kRuc, S::kAckRcvd, {CJ}, {}},
      {S::kAckSent, Ev::kRuc, S::kAckSent, {CJ}, {}},
      {S::kOpened, Ev::kRuc, S::kOpened, {CJ}, {}},
      // RXJ+
      {S::kClosed, Ev::kRxjPlus, S::kClosed, {}, {}},
      {S::kStopped, Ev::kRxjPlus, S::kStopped, {}, {}},
      {S::kClosing, Ev::kRxjPlus, S::kClosing, {}, {}},
      {S::kStopping, Ev::kRxjPlus, S::kStopping, {}, {}},
      {S::kReqSent, Ev::kRxjPlus, S::kReqSent, {}, {}},
      {S::kAckRcvd, Ev::kRxjPlus, S::kReqSent, {}, {}},
      {S::kAckSent, Ev::kRxjPlus, S::kAckSent, {}, {}},
      {S::kOpened, Ev::kRxjPlus, S::kOpened, {}, {}},
      // RXJ-
      {S::kClosed, Ev::kRxjMinus, S::kClosed, {}, {L::kFinished}},
      {S::kStopped, Ev::kRxjMinus, S::kStopped, {}, {L::kFinished}},
      {S::kClosing, Ev::kRxjMinus, S::kClosed, {}, {L::kFinished}},
      {S::kStopping, Ev::kRxjMinus, S::kStopped, {}, {L::kFinished}},
      {S::kReqSent, Ev::kRxjMinus, S::kStopped, {}, {L::kFinished}},
      {S::kAckRcvd, Ev::kRxjMinus, S::kStopped, {}, {L::kFinished}},
      {S::kAckSent, Ev::kRxjMinus, S::kStopped, {}, {L::kFinished}},
      {S::kOpened, Ev::kRxjMinus, S::kStopping, {TR}, {L::kDown}},
  };
  for (const Row& r : rows) {
    Harness h;
    h.Reach(r.from);
    Apply(h, r.ev);
    SCOPED_TRACE(testing::Message() << FsmStateName(r.from) << " + " << EvName(r.ev));
    EXPECT_EQ(h.fsm.state(), r.to) << FsmStateName(h.fsm.state());
    EXPECT_THAT(h.sent_codes, ElementsAreArray(r.sent));
    EXPECT_THAT(h.events, ElementsAreArray(r.layer));
  }
}

// TO- needs an exhausted restart counter: Max-Configure / Max-Terminate of 0 after irc.
TEST(FsmTableTest, TimeoutWithCounterExhausted) {
  struct R {
    S from;
    S to;
  };
  for (R r : {R{S::kClosing, S::kClosed}, R{S::kReqSent, S::kStopped}, R{S::kAckRcvd, S::kStopped},
              R{S::kAckSent, S::kStopped}}) {
    Harness h(FsmConfig{.max_terminate = 0, .max_configure = 0});
    h.Reach(r.from);
    h.Timeout();
    EXPECT_EQ(h.fsm.state(), r.to) << FsmStateName(r.from);
    EXPECT_TRUE(h.sent_codes.empty());
    EXPECT_THAT(h.events, ElementsAreArray({L::kFinished}));
    EXPECT_FALSE(h.fsm.NextDeadline().has_value());
  }
  // Stopping entered from Opened by RTR zeroes the counter (zrc): one Restart period, then tlf.
  Harness h;
  h.Reach(S::kStopping);
  absl::Time entered = h.now;
  h.Timeout();
  EXPECT_EQ(h.now - entered, absl::Seconds(3));
  EXPECT_EQ(h.fsm.state(), S::kStopped);
  EXPECT_THAT(h.events, ElementsAreArray({L::kFinished}));
}

TEST(FsmTableTest, StoppingRetransmitsTerminateRequestOnTimeoutPlus) {
  Harness h;
  h.Reach(S::kOpened);
  h.RxjMinus();  // irc, str/5
  h.Clear();
  h.Timeout();  // TO+: str
  EXPECT_EQ(h.fsm.state(), S::kStopping);
  EXPECT_THAT(h.sent_codes, ElementsAreArray({TR}));
  h.Timeout();  // Max-Terminate 2 reached: TO-
  EXPECT_EQ(h.fsm.state(), S::kStopped);
}

TEST(FsmCountersTest, MaxConfigureTenRequestsThreeSecondsApart) {
  Harness h;
  h.Up();
  absl::Time start = h.now;
  h.Open();
  while (h.fsm.state() == S::kReqSent) h.Timeout();
  EXPECT_EQ(h.fsm.state(), S::kStopped);
  EXPECT_EQ(std::count(h.sent_codes.begin(), h.sent_codes.end(), CR), 10);
  EXPECT_EQ(h.now - start, absl::Seconds(30));
  EXPECT_THAT(h.events, ElementsAreArray({L::kFinished}));
  EXPECT_NE(h.fsm.finish_reason().find("Max-Configure"), std::string::npos);
  // Retransmissions keep the Identifier (RFC 1661 5.1 allows it; late answers still count).
  EXPECT_EQ(h.cr_id, 1);
}

TEST(FsmCountersTest, MaxTerminateTwoRequests) {
  Harness h;
  h.Reach(S::kOpened);
  h.Close();
  while (h.fsm.state() == S::kClosing) h.Timeout();
  EXPECT_EQ(h.fsm.state(), S::kClosed);
  EXPECT_EQ(std::count(h.sent_codes.begin(), h.sent_codes.end(), TR), 2);
  EXPECT_THAT(h.events, ElementsAreArray({L::kDown, L::kFinished}));
}

TEST(FsmCountersTest, MaxFailureTurnsNaksIntoRejects) {
  Harness h;
  h.Reach(S::kReqSent);
  for (int i = 0; i < 5; ++i) h.RcrBad();
  EXPECT_THAT(h.sent_codes, ElementsAreArray({CN, CN, CN, CN, CN}));
  h.RcrBad();  // the sixth would be a Nak: Max-Failure 5 makes it a Reject (RFC 1661 4.6)
  EXPECT_EQ(h.sent_codes.back(), 4);
  h.RcrGood();  // an Ack resets the failure count
  EXPECT_EQ(h.fsm.failure_count(), 0);
}

TEST(FsmBehaviourTest, NakAdjustsTheNextRequestAndGetsANewIdentifier) {
  Harness h;
  h.Reach(S::kReqSent);
  uint8_t first = h.cr_id;
  h.In(Packet(Code::kConfigureNak, h.cr_id, {1, 3, 9}));
  EXPECT_EQ(h.cr_options, (std::vector<uint8_t>{1, 3, 9}));
  EXPECT_NE(h.cr_id, first);
  h.In(Packet(Code::kConfigureReject, h.cr_id, {1, 3, 9}));
  EXPECT_TRUE(h.cr_options.empty());
}

TEST(FsmBehaviourTest, RepliesWithWrongIdentifierOrContentAreDropped) {
  Harness h;
  h.Reach(S::kReqSent);
  EXPECT_FALSE(h.fsm.Receive(Packet(Code::kConfigureAck, h.cr_id + 1, h.cr_options), h.now).ok());
  EXPECT_FALSE(h.fsm.Receive(Packet(Code::kConfigureAck, h.cr_id, {1, 3, 5}), h.now).ok());
  EXPECT_EQ(h.fsm.state(), S::kReqSent);
  h.Rca();
  EXPECT_EQ(h.fsm.state(), S::kAckRcvd);
  // A duplicate of the same Ack does not count twice.
  EXPECT_FALSE(h.fsm.Receive(Packet(Code::kConfigureAck, h.cr_id, h.cr_options), h.now).ok());
  EXPECT_EQ(h.fsm.state(), S::kAckRcvd);
}

TEST(FsmBehaviourTest, FailedNakClosesWithReason) {
  Harness h;
  h.Reach(S::kReqSent);
  h.fsm.fail_on_nak = true;
  h.Rcn();
  EXPECT_EQ(h.fsm.state(), S::kClosing);
  EXPECT_EQ(h.fsm.finish_reason(), "test says no");
  EXPECT_THAT(h.sent_codes, ElementsAreArray({TR}));
}

TEST(FsmBehaviourTest, MalformedPacketsAreDroppedWithAReason) {
  Harness h;
  h.Reach(S::kReqSent);
  const std::vector<uint8_t> short_packet = {1, 2, 0};
  EXPECT_FALSE(h.fsm.Receive(short_packet, h.now).ok());
  const std::vector<uint8_t> bad_length = {1, 2, 0, 40, 1, 3, 1};
  EXPECT_FALSE(h.fsm.Receive(bad_length, h.now).ok());
  // Bytes past Length are padding.
  std::vector<uint8_t> padded = Packet(Code::kConfigureRequest, 7, {1, 3, 1});
  padded.push_back(0xEE);
  EXPECT_TRUE(h.fsm.Receive(padded, h.now).ok());
  h.Drain();
  EXPECT_EQ(h.sent_codes.back(), CA);
  // An option list that cannot be parsed is rejected whole.
  h.In(Packet(Code::kConfigureRequest, 8, {1, 9, 1}));
  EXPECT_EQ(h.sent_codes.back(), 4);
  EXPECT_EQ(h.fsm.state(), S::kReqSent);
}

TEST(FsmBehaviourTest, TerminateRequestCarriesTheReasonAndPeerReasonIsRecorded) {
  Harness h;
  h.Reach(S::kOpened);
  h.fsm.Close(h.now, "bye");
  auto out = h.fsm.TakeOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::string(out[0].begin() + 4, out[0].end()), "bye");
  Harness g;
  g.Reach(S::kOpened);
  g.In(Packet(Code::kTerminateRequest, 3, {'o', 'k'}));
  EXPECT_TRUE(g.fsm.terminated_by_peer());
  EXPECT_EQ(g.fsm.finish_reason(), "peer sent Terminate-Request: \"ok\"");
}

TEST(FsmBehaviourTest, ProtocolRejectFromLcpStopsTheProtocol) {
  Harness h;
  h.Reach(S::kOpened);
  h.fsm.ReceiveProtocolReject(h.now);
  h.Drain();
  EXPECT_EQ(h.fsm.state(), S::kStopping);
  EXPECT_THAT(h.events, ElementsAreArray({L::kDown}));
}

}  // namespace
}  // namespace ppp
