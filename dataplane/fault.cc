#include "dataplane/fault.h"

#include <rte_mbuf.h>

namespace dp {

void FaultInjector::Init(const FaultConfig& cfg, uint64_t stream, rte_mempool* pool) {
  cfg_ = cfg;
  enabled_ = cfg.Enabled();
  pool_ = pool;
  state_ = (cfg.seed + 1) * 0x9E3779B97F4A7C15ull ^ (stream + 1) * 0xBF58476D1CE4E5B9ull;
  if (state_ == 0) state_ = 1;
  for (int i = 0; i < 8; ++i) Next();
}

uint16_t FaultInjector::Apply(uint16_t port_index, rte_mbuf** pkts, uint16_t n, uint16_t cap,
                              Counters* c) {
  rte_mbuf* out[2 * 64 + 1];
  uint16_t k = 0;
  const uint16_t limit = cap < sizeof(out) / sizeof(out[0]) ? cap : sizeof(out) / sizeof(out[0]);
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    if (Hit(cfg_.drop_ppm)) {
      ++c->fault_drop;
      rte_pktmbuf_free(m);
      continue;
    }
    if (Hit(cfg_.corrupt_ppm)) {
      // Flip one bit past the Ethernet header so that the IPv4/TCP checksums must catch it.
      uint32_t len = rte_pktmbuf_data_len(m);
      if (len > 14) {
        uint32_t off = 14 + static_cast<uint32_t>(Next() % (len - 14));
        rte_pktmbuf_mtod(m, uint8_t*)[off] ^= static_cast<uint8_t>(1u << (Next() & 7));
        ++c->fault_corrupt;
      }
    }
    rte_mbuf* dup = nullptr;
    if (Hit(cfg_.duplicate_ppm)) {
      dup = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
      if (dup != nullptr) {
        ++c->fault_duplicate;
      } else {
        ++c->mbuf_alloc_failed;
      }
    }
    if (held_[port_index] == nullptr && Hit(cfg_.reorder_ppm)) {
      // Hold this one back: it leaves after the next packet (a swap of two neighbours).
      ++c->fault_reorder;
      held_[port_index] = m;
      m = nullptr;
    }
    for (rte_mbuf* p : {m, dup}) {
      if (p == nullptr) continue;
      if (k < limit) {
        out[k++] = p;
      } else {
        rte_pktmbuf_free(p);
        ++c->fault_drop;
      }
      if (p == m && held_[port_index] != nullptr && held_[port_index] != m && k < limit) {
        out[k++] = held_[port_index];
        held_[port_index] = nullptr;
      }
    }
  }
  for (uint16_t i = 0; i < k; ++i) pkts[i] = out[i];
  return k;
}

rte_mbuf* FaultInjector::ReleaseHeld(uint16_t port_index) {
  rte_mbuf* m = held_[port_index];
  held_[port_index] = nullptr;
  return m;
}

}  // namespace dp
