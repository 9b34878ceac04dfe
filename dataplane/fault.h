// Deterministic fault injection in the port layer (seeded drop, duplicate, reorder, corruption).
// Each worker has one FaultInjector per direction seeded from (seed, worker, direction), so the
// same seed and the same packet sequence give the same faults: a failing run can be replayed.
#ifndef DATAPLANE_FAULT_H_
#define DATAPLANE_FAULT_H_

#include <cstdint>

#include "dataplane/config.h"
#include "dataplane/counters.h"

struct rte_mbuf;
struct rte_mempool;

namespace dp {

class FaultInjector {
 public:
  static constexpr int kMaxPorts = 16;

  void Init(const FaultConfig& cfg, uint64_t stream, rte_mempool* pool);
  bool enabled() const { return enabled_; }

  // Applies faults to pkts[0..n) of `port_index` in place; returns the new count. `cap` is the
  // array's capacity (duplicates need room). A reordered packet is held back and released after
  // the next packet of the same port, or by ReleaseHeld().
  uint16_t Apply(uint16_t port_index, rte_mbuf** pkts, uint16_t n, uint16_t cap, Counters* c);

  // Returns a held packet (or null) so that nothing is held forever when traffic stops.
  rte_mbuf* ReleaseHeld(uint16_t port_index);

 private:
  uint64_t Next() {  // xorshift64*: fast, deterministic, good enough for fault decisions
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  bool Hit(uint32_t ppm) { return ppm != 0 && (Next() % 1000000) < ppm; }

  bool enabled_ = false;
  FaultConfig cfg_;
  uint64_t state_ = 1;
  rte_mempool* pool_ = nullptr;
  rte_mbuf* held_[kMaxPorts] = {};
};

}  // namespace dp

#endif  // DATAPLANE_FAULT_H_
