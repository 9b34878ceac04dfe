#include "dataplane/config.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace dp {
namespace {

absl::Status Bad(absl::string_view key, absl::string_view value, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("option ", key, " '", value, "': ", why));
}

template <typename T>
absl::StatusOr<T> ParseUint(absl::string_view key, absl::string_view v, uint64_t min,
                            uint64_t max) {
  uint64_t x;
  if (!absl::SimpleAtoi(v, &x) || x < min || x > max) {
    return Bad(key, v, absl::StrCat("expected an integer in [", min, ", ", max, "]"));
  }
  return static_cast<T>(x);
}

// "0.01" or "1%" as a probability, returned in parts per million.
absl::StatusOr<uint32_t> ParseProbability(absl::string_view key, absl::string_view v) {
  bool percent = absl::ConsumeSuffix(&v, "%");
  double d;
  if (!absl::SimpleAtod(v, &d) || d < 0) return Bad(key, v, "expected a probability");
  if (percent) d /= 100;
  if (d > 1) return Bad(key, v, "probability above 1");
  return static_cast<uint32_t>(d * 1e6 + 0.5);
}

absl::Status ApplyFault(absl::string_view v, FaultConfig* f) {
  for (absl::string_view kv : absl::StrSplit(v, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    if (p.first == "seed") {
      if (!absl::SimpleAtoi(p.second, &f->seed)) return Bad("--fault", kv, "bad seed");
    } else if (p.first == "dir") {
      if (p.second == "rx") {
        f->rx = true, f->tx = false;
      } else if (p.second == "tx") {
        f->rx = false, f->tx = true;
      } else if (p.second == "both") {
        f->rx = f->tx = true;
      } else {
        return Bad("--fault", kv, "dir is rx, tx or both");
      }
    } else {
      uint32_t* field = p.first == "drop"                            ? &f->drop_ppm
                        : p.first == "duplicate" || p.first == "dup" ? &f->duplicate_ppm
                        : p.first == "reorder"                       ? &f->reorder_ppm
                        : p.first == "corrupt"                       ? &f->corrupt_ppm
                                                                     : nullptr;
      if (field == nullptr) {
        return Bad("--fault", kv, "keys are seed, drop, duplicate, reorder, corrupt, dir");
      }
      absl::StatusOr<uint32_t> ppm = ParseProbability("--fault", p.second);
      if (!ppm.ok()) return ppm.status();
      *field = *ppm;
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyRoute(absl::string_view v, RouteConfig* r) {
  std::vector<absl::string_view> parts = absl::StrSplit(v, ',');
  absl::StatusOr<Ipv4Prefix> p = ParseIpv4Prefix(parts[0]);
  if (!p.ok()) return Bad("--route", v, p.status().message());
  r->prefix = *p;
  r->prefix.addr = p->Network();
  for (size_t i = 1; i < parts.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(parts[i], absl::MaxSplits('=', 1));
    if (kv.first == "via" || kv.first == "gateway") {
      absl::StatusOr<uint32_t> gw = ParseIpv4(kv.second);
      if (!gw.ok()) return Bad("--route", v, gw.status().message());
      r->gateway = *gw;
    } else if (kv.first == "port") {
      absl::StatusOr<int> port = ParseUint<int>("--route port", kv.second, 0, 63);
      if (!port.ok()) return port.status();
      r->port = *port;
    } else if (kv.first == "mtu") {
      absl::StatusOr<uint16_t> mtu = ParseUint<uint16_t>("--route mtu", kv.second, 68, 9600);
      if (!mtu.ok()) return mtu.status();
      r->mtu = *mtu;
    } else {
      return Bad("--route", v, "expected PREFIX[,via=GATEWAY][,port=N][,mtu=BYTES]");
    }
  }
  if (r->gateway == 0 && r->port < 0) return Bad("--route", v, "needs via= or port=");
  return absl::OkStatus();
}

PortConfig* CurrentPort(Config* cfg) { return cfg->ports.empty() ? nullptr : &cfg->ports.back(); }

// Applies one option. `key` has no leading dashes. `value` is empty for flags.
absl::Status Apply(absl::string_view key, absl::string_view value, Config* cfg);

// Options that take no value.
bool IsFlag(absl::string_view key) {
  return key == "no-forward" || key == "no-huge" || key == "verbose" || key == "help";
}

// Per-port options before any --port configure the embedded default port.
absl::Status NeedPort(absl::string_view key, Config* cfg) {
  if (CurrentPort(cfg) == nullptr) {
    PortConfig p;
    p.devargs = kDefaultPort;
    cfg->ports.push_back(std::move(p));
  }
  return absl::OkStatus();
}

absl::Status Apply(absl::string_view key, absl::string_view value, Config* cfg) {
  if (key == "lcores") {
    cfg->lcores = std::string(value);
  } else if (key == "port") {
    PortConfig p;
    absl::StatusOr<int> id = ParseUint<int>(key, value, 0, 63);
    if (absl::StartsWith(value, "id=")) {
      id = ParseUint<int>(key, value.substr(3), 0, 63);
      if (!id.ok()) return id.status();
      p.port_id = *id;
    } else {
      p.devargs = std::string(value);
    }
    cfg->ports.push_back(std::move(p));
  } else if (key == "address") {
    if (absl::Status s = NeedPort(key, cfg); !s.ok()) return s;
    absl::StatusOr<Ipv4Prefix> p = ParseIpv4Prefix(value);
    if (!p.ok()) return Bad(key, value, p.status().message());
    CurrentPort(cfg)->addresses.push_back(*p);
  } else if (key == "mtu") {
    if (absl::Status s = NeedPort(key, cfg); !s.ok()) return s;
    absl::StatusOr<uint16_t> mtu = ParseUint<uint16_t>(key, value, 68, 9600);
    if (!mtu.ok()) return mtu.status();
    CurrentPort(cfg)->mtu = *mtu;
  } else if (key == "vlan") {
    if (absl::Status s = NeedPort(key, cfg); !s.ok()) return s;
    absl::StatusOr<uint16_t> vlan = ParseUint<uint16_t>(key, value, 0, 4094);
    if (!vlan.ok()) return vlan.status();
    CurrentPort(cfg)->vlan = *vlan;
  } else if (key == "rx-queues") {
    if (absl::Status s = NeedPort(key, cfg); !s.ok()) return s;
    absl::StatusOr<uint16_t> q = ParseUint<uint16_t>(key, value, 0, 64);
    if (!q.ok()) return q.status();
    CurrentPort(cfg)->rx_queues = *q;
  } else if (key == "arp-static") {
    if (absl::Status s = NeedPort(key, cfg); !s.ok()) return s;
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(value, absl::MaxSplits('=', 1));
    StaticArp e;
    absl::StatusOr<uint32_t> ip = ParseIpv4(kv.first);
    std::vector<absl::string_view> octets = absl::StrSplit(kv.second, ':');
    bool ok = ip.ok() && octets.size() == 6;
    for (size_t i = 0; ok && i < 6; ++i) {
      uint32_t o;
      ok = octets[i].size() == 2 && absl::SimpleHexAtoi(octets[i], &o);
      e.mac[i] = static_cast<uint8_t>(o);
    }
    if (!ok) return Bad(key, value, "expected A.B.C.D=xx:xx:xx:xx:xx:xx");
    e.ip = *ip;
    CurrentPort(cfg)->static_arp.push_back(e);
  } else if (key == "arp") {
    if (absl::Status s = NeedPort(key, cfg); !s.ok()) return s;
    ArpMode m;
    if (value == "enabled") {
      m = ArpMode::kEnabled;
    } else if (value == "proxy-arp") {
      m = ArpMode::kProxyArp;
    } else if (value == "reply-only") {
      m = ArpMode::kReplyOnly;
    } else if (value == "disabled") {
      m = ArpMode::kDisabled;
    } else {
      return Bad(key, value, "expected enabled, proxy-arp, reply-only or disabled");
    }
    CurrentPort(cfg)->arp = m;
  } else if (key == "route") {
    RouteConfig r;
    if (absl::Status s = ApplyRoute(value, &r); !s.ok()) return s;
    cfg->routes.push_back(r);
  } else if (key == "echo" || key == "discard" || key == "chargen") {
    absl::StatusOr<uint16_t> port = ParseUint<uint16_t>(key, value, 1, 65535);
    if (!port.ok()) return port.status();
    ServiceConfig::Kind kind = key == "echo"      ? ServiceConfig::kEcho
                               : key == "discard" ? ServiceConfig::kDiscard
                                                  : ServiceConfig::kChargen;
    cfg->services.push_back({kind, *port});
  } else if (key == "connect") {
    // ADDRESS:PORT,bytes=N
    std::vector<absl::string_view> parts = absl::StrSplit(value, ',');
    std::pair<absl::string_view, absl::string_view> hp =
        absl::StrSplit(parts[0], absl::MaxSplits(':', 1));
    ConnectConfig c;
    absl::StatusOr<uint32_t> a = ParseIpv4(hp.first);
    if (!a.ok()) return Bad(key, value, "expected ADDRESS:PORT[,bytes=N]");
    c.remote_addr = *a;
    absl::StatusOr<uint16_t> port = ParseUint<uint16_t>(key, hp.second, 1, 65535);
    if (!port.ok()) return port.status();
    c.remote_port = *port;
    for (size_t i = 1; i < parts.size(); ++i) {
      if (!absl::ConsumePrefix(&parts[i], "bytes=") || !absl::SimpleAtoi(parts[i], &c.bytes)) {
        return Bad(key, value, "expected ADDRESS:PORT[,bytes=N]");
      }
    }
    cfg->connects.push_back(c);
  } else if (key == "fault") {
    return ApplyFault(value, &cfg->fault);
  } else if (key == "huge") {
    if (value == "auto") {
      cfg->huge = HugeMode::kAuto;
    } else if (value == "on") {
      cfg->huge = HugeMode::kOn;
    } else if (value == "off") {
      cfg->huge = HugeMode::kOff;
    } else {
      return Bad(key, value, "expected auto, on or off");
    }
  } else if (key == "no-huge") {
    cfg->huge = HugeMode::kOff;
  } else if (key == "memory") {
    absl::StatusOr<uint32_t> m = ParseUint<uint32_t>(key, value, 64, 1 << 20);
    if (!m.ok()) return m.status();
    cfg->memory_mb = *m;
  } else if (key == "mbufs") {
    absl::StatusOr<uint32_t> m = ParseUint<uint32_t>(key, value, 1024, 1 << 24);
    if (!m.ok()) return m.status();
    cfg->mbufs = *m;
  } else if (key == "file-prefix") {
    cfg->file_prefix = std::string(value);
  } else if (key == "eal") {
    for (absl::string_view a : absl::StrSplit(value, ' ', absl::SkipEmpty())) {
      cfg->eal_args.emplace_back(a);
    }
  } else if (key == "no-forward") {
    cfg->forward = false;
  } else if (key == "tcp-max-conns") {
    absl::StatusOr<uint32_t> t = ParseUint<uint32_t>(key, value, 16, 1 << 24);
    if (!t.ok()) return t.status();
    cfg->tcp_max_conns = *t;
  } else if (key == "arp-timeout") {
    absl::StatusOr<uint32_t> t = ParseUint<uint32_t>(key, value, 1, 86400);
    if (!t.ok()) return t.status();
    cfg->arp_timeout_s = *t;
  } else if (key == "stats-file") {
    cfg->stats_file = std::string(value);
  } else if (key == "stats-interval") {
    absl::StatusOr<uint32_t> t = ParseUint<uint32_t>(key, value, 10, 3600000);
    if (!t.ok()) return t.status();
    cfg->stats_interval_ms = *t;
  } else if (key == "idle-sleep") {
    absl::StatusOr<uint32_t> t = ParseUint<uint32_t>(key, value, 0, 100000);
    if (!t.ok()) return t.status();
    cfg->idle_sleep_us = *t;
  } else if (key == "pid-file") {
    cfg->pid_file = std::string(value);
  } else if (key == "verbose") {
    cfg->verbose = true;
  } else if (key == "config") {
    std::ifstream in{std::string(value)};
    if (!in) return Bad(key, value, "cannot read the file");
    std::stringstream ss;
    ss << in.rdbuf();
    return ParseConfigText(ss.str(), cfg);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown option --", key, " (see --help)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint32_t> ParseIpv4(absl::string_view s) {
  std::vector<absl::string_view> parts = absl::StrSplit(s, '.');
  if (parts.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat("'", s, "' is not an IPv4 address"));
  }
  uint32_t a = 0;
  for (absl::string_view p : parts) {
    uint32_t o;
    if (p.empty() || p.size() > 3 || !absl::SimpleAtoi(p, &o) || o > 255) {
      return absl::InvalidArgumentError(absl::StrCat("'", s, "' is not an IPv4 address"));
    }
    a = a << 8 | o;
  }
  return a;
}

absl::StatusOr<Ipv4Prefix> ParseIpv4Prefix(absl::string_view s) {
  std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(s, absl::MaxSplits('/', 1));
  Ipv4Prefix out;
  absl::StatusOr<uint32_t> a = ParseIpv4(p.first);
  if (!a.ok()) return a.status();
  out.addr = *a;
  out.len = 32;
  if (!p.second.empty() || absl::StrContains(s, '/')) {
    uint32_t len;
    if (!absl::SimpleAtoi(p.second, &len) || len > 32) {
      return absl::InvalidArgumentError(absl::StrCat("'", s, "': prefix length must be 0..32"));
    }
    out.len = static_cast<uint8_t>(len);
  }
  return out;
}

std::string FormatIpv4(uint32_t a) {
  return absl::StrFormat("%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

absl::Status ParseConfigText(absl::string_view text, Config* cfg) {
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(absl::ByAnyChar(" \t"), 1));
    absl::string_view key = kv.first;
    absl::ConsumePrefix(&key, "--");
    absl::string_view value = absl::StripAsciiWhitespace(kv.second);
    if (!IsFlag(key) && value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config line ", line_no, ": '", key, "' needs a value"));
    }
    if (absl::Status s = Apply(key, value, cfg); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("config line ", line_no, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> ParseArgs(absl::Span<const std::string> args) {
  Config cfg;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view a = args[i];
    if (!absl::ConsumePrefix(&a, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", a, "' (see --help)"));
    }
    absl::string_view key = a, value;
    if (size_t eq = a.find('='); eq != absl::string_view::npos) {
      key = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else if (!IsFlag(key)) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("option --", key, " needs a value"));
      }
      value = args[++i];
    }
    if (key == "help") return absl::CancelledError(Usage());
    if (absl::Status s = Apply(key, value, &cfg); !s.ok()) return s;
  }
  if (cfg.ports.empty()) {
    PortConfig p;
    p.devargs = kDefaultPort;
    cfg.ports.push_back(std::move(p));
  }
  if (absl::Status s = Validate(cfg); !s.ok()) return s;
  return cfg;
}

absl::Status Validate(const Config& cfg) {
  if (cfg.ports.empty()) return absl::InvalidArgumentError("no --port given");
  if (cfg.ports.size() > 16) return absl::InvalidArgumentError("at most 16 ports");
  std::vector<uint32_t> seen;
  for (const PortConfig& p : cfg.ports) {
    for (const Ipv4Prefix& a : p.addresses) {
      for (uint32_t s : seen) {
        if (s == a.addr) {
          return absl::InvalidArgumentError(
              absl::StrCat("address ", FormatIpv4(a.addr), " is configured twice"));
        }
      }
      seen.push_back(a.addr);
    }
  }
  for (const RouteConfig& r : cfg.routes) {
    if (r.port >= static_cast<int>(cfg.ports.size())) {
      return absl::InvalidArgumentError(absl::StrCat("route ", FormatIpv4(r.prefix.addr), "/",
                                                     r.prefix.len, ": no port ", r.port));
    }
    if (r.port < 0) {
      bool found = false;
      for (const PortConfig& p : cfg.ports) {
        for (const Ipv4Prefix& a : p.addresses) found |= a.Contains(r.gateway);
      }
      if (!found) {
        return absl::InvalidArgumentError(absl::StrCat(
            "route ", FormatIpv4(r.prefix.addr), "/", r.prefix.len, ": gateway ",
            FormatIpv4(r.gateway), " is not in any port's connected prefix (add port=N)"));
      }
    }
  }
  return absl::OkStatus();
}

std::string Usage() {
  return R"(usage: sstp-dataplane [options]   (a config file takes the same keys without "--")
  --config FILE            read options from FILE (one "key value" per line, # comments)
  --lcores LIST            EAL lcore list, e.g. 0-1 or 0,2; every lcore runs a worker (default 0)
  --port DEVARGS|id=N      add a port: a vdev such as net_af_packet0,iface=veth0 or
                           net_tap0,iface=dtap0 or net_af_xdp0,iface=veth0, a PCI address, or an
                           already created port id (net_ring in tests). Without any --port: one
                           tap device, net_tap0,iface=sstp-dp0 (per-port options then apply to it)
    --address A.B.C.D/LEN  an IPv4 address of the last --port (repeatable)
    --mtu BYTES            IP MTU of the last --port (default 1500)
    --arp MODE             enabled | proxy-arp | reply-only | disabled (default enabled)
    --arp-static A.B.C.D=MAC  a static neighbour on the last --port (repeatable; needed for
                           arp=reply-only and arp=disabled ports)
    --vlan ID              802.1Q VLAN id of the last --port's IP interface (default untagged)
    --rx-queues N          RX queues (default: one per worker when the port has RSS)
  --route P/LEN,via=GW[,port=N][,mtu=M]   a static route (repeatable)
  --no-forward             do not forward packets that are not for this box
  --tcp-max-conns N        TCP connection slots per worker lcore (default 65536)
  --arp-timeout SECONDS    neighbour entry lifetime without confirmation (default 30)
  --echo PORT | --discard PORT | --chargen PORT   built-in TCP test services (repeatable)
  --connect A.B.C.D:PORT[,bytes=N]   open a TCP connection at start, send N chargen bytes, close
  --fault seed=S,drop=P,duplicate=P,reorder=P,corrupt=P[,dir=rx|tx|both]
                           deterministic fault injection in the port layer (P: 0.01 or 1%)
  --huge auto|on|off       hugepages: auto uses them when /proc/sys/vm/nr_hugepages > 0
  --no-huge                same as --huge off
  --memory MB              EAL memory (default 512)
  --mbufs N                packet buffers in the pool (default 65535)
  --file-prefix NAME       EAL --file-prefix, unique per instance (default sstp-dp-<pid>)
  --eal "ARGS"             extra EAL arguments
  --stats-file PATH        write the counters as JSON to PATH every --stats-interval ms
  --stats-interval MS      (default 1000)
  --idle-sleep US          after 1000 idle iterations, sleep US per idle iteration (default 0:
                           busy poll; for tests on shared machines)
  --pid-file PATH          write the process id to PATH once ready
  --verbose                log more
Signals: SIGUSR1 prints the counters to stderr; SIGINT/SIGTERM stop (counters printed at exit).
)";
}

}  // namespace dp
