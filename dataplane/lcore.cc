// The run-to-completion loop of a worker lcore (STYLE.md, DPDK l3fwd/ipsec-secgw): read the TSC,
// apply neighbour updates, RX bursts, classify and process, take packets other lcores handed over,
// end the TCP burst, run timers, drain TX buffers on a TSC deadline, report RCU quiescence.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>
#include <rte_thash.h>

#include <algorithm>
#include <cstdio>

#include "dataplane/net.h"
#include "dataplane/services.h"

namespace dp {
namespace {

constexpr uint64_t kTxDrainUs = 100;
constexpr uint64_t kArpHousekeepingMs = 100;

// A symmetric Toeplitz key (0x6d5a repeated): hash(a, b) == hash(b, a), so both directions of a
// connection land on the same lcore. Ports program the same key into RSS.
const uint8_t kSymmetricRssKey[40] = {0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                      0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                      0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                      0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

void TcpOutput(void* ctx, rte_mbuf* m, uint32_t dst) {
  auto* w = static_cast<Worker*>(ctx);
  ++w->c.tcp_out;
  Ipv4Output(w, m, dst);
}

void UpdateClock(Worker* w) {
  w->tsc = rte_rdtsc();
  w->now_ns =
      static_cast<uint64_t>((static_cast<unsigned __int128>(w->tsc - w->tsc0) * w->ns_mult) >> 32) +
      w->clock_offset_ns;
  w->now_ms = w->now_ns / 1000000;
}

void OnWorkerTimer(Worker* w, TimerNode* n) {
  if (n == &w->arp_timer) {
    ArpHousekeeping(w);
    w->wheel.Schedule(&w->arp_timer, w->now_ms + kArpHousekeepingMs);
  }
}

}  // namespace

const uint8_t* RssKey() { return kSymmetricRssKey; }

uint32_t TupleOwner(const Net& net, uint32_t ip_a, uint32_t ip_b, uint16_t port_a,
                    uint16_t port_b) {
  if (net.n_workers <= 1) return 0;
  uint32_t tuple[3] = {ip_a, ip_b, static_cast<uint32_t>(port_a) << 16 | port_b};
  uint32_t h = rte_softrss(tuple, 3, kSymmetricRssKey);
  // The RETA of RSS ports maps entry i to queue (i & 127) % n_workers: the same function.
  return (h & 127) % net.n_workers;
}

void WorkerInit(Worker* w) {
  Net* net = w->net;
  w->tsc0 = rte_rdtsc();
  w->ns_mult =
      static_cast<uint64_t>((static_cast<unsigned __int128>(1000000000) << 32) / net->tsc_hz);
  w->drain_tsc = net->tsc_hz / 1000000 * kTxDrainUs;
  UpdateClock(w);
  w->next_drain_tsc = w->tsc + w->drain_tsc;
  w->icmp_tokens = 100;
  if (net->qsbr != nullptr) {
    rte_rcu_qsbr_thread_register(net->qsbr, w->index);
    rte_rcu_qsbr_thread_online(net->qsbr, w->index);
  }
  tcp::StackConfig sc;
  sc.pool = net->pool;
  sc.output.fn = TcpOutput;
  sc.output.ctx = w;
  sc.socket_id = net->socket;
  sc.max_conns = net->cfg.tcp_max_conns;
  // Payload the stack may hold in send and out-of-order queues: a share of the mbuf pool (each
  // mbuf is 2 KiB whatever it carries), so that queued data cannot starve RX of buffers.
  sc.mem_limit = std::max<uint64_t>(1 << 20, uint64_t{net->cfg.mbufs} * 512 / net->n_workers);
  // One MSS for the stack (RFC 9293 3.7.1): what fits the smallest port MTU, so no segment we
  // send needs fragmentation on any port.
  uint16_t min_mtu = net->n_ports ? UINT16_MAX : 1500;
  for (uint16_t p = 0; p < net->n_ports; ++p) min_mtu = std::min(min_mtu, net->ports[p].mtu);
  sc.mss = static_cast<uint16_t>(min_mtu - 40);
  absl::StatusOr<std::unique_ptr<tcp::Stack>> stack = tcp::Stack::Create(sc);
  if (stack.ok()) {
    w->tcp = stack->release();
  } else {
    fprintf(stderr, "sstp-dataplane: lcore %u: TCP stack: %s\n", w->lcore_id,
            std::string(stack.status().message()).c_str());
  }
  if (w->tcp != nullptr) ServicesStart(w);
  ArpAddStatic(w);
  w->wheel.Schedule(&w->arp_timer, w->now_ms + kArpHousekeepingMs);
  if (net->hooks.worker_start != nullptr) net->hooks.worker_start(w, net->hooks.ctx);
  if (w->index == 0) ArpAnnounce(w);
  __atomic_store_n(&w->started, true, __ATOMIC_RELEASE);
}

bool WorkerRunOnce(Worker* w) {
  bool busy = false;
  Net* net = w->net;
  UpdateClock(w);

  // Neighbours other lcores learned.
  NeighborUpdate ups[16];
  unsigned nu =
      rte_ring_sc_dequeue_burst_elem(w->neighbors, ups, sizeof(NeighborUpdate), 16, nullptr);
  for (unsigned i = 0; i < nu; ++i) {
    ++w->c.arp_update_in;
    ArpLearn(w, ups[i].port, ups[i].ip, ups[i].mac, /*create=*/true, /*tell_others=*/false);
  }

  // RX: burst, fault injection, prefetch, classify into bins, process each bin.
  rte_mbuf* pkts[2 * kBurst + 1];
  for (uint16_t r = 0; r < w->n_rx; ++r) {
    const uint16_t port_index = w->rx[r].port_index;
    uint16_t n = rte_eth_rx_burst(net->ports[port_index].port_id, w->rx[r].queue, pkts, kBurst);
    if (n == 0) continue;
    busy = true;
    w->c.rx_packets += n;
    for (uint16_t i = 0; i < n; ++i) w->c.rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
    if (w->fault_rx.enabled()) {
      n = w->fault_rx.Apply(port_index, pkts, n, 2 * kBurst, &w->c);
    }
    // Classify into bins, then process each bin in bulk (ARP first: a reply in this burst
    // resolves what the IPv4 packets after it need).
    rte_mbuf* ipv4[2 * kBurst + 1];
    rte_mbuf* arp[2 * kBurst + 1];
    uint16_t n4 = 0, na = 0;
    for (uint16_t i = 0; i < n && i < 4; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
    for (uint16_t i = 0; i < n; ++i) {
      if (i + 4 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void*));
      rte_mbuf* m = pkts[i];
      switch (EtherDecap(w, m, port_index)) {
        case 0:
          break;
        case RTE_ETHER_TYPE_IPV4:
          ipv4[n4++] = m;
          break;
        case RTE_ETHER_TYPE_ARP:
          arp[na++] = m;
          break;
        default:  // IPv6/ND goes here once it exists
          ++w->c.eth_unknown_type;
          rte_pktmbuf_free(m);
      }
    }
    for (uint16_t i = 0; i < na; ++i) ArpInput(w, arp[i], port_index);
    for (uint16_t i = 0; i < n4; ++i) Ipv4Input(w, ipv4[i], port_index);
  }
  if (w->fault_rx.enabled() && w->tsc >= w->next_drain_tsc) {
    for (uint16_t p = 0; p < net->n_ports; ++p) {
      if (rte_mbuf* held = w->fault_rx.ReleaseHeld(p)) EtherInput(w, held, p);
    }
  }

  // Packets that arrived on another lcore for connections this lcore owns.
  unsigned nh =
      rte_ring_sc_dequeue_burst(w->handoff, reinterpret_cast<void**>(pkts), kBurst, nullptr);
  busy |= nh > 0 || nu > 0;
  for (unsigned i = 0; i < nh; ++i) {
    ++w->c.handoff_in;
    rte_mbuf* m = pkts[i];
    if (m->hash.usr == kHandoffLocalTcp) {
      TcpInput(w, m);
      continue;
    }
    if (m->hash.usr == kHandoffSession && net->hooks.session_output != nullptr) {
      net->hooks.session_output(w, m, m->hash.fdir.hi, net->hooks.ctx);
      continue;
    }
    if (m->hash.usr == kHandoffEtherInput) {
      EtherInput(w, m, uint16_t(m->hash.fdir.hi), false);
      continue;
    }
    if (m->hash.usr == kHandoffBridge && net->hooks.bridge_input != nullptr) {
      net->hooks.bridge_input(w, m, uint16_t(m->hash.fdir.hi), true, net->hooks.ctx);
      continue;
    }
    rte_pktmbuf_free(m);
  }

  if (w->tcp != nullptr) {
    w->tcp->EndBurst(w->now_ns);
    if (w->now_ns >= w->tcp->NextTimerNs()) w->tcp->OnTimer(w->now_ns);
  }
  if (net->hooks.worker_poll != nullptr) net->hooks.worker_poll(w, w->now_ns, net->hooks.ctx);

  if (w->now_ms > w->wheel.now()) {
    w->wheel.Advance(w->now_ms, [w](TimerNode* n) { OnWorkerTimer(w, n); });
  }

  if (w->tsc >= w->next_drain_tsc) {
    WorkerFlushTx(w);
    w->next_drain_tsc = w->tsc + w->drain_tsc;
  }
  if (net->qsbr != nullptr) rte_rcu_qsbr_quiescent(net->qsbr, w->index);
  return busy;
}

void WorkerFinish(Worker* w) {
  Net* net = w->net;
  UpdateClock(w);
  if (net->hooks.worker_stop != nullptr) net->hooks.worker_stop(w, net->hooks.ctx);
  if (w->tcp != nullptr) {
    ServicesStop(w);
    delete w->tcp;  // OnClosed(kShutdown) for every connection; the handlers outlive it
    w->tcp = nullptr;
    ServicesFree(w);
  }
  WorkerFlushTx(w);
  w->wheel.Cancel(&w->arp_timer);
  for (auto& [key, n] : w->arp.map()) {
    for (uint8_t i = 0; i < n.n_pending; ++i) rte_pktmbuf_free(n.pending[i]);
    n.n_pending = 0;
  }
  w->arp.map().clear();
  w->arp.pending_total = 0;
  if (net->qsbr != nullptr) {
    rte_rcu_qsbr_thread_offline(net->qsbr, w->index);
    rte_rcu_qsbr_thread_unregister(net->qsbr, w->index);
  }
}

int WorkerMain(void* arg) {
  auto* w = static_cast<Worker*>(arg);
  WorkerInit(w);
  const uint32_t sleep_us = w->net->cfg.idle_sleep_us;
  uint32_t idle = 0;
  while (!w->net->stop.load(std::memory_order_relaxed)) {
    if (WorkerRunOnce(w)) {
      idle = 0;
    } else if (sleep_us != 0 && ++idle > 1000) {
      rte_delay_us_sleep(sleep_us);
    }
  }
  WorkerFinish(w);
  return 0;
}

}  // namespace dp
