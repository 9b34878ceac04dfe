#include "ring/ring.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ring/messages.h"

namespace ring {
namespace {

std::string UniqueName(const char* what) {
  return absl::StrCat("/sstp-ring-test-", what, "-", getpid());
}

class SegmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = UniqueName(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto seg = Segment::Create(name_, {.n_lcores = 2, .ring_bytes = 1 << 16});
    ASSERT_TRUE(seg.ok()) << seg.status();
    seg_ = *std::move(seg);
  }
  void TearDown() override { Segment::Unlink(name_); }
  std::string name_;
  Segment seg_;
};

TEST_F(SegmentTest, PushPeekReleaseInOrder) {
  Producer p = seg_.UpProducer(1, -1);
  Consumer c = seg_.UpConsumer(1);
  RecordHeader h;
  absl::Span<const uint8_t> payload;
  EXPECT_FALSE(c.Peek(&h, &payload));
  for (uint32_t i = 0; i < 10; ++i) {
    std::vector<uint8_t> body(i * 7, uint8_t(i));
    ASSERT_TRUE(p.Push(uint16_t(100 + i), 1, 1000 + i, body));
  }
  for (uint32_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(c.Peek(&h, &payload));
    EXPECT_EQ(h.type, 100 + i);
    EXPECT_EQ(h.session_id, 1000 + i);
    EXPECT_EQ(payload.size(), i * 7);
    for (uint8_t b : payload) EXPECT_EQ(b, i);
    c.Release();
  }
  EXPECT_FALSE(c.Peek(&h, &payload));
  // The other lcore's rings are untouched.
  Consumer c0 = seg_.UpConsumer(0);
  EXPECT_FALSE(c0.Peek(&h, &payload));
}

TEST_F(SegmentTest, FullRingRefusesAndCounts) {
  Producer p = seg_.DownProducer(0, -1);
  std::vector<uint8_t> body(1000, 0xab);
  int pushed = 0;
  while (p.Push(5, 1, 0, body)) ++pushed;
  EXPECT_EQ(pushed, (1 << 16) / 1024);  // 1000 + 16 rounds to 1024
  EXPECT_EQ(p.full_count(), 1u);
  EXPECT_FALSE(p.Push(5, 1, 0, body));
  EXPECT_EQ(p.full_count(), 2u);
  EXPECT_EQ(seg_.down_control(0)->full_bytes.load(), 2000u);
  // Draining one record makes room for exactly one more.
  Consumer c = seg_.DownConsumer(0);
  RecordHeader h;
  absl::Span<const uint8_t> payload;
  ASSERT_TRUE(c.Peek(&h, &payload));
  c.Release();
  EXPECT_TRUE(p.Push(5, 1, 0, body));
  EXPECT_FALSE(p.Push(5, 1, 0, body));
}

TEST_F(SegmentTest, OversizedRecordRefused) {
  Producer p = seg_.UpProducer(0, -1);
  std::vector<uint8_t> body(kMaxPayload + 1);
  EXPECT_FALSE(p.Push(5, 1, 0, body));
  EXPECT_EQ(p.full_count(), 1u);
}

TEST_F(SegmentTest, WrapsAroundWithPadding) {
  Producer p = seg_.UpProducer(0, -1);
  Consumer c = seg_.UpConsumer(0);
  RecordHeader h;
  absl::Span<const uint8_t> payload;
  uint64_t next_expected = 0;
  // Odd sizes force pads at the end of the buffer many times over.
  for (uint64_t i = 0; i < 20000; ++i) {
    std::vector<uint8_t> body(1 + (i * 37) % 3000);
    std::memcpy(body.data(), &i, std::min(body.size(), sizeof i));
    while (!p.Push(7, 1, i, body)) {
      ASSERT_TRUE(c.Peek(&h, &payload));
      EXPECT_EQ(h.session_id, next_expected++);
      c.Release();
    }
  }
  while (c.Peek(&h, &payload)) {
    EXPECT_EQ(h.session_id, next_expected++);
    EXPECT_EQ(payload.size(), 1 + (h.session_id * 37) % 3000);
    c.Release();
  }
  EXPECT_EQ(next_expected, 20000u);
  EXPECT_FALSE(c.corrupt());
}

TEST_F(SegmentTest, UnacknowledgedRecordIsSeenAgainByANewConsumer) {
  Producer p = seg_.UpProducer(0, -1);
  ASSERT_TRUE(p.Push(9, 1, 1, {}));
  ASSERT_TRUE(p.Push(9, 1, 2, {}));
  RecordHeader h;
  absl::Span<const uint8_t> payload;
  {
    Consumer c = seg_.UpConsumer(0);
    ASSERT_TRUE(c.Peek(&h, &payload));
    c.Release();  // acknowledged
    ASSERT_TRUE(c.Peek(&h, &payload));
    EXPECT_EQ(h.session_id, 2u);  // seen but not acknowledged: the consumer "dies" here
  }
  Consumer again = seg_.UpConsumer(0);
  ASSERT_TRUE(again.Peek(&h, &payload));
  EXPECT_EQ(h.session_id, 2u);
}

TEST_F(SegmentTest, AttachSeesTheSameRings) {
  auto other = Segment::Attach(name_);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->n_lcores(), 2u);
  Producer p = seg_.DownProducer(1, -1);
  ASSERT_TRUE(p.Push(3, 1, 77, {}));
  Consumer c = other->DownConsumer(1);
  RecordHeader h;
  absl::Span<const uint8_t> payload;
  ASSERT_TRUE(c.Peek(&h, &payload));
  EXPECT_EQ(h.session_id, 77u);
}

TEST_F(SegmentTest, AttachRejectsGarbage) {
  EXPECT_FALSE(Segment::Attach("/sstp-ring-test-does-not-exist").ok());
  seg_.header()->layout_version = 99;
  auto other = Segment::Attach(name_);
  EXPECT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("layout version"), std::string::npos);
}

TEST(SegmentCreate, RejectsBadOptions) {
  EXPECT_FALSE(Segment::Create("/sstp-ring-test-bad", {.n_lcores = 0}).ok());
  EXPECT_FALSE(Segment::Create("/sstp-ring-test-bad", {.n_lcores = 1, .ring_bytes = 100000}).ok());
  EXPECT_FALSE(Segment::Create("/sstp-ring-test-bad", {.n_lcores = 1000}).ok());
}

TEST_F(SegmentTest, ControlPlaneLiveness) {
  const uint64_t t0 = 5'000'000'000;
  EXPECT_FALSE(seg_.CpAcceptsSessions(t0));  // no control plane yet
  seg_.CpAttach(1234, t0);
  EXPECT_EQ(seg_.header()->cp_epoch.load(), 1u);
  EXPECT_FALSE(seg_.CpAcceptsSessions(t0));  // resyncing
  seg_.CpSetState(CpState::kReady);
  EXPECT_TRUE(seg_.CpAcceptsSessions(t0 + kHeartbeatTimeoutNs / 2));
  // Killed: the heartbeat goes stale and new sessions are refused.
  EXPECT_FALSE(seg_.CpAcceptsSessions(t0 + kHeartbeatTimeoutNs + 1));
  seg_.CpHeartbeat(t0 + kHeartbeatTimeoutNs);
  EXPECT_TRUE(seg_.CpAcceptsSessions(t0 + kHeartbeatTimeoutNs + 1));
  seg_.CpAttach(1235, t0 + 2 * kHeartbeatTimeoutNs);  // a new control plane
  EXPECT_EQ(seg_.header()->cp_epoch.load(), 2u);
  EXPECT_FALSE(seg_.CpAcceptsSessions(t0 + 2 * kHeartbeatTimeoutNs));
}

TEST_F(SegmentTest, DoorbellRingsOnlyWhenConsumerSleeps) {
  auto bell = Doorbell::Create();
  ASSERT_TRUE(bell.ok());
  Producer p = seg_.UpProducer(0, bell->fd());
  Consumer c = seg_.UpConsumer(0);
  pollfd pfd{bell->fd(), POLLIN, 0};
  ASSERT_TRUE(p.Push(1, 1, 1, {}));
  EXPECT_EQ(poll(&pfd, 1, 0), 0);    // consumer awake: no syscall, no doorbell
  EXPECT_FALSE(c.PrepareToSleep());  // data pending: must not sleep
  RecordHeader h;
  absl::Span<const uint8_t> payload;
  ASSERT_TRUE(c.Peek(&h, &payload));
  c.Release();
  EXPECT_TRUE(c.PrepareToSleep());
  ASSERT_TRUE(p.Push(1, 1, 2, {}));
  EXPECT_EQ(poll(&pfd, 1, 0), 1);
  bell->Drain();
  c.Awake();
  ASSERT_TRUE(p.Push(1, 1, 3, {}));
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
}

TEST(Fds, PassEventfdOverUnixSocket) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
  auto bell = Doorbell::Create();
  ASSERT_TRUE(bell.ok());
  ASSERT_TRUE(SendFds(sv[0], "up", {bell->fd()}).ok());
  std::string tag;
  auto fds = RecvFds(sv[1], &tag, 4);
  ASSERT_TRUE(fds.ok()) << fds.status();
  ASSERT_EQ(fds->size(), 1u);
  EXPECT_EQ(tag, "up");
  Doorbell received = Doorbell::Adopt((*fds)[0]);
  received.Ring();  // rings the original
  pollfd pfd{bell->fd(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 1);
  // Garbage on the socket is refused.
  ASSERT_EQ(write(sv[0], "\x05up", 3), 3);
  EXPECT_FALSE(RecvFds(sv[1], &tag, 4).ok());
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
}  // namespace ring
