// Connection timers on the per-lcore wheel (1 ms ticks). Each connection has one wheel node armed
// at its earliest deadline (retransmission or persist, delayed ACK, keepalive or FIN_WAIT_2); the
// node is re-armed lazily: a later deadline leaves it early, and the callback re-arms.
#include <rte_mbuf.h>

#include <algorithm>

#include "dataplane/tcp/tcp_impl.h"

namespace dp::tcp {

void StackImpl::ArmTimer(Conn* c) {
  bool any = false;
  uint32_t earliest = 0;
  auto consider = [&](uint32_t d) {
    if (!any || SeqLt(d, earliest)) earliest = d;
    any = true;
  };
  if (c->flags & (kFlagRto | kFlagPersist)) consider(c->rto_deadline);
  if (c->flags & kFlagDelAck) consider(c->delack_deadline);
  if (c->flags & (kFlagKeepalive | kFlagFinWait2Timer)) consider(c->aux_deadline);
  if (!any) return;  // a stale armed node fires once and finds nothing
  int32_t delta = static_cast<int32_t>(earliest - now_ms32_);
  uint64_t at = now_ms64_ + (delta > 0 ? static_cast<uint64_t>(delta) : 0);
  if (c->timer.armed() && wheel_.ExpiryOf(&c->timer) <= at) return;
  wheel_.Schedule(&c->timer, at);
}

void StackImpl::ArmRto(Conn* c) {
  c->flags = static_cast<uint16_t>((c->flags | kFlagRto) & ~kFlagPersist);
  uint64_t rto = static_cast<uint64_t>(c->rto_ms) << std::min<uint8_t>(c->backoff, 20);
  c->rto_deadline = now_ms32_ + static_cast<uint32_t>(std::min<uint64_t>(rto, cfg_.rto_max_ms));
  ArmTimer(c);
}

void StackImpl::StopRto(Conn* c) { c->flags &= ~(kFlagRto | kFlagPersist); }

// RFC 6298 2.2 / 2.3.
void StackImpl::RttSample(Conn* c, uint32_t r) {
  if (r == 0) r = 1;
  if (c->srtt_us == 0) {
    c->srtt_us = r;
    c->rttvar_us = r / 2;
  } else {
    uint32_t diff = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
    c->rttvar_us = (3 * c->rttvar_us + diff) / 4;
    c->srtt_us = (7 * c->srtt_us + r) / 8;
  }
  uint32_t rto_us = c->srtt_us + std::max<uint32_t>(1000, 4 * c->rttvar_us);
  c->rto_ms = std::clamp<uint32_t>(rto_us / 1000, cfg_.rto_min_ms, cfg_.rto_max_ms);
}

void StackImpl::StartKeepalive(Conn* c) {
  if (c->keepalive_idle_s == 0 || c->state != State::kEstablished) {
    c->flags &= ~kFlagKeepalive;
    return;
  }
  c->flags |= kFlagKeepalive;
  c->aux_deadline = c->last_rx_ms + c->keepalive_idle_s * 1000u;
  ArmTimer(c);
}

// A segment with an old sequence number elicits an ACK carrying the current window: the zero
// window probe and keepalive probe both use it (RFC 9293 3.8.4, 3.8.6.1).
static void SendProbe(StackImpl* s, Conn* c) {
  TcpHeader h;
  h.src_port = c->local_port;
  h.dst_port = c->remote_port;
  h.seq = c->snd_una - 1;
  h.ack = c->rcv_nxt;
  h.flags = kAck;
  h.window = s->AdvertiseWindow(c);
  TcpOptions o;
  s->FillOptions(c, &o, false);
  uint8_t* payload;
  rte_mbuf* m = s->NewSegment(c->local_ip, c->remote_ip, h, o, 0, &payload);
  if (m != nullptr) s->FinishSegment(m, c->remote_ip);
}

void StackImpl::PersistExpired(Conn* c) {
  c->flags &= ~kFlagPersist;
  uint32_t sent_off = c->snd_nxt - c->snd_una;
  if (c->snd_wnd != 0 || c->snd_queued <= sent_off) {
    Output(c);
    return;
  }
  ++counters_.zero_window_probes;
  SendProbe(this, c);
  if (c->backoff < 16) ++c->backoff;
  c->flags |= kFlagPersist;
  c->rto_deadline =
      now_ms32_ + static_cast<uint32_t>(std::min<uint64_t>(
                      static_cast<uint64_t>(c->rto_ms) << c->backoff, cfg_.rto_max_ms));
}

void StackImpl::RtoExpired(Conn* c) {
  c->flags &= ~kFlagRto;
  if (c->state == State::kSynSent || c->state == State::kSynReceived) {
    if (++c->syn_retries > cfg_.syn_retries) {
      CloseConn(c, CloseReason::kTimeout, c->state == State::kSynSent);
      return;
    }
    ++c->backoff;
    ++counters_.retransmits;
    if (c->state == State::kSynSent) {
      SendSyn(c);
    } else {
      SendSynAck(c, now_ms32_);
    }
    ArmRto(c);
    return;
  }
  if (c->snd_una == c->snd_max) return;  // nothing outstanding
  // The peer closed its window on data in flight but still answers: our retransmissions are
  // window probes, and a live peer is not timed out (as Linux does for a shrunk window).
  if (c->snd_wnd == 0 && now_ms32_ - c->last_rx_ms < cfg_.rto_max_ms) {
    ++counters_.zero_window_probes;
    SendProbe(this, c);
    if (c->backoff < 30) ++c->backoff;
    ArmRto(c);
    return;
  }
  if (c->backoff >= cfg_.max_retries) {
    SendRst(c);
    CloseConn(c, CloseReason::kTimeout);
    return;
  }
  ++counters_.rto_expired;
  CcOnRto(c);
  if (c->backoff < 30) ++c->backoff;  // RFC 6298 5.5
  c->flags &= ~(kFlagRecovery | kFlagRttTiming);
  c->recover = c->snd_max;  // RFC 6582 4.2: no fast retransmit for data sent before the RTO
  c->dupacks = 0;
  c->sacked[0] = c->sacked[1] = c->sacked[2] = SackBlock{0, 0};
  c->high_rxt = c->snd_una;
  // Go back N: resend from snd_una (RFC 5681 3.1, RFC 6298 5.4).
  c->snd_nxt = c->snd_una;
  ResetSendCursor(c);
  Output(c);
  if (!(c->flags & kFlagRto)) ArmRto(c);
}

void StackImpl::ConnTimer(Conn* c) {
  if (c->flags & kFlagDead) return;
  uint32_t now = now_ms32_;
  if ((c->flags & kFlagDelAck) && SeqLeq(c->delack_deadline, now)) {
    ++counters_.delayed_acks;
    SendAck(c);
  }
  if ((c->flags & kFlagRto) && SeqLeq(c->rto_deadline, now)) {
    RtoExpired(c);
  } else if ((c->flags & kFlagPersist) && SeqLeq(c->rto_deadline, now)) {
    PersistExpired(c);
  }
  if (c->flags & kFlagDead) return;
  if ((c->flags & kFlagFinWait2Timer) && SeqLeq(c->aux_deadline, now)) {
    CloseConn(c, CloseReason::kNormal);
    return;
  }
  if ((c->flags & kFlagKeepalive) && SeqLeq(c->aux_deadline, now)) {
    uint32_t idle_ms = c->keepalive_idle_s * 1000u;
    if (now - c->last_rx_ms < idle_ms) {
      c->probes = 0;
      c->aux_deadline = c->last_rx_ms + idle_ms;
    } else if (c->probes >= cfg_.keepalive_probes) {
      SendRst(c);
      CloseConn(c, CloseReason::kKeepaliveTimeout);
      return;
    } else {
      ++c->probes;
      ++counters_.keepalive_probes;
      SendProbe(this, c);
      c->aux_deadline = now + cfg_.keepalive_intvl_ms;
    }
  }
  ArmTimer(c);
}

void StackImpl::OnTimer(uint64_t now_ns) {
  SetTime(now_ns);
  wheel_.Advance(now_ms64_, [this](TimerNode* n) { ConnTimer(reinterpret_cast<Conn*>(n)); });
  TimeWaitExpire();
  Reap();
}

uint64_t StackImpl::NextTimerNs() const {
  uint64_t t = wheel_.NextExpiry();
  uint64_t ns = t == UINT64_MAX ? UINT64_MAX : t * 1000000ull;
  if (tw_live_ > 0) {
    // The oldest live entry's expiry bounds the TIME_WAIT sweep.
    for (uint32_t i = 0; i < tw_count_; ++i) {
      const TimeWait& e = tw_[(tw_head_ + i) % tw_cap_];
      if (!e.live) continue;
      int32_t d = static_cast<int32_t>(e.expiry_ms - now_ms32_);
      uint64_t at = (now_ms64_ + (d > 0 ? d : 0)) * 1000000ull;
      ns = std::min(ns, at);
      break;
    }
  }
  return ns;
}

}  // namespace dp::tcp
