// A per-lcore hierarchical timer wheel (Varghese & Lauck scheme 6, as in the Linux and VPP timer
// wheels): 4 levels of 256 slots over 32-bit ticks, intrusive nodes, O(1) schedule and cancel,
// occupancy bitmaps so that advancing over idle time skips empty slots.
//
// Header-only and DPDK-free so the network layer (ARP aging, TX drain) can use it too. Ticks are
// whatever unit the owner picks (the TCP stack uses milliseconds); the owner converts its clock.
// A timer may be scheduled at most 2^31 - 1 ticks ahead (longer delays are clamped).
//
//   struct Foo { dp::TimerNode timer; ... };
//   dp::TimerWheel wheel(now_tick);
//   wheel.Schedule(&foo->timer, now_tick + 40);
//   wheel.Advance(now_tick, [](dp::TimerNode* n) { Foo* f = container_of(n); ... });
#pragma once

#include <cstdint>
#include <cstring>

namespace dp {

struct TimerNode {
  TimerNode* next = nullptr;
  TimerNode** pprev = nullptr;  // null when not armed
  uint32_t expiry = 0;          // absolute tick, low 32 bits
  uint32_t user = 0;            // free for the owner (e.g. a timer kind)
  bool armed() const { return pprev != nullptr; }
};

class TimerWheel {
 public:
  static constexpr int kLevels = 4;
  static constexpr int kBits = 8;
  static constexpr uint32_t kSlots = 1u << kBits;

  explicit TimerWheel(uint64_t now_tick = 0) : now_(now_tick) {
    std::memset(slots_, 0, sizeof(slots_));
    std::memset(bitmap_, 0, sizeof(bitmap_));
  }
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  uint64_t now() const { return now_; }
  uint32_t pending() const { return pending_; }

  // Arms (or re-arms) `n` to fire at `expiry_tick`. An expiry in the past fires on the next tick.
  void Schedule(TimerNode* n, uint64_t expiry_tick) {
    if (n->armed()) Unlink(n);
    uint64_t min_tick = now_ + 1;
    if (expiry_tick < min_tick) expiry_tick = min_tick;
    if (expiry_tick - now_ > 0x7fffffffu) expiry_tick = now_ + 0x7fffffffu;
    n->expiry = static_cast<uint32_t>(expiry_tick);
    Place(n);
    ++pending_;
  }

  void Cancel(TimerNode* n) {
    if (!n->armed()) return;
    Unlink(n);
    --pending_;
  }

  // Absolute expiry tick of an armed node.
  uint64_t ExpiryOf(const TimerNode* n) const {
    return now_ + static_cast<uint32_t>(n->expiry - static_cast<uint32_t>(now_));
  }

  // Fires every timer with expiry <= now_tick, in tick order, calling on_expire(node) after the
  // node is disarmed. The callback may schedule or cancel any node.
  template <class F>
  void Advance(uint64_t now_tick, F&& on_expire) {
    while (now_ < now_tick) {
      if (pending_ == 0) {
        now_ = now_tick;
        return;
      }
      // Skip to the next occupied level-0 slot or the next cascade boundary, whichever is first.
      uint32_t idx0 = static_cast<uint32_t>(now_ + 1) & (kSlots - 1);
      int next = NextSet(0, idx0);
      uint64_t boundary = (now_ | (kSlots - 1)) + 1;  // next tick with level-0 index 0
      uint64_t t;
      if (next >= 0) {
        t = now_ + 1 + static_cast<uint32_t>(next - static_cast<int>(idx0));
        if (t > boundary) t = boundary;
      } else {
        t = boundary;
      }
      if (t > now_tick) {
        now_ = now_tick;
        return;
      }
      now_ = t;
      if ((t & (kSlots - 1)) == 0) Cascade(1);
      uint32_t idx = static_cast<uint32_t>(t) & (kSlots - 1);
      TimerNode* list = slots_[0][idx];
      if (list == nullptr) continue;
      slots_[0][idx] = nullptr;
      list->pprev = &list;  // detach the whole slot; nodes unlink from the local list
      ClearBit(0, idx);
      while (list != nullptr) {
        TimerNode* n = list;
        Unlink(n);
        --pending_;
        on_expire(n);
      }
    }
  }

  // A lower bound on the next expiry (exact when the earliest timer sits in level 0);
  // UINT64_MAX when nothing is armed. Advancing to it may only cascade.
  uint64_t NextExpiry() const {
    if (pending_ == 0) return UINT64_MAX;
    uint32_t idx0 = static_cast<uint32_t>(now_ + 1) & (kSlots - 1);
    int next = NextSet(0, idx0);
    uint64_t boundary = (now_ | (kSlots - 1)) + 1;
    if (next >= 0) {
      uint64_t t = now_ + 1 + static_cast<uint32_t>(next - static_cast<int>(idx0));
      return t < boundary ? t : boundary;
    }
    return boundary;
  }

 private:
  void Place(TimerNode* n) {
    uint32_t delta = n->expiry - static_cast<uint32_t>(now_);
    int level = 0;
    while (level < kLevels - 1 && delta >= (1u << (kBits * (level + 1)))) ++level;
    uint32_t idx = (n->expiry >> (kBits * level)) & (kSlots - 1);
    TimerNode** head = &slots_[level][idx];
    n->next = *head;
    if (n->next != nullptr) n->next->pprev = &n->next;
    *head = n;
    n->pprev = head;
    SetBit(level, idx);
  }

  void Unlink(TimerNode* n) {
    *n->pprev = n->next;
    if (n->next != nullptr) n->next->pprev = n->pprev;
    n->next = nullptr;
    n->pprev = nullptr;
    // The slot bit may stay set for an emptied slot; NextSet tolerates that (checks the list).
  }

  // Moves the current slot of `level` down (called when the lower level wrapped at now_).
  void Cascade(int level) {
    if (level >= kLevels) return;
    uint32_t idx = static_cast<uint32_t>(now_ >> (kBits * level)) & (kSlots - 1);
    if (idx == 0) Cascade(level + 1);
    TimerNode* list = slots_[level][idx];
    if (list == nullptr) {
      ClearBit(level, idx);
      return;
    }
    slots_[level][idx] = nullptr;
    ClearBit(level, idx);
    list->pprev = &list;
    while (list != nullptr) {
      TimerNode* n = list;
      Unlink(n);
      if (static_cast<int32_t>(n->expiry - static_cast<uint32_t>(now_)) < 0) {
        n->expiry = static_cast<uint32_t>(now_);  // overdue: fire in the level-0 slot of now_
      }
      Place(n);
    }
  }

  void SetBit(int level, uint32_t idx) { bitmap_[level][idx >> 6] |= 1ull << (idx & 63); }
  void ClearBit(int level, uint32_t idx) { bitmap_[level][idx >> 6] &= ~(1ull << (idx & 63)); }

  // First occupied slot index in [from, kSlots) of `level`, or -1. Clears stale bits lazily.
  int NextSet(int level, uint32_t from) const {
    for (uint32_t w = from >> 6; w < kSlots / 64; ++w) {
      uint64_t bits = bitmap_[level][w];
      if (w == (from >> 6)) bits &= ~0ull << (from & 63);
      while (bits != 0) {
        uint32_t idx = w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits));
        if (slots_[level][idx] != nullptr) return static_cast<int>(idx);
        bitmap_[level][w] &= ~(1ull << (idx & 63));
        bits &= bits - 1;
      }
    }
    return -1;
  }

  uint64_t now_;
  uint32_t pending_ = 0;
  TimerNode* slots_[kLevels][kSlots];
  mutable uint64_t bitmap_[kLevels][kSlots / 64];
};

}  // namespace dp
