// Packetdrill-style tests of the TCP stack: a scripted peer injects segments at scripted times and
// checks every segment the stack emits (flags, sequence numbers, options, payload, checksums).
#include "dataplane/tcp/tcp.h"

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "dataplane/tcp/tcp_parse.h"
#include "gtest/gtest.h"

namespace dp::tcp {
namespace {

rte_mempool* g_pool = nullptr;

constexpr uint32_t kLocal = 0xc6120001;  // 198.18.0.1 (the stack)
constexpr uint32_t kPeer = 0xc6120002;   // 198.18.0.2 (the scripted peer)
constexpr uint16_t kPort = 443;
constexpr uint16_t kPeerPort = 40000;
constexpr uint64_t kMs = 1000000;

struct Out {
  TcpHeader h;
  TcpOptions o;
  std::string payload;
  uint32_t src = 0, dst = 0;
  bool Has(uint8_t f) const { return (h.flags & f) == f; }
};

struct Seg {
  uint8_t flags = kAck;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t win = 65535;
  TcpOptions opt;
  std::string payload;
  uint16_t sport = kPeerPort;
  uint16_t dport = kPort;
  bool bad_csum = false;
};

class Recorder : public Handler {
 public:
  bool OnAccept(Conn* c) override {
    accepted.push_back(c);
    return accept;
  }
  void OnConnected(Conn* c) override { connected.push_back(c); }
  void OnData(Conn* c, rte_mbuf* m) override {
    uint32_t n = m->pkt_len;
    for (rte_mbuf* s = m; s != nullptr; s = s->next) {
      data.append(rte_pktmbuf_mtod(s, const char*), s->data_len);
    }
    rte_pktmbuf_free(m);
    if (consume)
      stack->Consumed(c, n, *now);
    else
      unconsumed += n;
  }
  void OnWritable(Conn*) override { ++writable; }
  void OnPeerClosed(Conn*) override { ++peer_closed; }
  void OnClosed(Conn* c, CloseReason why) override {
    closed.push_back(why);
    if (c == last) last = nullptr;
  }
  Stack* stack = nullptr;
  uint64_t* now = nullptr;
  bool accept = true;
  bool consume = true;
  uint32_t unconsumed = 0;
  std::vector<Conn*> accepted, connected;
  std::string data;
  int writable = 0, peer_closed = 0;
  std::vector<CloseReason> closed;
  Conn* last = nullptr;
};

class TcpTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(StackConfig()); }
  void TearDown() override {
    stack_.reset();
    Drain();
  }

  void Make(StackConfig cfg) {
    stack_.reset();
    Drain();
    cfg.pool = g_pool;
    cfg.output = IpOutput{&TcpTest::Capture, this};
    for (int i = 0; i < 16; ++i) cfg.isn_secret[i] = static_cast<uint8_t>(i + 1);
    cfg_ = cfg;
    auto s = Stack::Create(cfg);
    ASSERT_TRUE(s.ok()) << s.status();
    stack_ = std::move(*s);
    rec_ = Recorder();
    rec_.stack = stack_.get();
    rec_.now = &now_;
    ASSERT_TRUE(stack_->Listen(kLocal, kPort, &rec_).ok());
  }

  static void Capture(void* ctx, rte_mbuf* m, uint32_t dst) {
    static_cast<TcpTest*>(ctx)->out_.push_back(m);
  }
  void Drain() {
    for (rte_mbuf* m : out_) rte_pktmbuf_free(m);
    out_.clear();
  }

  rte_mbuf* Build(const Seg& s) {
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    size_t optlen = OptionsLength(s.opt);
    size_t tcp_len = 20 + optlen + s.payload.size();
    uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 20 + tcp_len));
    std::memset(p, 0, 20);
    p[0] = 0x45;
    StoreBe16(p + 2, static_cast<uint16_t>(20 + tcp_len));
    p[8] = 64;
    p[9] = 6;
    StoreBe32(p + 12, kPeer);
    StoreBe32(p + 16, kLocal);
    StoreBe16(p + 10, ChecksumFold(ChecksumPartial(p, 20, 0)));
    TcpHeader h;
    h.src_port = s.sport;
    h.dst_port = s.dport;
    h.seq = s.seq;
    h.ack = s.ack;
    h.flags = s.flags;
    h.window = s.win;
    h.header_len = static_cast<uint8_t>(20 + optlen);
    WriteTcpHeader(h, p + 20);
    WriteOptions(s.opt, p + 40);
    std::memcpy(p + 20 + h.header_len, s.payload.data(), s.payload.size());
    uint16_t ck =
        ChecksumFold(ChecksumPartial(p + 20, tcp_len, PseudoHeaderSum(kPeer, kLocal, tcp_len)));
    if (s.bad_csum) ck ^= 0x1234;
    StoreBe16(p + 36, ck);
    return m;
  }

  void Inject(const Seg& s) {
    stack_->Input(Build(s), now_);
    stack_->EndBurst(now_);
  }
  void InjectRaw(rte_mbuf* m) {
    stack_->Input(m, now_);
    stack_->EndBurst(now_);
  }
  void Advance(uint64_t ms) {
    uint64_t end = now_ + ms * kMs;
    // Step through every deadline like the lcore loop does.
    while (true) {
      uint64_t next = stack_->NextTimerNs();
      if (next > end) break;
      now_ = std::max(now_, next);
      stack_->OnTimer(now_);
      stack_->EndBurst(now_);
    }
    now_ = end;
    stack_->OnTimer(now_);
    stack_->EndBurst(now_);
  }

  size_t Pending() const { return out_.size(); }

  Out Pop() {
    Out o;
    EXPECT_FALSE(out_.empty()) << "the stack sent nothing";
    if (out_.empty()) return o;
    rte_mbuf* m = out_.front();
    out_.pop_front();
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    EXPECT_EQ(p[0], 0x45);
    EXPECT_EQ(p[9], 6);
    EXPECT_EQ(ChecksumFold(ChecksumPartial(p, 20, 0)), 0) << "bad IPv4 checksum";
    uint16_t total = LoadBe16(p + 2);
    EXPECT_EQ(total, m->pkt_len);
    o.src = LoadBe32(p + 12);
    o.dst = LoadBe32(p + 16);
    EXPECT_EQ(ChecksumFold(
                  ChecksumPartial(p + 20, total - 20, PseudoHeaderSum(o.src, o.dst, total - 20))),
              0)
        << "bad TCP checksum";
    EXPECT_EQ(ParseTcp(absl::MakeConstSpan(p + 20, total - 20), &o.h, &o.o), ParseResult::kOk);
    o.payload.assign(reinterpret_cast<const char*>(p + 20 + o.h.header_len),
                     total - 20 - o.h.header_len);
    rte_pktmbuf_free(m);
    return o;
  }

  static TcpOptions SynOpts(bool ts = true, bool sack = true, int ws = 7, uint16_t mss = 1460) {
    TcpOptions o;
    o.has_mss = true;
    o.mss = mss;
    if (ws >= 0) {
      o.has_wscale = true;
      o.wscale = static_cast<uint8_t>(ws);
    }
    o.sack_permitted = sack;
    if (ts) {
      o.has_ts = true;
      o.ts_val = peer_ts_;
    }
    return o;
  }
  TcpOptions Ts() {
    TcpOptions o;
    o.has_ts = true;
    o.ts_val = ++peer_ts_;
    o.ts_ecr = our_ts_;
    return o;
  }

  // Passive open; leaves the connection ESTABLISHED with peer ISN 1000.
  Conn* Accept(bool ts = true, bool sack = true, int ws = 7) {
    Seg syn;
    syn.flags = kSyn;
    syn.seq = 1000;
    syn.opt = SynOpts(ts, sack, ws);
    Inject(syn);
    Out sa = Pop();
    EXPECT_TRUE(sa.Has(kSyn | kAck));
    EXPECT_EQ(sa.h.ack, 1001u);
    iss_ = sa.h.seq;
    our_ts_ = sa.o.ts_val;
    Seg ack;
    ack.seq = 1001;
    ack.ack = iss_ + 1;
    ack.win = 1024;  // scaled by 2^ws
    if (ts) ack.opt = Ts();
    Inject(ack);
    EXPECT_EQ(rec_.accepted.size(), 1u);
    peer_nxt_ = 1001;
    snd_ = iss_ + 1;
    return rec_.accepted.empty() ? nullptr : rec_.accepted.back();
  }

  // A chain of mbufs of at most 1000 bytes each (the stack must handle chains).
  rte_mbuf* Payload(const std::string& s) {
    rte_mbuf* head = nullptr;
    for (size_t off = 0; off < s.size() || head == nullptr; off += 1000) {
      size_t n = std::min<size_t>(1000, s.size() - off);
      rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(n)), s.data() + off, n);
      if (head == nullptr) {
        head = m;
      } else {
        EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
      }
      if (n == 0) break;
    }
    return head;
  }

  // Peer data segment at peer_nxt_.
  Seg Data(const std::string& payload, bool ts = true) {
    Seg d;
    d.flags = kAck | kPsh;
    d.seq = peer_nxt_;
    d.ack = snd_;
    d.win = 1024;
    d.payload = payload;
    if (ts) d.opt = Ts();
    return d;
  }
  Seg AckOf(uint32_t ack, bool ts = true) {
    Seg a;
    a.seq = peer_nxt_;
    a.ack = ack;
    a.win = 1024;
    if (ts) a.opt = Ts();
    return a;
  }

  StackConfig cfg_;
  std::unique_ptr<Stack> stack_;
  Recorder rec_;
  std::deque<rte_mbuf*> out_;
  uint64_t now_ = 1000 * kMs;
  static inline uint32_t peer_ts_ = 5000;
  uint32_t our_ts_ = 0;
  uint32_t iss_ = 0;
  uint32_t peer_nxt_ = 0;
  uint32_t snd_ = 0;
};

TEST_F(TcpTest, PassiveHandshakeNegotiatesOptions) {
  Seg syn;
  syn.flags = kSyn;
  syn.seq = 1000;
  syn.opt = SynOpts();
  Inject(syn);
  EXPECT_EQ(stack_->conn_count(), 1u);
  Out sa = Pop();
  EXPECT_EQ(sa.h.flags, kSyn | kAck);
  EXPECT_EQ(sa.src, kLocal);
  EXPECT_EQ(sa.dst, kPeer);
  EXPECT_EQ(sa.h.src_port, kPort);
  EXPECT_EQ(sa.h.dst_port, kPeerPort);
  EXPECT_EQ(sa.h.ack, 1001u);
  EXPECT_TRUE(sa.o.has_mss);
  EXPECT_EQ(sa.o.mss, 1460);
  EXPECT_TRUE(sa.o.has_wscale);
  EXPECT_EQ(sa.o.wscale, 3);  // 256 KiB receive buffer
  EXPECT_TRUE(sa.o.sack_permitted);
  EXPECT_TRUE(sa.o.has_ts);
  EXPECT_EQ(sa.o.ts_ecr, peer_ts_);
  EXPECT_EQ(sa.h.window, 65535);
  EXPECT_TRUE(rec_.accepted.empty());
  Seg ack;
  ack.seq = 1001;
  ack.ack = sa.h.seq + 1;
  ack.opt = Ts();
  ack.opt.ts_ecr = sa.o.ts_val;
  Inject(ack);
  ASSERT_EQ(rec_.accepted.size(), 1u);
  EXPECT_EQ(Stack::GetState(rec_.accepted[0]), State::kEstablished);
  Tuple t = Stack::GetTuple(rec_.accepted[0]);
  EXPECT_EQ(t.remote_ip, kPeer);
  EXPECT_EQ(t.remote_port, kPeerPort);
  EXPECT_EQ(Pending(), 0u);  // nothing to say yet
  EXPECT_EQ(stack_->counters().conns_accepted, 1u);
}

TEST_F(TcpTest, ListenerAndConnectionUserPointers) {
  int tag = 0;
  ASSERT_TRUE(stack_->Listen(0, 8443, &rec_, &tag).ok());
  EXPECT_FALSE(stack_->Listen(0, 8443, &rec_, &tag).ok());  // already listening
  Seg syn;
  syn.flags = kSyn;
  syn.seq = 1;
  syn.dport = 8443;
  Inject(syn);
  Out sa = Pop();
  Seg ack;
  ack.seq = 2;
  ack.ack = sa.h.seq + 1;
  ack.dport = 8443;
  Inject(ack);
  ASSERT_EQ(rec_.accepted.size(), 1u);
  Conn* c = rec_.accepted[0];
  EXPECT_EQ(stack_->GetListenerUser(c), &tag);
  EXPECT_EQ(Stack::GetUser(c), nullptr);
  Stack::SetUser(c, &tag);
  EXPECT_EQ(Stack::GetUser(c), &tag);
  EXPECT_EQ(Stack::GetTuple(c).local_port, 8443);
  EXPECT_TRUE(stack_->Unlisten(0, 8443).ok());
  syn.sport = kPeerPort + 5;
  Inject(syn);
  EXPECT_TRUE(Pop().Has(kRst));  // no listener any more; the established connection stays
  EXPECT_EQ(Stack::GetState(c), State::kEstablished);
}

TEST_F(TcpTest, IsnsDifferPerTupleAndAdvanceWithTheClock) {
  Seg syn;
  syn.flags = kSyn;
  syn.seq = 1;
  Inject(syn);
  uint32_t a = Pop().h.seq;
  syn.sport = kPeerPort + 1;
  Inject(syn);
  uint32_t b = Pop().h.seq;
  EXPECT_NE(a, b);
}

TEST_F(TcpTest, ActiveOpen) {
  auto c = stack_->Connect(kLocal, 0, kPeer, 80, &rec_, &rec_, now_);
  ASSERT_TRUE(c.ok()) << c.status();
  Out syn = Pop();
  EXPECT_EQ(syn.h.flags, kSyn);
  EXPECT_EQ(syn.h.dst_port, 80);
  EXPECT_GE(syn.h.src_port, cfg_.ephemeral_lo);
  EXPECT_TRUE(syn.o.has_mss && syn.o.has_wscale && syn.o.sack_permitted && syn.o.has_ts);
  EXPECT_EQ(Stack::GetState(*c), State::kSynSent);
  Seg sa;
  sa.flags = kSyn | kAck;
  sa.seq = 7000;
  sa.ack = syn.h.seq + 1;
  sa.sport = 80;
  sa.dport = syn.h.src_port;
  sa.opt = SynOpts(true, true, 2, 1400);
  sa.opt.ts_ecr = syn.o.ts_val;
  Inject(sa);
  ASSERT_EQ(rec_.connected.size(), 1u);
  EXPECT_EQ(Stack::GetUser(*c), &rec_);
  Out ack = Pop();
  EXPECT_EQ(ack.h.flags, kAck);
  EXPECT_EQ(ack.h.seq, syn.h.seq + 1);
  EXPECT_EQ(ack.h.ack, 7001u);
  // Data out respects the peer's MSS minus the timestamp option.
  ASSERT_TRUE(stack_->Send(*c, Payload(std::string(3000, 'x')), now_));
  Out d1 = Pop();
  EXPECT_EQ(d1.payload.size(), 1400u - 12);
}

TEST_F(TcpTest, ActiveOpenRefusedAndSynRetransmission) {
  auto c = stack_->Connect(kLocal, 5555, kPeer, 80, &rec_, nullptr, now_);
  ASSERT_TRUE(c.ok());
  Out syn = Pop();
  Advance(999);
  EXPECT_EQ(Pending(), 0u);
  Advance(1);
  Out again = Pop();  // RFC 6298 initial RTO of 1 s
  EXPECT_EQ(again.h.flags, kSyn);
  EXPECT_EQ(again.h.seq, syn.h.seq);
  Seg rst;
  rst.flags = kRst | kAck;
  rst.seq = 0;
  rst.ack = syn.h.seq + 1;
  rst.sport = 80;
  rst.dport = 5555;
  Inject(rst);
  ASSERT_EQ(rec_.closed.size(), 1u);
  EXPECT_EQ(rec_.closed[0], CloseReason::kRefused);
  EXPECT_EQ(stack_->conn_count(), 0u);
}

TEST_F(TcpTest, DataInDelayedAckAndEverySecondSegment) {
  Conn* c = Accept();
  ASSERT_NE(c, nullptr);
  Inject(Data("hello"));
  peer_nxt_ += 5;
  EXPECT_EQ(rec_.data, "hello");
  EXPECT_EQ(Pending(), 0u);  // delayed
  Advance(39);
  EXPECT_EQ(Pending(), 0u);
  Advance(1);
  Out a = Pop();
  EXPECT_EQ(a.h.flags, kAck);
  EXPECT_EQ(a.h.ack, peer_nxt_);
  EXPECT_EQ(stack_->counters().delayed_acks, 1u);
  // Two full-sized segments: ACK without waiting.
  std::string big(1448, 'a');
  Inject(Data(big));
  peer_nxt_ += 1448;
  EXPECT_EQ(Pending(), 0u);
  Inject(Data(big));
  peer_nxt_ += 1448;
  Out b = Pop();
  EXPECT_EQ(b.h.ack, peer_nxt_);
  EXPECT_EQ(stack_->GetStats(c).bytes_in, 5u + 2 * 1448);
}

TEST_F(TcpTest, DataOutSegmentsAndAcks) {
  Conn* c = Accept();
  std::string msg(4000, 0);
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(stack_->Send(c, Payload(msg.substr(0, 1000)), now_));
  ASSERT_TRUE(stack_->Send(c, Payload(msg.substr(1000)), now_));
  std::string got;
  uint32_t seq = snd_;
  while (Pending() > 0) {
    Out d = Pop();
    EXPECT_EQ(d.h.seq, seq);
    EXPECT_LE(d.payload.size(), 1448u);
    EXPECT_EQ(d.h.ack, peer_nxt_);
    seq += d.payload.size();
    got += d.payload;
  }
  EXPECT_EQ(got, msg);
  EXPECT_TRUE(Pending() == 0);
  Inject(AckOf(snd_ + 4000));
  EXPECT_EQ(stack_->GetStats(c).bytes_out, 4000u);
  EXPECT_EQ(stack_->GetStats(c).queued, 0u);
  EXPECT_EQ(stack_->queued_bytes(), 0u);
}

TEST_F(TcpTest, LossAndRtoWithBackoff) {
  Conn* c = Accept();
  ASSERT_TRUE(stack_->Send(c, Payload("important"), now_));
  Out d = Pop();
  Advance(199);
  EXPECT_EQ(Pending(), 0u);
  Advance(1);  // RTO = max(rto_min, srtt + 4 rttvar) = 200 ms on a ~0 RTT path
  Out r1 = Pop();
  EXPECT_EQ(r1.h.seq, d.h.seq);
  EXPECT_EQ(r1.payload, "important");
  Advance(399);
  EXPECT_EQ(Pending(), 0u);
  Advance(1);  // doubled (RFC 6298 5.5)
  Out r2 = Pop();
  EXPECT_EQ(r2.h.seq, d.h.seq);
  EXPECT_EQ(stack_->counters().rto_expired, 2u);
  Inject(AckOf(snd_ + 9));
  Advance(2000);
  EXPECT_EQ(Pending(), 0u);
  EXPECT_EQ(stack_->GetStats(c).segs_retransmitted, 2u);
}

TEST_F(TcpTest, RetransmissionLimitCloses) {
  StackConfig cfg;
  cfg.max_retries = 3;
  Make(cfg);
  Conn* c = Accept();
  ASSERT_TRUE(stack_->Send(c, Payload("x"), now_));
  Advance(60000);
  ASSERT_EQ(rec_.closed.size(), 1u);
  EXPECT_EQ(rec_.closed[0], CloseReason::kTimeout);
  Drain();
}

TEST_F(TcpTest, FastRetransmitOnThreeDupAcks) {
  Conn* c = Accept(true, false);  // no SACK: NewReno
  ASSERT_TRUE(stack_->Send(c, Payload(std::string(5 * 1448, 'z')), now_));
  std::vector<Out> segs;
  while (Pending()) segs.push_back(Pop());
  ASSERT_EQ(segs.size(), 5u);
  Inject(AckOf(snd_));
  Inject(AckOf(snd_));
  EXPECT_EQ(Pending(), 0u);
  Inject(AckOf(snd_));
  Out r = Pop();
  EXPECT_EQ(r.h.seq, snd_);
  EXPECT_EQ(r.payload.size(), 1448u);
  EXPECT_EQ(stack_->counters().fast_retransmits, 1u);
  // Partial ACK: the next hole is resent at once (RFC 6582).
  Inject(AckOf(snd_ + 1448));
  Out r2 = Pop();
  EXPECT_EQ(r2.h.seq, snd_ + 1448);
  Inject(AckOf(snd_ + 5 * 1448));
  EXPECT_EQ(stack_->GetStats(c).queued, 0u);
}

TEST_F(TcpTest, SackRecoveryRetransmitsOnlyHoles) {
  Conn* c = Accept();
  const uint32_t mss = 1448;
  ASSERT_TRUE(stack_->Send(c, Payload(std::string(8 * mss, 's')), now_));
  int n = 0;
  while (Pending()) {
    Pop();
    ++n;
  }
  ASSERT_EQ(n, 8);
  // Segments 0 and 3 lost; the peer SACKs 1-2 and 4-7.
  Seg a = AckOf(snd_);
  a.opt.num_sack = 2;
  a.opt.sack[0] = SackBlock{snd_ + 4 * mss, snd_ + 8 * mss};
  a.opt.sack[1] = SackBlock{snd_ + mss, snd_ + 3 * mss};
  Inject(a);
  std::vector<uint32_t> rexmit;
  while (Pending()) rexmit.push_back(Pop().h.seq - snd_);
  ASSERT_GE(rexmit.size(), 1u);
  EXPECT_EQ(rexmit[0], 0u);
  if (rexmit.size() < 2) {
    Inject(a);  // another dupACK opens the pipe
    while (Pending()) rexmit.push_back(Pop().h.seq - snd_);
  }
  ASSERT_EQ(rexmit.size(), 2u);
  EXPECT_EQ(rexmit[1], 3 * mss);  // only the holes, never the SACKed data
  EXPECT_GE(stack_->counters().sack_recovery_rexmits, 1u);
  Inject(AckOf(snd_ + 8 * mss));
  EXPECT_EQ(stack_->GetStats(c).queued, 0u);
  EXPECT_EQ(Pending(), 0u);
}

TEST_F(TcpTest, OutOfOrderGetsSackAndIsDeliveredInOrder) {
  Conn* c = Accept();
  Seg second = Data("world");
  second.seq = peer_nxt_ + 5;
  Inject(second);
  EXPECT_EQ(rec_.data, "");
  Out dup = Pop();
  EXPECT_EQ(dup.h.ack, peer_nxt_);
  ASSERT_EQ(dup.o.num_sack, 1);
  EXPECT_EQ(dup.o.sack[0].start, peer_nxt_ + 5);
  EXPECT_EQ(dup.o.sack[0].end, peer_nxt_ + 10);
  Inject(Data("hello"));
  EXPECT_EQ(rec_.data, "helloworld");
  Out a = Pop();  // gap filled: immediate ACK
  EXPECT_EQ(a.h.ack, peer_nxt_ + 10);
  EXPECT_EQ(a.o.num_sack, 0);
  EXPECT_EQ(stack_->GetStats(c).bytes_in, 10u);
}

TEST_F(TcpTest, WindowScalingAndZeroWindowProbe) {
  Conn* c = Accept();  // peer wscale 7, window 1024 << 7 = 128 KiB
  EXPECT_EQ(stack_->GetStats(c).snd_wnd, 1024u << 7);
  Seg z = AckOf(snd_);
  z.win = 0;
  Inject(z);
  ASSERT_TRUE(stack_->Send(c, Payload("blocked"), now_));
  EXPECT_EQ(Pending(), 0u);  // zero window: nothing goes out
  Advance(200);
  Out probe = Pop();
  EXPECT_EQ(probe.h.seq, snd_ - 1);  // persist probe
  EXPECT_EQ(probe.payload.size(), 0u);
  EXPECT_EQ(stack_->counters().zero_window_probes, 1u);
  Inject(AckOf(snd_));  // window reopens
  Out d = Pop();
  EXPECT_EQ(d.payload, "blocked");
}

TEST_F(TcpTest, ReceiveWindowClosesAndReopens) {
  StackConfig cfg;
  cfg.rcv_buf = 8192;
  Make(cfg);
  rec_.consume = false;
  Conn* c = Accept();
  std::string seg(1448, 'w');
  uint16_t last_win = 0xffff;
  for (int i = 0; i < 6; ++i) {
    std::string p = i < 5 ? seg : std::string(8192 - 5 * 1448, 'w');  // exactly the window
    Inject(Data(p));
    peer_nxt_ += p.size();
    while (Pending()) last_win = Pop().h.window;
  }
  Advance(40);
  while (Pending()) last_win = Pop().h.window;
  EXPECT_EQ(last_win, 0);  // the buffer is full: window closed (SWS avoidance)
  // A segment beyond the closed window is not accepted.
  Inject(Data("more"));
  Out nack = Pop();
  EXPECT_EQ(nack.h.ack, peer_nxt_);
  EXPECT_EQ(rec_.data.size(), 8192u);
  stack_->Consumed(c, rec_.unconsumed, now_);
  stack_->EndBurst(now_);
  Out upd = Pop();  // window update
  EXPECT_GT(upd.h.window, 0);
  EXPECT_EQ(stack_->counters().drop_out_of_window, 1u);
}

TEST_F(TcpTest, SendBackPressureAndWritable) {
  StackConfig cfg;
  cfg.snd_buf = 8192;
  Make(cfg);
  Conn* c = Accept();
  Seg z = AckOf(snd_);
  z.win = 0;
  Inject(z);
  ASSERT_TRUE(stack_->Send(c, Payload(std::string(1500, 'a')), now_));
  EXPECT_EQ(stack_->SendSpace(c), 8192u - 1500);
  std::string chunk(1500, 'b');
  int accepted = 1;
  while (stack_->SendSpace(c) > 0) {
    ASSERT_TRUE(stack_->Send(c, Payload(chunk), now_));
    ++accepted;
  }
  rte_mbuf* extra = Payload(chunk);
  EXPECT_FALSE(stack_->Send(c, extra, now_));
  rte_pktmbuf_free(extra);
  EXPECT_EQ(rec_.writable, 0);
  Inject(AckOf(snd_));  // window opens, data flows
  uint32_t total = 0;
  while (Pending()) total += Pop().payload.size();
  Inject(AckOf(snd_ + total));
  EXPECT_EQ(rec_.writable, 1);
  EXPECT_EQ(stack_->SendSpace(c), 8192u - (accepted * 1500 - total));
}

TEST_F(TcpTest, PeerClosesFirst) {
  Conn* c = Accept();
  Seg fin = AckOf(snd_);
  fin.flags = kAck | kFin;
  Inject(fin);
  Out a = Pop();
  EXPECT_EQ(a.h.ack, peer_nxt_ + 1);
  EXPECT_EQ(rec_.peer_closed, 1);
  EXPECT_EQ(Stack::GetState(c), State::kCloseWait);
  ASSERT_TRUE(stack_->Send(c, Payload("bye"), now_));  // CLOSE_WAIT still sends
  Out d = Pop();
  EXPECT_EQ(d.payload, "bye");
  stack_->Close(c, now_);
  Out f = Pop();
  EXPECT_EQ(f.h.flags, kAck | kFin);
  EXPECT_EQ(f.h.seq, snd_ + 3);
  EXPECT_EQ(Stack::GetState(c), State::kLastAck);
  peer_nxt_ += 1;
  Inject(AckOf(snd_ + 4));
  ASSERT_EQ(rec_.closed.size(), 1u);
  EXPECT_EQ(rec_.closed[0], CloseReason::kNormal);
  EXPECT_EQ(stack_->conn_count(), 0u);
  EXPECT_EQ(stack_->time_wait_count(), 0u);
}

TEST_F(TcpTest, ActiveCloseThroughTimeWait) {
  Conn* c = Accept();
  stack_->Close(c, now_);
  Out fin = Pop();
  EXPECT_EQ(fin.h.flags, kAck | kFin);
  EXPECT_EQ(Stack::GetState(c), State::kFinWait1);
  Inject(AckOf(snd_ + 1));
  EXPECT_EQ(Stack::GetState(c), State::kFinWait2);
  Inject(Data("late data"));  // data still flows in FIN_WAIT_2
  peer_nxt_ += 9;
  EXPECT_EQ(rec_.data, "late data");
  Seg pfin = AckOf(snd_ + 1);
  pfin.flags = kAck | kFin;
  Inject(pfin);
  Out a = Pop();
  EXPECT_EQ(a.h.ack, peer_nxt_ + 1);
  ASSERT_EQ(rec_.closed.size(), 1u);
  EXPECT_EQ(stack_->conn_count(), 0u);
  EXPECT_EQ(stack_->time_wait_count(), 1u);
  // A retransmitted FIN in TIME_WAIT is ACKed again from the compact entry.
  Inject(pfin);
  Out a2 = Pop();
  EXPECT_EQ(a2.h.ack, peer_nxt_ + 1);
  EXPECT_EQ(a2.h.seq, snd_ + 1);
  Advance(60000);
  EXPECT_EQ(stack_->time_wait_count(), 0u);
  // After TIME_WAIT the tuple is unknown: RST.
  Inject(pfin);
  EXPECT_TRUE(Pop().Has(kRst));
}

TEST_F(TcpTest, SimultaneousCloseGoesThroughClosing) {
  Conn* c = Accept();
  stack_->Close(c, now_);
  Pop();
  Seg pfin = AckOf(snd_);  // the peer's FIN does not ACK ours yet
  pfin.flags = kAck | kFin;
  Inject(pfin);
  EXPECT_EQ(Stack::GetState(c), State::kClosing);
  Pop();
  peer_nxt_ += 1;
  Inject(AckOf(snd_ + 1));
  EXPECT_EQ(stack_->time_wait_count(), 1u);
  EXPECT_EQ(rec_.closed.size(), 1u);
}

TEST_F(TcpTest, FinAckInFinWait1GoesStraightToTimeWait) {
  Conn* c = Accept();
  stack_->Close(c, now_);
  Pop();
  Seg pfin = AckOf(snd_ + 1);
  pfin.flags = kAck | kFin;
  Inject(pfin);
  EXPECT_EQ(Pop().h.ack, peer_nxt_ + 1);
  EXPECT_EQ(stack_->time_wait_count(), 1u);
}

TEST_F(TcpTest, FinWait2TimesOutWhenOrphaned) {
  Conn* c = Accept();
  stack_->Close(c, now_);
  Pop();
  Inject(AckOf(snd_ + 1));
  EXPECT_EQ(Stack::GetState(c), State::kFinWait2);
  Advance(cfg_.fin_wait2_ms);
  ASSERT_EQ(rec_.closed.size(), 1u);
  EXPECT_EQ(stack_->conn_count(), 0u);
}

TEST_F(TcpTest, ResetExactInWindowOtherwiseChallenge) {
  Conn* c = Accept();
  Seg rst = AckOf(snd_);
  rst.flags = kRst;
  rst.seq = peer_nxt_ + 100;  // in window, not exact: challenge ACK (RFC 5961 3.2)
  Inject(rst);
  Out ch = Pop();
  EXPECT_EQ(ch.h.flags, kAck);
  EXPECT_EQ(ch.h.ack, peer_nxt_);
  EXPECT_EQ(stack_->counters().challenge_acks, 1u);
  EXPECT_EQ(Stack::GetState(c), State::kEstablished);
  rst.seq = peer_nxt_ + 10000000;  // outside: silently dropped
  Inject(rst);
  EXPECT_EQ(Pending(), 0u);
  EXPECT_EQ(stack_->counters().drop_rst_invalid, 1u);
  rst.seq = peer_nxt_;
  Inject(rst);
  ASSERT_EQ(rec_.closed.size(), 1u);
  EXPECT_EQ(rec_.closed[0], CloseReason::kReset);
  EXPECT_EQ(Pending(), 0u);
}

TEST_F(TcpTest, SynInEstablishedGetsChallengeAck) {
  Conn* c = Accept();
  Seg syn;
  syn.flags = kSyn;
  syn.seq = 99999;
  syn.opt = SynOpts();
  Inject(syn);
  Out ch = Pop();
  EXPECT_EQ(ch.h.flags, kAck);
  EXPECT_EQ(ch.h.ack, peer_nxt_);
  EXPECT_EQ(Stack::GetState(c), State::kEstablished);
  EXPECT_EQ(stack_->counters().challenge_acks, 1u);
}

TEST_F(TcpTest, AckForUnsentDataIsChallengedAndDropped) {
  Conn* c = Accept();
  Seg bad = Data("ignored");
  bad.ack = snd_ + 5000;
  Inject(bad);
  EXPECT_EQ(Pop().h.ack, peer_nxt_);
  EXPECT_EQ(rec_.data, "");
  EXPECT_EQ(stack_->counters().drop_ack_invalid, 1u);
  EXPECT_EQ(Stack::GetState(c), State::kEstablished);
}

TEST_F(TcpTest, PawsDropsOldTimestamps) {
  Accept();
  Inject(Data("new"));
  peer_nxt_ += 3;
  Advance(40);
  Pop();
  Seg old = Data("old");
  old.opt.ts_val = 10;  // far older than TS.Recent
  Inject(old);
  EXPECT_EQ(rec_.data, "new");
  EXPECT_EQ(stack_->counters().drop_paws, 1u);
  Out a = Pop();  // RFC 7323 5.3: ACK it
  EXPECT_EQ(a.h.ack, peer_nxt_);
}

TEST_F(TcpTest, SynCookiesAlways) {
  StackConfig cfg;
  cfg.syn_cookies = SynCookieMode::kAlways;
  Make(cfg);
  Seg syn;
  syn.flags = kSyn;
  syn.seq = 1000;
  syn.opt = SynOpts(true, true, 5);
  Inject(syn);
  Out sa = Pop();
  EXPECT_EQ(stack_->conn_count(), 0u);  // stateless
  EXPECT_EQ(stack_->counters().syncookies_sent, 1u);
  EXPECT_TRUE(sa.o.has_wscale && sa.o.sack_permitted);
  // A forged ACK is refused.
  Seg forged;
  forged.seq = 1001;
  forged.ack = sa.h.seq + 2;
  forged.opt = Ts();
  forged.opt.ts_ecr = sa.o.ts_val;
  Inject(forged);
  EXPECT_TRUE(Pop().Has(kRst));
  EXPECT_EQ(stack_->counters().drop_bad_cookie, 1u);
  Seg ack;
  ack.seq = 1001;
  ack.ack = sa.h.seq + 1;
  ack.win = 100;
  ack.opt = Ts();
  ack.opt.ts_ecr = sa.o.ts_val;
  ack.payload = "GET";
  Inject(ack);
  ASSERT_EQ(rec_.accepted.size(), 1u);
  EXPECT_EQ(stack_->counters().syncookies_ok, 1u);
  EXPECT_EQ(rec_.data, "GET");
  Conn* c = rec_.accepted[0];
  EXPECT_EQ(stack_->GetStats(c).snd_wnd, 100u << 5);  // window scale recovered from TSecr
}

TEST_F(TcpTest, SynCookiesUnderPressure) {
  StackConfig cfg;
  cfg.syn_backlog = 2;
  Make(cfg);
  for (int i = 0; i < 4; ++i) {
    Seg syn;
    syn.flags = kSyn;
    syn.seq = 1000;
    syn.sport = static_cast<uint16_t>(30000 + i);
    Inject(syn);
    Pop();
  }
  EXPECT_EQ(stack_->conn_count(), 2u);
  EXPECT_EQ(stack_->counters().syncookies_sent, 2u);
}

TEST_F(TcpTest, SynRetransmissionInSynReceivedResendsSynAck) {
  Seg syn;
  syn.flags = kSyn;
  syn.seq = 1000;
  Inject(syn);
  Out a = Pop();
  Inject(syn);
  Out b = Pop();
  EXPECT_EQ(b.h.flags, kSyn | kAck);
  EXPECT_EQ(a.h.seq, b.h.seq);
  EXPECT_EQ(stack_->conn_count(), 1u);
}

TEST_F(TcpTest, KeepaliveProbesThenTimeout) {
  StackConfig cfg;
  cfg.keepalive_probes = 2;
  cfg.keepalive_intvl_ms = 1000;
  Make(cfg);
  Conn* c = Accept();
  stack_->SetKeepalive(c, 5000, now_);
  Advance(4999);
  EXPECT_EQ(Pending(), 0u);
  Advance(1);
  Out p = Pop();
  EXPECT_EQ(p.h.seq, snd_ - 1);
  EXPECT_EQ(p.payload.size(), 0u);
  Inject(AckOf(snd_));  // answered: idle again
  Advance(4999);
  EXPECT_EQ(Pending(), 0u);
  Advance(1);
  Pop();
  Advance(1000);
  Pop();
  Advance(1000);
  ASSERT_EQ(rec_.closed.size(), 1u);
  EXPECT_EQ(rec_.closed[0], CloseReason::kKeepaliveTimeout);
  EXPECT_TRUE(Pop().Has(kRst));
  EXPECT_EQ(stack_->counters().keepalive_probes, 3u);
}

TEST_F(TcpTest, AbortSendsRst) {
  Conn* c = Accept();
  stack_->Abort(c, now_);
  Out r = Pop();
  EXPECT_TRUE(r.Has(kRst));
  EXPECT_EQ(r.h.seq, snd_);
  ASSERT_EQ(rec_.closed.size(), 1u);
  EXPECT_EQ(rec_.closed[0], CloseReason::kAborted);
}

TEST_F(TcpTest, NoListenerAnswersRst) {
  Seg syn;
  syn.flags = kSyn;
  syn.seq = 77;
  syn.dport = 81;
  Inject(syn);
  Out r = Pop();
  EXPECT_EQ(r.h.flags, kRst | kAck);
  EXPECT_EQ(r.h.ack, 78u);
  EXPECT_EQ(stack_->counters().drop_no_listener, 1u);
}

TEST_F(TcpTest, BadSegmentsAreDroppedAndCounted) {
  Accept();
  const StackCounters& k = stack_->counters();
  Seg good = Data("x");
  Seg bad = good;
  bad.bad_csum = true;
  Inject(bad);
  EXPECT_EQ(k.drop_bad_checksum, 1u);
  // Truncated: the IP total length cuts into the TCP header.
  rte_mbuf* m = Build(good);
  StoreBe16(rte_pktmbuf_mtod(m, uint8_t*) + 2, 30);
  InjectRaw(m);
  EXPECT_EQ(k.drop_truncated, 1u);
  // Data offset below 5 and beyond the segment.
  m = Build(good);
  uint8_t* tcp = rte_pktmbuf_mtod(m, uint8_t*) + 20;
  tcp[12] = 4 << 4;
  InjectRaw(m);
  m = Build(good);
  tcp = rte_pktmbuf_mtod(m, uint8_t*) + 20;
  tcp[12] = 15 << 4;
  InjectRaw(m);
  EXPECT_EQ(k.drop_bad_offset, 2u);
  // Option garbage: a zero option length (the checksum is fixed up so only the options are bad).
  m = Build(good);
  uint8_t* ip = rte_pktmbuf_mtod(m, uint8_t*);
  tcp = ip + 20;
  tcp[20] = 2;
  tcp[21] = 0;
  StoreBe16(tcp + 16, 0);
  uint16_t tl = LoadBe16(ip + 2) - 20;
  StoreBe16(tcp + 16, ChecksumFold(ChecksumPartial(tcp, tl, PseudoHeaderSum(kPeer, kLocal, tl))));
  InjectRaw(m);
  EXPECT_EQ(k.drop_bad_options, 1u);
  // SYN+FIN.
  Seg sf = good;
  sf.flags = kSyn | kFin;
  Inject(sf);
  EXPECT_EQ(k.drop_bad_flags, 1u);
  EXPECT_EQ(rec_.data, "");
  EXPECT_EQ(Pending(), 0u);
  Inject(good);
  EXPECT_EQ(rec_.data, "x");  // the connection is unharmed
}

TEST_F(TcpTest, ChainedMbufPayloadIsDelivered) {
  Accept();
  rte_mbuf* m = Build(Data("0123456789"));
  // Split the payload into a second segment.
  rte_mbuf* tail = rte_pktmbuf_alloc(g_pool);
  char* dst = rte_pktmbuf_append(tail, 4);
  std::memcpy(dst, rte_pktmbuf_mtod_offset(m, char*, m->data_len - 4), 4);
  rte_pktmbuf_trim(m, 4);
  ASSERT_EQ(rte_pktmbuf_chain(m, tail), 0);
  InjectRaw(m);
  EXPECT_EQ(rec_.data, "0123456789");
}

TEST_F(TcpTest, RefusedAcceptSendsRst) {
  rec_.accept = false;
  Seg syn;
  syn.flags = kSyn;
  syn.seq = 1;
  Inject(syn);
  Out sa = Pop();
  Seg ack;
  ack.seq = 2;
  ack.ack = sa.h.seq + 1;
  Inject(ack);
  EXPECT_TRUE(Pop().Has(kRst));
  EXPECT_EQ(stack_->conn_count(), 0u);
  EXPECT_TRUE(rec_.closed.empty());
}

TEST_F(TcpTest, IdleConnectionHoldsNoBuffers) {
  Conn* c = Accept();
  ASSERT_TRUE(stack_->Send(c, Payload("abc"), now_));
  Pop();
  Inject(AckOf(snd_ + 3));
  Inject(Data("xyz"));
  EXPECT_EQ(stack_->queued_bytes(), 0u);
  EXPECT_EQ(stack_->GetStats(c).queued, 0u);
}

TEST_F(TcpTest, TimeWaitIgnoresRstAndIsReusedByNewerSyn) {
  Conn* c = Accept();
  stack_->Close(c, now_);
  Pop();
  Seg pfin = AckOf(snd_ + 1);
  pfin.flags = kAck | kFin;
  Inject(pfin);
  Pop();
  ASSERT_EQ(stack_->time_wait_count(), 1u);
  Seg rst = AckOf(snd_ + 1);
  rst.flags = kRst;
  rst.seq = peer_nxt_ + 1;
  Inject(rst);  // RFC 1337: no TIME_WAIT assassination
  EXPECT_EQ(stack_->time_wait_count(), 1u);
  EXPECT_EQ(Pending(), 0u);
  Seg syn;
  syn.flags = kSyn;
  syn.seq = peer_nxt_ + 100000;
  syn.opt = SynOpts();
  syn.opt.ts_val = ++peer_ts_;
  Inject(syn);
  Out sa = Pop();
  EXPECT_EQ(sa.h.flags, kSyn | kAck);
  EXPECT_EQ(sa.h.ack, peer_nxt_ + 100001);
  EXPECT_EQ(stack_->time_wait_count(), 0u);
  EXPECT_EQ(stack_->conn_count(), 1u);
  EXPECT_EQ(stack_->counters().time_wait_reused, 1u);
}

TEST_F(TcpTest, TimeWaitTableIsBoundedAndEvictsOldest) {
  StackConfig cfg;
  cfg.max_time_wait = 2;
  Make(cfg);
  for (uint16_t i = 0; i < 3; ++i) {
    Seg syn;
    syn.flags = kSyn;
    syn.seq = 1000;
    syn.sport = static_cast<uint16_t>(20000 + i);
    Inject(syn);
    Out sa = Pop();
    Seg ack;
    ack.seq = 1001;
    ack.ack = sa.h.seq + 1;
    ack.sport = syn.sport;
    Inject(ack);
    Conn* c = rec_.accepted.back();
    stack_->Close(c, now_);
    Pop();
    Seg fin = ack;
    fin.flags = kAck | kFin;
    fin.ack = sa.h.seq + 2;
    Inject(fin);
    Pop();
  }
  EXPECT_EQ(stack_->time_wait_count(), 2u);
  EXPECT_EQ(stack_->counters().time_wait_reused, 1u);
  EXPECT_EQ(stack_->conn_count(), 0u);
}

TEST_F(TcpTest, RstInSynReceivedFreesSilently) {
  Seg syn;
  syn.flags = kSyn;
  syn.seq = 1000;
  Inject(syn);
  Pop();
  Seg rst;
  rst.flags = kRst;
  rst.seq = 1001;
  Inject(rst);
  EXPECT_EQ(stack_->conn_count(), 0u);
  EXPECT_TRUE(rec_.accepted.empty());
  EXPECT_TRUE(rec_.closed.empty());
}

TEST_F(TcpTest, SynReceivedGivesUpAfterRetries) {
  StackConfig cfg;
  cfg.syn_retries = 2;
  Make(cfg);
  Seg syn;
  syn.flags = kSyn;
  syn.seq = 1000;
  Inject(syn);
  Pop();
  Advance(1000);
  EXPECT_EQ(Pop().h.flags, kSyn | kAck);
  Advance(2000);
  EXPECT_EQ(Pop().h.flags, kSyn | kAck);
  Advance(4000);
  EXPECT_EQ(stack_->conn_count(), 0u);
  EXPECT_TRUE(rec_.closed.empty());  // never accepted, never reported
}

TEST_F(TcpTest, OutOfOrderQueueIsBounded) {
  StackConfig cfg;
  cfg.ooo_max_segs = 2;
  Make(cfg);
  Accept();
  for (int i = 1; i <= 3; ++i) {
    Seg d = Data("abcd");
    d.seq = peer_nxt_ + 10 * i;
    Inject(d);
    Pop();
  }
  EXPECT_EQ(stack_->counters().ooo_segs, 2u);
  EXPECT_EQ(stack_->counters().drop_ooo_full, 1u);
  EXPECT_EQ(stack_->queued_bytes(), 8u);
}

TEST_F(TcpTest, GlobalMemoryLimitRefusesSends) {
  StackConfig cfg;
  cfg.mem_limit = 3000;
  Make(cfg);
  Conn* c = Accept();
  Seg z = AckOf(snd_);
  z.win = 0;
  Inject(z);
  ASSERT_TRUE(stack_->Send(c, Payload(std::string(3000, 'm')), now_));
  EXPECT_EQ(stack_->SendSpace(c), 0u);
  rte_mbuf* more = Payload("x");
  EXPECT_FALSE(stack_->Send(c, more, now_));
  rte_pktmbuf_free(more);
  EXPECT_EQ(stack_->counters().drop_mem_limit, 1u);
}

TEST_F(TcpTest, CubicReducesByBetaOnFastRetransmit) {
  Conn* c = Accept(true, false);
  ASSERT_TRUE(stack_->Send(c, Payload(std::string(10 * 1448, 'c')), now_));
  while (Pending()) Pop();
  uint32_t cwnd = stack_->GetStats(c).cwnd;
  EXPECT_EQ(cwnd, 10u * 1448);  // RFC 6928 initial window
  for (int i = 0; i < 3; ++i) Inject(AckOf(snd_));
  Pop();
  Inject(AckOf(snd_ + 10 * 1448));  // full ACK ends recovery: cwnd = ssthresh
  EXPECT_EQ(stack_->GetStats(c).cwnd, static_cast<uint32_t>(cwnd * 0.7));
}

TEST_F(TcpTest, SlowStartGrowsTheWindow) {
  Conn* c = Accept();
  uint32_t before = stack_->GetStats(c).cwnd;
  ASSERT_TRUE(stack_->Send(c, Payload(std::string(10 * 1448, 'g')), now_));
  while (Pending()) Pop();
  Inject(AckOf(snd_ + 5 * 1448));
  Inject(AckOf(snd_ + 10 * 1448));
  EXPECT_GT(stack_->GetStats(c).cwnd, before);
  EXPECT_GT(stack_->GetStats(c).srtt_us, 0u);
}

// ---------------------------------------------------------------------------------------------
// Two stacks back to back through a seeded lossy wire: drop, reorder, duplicate, corrupt. Both
// directions move data at once; every byte must arrive exactly once and in order, and both ends
// must close cleanly.

struct Wire {
  std::vector<rte_mbuf*> q;
  static void Out(void* ctx, rte_mbuf* m, uint32_t) { static_cast<Wire*>(ctx)->q.push_back(m); }
};

uint8_t PatternByte(uint64_t i) { return static_cast<uint8_t>((i * 131 + (i >> 11)) % 251); }

class Endpoint : public Handler {
 public:
  bool OnAccept(Conn* c) override {
    conn = c;
    return true;
  }
  void OnConnected(Conn* c) override { conn = c; }
  void OnData(Conn* c, rte_mbuf* m) override {
    uint32_t n = m->pkt_len;
    for (rte_mbuf* s = m; s != nullptr; s = s->next) {
      const uint8_t* p = rte_pktmbuf_mtod(s, const uint8_t*);
      for (uint16_t i = 0; i < s->data_len; ++i) {
        if (p[i] != PatternByte(received)) ++corrupt;
        ++received;
      }
    }
    rte_pktmbuf_free(m);
    stack->Consumed(c, n, *now);
  }
  void OnPeerClosed(Conn*) override { peer_closed = true; }
  void OnClosed(Conn*, CloseReason why) override {
    closed = true;
    reason = why;
    conn = nullptr;
  }
  void Pump() {
    while (conn != nullptr && sent < to_send && stack->SendSpace(conn) > 0) {
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(1200, to_send - sent));
      rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
      ASSERT_NE(m, nullptr);
      uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(n)));
      for (uint32_t i = 0; i < n; ++i) p[i] = PatternByte(sent + i);
      ASSERT_TRUE(stack->Send(conn, m, *now));
      sent += n;
    }
    if (conn != nullptr && sent == to_send && !close_called) {
      stack->Close(conn, *now);
      close_called = true;
    }
  }
  Stack* stack = nullptr;
  uint64_t* now = nullptr;
  Conn* conn = nullptr;
  uint64_t to_send = 0, sent = 0, received = 0, corrupt = 0;
  bool peer_closed = false, closed = false, close_called = false;
  CloseReason reason = CloseReason::kNormal;
};

class LossyPairTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(LossyPairTest, BidirectionalTransferSurvivesImpairment) {
  std::mt19937 rng(GetParam());
  uint64_t now = 1000 * kMs;
  Wire to_server, to_client;
  StackConfig sc;
  sc.pool = g_pool;
  sc.output = IpOutput{&Wire::Out, &to_client};
  sc.rcv_buf = 64 * 1024;
  sc.snd_buf = 64 * 1024;
  sc.max_retries = 30;
  StackConfig cc = sc;
  cc.output = IpOutput{&Wire::Out, &to_server};
  cc.sack = GetParam() % 2 == 0;  // odd seeds run NewReno without SACK on the client side
  auto server = Stack::Create(sc);
  auto client = Stack::Create(cc);
  ASSERT_TRUE(server.ok() && client.ok());
  Endpoint srv, cli;
  srv.stack = server->get();
  cli.stack = client->get();
  srv.now = cli.now = &now;
  srv.to_send = 1 << 20;
  cli.to_send = 3 << 20;
  ASSERT_TRUE((*server)->Listen(kLocal, kPort, &srv).ok());
  ASSERT_TRUE((*client)->Connect(kPeer, 0, kLocal, kPort, &cli, nullptr, now).ok());
  uint64_t dropped = 0, reordered = 0, duplicated = 0, corrupted = 0;
  auto deliver = [&](Wire& w, Stack* s) {
    std::vector<rte_mbuf*> batch;
    batch.swap(w.q);
    for (size_t i = 0; i < batch.size(); ++i) {
      uint32_t r = rng() % 1000;
      rte_mbuf* m = batch[i];
      if (r < 20) {  // 2% drop
        rte_pktmbuf_free(m);
        ++dropped;
        continue;
      }
      if (r < 40 && i + 1 < batch.size()) {  // 2% swap with the next one
        std::swap(batch[i], batch[i + 1]);
        m = batch[i];
        ++reordered;
      } else if (r < 50) {  // 1% duplicate
        rte_mbuf* d = rte_pktmbuf_copy(m, g_pool, 0, UINT32_MAX);
        if (d != nullptr) {
          s->Input(d, now);
          ++duplicated;
        }
      } else if (r < 60) {  // 1% corrupt one byte
        uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
        p[20 + rng() % (m->data_len - 20)] ^= 0x40;
        ++corrupted;
      }
      s->Input(m, now);
    }
    s->EndBurst(now);
  };
  int iterations = 0;
  while (!(srv.closed && cli.closed) && iterations < 400000) {
    ++iterations;
    cli.Pump();
    srv.Pump();
    deliver(to_server, server->get());
    deliver(to_client, client->get());
    now += kMs / 4;
    (*server)->OnTimer(now);
    (*client)->OnTimer(now);
  }
  EXPECT_TRUE(srv.closed && cli.closed) << "after " << iterations << " iterations";
  EXPECT_EQ(srv.received, cli.to_send);
  EXPECT_EQ(cli.received, srv.to_send);
  EXPECT_EQ(srv.corrupt + cli.corrupt, 0u);
  EXPECT_EQ(srv.reason, CloseReason::kNormal);
  EXPECT_EQ(cli.reason, CloseReason::kNormal);
  EXPECT_GT(dropped, 0u);
  EXPECT_GT((*client)->counters().retransmits + (*server)->counters().retransmits, 0u);
  EXPECT_GT((*client)->counters().fast_retransmits + (*server)->counters().fast_retransmits, 0u);
  EXPECT_GT((*client)->counters().ooo_segs + (*server)->counters().ooo_segs, 0u);
  EXPECT_GT((*server)->counters().drop_bad_checksum + (*client)->counters().drop_bad_checksum, 0u);
  EXPECT_EQ((*server)->queued_bytes() + (*client)->queued_bytes(), 0u);
  for (rte_mbuf* m : to_server.q) rte_pktmbuf_free(m);
  for (rte_mbuf* m : to_client.q) rte_pktmbuf_free(m);
  RecordProperty("dropped", static_cast<int>(dropped));
}

INSTANTIATE_TEST_SUITE_P(Seeds, LossyPairTest, ::testing::Values(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u));

}  // namespace
}  // namespace dp::tcp

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string prefix = "--file-prefix=sstpt-tcp-" + std::to_string(getpid());
  const char* eal_args[] = {
      "tcp_test",     "--no-huge",         "--no-pci",      "-m", "256", "-l", "0",
      prefix.c_str(), "--log-level=error", "--no-telemetry"};
  int eal_argc = sizeof(eal_args) / sizeof(eal_args[0]);
  if (rte_eal_init(eal_argc, const_cast<char**>(eal_args)) < 0) {
    fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  dp::tcp::g_pool =
      rte_pktmbuf_pool_create("tcp_test", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (dp::tcp::g_pool == nullptr) {
    fprintf(stderr, "mbuf pool creation failed\n");
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
