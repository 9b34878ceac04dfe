// Ethernet and 802.1Q (IEEE 802.1Q-2018 9.6) input and output, and the port TX buffers.
#include <rte_byteorder.h>
#include <rte_ethdev.h>

#include "dataplane/net.h"

namespace dp {

int PortIndexOf(const Net& net, uint16_t port_id) {
  for (uint16_t i = 0; i < net.n_ports; ++i) {
    if (net.ports[i].port_id == port_id) return i;
  }
  return -1;
}

uint16_t EtherDecap(Worker* w, rte_mbuf* m, uint16_t port_index, bool bridge) {
  const Port& port = w->net->ports[port_index];
  if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr)) {
    ++w->c.eth_short;
    rte_pktmbuf_free(m);
    return 0;
  }
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (bridge && __atomic_load_n(&port.bridge_workers, __ATOMIC_RELAXED) != 0 &&
      w->net->hooks.bridge_input != nullptr && !rte_is_same_ether_addr(&eth->dst_addr, &port.mac)) {
    // The port is bridged with BCP sessions (and promiscuous): frames for other stations go to
    // the bridge; broadcasts go to the bridge and are processed here as well (ARP).
    if (!rte_is_broadcast_ether_addr(&eth->dst_addr)) {
      w->net->hooks.bridge_input(w, m, port_index, false, w->net->hooks.ctx);
      return 0;
    }
    if (rte_mbuf* copy = rte_pktmbuf_copy(m, w->net->pool, 0, UINT32_MAX)) {
      w->net->hooks.bridge_input(w, copy, port_index, false, w->net->hooks.ctx);
    } else {
      ++w->c.mbuf_alloc_failed;
    }
  }
  if (!rte_is_same_ether_addr(&eth->dst_addr, &port.mac) &&
      !rte_is_broadcast_ether_addr(&eth->dst_addr)) {
    ++w->c.eth_not_for_us;
    rte_pktmbuf_free(m);
    return 0;
  }
  uint16_t type = rte_be_to_cpu_16(eth->ether_type);
  uint16_t l2_len = sizeof(rte_ether_hdr);
  uint16_t vlan = 0;
  if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) vlan = m->vlan_tci & 0xfff;
  if (type == RTE_ETHER_TYPE_VLAN) {
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr)) {
      ++w->c.eth_short;
      rte_pktmbuf_free(m);
      return 0;
    }
    const auto* vh = reinterpret_cast<const rte_vlan_hdr*>(eth + 1);
    vlan = rte_be_to_cpu_16(vh->vlan_tci) & 0xfff;
    type = rte_be_to_cpu_16(vh->eth_proto);
    l2_len += sizeof(rte_vlan_hdr);
  }
  if (vlan != port.vlan) {
    ++w->c.eth_vlan_mismatch;
    rte_pktmbuf_free(m);
    return 0;
  }
  rte_pktmbuf_adj(m, l2_len);
  m->l2_len = 0;
  return type;
}

void EtherInput(Worker* w, rte_mbuf* m, uint16_t port_index, bool bridge) {
  switch (EtherDecap(w, m, port_index, bridge)) {
    case 0:
      return;
    case RTE_ETHER_TYPE_IPV4:
      Ipv4Input(w, m, port_index);
      return;
    case RTE_ETHER_TYPE_ARP:
      ArpInput(w, m, port_index);
      return;
    // RTE_ETHER_TYPE_IPV6 (and ND) goes here once IPv6 exists.
    default:
      ++w->c.eth_unknown_type;
      rte_pktmbuf_free(m);
      return;
  }
}

void EtherOutput(Worker* w, rte_mbuf* m, uint16_t port_index, const rte_ether_addr& dst,
                 uint16_t ether_type) {
  const Port& port = w->net->ports[port_index];
  const uint16_t l2_len = sizeof(rte_ether_hdr) + (port.vlan ? sizeof(rte_vlan_hdr) : 0);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, l2_len));
  if (eth == nullptr) {  // the sender left no headroom: a bug upstream, counted not crashed
    ++w->c.tx_dropped;
    rte_pktmbuf_free(m);
    return;
  }
  rte_ether_addr_copy(&dst, &eth->dst_addr);
  rte_ether_addr_copy(&port.mac, &eth->src_addr);
  if (port.vlan != 0) {
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
    auto* vh = reinterpret_cast<rte_vlan_hdr*>(eth + 1);
    vh->vlan_tci = rte_cpu_to_be_16(port.vlan);
    vh->eth_proto = rte_cpu_to_be_16(ether_type);
  } else {
    eth->ether_type = rte_cpu_to_be_16(ether_type);
  }
  m->l2_len = l2_len;
  // Stations behind bridged sessions (BCP) are on this port's segment too: our ARP replies and
  // packets for them go into their tunnels.
  if (__atomic_load_n(&port.bridge_workers, __ATOMIC_RELAXED) != 0 &&
      w->net->hooks.bridge_output != nullptr &&
      w->net->hooks.bridge_output(w, m, port_index, w->net->hooks.ctx)) {
    return;
  }
  PortTx(w, port_index, m);
}

namespace {

void FlushPort(Worker* w, uint16_t port_index) {
  Worker::TxPort& tx = w->tx[port_index];
  if (tx.n == 0) return;
  const Port& port = w->net->ports[port_index];
  uint16_t n = tx.n;
  tx.n = 0;
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < n; ++i) bytes += rte_pktmbuf_pkt_len(tx.pkts[i]);
  uint16_t sent;
  if (tx.queue >= 0) {
    sent = rte_eth_tx_burst(port.port_id, static_cast<uint16_t>(tx.queue), tx.pkts, n);
    if (sent < n) {
      // One retry: af_packet and small rings fill up in bursts.
      sent +=
          rte_eth_tx_burst(port.port_id, static_cast<uint16_t>(tx.queue), tx.pkts + sent, n - sent);
    }
    if (sent < n) w->c.tx_dropped += n - sent;
  } else {
    sent = static_cast<uint16_t>(
        rte_ring_mp_enqueue_burst(port.tx_ring, reinterpret_cast<void**>(tx.pkts), n, nullptr));
    if (sent < n) w->c.tx_ring_full += n - sent;
  }
  for (uint16_t i = sent; i < n; ++i) {
    bytes -= rte_pktmbuf_pkt_len(tx.pkts[i]);
    rte_pktmbuf_free(tx.pkts[i]);
  }
  w->c.tx_packets += sent;
  w->c.tx_bytes += bytes;
}

void Buffer(Worker* w, uint16_t port_index, rte_mbuf* m) {
  Worker::TxPort& tx = w->tx[port_index];
  tx.pkts[tx.n++] = m;
  if (tx.n == kBurst) FlushPort(w, port_index);
}

}  // namespace

void PortTx(Worker* w, uint16_t port_index, rte_mbuf* m) {
  if (w->fault_tx.enabled()) {
    rte_mbuf* pkts[4] = {m};
    uint16_t n = w->fault_tx.Apply(port_index, pkts, 1, 4, &w->c);
    for (uint16_t i = 0; i < n; ++i) Buffer(w, port_index, pkts[i]);
    return;
  }
  Buffer(w, port_index, m);
}

void WorkerFlushTx(Worker* w) {
  Net* net = w->net;
  for (uint16_t p = 0; p < net->n_ports; ++p) {
    if (w->fault_tx.enabled()) {
      if (rte_mbuf* held = w->fault_tx.ReleaseHeld(p)) Buffer(w, p, held);
    }
    FlushPort(w, p);
    // The worker with TX queue 0 also sends what workers without a queue put on the port's ring.
    const Port& port = net->ports[p];
    if (port.tx_ring != nullptr && w->tx[p].queue == 0) {
      rte_mbuf* pkts[kBurst];
      unsigned n;
      int rounds = 0;
      while (rounds++ < 8 &&
             (n = rte_ring_sc_dequeue_burst(port.tx_ring, reinterpret_cast<void**>(pkts), kBurst,
                                            nullptr)) > 0) {
        uint16_t sent = rte_eth_tx_burst(port.port_id, 0, pkts, static_cast<uint16_t>(n));
        for (unsigned i = sent; i < n; ++i) rte_pktmbuf_free(pkts[i]);
        if (sent < n) w->c.tx_dropped += n - sent;
      }
    }
  }
}

}  // namespace dp
