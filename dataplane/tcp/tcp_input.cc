// Segment arrival (RFC 9293 3.10.7), with RFC 7323 PAWS, RFC 5961 protections, RFC 5681/6582/6675
// loss recovery triggers, delayed ACKs (RFC 9293 3.8.6.3, RFC 5681 4.2) and the out-of-order
// queue.
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>

#include "dataplane/tcp/tcp_impl.h"

namespace dp::tcp {
namespace {

// Removes `n` bytes from the front of a chain (any segment boundary).
void TrimFront(rte_mbuf* m, uint32_t n) {
  m->pkt_len -= n;
  for (rte_mbuf* s = m; s != nullptr && n > 0; s = s->next) {
    uint32_t k = std::min<uint32_t>(n, s->data_len);
    s->data_off = static_cast<uint16_t>(s->data_off + k);
    s->data_len = static_cast<uint16_t>(s->data_len - k);
    n -= k;
  }
}

// Removes `n` bytes from the end of a chain.
void TrimBack(rte_mbuf* m, uint32_t n) {
  uint32_t keep = m->pkt_len - n;
  m->pkt_len = keep;
  rte_mbuf* s = m;
  uint16_t segs = 0;
  while (s != nullptr) {
    ++segs;
    if (keep <= s->data_len) {
      s->data_len = static_cast<uint16_t>(keep);
      rte_mbuf* rest = s->next;
      s->next = nullptr;
      if (rest != nullptr) rte_pktmbuf_free(rest);
      break;
    }
    keep -= s->data_len;
    s = s->next;
  }
  m->nb_segs = segs;
}

bool BadAddress(uint32_t ip) {
  return ip == 0 || ip == 0xffffffffu || (ip >> 28) == 0xe || (ip >> 24) == 127;
}

}  // namespace

bool StackImpl::VerifyChecksum(rte_mbuf* m, uint32_t ihl, uint32_t tcp_len, uint32_t src,
                               uint32_t dst) {
  uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD) return true;
  if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) return false;
  if (m->next == nullptr) {
    // One segment: the native-order sum plus DPDK's pseudo-header sum; a valid
    // segment sums to 0xffff.
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    uint32_t raw = RawChecksum(rte_pktmbuf_mtod_offset(m, const uint8_t*, ihl), tcp_len);
    raw += rte_ipv4_phdr_cksum(ip, 0);
    raw = (raw & 0xffff) + (raw >> 16);
    raw = (raw & 0xffff) + (raw >> 16);
    return raw == 0xffff;
  }
  uint32_t sum = PseudoHeaderSum(src, dst, static_cast<uint16_t>(tcp_len));
  uint32_t off = ihl, left = tcp_len, pos = 0;
  for (rte_mbuf* s = m; s != nullptr && left > 0; s = s->next) {
    if (off >= s->data_len) {
      off -= s->data_len;
      continue;
    }
    uint32_t n = std::min<uint32_t>(left, s->data_len - off);
    uint32_t part = ChecksumPartial(rte_pktmbuf_mtod_offset(s, uint8_t*, off), n, 0);
    if (pos & 1) {  // this piece starts on an odd byte: its sum is byte-swapped
      while (part >> 16) part = (part & 0xffff) + (part >> 16);
      part = ((part & 0xff) << 8) | (part >> 8);
    }
    uint64_t acc = static_cast<uint64_t>(sum) + part;
    sum = static_cast<uint32_t>((acc & 0xffffffffu) + (acc >> 32));
    pos += n;
    left -= n;
    off = 0;
  }
  return left == 0 && ChecksumFold(sum) == 0;
}

void StackImpl::Input(rte_mbuf* m, uint64_t now_ns) {
  SetTime(now_ns);
  ++counters_.segs_in;
  Segment s;
  s.m = m;
  const uint8_t* ip = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t ihl = (m->data_len >= 1) ? (ip[0] & 0xfu) * 4u : 0;
  uint32_t total = m->data_len >= 4 ? LoadBe16(ip + 2) : 0;
  if (ihl < kIpv4HeaderLen || m->data_len < ihl || total > m->pkt_len ||
      total < ihl + kTcpHeaderLen) {
    ++counters_.drop_truncated;
    rte_pktmbuf_free(m);
    return;
  }
  if (m->pkt_len > total) {
    if (rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - total)) != 0) {
      TrimBack(m, m->pkt_len - total);
    }
  }
  s.src_ip = LoadBe32(ip + 12);
  s.dst_ip = LoadBe32(ip + 16);
  uint32_t tcp_len = total - ihl;
  uint32_t first = std::min<uint32_t>(m->data_len - ihl, tcp_len);
  ParseResult r = ParseTcp(absl::MakeConstSpan(ip + ihl, first), &s.h, &s.o);
  if (r == ParseResult::kBadOffset && s.h.header_len >= kTcpHeaderLen &&
      s.h.header_len <= tcp_len) {
    r = ParseResult::kTruncated;  // header split across mbuf segments: not supported
  }
  if (r != ParseResult::kOk) {
    if (r == ParseResult::kTruncated) ++counters_.drop_truncated;
    if (r == ParseResult::kBadOffset) ++counters_.drop_bad_offset;
    if (r == ParseResult::kBadOptions) ++counters_.drop_bad_options;
    rte_pktmbuf_free(m);
    return;
  }
  if (!VerifyChecksum(m, ihl, tcp_len, s.src_ip, s.dst_ip)) {
    ++counters_.drop_bad_checksum;
    rte_pktmbuf_free(m);
    return;
  }
  uint8_t f = s.h.flags;
  if (((f & kSyn) && (f & (kFin | kRst))) || (f & (kSyn | kRst | kAck | kFin)) == 0) {
    ++counters_.drop_bad_flags;
    rte_pktmbuf_free(m);
    return;
  }
  if (BadAddress(s.src_ip) || BadAddress(s.dst_ip) || s.h.src_port == 0 || s.h.dst_port == 0) {
    ++counters_.drop_bad_address;
    rte_pktmbuf_free(m);
    return;
  }
  rte_pktmbuf_adj(m, static_cast<uint16_t>(ihl + s.h.header_len));
  s.len = tcp_len - s.h.header_len;
  if (m->pkt_len != s.len) m->pkt_len = s.len;

  TimeWait* tw = nullptr;
  Conn* c = LookupConn(s.dst_ip, s.h.dst_port, s.src_ip, s.h.src_port, &tw);
  if (c != nullptr) {
    if (c->state == State::kSynSent) {
      SynSentInput(c, s);
    } else {
      ConnInput(c, s);
    }
  } else if (tw != nullptr) {
    TimeWaitInput(tw, s);
  } else {
    const Listener* l = FindListener(s.dst_ip, s.h.dst_port);
    if (l != nullptr) {
      ListenInput(l, static_cast<uint16_t>(l - listeners_.data()), s);
    } else {
      ++counters_.drop_no_listener;
      SendRstForSegment(s);
    }
  }
  if (s.m != nullptr) rte_pktmbuf_free(s.m);
  Reap();
}

void StackImpl::ApplySynOptions(Conn* c, const TcpOptions& o) {
  uint16_t peer_mss = o.has_mss ? o.mss : 536;  // RFC 9293 3.7.1 default
  if (peer_mss < 64) peer_mss = 64;
  c->snd_mss = std::min<uint16_t>(peer_mss, cfg_.mss);
  if (o.has_wscale && cfg_.window_scaling) {
    c->snd_wscale = o.wscale;
    c->rcv_wscale = our_wscale_;
  } else {
    c->snd_wscale = 0;
    c->rcv_wscale = 0;
  }
  if (o.sack_permitted && cfg_.sack) c->flags |= kFlagSack;
  if (o.has_ts && cfg_.timestamps) {
    c->flags |= kFlagTs;
    c->ts_recent = o.ts_val;
    c->snd_mss = static_cast<uint16_t>(c->snd_mss - 12);  // room for the timestamp option
  }
}

void StackImpl::Established(Conn* c) {
  bool passive = (c->flags & kFlagPassive) != 0;
  if (c->state == State::kSynReceived && passive) --half_open_;
  c->state = State::kEstablished;
  c->backoff = 0;
  c->syn_retries = 0;
  c->recover = c->snd_una;
  c->high_rxt = c->snd_una;
  c->last_rx_ms = now_ms32_;
  CcInit(c);
  if (passive) {
    ++counters_.conns_accepted;
    if (!H(c)->OnAccept(c)) {
      SendRst(c);
      CloseConn(c, CloseReason::kAborted, false);
      return;
    }
  } else {
    ++counters_.conns_connected;
    H(c)->OnConnected(c);
  }
  if (c->flags & kFlagDead) return;
  StartKeepalive(c);
}

void StackImpl::ListenInput(const Listener* l, uint16_t idx, Segment& s) {
  uint8_t f = s.h.flags;
  if (f & kRst) {
    ++counters_.drop_state;  // RFC 9293 3.10.7.2: an RST to a listener is ignored
    return;
  }
  if ((f & kAck) && !(f & kSyn)) {
    // Third segment of a handshake answered with a SYN cookie.
    uint16_t mss;
    if (cfg_.syn_cookies == SynCookieMode::kNever || !CookieCheck(s, &mss)) {
      ++counters_.drop_bad_cookie;
      SendRstForSegment(s);
      return;
    }
    Conn* c = AllocConn();
    if (c == nullptr) {
      ++counters_.drop_no_conn_slot;
      return;
    }
    c->local_ip = s.dst_ip;
    c->remote_ip = s.src_ip;
    c->local_port = s.h.dst_port;
    c->remote_port = s.h.src_port;
    c->flags = kFlagPassive;
    c->handler = HandlerIndex(l->handler);
    c->listener = idx;
    c->rcv_nxt = s.h.seq;
    c->rcv_acked = c->rcv_nxt;
    c->snd_una = c->snd_nxt = c->snd_max = s.h.ack;
    c->snd_mss = std::min<uint16_t>(mss, cfg_.mss);
    if (s.o.has_ts && cfg_.timestamps) {
      uint32_t bits = s.o.ts_ecr & 63;
      c->flags |= kFlagTs;
      c->ts_recent = s.o.ts_val;
      c->snd_mss = static_cast<uint16_t>(c->snd_mss - 12);
      if ((bits & 15) != 15) {
        c->snd_wscale = static_cast<uint8_t>(bits & 15);
        c->rcv_wscale = our_wscale_;
      }
      if (bits & 16) c->flags |= kFlagSack;
    }
    c->snd_wnd = static_cast<uint32_t>(s.h.window) << c->snd_wscale;
    c->snd_wl1 = s.h.seq;
    c->rcv_adv = c->rcv_nxt + std::min<uint32_t>(cfg_.rcv_buf, 0xffff);
    c->rto_ms = cfg_.rto_initial_ms;
    c->keepalive_idle_s = static_cast<uint16_t>(cfg_.keepalive_idle_ms / 1000);
    c->state = State::kSynReceived;
    if (!HashInsert(c)) {
      FreeConn(c);
      ++counters_.drop_no_conn_slot;
      return;
    }
    ++counters_.syncookies_ok;
    Established(c);
    if (c->flags & kFlagDead) return;
    ConnInput(c, s);  // the ACK may carry data
    return;
  }
  if (!(f & kSyn) || (f & kAck)) {
    if (f & kAck) SendRstForSegment(s);  // RFC 9293 3.10.7.2: ACK in LISTEN -> RST
    ++counters_.drop_state;
    return;
  }
  ++counters_.syn_in;
  bool no_slot = conns_used_ >= cfg_.max_conns;
  bool queue_full = half_open_ >= cfg_.syn_backlog;
  bool cookie = cfg_.syn_cookies == SynCookieMode::kAlways ||
                (cfg_.syn_cookies == SynCookieMode::kUnderPressure && (queue_full || no_slot));
  if (!cookie && (queue_full || no_slot)) {
    if (queue_full) {
      ++counters_.drop_syn_queue_full;
    } else {
      ++counters_.drop_no_conn_slot;
    }
    return;
  }
  if (cookie) {
    Conn tmp;
    tmp.local_ip = s.dst_ip;
    tmp.remote_ip = s.src_ip;
    tmp.local_port = s.h.dst_port;
    tmp.remote_port = s.h.src_port;
    tmp.rcv_nxt = s.h.seq + 1;
    uint16_t peer_mss = s.o.has_mss ? s.o.mss : 536;
    tmp.snd_una = CookieIsn(s, std::min<uint16_t>(peer_mss, cfg_.mss));
    uint32_t tsval = now_ms32_;
    if (s.o.has_ts && cfg_.timestamps) {
      tmp.flags |= kFlagTs;
      tmp.ts_recent = s.o.ts_val;
      uint32_t bits = 15;
      if (s.o.has_wscale && cfg_.window_scaling) {
        bits = s.o.wscale;
        tmp.rcv_wscale = our_wscale_;
      }
      if (s.o.sack_permitted && cfg_.sack) {
        bits |= 16;
        tmp.flags |= kFlagSack;
      }
      // Below the clock so that our later TSvals never go backwards (RFC 7323 5.4).
      tsval = ((now_ms32_ - 64) & ~63u) | bits;
    }
    ++counters_.syncookies_sent;
    SendSynAck(&tmp, tsval);
    return;
  }
  Conn* c = AllocConn();
  if (c == nullptr) {
    ++counters_.drop_no_conn_slot;
    return;
  }
  c->local_ip = s.dst_ip;
  c->remote_ip = s.src_ip;
  c->local_port = s.h.dst_port;
  c->remote_port = s.h.src_port;
  c->flags = kFlagPassive;
  c->handler = HandlerIndex(l->handler);
  c->listener = idx;
  c->state = State::kSynReceived;
  c->rcv_nxt = s.h.seq + 1;
  c->rcv_acked = c->rcv_nxt;
  uint32_t iss = Isn(c->local_ip, c->local_port, c->remote_ip, c->remote_port);
  c->snd_una = iss;
  c->snd_nxt = c->snd_max = iss + 1;
  c->snd_wl1 = s.h.seq;
  c->snd_wnd = s.h.window;  // unscaled in a SYN (RFC 7323 2.2)
  ApplySynOptions(c, s.o);
  c->rto_ms = cfg_.rto_initial_ms;
  c->keepalive_idle_s = static_cast<uint16_t>(cfg_.keepalive_idle_ms / 1000);
  if (!HashInsert(c)) {
    FreeConn(c);
    ++counters_.drop_no_conn_slot;
    return;
  }
  ++half_open_;
  c->rtt_start_us = now_us_;
  SendSynAck(c, now_ms32_);
  ArmRto(c);
}

void StackImpl::SynSentInput(Conn* c, Segment& s) {
  uint8_t f = s.h.flags;
  uint32_t iss = c->snd_una;
  if (f & kAck) {
    if (SeqLeq(s.h.ack, iss) || SeqGt(s.h.ack, c->snd_max)) {
      ++counters_.drop_ack_invalid;
      if (!(f & kRst)) SendRstForSegment(s);
      return;
    }
  }
  if (f & kRst) {
    if (f & kAck) {
      ++counters_.rst_in;
      CloseConn(c, CloseReason::kRefused);
    } else {
      ++counters_.drop_rst_invalid;
    }
    return;
  }
  if (!(f & kSyn)) {
    ++counters_.drop_state;
    return;
  }
  c->rcv_nxt = s.h.seq + 1;
  c->rcv_acked = c->rcv_nxt;
  ApplySynOptions(c, s.o);
  c->snd_wl1 = s.h.seq;
  c->snd_wnd = s.h.window;  // not scaled in a SYN
  c->last_rx_ms = now_ms32_;
  if (f & kAck) {
    c->snd_una = s.h.ack;
    StopRto(c);
    if (c->syn_retries == 0) RttSample(c, now_us_ - c->rtt_start_us);
    c->rcv_adv = c->rcv_nxt;
    Established(c);
    if (c->flags & kFlagDead) return;
    SendAck(c);
    Output(c);
    return;
  }
  // Simultaneous open (RFC 9293 3.5, figure 8).
  c->state = State::kSynReceived;
  SendSynAck(c, now_ms32_);
  ArmRto(c);
}

bool StackImpl::ChallengeAck(Conn* c) {
  // RFC 5961 7: a global rate limit of challenge ACKs.
  if (now_ms32_ - challenge_window_ms_ >= 1000) {
    challenge_window_ms_ = now_ms32_;
    challenge_count_ = 0;
  }
  if (challenge_count_ >= cfg_.challenge_ack_limit) {
    ++counters_.challenge_acks_limited;
    return false;
  }
  ++challenge_count_;
  ++counters_.challenge_acks;
  SendAck(c);
  return true;
}

void StackImpl::ConnInput(Conn* c, Segment& s) {
  uint8_t f = s.h.flags;
  c->last_rx_ms = now_ms32_;
  c->probes = 0;
  // SYN-RECEIVED: a retransmitted SYN gets the SYN-ACK again.
  if (c->state == State::kSynReceived && (f & kSyn) && !(f & kAck) && s.h.seq + 1 == c->rcv_nxt) {
    SendSynAck(c, now_ms32_);
    return;
  }
  // RFC 7323 5.3 R1: PAWS.
  if ((c->flags & kFlagTs) && s.o.has_ts && !(f & kRst) && SeqLt(s.o.ts_val, c->ts_recent)) {
    ++counters_.drop_paws;
    ScheduleAck(c);
    return;
  }
  // RFC 5961 4.2: any SYN in a synchronized state, in window or not, gets a challenge ACK.
  if ((f & kSyn) && !(f & kRst) && c->state != State::kSynReceived) {
    ChallengeAck(c);
    return;
  }
  // RFC 9293 3.10.7.4 first: is the sequence number acceptable?
  uint32_t rcv_wnd = SeqGt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
  uint32_t seq = s.h.seq;
  uint32_t seg_len = s.seq_len();
  bool ok;
  if (seg_len == 0) {
    ok = rcv_wnd == 0 ? seq == c->rcv_nxt : SeqInRange(seq, c->rcv_nxt, c->rcv_nxt + rcv_wnd);
  } else if (rcv_wnd == 0) {
    ok = false;
  } else {
    ok = SeqInRange(seq, c->rcv_nxt, c->rcv_nxt + rcv_wnd) ||
         SeqInRange(seq + seg_len - 1, c->rcv_nxt, c->rcv_nxt + rcv_wnd);
  }
  if (!ok) {
    if (f & kRst) {
      ++counters_.drop_rst_invalid;
      return;
    }
    ++counters_.drop_out_of_window;
    // A zero-window probe or a retransmission: answer with an ACK at once (RFC 5681 4.2).
    SendAck(c);
    return;
  }
  // RFC 7323 4.3: TS.Recent update for segments covering Last.ACK.sent.
  if ((c->flags & kFlagTs) && s.o.has_ts && SeqLeq(seq, c->rcv_acked) &&
      SeqGeq(s.o.ts_val, c->ts_recent)) {
    c->ts_recent = s.o.ts_val;
  }
  // Second: RST (RFC 5961 3.2).
  if (f & kRst) {
    if (seq == c->rcv_nxt) {
      ++counters_.rst_in;
      bool silent = c->state == State::kSynReceived && (c->flags & kFlagPassive);
      CloseConn(c, CloseReason::kReset, !silent);
    } else {
      ChallengeAck(c);
    }
    return;
  }
  // Fourth: SYN in a synchronized state (RFC 5961 4.2).
  if (f & kSyn) {
    ChallengeAck(c);
    return;
  }
  // Fifth: ACK.
  if (!(f & kAck)) {
    ++counters_.drop_state;
    return;
  }
  if (c->state == State::kSynReceived) {
    if (SeqGt(s.h.ack, c->snd_una) && SeqLeq(s.h.ack, c->snd_max)) {
      if (c->syn_retries == 0) RttSample(c, now_us_ - c->rtt_start_us);
      c->snd_una = c->snd_una + 1;  // the SYN
      StopRto(c);
      c->snd_wnd = static_cast<uint32_t>(s.h.window) << c->snd_wscale;
      c->snd_wl1 = seq;
      Established(c);
      if (c->flags & kFlagDead) return;
    } else {
      ++counters_.drop_ack_invalid;
      SendRstForSegment(s);
      return;
    }
  }
  if (!ProcessAck(c, s)) return;
  if (c->flags & kFlagDead) return;
  // Seventh: segment text; eighth: FIN.
  uint32_t data_end = seq + s.len;
  if (s.len > 0) {
    ProcessData(c, s);
    if (c->flags & kFlagDead) return;
  }
  if ((s.h.flags & kFin) && data_end == c->rcv_nxt &&
      (c->state == State::kEstablished || c->state == State::kFinWait1 ||
       c->state == State::kFinWait2)) {
    ProcessFin(c);
    if (c->flags & kFlagDead) return;
  }
  OutputAfterAck(c);
}

bool StackImpl::ProcessAck(Conn* c, Segment& s) {
  uint32_t ack = s.h.ack;
  if (SeqGt(ack, c->snd_max)) {
    // RFC 9293 3.10.7.4: an ACK for data not yet sent: ACK, drop (RFC 5961 5.2).
    ++counters_.drop_ack_invalid;
    ChallengeAck(c);
    return false;
  }
  uint32_t max_wnd = std::max<uint32_t>(c->snd_wnd, 0xffff);
  if (SeqLt(ack, c->snd_una - max_wnd)) {
    ++counters_.drop_ack_invalid;  // RFC 5961 5.2: too old
    ChallengeAck(c);
    return false;
  }
  if ((c->flags & kFlagSack) && s.o.num_sack > 0) SackUpdate(c, s.o);
  uint32_t wnd = static_cast<uint32_t>(s.h.window) << c->snd_wscale;
  if (SeqGt(ack, c->snd_una)) {
    uint32_t acked = ack - c->snd_una;
    uint32_t data_acked = std::min(acked, c->snd_queued);
    if ((c->flags & kFlagRttTiming) && SeqGeq(ack, c->rtt_seq)) {
      c->flags &= ~kFlagRttTiming;
      RttSample(c, now_us_ - c->rtt_start_us);
    }
    c->backoff = 0;
    TrimSendQueue(c, data_acked);
    c->bytes_out += data_acked;
    c->snd_una = ack;
    if (SeqLt(c->snd_nxt, c->snd_una)) {
      c->snd_nxt = c->snd_una;
      ResetSendCursor(c);
    }
    SackTrim(c);
    if (c->flags & kFlagRecovery) {
      if (SeqGeq(ack, c->recover)) {
        c->flags &= ~kFlagRecovery;  // full ACK: leave recovery (RFC 6582 3.2 step 6)
        c->cwnd = c->ssthresh;
        c->dupacks = 0;
      } else if (!(c->flags & kFlagSack)) {
        // NewReno partial ACK (RFC 6582 3.2 step 5): resend the next hole, deflate.
        RetransmitOne(c, c->snd_una);
        c->cwnd = c->cwnd > data_acked ? c->cwnd - data_acked + c->snd_mss : c->snd_mss;
      } else if (SeqLt(c->high_rxt, c->snd_una)) {
        c->high_rxt = c->snd_una;
      }
    } else {
      c->dupacks = 0;
      CcOnAck(c, data_acked);
    }
    if (c->snd_una == c->snd_max) {
      StopRto(c);
    } else {
      ArmRto(c);  // RFC 6298 5.3
    }
    if (SeqGeq(s.h.seq, c->snd_wl1)) {
      c->snd_wnd = wnd;
      c->snd_wl1 = s.h.seq;
    }
    bool fin_acked = (c->flags & kFlagFinSent) && c->snd_una == c->snd_max;
    if (fin_acked) {
      switch (c->state) {
        case State::kFinWait1:
          c->state = State::kFinWait2;
          c->flags &= ~kFlagKeepalive;
          if (c->flags & kFlagFinQueued) {
            c->flags |= kFlagFinWait2Timer;
            c->aux_deadline = now_ms32_ + cfg_.fin_wait2_ms;
            ArmTimer(c);
          }
          break;
        case State::kClosing:
          EnterTimeWait(c);
          return false;
        case State::kLastAck:
          CloseConn(c, CloseReason::kNormal);
          return false;
        default:
          break;
      }
    }
  } else if (ack == c->snd_una) {
    bool dup =
        s.len == 0 && !(s.h.flags & (kSyn | kFin)) && wnd == c->snd_wnd && c->snd_max != c->snd_una;
    if (dup) {
      ++counters_.dupacks_in;
      if (c->dupacks < 255) ++c->dupacks;
      if (!(c->flags & kFlagRecovery)) {
        // RFC 6675 5: enter recovery on DupThresh dupACKs or when more than
        // (DupThresh - 1) * SMSS bytes above snd_una are SACKed; RFC 6582 4.1 guard.
        bool sack_lost = (c->flags & kFlagSack) && SackedBytes(c) > 2u * c->snd_mss;
        if ((c->dupacks >= 3 || sack_lost) && SeqGeq(c->snd_una, c->recover)) {
          ++counters_.fast_retransmits;
          CcOnLoss(c);
          c->recover = c->snd_max;
          c->flags |= kFlagRecovery;
          c->flags &= ~kFlagRttTiming;
          c->high_rxt = c->snd_una;
          RetransmitOne(c, c->snd_una);
          c->high_rxt = c->snd_una + std::min<uint32_t>(c->snd_mss, c->snd_queued);
          if (!(c->flags & kFlagSack)) c->cwnd = c->ssthresh + 3u * c->snd_mss;
          ArmRto(c);
        }
      } else if (!(c->flags & kFlagSack)) {
        c->cwnd += c->snd_mss;  // RFC 5681 3.2 step 4: inflate
      }
    } else if (SeqGeq(s.h.seq, c->snd_wl1)) {
      uint32_t old = c->snd_wnd;
      c->snd_wnd = wnd;
      c->snd_wl1 = s.h.seq;
      if (old == 0 && wnd > 0 && (c->flags & kFlagPersist)) {
        c->flags &= ~kFlagPersist;
        c->backoff = 0;
      }
    }
  }
  return true;
}

void StackImpl::DeliverInOrder(Conn* c, rte_mbuf* m, uint32_t len) {
  c->rcv_nxt += len;
  c->rcv_unread += len;
  c->bytes_in += len;
  counters_.bytes_in += len;
  H(c)->OnData(c, m);
}

void StackImpl::ProcessData(Conn* c, Segment& s) {
  if (c->state != State::kEstablished && c->state != State::kFinWait1 &&
      c->state != State::kFinWait2) {
    ++counters_.drop_state;  // RFC 9293 3.10.7.4: text after the peer's FIN is ignored
    return;
  }
  uint32_t seq = s.h.seq;
  uint32_t len = s.len;
  if (SeqLt(seq, c->rcv_nxt)) {
    uint32_t d = c->rcv_nxt - seq;
    if (d >= len) {
      ScheduleAck(c);  // a duplicate: ACK at once (RFC 5681 4.2)
      return;
    }
    TrimFront(s.m, d);
    seq = c->rcv_nxt;
    len -= d;
  }
  uint32_t right = SeqGt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv : c->rcv_nxt;
  if (SeqGt(seq + len, right)) {
    uint32_t over = seq + len - right;
    if (over >= len) {
      ++counters_.drop_out_of_window;
      ScheduleAck(c);
      return;
    }
    TrimBack(s.m, over);
    len -= over;
    s.h.flags &= ~kFin;  // the FIN lies beyond the window
  }
  s.h.seq = seq;
  s.len = len;
  if (seq == c->rcv_nxt) {
    rte_mbuf* m = s.m;
    s.m = nullptr;
    bool had_ooo = c->ooo_head != nullptr;
    DeliverInOrder(c, m, len);
    if (c->flags & kFlagDead) return;
    if (had_ooo) {
      OooPull(c);
      if (c->flags & kFlagDead) return;
      ScheduleAck(c);  // filled (part of) a gap: ACK at once (RFC 5681 4.2)
    } else if (c->rcv_nxt - c->rcv_acked >= 2u * cfg_.mss - 2 * 12) {
      ScheduleAck(c);  // at least two full segments (RFC 9293 3.8.6.3 / RFC 5681 4.2)
    } else if (!(c->flags & kFlagDelAck)) {
      c->flags |= kFlagDelAck;
      c->delack_deadline = now_ms32_ + cfg_.delack_ms;
      ArmTimer(c);
    }
    return;
  }
  OooInsert(c, s);
  // Out of order: an immediate duplicate ACK with SACK (RFC 5681 4.2, RFC 2018 4).
  sack_recent_ = seq;
  sack_recent_valid_ = true;
  SendAck(c);
  sack_recent_valid_ = false;
}

void StackImpl::OooInsert(Conn* c, Segment& s) {
  if (c->ooo_segs >= cfg_.ooo_max_segs || c->ooo_segs == 255) {
    ++counters_.drop_ooo_full;
    return;
  }
  if (queued_bytes_ + s.len > cfg_.mem_limit) {
    ++counters_.drop_mem_limit;
    return;
  }
  rte_mbuf* m = s.m;
  uint32_t seq = s.h.seq;
  uint32_t end = seq + s.len;
  bool fin = (s.h.flags & kFin) != 0;
  rte_mbuf* prev = nullptr;
  rte_mbuf* cur = c->ooo_head;
  while (cur != nullptr && SeqLt(Meta(cur)->seq, seq)) {
    prev = cur;
    cur = Meta(cur)->next;
  }
  if (prev != nullptr) {
    uint32_t prev_end = Meta(prev)->seq + prev->pkt_len;
    if (SeqGeq(prev_end, end)) return;  // already queued
    if (SeqGt(prev_end, seq)) {
      TrimFront(m, prev_end - seq);
      seq = prev_end;
    }
  }
  // Drop queued segments the new one covers entirely.
  while (cur != nullptr && SeqLeq(Meta(cur)->seq + cur->pkt_len, end)) {
    rte_mbuf* next = Meta(cur)->next;
    fin = fin || (Meta(cur)->fin && Meta(cur)->seq + cur->pkt_len == end);
    c->ooo_bytes -= cur->pkt_len;
    queued_bytes_ -= cur->pkt_len;
    --c->ooo_segs;
    rte_pktmbuf_free(cur);
    cur = next;
  }
  if (cur != nullptr && SeqLt(Meta(cur)->seq, end)) {
    TrimBack(m, end - Meta(cur)->seq);
    end = Meta(cur)->seq;
    fin = false;
  }
  if (m->pkt_len == 0) return;
  OooMeta* meta = Meta(m);
  meta->seq = seq;
  meta->fin = fin ? 1 : 0;
  meta->next = cur;
  if (prev != nullptr) {
    Meta(prev)->next = m;
  } else {
    c->ooo_head = m;
  }
  c->ooo_bytes += m->pkt_len;
  queued_bytes_ += m->pkt_len;
  ++c->ooo_segs;
  ++counters_.ooo_segs;
  s.m = nullptr;
}

void StackImpl::OooPull(Conn* c) {
  while (c->ooo_head != nullptr && SeqLeq(Meta(c->ooo_head)->seq, c->rcv_nxt)) {
    rte_mbuf* m = c->ooo_head;
    OooMeta* meta = Meta(m);
    c->ooo_head = meta->next;
    uint32_t seq = meta->seq, len = m->pkt_len;
    bool fin = meta->fin != 0;
    c->ooo_bytes -= len;
    queued_bytes_ -= len;
    --c->ooo_segs;
    uint32_t end = seq + len;
    if (SeqLeq(end, c->rcv_nxt)) {
      rte_pktmbuf_free(m);
    } else {
      TrimFront(m, c->rcv_nxt - seq);
      DeliverInOrder(c, m, end - c->rcv_nxt);
      if (c->flags & kFlagDead) return;
    }
    if (fin && end == c->rcv_nxt) {
      ProcessFin(c);
      return;
    }
  }
}

void StackImpl::ProcessFin(Conn* c) {
  c->rcv_nxt += 1;
  switch (c->state) {
    case State::kEstablished:
      c->state = State::kCloseWait;
      c->flags &= ~kFlagKeepalive;
      SendAck(c);
      H(c)->OnPeerClosed(c);
      break;
    case State::kFinWait1:
      if ((c->flags & kFlagFinSent) && c->snd_una == c->snd_max) {
        SendAck(c);
        EnterTimeWait(c);
      } else {
        c->state = State::kClosing;
        SendAck(c);
      }
      break;
    case State::kFinWait2:
      SendAck(c);
      EnterTimeWait(c);
      break;
    default:
      break;
  }
}

void StackImpl::EnterTimeWait(Conn* c) {
  Conn copy = *c;
  CloseConn(c, CloseReason::kNormal);
  TimeWaitInsert(&copy);
}

void StackImpl::TimeWaitAck(const TimeWait* tw) {
  TcpHeader h;
  h.src_port = tw->local_port;
  h.dst_port = tw->remote_port;
  h.seq = tw->snd_nxt;
  h.ack = tw->rcv_nxt;
  h.flags = kAck;
  h.window = 0;
  TcpOptions o;
  if (tw->has_ts) {
    o.has_ts = true;
    o.ts_val = now_ms32_;
    o.ts_ecr = tw->ts_recent;
  }
  uint8_t* payload;
  rte_mbuf* m = NewSegment(tw->local_ip, tw->remote_ip, h, o, 0, &payload);
  if (m == nullptr) return;
  ++counters_.acks_out;
  FinishSegment(m, tw->remote_ip);
}

// RFC 9293 3.10.7.4 in TIME-WAIT; RST is ignored (RFC 1337); a new SYN with a higher sequence
// number or timestamp reopens the tuple (RFC 6191).
void StackImpl::TimeWaitInput(TimeWait* tw, Segment& s) {
  uint8_t f = s.h.flags;
  ++counters_.drop_time_wait;
  if (f & kRst) return;
  if ((f & kSyn) && !(f & kAck)) {
    bool newer =
        (tw->has_ts && s.o.has_ts) ? SeqGt(s.o.ts_val, tw->ts_recent) : SeqGt(s.h.seq, tw->rcv_nxt);
    if (newer) {
      TimeWaitRemove(tw);
      ++counters_.time_wait_reused;
      const Listener* l = FindListener(s.dst_ip, s.h.dst_port);
      if (l != nullptr) {
        ListenInput(l, static_cast<uint16_t>(l - listeners_.data()), s);
      } else {
        SendRstForSegment(s);
      }
      return;
    }
  }
  TimeWaitAck(tw);
}

}  // namespace dp::tcp
