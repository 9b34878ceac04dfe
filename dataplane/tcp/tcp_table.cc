// Connection slots, the per-lcore 4-tuple hash and the compact TIME_WAIT table.
//
// Scale: 1M connections per core need 256 MB of connection state plus 8 bytes per hash slot (at
// most half full) and 32 bytes per TIME_WAIT entry. The slot array and the TIME_WAIT ring are
// anonymous mappings touched as they fill, so memory follows the connection count.
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <sys/mman.h>

#include <cstdio>

#include "dataplane/tcp/tcp_impl.h"

namespace dp::tcp {
namespace {

constexpr uint32_t kTwBit = 0x80000000u;

inline uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

inline uint64_t TupleHash(uint64_t seed, uint32_t lip, uint16_t lport, uint32_t rip,
                          uint16_t rport) {
  uint64_t a = (static_cast<uint64_t>(rip) << 32 | static_cast<uint64_t>(rport) << 16 | lport);
  return Fmix64((a ^ seed) + Fmix64(static_cast<uint64_t>(lip) ^ (seed >> 7)));
}

void* MapZeroed(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

}  // namespace

absl::Status StackImpl::Init() {
  if (cfg_.pool == nullptr) return absl::InvalidArgumentError("tcp: StackConfig.pool is null");
  if (cfg_.output.fn == nullptr) return absl::InvalidArgumentError("tcp: no IpOutput hook");
  if (cfg_.max_conns == 0 || cfg_.max_conns > (1u << 30)) {
    return absl::InvalidArgumentError("tcp: max_conns must be in [1, 2^30]");
  }
  if (cfg_.mss < 536 || cfg_.mss > 9000) return absl::InvalidArgumentError("tcp: mss out of range");
  if (cfg_.snd_buf < 4096 || cfg_.rcv_buf < 4096 || cfg_.rcv_buf > (1u << 30)) {
    return absl::InvalidArgumentError("tcp: snd_buf/rcv_buf must be >= 4096 (rcv_buf < 1 GiB)");
  }
  if (cfg_.max_time_wait == 0) cfg_.max_time_wait = 1;
  conns_map_bytes_ = static_cast<size_t>(cfg_.max_conns) * sizeof(Conn);
  conns_ = static_cast<Conn*>(MapZeroed(conns_map_bytes_));
  uint64_t want = 2ull * (cfg_.max_conns + cfg_.max_time_wait);
  uint64_t n = 16;
  while (n < want) n <<= 1;
  slot_mask_ = static_cast<uint32_t>(n - 1);
  slots_map_bytes_ = n * sizeof(Slot);
  slots_ = static_cast<Slot*>(MapZeroed(slots_map_bytes_));
  tw_cap_ = cfg_.max_time_wait;
  tw_map_bytes_ = static_cast<size_t>(tw_cap_) * sizeof(TimeWait);
  tw_ = static_cast<TimeWait*>(MapZeroed(tw_map_bytes_));
  if (conns_ == nullptr || slots_ == nullptr || tw_ == nullptr) {
    return absl::ResourceExhaustedError("tcp: cannot map connection tables (max_conns too big?)");
  }
  rte_mbuf_dynfield field = {};
  snprintf(field.name, sizeof(field.name), "dp_tcp_ooo_meta");
  field.size = sizeof(OooMeta);
  field.align = alignof(OooMeta);
  ooo_dynfield_ = rte_mbuf_dynfield_register(&field);
  if (ooo_dynfield_ < 0) {
    return absl::InternalError("tcp: cannot register the mbuf dynamic field (EAL not up?)");
  }
  return absl::OkStatus();
}

uint64_t StackImpl::table_memory_bytes() const {
  // Pages of the slot array are touched at random, so count it whole.
  return static_cast<uint64_t>(conns_hwm_) * sizeof(Conn) + slots_map_bytes_ +
         static_cast<uint64_t>(tw_hwm_) * sizeof(TimeWait);
}

OooMeta* StackImpl::Meta(rte_mbuf* m) const {
  return RTE_MBUF_DYNFIELD(m, ooo_dynfield_, OooMeta*);
}

Conn* StackImpl::AllocConn() {
  Conn* c = free_list_;
  if (c != nullptr) {
    free_list_ = reinterpret_cast<Conn*>(c->timer.next);
  } else if (conns_hwm_ < cfg_.max_conns) {
    c = &conns_[conns_hwm_++];
  } else {
    return nullptr;
  }
  *c = Conn();
  ++conns_used_;
  return c;
}

void StackImpl::FreeConn(Conn* c) {
  c->state = State::kClosed;
  c->timer.next = reinterpret_cast<TimerNode*>(free_list_);
  free_list_ = c;
  --conns_used_;
}

bool StackImpl::HashInsert(Conn* c) {
  uint64_t h = TupleHash(hash_seed_, c->local_ip, c->local_port, c->remote_ip, c->remote_port);
  uint32_t i = static_cast<uint32_t>(h) & slot_mask_;
  for (uint32_t probes = 0; probes <= slot_mask_; ++probes, i = (i + 1) & slot_mask_) {
    if (slots_[i].ref == 0) {
      slots_[i].tag = static_cast<uint32_t>(h >> 32);
      slots_[i].ref = static_cast<uint32_t>(c - conns_) + 1;
      return true;
    }
  }
  return false;
}

namespace {
// Backward-shift deletion for linear probing: keeps every remaining key reachable.
template <class HashOf>
void SlotErase(StackImpl::Slot* slots, uint32_t mask, uint32_t i, HashOf hash_of) {
  uint32_t j = i;
  while (true) {
    slots[i].ref = 0;
    while (true) {
      j = (j + 1) & mask;
      if (slots[j].ref == 0) return;
      uint32_t home = hash_of(slots[j]) & mask;
      // Move j into i unless its home lies cyclically in (i, j].
      bool in_range = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!in_range) break;
    }
    slots[i] = slots[j];
    i = j;
  }
}
}  // namespace

static bool SlotMatches(const StackImpl& s, uint32_t ref, uint32_t lip, uint16_t lport,
                        uint32_t rip, uint16_t rport) {
  if (ref & kTwBit) {
    const TimeWait& t = s.tw_[ref & ~kTwBit];
    return t.local_ip == lip && t.remote_ip == rip && t.local_port == lport &&
           t.remote_port == rport;
  }
  const Conn& c = s.conns_[ref - 1];
  return c.local_ip == lip && c.remote_ip == rip && c.local_port == lport && c.remote_port == rport;
}

static void RemoveRef(StackImpl& s, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport,
                      uint32_t ref) {
  uint64_t h = TupleHash(s.hash_seed_, lip, lport, rip, rport);
  uint32_t i = static_cast<uint32_t>(h) & s.slot_mask_;
  for (uint32_t probes = 0; probes <= s.slot_mask_; ++probes, i = (i + 1) & s.slot_mask_) {
    if (s.slots_[i].ref == 0) return;
    if (s.slots_[i].ref == ref) {
      SlotErase(s.slots_, s.slot_mask_, i, [&s](const StackImpl::Slot& sl) {
        if (sl.ref & kTwBit) {
          const TimeWait& t = s.tw_[sl.ref & ~kTwBit];
          return static_cast<uint32_t>(
              TupleHash(s.hash_seed_, t.local_ip, t.local_port, t.remote_ip, t.remote_port));
        }
        const Conn& c = s.conns_[sl.ref - 1];
        return static_cast<uint32_t>(
            TupleHash(s.hash_seed_, c.local_ip, c.local_port, c.remote_ip, c.remote_port));
      });
      return;
    }
  }
}

void StackImpl::HashRemove(Conn* c) {
  RemoveRef(*this, c->local_ip, c->local_port, c->remote_ip, c->remote_port,
            static_cast<uint32_t>(c - conns_) + 1);
}

Conn* StackImpl::LookupConn(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport,
                            TimeWait** tw) {
  *tw = nullptr;
  uint64_t h = TupleHash(hash_seed_, lip, lport, rip, rport);
  uint32_t tag = static_cast<uint32_t>(h >> 32);
  uint32_t i = static_cast<uint32_t>(h) & slot_mask_;
  for (uint32_t probes = 0; probes <= slot_mask_; ++probes, i = (i + 1) & slot_mask_) {
    const Slot& s = slots_[i];
    if (s.ref == 0) return nullptr;
    if (s.tag == tag && SlotMatches(*this, s.ref, lip, lport, rip, rport)) {
      if (s.ref & kTwBit) {
        *tw = &tw_[s.ref & ~kTwBit];
        return nullptr;
      }
      return &conns_[s.ref - 1];
    }
  }
  return nullptr;
}

TimeWait* StackImpl::TimeWaitInsert(const Conn* c) {
  if (tw_count_ == tw_cap_) {
    // Full: the oldest entry goes early (counted), so TIME_WAIT never pins more than the ring.
    TimeWait* old = &tw_[tw_head_];
    if (old->live) {
      TimeWaitRemove(old);
      ++counters_.time_wait_reused;
    }
    tw_head_ = (tw_head_ + 1) % tw_cap_;
    --tw_count_;
  }
  uint32_t idx = (tw_head_ + tw_count_) % tw_cap_;
  ++tw_count_;
  if (idx + 1 > tw_hwm_) tw_hwm_ = idx + 1;
  TimeWait* t = &tw_[idx];
  t->local_ip = c->local_ip;
  t->remote_ip = c->remote_ip;
  t->local_port = c->local_port;
  t->remote_port = c->remote_port;
  t->snd_nxt = c->snd_max;
  t->rcv_nxt = c->rcv_nxt;
  t->ts_recent = c->ts_recent;
  t->expiry_ms = now_ms32_ + cfg_.time_wait_ms;
  t->has_ts = (c->flags & kFlagTs) ? 1 : 0;
  t->rcv_wscale = c->rcv_wscale;
  t->live = 1;
  uint64_t h = TupleHash(hash_seed_, t->local_ip, t->local_port, t->remote_ip, t->remote_port);
  uint32_t i = static_cast<uint32_t>(h) & slot_mask_;
  while (slots_[i].ref != 0) i = (i + 1) & slot_mask_;
  slots_[i].tag = static_cast<uint32_t>(h >> 32);
  slots_[i].ref = idx | kTwBit;
  ++tw_live_;
  return t;
}

void StackImpl::TimeWaitRemove(TimeWait* t) {
  if (!t->live) return;
  RemoveRef(*this, t->local_ip, t->local_port, t->remote_ip, t->remote_port,
            static_cast<uint32_t>(t - tw_) | kTwBit);
  t->live = 0;
  --tw_live_;
}

void StackImpl::TimeWaitExpire() {
  while (tw_count_ > 0) {
    TimeWait* t = &tw_[tw_head_];
    if (t->live) {
      if (SeqLt(now_ms32_, t->expiry_ms)) return;
      TimeWaitRemove(t);
    }
    tw_head_ = (tw_head_ + 1) % tw_cap_;
    --tw_count_;
  }
}

const Listener* StackImpl::FindListener(uint32_t ip, uint16_t port) const {
  const Listener* any = nullptr;
  for (const Listener& l : listeners_) {
    if (!l.live || l.port != port) continue;
    if (l.ip == ip) return &l;
    if (l.ip == 0) any = &l;
  }
  return any;
}

}  // namespace dp::tcp
