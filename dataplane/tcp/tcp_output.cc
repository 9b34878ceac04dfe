// Building and sending segments (RFC 9293 3.8.6 windows, 3.10 events; RFC 7323 options; RFC 2018
// SACK blocks). Segments are built in fresh mbufs from the stack's pool: IPv4 + TCP headers and,
// for data, a copy of the payload from the send queue, which keeps the original for
// retransmission. Checksums are computed in software.
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

#include "dataplane/tcp/tcp_impl.h"

namespace dp::tcp {

rte_mbuf* StackImpl::NewSegment(uint32_t src_ip, uint32_t dst_ip, const TcpHeader& h,
                                const TcpOptions& o, uint32_t payload_len, uint8_t** payload) {
  rte_mbuf* m = rte_pktmbuf_alloc(cfg_.pool);
  if (m == nullptr) {
    ++counters_.drop_no_mbuf;
    return nullptr;
  }
  if (rte_pktmbuf_headroom(m) < kTcpHeadroom) rte_pktmbuf_reset_headroom(m);
  size_t optlen = OptionsLength(o);
  uint32_t tcp_len = static_cast<uint32_t>(kTcpHeaderLen + optlen) + payload_len;
  uint32_t total = static_cast<uint32_t>(kIpv4HeaderLen) + tcp_len;
  uint8_t* ip = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(total)));
  if (ip == nullptr) {
    rte_pktmbuf_free(m);
    ++counters_.drop_no_mbuf;
    return nullptr;
  }
  ip[0] = 0x45;
  ip[1] = 0;
  StoreBe16(ip + 2, static_cast<uint16_t>(total));
  StoreBe16(ip + 4, ip_id_++);
  StoreBe16(ip + 6, 0x4000);  // DF: path MTU discovery (RFC 1191)
  ip[8] = 64;
  ip[9] = 6;
  StoreBe16(ip + 10, 0);
  StoreBe32(ip + 12, src_ip);
  StoreBe32(ip + 16, dst_ip);
  StoreBe16(ip + 10, ChecksumFold(ChecksumPartial(ip, kIpv4HeaderLen, 0)));
  uint8_t* tcp = ip + kIpv4HeaderLen;
  TcpHeader hh = h;
  hh.header_len = static_cast<uint8_t>(kTcpHeaderLen + optlen);
  WriteTcpHeader(hh, tcp);
  WriteOptions(o, tcp + kTcpHeaderLen);
  *payload = tcp + hh.header_len;
  m->l2_len = 0;
  m->l3_len = kIpv4HeaderLen;
  m->l4_len = hh.header_len;
  m->packet_type = RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_TCP;
  return m;
}

void StackImpl::FinishSegment(rte_mbuf* m, uint32_t dst_ip) {
  uint8_t* ip = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* tcp = ip + kIpv4HeaderLen;
  uint16_t tcp_len = static_cast<uint16_t>(m->pkt_len - kIpv4HeaderLen);
  // DPDK's checksum sums native-order words; the folded complement is stored as is.
  uint32_t sum = RawChecksum(tcp, tcp_len);
  sum += rte_ipv4_phdr_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip), 0);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  uint16_t ck = static_cast<uint16_t>(~sum);
  std::memcpy(tcp + 16, &ck, sizeof(ck));
  ++counters_.segs_out;
  cfg_.output.fn(cfg_.output.ctx, m, dst_ip);
}

uint32_t StackImpl::RcvWindowAvail(const Conn* c) const {
  uint64_t held = static_cast<uint64_t>(c->rcv_unread) + c->ooo_bytes;
  return held >= cfg_.rcv_buf ? 0 : static_cast<uint32_t>(cfg_.rcv_buf - held);
}

// RFC 9293 3.8.6.2.2 receiver SWS avoidance; the right edge never moves left (3.8.6).
uint16_t StackImpl::AdvertiseWindow(Conn* c) {
  uint32_t avail = RcvWindowAvail(c);
  uint32_t threshold = std::min<uint32_t>(cfg_.rcv_buf / 2, cfg_.mss);
  uint32_t cur = SeqGt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
  if (avail < cur + threshold && avail < cfg_.rcv_buf) avail = std::min(avail, cur);
  if (avail < cur) avail = cur;
  uint32_t win = avail >> c->rcv_wscale;
  if (win > 0xffff) win = 0xffff;
  uint32_t right = c->rcv_nxt + (win << c->rcv_wscale);
  if (SeqGt(right, c->rcv_adv)) c->rcv_adv = right;
  return static_cast<uint16_t>(win);
}

void StackImpl::FillOptions(Conn* c, TcpOptions* o, bool syn) {
  if (c->flags & kFlagTs) {
    o->has_ts = true;
    o->ts_val = now_ms32_;
    o->ts_ecr = c->ts_recent;
  }
  if (!syn && (c->flags & kFlagSack) && c->ooo_head != nullptr) {
    o->num_sack = static_cast<uint8_t>(BuildSackBlocks(c, o->sack, o->has_ts ? 3 : 4));
  }
}

void StackImpl::ScheduleAck(Conn* c) {
  c->flags |= kFlagAckNow;
  if (!(c->flags & kFlagOnAckList)) {
    c->flags |= kFlagOnAckList;
    ack_list_.push_back(c);
  }
}

void StackImpl::SendAck(Conn* c) {
  TcpHeader h;
  h.src_port = c->local_port;
  h.dst_port = c->remote_port;
  h.seq = c->snd_nxt;
  h.ack = c->rcv_nxt;
  h.flags = kAck;
  h.window = AdvertiseWindow(c);
  TcpOptions o;
  FillOptions(c, &o, false);
  uint8_t* payload;
  rte_mbuf* m = NewSegment(c->local_ip, c->remote_ip, h, o, 0, &payload);
  c->flags &= ~(kFlagAckNow | kFlagDelAck);
  if (m == nullptr) return;
  c->rcv_acked = c->rcv_nxt;
  ++counters_.acks_out;
  FinishSegment(m, c->remote_ip);
}

void StackImpl::SendSyn(Conn* c) {
  TcpHeader h;
  h.src_port = c->local_port;
  h.dst_port = c->remote_port;
  h.seq = c->snd_una;
  h.flags = kSyn;
  h.window = static_cast<uint16_t>(std::min<uint32_t>(cfg_.rcv_buf, 0xffff));  // RFC 7323 2.2
  TcpOptions o;
  o.has_mss = true;
  o.mss = cfg_.mss;
  o.has_wscale = cfg_.window_scaling;
  o.wscale = our_wscale_;
  o.sack_permitted = cfg_.sack;
  o.has_ts = cfg_.timestamps;
  o.ts_val = now_ms32_;
  uint8_t* payload;
  rte_mbuf* m = NewSegment(c->local_ip, c->remote_ip, h, o, 0, &payload);
  if (m != nullptr) FinishSegment(m, c->remote_ip);
}

void StackImpl::SendSynAck(Conn* c, uint32_t tsval) {
  TcpHeader h;
  h.src_port = c->local_port;
  h.dst_port = c->remote_port;
  h.seq = c->snd_una;
  h.ack = c->rcv_nxt;
  h.flags = kSyn | kAck;
  h.window = static_cast<uint16_t>(std::min<uint32_t>(cfg_.rcv_buf, 0xffff));
  c->rcv_adv = c->rcv_nxt + h.window;
  TcpOptions o;
  o.has_mss = true;
  o.mss = cfg_.mss;
  o.has_wscale = c->rcv_wscale != 0;
  o.wscale = c->rcv_wscale;
  o.sack_permitted = (c->flags & kFlagSack) != 0;
  o.has_ts = (c->flags & kFlagTs) != 0;
  o.ts_val = tsval;
  o.ts_ecr = c->ts_recent;
  uint8_t* payload;
  rte_mbuf* m = NewSegment(c->local_ip, c->remote_ip, h, o, 0, &payload);
  if (m != nullptr) FinishSegment(m, c->remote_ip);
}

// RFC 9293 3.10.7.1: reset for a segment that belongs to no connection.
void StackImpl::SendRstForSegment(const Segment& s) {
  if (s.h.flags & kRst) return;
  TcpHeader h;
  h.src_port = s.h.dst_port;
  h.dst_port = s.h.src_port;
  if (s.h.flags & kAck) {
    h.seq = s.h.ack;
    h.flags = kRst;
  } else {
    h.seq = 0;
    h.ack = s.h.seq + s.seq_len();
    h.flags = kRst | kAck;
  }
  TcpOptions o;
  uint8_t* payload;
  rte_mbuf* m = NewSegment(s.dst_ip, s.src_ip, h, o, 0, &payload);
  if (m == nullptr) return;
  ++counters_.rst_out;
  FinishSegment(m, s.src_ip);
}

void StackImpl::SendRst(Conn* c) {
  TcpHeader h;
  h.src_port = c->local_port;
  h.dst_port = c->remote_port;
  h.seq = c->snd_nxt;
  h.ack = c->rcv_nxt;
  h.flags = kRst | kAck;
  TcpOptions o;
  uint8_t* payload;
  rte_mbuf* m = NewSegment(c->local_ip, c->remote_ip, h, o, 0, &payload);
  if (m == nullptr) return;
  ++counters_.rst_out;
  FinishSegment(m, c->remote_ip);
}

void StackImpl::CopyOut(Conn* c, uint32_t offset, uint32_t len, uint8_t* dst) {
  rte_mbuf* m;
  uint32_t off;
  if (offset == c->snd_nxt - c->snd_una && c->snd_cur != nullptr) {
    m = c->snd_cur;
    off = c->snd_cur_off;
  } else {
    m = c->snd_head;
    off = offset;
    while (m != nullptr && off >= m->data_len) {
      off -= m->data_len;
      m = m->next;
    }
  }
  while (len > 0 && m != nullptr) {
    uint32_t n = std::min<uint32_t>(len, m->data_len - off);
    std::memcpy(dst, rte_pktmbuf_mtod_offset(m, uint8_t*, off), n);
    dst += n;
    len -= n;
    off += n;
    if (off == m->data_len) {
      m = m->next;
      off = 0;
    }
  }
}

void StackImpl::ResetSendCursor(Conn* c) {
  uint32_t off = c->snd_nxt - c->snd_una;
  rte_mbuf* m = c->snd_head;
  while (m != nullptr && off >= m->data_len) {
    off -= m->data_len;
    m = m->next;
  }
  c->snd_cur = m;
  c->snd_cur_off = static_cast<uint16_t>(m != nullptr ? off : 0);
}

// Advance the cursor by `len` bytes of new data just sent.
static void AdvanceCursor(Conn* c, uint32_t len) {
  while (len > 0 && c->snd_cur != nullptr) {
    uint32_t room = c->snd_cur->data_len - c->snd_cur_off;
    if (len < room) {
      c->snd_cur_off = static_cast<uint16_t>(c->snd_cur_off + len);
      return;
    }
    len -= room;
    c->snd_cur = c->snd_cur->next;
    c->snd_cur_off = 0;
  }
}

void StackImpl::TrimSendQueue(Conn* c, uint32_t acked) {
  if (acked > c->snd_queued) acked = c->snd_queued;
  c->snd_queued -= acked;
  queued_bytes_ -= acked;
  bool cursor_lost = false;
  while (acked > 0 && c->snd_head != nullptr) {
    rte_mbuf* m = c->snd_head;
    if (acked >= m->data_len) {
      acked -= m->data_len;
      c->snd_head = m->next;
      if (c->snd_cur == m) cursor_lost = true;
      m->next = nullptr;
      rte_pktmbuf_free_seg(m);
    } else {
      m->data_off = static_cast<uint16_t>(m->data_off + acked);
      m->data_len = static_cast<uint16_t>(m->data_len - acked);
      if (c->snd_cur == m) {
        if (c->snd_cur_off >= acked) {
          c->snd_cur_off = static_cast<uint16_t>(c->snd_cur_off - acked);
        } else {
          cursor_lost = true;
        }
      }
      acked = 0;
    }
  }
  if (c->snd_head == nullptr) c->snd_tail = nullptr;
  if (cursor_lost) ResetSendCursor(c);
}

void StackImpl::FreeQueues(Conn* c) {
  rte_mbuf* m = c->snd_head;
  while (m != nullptr) {
    rte_mbuf* next = m->next;
    m->next = nullptr;
    rte_pktmbuf_free_seg(m);
    m = next;
  }
  queued_bytes_ -= c->snd_queued;
  c->snd_head = c->snd_tail = c->snd_cur = nullptr;
  c->snd_queued = 0;
  m = c->ooo_head;
  while (m != nullptr) {
    rte_mbuf* next = Meta(m)->next;
    rte_pktmbuf_free(m);
    m = next;
  }
  queued_bytes_ -= c->ooo_bytes;
  c->ooo_head = nullptr;
  c->ooo_bytes = 0;
  c->ooo_segs = 0;
}

void StackImpl::SendData(Conn* c, uint32_t seq, uint32_t len, bool fin, bool retransmit) {
  TcpHeader h;
  h.src_port = c->local_port;
  h.dst_port = c->remote_port;
  h.seq = seq;
  h.ack = c->rcv_nxt;
  h.flags = kAck | (fin ? kFin : 0);
  uint32_t offset = seq - c->snd_una;
  if (len > 0 && offset + len == c->snd_queued) h.flags |= kPsh;
  h.window = AdvertiseWindow(c);
  TcpOptions o;
  FillOptions(c, &o, false);
  uint8_t* payload;
  rte_mbuf* m = NewSegment(c->local_ip, c->remote_ip, h, o, len, &payload);
  if (m == nullptr) return;
  if (len > 0) CopyOut(c, offset, len, payload);
  c->flags &= ~(kFlagAckNow | kFlagDelAck);
  c->rcv_acked = c->rcv_nxt;
  counters_.bytes_out += len;
  if (retransmit) {
    ++counters_.retransmits;
    ++c->retransmits;
    // Karn (RFC 6298 3): never time a retransmitted segment.
    if ((c->flags & kFlagRttTiming) && SeqLeq(seq, c->rtt_seq)) c->flags &= ~kFlagRttTiming;
  } else if (!(c->flags & kFlagRttTiming) && len > 0) {
    c->flags |= kFlagRttTiming;
    c->rtt_seq = seq + len;
    c->rtt_start_us = now_us_;
  }
  FinishSegment(m, c->remote_ip);
}

bool StackImpl::RetransmitOne(Conn* c, uint32_t seq) {
  uint32_t offset = seq - c->snd_una;
  uint32_t fin_seq = c->snd_una + c->snd_queued;
  bool fin_outstanding = (c->flags & kFlagFinSent) != 0;
  uint32_t avail = offset < c->snd_queued ? c->snd_queued - offset : 0;
  uint32_t len = std::min<uint32_t>(avail, c->snd_mss);
  bool fin = fin_outstanding && seq + len == fin_seq;
  if (len == 0 && !fin) return false;
  SendData(c, seq, len, fin, true);
  return true;
}

static bool CanSendData(State s) {
  return s == State::kEstablished || s == State::kCloseWait || s == State::kFinWait1 ||
         s == State::kClosing || s == State::kLastAck;
}

void StackImpl::Output(Conn* c) {
  if (!CanSendData(c->state)) return;
  bool sent_any = false;
  // RFC 6675 5 (C): in SACK recovery, fill the pipe with retransmissions of holes first.
  if ((c->flags & kFlagRecovery) && (c->flags & kFlagSack)) {
    uint32_t seq, len;
    while (Pipe(c) + c->snd_mss <= c->cwnd && NextHole(c, &seq, &len)) {
      if (!RetransmitOne(c, seq)) break;
      ++counters_.sack_recovery_rexmits;
      c->high_rxt = seq + std::min<uint32_t>(len, c->snd_queued - (seq - c->snd_una));
      sent_any = true;
    }
  }
  while (true) {
    uint32_t sent_off = c->snd_nxt - c->snd_una;
    uint32_t unsent = c->snd_queued > sent_off ? c->snd_queued - sent_off : 0;
    bool fin_pending = (c->flags & kFlagFinQueued) && sent_off <= c->snd_queued;
    if (unsent == 0 && !fin_pending) break;
    uint32_t flight;
    if ((c->flags & kFlagRecovery) && (c->flags & kFlagSack)) {
      flight = Pipe(c);
    } else {
      flight = sent_off;
    }
    uint32_t wnd = std::min(c->cwnd, c->snd_wnd);
    // The offered window limits sequence space beyond snd_una regardless of pipe.
    uint32_t peer_room = c->snd_wnd > sent_off ? c->snd_wnd - sent_off : 0;
    uint32_t usable = wnd > flight ? wnd - flight : 0;
    usable = std::min(usable, peer_room);
    uint32_t len = std::min<uint32_t>({unsent, c->snd_mss, usable});
    // Sender SWS avoidance (RFC 9293 3.8.6.2.1): a short segment only when it empties the queue.
    if (len < unsent && len < c->snd_mss) break;
    bool fin = fin_pending && len == unsent;
    if (len == 0 && !fin) break;
    bool rexmit = SeqLt(c->snd_nxt, c->snd_max);
    SendData(c, c->snd_nxt, len, fin, rexmit);
    AdvanceCursor(c, len);
    c->snd_nxt += len + (fin ? 1 : 0);
    if (fin) c->flags |= kFlagFinSent;
    if (SeqGt(c->snd_nxt, c->snd_max)) c->snd_max = c->snd_nxt;
    sent_any = true;
    if (fin) break;
  }
  if (sent_any && !(c->flags & kFlagRto)) ArmRto(c);
  // Zero window with data waiting and nothing outstanding: persist timer (RFC 9293 3.8.6.1).
  uint32_t sent_off = c->snd_nxt - c->snd_una;
  if (c->snd_wnd == 0 && c->snd_queued > sent_off && c->snd_max == c->snd_una &&
      !(c->flags & (kFlagRto | kFlagPersist))) {
    c->flags |= kFlagPersist;
    c->rto_deadline = now_ms32_ + std::min<uint32_t>(c->rto_ms << c->backoff, cfg_.rto_max_ms);
    ArmTimer(c);
  }
}

void StackImpl::OutputAfterAck(Conn* c) {
  Output(c);
  if ((c->flags & kFlagWantWritable) && SendSpace(c) >= cfg_.snd_buf / 2) {
    c->flags &= ~kFlagWantWritable;
    H(c)->OnWritable(c);
  }
}

}  // namespace dp::tcp
