// The network layer over net_ring ports in one process: the test plays the peers on two links,
// writes frames into each port's RX ring, runs the worker loop and reads what it transmitted.
#include "dataplane/net.h"

#include <gtest/gtest.h>
#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_udp.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dataplane/dataplane.h"
#include "dataplane/fault.h"
#include "dataplane/services.h"

namespace dp {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint32_t kOurs0 = 0xC6120001;  // 198.18.0.1/24 on port 0
constexpr uint32_t kPeer0 = 0xC6120002;  // 198.18.0.2, a host on port 0's link
constexpr uint32_t kOurs1 = 0xC6120201;  // 198.18.2.1/24 on port 1 (MTU 1400)
constexpr uint32_t kPeer1 = 0xC6120205;  // 198.18.2.5 on port 1's link
const rte_ether_addr kPeerMac0 = {{0x02, 0, 0, 0, 0, 0x02}};
const rte_ether_addr kPeerMac1 = {{0x02, 0, 0, 0, 1, 0x05}};
const rte_ether_addr kBcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

struct RingPort {
  rte_ring* rx;  // the test enqueues, the port receives
  rte_ring* tx;  // the port transmits, the test dequeues
  uint16_t port_id;
};
RingPort g_ports[2];

class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string prefix = absl::StrCat("--file-prefix=dptest-", getpid());
    std::vector<std::string> args = {
        "dataplane_test",     "--no-huge", "--no-pci", prefix, "-m", "256", "-l", "0",
        "--log-level=warning"};
    std::vector<char*> argv;
    for (std::string& s : args) argv.push_back(s.data());
    ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0);
    for (int i = 0; i < 2; ++i) {
      std::string rn = absl::StrCat("t_rx", i), tn = absl::StrCat("t_tx", i);
      g_ports[i].rx = rte_ring_create(rn.c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
      g_ports[i].tx = rte_ring_create(tn.c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
      std::string pn = absl::StrCat("net_ring_t", i);
      int id = rte_eth_from_rings(pn.c_str(), &g_ports[i].rx, 1, &g_ports[i].tx, 1, 0);
      ASSERT_GE(id, 0);
      g_ports[i].port_id = static_cast<uint16_t>(id);
    }
  }
  void TearDown() override { rte_eal_cleanup(); }
};
[[maybe_unused]] ::testing::Environment* const g_env =
    ::testing::AddGlobalTestEnvironment(new EalEnvironment);

// --- frame builders (network byte order on the wire) ---

void Put16(Bytes& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}
void Put32(Bytes& b, uint32_t v) {
  Put16(b, v >> 16);
  Put16(b, v & 0xffff);
}
void PutMac(Bytes& b, const rte_ether_addr& m) {
  b.insert(b.end(), m.addr_bytes, m.addr_bytes + 6);
}

uint16_t Checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += p[i] << 8 | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

Bytes Ether(const rte_ether_addr& dst, const rte_ether_addr& src, uint16_t type,
            uint16_t vlan = 0) {
  Bytes b;
  PutMac(b, dst);
  PutMac(b, src);
  if (vlan != 0) {
    Put16(b, RTE_ETHER_TYPE_VLAN);
    Put16(b, vlan);
  }
  Put16(b, type);
  return b;
}

Bytes Arp(uint16_t op, const rte_ether_addr& sha, uint32_t sip, const rte_ether_addr& tha,
          uint32_t tip) {
  Bytes b;
  Put16(b, 1);
  Put16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  Put16(b, op);
  PutMac(b, sha);
  Put32(b, sip);
  PutMac(b, tha);
  Put32(b, tip);
  return b;
}

Bytes Ipv4(uint32_t src, uint32_t dst, uint8_t proto, const Bytes& payload, uint8_t ttl = 64,
           bool df = false) {
  Bytes b;
  b.push_back(0x45);
  b.push_back(0);
  Put16(b, static_cast<uint16_t>(20 + payload.size()));
  Put16(b, 0x1234);
  Put16(b, df ? 0x4000 : 0);
  b.push_back(ttl);
  b.push_back(proto);
  Put16(b, 0);
  Put32(b, src);
  Put32(b, dst);
  uint16_t ck = Checksum(b.data(), 20);
  b[10] = ck >> 8;
  b[11] = ck & 0xff;
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes IcmpEcho(uint16_t id, uint16_t seq, size_t data_len) {
  Bytes b = {8, 0, 0, 0};
  Put16(b, id);
  Put16(b, seq);
  for (size_t i = 0; i < data_len; ++i) b.push_back(static_cast<uint8_t>(i * 7));
  uint16_t ck = Checksum(b.data(), b.size());
  b[2] = ck >> 8;
  b[3] = ck & 0xff;
  return b;
}

Bytes Cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

uint16_t Get16(const Bytes& b, size_t off) {
  return static_cast<uint16_t>(b[off] << 8 | b[off + 1]);
}
uint32_t Get32(const Bytes& b, size_t off) {
  return static_cast<uint32_t>(Get16(b, off)) << 16 | Get16(b, off + 2);
}

class NetTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(ArpMode::kEnabled, 0); }
  void TearDown() override { Teardown(); }

  std::vector<StaticArp> static0_;  // static neighbours for port 0 in the next Build()

  void Build(ArpMode arp0, uint16_t vlan0) {
    Teardown();
    for (RingPort& p : g_ports) {  // leftovers of the previous test
      void* m;
      while (rte_ring_dequeue(p.rx, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      while (rte_ring_dequeue(p.tx, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    }
    Config cfg;
    PortConfig p0;
    p0.port_id = g_ports[0].port_id;
    p0.addresses.push_back({kOurs0, 24});
    p0.arp = arp0;
    p0.vlan = vlan0;
    p0.static_arp = static0_;
    PortConfig p1;
    p1.port_id = g_ports[1].port_id;
    p1.addresses.push_back({kOurs1, 24});
    p1.mtu = 1400;
    cfg.ports = {p0, p1};
    RouteConfig r;  // 198.19.5.0/24 via the peer on port 1
    r.prefix = {0xC6130500, 24};
    r.gateway = kPeer1;
    cfg.routes.push_back(r);
    cfg.mbufs = 4096;
    const unsigned lcore = rte_lcore_id();
    absl::StatusOr<std::unique_ptr<Net>> net = CreateNet(cfg, {&lcore, 1});
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(*net);
    w_ = net_->workers[0];
    rte_eth_macaddr_get(g_ports[0].port_id, &mac0_);
    rte_eth_macaddr_get(g_ports[1].port_id, &mac1_);
    WorkerInit(w_);
  }

  void Teardown() {
    if (net_ == nullptr) return;
    WorkerFinish(w_);
    DestroyNet(std::move(net_));
    net_ = nullptr;
  }

  void Inject(int port, const Bytes& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(net_->pool);
    ASSERT_NE(m, nullptr);
    memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
    ASSERT_EQ(rte_ring_enqueue(g_ports[port].rx, m), 0);
  }

  void Poll(int iterations = 3) {
    for (int i = 0; i < iterations; ++i) WorkerRunOnce(w_);
    WorkerFlushTx(w_);
  }

  void Advance(uint64_t ms) {
    w_->clock_offset_ns += ms * 1000000;
    Poll();
  }

  std::vector<Bytes> Sent(int port) {
    std::vector<Bytes> out;
    void* p;
    while (rte_ring_dequeue(g_ports[port].tx, &p) == 0) {
      auto* m = static_cast<rte_mbuf*>(p);
      Bytes b(rte_pktmbuf_pkt_len(m));
      const void* d = rte_pktmbuf_read(m, 0, b.size(), b.data());
      if (d != b.data()) memcpy(b.data(), d, b.size());
      out.push_back(std::move(b));
      rte_pktmbuf_free(m);
    }
    return out;
  }

  // The peer on port 0 announces itself by asking for our address.
  void LearnPeer0() {
    Inject(0, Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP),
                  Arp(1, kPeerMac0, kPeer0, {}, kOurs0)));
    Poll();
    Sent(0);
  }
  void LearnPeer1() {
    Inject(1, Cat(Ether(kBcast, kPeerMac1, RTE_ETHER_TYPE_ARP),
                  Arp(1, kPeerMac1, kPeer1, {}, kOurs1)));
    Poll();
    Sent(1);
  }

  Counters Total() { return TotalCounters(*net_); }

  std::unique_ptr<Net> net_;
  Worker* w_ = nullptr;
  rte_ether_addr mac0_{}, mac1_{};
};

TEST_F(NetTest, GratuitousArpOnStart) {
  Poll();
  std::vector<Bytes> s = Sent(0);
  ASSERT_EQ(s.size(), 1u);
  const Bytes& f = s[0];
  ASSERT_EQ(f.size(), 14u + 28u);
  EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, kBcast.addr_bytes));
  EXPECT_TRUE(std::equal(f.begin() + 6, f.begin() + 12, mac0_.addr_bytes));
  EXPECT_EQ(Get16(f, 12), RTE_ETHER_TYPE_ARP);
  EXPECT_EQ(Get16(f, 14 + 6), 1);        // request (RFC 5227 announcement)
  EXPECT_EQ(Get32(f, 14 + 14), kOurs0);  // sender IP
  EXPECT_EQ(Get32(f, 14 + 24), kOurs0);  // target IP == sender IP
  EXPECT_EQ(Sent(1).size(), 1u);
  EXPECT_EQ(Total().arp_gratuitous_out, 2u);
}

TEST_F(NetTest, ArpReplyForOurAddress) {
  Poll();
  Sent(0);
  Inject(0,
         Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP), Arp(1, kPeerMac0, kPeer0, {}, kOurs0)));
  Poll();
  std::vector<Bytes> s = Sent(0);
  ASSERT_EQ(s.size(), 1u);
  const Bytes& f = s[0];
  EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, kPeerMac0.addr_bytes));
  EXPECT_EQ(Get16(f, 14 + 6), 2);  // reply
  EXPECT_TRUE(std::equal(f.begin() + 14 + 8, f.begin() + 14 + 14, mac0_.addr_bytes));
  EXPECT_EQ(Get32(f, 14 + 14), kOurs0);
  EXPECT_TRUE(std::equal(f.begin() + 14 + 18, f.begin() + 14 + 24, kPeerMac0.addr_bytes));
  EXPECT_EQ(Get32(f, 14 + 24), kPeer0);
  EXPECT_EQ(Total().arp_reply_out, 1u);
  EXPECT_EQ(Total().arp_learned, 1u);
}

TEST_F(NetTest, NoArpReplyForOtherAddressesOrOtherPorts) {
  Poll();
  Sent(0);
  // Not ours; and port 1's address asked on port 0 (strong ARP: answer per port).
  Inject(0, Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP),
                Arp(1, kPeerMac0, kPeer0, {}, 0xC6120077)));
  Inject(0,
         Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP), Arp(1, kPeerMac0, kPeer0, {}, kOurs1)));
  Poll();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Total().arp_request_in, 2u);
  EXPECT_EQ(Total().arp_learned, 0u);  // RFC 826: unknown senders are added only when asking us
}

TEST_F(NetTest, ProxyArpAnswersForAddressesRoutedElsewhere) {
  Build(ArpMode::kProxyArp, 0);
  Poll();
  Sent(0);
  // 198.18.2.5 is on port 1: answered on port 0 with port 0's MAC.
  Inject(0,
         Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP), Arp(1, kPeerMac0, kPeer0, {}, kPeer1)));
  Poll();
  std::vector<Bytes> s = Sent(0);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(Get16(s[0], 14 + 6), 2);
  EXPECT_TRUE(std::equal(s[0].begin() + 14 + 8, s[0].begin() + 14 + 14, mac0_.addr_bytes));
  EXPECT_EQ(Get32(s[0], 14 + 14), kPeer1);
  // An address on port 0's own link is left to its owner; so is an unrouted one.
  Inject(0, Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP),
                Arp(1, kPeerMac0, kPeer0, {}, 0xC6120009)));
  Inject(0, Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP),
                Arp(1, kPeerMac0, kPeer0, {}, 0xC6139901)));
  Poll();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Total().arp_proxy_reply_out, 1u);
}

TEST_F(NetTest, IcmpEchoReply) {
  Poll();
  Sent(0);
  LearnPeer0();
  Bytes echo = IcmpEcho(0x77, 5, 56);
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), Ipv4(kPeer0, kOurs0, 1, echo)));
  Poll();
  std::vector<Bytes> s = Sent(0);
  ASSERT_EQ(s.size(), 1u);
  const Bytes& f = s[0];
  ASSERT_EQ(f.size(), 14u + 20 + 64);
  EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, kPeerMac0.addr_bytes));
  EXPECT_EQ(Get16(f, 12), RTE_ETHER_TYPE_IPV4);
  EXPECT_EQ(Checksum(f.data() + 14, 20), 0);
  EXPECT_EQ(Get32(f, 14 + 12), kOurs0);
  EXPECT_EQ(Get32(f, 14 + 16), kPeer0);
  EXPECT_EQ(f[14 + 20], 0);  // echo reply
  EXPECT_EQ(Checksum(f.data() + 34, 64), 0);
  EXPECT_TRUE(std::equal(f.begin() + 34 + 4, f.end(), echo.begin() + 4));  // id, seq, data
}

TEST_F(NetTest, EchoReplyWaitsForArpResolution) {
  Poll();
  Sent(0);
  // Nothing known about 198.18.0.2: the reply is queued and an ARP request goes out.
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4),
                Ipv4(kPeer0, kOurs0, 1, IcmpEcho(1, 1, 8))));
  Poll();
  std::vector<Bytes> s = Sent(0);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(Get16(s[0], 12), RTE_ETHER_TYPE_ARP);
  EXPECT_EQ(Get16(s[0], 14 + 6), 1);
  EXPECT_EQ(Get32(s[0], 14 + 24), kPeer0);
  EXPECT_EQ(Total().arp_queued, 1u);
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_ARP),
                Arp(2, kPeerMac0, kPeer0, mac0_, kOurs0)));
  Poll();
  s = Sent(0);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(Get16(s[0], 12), RTE_ETHER_TYPE_IPV4);
  EXPECT_EQ(s[0][34], 0);
  EXPECT_TRUE(std::equal(s[0].begin(), s[0].begin() + 6, kPeerMac0.addr_bytes));
}

TEST_F(NetTest, ArpResolutionGivesUpAfterThreeRequests) {
  Poll();
  Sent(0);
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4),
                Ipv4(kPeer0, kOurs0, 1, IcmpEcho(1, 1, 8))));
  Poll();
  EXPECT_EQ(Sent(0).size(), 1u);
  Advance(1100);
  EXPECT_EQ(Sent(0).size(), 1u);  // retransmitted after a second (RFC 1122 2.3.2.1)
  Advance(1100);
  EXPECT_EQ(Sent(0).size(), 1u);
  Advance(1100);
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Total().arp_request_out, 3u);
  EXPECT_EQ(Total().arp_resolve_failed, 1u);
  EXPECT_EQ(w_->arp.size(), 0u);
  EXPECT_EQ(w_->arp.pending_total, 0u);
}

TEST_F(NetTest, ArpEntriesAgeOut) {
  Poll();
  Sent(0);
  LearnPeer0();
  EXPECT_EQ(w_->arp.size(), 1u);
  Advance(29000);
  EXPECT_EQ(w_->arp.size(), 1u);
  // In use past arp-timeout: refreshed with a unicast request, still used meanwhile.
  Advance(1500);
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4),
                Ipv4(kPeer0, kOurs0, 1, IcmpEcho(1, 1, 8))));
  Poll();
  std::vector<Bytes> s = Sent(0);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(Get16(s[0], 12), RTE_ETHER_TYPE_ARP);
  EXPECT_TRUE(std::equal(s[0].begin(), s[0].begin() + 6, kPeerMac0.addr_bytes));  // unicast
  EXPECT_EQ(Get16(s[1], 12), RTE_ETHER_TYPE_IPV4);
  // No answer to the probes: removed.
  for (int i = 0; i < 5; ++i) {
    Advance(1100);
    Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4),
                  Ipv4(kPeer0, kOurs0, 1, IcmpEcho(1, 2, 8))));
    Poll();
  }
  EXPECT_GE(Total().arp_aged, 1u);
}

TEST_F(NetTest, StaticNeighboursOnAReplyOnlyPort) {
  StaticArp e;
  e.ip = kPeer0;
  memcpy(e.mac, kPeerMac0.addr_bytes, 6);
  static0_ = {e};
  Build(ArpMode::kReplyOnly, 0);
  Poll();
  Sent(0);
  // Used without any ARP exchange, kept past arp-timeout, not overwritten by an ARP claiming
  // another MAC; the port still answers requests for its own address.
  Advance(120000);
  const rte_ether_addr other = {{0x02, 9, 9, 9, 9, 9}};
  Inject(0, Cat(Ether(kBcast, other, RTE_ETHER_TYPE_ARP), Arp(1, other, kPeer0, {}, kOurs0)));
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4),
                Ipv4(kPeer0, kOurs0, 1, IcmpEcho(1, 1, 8))));
  Poll();
  std::vector<Bytes> s = Sent(0);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(Get16(s[0], 12), RTE_ETHER_TYPE_ARP);  // our reply to the request
  EXPECT_EQ(Get16(s[1], 12), RTE_ETHER_TYPE_IPV4);
  EXPECT_TRUE(std::equal(s[1].begin(), s[1].begin() + 6, kPeerMac0.addr_bytes));
  EXPECT_EQ(Total().arp_request_out, 0u);
  EXPECT_EQ(Total().arp_aged, 0u);
  // A neighbour without a static entry cannot be resolved on a reply-only port.
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4),
                Ipv4(0xC6120003, kOurs0, 1, IcmpEcho(1, 1, 8))));
  Poll();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Total().arp_resolve_failed, 1u);
  static0_.clear();
}

TEST_F(NetTest, BadIpv4Dropped) {
  Poll();
  Sent(0);
  LearnPeer0();
  Bytes good = Ipv4(kPeer0, kOurs0, 1, IcmpEcho(1, 1, 8));
  Bytes bad_ck = good;
  bad_ck[10] ^= 1;
  Bytes bad_version = good;
  bad_version[0] = 0x65;
  Bytes bad_len = good;
  bad_len[3] += 10;  // total length beyond the frame
  Bytes short_hdr(good.begin(), good.begin() + 12);
  Bytes bad_icmp = good;
  bad_icmp[30] ^= 0xff;
  Bytes martian = Ipv4(0x7f000001, kOurs0, 1, IcmpEcho(1, 1, 8));
  Bytes fragment = good;
  fragment[6] = 0x20;  // MF
  fragment[10] = fragment[11] = 0;
  uint16_t ck = Checksum(fragment.data(), 20);
  fragment[10] = ck >> 8;
  fragment[11] = ck & 0xff;
  for (const Bytes* p :
       {&bad_ck, &bad_version, &bad_len, &short_hdr, &bad_icmp, &martian, &fragment}) {
    Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), *p));
  }
  Poll();
  EXPECT_TRUE(Sent(0).empty());
  Counters c = Total();
  EXPECT_EQ(c.ip_bad_checksum, 1u);
  EXPECT_EQ(c.ip_bad_header, 3u);
  EXPECT_EQ(c.icmp_bad, 1u);
  EXPECT_EQ(c.ip_bad_source, 1u);
  EXPECT_EQ(c.ip_fragment, 1u);
  // Not for our MAC, or too short for Ethernet.
  Inject(0, Cat(Ether(kPeerMac1, kPeerMac0, RTE_ETHER_TYPE_IPV4), good));
  Inject(0, Bytes(10, 0));
  Poll();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Total().eth_not_for_us, 1u);
  EXPECT_EQ(Total().eth_short, 1u);
}

TEST_F(NetTest, ForwardsWithTtlDecrement) {
  Poll();
  Sent(0);
  Sent(1);
  LearnPeer1();
  Bytes pkt = Ipv4(kPeer0, kPeer1, 17, Bytes(100, 0xab), 9);
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), pkt));
  Poll();
  std::vector<Bytes> s = Sent(1);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(std::equal(s[0].begin(), s[0].begin() + 6, kPeerMac1.addr_bytes));
  EXPECT_TRUE(std::equal(s[0].begin() + 6, s[0].begin() + 12, mac1_.addr_bytes));
  EXPECT_EQ(s[0][14 + 8], 8);  // TTL
  EXPECT_EQ(Checksum(s[0].data() + 14, 20), 0);
  EXPECT_TRUE(std::equal(s[0].begin() + 34, s[0].end(), pkt.begin() + 20));
  // Through the static route 198.19.5.0/24 via 198.18.2.5.
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4),
                Ipv4(kPeer0, 0xC6130507, 17, Bytes(8, 1))));
  Poll();
  s = Sent(1);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(std::equal(s[0].begin(), s[0].begin() + 6, kPeerMac1.addr_bytes));
  EXPECT_EQ(Get32(s[0], 14 + 16), 0xC6130507u);
  EXPECT_EQ(Total().ip_forwarded, 2u);
}

// Reads the ICMP error sent back on port 0 and checks type/code and the quoted header.
void ExpectIcmpError(const std::vector<Bytes>& s, uint8_t type, uint8_t code, const Bytes& orig,
                     uint16_t mtu = 0) {
  ASSERT_EQ(s.size(), 1u);
  const Bytes& f = s[0];
  ASSERT_GE(f.size(), 14u + 20 + 8 + 28);
  EXPECT_EQ(f[14 + 9], 1);
  EXPECT_EQ(Get32(f, 14 + 12), kOurs0);  // from the address of the port it came in on
  EXPECT_EQ(Get32(f, 14 + 16), kPeer0);
  EXPECT_EQ(Checksum(f.data() + 14, 20), 0);
  EXPECT_EQ(f[34], type);
  EXPECT_EQ(f[35], code);
  EXPECT_EQ(Checksum(f.data() + 34, f.size() - 34), 0);
  EXPECT_EQ(Get16(f, 34 + 6), mtu);
  EXPECT_TRUE(std::equal(f.begin() + 42, f.begin() + 42 + 28, orig.begin()));
}

TEST_F(NetTest, FragmentationNeededCarriesNextHopMtu) {
  Poll();
  Sent(0);
  Sent(1);
  LearnPeer0();
  LearnPeer1();
  Bytes big = Ipv4(kPeer0, kPeer1, 17, Bytes(1450, 1), 64, /*df=*/true);
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), big));
  Poll();
  EXPECT_TRUE(Sent(1).empty());
  ExpectIcmpError(Sent(0), 3, 4, big, 1400);  // RFC 1191: port 1's MTU
  // Without DF it is dropped (no fragmentation) and counted.
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4),
                Ipv4(kPeer0, kPeer1, 17, Bytes(1450, 1))));
  Poll();
  EXPECT_TRUE(Sent(1).empty());
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Total().ip_frag_needed, 2u);
  // 1400 bytes fit.
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4),
                Ipv4(kPeer0, kPeer1, 17, Bytes(1380, 1), 64, true)));
  Poll();
  EXPECT_EQ(Sent(1).size(), 1u);
}

TEST_F(NetTest, TimeExceededAndUnreachable) {
  Poll();
  Sent(0);
  LearnPeer0();
  Bytes ttl1 = Ipv4(kPeer0, kPeer1, 17, Bytes(8, 2), 1);
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), ttl1));
  Poll();
  ExpectIcmpError(Sent(0), 11, 0, ttl1);
  Bytes unrouted = Ipv4(kPeer0, 0xC6139901, 17, Bytes(8, 2));
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), unrouted));
  Poll();
  ExpectIcmpError(Sent(0), 3, 0, unrouted);
  Bytes udp = Ipv4(kPeer0, kOurs0, 17, Bytes(8, 2));
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), udp));
  Poll();
  ExpectIcmpError(Sent(0), 3, 3, udp);
  // Never an error about an ICMP error (RFC 1122 3.2.2).
  Bytes err = {3, 1, 0, 0, 0, 0, 0, 0};
  uint16_t ck = Checksum(err.data(), err.size());
  err[2] = ck >> 8;
  err[3] = ck & 0xff;
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), Ipv4(kPeer0, kPeer1, 1, err, 1)));
  Poll();
  EXPECT_TRUE(Sent(0).empty());
}

TEST_F(NetTest, Vlan) {
  Build(ArpMode::kEnabled, 100);
  Poll();
  std::vector<Bytes> s = Sent(0);
  ASSERT_EQ(s.size(), 1u);  // the announcement is tagged
  EXPECT_EQ(Get16(s[0], 12), RTE_ETHER_TYPE_VLAN);
  EXPECT_EQ(Get16(s[0], 14) & 0xfff, 100);
  EXPECT_EQ(Get16(s[0], 16), RTE_ETHER_TYPE_ARP);
  // Untagged and wrongly tagged frames are not for this interface.
  Inject(0,
         Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP), Arp(1, kPeerMac0, kPeer0, {}, kOurs0)));
  Inject(0, Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP, 101),
                Arp(1, kPeerMac0, kPeer0, {}, kOurs0)));
  Poll();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Total().eth_vlan_mismatch, 2u);
  Inject(0, Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP, 100),
                Arp(1, kPeerMac0, kPeer0, {}, kOurs0)));
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4, 100),
                Ipv4(kPeer0, kOurs0, 1, IcmpEcho(3, 3, 20))));
  Poll();
  s = Sent(0);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(Get16(s[0], 16), RTE_ETHER_TYPE_ARP);
  EXPECT_EQ(Get16(s[1], 12), RTE_ETHER_TYPE_VLAN);
  EXPECT_EQ(Get16(s[1], 14) & 0xfff, 100);
  EXPECT_EQ(Get16(s[1], 16), RTE_ETHER_TYPE_IPV4);
  EXPECT_EQ(s[1][18 + 20], 0);  // echo reply
}

TEST_F(NetTest, RoutesChangeAtRunTime) {
  Poll();
  Sent(0);
  Sent(1);
  LearnPeer1();
  Ipv4Prefix p{0xC6130600, 24};
  ASSERT_TRUE(AddRoute(net_.get(), p, kPeer1, 1, 0).ok());
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4),
                Ipv4(kPeer0, 0xC6130601, 17, Bytes(8, 1))));
  Poll();
  EXPECT_EQ(Sent(1).size(), 1u);
  ASSERT_TRUE(DeleteRoute(net_.get(), p).ok());
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4),
                Ipv4(kPeer0, 0xC6130601, 17, Bytes(8, 1))));
  Poll();
  EXPECT_TRUE(Sent(1).empty());
  EXPECT_EQ(Total().ip_no_route, 1u);
}

struct SessionSink {
  std::vector<std::pair<uint32_t, Bytes>> got;
};
void CaptureSession(Worker* w, rte_mbuf* m, uint32_t session, void* ctx) {
  Bytes b(rte_pktmbuf_pkt_len(m));
  const void* d = rte_pktmbuf_read(m, 0, b.size(), b.data());
  if (d != b.data()) memcpy(b.data(), d, b.size());
  static_cast<SessionSink*>(ctx)->got.emplace_back(session, std::move(b));
  rte_pktmbuf_free(m);
}

// The hooks issue 6 plugs into: a session's address routed to its owning worker, proxy-ARP for it,
// the tunnel MTU enforced with fragmentation-needed.
TEST_F(NetTest, SessionRoutesReachTheUpperLayer) {
  Build(ArpMode::kProxyArp, 0);
  SessionSink sink;
  net_->hooks.session_output = CaptureSession;
  net_->hooks.ctx = &sink;
  Poll();
  Sent(0);
  LearnPeer0();
  const uint32_t client = 0xC6136564;  // 198.19.101.100, a remote-access client
  ASSERT_TRUE(AddSessionRoute(net_.get(), {client, 32}, 77, 0, 1300).ok());
  Inject(0,
         Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP), Arp(1, kPeerMac0, kPeer0, {}, client)));
  Bytes pkt = Ipv4(kPeer0, client, 17, Bytes(200, 3), 64, true);
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), pkt));
  Bytes big = Ipv4(kPeer0, client, 17, Bytes(1300, 3), 64, true);
  Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), big));
  Poll();
  std::vector<Bytes> s = Sent(0);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(Get16(s[0], 14 + 6), 2);  // proxy-ARP reply for the client's address
  EXPECT_EQ(Get32(s[0], 14 + 14), client);
  ExpectIcmpError({s[1]}, 3, 4, big, 1300);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].first, 77u);
  EXPECT_EQ(sink.got[0].second.size(), pkt.size());
  EXPECT_EQ(sink.got[0].second[8], 63);  // TTL decremented
  net_->hooks = Hooks{};
}

// Two workers on one thread: port queues go to worker 0, worker 1 has no RX queue and no TX queue
// of its own (net_ring has one of each), so it sends through the port's shared TX ring.
class TwoWorkerTest : public NetTest {
 protected:
  void SetUp() override {
    Config cfg;
    PortConfig p0;
    p0.port_id = g_ports[0].port_id;
    p0.addresses.push_back({kOurs0, 24});
    p0.arp = ArpMode::kProxyArp;
    cfg.ports = {p0};
    cfg.mbufs = 4096;
    const unsigned lcores[2] = {rte_lcore_id(), rte_lcore_id()};
    absl::StatusOr<std::unique_ptr<Net>> net = CreateNet(cfg, lcores);
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(*net);
    w_ = net_->workers[0];
    w1_ = net_->workers[1];
    rte_eth_macaddr_get(g_ports[0].port_id, &mac0_);
    WorkerInit(w_);
    WorkerInit(w1_);
  }
  void TearDown() override {
    if (net_ == nullptr) return;
    WorkerFinish(w1_);
    WorkerFinish(w_);
    DestroyNet(std::move(net_));
    net_ = nullptr;
  }
  void PollBoth() {
    for (int i = 0; i < 3; ++i) {
      WorkerRunOnce(w_);
      WorkerRunOnce(w1_);
    }
    WorkerFlushTx(w1_);
    WorkerFlushTx(w_);
  }
  Worker* w1_ = nullptr;
};

TEST_F(TwoWorkerTest, NeighboursSessionsAndTcpReachTheirOwner) {
  EXPECT_EQ(w_->n_rx, 1);
  EXPECT_EQ(w1_->n_rx, 0);
  EXPECT_EQ(w1_->tx[0].queue, -1);
  PollBoth();
  Sent(0);
  // ARP learned by worker 0 reaches worker 1's table over its neighbour ring.
  Inject(0,
         Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP), Arp(1, kPeerMac0, kPeer0, {}, kOurs0)));
  PollBoth();
  Sent(0);
  ASSERT_NE(w1_->arp.Find(0, kPeer0), nullptr);
  EXPECT_TRUE(w1_->arp.Find(0, kPeer0)->resolved);
  EXPECT_EQ(w1_->c.arp_update_in, 1u);

  // A session owned by worker 1: the packet worker 0 received is handed over.
  SessionSink sink;
  net_->hooks.session_output = CaptureSession;
  net_->hooks.ctx = &sink;
  const uint32_t client = 0xC6136564;
  ASSERT_TRUE(AddSessionRoute(net_.get(), {client, 32}, 5, 1, 1400).ok());
  Inject(0,
         Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), Ipv4(kPeer0, client, 17, Bytes(64, 9))));
  PollBoth();
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].first, 5u);
  EXPECT_EQ(w_->c.handoff_out, 1u);
  EXPECT_EQ(w1_->c.handoff_in, 1u);

  // TCP segments go to the worker the 4-tuple hashes to.
  int to_w1 = 0;
  for (uint16_t sport = 1000; sport < 1064; ++sport) {
    Bytes syn = {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport), 0, 7};
    syn.resize(20, 0);
    syn[12] = 5 << 4;
    syn[13] = 0x02;
    Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), Ipv4(kPeer0, kOurs0, 6, syn)));
    to_w1 += TupleOwner(*net_, kPeer0, kOurs0, sport, 7) == 1;
  }
  PollBoth();
  EXPECT_GT(to_w1, 0);
  EXPECT_EQ(w_->c.handoff_out, 1u + to_w1);
  EXPECT_EQ(w1_->c.handoff_in, 1u + to_w1);
  EXPECT_EQ(w1_->c.tcp_in + w1_->c.ip_unknown_protocol, static_cast<uint64_t>(to_w1));

  // Worker 1 transmits through the port's shared ring, drained by the worker with queue 0.
  rte_mbuf* m = rte_pktmbuf_alloc(net_->pool);
  memcpy(rte_pktmbuf_append(m, 28), Ipv4(kOurs0, kPeer0, 17, Bytes(8, 1)).data(), 28);
  Ipv4Output(w1_, m, kPeer0);
  PollBoth();
  std::vector<Bytes> s = Sent(0);
  bool seen = false;
  for (const Bytes& f : s) seen |= f.size() == 42 && Get32(f, 14 + 16) == kPeer0 && f[14 + 9] == 17;
  EXPECT_TRUE(seen);
  net_->hooks = Hooks{};
}

// The data plane's own packets for a session address (ICMP errors about what a tunnel client
// sent) go into the tunnel on the session's owner, handed over when made elsewhere.
TEST_F(TwoWorkerTest, OwnPacketsForASessionReachItsOwner) {
  PollBoth();
  Sent(0);
  SessionSink sink;
  net_->hooks.session_output = CaptureSession;
  net_->hooks.ctx = &sink;
  const uint32_t client = 0xC6136564;
  ASSERT_TRUE(AddSessionRoute(net_.get(), {client, 32}, 5, 1, 1400).ok());
  // Time exceeded for a ttl=1 packet the client sent (decapsulated on worker 0, say).
  Bytes orig = Ipv4(client, kPeer0, 17, Bytes(32, 4), 1);
  rte_mbuf* m = rte_pktmbuf_alloc(net_->pool);
  memcpy(rte_pktmbuf_append(m, uint16_t(orig.size())), orig.data(), orig.size());
  Ipv4Forward(w_, m, -1);
  PollBoth();
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].first, 5u);
  const Bytes& e = sink.got[0].second;
  ASSERT_GE(e.size(), 28u + orig.size());
  EXPECT_EQ(e[9], 1);  // ICMP
  EXPECT_EQ(Get32(e, 16), client);
  EXPECT_EQ(e[20], 11);  // time exceeded (RFC 792)
  EXPECT_EQ(e[21], 0);
  EXPECT_EQ(Bytes(e.begin() + 28, e.begin() + 28 + 20), Bytes(orig.begin(), orig.begin() + 20));
  EXPECT_EQ(w_->c.handoff_out, 1u);
  EXPECT_EQ(w1_->c.handoff_in, 1u);
  EXPECT_EQ(Total().ip_no_route, 0u);
  // Too big for the session route's MTU: dropped and counted, not sent anywhere else.
  m = rte_pktmbuf_alloc(net_->pool);
  Bytes big = Ipv4(kOurs0, client, 17, Bytes(1400, 1));
  memcpy(rte_pktmbuf_append(m, uint16_t(big.size())), big.data(), big.size());
  Ipv4Output(w_, m, client);
  PollBoth();
  EXPECT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(Total().ip_too_big, 1u);
  EXPECT_TRUE(Sent(0).empty());
  net_->hooks = Hooks{};
}

struct BridgeSink {
  struct Got {
    uint32_t worker;
    uint16_t port;
    bool handed_off;
    Bytes frame;
  };
  std::vector<Got> got;
  std::vector<Bytes> out;  // what bridge_output saw
};
bool CaptureBridgeOut(Worker* w, rte_mbuf* m, uint16_t port, void* ctx) {
  Bytes b(rte_pktmbuf_pkt_len(m));
  const void* d = rte_pktmbuf_read(m, 0, b.size(), b.data());
  if (d != b.data()) memcpy(b.data(), d, b.size());
  static_cast<BridgeSink*>(ctx)->out.push_back(std::move(b));
  return false;  // not behind a session: to the wire as well
}
void CaptureBridge(Worker* w, rte_mbuf* m, uint16_t port, bool handed_off, void* ctx) {
  Bytes b(rte_pktmbuf_pkt_len(m));
  const void* d = rte_pktmbuf_read(m, 0, b.size(), b.data());
  if (d != b.data()) memcpy(b.data(), d, b.size());
  static_cast<BridgeSink*>(ctx)->got.push_back({w->index, port, handed_off, std::move(b)});
  rte_pktmbuf_free(m);
}

// A port with bridged (BCP) sessions: frames for other stations go to Hooks::bridge_input, a
// broadcast goes there as a copy and is still processed here; kHandoffBridge carries a frame to
// another worker. Without bridged sessions nothing changes.
TEST_F(TwoWorkerTest, BridgedPortHandsForeignFramesToTheBridge) {
  PollBoth();
  Sent(0);
  BridgeSink sink;
  net_->hooks.bridge_input = CaptureBridge;
  net_->hooks.ctx = &sink;
  const rte_ether_addr other = {{0x02, 0, 0, 0, 0, 0x77}};
  const Bytes foreign =
      Cat(Ether(other, kPeerMac0, RTE_ETHER_TYPE_IPV4), Ipv4(kPeer0, 0xC6120077, 17, Bytes(16, 2)));
  Inject(0, foreign);
  PollBoth();
  EXPECT_TRUE(sink.got.empty());  // no bridged session: not for us, dropped
  EXPECT_EQ(Total().eth_not_for_us, 1u);

  net_->hooks.bridge_output = CaptureBridgeOut;
  net_->ports[0].bridge_workers = 1u << 1;  // worker 1 has a bridged session on port 0
  Inject(0, foreign);
  const Bytes arp =
      Cat(Ether(kBcast, kPeerMac0, RTE_ETHER_TYPE_ARP), Arp(1, kPeerMac0, kPeer0, {}, kOurs0));
  Inject(0, arp);
  PollBoth();
  ASSERT_EQ(sink.got.size(), 2u);
  EXPECT_EQ(sink.got[0].worker, 0u);  // the RX worker decides (and floods to the others)
  EXPECT_FALSE(sink.got[0].handed_off);
  EXPECT_EQ(sink.got[0].frame, foreign);
  EXPECT_EQ(sink.got[1].frame, arp);
  std::vector<Bytes> s = Sent(0);
  ASSERT_EQ(s.size(), 1u);  // the broadcast ARP request was still answered here
  EXPECT_EQ(Get16(s[0], 14 + 6), 2);
  EXPECT_EQ(Total().eth_not_for_us, 1u);
  ASSERT_EQ(sink.out.size(), 1u);  // our own frame on a bridged port was offered to the bridge
  EXPECT_EQ(sink.out[0], s[0]);

  rte_mbuf* m = rte_pktmbuf_alloc(net_->pool);
  memcpy(rte_pktmbuf_append(m, uint16_t(foreign.size())), foreign.data(), foreign.size());
  m->hash.fdir.hi = 0;
  HandoffTo(w_, 1, m, kHandoffBridge);
  PollBoth();
  ASSERT_EQ(sink.got.size(), 3u);
  EXPECT_EQ(sink.got[2].worker, 1u);
  EXPECT_TRUE(sink.got[2].handed_off);
  EXPECT_EQ(sink.got[2].port, 0);
  EXPECT_EQ(sink.got[2].frame, foreign);

  // A bridged client's broadcast re-injected for local processing (kHandoffEtherInput) is
  // answered here and not offered to the bridge again.
  m = rte_pktmbuf_alloc(net_->pool);
  memcpy(rte_pktmbuf_append(m, uint16_t(arp.size())), arp.data(), arp.size());
  m->hash.fdir.hi = 0;
  HandoffTo(w_, 0, m, kHandoffEtherInput);
  PollBoth();
  EXPECT_EQ(sink.got.size(), 3u);
  ASSERT_EQ(Sent(0).size(), 1u);
  net_->ports[0].bridge_workers = 0;
  net_->hooks = Hooks{};
}

// --- TCP through the network layer to the built-in services ---

Bytes TcpSeg(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
             uint8_t flags, const Bytes& payload, bool mss = false) {
  Bytes t;
  Put16(t, sport);
  Put16(t, dport);
  Put32(t, seq);
  Put32(t, ack);
  t.push_back(static_cast<uint8_t>((mss ? 6 : 5) << 4));
  t.push_back(flags);
  Put16(t, 65535);
  Put16(t, 0);
  Put16(t, 0);
  if (mss) {
    t.push_back(2);
    t.push_back(4);
    Put16(t, 1460);
  }
  t.insert(t.end(), payload.begin(), payload.end());
  Bytes pseudo;
  Put32(pseudo, src);
  Put32(pseudo, dst);
  Put16(pseudo, 6);
  Put16(pseudo, static_cast<uint16_t>(t.size()));
  Bytes all = Cat(pseudo, t);
  uint16_t ck = Checksum(all.data(), all.size());
  t[16] = ck >> 8;
  t[17] = ck & 0xff;
  return Ipv4(src, dst, 6, t);
}

struct Seg {
  uint32_t seq, ack;
  uint8_t flags;
  Bytes payload;
};

// TCP segments among the frames, with their checksums verified.
std::vector<Seg> TcpSegs(const std::vector<Bytes>& frames) {
  std::vector<Seg> out;
  for (const Bytes& f : frames) {
    if (f.size() < 54 || Get16(f, 12) != RTE_ETHER_TYPE_IPV4 || f[14 + 9] != 6) continue;
    const size_t ihl = (f[14] & 15) * 4, l4 = 14 + ihl;
    const size_t tot = Get16(f, 16);
    Bytes pseudo;
    Put32(pseudo, Get32(f, 14 + 12));
    Put32(pseudo, Get32(f, 14 + 16));
    Put16(pseudo, 6);
    Put16(pseudo, static_cast<uint16_t>(tot - ihl));
    Bytes all = Cat(pseudo, Bytes(f.begin() + l4, f.begin() + 14 + tot));
    EXPECT_EQ(Checksum(all.data(), all.size()), 0) << "bad TCP checksum from the stack";
    const size_t doff = (f[l4 + 12] >> 4) * 4;
    out.push_back({Get32(f, l4 + 4), Get32(f, l4 + 8), f[l4 + 13],
                   Bytes(f.begin() + l4 + doff, f.begin() + 14 + tot)});
  }
  return out;
}

class ServicesTest : public NetTest {
 protected:
  void SetUp() override {
    Config cfg;
    PortConfig p0;
    p0.port_id = g_ports[0].port_id;
    p0.addresses.push_back({kOurs0, 24});
    cfg.ports = {p0};
    cfg.services = {
        {ServiceConfig::kEcho, 7}, {ServiceConfig::kDiscard, 9}, {ServiceConfig::kChargen, 19}};
    cfg.mbufs = 4096;
    cfg.tcp_max_conns = 64;
    const unsigned lcore = rte_lcore_id();
    absl::StatusOr<std::unique_ptr<Net>> net = CreateNet(cfg, {&lcore, 1});
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(*net);
    w_ = net_->workers[0];
    rte_eth_macaddr_get(g_ports[0].port_id, &mac0_);
    WorkerInit(w_);
    ASSERT_NE(w_->tcp, nullptr);
    Poll();
    Sent(0);
    LearnPeer0();
  }

  void Send(const Bytes& ip) {
    Inject(0, Cat(Ether(mac0_, kPeerMac0, RTE_ETHER_TYPE_IPV4), ip));
    Poll();
  }

  // Three-way handshake from 198.18.0.2:sport; returns our ISN + 1 (the next seq we expect).
  uint32_t Handshake(uint16_t sport, uint16_t dport, uint32_t isn) {
    Send(TcpSeg(kPeer0, kOurs0, sport, dport, isn, 0, 0x02, {}, true));
    std::vector<Seg> s = TcpSegs(Sent(0));
    EXPECT_EQ(s.size(), 1u);
    if (s.empty()) return 0;
    EXPECT_EQ(s[0].flags & 0x12, 0x12);  // SYN-ACK
    EXPECT_EQ(s[0].ack, isn + 1);
    Send(TcpSeg(kPeer0, kOurs0, sport, dport, isn + 1, s[0].seq + 1, 0x10, {}));
    return s[0].seq + 1;
  }
};

TEST_F(ServicesTest, EchoDiscardAndChargen) {
  // Echo.
  uint32_t rcv = Handshake(40000, 7, 1000);
  Bytes hello = {'h', 'e', 'l', 'l', 'o', '\n'};
  Send(TcpSeg(kPeer0, kOurs0, 40000, 7, 1001, rcv, 0x18, hello));
  Advance(50);  // past the delayed-ACK timer, in case the echo waits for it
  Bytes echoed;
  for (const Seg& sg : TcpSegs(Sent(0)))
    echoed.insert(echoed.end(), sg.payload.begin(), sg.payload.end());
  EXPECT_EQ(echoed, hello);
  EXPECT_EQ(Total().svc_echo_bytes, hello.size());

  // Discard.
  rcv = Handshake(40001, 9, 5000);
  Send(TcpSeg(kPeer0, kOurs0, 40001, 9, 5001, rcv, 0x18, Bytes(1000, 'x')));
  Advance(50);
  for (const Seg& sg : TcpSegs(Sent(0))) EXPECT_TRUE(sg.payload.empty());
  EXPECT_EQ(Total().svc_discard_bytes, 1000u);

  // Chargen: the stream starts as soon as the connection is up (RFC 864).
  rcv = Handshake(40002, 19, 9000);
  Advance(10);
  Bytes got;
  uint32_t next = rcv;
  for (const Seg& sg : TcpSegs(Sent(0))) {
    if (sg.seq != next) continue;  // only in-order bytes
    got.insert(got.end(), sg.payload.begin(), sg.payload.end());
    next += static_cast<uint32_t>(sg.payload.size());
  }
  ASSERT_GT(got.size(), 100u);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], ChargenByte(i)) << "at byte " << i;
  EXPECT_EQ(Total().svc_accepted, 3u);
  EXPECT_EQ(Total().tcp_in, 8u);  // 3 SYNs, 3 ACKs, 2 data segments handed to the stack
}

TEST(TupleOwnerTest, SymmetricAndSpread) {
  Net net;
  net.n_workers = 4;
  int hist[4] = {};
  for (uint32_t i = 0; i < 4000; ++i) {
    uint32_t a = 0xC6120000 + i, b = 0xC6120001;
    uint16_t pa = static_cast<uint16_t>(40000 + i), pb = 443;
    uint32_t o = TupleOwner(net, a, b, pa, pb);
    ASSERT_EQ(o, TupleOwner(net, b, a, pb, pa));
    ASSERT_LT(o, 4u);
    ++hist[o];
  }
  for (int h : hist) EXPECT_GT(h, 400);  // the symmetric key spreads less evenly than a random one
}

TEST(FaultInjectorTest, DeterministicBySeed) {
  rte_mempool* pool = rte_pktmbuf_pool_create("fault_pool", 2048, 0, 0, 2048, 0);
  ASSERT_NE(pool, nullptr);
  FaultConfig cfg;
  cfg.seed = 99;
  cfg.drop_ppm = 100000;
  cfg.duplicate_ppm = 50000;
  cfg.reorder_ppm = 50000;
  cfg.corrupt_ppm = 50000;
  auto run = [&](std::vector<uint32_t>* order, Counters* c) {
    FaultInjector f;
    f.Init(cfg, 3, pool);
    for (uint32_t burst = 0; burst < 50; ++burst) {
      rte_mbuf* pkts[65];
      for (uint32_t i = 0; i < 8; ++i) {
        pkts[i] = rte_pktmbuf_alloc(pool);
        auto* d = reinterpret_cast<uint32_t*>(rte_pktmbuf_append(pkts[i], 64));
        memset(d, 0, 64);
        d[15] = burst * 8 + i;  // an id (corruption may flip one of its bits too)
      }
      uint16_t n = f.Apply(0, pkts, 8, 64, c);
      for (uint16_t i = 0; i < n; ++i) {
        order->push_back(rte_pktmbuf_mtod(pkts[i], uint32_t*)[15]);
        rte_pktmbuf_free(pkts[i]);
      }
    }
    if (rte_mbuf* m = f.ReleaseHeld(0)) {
      order->push_back(rte_pktmbuf_mtod(m, uint32_t*)[15]);
      rte_pktmbuf_free(m);
    }
  };
  std::vector<uint32_t> a, b;
  Counters ca, cb;
  run(&a, &ca);
  run(&b, &cb);
  EXPECT_EQ(a, b);
  EXPECT_EQ(ca.fault_drop, cb.fault_drop);
  EXPECT_GT(ca.fault_drop, 15u);  // 10% of 400
  EXPECT_LT(ca.fault_drop, 70u);
  EXPECT_GT(ca.fault_duplicate, 5u);
  EXPECT_GT(ca.fault_reorder, 5u);
  EXPECT_GT(ca.fault_corrupt, 5u);
  // Every packet accounted for: dropped, delivered (maybe late), or delivered twice.
  EXPECT_EQ(a.size(), 400 - ca.fault_drop + ca.fault_duplicate);
  cfg.seed = 100;
  std::vector<uint32_t> c;
  Counters cc;
  run(&c, &cc);
  EXPECT_NE(a, c);
  rte_mempool_free(pool);
}

}  // namespace
}  // namespace dp
