// Bridged (BCP, RFC 3518) sessions: the per-lcore MAC table that switches Ethernet frames between
// a data-plane port and the sessions bridged to it.
// DPDK-free (unit-tested in tests/dataplane/bridge_test.cc).
//
// The table maps a learned source MAC to the session (its lcore-local key) it was seen from; a
// frame from the port goes to that session, an unknown or group destination is flooded. Bounded:
// 4-way set-associative, the oldest entry of a full set is replaced; entries older than the aging
// time (IEEE 802.1Q's default 300 s, as RouterOS' bridge ageing-time) are not used.
#ifndef DATAPLANE_SSTP_BRIDGE_H_
#define DATAPLANE_SSTP_BRIDGE_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

namespace dp::srv {

inline uint64_t MacKey(const uint8_t* mac) {
  uint64_t k = 0;
  for (int i = 0; i < 6; ++i) k = k << 8 | mac[i];
  return k;
}
inline bool IsGroupMac(const uint8_t* mac) { return mac[0] & 1; }  // multicast or broadcast

class MacTable {
 public:
  static constexpr uint64_t kAgingNs = 300ull * 1'000'000'000;
  static constexpr int kWays = 4;

  // `sets` is rounded up to a power of two; capacity = 4 x sets.
  explicit MacTable(uint32_t sets = 1024) {
    n_sets_ = 1;
    while (n_sets_ < sets) n_sets_ <<= 1;
    e_ = std::make_unique<Entry[]>(size_t{n_sets_} * kWays);
  }

  // Learns (or refreshes) `mac` as reachable through `session` (non-zero).
  void Learn(const uint8_t* mac, uint32_t session, uint64_t now_ns) {
    if (IsGroupMac(mac) || session == 0) return;  // a group address is never a source
    const uint64_t k = MacKey(mac) + 1;           // 0 marks an empty slot
    Entry* set = Set(k);
    Entry* victim = nullptr;
    for (int i = 0; i < kWays; ++i) {
      if (set[i].key == k) {
        set[i].session = session;
        set[i].seen_ns = now_ns;
        return;
      }
      if (victim == nullptr ||
          (victim->key != 0 && (set[i].key == 0 || set[i].seen_ns < victim->seen_ns))) {
        victim = &set[i];
      }
    }
    *victim = {k, session, now_ns};
  }

  // The session `mac` was learned from, or 0 (unknown, aged out, or a group address).
  uint32_t Lookup(const uint8_t* mac, uint64_t now_ns) const {
    if (IsGroupMac(mac)) return 0;
    const uint64_t k = MacKey(mac) + 1;
    const Entry* set = Set(k);
    for (int i = 0; i < kWays; ++i) {
      if (set[i].key == k) return now_ns - set[i].seen_ns < kAgingNs ? set[i].session : 0;
    }
    return 0;
  }

  // Forgets every entry pointing at `session` (it went down).
  void ForgetSession(uint32_t session) {
    for (size_t i = 0; i < size_t{n_sets_} * kWays; ++i) {
      if (e_[i].session == session) e_[i] = {};
    }
  }

  uint32_t capacity() const { return n_sets_ * kWays; }

 private:
  struct Entry {
    uint64_t key = 0;  // MAC + 1
    uint32_t session = 0;
    uint64_t seen_ns = 0;
  };
  Entry* Set(uint64_t k) const {
    uint64_t h = k * 0x9E3779B97F4A7C15ull;  // Fibonacci hashing spreads OUI-heavy keys
    return &e_[size_t((h >> 32) & (n_sets_ - 1)) * kWays];
  }
  uint32_t n_sets_;
  std::unique_ptr<Entry[]> e_;
};

}  // namespace dp::srv

#endif  // DATAPLANE_SSTP_BRIDGE_H_
