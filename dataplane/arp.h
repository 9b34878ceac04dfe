// The per-lcore neighbour (ARP) table. Each worker keeps its own copy, filled from the ARP packets
// it receives and from the updates other workers broadcast over their neighbour rings, so lookups
// take no lock. Packets waiting for resolution sit in a bounded per-entry queue.
#ifndef DATAPLANE_ARP_H_
#define DATAPLANE_ARP_H_

#include <rte_ether.h>

#include <cstdint>

#include "absl/container/flat_hash_map.h"

struct rte_mbuf;

namespace dp {

inline constexpr int kMaxPendingPerNeighbor = 8;
inline constexpr uint32_t kArpRetransmitMs = 1000;  // RFC 1122 2.3.2.1: at most one per second
inline constexpr uint32_t kArpMaxProbes = 3;

struct Neighbor {
  rte_ether_addr mac{};
  bool resolved = false;
  bool is_static = false;  // configured: never aged or overwritten
  uint8_t probes = 0;      // requests sent since the last confirmation
  uint8_t n_pending = 0;
  uint64_t confirmed_ms = 0;     // last ARP from this neighbour
  uint64_t last_request_ms = 0;  // last request we sent for it
  rte_mbuf* pending[kMaxPendingPerNeighbor] = {};
};

class ArpTable {
 public:
  static uint64_t Key(uint16_t port, uint32_t ip) { return uint64_t{port} << 32 | ip; }

  void Init(uint32_t capacity) {
    capacity_ = capacity;
    map_.reserve(capacity);
  }
  Neighbor* Find(uint16_t port, uint32_t ip) {
    auto it = map_.find(Key(port, ip));
    return it == map_.end() ? nullptr : &it->second;
  }
  // Null when the table is full.
  Neighbor* FindOrCreate(uint16_t port, uint32_t ip, bool* created) {
    auto it = map_.find(Key(port, ip));
    *created = false;
    if (it != map_.end()) return &it->second;
    if (map_.size() >= capacity_) return nullptr;
    *created = true;
    return &map_[Key(port, ip)];
  }
  void Erase(uint16_t port, uint32_t ip) { map_.erase(Key(port, ip)); }
  size_t size() const { return map_.size(); }
  uint32_t pending_total = 0;  // packets queued over all entries (bounded)

  absl::flat_hash_map<uint64_t, Neighbor>& map() { return map_; }

 private:
  uint32_t capacity_ = 4096;
  absl::flat_hash_map<uint64_t, Neighbor> map_;
};

}  // namespace dp

#endif  // DATAPLANE_ARP_H_
