// Configuration of sstp-dataplane: command-line options and an optional config file with the same
// keys (one "key value" per line, '#' comments). Pure parsing, no DPDK: unit-tested on its own.
//
//   sstp-dataplane --lcores 0-1 --port net_af_packet0,iface=veth0 --address 198.18.0.1/24
//       [continued] --mtu 1500 --arp proxy-arp --route 198.19.0.0/16,via=198.18.0.2 --echo 7
//       --discard 9
//
// Per-port options (--address, --mtu, --arp, --vlan, --rx-queues) apply to the most recent --port;
// without any --port, to the embedded default port (kDefaultPort, a tap device).
#ifndef DATAPLANE_CONFIG_H_
#define DATAPLANE_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace dp {

// IPv4 addresses are kept in host byte order everywhere outside packet headers.
struct Ipv4Prefix {
  uint32_t addr = 0;
  uint8_t len = 0;
  uint32_t Mask() const { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
  uint32_t Network() const { return addr & Mask(); }
  bool Contains(uint32_t a) const { return (a & Mask()) == Network(); }
};

// RouterOS `/interface ethernet arp=`: enabled (learn and reply), proxy-arp (also answer for
// addresses routed through another port), reply-only (answer, learn nothing), disabled.
enum class ArpMode { kEnabled, kProxyArp, kReplyOnly, kDisabled };

// A static neighbour (RouterOS /ip arp add): never aged, never overwritten by learning.
struct StaticArp {
  uint32_t ip = 0;
  uint8_t mac[6] = {};
};

struct PortConfig {
  // EAL device: a vdev ("net_af_packet0,iface=veth0", "net_tap0,iface=dtap0") or a PCI address.
  // Empty for ports created by the program itself (net_ring in tests); then `port_id` is used.
  std::string devargs;
  int port_id = -1;
  std::vector<Ipv4Prefix> addresses;
  uint16_t mtu = 1500;
  ArpMode arp = ArpMode::kEnabled;
  uint16_t vlan = 0;       // 802.1Q VLAN id of the port's IP interface; 0 = untagged.
  uint16_t rx_queues = 0;  // 0 = one per worker lcore when the port can do RSS, else one.
  std::vector<StaticArp> static_arp;
};

// The embedded default port when no --port is given (per-port options before the first --port
// apply to it): a kernel tap device, so the data plane runs on any Linux box.
inline constexpr char kDefaultPort[] = "net_tap0,iface=sstp-dp0";

struct RouteConfig {
  Ipv4Prefix prefix;
  uint32_t gateway = 0;  // 0 = directly connected through `port`.
  int port = -1;         // -1 = the port whose connected prefix holds the gateway.
  uint16_t mtu = 0;      // 0 = the port's MTU.
};

// Deterministic fault injection in the port layer. Probabilities in parts per million.
struct FaultConfig {
  uint64_t seed = 1;
  uint32_t drop_ppm = 0;
  uint32_t duplicate_ppm = 0;
  uint32_t reorder_ppm = 0;
  uint32_t corrupt_ppm = 0;
  bool rx = true;
  bool tx = true;
  bool Enabled() const { return drop_ppm | duplicate_ppm | reorder_ppm | corrupt_ppm; }
};

struct ServiceConfig {
  enum Kind { kEcho, kDiscard, kChargen } kind;
  uint16_t port;
};

// A TCP connection the data plane opens at start (the stack's client role): it connects to
// `remote`, sends `bytes` of the chargen pattern, then closes. For tests against a kernel listener.
struct ConnectConfig {
  uint32_t remote_addr = 0;
  uint16_t remote_port = 0;
  uint64_t bytes = 0;
};

enum class HugeMode { kAuto, kOn, kOff };

struct Config {
  std::string lcores = "0";  // EAL --lcores list; every lcore runs a worker loop.
  std::vector<PortConfig> ports;
  std::vector<RouteConfig> routes;
  std::vector<ServiceConfig> services;
  std::vector<ConnectConfig> connects;
  FaultConfig fault;
  HugeMode huge = HugeMode::kAuto;
  uint32_t memory_mb = 512;
  uint32_t mbufs = 65535;
  std::string file_prefix;            // empty = "sstp-dp-<pid>"
  std::vector<std::string> eal_args;  // extra EAL arguments, passed through
  bool forward = true;                // forward packets that are not for us (RFC 1812 router)
  uint32_t tcp_max_conns = 1 << 16;   // TCP connection slots per worker
  uint32_t arp_timeout_s = 30;        // RouterOS arp-timeout default
  std::string stats_file;             // JSON counters written every stats_interval_ms
  uint32_t stats_interval_ms = 1000;
  std::string pid_file;
  uint32_t idle_sleep_us = 0;  // sleep this long per idle iteration (shared CI machines)
  bool verbose = false;
};

absl::StatusOr<Ipv4Prefix> ParseIpv4Prefix(absl::string_view s);
absl::StatusOr<uint32_t> ParseIpv4(absl::string_view s);
std::string FormatIpv4(uint32_t addr);

// Parses argv (without the program name). "--config FILE" reads FILE in place.
absl::StatusOr<Config> ParseArgs(absl::Span<const std::string> args);
// Parses the text of a config file into `cfg` (same keys as the options, without "--").
absl::Status ParseConfigText(absl::string_view text, Config* cfg);
// Checks cross-field rules (routes reach a port, addresses unique, ...).
absl::Status Validate(const Config& cfg);

// The usage text printed by --help.
std::string Usage();

}  // namespace dp

#endif  // DATAPLANE_CONFIG_H_
