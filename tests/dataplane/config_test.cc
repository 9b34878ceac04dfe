// Configuration parsing and EAL argument building (no DPDK needed).
#include "dataplane/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/eal.h"

namespace dp {
namespace {

absl::StatusOr<Config> Parse(std::vector<std::string> args) { return ParseArgs(args); }

TEST(ConfigTest, PortOptionsApplyToTheLastPort) {
  absl::StatusOr<Config> c = Parse({"--lcores",
                                    "0-1",
                                    "--port",
                                    "net_af_packet0,iface=veth0",
                                    "--address",
                                    "198.18.0.1/24",
                                    "--mtu",
                                    "1400",
                                    "--arp",
                                    "proxy-arp",
                                    "--port",
                                    "id=3",
                                    "--address=198.19.0.1/16",
                                    "--vlan",
                                    "100",
                                    "--route",
                                    "198.19.5.0/24,via=198.18.0.2,mtu=1300",
                                    "--echo",
                                    "7",
                                    "--discard",
                                    "9",
                                    "--chargen",
                                    "19"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->lcores, "0-1");
  ASSERT_EQ(c->ports.size(), 2u);
  EXPECT_EQ(c->ports[0].devargs, "net_af_packet0,iface=veth0");
  ASSERT_EQ(c->ports[0].addresses.size(), 1u);
  EXPECT_EQ(c->ports[0].addresses[0].addr, 0xC6120001u);
  EXPECT_EQ(c->ports[0].addresses[0].len, 24);
  EXPECT_EQ(c->ports[0].mtu, 1400);
  EXPECT_EQ(c->ports[0].arp, ArpMode::kProxyArp);
  EXPECT_EQ(c->ports[1].port_id, 3);
  EXPECT_EQ(c->ports[1].vlan, 100);
  EXPECT_EQ(c->ports[1].mtu, 1500);
  absl::StatusOr<Config> st =
      Parse({"--port", "net_ring0", "--arp-static", "198.18.0.5=02:0a:00:00:00:ff"});
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_EQ(st->ports[0].static_arp.size(), 1u);
  EXPECT_EQ(st->ports[0].static_arp[0].ip, 0xC6120005u);
  EXPECT_EQ(st->ports[0].static_arp[0].mac[1], 0x0a);
  EXPECT_EQ(st->ports[0].static_arp[0].mac[5], 0xff);
  ASSERT_EQ(c->routes.size(), 1u);
  EXPECT_EQ(c->routes[0].prefix.addr, 0xC6130500u);
  EXPECT_EQ(c->routes[0].gateway, 0xC6120002u);
  EXPECT_EQ(c->routes[0].mtu, 1300);
  ASSERT_EQ(c->services.size(), 3u);
  EXPECT_EQ(c->services[0].kind, ServiceConfig::kEcho);
  EXPECT_EQ(c->services[2].port, 19);
}

TEST(ConfigTest, ConfigTextUsesTheSameKeys) {
  Config c;
  ASSERT_TRUE(ParseConfigText("# the data plane\n"
                              "lcores 0\n"
                              "port net_tap0,iface=dtap0\n"
                              "  address 198.18.0.1/24   # LAN\n"
                              "fault seed=7,drop=1%,reorder=0.001\n"
                              "no-forward\n"
                              "huge off\n",
                              &c)
                  .ok());
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].addresses[0].addr, 0xC6120001u);
  EXPECT_EQ(c.fault.seed, 7u);
  EXPECT_EQ(c.fault.drop_ppm, 10000u);
  EXPECT_EQ(c.fault.reorder_ppm, 1000u);
  EXPECT_FALSE(c.forward);
  EXPECT_EQ(c.huge, HugeMode::kOff);
}

TEST(ConfigTest, DefaultPortIsATapDevice) {
  absl::StatusOr<Config> c = Parse({});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->ports.size(), 1u);
  EXPECT_EQ(c->ports[0].devargs, "net_tap0,iface=sstp-dp0");
  c = Parse({"--address", "198.18.0.1/24", "--mtu", "1400"});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->ports.size(), 1u);
  EXPECT_EQ(c->ports[0].devargs, "net_tap0,iface=sstp-dp0");
  EXPECT_EQ(c->ports[0].mtu, 1400);
  EXPECT_EQ(c->ports[0].addresses.size(), 1u);
}

TEST(ConfigTest, ErrorsSayWhatIsWrong) {
  EXPECT_FALSE(Parse({"--port", "net_ring0", "--address", "198.18.0.300/24"}).ok());
  EXPECT_FALSE(Parse({"--port", "net_ring0", "--address", "198.18.0.1/33"}).ok());
  EXPECT_FALSE(Parse({"--port", "net_ring0", "--mtu", "20"}).ok());
  EXPECT_FALSE(Parse({"--port", "net_ring0", "--arp", "maybe"}).ok());
  EXPECT_FALSE(Parse({"--port", "net_ring0", "--bogus", "1"}).ok());
  EXPECT_FALSE(Parse({"--port", "net_ring0", "--fault", "drop=2"}).ok());
  // A gateway that no port's prefix holds cannot be resolved.
  absl::Status s = Parse({"--port", "net_ring0", "--address", "198.18.0.1/24", "--route",
                          "198.19.0.0/16,via=198.18.9.9"})
                       .status();
  EXPECT_NE(s.message().find("not in any port's connected prefix"), absl::string_view::npos) << s;
  EXPECT_FALSE(Parse({"--port", "net_ring0", "--address", "198.18.0.1/24", "--port", "net_ring1",
                      "--address", "198.18.0.1/24"})
                   .ok());
  EXPECT_FALSE(Parse({"--port", "net_ring0", "--arp-static", "198.18.0.5=02:00:00:00:00"}).ok());
  EXPECT_TRUE(absl::IsCancelled(Parse({"--help"}).status()));
}

TEST(ConfigTest, Ipv4Helpers) {
  absl::StatusOr<Ipv4Prefix> p = ParseIpv4Prefix("198.19.101.7/24");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Network(), 0xC6136500u);
  EXPECT_TRUE(p->Contains(0xC61365FEu));
  EXPECT_FALSE(p->Contains(0xC6136600u));
  EXPECT_EQ(FormatIpv4(0xC6136507u), "198.19.101.7");
  EXPECT_EQ(ParseIpv4Prefix("198.18.0.1")->len, 32);
  EXPECT_FALSE(ParseIpv4("1.2.3").ok());
  EXPECT_FALSE(ParseIpv4("1.2.3.4.5").ok());
}

TEST(EalArgsTest, FallsBackToNoHugeWithoutEnoughHugepages) {
  Config c = *Parse({"--port", "net_af_packet0,iface=v0", "--lcores", "0-1", "--memory", "512"});
  bool huge = true;
  std::vector<std::string> a = BuildEalArgs(c, HugepageInfo{0, 0}, 42, &huge);
  EXPECT_FALSE(huge);
  std::string line;
  for (const std::string& s : a) line += s + " ";
  EXPECT_NE(line.find("--no-huge"), std::string::npos) << line;
  EXPECT_NE(line.find("--file-prefix sstp-dp-42"), std::string::npos) << line;
  EXPECT_NE(line.find("--vdev net_af_packet0,iface=v0,qpairs=2"), std::string::npos) << line;
  EXPECT_NE(line.find("--no-pci"), std::string::npos) << line;

  a = BuildEalArgs(c, HugepageInfo{1024ull << 20, 512}, 42, &huge);
  EXPECT_TRUE(huge);
  line.clear();
  for (const std::string& s : a) line += s + " ";
  EXPECT_EQ(line.find("--no-huge"), std::string::npos) << line;

  Config pci = *Parse({"--port", "0000:01:00.0", "--huge", "off", "--file-prefix", "x"});
  a = BuildEalArgs(pci, HugepageInfo{1024ull << 20, 512}, 42, &huge);
  line.clear();
  for (const std::string& s : a) line += s + " ";
  EXPECT_FALSE(huge);
  EXPECT_NE(line.find("-a 0000:01:00.0"), std::string::npos) << line;
  EXPECT_EQ(line.find("--no-pci"), std::string::npos) << line;
  EXPECT_NE(line.find("--file-prefix x"), std::string::npos) << line;
}

TEST(EalArgsTest, CountLcores) {
  EXPECT_EQ(CountLcores("0"), 1);
  EXPECT_EQ(CountLcores("0-3"), 4);
  EXPECT_EQ(CountLcores("0,2-3,7"), 4);
  EXPECT_EQ(CountLcores("(0-1)@0"), 0);
}

}  // namespace
}  // namespace dp
