// ICMP (RFC 792): echo replies for our own addresses (RFC 1122 3.2.2.6) and errors (destination
// unreachable, time exceeded, fragmentation needed per RFC 1191), rate-limited per lcore
// (RFC 1812 4.3.2.8).
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include <algorithm>

#include "dataplane/net.h"

namespace dp {
namespace {

constexpr uint32_t kIcmpErrorsPerMs = 1;  // sustained rate: 1000 errors per second per lcore
constexpr uint32_t kIcmpErrorBurst = 100;
constexpr uint32_t kIcmpQuoteMax = 576 - 20 - 8;  // RFC 1812 4.3.2.3: fit in 576 bytes

bool IsIcmpError(uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

uint16_t IcmpChecksum(const rte_mbuf* m, uint32_t off, uint32_t len) {
  uint16_t raw = 0;
  rte_raw_cksum_mbuf(m, off, len, &raw);
  uint16_t ck = static_cast<uint16_t>(~raw);
  return ck;
}

}  // namespace

void IcmpInput(Worker* w, rte_mbuf* m, uint16_t port_index) {
  ++w->c.icmp_in;
  const uint32_t ihl = m->l3_len;
  const uint32_t len = rte_pktmbuf_pkt_len(m) - ihl;
  uint16_t raw = 0;
  if (len < sizeof(rte_icmp_hdr) || rte_pktmbuf_data_len(m) < ihl + sizeof(rte_icmp_hdr) ||
      rte_raw_cksum_mbuf(m, ihl, len, &raw) != 0 || raw != 0xffff) {
    ++w->c.icmp_bad;
    rte_pktmbuf_free(m);
    return;
  }
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
  auto* icmp = rte_pktmbuf_mtod_offset(m, rte_icmp_hdr*, ihl);
  if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
    ++w->c.icmp_other;  // errors about our TCP segments: PMTUD hand-up is future work
    rte_pktmbuf_free(m);
    return;
  }
  ++w->c.icmp_echo_in;
  // The reply reuses the request: same identifier, sequence and data (RFC 792).
  icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
  icmp->icmp_cksum = 0;
  icmp->icmp_cksum = IcmpChecksum(m, ihl, len);
  const rte_be32_t src = ip->src_addr;
  ip->src_addr = ip->dst_addr;
  ip->dst_addr = src;
  ip->time_to_live = 64;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  ++w->c.icmp_echo_reply_out;
  Ipv4Output(w, m, rte_be_to_cpu_32(src));
}

void IcmpSendError(Worker* w, const rte_mbuf* orig, uint8_t type, uint8_t code, uint32_t info,
                   int in_port) {
  const auto* oip = rte_pktmbuf_mtod(orig, const rte_ipv4_hdr*);
  const uint32_t osrc = rte_be_to_cpu_32(oip->src_addr);
  const uint32_t ihl = rte_ipv4_hdr_len(oip);
  // RFC 1122 3.2.2: never about an ICMP error, a non-first fragment, or a broadcast/multicast
  // or martian source.
  if ((osrc >> 28) >= 0xe || osrc == 0 || (osrc >> 24) == 127) return;
  if (oip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) return;
  if (oip->next_proto_id == IPPROTO_ICMP) {
    const uint8_t* t = rte_pktmbuf_mtod_offset(orig, const uint8_t*, ihl);
    if (rte_pktmbuf_data_len(orig) <= ihl || IsIcmpError(*t)) return;
  }
  // Token bucket refilled from the lcore's millisecond clock.
  if (w->now_ms != w->icmp_refill_ms) {
    uint64_t add = (w->now_ms - w->icmp_refill_ms) * kIcmpErrorsPerMs;
    w->icmp_tokens =
        static_cast<uint32_t>(std::min<uint64_t>(kIcmpErrorBurst, w->icmp_tokens + add));
    w->icmp_refill_ms = w->now_ms;
  }
  if (w->icmp_tokens == 0) {
    ++w->c.icmp_error_ratelimited;
    return;
  }
  --w->icmp_tokens;
  const uint32_t quote = std::min<uint32_t>(rte_pktmbuf_pkt_len(orig), kIcmpQuoteMax);
  rte_mbuf* m = rte_pktmbuf_alloc(w->net->pool);
  if (m == nullptr) {
    ++w->c.mbuf_alloc_failed;
    return;
  }
  const uint32_t total = sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr) + quote;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_append(m, total));
  if (ip == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
  const uint8_t* q = static_cast<const uint8_t*>(
      rte_pktmbuf_read(orig, 0, quote, reinterpret_cast<uint8_t*>(icmp + 1)));
  if (q != reinterpret_cast<uint8_t*>(icmp + 1)) memcpy(icmp + 1, q, quote);
  icmp->icmp_type = type;
  icmp->icmp_code = code;
  icmp->icmp_cksum = 0;
  // The 32-bit field after the checksum: unused, or "next-hop MTU" in its low 16 bits (RFC 1191 4).
  icmp->icmp_ident = rte_cpu_to_be_16(static_cast<uint16_t>(info >> 16));
  icmp->icmp_seq_nb = rte_cpu_to_be_16(static_cast<uint16_t>(info));
  icmp->icmp_cksum = IcmpChecksum(m, sizeof(rte_ipv4_hdr), sizeof(rte_icmp_hdr) + quote);
  // The source is an address of the interface the offending packet came in on (RFC 1812
  // 4.3.2.4): a port's, or for a packet from a tunnel the session's local (PPP) address when the
  // caller gave it; otherwise the address of the port towards the original source.
  uint32_t src = 0;
  if (in_port >= 0) {
    src = w->net->ports[in_port].PrimaryAddress();
  } else if (w->icmp_session_src != 0) {
    src = w->icmp_session_src;
  } else if (const NextHop* back = w->net->fib->Lookup(osrc);
             back != nullptr && back->kind == kNextHopPort) {
    src = w->net->ports[back->port].PrimaryAddress();
  }
  for (uint16_t p = 0; p < w->net->n_ports && src == 0; ++p) {
    src = w->net->ports[p].PrimaryAddress();
  }
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->type_of_service = 0;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(total));
  ip->packet_id = 0;
  ip->fragment_offset = 0;
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_ICMP;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = oip->src_addr;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  ++w->c.icmp_error_out;
  Ipv4Output(w, m, osrc);
}

}  // namespace dp
