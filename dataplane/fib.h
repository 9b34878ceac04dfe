// The IPv4 forwarding table: rte_lpm (DIR-24-8) shared read-only by every worker, written only by
// the control thread. Deleted tbl8 groups are reclaimed through RCU QSBR: each worker reports a
// quiescent state once per loop iteration (rte_rcu_qsbr_quiescent), so lookups never take a lock.
//
// An LPM entry holds an index into a table of next hops {port, gateway, mtu}. Next-hop entries are
// written before the route that points at them is published and are never rewritten (identical
// next hops share one entry), so a reader never sees a half-written next hop.
#ifndef DATAPLANE_FIB_H_
#define DATAPLANE_FIB_H_

#include <rte_lpm.h>
#include <rte_rcu_qsbr.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "dataplane/config.h"

namespace dp {

struct NextHop {
  uint32_t gateway;  // host order; 0 = the destination itself is on the link
  uint16_t port;     // index into Net::ports (not the DPDK port id)
  uint16_t mtu;      // path MTU through this next hop (the port's unless the route sets one)
  uint8_t kind;      // kNextHopPort; room for kinds the SSTP server adds (session, blackhole)
};
inline constexpr uint8_t kNextHopPort = 0;
inline constexpr uint8_t kNextHopLocal = 1;  // one of our own addresses (/32)
// A tunnel session's address or routes (issue 6): `gateway` holds the upper layer's session id and
// `port` the index of the worker that owns the session, so the owner of a downstream packet is
// known from the FIB lookup alone. Forwarding hands the packet to Hooks::session_output on that
// worker (over its hand-off ring when another worker looked it up). Proxy-ARP answers for these
// addresses on ports set to arp=proxy-arp.
inline constexpr uint8_t kNextHopSession = 2;

class Fib {
 public:
  static constexpr uint32_t kMaxNextHops = 1 << 14;

  // `qsbr` may be null (no concurrent readers, as in unit tests).
  static absl::StatusOr<Fib*> Create(const char* name, int socket, uint32_t max_rules,
                                     rte_rcu_qsbr* qsbr);
  ~Fib();

  // Adds or replaces the route. Control thread only.
  absl::Status Add(Ipv4Prefix prefix, const NextHop& nh);
  absl::Status Delete(Ipv4Prefix prefix);

  // Lookup, any worker. Returns null when no route matches.
  const NextHop* Lookup(uint32_t dst) const {
    uint32_t idx;
    if (rte_lpm_lookup(lpm_, dst, &idx) != 0) return nullptr;
    return &next_hops_[idx];
  }

 private:
  Fib() = default;
  rte_lpm* lpm_ = nullptr;
  NextHop* next_hops_ = nullptr;  // kMaxNextHops entries
  uint32_t n_next_hops_ = 0;
};

}  // namespace dp

#endif  // DATAPLANE_FIB_H_
