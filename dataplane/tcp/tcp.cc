// dp::tcp::Stack public API (tcp.h), connection lifecycle and the API entry points of StackImpl.
#include "dataplane/tcp/tcp.h"

#include <rte_mbuf.h>
#include <rte_random.h>
#include <sys/mman.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "dataplane/tcp/tcp_impl.h"

namespace dp::tcp {

const char* StateName(State s) {
  switch (s) {
    case State::kClosed:
      return "CLOSED";
    case State::kListen:
      return "LISTEN";
    case State::kSynSent:
      return "SYN-SENT";
    case State::kSynReceived:
      return "SYN-RECEIVED";
    case State::kEstablished:
      return "ESTABLISHED";
    case State::kFinWait1:
      return "FIN-WAIT-1";
    case State::kFinWait2:
      return "FIN-WAIT-2";
    case State::kCloseWait:
      return "CLOSE-WAIT";
    case State::kClosing:
      return "CLOSING";
    case State::kLastAck:
      return "LAST-ACK";
    case State::kTimeWait:
      return "TIME-WAIT";
  }
  return "?";
}

const char* CloseReasonName(CloseReason r) {
  switch (r) {
    case CloseReason::kNormal:
      return "normal";
    case CloseReason::kReset:
      return "reset";
    case CloseReason::kRefused:
      return "refused";
    case CloseReason::kTimeout:
      return "timeout";
    case CloseReason::kKeepaliveTimeout:
      return "keepalive-timeout";
    case CloseReason::kAborted:
      return "aborted";
    case CloseReason::kNoMemory:
      return "no-memory";
    case CloseReason::kShutdown:
      return "shutdown";
  }
  return "?";
}

}  // namespace dp::tcp

namespace dp::tcp {

StackImpl::StackImpl(const StackConfig& cfg) : cfg_(cfg), wheel_(0) {
  ack_list_.reserve(1024);
  listeners_.reserve(16);
}

StackImpl::~StackImpl() {
  for (uint32_t i = 0; i < conns_hwm_; ++i) {
    Conn* c = &conns_[i];
    if (c->state != State::kClosed && !(c->flags & kFlagDead)) {
      CloseConn(c, CloseReason::kShutdown,
                !(c->state == State::kSynReceived && (c->flags & kFlagPassive)));
    }
  }
  Reap();
  if (conns_ != nullptr) munmap(conns_, conns_map_bytes_);
  if (slots_ != nullptr) munmap(slots_, slots_map_bytes_);
  if (tw_ != nullptr) munmap(tw_, tw_map_bytes_);
}

void StackImpl::SetTime(uint64_t now_ns) {
  if (now_ns < now_ns_) return;  // monotonic
  now_ns_ = now_ns;
  now_ms64_ = now_ns / 1000000ull;
  now_ms32_ = static_cast<uint32_t>(now_ms64_);
  now_us_ = static_cast<uint32_t>(now_ns / 1000ull);
}

void StackImpl::CloseConn(Conn* c, CloseReason why, bool notify) {
  if (c->flags & kFlagDead) return;
  if (c->state == State::kSynReceived && (c->flags & kFlagPassive)) --half_open_;
  c->flags |= kFlagDead;
  c->state = State::kClosed;
  wheel_.Cancel(&c->timer);
  HashRemove(c);
  FreeQueues(c);
  if (c->flags & kFlagOnAckList) {
    for (size_t i = 0; i < ack_list_.size(); ++i) {
      if (ack_list_[i] == c) {
        ack_list_[i] = ack_list_.back();
        ack_list_.pop_back();
        break;
      }
    }
    c->flags &= ~kFlagOnAckList;
  }
  ++counters_.conns_closed;
  if (notify) H(c)->OnClosed(c, why);
  c->timer.next = reinterpret_cast<TimerNode*>(dead_list_);
  dead_list_ = c;
}

uint16_t StackImpl::HandlerIndex(Handler* h) {
  for (size_t i = 0; i < handlers_.size(); ++i) {
    if (handlers_[i] == h) return static_cast<uint16_t>(i);
  }
  handlers_.push_back(h);
  return static_cast<uint16_t>(handlers_.size() - 1);
}

void StackImpl::Reap() {
  while (dead_list_ != nullptr) {
    Conn* c = dead_list_;
    dead_list_ = reinterpret_cast<Conn*>(c->timer.next);
    FreeConn(c);
  }
}

void StackImpl::EndBurst(uint64_t now_ns) {
  SetTime(now_ns);
  for (size_t i = 0; i < ack_list_.size(); ++i) {
    Conn* c = ack_list_[i];
    c->flags &= ~kFlagOnAckList;
    if (!(c->flags & kFlagDead) && (c->flags & kFlagAckNow)) SendAck(c);
  }
  ack_list_.clear();
  Reap();
}

absl::Status StackImpl::Listen(uint32_t ip, uint16_t port, Handler* h, void* user) {
  if (h == nullptr || port == 0)
    return absl::InvalidArgumentError("tcp: Listen needs a handler and a port");
  for (Listener& l : listeners_) {
    if (l.live && l.ip == ip && l.port == port) {
      return absl::AlreadyExistsError(absl::StrCat("tcp: already listening on port ", port));
    }
  }
  for (Listener& l : listeners_) {
    if (!l.live) {
      l = Listener{ip, port, true, h, user};
      return absl::OkStatus();
    }
  }
  if (listeners_.size() >= 0xffff) return absl::ResourceExhaustedError("tcp: too many listeners");
  listeners_.push_back(Listener{ip, port, true, h, user});
  return absl::OkStatus();
}

absl::Status StackImpl::Unlisten(uint32_t ip, uint16_t port) {
  for (Listener& l : listeners_) {
    if (l.live && l.ip == ip && l.port == port) {
      l.live = false;  // established connections keep their handler
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(absl::StrCat("tcp: not listening on port ", port));
}

absl::StatusOr<Conn*> StackImpl::Connect(uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
                                         uint16_t dst_port, Handler* h, void* user,
                                         uint64_t now_ns) {
  SetTime(now_ns);
  Reap();
  if (h == nullptr || dst_port == 0 || dst_ip == 0 || src_ip == 0) {
    return absl::InvalidArgumentError("tcp: Connect needs addresses, a port and a handler");
  }
  TimeWait* tw;
  if (src_port == 0) {
    uint32_t lo = cfg_.ephemeral_lo, hi = cfg_.ephemeral_hi;
    if (hi < lo) return absl::InvalidArgumentError("tcp: bad ephemeral port range");
    uint32_t range = hi - lo + 1;
    uint32_t start = static_cast<uint32_t>(rte_rand() % range);
    for (uint32_t i = 0; i < range; ++i) {
      uint16_t p = static_cast<uint16_t>(lo + (start + i) % range);
      if (LookupConn(src_ip, p, dst_ip, dst_port, &tw) == nullptr && tw == nullptr) {
        src_port = p;
        break;
      }
    }
    if (src_port == 0) return absl::ResourceExhaustedError("tcp: no free ephemeral port");
  } else if (LookupConn(src_ip, src_port, dst_ip, dst_port, &tw) != nullptr || tw != nullptr) {
    return absl::AlreadyExistsError("tcp: the 4-tuple is in use");
  }
  Conn* c = AllocConn();
  if (c == nullptr) return absl::ResourceExhaustedError("tcp: connection table full (max_conns)");
  c->local_ip = src_ip;
  c->remote_ip = dst_ip;
  c->local_port = src_port;
  c->remote_port = dst_port;
  c->handler = HandlerIndex(h);
  c->user = user;
  c->state = State::kSynSent;
  uint32_t iss = Isn(src_ip, src_port, dst_ip, dst_port);
  c->snd_una = iss;
  c->snd_nxt = c->snd_max = iss + 1;
  c->snd_mss = 536;
  c->rto_ms = cfg_.rto_initial_ms;
  c->keepalive_idle_s = static_cast<uint16_t>(cfg_.keepalive_idle_ms / 1000);
  c->rtt_start_us = now_us_;
  if (!HashInsert(c)) {
    FreeConn(c);
    return absl::ResourceExhaustedError("tcp: connection hash full");
  }
  SendSyn(c);
  ArmRto(c);
  return c;
}

uint32_t StackImpl::SendSpace(const Conn* c) const {
  if ((c->flags & (kFlagDead | kFlagFinQueued)) ||
      (c->state != State::kEstablished && c->state != State::kCloseWait)) {
    return 0;
  }
  if (queued_bytes_ >= cfg_.mem_limit) return 0;
  return c->snd_queued < cfg_.snd_buf ? cfg_.snd_buf - c->snd_queued : 0;
}

bool StackImpl::Send(Conn* c, rte_mbuf* data, uint64_t now_ns) {
  SetTime(now_ns);
  if (SendSpace(c) == 0) {
    if (!(c->flags & kFlagDead)) c->flags |= kFlagWantWritable;
    if (queued_bytes_ >= cfg_.mem_limit) ++counters_.drop_mem_limit;
    return false;
  }
  uint32_t len = data->pkt_len;
  if (len == 0) {
    rte_pktmbuf_free(data);
    return true;
  }
  rte_mbuf* last = data;
  while (last->next != nullptr) last = last->next;
  if (c->snd_tail != nullptr) {
    c->snd_tail->next = data;
  } else {
    c->snd_head = data;
  }
  c->snd_tail = last;
  if (c->snd_cur == nullptr) {
    c->snd_cur = data;
    c->snd_cur_off = 0;
  }
  c->snd_queued += len;
  queued_bytes_ += len;
  Output(c);
  return true;
}

void StackImpl::RequestWritable(Conn* c) {
  if (!(c->flags & kFlagDead)) c->flags |= kFlagWantWritable;
}

void StackImpl::Consumed(Conn* c, uint32_t bytes, uint64_t now_ns) {
  SetTime(now_ns);
  if (c->flags & kFlagDead) return;
  c->rcv_unread -= std::min(bytes, c->rcv_unread);
  if (c->state == State::kEstablished || c->state == State::kFinWait1 ||
      c->state == State::kFinWait2) {
    // Window update once the advertised window has nearly closed (below a quarter of the buffer
    // and four segments) and can at least double; otherwise arriving data carries the update.
    // RFC 9293 3.8.6.2.2 receiver SWS avoidance.
    uint32_t cur = SeqGt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    uint32_t avail = RcvWindowAvail(c);
    if (cur < std::min<uint32_t>(cfg_.rcv_buf / 4, 4u * cfg_.mss) && avail >= 2 * cur &&
        avail >= cur + std::min<uint32_t>(cfg_.rcv_buf / 2, cfg_.mss)) {
      ScheduleAck(c);
    }
  }
}

void StackImpl::Close(Conn* c, uint64_t now_ns) {
  SetTime(now_ns);
  if (c->flags & (kFlagDead | kFlagFinQueued)) return;
  switch (c->state) {
    case State::kSynSent:
      CloseConn(c, CloseReason::kNormal);
      return;
    case State::kEstablished:
      c->state = State::kFinWait1;
      break;
    case State::kCloseWait:
      c->state = State::kLastAck;
      break;
    default:
      return;
  }
  c->flags |= kFlagFinQueued;
  c->flags &= ~kFlagKeepalive;
  Output(c);
}

void StackImpl::Abort(Conn* c, uint64_t now_ns) {
  SetTime(now_ns);
  if (c->flags & kFlagDead) return;
  if (c->state != State::kSynSent) SendRst(c);
  CloseConn(c, CloseReason::kAborted);
}

void StackImpl::SetKeepalive(Conn* c, uint32_t idle_ms, uint64_t now_ns) {
  SetTime(now_ns);
  if (c->flags & kFlagDead) return;
  c->keepalive_idle_s =
      static_cast<uint16_t>(idle_ms == 0 ? 0 : std::clamp<uint32_t>(idle_ms / 1000, 1, 0xffff));
  StartKeepalive(c);
}

ConnStats StackImpl::GetStats(const Conn* c) const {
  ConnStats s;
  s.bytes_in = c->bytes_in;
  s.bytes_out = c->bytes_out;
  s.segs_retransmitted = c->retransmits;
  s.srtt_us = c->srtt_us;
  s.cwnd = c->cwnd;
  s.snd_wnd = c->snd_wnd;
  s.rcv_wnd = SeqGt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
  s.queued = c->snd_queued;
  s.state = c->state;
  return s;
}

void* StackImpl::ListenerUser(const Conn* c) const {
  if (!(c->flags & kFlagPassive) || c->listener >= listeners_.size()) return nullptr;
  return listeners_[c->listener].user;
}

// --- Stack ---

absl::StatusOr<std::unique_ptr<Stack>> Stack::Create(const StackConfig& config) {
  auto impl = std::make_unique<StackImpl>(config);
  absl::Status st = impl->Init();
  if (!st.ok()) return st;
  StackImpl& s = *impl;
  bool zero = true;
  for (uint8_t b : config.isn_secret) zero = zero && b == 0;
  if (zero) {
    s.isn_key_ = SipKey{rte_rand(), rte_rand()};
  } else {
    for (int i = 0; i < 8; ++i) {
      s.isn_key_.k0 = s.isn_key_.k0 << 8 | config.isn_secret[i];
      s.isn_key_.k1 = s.isn_key_.k1 << 8 | config.isn_secret[8 + i];
    }
  }
  s.cookie_key_ = SipKey{rte_rand() ^ s.isn_key_.k1, rte_rand() ^ s.isn_key_.k0};
  s.hash_seed_ = rte_rand();
  if (config.window_scaling) {
    // Smallest shift (at least 1, so that "negotiated" is visible) covering rcv_buf.
    uint8_t ws = 1;
    while (ws < kMaxWscale && (0xffffull << ws) < config.rcv_buf) ++ws;
    s.our_wscale_ = ws;
  }
  return std::unique_ptr<Stack>(new Stack(std::move(impl)));
}

Stack::Stack(std::unique_ptr<StackImpl> impl) : impl_(std::move(impl)) {}
Stack::~Stack() = default;

void Stack::Input(rte_mbuf* m, uint64_t now_ns) { impl_->Input(m, now_ns); }
void Stack::EndBurst(uint64_t now_ns) { impl_->EndBurst(now_ns); }
void Stack::OnTimer(uint64_t now_ns) { impl_->OnTimer(now_ns); }
uint64_t Stack::NextTimerNs() const { return impl_->NextTimerNs(); }
absl::Status Stack::Listen(uint32_t ip, uint16_t port, Handler* handler, void* listener_user) {
  return impl_->Listen(ip, port, handler, listener_user);
}
absl::Status Stack::Unlisten(uint32_t ip, uint16_t port) { return impl_->Unlisten(ip, port); }
absl::StatusOr<Conn*> Stack::Connect(uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
                                     uint16_t dst_port, Handler* handler, void* user,
                                     uint64_t now_ns) {
  return impl_->Connect(src_ip, src_port, dst_ip, dst_port, handler, user, now_ns);
}
uint32_t Stack::SendSpace(const Conn* c) const { return impl_->SendSpace(c); }
bool Stack::Send(Conn* c, rte_mbuf* data, uint64_t now_ns) { return impl_->Send(c, data, now_ns); }
void Stack::RequestWritable(Conn* c) { impl_->RequestWritable(c); }
void Stack::Consumed(Conn* c, uint32_t bytes, uint64_t now_ns) {
  impl_->Consumed(c, bytes, now_ns);
}
void Stack::Close(Conn* c, uint64_t now_ns) { impl_->Close(c, now_ns); }
void Stack::Abort(Conn* c, uint64_t now_ns) { impl_->Abort(c, now_ns); }
void Stack::SetKeepalive(Conn* c, uint32_t idle_ms, uint64_t now_ns) {
  impl_->SetKeepalive(c, idle_ms, now_ns);
}
void Stack::SetUser(Conn* c, void* user) { c->user = user; }
void* Stack::GetUser(const Conn* c) { return c->user; }
void* Stack::GetListenerUser(const Conn* c) const { return impl_->ListenerUser(c); }
Tuple Stack::GetTuple(const Conn* c) {
  return Tuple{c->local_ip, c->remote_ip, c->local_port, c->remote_port};
}
State Stack::GetState(const Conn* c) { return c->state; }
ConnStats Stack::GetStats(const Conn* c) const { return impl_->GetStats(c); }
const StackCounters& Stack::counters() const { return impl_->counters(); }
uint32_t Stack::conn_count() const { return impl_->conn_count(); }
uint32_t Stack::time_wait_count() const { return impl_->time_wait_count(); }
uint64_t Stack::queued_bytes() const { return impl_->queued_bytes(); }
uint64_t Stack::table_memory_bytes() const { return impl_->table_memory_bytes(); }

}  // namespace dp::tcp
