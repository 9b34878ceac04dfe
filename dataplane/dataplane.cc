#include "dataplane/dataplane.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "absl/strings/str_cat.h"
#include "dataplane/port.h"

namespace dp {

std::vector<unsigned> AllLcores() {
  std::vector<unsigned> l;
  unsigned id;
  l.push_back(rte_get_main_lcore());
  RTE_LCORE_FOREACH_WORKER(id) { l.push_back(id); }
  return l;
}

absl::Status AddRoute(Net* net, Ipv4Prefix prefix, uint32_t gateway, uint16_t port_index,
                      uint16_t mtu) {
  if (port_index >= net->n_ports) return absl::InvalidArgumentError("route to a missing port");
  NextHop nh{};
  nh.gateway = gateway;
  nh.port = port_index;
  nh.mtu = mtu ? std::min(mtu, net->ports[port_index].mtu) : net->ports[port_index].mtu;
  nh.kind = kNextHopPort;
  return net->fib->Add(prefix, nh);
}

absl::Status DeleteRoute(Net* net, Ipv4Prefix prefix) { return net->fib->Delete(prefix); }

absl::Status AddSessionRoute(Net* net, Ipv4Prefix prefix, uint32_t session, uint32_t owner,
                             uint16_t mtu) {
  if (owner >= net->n_workers) return absl::InvalidArgumentError("no such worker");
  NextHop nh{};
  nh.gateway = session;
  nh.port = static_cast<uint16_t>(owner);
  nh.mtu = mtu;
  nh.kind = kNextHopSession;
  return net->fib->Add(prefix, nh);
}

absl::StatusOr<std::unique_ptr<Net>> CreateNet(const Config& cfg,
                                               absl::Span<const unsigned> lcores) {
  if (lcores.empty() || lcores.size() > kMaxWorkers) {
    return absl::InvalidArgumentError("need 1..64 worker lcores");
  }
  auto net = std::make_unique<Net>();
  net->cfg = cfg;
  net->socket = static_cast<int>(rte_socket_id());
  if (net->socket < 0) net->socket = 0;
  net->tsc_hz = rte_get_tsc_hz();
  net->n_workers = static_cast<uint32_t>(lcores.size());
  static int instance = 0;  // unique object names when tests create several Nets
  const std::string tag = absl::StrCat(instance++);
  std::string pool_name = absl::StrCat("dp_pool", tag);
  net->pool = rte_pktmbuf_pool_create(pool_name.c_str(), cfg.mbufs, 256, 0,
                                      RTE_MBUF_DEFAULT_BUF_SIZE, net->socket);
  if (net->pool == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "mbuf pool of ", cfg.mbufs, " buffers: out of memory (lower --mbufs or raise --memory)"));
  }
  size_t qsz = rte_rcu_qsbr_get_memsize(net->n_workers);
  net->qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc("dp_qsbr", qsz, RTE_CACHE_LINE_SIZE));
  if (net->qsbr == nullptr || rte_rcu_qsbr_init(net->qsbr, net->n_workers) != 0) {
    return absl::ResourceExhaustedError("RCU QSBR: out of memory");
  }
  std::string fib_name = absl::StrCat("dp_fib", tag);
  absl::StatusOr<Fib*> fib = Fib::Create(fib_name.c_str(), net->socket, 65536, net->qsbr);
  if (!fib.ok()) return fib.status();
  net->fib = *fib;

  // Workers first: ports size their queues by the worker count.
  for (uint32_t i = 0; i < net->n_workers; ++i) {
    Worker* w = new Worker();
    w->net = net.get();
    w->index = i;
    w->lcore_id = lcores[i];
    w->arp.Init(4096);
    w->fault_rx.Init(cfg.fault.rx ? cfg.fault : FaultConfig{}, 2 * i, net->pool);
    w->fault_tx.Init(cfg.fault.tx ? cfg.fault : FaultConfig{}, 2 * i + 1, net->pool);
    std::string hname = absl::StrCat("dp_ho", tag, "_", i);
    w->handoff = rte_ring_create(hname.c_str(), 4096, net->socket, RING_F_SC_DEQ);
    std::string nname = absl::StrCat("dp_nb", tag, "_", i);
    w->neighbors = rte_ring_create_elem(nname.c_str(), sizeof(NeighborUpdate), 1024, net->socket,
                                        RING_F_SC_DEQ);
    net->workers[i] = w;
    if (w->handoff == nullptr || w->neighbors == nullptr) {
      return absl::ResourceExhaustedError("worker rings: out of memory");
    }
  }

  net->n_ports = static_cast<uint16_t>(cfg.ports.size());
  for (uint16_t p = 0; p < net->n_ports; ++p) {
    if (absl::Status s = PortSetup(net.get(), p); !s.ok()) return s;
    const Port& port = net->ports[p];
    for (uint16_t q = 0; q < port.n_rxq; ++q) {
      Worker* w = net->workers[q % net->n_workers];
      w->rx[w->n_rx++] = {p, q};
    }
    for (uint32_t i = 0; i < net->n_workers; ++i) {
      net->workers[i]->tx[p].queue = i < port.n_txq ? static_cast<int32_t>(i) : -1;
    }
  }

  // Connected routes, then static routes.
  for (uint16_t p = 0; p < net->n_ports; ++p) {
    const Port& port = net->ports[p];
    for (uint16_t i = 0; i < port.n_addrs; ++i) {
      Ipv4Prefix pre = port.addrs[i];
      pre.addr = pre.Network();
      if (absl::Status s = AddRoute(net.get(), pre, 0, p, 0); !s.ok()) return s;
    }
  }
  for (const RouteConfig& r : cfg.routes) {
    int port = r.port;
    for (uint16_t p = 0; p < net->n_ports && port < 0; ++p) {
      for (uint16_t i = 0; i < net->ports[p].n_addrs; ++i) {
        if (net->ports[p].addrs[i].Contains(r.gateway)) port = p;
      }
    }
    if (port < 0) return absl::InvalidArgumentError("route gateway not on any port");
    if (absl::Status s =
            AddRoute(net.get(), r.prefix, r.gateway, static_cast<uint16_t>(port), r.mtu);
        !s.ok()) {
      return s;
    }
  }
  return net;
}

void RunWorkers(Net* net) {
  const unsigned main_lcore = rte_lcore_id();
  Worker* inline_worker = nullptr;
  for (uint32_t i = 0; i < net->n_workers; ++i) {
    Worker* w = net->workers[i];
    if (w->lcore_id == main_lcore) {
      inline_worker = w;
    } else {
      rte_eal_remote_launch(WorkerMain, w, w->lcore_id);
    }
  }
  if (inline_worker != nullptr) WorkerMain(inline_worker);
  for (uint32_t i = 0; i < net->n_workers; ++i) {
    if (net->workers[i]->lcore_id != main_lcore) rte_eal_wait_lcore(net->workers[i]->lcore_id);
  }
}

void DestroyNet(std::unique_ptr<Net> net) {
  if (net == nullptr) return;
  for (uint16_t p = 0; p < net->n_ports; ++p) PortStop(net.get(), p);
  for (uint32_t i = 0; i < net->n_workers; ++i) {
    Worker* w = net->workers[i];
    if (w == nullptr) continue;
    if (w->handoff != nullptr) {
      void* m;
      while (rte_ring_dequeue(w->handoff, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      rte_ring_free(w->handoff);
    }
    rte_ring_free(w->neighbors);
    for (uint16_t p = 0; p < net->n_ports; ++p) {
      for (uint16_t k = 0; k < w->tx[p].n; ++k) rte_pktmbuf_free(w->tx[p].pkts[k]);
      if (rte_mbuf* m = w->fault_rx.ReleaseHeld(p)) rte_pktmbuf_free(m);
      if (rte_mbuf* m = w->fault_tx.ReleaseHeld(p)) rte_pktmbuf_free(m);
    }
    delete w;
  }
  delete net->fib;
  rte_free(net->qsbr);
  rte_mempool_free(net->pool);
}

Counters TotalCounters(const Net& net) {
  Counters total;
  for (uint32_t i = 0; i < net.n_workers; ++i) total.AddSnapshotOf(net.workers[i]->c);
  return total;
}

namespace {

std::string TcpCountersJson(const tcp::StackCounters& c) {
  std::string out = "{";
  bool first = true;
#define TCP_COUNTER(name, desc)                                                   \
  absl::StrAppend(&out, first ? "" : ", ",                                        \
                  "\"" #name "\": ", __atomic_load_n(&c.name, __ATOMIC_RELAXED)); \
  first = false;
#include "dataplane/tcp/tcp_counters.def"
#undef TCP_COUNTER
  out += "}";
  return out;
}

}  // namespace

std::string StatsJson(const Net& net) {
  std::string out = "{\"lcores\": [";
  for (uint32_t i = 0; i < net.n_workers; ++i) {
    const Worker* w = net.workers[i];
    absl::StrAppend(&out, i ? ", " : "", "{\"worker\": ", i, ", \"lcore\": ", w->lcore_id,
                    ", \"counters\": ", CountersJson(w->c));
    // The stack's counters are plain fields updated by the worker; reading them here is a
    // monitoring snapshot (relaxed loads), never used for decisions.
    if (__atomic_load_n(&w->started, __ATOMIC_ACQUIRE) && w->tcp != nullptr) {
      absl::StrAppend(&out, ", \"tcp\": ", TcpCountersJson(w->tcp->counters()));
    }
    out += "}";
  }
  // The ports' own counters: what never reached a worker (imissed: RX ring full; rx_nombuf: mbuf
  // pool empty) shows up only here.
  absl::StrAppend(&out, "], \"ports\": [");
  for (uint16_t p = 0; p < net.n_ports; ++p) {
    rte_eth_stats st{};
    rte_eth_stats_get(net.ports[p].port_id, &st);
    absl::StrAppend(&out, p ? ", " : "", "{\"name\": \"", net.ports[p].name,
                    "\", \"ipackets\": ", st.ipackets, ", \"opackets\": ", st.opackets,
                    ", \"ibytes\": ", st.ibytes, ", \"obytes\": ", st.obytes,
                    ", \"imissed\": ", st.imissed, ", \"ierrors\": ", st.ierrors,
                    ", \"oerrors\": ", st.oerrors, ", \"rx_nombuf\": ", st.rx_nombuf, "}");
  }
  absl::StrAppend(&out, "], \"total\": ", CountersJson(TotalCounters(net)), "}\n");
  return out;
}

std::string StatsText(const Net& net) {
  std::string out;
  for (uint32_t i = 0; i < net.n_workers; ++i) {
    absl::StrAppend(&out, "-- worker ", i, " (lcore ", net.workers[i]->lcore_id, ")\n",
                    FormatCounters(net.workers[i]->c, false));
  }
  for (uint16_t p = 0; p < net.n_ports; ++p) {
    rte_eth_stats st{};
    rte_eth_stats_get(net.ports[p].port_id, &st);
    absl::StrAppend(&out, "-- port ", net.ports[p].name, ": ipackets ", st.ipackets, " opackets ",
                    st.opackets, " imissed ", st.imissed, " ierrors ", st.ierrors, " oerrors ",
                    st.oerrors, " rx_nombuf ", st.rx_nombuf, "\n");
  }
  absl::StrAppend(&out, "-- total\n", FormatCounters(TotalCounters(net), false));
  return out;
}

}  // namespace dp
