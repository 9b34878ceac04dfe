// ARP (RFC 826) over Ethernet: reply for our addresses and, on proxy-ARP ports, for addresses
// routed through another port (RFC 1027); resolution with a bounded pending queue and
// retransmission at most once per second (RFC 1122 2.3.2.1); gratuitous announcements on start
// (RFC 5227 3); aging with unicast refresh probes for entries in use.
#include <rte_arp.h>
#include <rte_byteorder.h>

#include <cstring>

#include "dataplane/net.h"

namespace dp {
namespace {

constexpr uint32_t kMaxPendingTotal = 1024;  // per lcore, over all neighbours

// The address we speak from on `port` towards `target`: the one whose prefix holds it, else the
// port's first address.
uint32_t SourceFor(const Port& port, uint32_t target) {
  for (uint16_t i = 0; i < port.n_addrs; ++i) {
    if (port.addrs[i].Contains(target)) return port.addrs[i].addr;
  }
  return port.PrimaryAddress();
}

void SendArp(Worker* w, uint16_t port_index, uint16_t op, uint32_t sip, uint32_t tip,
             const rte_ether_addr& tha, const rte_ether_addr& eth_dst) {
  rte_mbuf* m = rte_pktmbuf_alloc(w->net->pool);
  if (m == nullptr) {
    ++w->c.mbuf_alloc_failed;
    return;
  }
  auto* arp = reinterpret_cast<rte_arp_hdr*>(rte_pktmbuf_append(m, sizeof(rte_arp_hdr)));
  arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = RTE_ETHER_ADDR_LEN;
  arp->arp_plen = 4;
  arp->arp_opcode = rte_cpu_to_be_16(op);
  rte_ether_addr_copy(&w->net->ports[port_index].mac, &arp->arp_data.arp_sha);
  arp->arp_data.arp_sip = rte_cpu_to_be_32(sip);
  rte_ether_addr_copy(&tha, &arp->arp_data.arp_tha);
  arp->arp_data.arp_tip = rte_cpu_to_be_32(tip);
  EtherOutput(w, m, port_index, eth_dst, RTE_ETHER_TYPE_ARP);
}

const rte_ether_addr kBroadcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
const rte_ether_addr kZero = {{0, 0, 0, 0, 0, 0}};

void SendRequest(Worker* w, uint16_t port_index, uint32_t target, const rte_ether_addr& dst) {
  const Port& port = w->net->ports[port_index];
  ++w->c.arp_request_out;
  SendArp(w, port_index, RTE_ARP_OP_REQUEST, SourceFor(port, target), target, kZero, dst);
}

void DropPending(Worker* w, Neighbor* n, uint64_t* counter) {
  for (uint8_t i = 0; i < n->n_pending; ++i) rte_pktmbuf_free(n->pending[i]);
  *counter += n->n_pending;
  w->arp.pending_total -= n->n_pending;
  n->n_pending = 0;
}

// RFC 1027: answer for `tip` when we route it through a different port than the one the request
// came in on (and it is not the requester's own address).
bool ProxyArpAnswers(const Worker* w, uint16_t port_index, uint32_t sip, uint32_t tip) {
  if (tip == sip || tip == 0) return false;
  const NextHop* nh = w->net->fib->Lookup(tip);
  return nh != nullptr && (nh->kind != kNextHopPort || nh->port != port_index);
}

}  // namespace

// Creates or refreshes the entry for ip on port; sends what waited for it. `create`: RFC 826
// "merge" rule: an unknown sender is only added when the packet was for us.
void ArpLearn(Worker* w, uint16_t port_index, uint32_t ip, const rte_ether_addr& mac, bool create,
              bool tell_others) {
  bool created = false;
  Neighbor* n =
      create ? w->arp.FindOrCreate(port_index, ip, &created) : w->arp.Find(port_index, ip);
  if (n == nullptr) {
    if (create) ++w->c.arp_table_full;
    return;
  }
  if (n->is_static) return;
  rte_ether_addr_copy(&mac, &n->mac);
  n->resolved = true;
  n->probes = 0;
  n->confirmed_ms = w->now_ms;
  ++w->c.arp_learned;
  if (n->n_pending > 0) {
    uint8_t count = n->n_pending;
    rte_mbuf* pkts[kMaxPendingPerNeighbor];
    for (uint8_t i = 0; i < count; ++i) pkts[i] = n->pending[i];
    n->n_pending = 0;
    w->arp.pending_total -= count;
    // EtherOutput may not touch the table, so `n` stays valid; copy anyway for clarity.
    rte_ether_addr dst = n->mac;
    for (uint8_t i = 0; i < count; ++i) {
      ++w->c.ip_out;
      EtherOutput(w, pkts[i], port_index, dst, RTE_ETHER_TYPE_IPV4);
    }
  }
  if (!tell_others) return;
  NeighborUpdate up{};
  up.ip = ip;
  up.port = port_index;
  rte_ether_addr_copy(&mac, &up.mac);
  for (uint32_t i = 0; i < w->net->n_workers; ++i) {
    if (i == w->index) continue;
    if (rte_ring_mp_enqueue_elem(w->net->workers[i]->neighbors, &up, sizeof(up)) != 0) {
      ++w->c.arp_update_lost;
    }
  }
}

void ArpInput(Worker* w, rte_mbuf* m, uint16_t port_index) {
  ++w->c.arp_in;
  const Port& port = w->net->ports[port_index];
  if (rte_pktmbuf_data_len(m) < sizeof(rte_arp_hdr)) {
    ++w->c.arp_bad;
    rte_pktmbuf_free(m);
    return;
  }
  auto* arp = rte_pktmbuf_mtod(m, rte_arp_hdr*);
  if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
      arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
      arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4 ||
      rte_is_multicast_ether_addr(&arp->arp_data.arp_sha)) {
    ++w->c.arp_bad;
    rte_pktmbuf_free(m);
    return;
  }
  const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
  const uint32_t sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
  const uint32_t tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
  const bool for_us = port.HasAddress(tip);
  if (op == RTE_ARP_OP_REQUEST) {
    ++w->c.arp_request_in;
  } else if (op == RTE_ARP_OP_REPLY) {
    ++w->c.arp_reply_in;
  }
  if (port.arp == ArpMode::kDisabled) {
    rte_pktmbuf_free(m);
    return;
  }
  // sip 0 is an RFC 5227 probe: nothing to learn.
  if (sip != 0 && (port.arp == ArpMode::kEnabled || port.arp == ArpMode::kProxyArp)) {
    ArpLearn(w, port_index, sip, arp->arp_data.arp_sha, for_us, /*tell_others=*/true);
  }
  bool answer = false;
  if (op == RTE_ARP_OP_REQUEST && sip != tip) {  // sip == tip: a gratuitous announcement
    if (for_us) {
      answer = true;
      ++w->c.arp_reply_out;
    } else if (port.arp == ArpMode::kProxyArp && !w->net->IsLocalAddress(tip) &&
               ProxyArpAnswers(w, port_index, sip, tip)) {
      answer = true;
      ++w->c.arp_proxy_reply_out;
    }
  }
  if (!answer) {
    rte_pktmbuf_free(m);
    return;
  }
  // Turn the request into the reply in place (RFC 826 "swap hardware and protocol fields").
  rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - sizeof(rte_arp_hdr));
  rte_ether_addr requester = arp->arp_data.arp_sha;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
  arp->arp_data.arp_tha = requester;
  arp->arp_data.arp_tip = rte_cpu_to_be_32(sip);
  rte_ether_addr_copy(&port.mac, &arp->arp_data.arp_sha);
  arp->arp_data.arp_sip = rte_cpu_to_be_32(tip);
  EtherOutput(w, m, port_index, requester, RTE_ETHER_TYPE_ARP);
}

void Ipv4SendToNeighbor(Worker* w, rte_mbuf* m, uint16_t port_index, uint32_t next_hop) {
  const Port& port = w->net->ports[port_index];
  if (next_hop == 0xffffffffu) {
    ++w->c.ip_out;
    EtherOutput(w, m, port_index, kBroadcast, RTE_ETHER_TYPE_IPV4);
    return;
  }
  Neighbor* n = w->arp.Find(port_index, next_hop);
  if (n != nullptr && n->is_static) {
    ++w->c.ip_out;
    EtherOutput(w, m, port_index, n->mac, RTE_ETHER_TYPE_IPV4);
    return;
  }
  if (n != nullptr && n->resolved) {
    ++w->c.ip_out;
    // Aging (arp-timeout): an entry past its lifetime that is still used is refreshed with
    // unicast requests; housekeeping removes it when they stay unanswered.
    if (w->now_ms - n->confirmed_ms >= w->net->cfg.arp_timeout_s * 1000ull &&
        w->now_ms - n->last_request_ms >= kArpRetransmitMs && n->probes < kArpMaxProbes &&
        port.arp != ArpMode::kReplyOnly) {
      n->last_request_ms = w->now_ms;
      ++n->probes;
      SendRequest(w, port_index, next_hop, n->mac);
    }
    EtherOutput(w, m, port_index, n->mac, RTE_ETHER_TYPE_IPV4);
    return;
  }
  if (port.arp == ArpMode::kDisabled || port.arp == ArpMode::kReplyOnly) {
    ++w->c.arp_resolve_failed;  // no dynamic entries on this port
    rte_pktmbuf_free(m);
    return;
  }
  bool created = false;
  if (n == nullptr) n = w->arp.FindOrCreate(port_index, next_hop, &created);
  if (n == nullptr) {
    ++w->c.arp_table_full;
    rte_pktmbuf_free(m);
    return;
  }
  if (n->n_pending < kMaxPendingPerNeighbor && w->arp.pending_total < kMaxPendingTotal) {
    n->pending[n->n_pending++] = m;
    ++w->arp.pending_total;
    ++w->c.arp_queued;
  } else {
    ++w->c.arp_queue_full;
    rte_pktmbuf_free(m);
  }
  if (created || w->now_ms - n->last_request_ms >= kArpRetransmitMs) {
    n->last_request_ms = w->now_ms;
    ++n->probes;
    SendRequest(w, port_index, next_hop, kBroadcast);
  }
}

// Every 100 ms: retransmit unanswered requests, fail resolutions after kArpMaxProbes, age out
// entries past arp-timeout that are unused or whose refresh probes went unanswered.
void ArpHousekeeping(Worker* w) {
  auto& map = w->arp.map();
  const uint64_t timeout_ms = w->net->cfg.arp_timeout_s * 1000ull;
  for (auto it = map.begin(); it != map.end();) {
    Neighbor& n = it->second;
    if (n.is_static) {
      ++it;
      continue;
    }
    const uint16_t port_index = static_cast<uint16_t>(it->first >> 32);
    const uint32_t ip = static_cast<uint32_t>(it->first);
    bool erase = false;
    if (!n.resolved) {
      if (w->now_ms - n.last_request_ms >= kArpRetransmitMs) {
        if (n.probes >= kArpMaxProbes) {
          DropPending(w, &n, &w->c.arp_resolve_failed);
          erase = true;
        } else {
          n.last_request_ms = w->now_ms;
          ++n.probes;
          SendRequest(w, port_index, ip, kBroadcast);
        }
      }
    } else if (w->now_ms - n.confirmed_ms >= timeout_ms) {
      // In use entries get probed by Ipv4SendToNeighbor; here we only reap.
      bool probing_failed =
          n.probes >= kArpMaxProbes && w->now_ms - n.last_request_ms >= kArpRetransmitMs;
      bool unused = n.probes == 0 && w->now_ms - n.confirmed_ms >= timeout_ms + kArpRetransmitMs;
      if (probing_failed || unused) {
        ++w->c.arp_aged;
        erase = true;
      }
    }
    if (erase) {
      map.erase(it++);
    } else {
      ++it;
    }
  }
}

void ArpAddStatic(Worker* w) {
  for (uint16_t p = 0; p < w->net->n_ports; ++p) {
    for (const StaticArp& e : w->net->cfg.ports[p].static_arp) {
      bool created;
      Neighbor* n = w->arp.FindOrCreate(p, e.ip, &created);
      if (n == nullptr) {
        ++w->c.arp_table_full;
        continue;
      }
      memcpy(n->mac.addr_bytes, e.mac, 6);
      n->resolved = true;
      n->is_static = true;
    }
  }
}

void ArpAnnounce(Worker* w) {
  for (uint16_t p = 0; p < w->net->n_ports; ++p) {
    const Port& port = w->net->ports[p];
    if (port.arp == ArpMode::kDisabled) continue;
    for (uint16_t i = 0; i < port.n_addrs; ++i) {
      ++w->c.arp_gratuitous_out;
      SendArp(w, p, RTE_ARP_OP_REQUEST, port.addrs[i].addr, port.addrs[i].addr, kZero, kBroadcast);
    }
  }
}

}  // namespace dp
