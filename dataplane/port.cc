#include "dataplane/port.h"

#include <rte_errno.h>
#include <rte_ethdev.h>

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace dp {
namespace {

constexpr uint16_t kRxDesc = 1024;
constexpr uint16_t kTxDesc = 1024;

absl::Status EthError(const Port& p, const char* what, int rc) {
  return absl::InternalError(
      absl::StrCat("port ", p.name, ": ", what, ": ", rte_strerror(rc < 0 ? -rc : rc)));
}

}  // namespace

absl::StatusOr<uint16_t> PortIdFor(const PortConfig& pc) {
  if (pc.port_id >= 0) {
    if (!rte_eth_dev_is_valid_port(static_cast<uint16_t>(pc.port_id))) {
      return absl::NotFoundError(absl::StrCat("no DPDK port ", pc.port_id));
    }
    return static_cast<uint16_t>(pc.port_id);
  }
  std::string name = pc.devargs.substr(0, pc.devargs.find(','));
  uint16_t id;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
    return absl::NotFoundError(
        absl::StrCat("port '", name,
                     "' was not probed by EAL (check the interface exists and the driver, e.g. "
                     "ip link show; for af_packet the iface= must be up)"));
  }
  return id;
}

absl::Status PortSetup(Net* net, uint16_t index) {
  Port& p = net->ports[index];
  const PortConfig& pc = net->cfg.ports[index];
  absl::StatusOr<uint16_t> id = PortIdFor(pc);
  if (!id.ok()) return id.status();
  p.port_id = *id;
  p.index = index;
  p.mtu = pc.mtu;
  p.vlan = pc.vlan;
  p.arp = pc.arp;
  p.n_addrs = 0;
  for (const Ipv4Prefix& a : pc.addresses) {
    if (p.n_addrs == kMaxAddrsPerPort) break;
    p.addrs[p.n_addrs++] = a;
  }
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  rte_eth_dev_get_name_by_port(p.port_id, name);
  p.name = name;

  rte_eth_dev_info info;
  if (int rc = rte_eth_dev_info_get(p.port_id, &info); rc != 0) return EthError(p, "info", rc);
  const uint16_t workers = static_cast<uint16_t>(net->n_workers);
  uint16_t nrx = pc.rx_queues ? pc.rx_queues : workers;
  nrx = std::min<uint16_t>(nrx, info.max_rx_queues);
  uint16_t ntx = std::min<uint16_t>(workers, info.max_tx_queues);
  if (nrx == 0 || ntx == 0)
    return absl::InternalError(absl::StrCat("port ", p.name, ": no queues"));

  rte_eth_conf conf{};
  const uint64_t want_rss = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV4;
  p.rss = nrx > 1 && (info.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP) != 0;
  if (p.rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = const_cast<uint8_t*>(RssKey());
    conf.rx_adv_conf.rss_conf.rss_key_len = 40;
    conf.rx_adv_conf.rss_conf.rss_hf = want_rss & info.flow_type_rss_offloads;
  }
  if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    p.rx_ip_cksum = true;
  }
  if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) {
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    p.rx_l4_cksum = true;
  }
  // The TCP stack sends mbuf chains (headers + payload segments).
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  }
  if (int rc = rte_eth_dev_configure(p.port_id, nrx, ntx, &conf); rc != 0) {
    return EthError(p, "configure", rc);
  }
  uint16_t nb_rxd = kRxDesc, nb_txd = kTxDesc;
  rte_eth_dev_adjust_nb_rx_tx_desc(p.port_id, &nb_rxd, &nb_txd);
  int socket = rte_eth_dev_socket_id(p.port_id);
  if (socket < 0) socket = net->socket;
  for (uint16_t q = 0; q < nrx; ++q) {
    rte_eth_rxconf rxc = info.default_rxconf;
    rxc.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(p.port_id, q, nb_rxd, socket, &rxc, net->pool); rc != 0) {
      return EthError(p, "rx queue", rc);
    }
  }
  for (uint16_t q = 0; q < ntx; ++q) {
    rte_eth_txconf txc = info.default_txconf;
    txc.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(p.port_id, q, nb_txd, socket, &txc); rc != 0) {
      return EthError(p, "tx queue", rc);
    }
  }
  p.n_rxq = nrx;
  p.n_txq = ntx;
  // The MTU is also enforced in software (Ipv4Output, forwarding); a port that cannot take it is
  // not fatal (af_packet changes the kernel interface's MTU, net_ring has none).
  if (int rc = rte_eth_dev_set_mtu(p.port_id, p.mtu); rc != 0 && net->cfg.verbose) {
    fprintf(stderr, "sstp-dataplane: port %s: set MTU %u: %s (continuing)\n", p.name.c_str(), p.mtu,
            rte_strerror(-rc));
  }
  if (int rc = rte_eth_dev_start(p.port_id); rc != 0) return EthError(p, "start", rc);
  if (p.rss) {
    // RETA entry i -> queue (i & 127) % n: the same mapping as TupleOwner (lcore.cc).
    rte_eth_dev_info_get(p.port_id, &info);
    uint16_t size = info.reta_size;
    if (size > 0 && size <= RTE_ETH_RSS_RETA_SIZE_512 && nrx == workers) {
      rte_eth_rss_reta_entry64 reta[RTE_ETH_RSS_RETA_SIZE_512 / RTE_ETH_RETA_GROUP_SIZE] = {};
      for (uint16_t i = 0; i < size; ++i) {
        reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
        reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = (i & 127) % nrx;
      }
      rte_eth_dev_rss_reta_update(p.port_id, reta, size);  // best effort: hand-off covers misses
    }
  }
  if (int rc = rte_eth_macaddr_get(p.port_id, &p.mac); rc != 0) return EthError(p, "mac", rc);
  if (ntx < workers) {
    std::string rname = absl::StrCat("dp_tx", index);
    p.tx_ring = rte_ring_create(rname.c_str(), 4096, net->socket, RING_F_SC_DEQ);
    if (p.tx_ring == nullptr) return absl::ResourceExhaustedError("port TX ring: out of memory");
  }
  return absl::OkStatus();
}

void PortStop(Net* net, uint16_t index) {
  Port& p = net->ports[index];
  rte_eth_dev_stop(p.port_id);
  if (p.tx_ring != nullptr) {
    void* m;
    while (rte_ring_dequeue(p.tx_ring, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    rte_ring_free(p.tx_ring);
    p.tx_ring = nullptr;
  }
}

}  // namespace dp
