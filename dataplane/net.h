// The data plane's shared, read-mostly context (ports, FIB, worker table) and the per-lcore Worker.
//
// Shared state is written only before the workers start, or by the control thread through
// structures built for it (the FIB). Everything a worker mutates lives in its own cache-aligned
// Worker: RX/TX queues, TX buffers, ARP table, TCP stack, timers, counters. No locks anywhere on
// the data path; lcores talk only through rte_rings (packet hand-off, neighbour updates).
#ifndef DATAPLANE_NET_H_
#define DATAPLANE_NET_H_

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/arp.h"
#include "dataplane/config.h"
#include "dataplane/counters.h"
#include "dataplane/fault.h"
#include "dataplane/fib.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/tcp/timer_wheel.h"

namespace dp {

inline constexpr int kMaxPorts = FaultInjector::kMaxPorts;
inline constexpr int kMaxWorkers = 64;
inline constexpr int kMaxAddrsPerPort = 8;
inline constexpr uint16_t kBurst = 32;

// A port as the workers see it (read-only once the workers run).
struct Port {
  uint16_t port_id = 0;  // DPDK port id
  uint16_t index = 0;    // our index (Config::ports order)
  rte_ether_addr mac{};
  uint16_t mtu = 1500;
  uint16_t vlan = 0;  // 802.1Q VLAN id of the IP interface; 0 = untagged
  ArpMode arp = ArpMode::kEnabled;
  uint16_t n_addrs = 0;
  Ipv4Prefix addrs[kMaxAddrsPerPort];
  uint16_t n_rxq = 1, n_txq = 1;
  bool rss = false;
  bool rx_ip_cksum = false;     // the port validates IPv4 header checksums (RX offload)
  bool rx_l4_cksum = false;     // the port validates TCP/UDP checksums (RX offload)
  rte_ring* tx_ring = nullptr;  // MPSC: TX from workers without a TX queue of their own
  std::string name;
  // Workers (bit i = worker i) with BCP sessions bridged to this port (RFC 3518); non-zero makes
  // EtherDecap hand frames not only for us to Hooks::bridge_input. Written with __atomic builtins
  // by the workers that own the sessions, read by every worker.
  uint64_t bridge_workers = 0;

  uint32_t PrimaryAddress() const { return n_addrs ? addrs[0].addr : 0; }
  bool HasAddress(uint32_t a) const {
    for (uint16_t i = 0; i < n_addrs; ++i) {
      if (addrs[i].addr == a) return true;
    }
    return false;
  }
};

// A neighbour learned on one lcore, broadcast to the others (16 bytes: rte_ring element).
struct NeighborUpdate {
  uint32_t ip;
  uint16_t port;
  rte_ether_addr mac;
  uint32_t pad;
};
static_assert(sizeof(NeighborUpdate) == 16);

// What a packet on a hand-off ring is (stored in m->hash.usr): data_off at the IPv4 header.
enum HandoffKind : uint32_t {
  kHandoffLocalTcp = 1,    // a validated TCP segment for one of our addresses
  kHandoffSession = 2,     // a forwarded packet for a session; m->hash.fdir.hi = session id
  kHandoffBridge = 3,      // an Ethernet frame from a bridged port (data_off at the Ethernet
                           // header); m->hash.fdir.hi = port index
  kHandoffEtherInput = 4,  // an Ethernet frame to process as received on port m->hash.fdir.hi
                           // (a bridged client's frame for the data plane itself; queued to the
                           // worker's own ring so the TCP stack is never entered recursively)
};

struct Worker;

// Hooks the upper layers (the SSTP server, issue 6) install before the workers start.
struct Hooks {
  // Called on each worker's lcore before its loop starts (Listen on its TCP stack, etc.).
  void (*worker_start)(Worker* w, void* ctx) = nullptr;
  // Called on each worker's lcore after its loop stops, before the TCP stack is destroyed.
  void (*worker_stop)(Worker* w, void* ctx) = nullptr;
  // Called once per loop iteration after RX processing (bounded work: rings from the control
  // plane, session timers).
  void (*worker_poll)(Worker* w, uint64_t now_ns, void* ctx) = nullptr;
  // A packet routed to a session (kNextHopSession) on its owning worker: data_off at the IPv4
  // header, TTL already decremented. Takes ownership. Unset: such packets are dropped
  // (ip_no_route).
  void (*session_output)(Worker* w, rte_mbuf* m, uint32_t session, void* ctx) = nullptr;
  // An Ethernet frame (data_off at the Ethernet header) received on a port with bridged sessions
  // (Port::bridge_workers != 0) that is not only for us: unicast to another MAC, or a copy of a
  // broadcast/multicast. `handed_off`: it came from another worker's hand-off ring (that worker
  // already flooded it to the others). Takes ownership.
  void (*bridge_input)(Worker* w, rte_mbuf* m, uint16_t port_index, bool handed_off,
                       void* ctx) = nullptr;
  // A frame the data plane itself sends on a port with bridged sessions (data_off at the Ethernet
  // header): true when the bridge took it (its destination is behind a session); false: send it
  // on the wire (the bridge may have taken copies for broadcast or unknown destinations).
  bool (*bridge_output)(Worker* w, rte_mbuf* m, uint16_t port_index, void* ctx) = nullptr;
  void* ctx = nullptr;
};

// The shared context.
struct Net {
  Config cfg;
  rte_mempool* pool = nullptr;
  int socket = 0;
  uint16_t n_ports = 0;
  Port ports[kMaxPorts];
  Fib* fib = nullptr;
  rte_rcu_qsbr* qsbr = nullptr;
  uint32_t n_workers = 0;
  Worker* workers[kMaxWorkers] = {};
  Hooks hooks;
  uint64_t tsc_hz = 0;
  std::atomic<bool> stop{false};

  // True when `a` is one of this box's addresses (on any port: weak host model, RFC 1122 3.3.4.2).
  bool IsLocalAddress(uint32_t a) const {
    for (uint16_t p = 0; p < n_ports; ++p) {
      if (ports[p].HasAddress(a)) return true;
    }
    return false;
  }
};

// The owning worker of a TCP 4-tuple: a symmetric Toeplitz hash (the key RSS is programmed with)
// so that both directions and the NIC's RSS agree. Host byte order.
// The 40-byte symmetric RSS key.
const uint8_t* RssKey();
uint32_t TupleOwner(const Net& net, uint32_t ip_a, uint32_t ip_b, uint16_t port_a, uint16_t port_b);

// Per-lcore state.
struct alignas(RTE_CACHE_LINE_SIZE) Worker {
  // --- hot: touched every iteration ---
  Net* net = nullptr;
  uint32_t index = 0;  // 0..n_workers-1
  unsigned lcore_id = 0;
  uint16_t n_rx = 0;
  struct RxQueue {
    uint16_t port_index;
    uint16_t queue;
  } rx[kMaxPorts * 4];
  struct TxPort {
    int32_t queue = -1;  // our TX queue on the port, or -1: go through Port::tx_ring
    uint16_t n = 0;      // packets buffered
    rte_mbuf* pkts[kBurst];
  } tx[kMaxPorts];
  uint64_t tsc = 0;     // TSC at the start of the iteration
  uint64_t now_ns = 0;  // the same in ns since start (the TCP stack's clock)
  uint64_t now_ms = 0;
  uint64_t next_drain_tsc = 0;
  uint64_t drain_tsc = 0;         // TX drain period in TSC cycles (~100 us)
  rte_ring* handoff = nullptr;    // MPSC ring of packets for this worker
  rte_ring* neighbors = nullptr;  // MPSC ring of NeighborUpdate from other workers
  Counters c;

  // --- warm ---
  // The worker's TCP stack (null only if it could not be created: out of memory).
  tcp::Stack* tcp = nullptr;
  ArpTable arp;
  FaultInjector fault_rx, fault_tx;
  TimerWheel wheel;  // ms ticks: ARP housekeeping, ICMP rate limit refill, services
  TimerNode arp_timer;
  uint64_t tsc0 = 0;
  uint64_t ns_mult = 0;      // ns = ((tsc - tsc0) * ns_mult) >> 32
  uint32_t icmp_tokens = 0;  // RFC 1812 4.3.2.8 ICMP error rate limit
  uint64_t icmp_refill_ms = 0;
  // Source for ICMP errors about the packet being forwarded when it came from a tunnel (in_port
  // -1): the session's local (PPP) address, set by the SSTP server around Ipv4Forward; 0: none.
  uint32_t icmp_session_src = 0;
  bool started = false;
  uint64_t clock_offset_ns = 0;  // added to the clock: lets unit tests move time forward
  void* user = nullptr;          // for the upper layer (the SSTP server's per-lcore state)
  void* services = nullptr;      // built-in test services (services.cc)
};

// Per-iteration work, see lcore.cc.
void WorkerInit(Worker* w);     // on the worker's lcore, before the first RunOnce
bool WorkerRunOnce(Worker* w);  // one loop iteration; false when it found no packets
void WorkerFinish(Worker* w);   // on the worker's lcore, after the last RunOnce
int WorkerMain(void* arg);      // rte_eal_remote_launch entry: init, loop until stop, finish
void WorkerFlushTx(Worker* w);  // drain every TX buffer now

// Output paths (ipv4.cc, ether.cc).
// Sends an IPv4 packet (data_off at the IPv4 header, header complete with checksum): FIB lookup,
// MTU check, ARP resolution, Ethernet, TX. Takes ownership.
void Ipv4Output(Worker* w, rte_mbuf* m, uint32_t dst);
// Sends an IPv4 packet to `next_hop` on `port` (ARP, Ethernet, TX). Takes ownership.
void Ipv4SendToNeighbor(Worker* w, rte_mbuf* m, uint16_t port_index, uint32_t next_hop);
// Prepends Ethernet (and the port's 802.1Q tag) and queues the frame for TX. Takes ownership.
void EtherOutput(Worker* w, rte_mbuf* m, uint16_t port_index, const rte_ether_addr& dst,
                 uint16_t ether_type);
// Queues a complete frame for TX on the port (fault injection, TX buffer). Takes ownership.
void PortTx(Worker* w, uint16_t port_index, rte_mbuf* m);

// Forwards an IPv4 packet that is not for us (RFC 1812 5.2): TTL, FIB, next-hop MTU with ICMP
// fragmentation-needed, ARP. `in_port` is the port it came from, or -1 for packets the upper
// layer decapsulated from a session. Takes ownership. The header must have been validated.
void Ipv4Forward(Worker* w, rte_mbuf* m, int in_port);
// A validated local TCP segment on its owning worker: to the TCP stack. Takes ownership.
void TcpInput(Worker* w, rte_mbuf* m);
// Hands `m` to worker `owner` (kind in m->hash.usr); counts and frees it when the ring is full.
void HandoffTo(Worker* w, uint32_t owner, rte_mbuf* m, uint32_t kind);

// Input paths.
// `bridge` false: a frame a bridged session sent to the data plane itself (kHandoffEtherInput),
// not offered to the bridge again.
void EtherInput(Worker* w, rte_mbuf* m, uint16_t port_index, bool bridge = true);
// Checks and strips Ethernet/802.1Q; returns the EtherType, or 0 when the frame was dropped.
uint16_t EtherDecap(Worker* w, rte_mbuf* m, uint16_t port_index, bool bridge = true);
void ArpInput(Worker* w, rte_mbuf* m, uint16_t port_index);
void Ipv4Input(Worker* w, rte_mbuf* m, uint16_t port_index);
void IcmpInput(Worker* w, rte_mbuf* m, uint16_t port_index);
// Sends an ICMP error about `orig` (data_off at its IPv4 header; not consumed). RFC 792/1812.
// in_port: the port `orig` came in on (its address is the error's source), or -1.
void IcmpSendError(Worker* w, const rte_mbuf* orig, uint8_t type, uint8_t code, uint32_t info,
                   int in_port);
// Learns ip -> mac on port (create: add an unknown neighbour; tell_others: broadcast the update
// to the other workers) and sends the packets that waited for it.
void ArpLearn(Worker* w, uint16_t port_index, uint32_t ip, const rte_ether_addr& mac, bool create,
              bool tell_others);
// Retransmits, fails and ages neighbour entries (every 100 ms).
void ArpHousekeeping(Worker* w);
// Installs the configured static neighbours in the worker's table.
void ArpAddStatic(Worker* w);
// Gratuitous ARP for each address of each port (RFC 5227 announcement).
void ArpAnnounce(Worker* w);

// Port index of a DPDK port id (mbuf->port), or -1.
int PortIndexOf(const Net& net, uint16_t port_id);

}  // namespace dp

#endif  // DATAPLANE_NET_H_
