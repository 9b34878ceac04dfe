// IPv4 input (RFC 791, RFC 1122 3.2.1 checks), local delivery, forwarding (RFC 1812 5.2/5.3) and
// output through the FIB.
#include <rte_byteorder.h>
#include <rte_ip.h>

#include "dataplane/net.h"

namespace dp {
namespace {

constexpr uint16_t kFragMask = RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK;

bool IsMartianSource(uint32_t src) {
  return (src >> 28) >= 0xe ||  // multicast (224/4), reserved (240/4), limited broadcast
         (src >> 24) == 127 ||  // loopback (RFC 1122 3.2.1.3 (g))
         src == 0;
}

bool IsBroadcastFor(const Net& net, uint16_t port_index, uint32_t dst) {
  if (dst == 0xffffffffu || (dst >> 28) == 0xe) return true;
  const Port& port = net.ports[port_index];
  for (uint16_t i = 0; i < port.n_addrs; ++i) {
    const Ipv4Prefix& a = port.addrs[i];
    if (a.len < 31 && dst == (a.Network() | ~a.Mask())) return true;  // directed broadcast
  }
  return false;
}

}  // namespace

void TcpInput(Worker* w, rte_mbuf* m) {
  if (w->tcp != nullptr) {
    ++w->c.tcp_in;
    w->tcp->Input(m, w->now_ns);
    return;
  }
  ++w->c.ip_unknown_protocol;  // no TCP stack in this build
  rte_pktmbuf_free(m);
}

namespace {

void HandoffOrInput(Worker* w, rte_mbuf* m, const rte_ipv4_hdr* ip, uint32_t ihl) {
  Net* net = w->net;
  if (net->n_workers > 1 && rte_pktmbuf_data_len(m) >= ihl + 4) {
    const auto* ports = rte_pktmbuf_mtod_offset(m, const uint16_t*, ihl);
    uint32_t owner =
        TupleOwner(*net, rte_be_to_cpu_32(ip->src_addr), rte_be_to_cpu_32(ip->dst_addr),
                   rte_be_to_cpu_16(ports[0]), rte_be_to_cpu_16(ports[1]));
    if (owner != w->index) {
      HandoffTo(w, owner, m, kHandoffLocalTcp);
      return;
    }
  }
  TcpInput(w, m);
}

void LocalDeliver(Worker* w, rte_mbuf* m, rte_ipv4_hdr* ip, uint32_t ihl, uint16_t port_index) {
  if (ip->fragment_offset & rte_cpu_to_be_16(kFragMask)) {
    ++w->c.ip_fragment;  // no reassembly: TCP with MSS never needs it
    rte_pktmbuf_free(m);
    return;
  }
  ++w->c.ip_local;
  switch (ip->next_proto_id) {
    case IPPROTO_TCP:
      HandoffOrInput(w, m, ip, ihl);
      return;
    case IPPROTO_ICMP:
      IcmpInput(w, m, port_index);
      return;
    case IPPROTO_UDP:
      ++w->c.udp_unreachable;
      IcmpSendError(w, m, 3, 3, 0, port_index);  // port unreachable (RFC 1122 3.2.2.1)
      rte_pktmbuf_free(m);
      return;
    default:
      ++w->c.ip_unknown_protocol;
      IcmpSendError(w, m, 3, 2, 0, port_index);  // protocol unreachable
      rte_pktmbuf_free(m);
      return;
  }
}

}  // namespace

void HandoffTo(Worker* w, uint32_t owner, rte_mbuf* m, uint32_t kind) {
  m->hash.usr = kind;
  if (rte_ring_mp_enqueue(w->net->workers[owner]->handoff, m) != 0) {
    ++w->c.handoff_full;
    rte_pktmbuf_free(m);
  } else {
    ++w->c.handoff_out;
  }
}

void Ipv4Forward(Worker* w, rte_mbuf* m, int port_index) {
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
  const uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
  if (!w->net->cfg.forward) {
    ++w->c.ip_forward_disabled;
    rte_pktmbuf_free(m);
    return;
  }
  if (ip->time_to_live <= 1) {
    ++w->c.ip_ttl_exceeded;
    IcmpSendError(w, m, 11, 0, 0, port_index);  // time exceeded in transit (RFC 1812 5.3.1)
    rte_pktmbuf_free(m);
    return;
  }
  const NextHop* nh = w->net->fib->Lookup(dst);
  if (nh == nullptr || nh->kind == kNextHopLocal ||
      (nh->kind == kNextHopSession && w->net->hooks.session_output == nullptr)) {
    ++w->c.ip_no_route;
    IcmpSendError(w, m, 3, 0, 0, port_index);  // network unreachable
    rte_pktmbuf_free(m);
    return;
  }
  const uint16_t total = rte_be_to_cpu_16(ip->total_length);
  if (total > nh->mtu) {
    ++w->c.ip_frag_needed;
    if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) {
      // RFC 1191 4: "fragmentation needed and DF set" carrying the next-hop MTU.
      IcmpSendError(w, m, 3, 4, nh->mtu, port_index);
    }
    rte_pktmbuf_free(m);  // no fragmentation on the fast path
    return;
  }
  // TTL decrement with an incremental checksum update (RFC 1624 3, RFC 1141).
  --ip->time_to_live;
  uint32_t sum = static_cast<uint32_t>(ip->hdr_checksum) + rte_cpu_to_be_16(0x0100);
  ip->hdr_checksum = static_cast<uint16_t>(sum + (sum >> 16));
  ++w->c.ip_forwarded;
  if (nh->kind == kNextHopSession) {
    // Downstream to a tunnel: the session lives on one worker (nh->port).
    if (nh->port != w->index) {
      m->hash.fdir.hi = nh->gateway;
      HandoffTo(w, nh->port, m, kHandoffSession);
    } else {
      w->net->hooks.session_output(w, m, nh->gateway, w->net->hooks.ctx);
    }
    return;
  }
  Ipv4SendToNeighbor(w, m, nh->port, nh->gateway ? nh->gateway : dst);
}

void Ipv4Input(Worker* w, rte_mbuf* m, uint16_t port_index) {
  ++w->c.ip_in;
  const uint32_t data_len = rte_pktmbuf_data_len(m);
  if (data_len < sizeof(rte_ipv4_hdr)) {
    ++w->c.ip_bad_header;
    rte_pktmbuf_free(m);
    return;
  }
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
  const uint32_t ihl = rte_ipv4_hdr_len(ip);
  const uint32_t total = rte_be_to_cpu_16(ip->total_length);
  if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) || ihl > data_len || total < ihl ||
      total > rte_pktmbuf_pkt_len(m)) {
    ++w->c.ip_bad_header;
    rte_pktmbuf_free(m);
    return;
  }
  if (rte_pktmbuf_pkt_len(m) > total) {
    // Ethernet padding after the datagram.
    if (rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - total) != 0) {
      ++w->c.ip_bad_header;
      rte_pktmbuf_free(m);
      return;
    }
  }
  const uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
      (ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && rte_raw_cksum(ip, ihl) != 0xffff)) {
    ++w->c.ip_bad_checksum;
    rte_pktmbuf_free(m);
    return;
  }
  const uint32_t src = rte_be_to_cpu_32(ip->src_addr);
  const uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
  if (IsMartianSource(src)) {
    ++w->c.ip_bad_source;
    rte_pktmbuf_free(m);
    return;
  }
  m->l3_len = ihl;
  if (w->net->IsLocalAddress(dst)) {
    LocalDeliver(w, m, ip, ihl, port_index);
  } else if (IsBroadcastFor(*w->net, port_index, dst)) {
    ++w->c.ip_broadcast;
    rte_pktmbuf_free(m);
  } else {
    Ipv4Forward(w, m, port_index);
  }
}

void Ipv4Output(Worker* w, rte_mbuf* m, uint32_t dst) {
  const NextHop* nh = w->net->fib->Lookup(dst);
  const bool session =
      nh != nullptr && nh->kind == kNextHopSession && w->net->hooks.session_output != nullptr;
  if (nh == nullptr || (nh->kind != kNextHopPort && !session)) {
    ++w->c.ip_no_route;
    rte_pktmbuf_free(m);
    return;
  }
  if (rte_pktmbuf_pkt_len(m) > nh->mtu) {
    ++w->c.ip_too_big;
    rte_pktmbuf_free(m);
    return;
  }
  if (session) {
    // Our own packets for a tunnel client (ICMP errors about what it sent: time exceeded,
    // fragmentation needed, unreachable) go into its tunnel on the session's owner lcore, like a
    // forwarded packet.
    if (nh->port != w->index) {
      m->hash.fdir.hi = nh->gateway;
      HandoffTo(w, nh->port, m, kHandoffSession);
    } else {
      w->net->hooks.session_output(w, m, nh->gateway, w->net->hooks.ctx);
    }
    return;
  }
  Ipv4SendToNeighbor(w, m, nh->port, nh->gateway ? nh->gateway : dst);
}

}  // namespace dp
