#include "controlplane/controller.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cp {
namespace {

const MenuPath kServer = {"interface", "sstp-server", "server"};
const MenuPath kSstpServer = {"interface", "sstp-server"};
const MenuPath kSstpClient = {"interface", "sstp-client"};
const MenuPath kEthernet = {"interface", "ethernet"};
const MenuPath kBridge = {"interface", "bridge"};
const MenuPath kBridgePort = {"interface", "bridge", "port"};
const MenuPath kSecret = {"ppp", "secret"};
const MenuPath kProfile = {"ppp", "profile"};
const MenuPath kActive = {"ppp", "active"};
const MenuPath kPool = {"ip", "pool"};
const MenuPath kPoolUsed = {"ip", "pool", "used"};
const MenuPath kAddress = {"ip", "address"};
const MenuPath kRoute = {"ip", "route"};
const MenuPath kCertificate = {"certificate"};
const MenuPath kRing = {"system", "ring"};

absl::Status EndOfCommand(int column) {
  return absl::InvalidArgumentError(absl::StrCat("expected end of command", AtColumn(column)));
}

std::string RStrip(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// "key: value" lines with the keys right-aligned, as RouterOS prints single items and monitors.
std::string KeyValues(const std::vector<std::pair<std::string, std::string>>& kv) {
  size_t w = 0;
  for (const auto& [k, v] : kv) w = std::max(w, k.size());
  std::string out;
  for (const auto& [k, v] : kv) {
    absl::StrAppend(&out, std::string(w + 2 - k.size(), ' '), k, ": ", v, "\n");
  }
  return out;
}

struct Column {
  std::string title;
  int width;
  bool right = false;
  bool truncate = false;
  int gap = 1;
};

std::string Cell(const std::string& v, const Column& c) {
  std::string s = v;
  if (c.truncate && int(s.size()) > c.width) s = s.substr(0, size_t(c.width - 3)) + "...";
  if (int(s.size()) >= c.width) return s;
  std::string pad(size_t(c.width) - s.size(), ' ');
  return c.right ? pad + s : s + pad;
}

uint64_t Seconds(absl::Duration d) {
  return d < absl::ZeroDuration() ? 0 : uint64_t(absl::ToInt64Seconds(d));
}

std::string MacString(const std::array<uint8_t, 6>& m) {
  return absl::StrFormat("%02X:%02X:%02X:%02X:%02X:%02X", m[0], m[1], m[2], m[3], m[4], m[5]);
}

bool IsStringKind(Kind k) { return k == Kind::kString || k == Kind::kName || k == Kind::kRoutes; }

// What /interface sstp-client monitor shows, in order: the manual's monitor fields, then what
// the client program adds (addresses, counters from its side: tx = sent to the server).
const std::vector<std::string>& ClientStatusKeys() {
  static const auto* keys = new std::vector<std::string>{
      "status",    "uptime",    "idle-time",     "user",           "caller-id",   "encoding",
      "mtu",       "mru",       "local-address", "remote-address", "rx-byte",     "tx-byte",
      "rx-packet", "tx-packet", "reconnects",    "last-error",     "next-attempt"};
  return *keys;
}

// "2160541" -> "2 160 541", as RouterOS prints counters in tables.
std::string GroupDigits(const std::string& digits) {
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ' ';
    out += digits[i];
  }
  return out;
}

}  // namespace

struct Controller::Row {
  bool dynamic = false;
  size_t index = 0;      // static item index
  uint64_t session = 0;  // dynamic: the session
  std::string flags;     // one char per flag position (space when unset)
  std::map<std::string, std::string> v;
};

Controller::Controller(DownSink* sink, Options options)
    : sink_(sink), options_(std::move(options)) {
  leases_.set_n_lcores(sink_ ? sink_->n_lcores() : 1);
}

void Controller::AddPort(const std::string& name, const std::string& mac, int mtu) {
  config_.EnsurePort(name, mac, mtu);
}

// ---------------------------------------------------------------------------------------------
// Commands

Controller::Result Controller::Execute(absl::string_view line, const MenuPath& cwd,
                                       absl::Time now) {
  Result r;
  r.cwd = cwd;
  std::string_view trimmed(line.data(), line.size());
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\r')) {
    trimmed.remove_suffix(1);
  }
  if (trimmed.size() > 16384) {
    r.status = absl::InvalidArgumentError("failure: command too long");
    return r;
  }
  for (char c : trimmed) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      r.status = absl::InvalidArgumentError("syntax error (control character in command)");
      return r;
    }
  }
  auto cmd = ParseCommand(absl::string_view(trimmed.data(), trimmed.size()), cwd);
  if (!cmd.ok()) {
    r.status = cmd.status();
    return r;
  }
  if (cmd->verb.empty()) {
    r.cwd = cmd->path;
    return r;
  }
  Result out = Run(*cmd, now);
  SweepClosed(now);
  out.cwd = cwd;
  return out;
}

absl::StatusOr<std::vector<size_t>> Controller::Select(const MenuPath& path, const Command& cmd,
                                                       const std::vector<Row>& rows,
                                                       size_t* consumed) {
  *consumed = 0;
  if (cmd.positional.empty()) {
    return absl::InvalidArgumentError("failure: item not specified (a number, a name or [find])");
  }
  const Positional& p = cmd.positional[0];
  *consumed = 1;
  std::vector<size_t> out;
  if (p.find) {
    std::vector<std::pair<std::string, std::string>> conds;
    for (absl::string_view part : absl::StrSplit(p.text, ' ', absl::SkipEmpty())) {
      size_t eq = part.find('=');
      if (eq == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("syntax error", AtColumn(p.column)));
      }
      std::string value(part.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      conds.emplace_back(std::string(part.substr(0, eq)), value);
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      bool match = true;
      for (const auto& [k, v] : conds) {
        auto it = rows[i].v.find(k);
        if (it == rows[i].v.end() || it->second != v) match = false;
      }
      if (match) out.push_back(i);
    }
    return out;  // find may match nothing: the command then does nothing, like RouterOS
  }
  for (absl::string_view part : absl::StrSplit(p.text, ',')) {
    std::string s(part);
    if (auto n = ParseInt(s)) {
      if (size_t(*n) >= rows.size()) return absl::NotFoundError("no such item");
      out.push_back(size_t(*n));
      continue;
    }
    bool found = false;
    for (size_t i = 0; i < rows.size(); ++i) {
      auto it = rows[i].v.find("name");
      auto dn = rows[i].v.find("default-name");
      if ((it != rows[i].v.end() && it->second == s) ||
          (dn != rows[i].v.end() && dn->second == s)) {
        out.push_back(i);
        found = true;
        break;
      }
    }
    if (!found) return absl::NotFoundError("no such item");
  }
  return out;
}

std::vector<Controller::Row> Controller::Rows(const MenuPath& path, absl::Time now) const {
  std::vector<Row> rows;
  const TableSpec* spec = Config::SpecFor(path);
  if (spec != nullptr) {
    const auto& items = config_.Items(path);
    for (size_t i = 0; i < items.size(); ++i) {
      Row r;
      r.index = i;
      for (const PropSpec& p : spec->props) r.v[p.name] = config_.GetOf(*spec, items[i], p.name);
      rows.push_back(std::move(r));
    }
  }
  // The live fields of a session: times from the control plane's clock, counters as the data
  // plane last reported them (kCounters every second, final ones in kSessionClosed). rx is what
  // the router received from the client, tx what it sent, as on any RouterOS interface.
  auto live = [&](const Session& s, std::map<std::string, std::string>& v) {
    v["mtu"] = absl::StrCat(s.mtu);
    v["uptime"] = FormatDuration(Seconds(now - s.up_at));
    v["idle-time"] = FormatDuration(Seconds(now - s.last_activity));
    v["rx-byte"] = absl::StrCat(s.counters.rx_bytes);
    v["tx-byte"] = absl::StrCat(s.counters.tx_bytes);
    v["rx-packet"] = absl::StrCat(s.counters.rx_packets);
    v["tx-packet"] = absl::StrCat(s.counters.tx_packets);
  };
  if (path == kSstpServer) {
    for (Row& r : rows) {
      const Session* bound = nullptr;
      for (const auto& [id, s] : sessions_) {
        if (!s->dynamic_iface && s->iface == r.v["name"] && s->state != SessionState::kClosed) {
          bound = s.get();
        }
      }
      r.flags = absl::StrCat(r.v["disabled"] == "yes" ? "X" : " ", " ", bound ? "R" : " ");
      for (const char* k : {"mtu", "client-address", "uptime", "idle-time", "encoding"})
        r.v[k] = "";
      for (const char* k : {"rx-byte", "tx-byte", "rx-packet", "tx-packet"}) r.v[k] = "0";
      if (bound) {
        r.v["client-address"] = bound->caller_id;
        live(*bound, r.v);
        r.session = bound->id;
      }
    }
    for (const auto& [id, s] : sessions_) {
      if (!s->dynamic_iface || s->user.empty() || s->state == SessionState::kClosed) continue;
      Row r;
      r.dynamic = true;
      r.session = id;
      r.flags = " DR";
      r.v = {{"name", s->iface},
             {"user", s->user},
             {"client-address", s->caller_id},
             {"encoding", ""}};
      live(*s, r.v);
      rows.push_back(std::move(r));
    }
  } else if (path == kActive) {
    for (const auto& [id, s] : sessions_) {
      if (s->state != SessionState::kUp) continue;
      Row r;
      r.dynamic = true;
      r.session = id;
      r.flags = " ";
      r.v = {{"name", s->user},
             {"service", "sstp"},
             {"caller-id", s->caller_id},
             {"address", s->remote_addr ? FormatIpv4(s->remote_addr) : ""},
             {"encoding", ""},
             {"interface", s->iface},
             {"session-id", absl::StrCat("0x", absl::Hex(id))}};
      live(*s, r.v);
      rows.push_back(std::move(r));
    }
  } else if (path == kRoute) {
    for (Row& r : rows) {
      bool disabled = r.v["disabled"] == "yes";
      r.flags = absl::StrCat(disabled ? "X" : " ", disabled ? " " : "A", "  S");
    }
    for (const auto& [id, s] : sessions_) {
      if (s->state != SessionState::kUp) continue;
      for (size_t k = 0; k < s->routes.size(); ++k) {
        const ring::RouteEntry& e = s->routes[k];
        Row r;
        r.dynamic = true;
        r.session = id;
        r.flags = k == 0 ? " ADC " : " AD S";
        r.v = {{"dst-address", absl::StrCat(e.dst.ToString(), "/", int(e.prefix_len))},
               {"pref-src", k == 0 && s->local_addr ? FormatIpv4(s->local_addr) : ""},
               {"gateway", e.gateway.family == 4 ? e.gateway.ToString() : s->iface},
               {"distance", absl::StrCat(k == 0 ? 0 : e.metric)}};
        rows.push_back(std::move(r));
      }
    }
  } else if (path == kBridge) {
    for (Row& r : rows) r.flags = r.v["disabled"] == "yes" ? "X " : " R";
  } else if (path == kBridgePort) {
    for (Row& r : rows) {
      const bool inactive = config_.FindByName(kEthernet, r.v["interface"]) < 0 ||
                            config_.FindByName(kBridge, r.v["bridge"]) < 0;
      r.flags = absl::StrCat(r.v["disabled"] == "yes" ? "X" : " ", inactive ? "I" : " ", " ");
    }
    // Bridged (BCP) sessions are dynamic ports of their profile's bridge, as RouterOS adds the
    // PPP interface to the bridge while the session is up.
    for (const auto& [id, s] : sessions_) {
      if (!s->bridged || s->state != SessionState::kUp) continue;
      Row r;
      r.dynamic = true;
      r.session = id;
      r.flags = "  D";
      r.v = {{"interface", s->iface}, {"bridge", ProfileProp(s->profile, "bridge")}};
      rows.push_back(std::move(r));
    }
  } else if (path == kEthernet) {
    for (Row& r : rows) {
      r.flags = absl::StrCat(r.v["disabled"] == "yes" ? "X" : " ",
                             r.v["mac-address"] != "00:00:00:00:00:00" ? "R" : " ");
    }
  } else if (path == kSecret || path == kSstpClient || path == kAddress) {
    for (Row& r : rows) {
      std::string f = r.v["disabled"] == "yes" ? "X" : " ";
      if (path == kSstpClient) {
        auto it = client_status_.find(r.v["name"]);
        bool running = it != client_status_.end() && it->second.count("status") &&
                       it->second.at("status") == "connected";
        f += running ? "R" : " ";
        // For print stats: the client program's counters (rx = received from the server).
        for (const char* k : {"rx-byte", "tx-byte", "rx-packet", "tx-packet"}) {
          std::string v = "0";
          if (it != client_status_.end()) {
            auto c = it->second.find(k);
            if (c != it->second.end()) v = c->second;
          }
          r.v[k] = v;
        }
      }
      if (path == kAddress) {
        f += config_.FindByName(kEthernet, r.v["interface"]) < 0 ? "I " : "  ";
      }
      r.flags = f;
    }
  } else if (path == kProfile) {
    const auto& items = config_.Items(kProfile);
    for (Row& r : rows) r.flags = items[r.index].builtin ? "*" : " ";
  } else if (path == kCertificate) {
    for (Row& r : rows) {
      r.flags = absl::StrCat(r.v["private-key"] == "yes" ? "K" : " ",
                             r.v["trusted"] == "yes" ? "T" : " ");
    }
  } else if (path == kPool) {
    for (Row& r : rows) r.flags = "";
  }
  return rows;
}

std::string Controller::Flags(const MenuPath& path) const {
  if (path == kSstpServer) return "Flags: X - disabled, D - dynamic, R - running\n";
  if (path == kSstpClient || path == kEthernet || path == kBridge) {
    return "Flags: X - disabled, R - running\n";
  }
  if (path == kBridgePort) return "Flags: X - disabled, I - inactive, D - dynamic\n";
  if (path == kSecret) return "Flags: X - disabled\n";
  if (path == kProfile) return "Flags: * - default\n";
  if (path == kActive) return "Flags: R - radius\n";
  if (path == kAddress) return "Flags: X - disabled, I - invalid, D - dynamic\n";
  if (path == kRoute) {
    return "Flags: X - disabled, A - active, D - dynamic, C - connect, S - static\n";
  }
  if (path == kCertificate) return "Flags: K - private-key, T - trusted\n";
  return "";
}

Controller::Result Controller::Print(const Command& cmd, absl::Time now) {
  Result r;
  bool detail = false, stats = false;
  for (const Positional& p : cmd.positional) {
    if (p.text == "detail" && !p.find) {
      detail = true;
    } else if (p.text == "stats" && !p.find &&
               (cmd.path == kSstpServer || cmd.path == kActive || cmd.path == kSstpClient)) {
      stats = true;
    } else if ((p.text == "brief" || p.text == "without-paging") && !p.find) {
    } else {
      r.status = EndOfCommand(p.column);
      return r;
    }
  }
  for (const Arg& a : cmd.args) {
    r.status = EndOfCommand(a.column);
    return r;
  }
  const MenuPath& path = cmd.path;
  if (path == kServer) {
    const TableSpec& spec = *Config::SpecFor(kServer);
    std::vector<std::pair<std::string, std::string>> kv;
    for (const char* k :
         {"enabled", "port", "max-mtu", "max-mru", "mrru", "keepalive-timeout", "default-profile",
          "certificate", "require-client-certificate", "authentication"}) {
      kv.emplace_back(k, config_.GetOf(spec, config_.Items(kServer)[0], k));
    }
    r.output = KeyValues(kv);
    return r;
  }
  if (path == kRing) {
    r.output = sink_ ? sink_->RingStatus() : "";
    return r;
  }
  if (path == kPoolUsed) {
    std::vector<Column> cols = {{"POOL", 12}, {"ADDRESS", 15}, {"OWNER", 16}, {"INFO", 16}};
    std::string out = " ";
    for (const Column& c : cols) absl::StrAppend(&out, Cell(c.title, c), " ");
    out = RStrip(out) + "\n";
    for (const auto& [addr, lease] : leases_.All()) {
      const Session* s = nullptr;
      auto it = sessions_.find(lease.session);
      if (it != sessions_.end()) s = it->second.get();
      std::vector<std::string> vals = {lease.pool.empty() ? "(static)" : lease.pool,
                                       FormatIpv4(addr), s ? s->iface : "", s ? s->user : ""};
      std::string line = " ";
      for (size_t i = 0; i < cols.size(); ++i) absl::StrAppend(&line, Cell(vals[i], cols[i]), " ");
      absl::StrAppend(&out, RStrip(line), "\n");
    }
    r.output = out;
    return r;
  }
  std::vector<Row> rows = Rows(path, now);
  const TableSpec* spec = Config::SpecFor(path);

  // Detail form: index, flags, then name=value groups.
  bool detail_form =
      detail || (!stats && (path == kSstpClient || path == kProfile || path == kBridge));
  if (detail_form && (spec != nullptr || path == kActive)) {
    std::vector<std::vector<std::string>> groups;
    int idx_width = 2;
    // Which fields print quoted (RouterOS quotes strings, not numbers, addresses or times).
    auto quoted = [&](const std::string& name) {
      if (path == kActive) {
        return name == "name" || name == "caller-id" || name == "encoding" || name == "interface";
      }
      if (path == kSstpServer && name == "encoding") return true;
      const PropSpec* p = spec ? spec->Find(name) : nullptr;
      return p != nullptr && IsStringKind(p->kind);
    };
    if (stats) {
      // print stats detail: the identity, then the counters.
      groups = {{"name"}, {"rx-byte", "tx-byte", "rx-packet", "tx-packet"}};
    } else if (path == kSstpServer) {
      groups = {{"name", "user", "mtu", "client-address", "uptime", "encoding"}};
    } else if (path == kActive) {
      groups = {{"name", "service", "caller-id", "address", "uptime", "encoding"},
                {"session-id", "interface", "mtu", "idle-time"},
                {"rx-byte", "tx-byte", "rx-packet", "tx-packet"}};
    } else if (path == kSecret) {
      groups = {{"name", "service", "caller-id", "password", "profile"},
                {"local-address", "remote-address", "routes"}};
      idx_width = 3;
    } else if (path == kSstpClient) {
      groups = {{"name", "max-mtu", "max-mru", "mrru", "connect-to"},
                {"user", "password", "proxy", "profile"},
                {"certificate", "keepalive-timeout", "add-default-route", "dial-on-demand"},
                {"authentication"}};
    } else if (path == kProfile) {
      groups = {{"name", "local-address", "remote-address", "dns-server"},
                {"only-one", "session-timeout", "idle-timeout", "change-tcp-mss"},
                {"use-encryption", "bridge", "rate-limit"}};
    } else {
      std::vector<std::string> all;
      for (const PropSpec& p : spec->props) {
        if (p.name != "disabled" && p.name != "comment") all.push_back(p.name);
      }
      groups = {all};
    }
    std::string out = Flags(path);
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& row = rows[i];
      std::string prefix = absl::StrCat(
          std::string(size_t(std::max(0, idx_width - int(absl::StrCat(i).size()))), ' '), i, " ",
          row.flags, " ");
      std::string indent(prefix.size(), ' ');
      auto comment = row.v.find("comment");
      if (comment != row.v.end() && !comment->second.empty()) {
        absl::StrAppend(&out, prefix, ";;; ", comment->second, "\n");
        prefix = indent;
      }
      bool first = true;
      for (const auto& group : groups) {
        std::vector<std::string> fields;
        for (const std::string& name : group) {
          const PropSpec* p = spec ? spec->Find(name) : nullptr;
          std::string v = row.v.count(name) ? row.v.at(name) : "";
          if (path == kProfile && name != "name" && v.empty()) continue;
          if (path == kProfile && name != "name" && p && v == p->def) continue;
          fields.push_back(absl::StrCat(name, "=", quoted(name) ? Quote(v) : v));
        }
        if (fields.empty()) continue;
        // Wrap a long group at 80 columns, as a terminal of that width would.
        std::string line = first ? prefix : indent;
        size_t base = line.size();
        for (const std::string& f : fields) {
          if (line.size() > base && line.size() + 1 + f.size() > 80 && path != kSecret &&
              path != kSstpClient) {
            absl::StrAppend(&out, line, "\n");
            line = indent;
            base = line.size();
          }
          if (line.size() > base) line += " ";
          line += f;
        }
        absl::StrAppend(&out, line, "\n");
        first = false;
      }
      out += "\n";
    }
    r.output = out;
    return r;
  }

  // Table form.
  int idx_width = 2;
  std::vector<Column> cols;
  std::vector<std::string> keys;
  if (stats) {
    // RouterOS "print stats": cumulative counters, right-aligned, digits grouped by three.
    cols = {{"NAME", 20, false, true},
            {"RX-BYTE", 15, true},
            {"TX-BYTE", 15, true},
            {"RX-PACKET", 11, true},
            {"TX-PACKET", 11, true}};
    keys = {"name", "rx-byte", "tx-byte", "rx-packet", "tx-packet"};
    for (Row& row : rows) {
      for (size_t k = 1; k < keys.size(); ++k) row.v[keys[k]] = GroupDigits(row.v[keys[k]]);
    }
  } else if (path == kSstpServer) {
    cols = {{"NAME", 9, false, true}, {"USER", 12},  {"MTU", 10},
            {"CLIENT-ADDRESS", 17},   {"UPTIME", 8}, {"ENCODING", 11}};
    keys = {"name", "user", "mtu", "client-address", "uptime", "encoding"};
  } else if (path == kEthernet) {
    idx_width = 3;
    cols = {{"NAME", 19}, {"MTU", 4, true}, {"MAC-ADDRESS", 17, false, false, 2}, {"ARP", 10}};
    keys = {"name", "mtu", "mac-address", "arp"};
  } else if (path == kSecret) {
    cols = {{"NAME", 13, false, true},      {"SERVICE", 7},
            {"CALLER-ID", 14, false, true}, {"PASSWORD", 13, false, true},
            {"PROFILE", 12, false, true},   {"REMOTE-ADDRESS", 15}};
    keys = {"name", "service", "caller-id", "password", "profile", "remote-address"};
  } else if (path == kActive) {
    cols = {{"NAME", 12, false, true}, {"SERVICE", 7}, {"CALLER-ID", 19},
            {"ADDRESS", 15},           {"UPTIME", 8},  {"ENCODING", 11}};
    keys = {"name", "service", "caller-id", "address", "uptime", "encoding"};
  } else if (path == kBridgePort) {
    cols = {{"INTERFACE", 22}, {"BRIDGE", 22}};
    keys = {"interface", "bridge"};
  } else if (path == kPool) {
    cols = {{"NAME", 44}, {"RANGES", 40}};
    keys = {"name", "ranges"};
  } else if (path == kAddress) {
    cols = {{"ADDRESS", 18}, {"NETWORK", 15}, {"INTERFACE", 15}};
    keys = {"address", "network", "interface"};
  } else if (path == kRoute) {
    cols = {{"DST-ADDRESS", 18}, {"PREF-SRC", 15}, {"GATEWAY", 18}, {"DISTANCE", 8}};
    keys = {"dst-address", "pref-src", "gateway", "distance"};
  } else if (path == kCertificate) {
    cols = {{"NAME", 12, false, true}, {"COMMON-NAME", 24, false, true}, {"FINGERPRINT", 64}};
    keys = {"name", "common-name", "fingerprint"};
  } else {
    r.status = absl::InvalidArgumentError("bad command name print");
    return r;
  }
  size_t flag_width = rows.empty() ? 0 : rows[0].flags.size();
  if (rows.empty()) {
    static const std::map<std::string, size_t> kFlagWidth = {{"/interface sstp-server", 3},
                                                             {"/interface ethernet", 2},
                                                             {"/ppp secret", 1},
                                                             {"/ppp active", 1},
                                                             {"/ip address", 3},
                                                             {"/ip route", 5},
                                                             {"/interface bridge port", 3},
                                                             {"/certificate", 2},
                                                             {"/ip pool", 0}};
    auto it = kFlagWidth.find(PathString(path));
    flag_width = it == kFlagWidth.end() ? 0 : it->second;
  }
  auto row_prefix = [&](const std::string& idx, const std::string& flags) {
    std::string p(size_t(std::max(0, idx_width - int(idx.size()))), ' ');
    p += idx;
    p += " ";
    if (flag_width > 0) {
      p += flags;
      p += std::string(flag_width - std::min(flag_width, flags.size()), ' ');
      p += " ";
    }
    return p;
  };
  std::string out = Flags(path);
  std::string header = row_prefix("#", "");
  for (size_t c = 0; c < cols.size(); ++c) {
    if (c > 0) header += std::string(size_t(cols[c].gap), ' ');
    header += Cell(cols[c].title, cols[c]);
  }
  absl::StrAppend(&out, RStrip(header), "\n");
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string line = row_prefix(absl::StrCat(i), rows[i].flags);
    for (size_t c = 0; c < cols.size(); ++c) {
      if (c > 0) line += std::string(size_t(cols[c].gap), ' ');
      auto it = rows[i].v.find(keys[c]);
      line += Cell(it == rows[i].v.end() ? "" : it->second, cols[c]);
    }
    absl::StrAppend(&out, RStrip(line), "\n");
  }
  r.output = out;
  return r;
}

Controller::Result Controller::Monitor(const Command& cmd, absl::Time now) {
  Result r;
  std::vector<Row> rows = Rows(cmd.path, now);
  size_t consumed;
  auto sel = Select(cmd.path, cmd, rows, &consumed);
  if (!sel.ok()) {
    r.status = sel.status();
    return r;
  }
  for (size_t k = consumed; k < cmd.positional.size(); ++k) {
    if (cmd.positional[k].text != "once" || cmd.positional[k].find) {
      r.status = EndOfCommand(cmd.positional[k].column);
      return r;
    }
  }
  if (!cmd.args.empty()) {
    r.status = EndOfCommand(cmd.args[0].column);
    return r;
  }
  if (sel->size() != 1) {
    r.status = absl::InvalidArgumentError("failure: monitor takes exactly one item");
    return r;
  }
  const Row& row = rows[(*sel)[0]];
  std::vector<std::pair<std::string, std::string>> kv;
  if (cmd.path == kSstpServer) {
    auto it = sessions_.find(row.session);
    if (row.session == 0 || it == sessions_.end()) {
      kv.emplace_back("status", Quote("disconnected"));
    } else {
      const Session& s = *it->second;
      kv.emplace_back("status", Quote(s.state == SessionState::kUp ? "connected" : "connecting"));
      kv.emplace_back("uptime", FormatDuration(Seconds(now - s.up_at)));
      kv.emplace_back("idle-time", FormatDuration(Seconds(now - s.last_activity)));
      kv.emplace_back("user", Quote(s.user));
      kv.emplace_back("caller-id", Quote(s.caller_id));
      kv.emplace_back("mtu", absl::StrCat(s.mtu));
      // Not in the manual's transcript: the data plane's counters (rx = from the client).
      kv.emplace_back("rx-byte", absl::StrCat(s.counters.rx_bytes));
      kv.emplace_back("tx-byte", absl::StrCat(s.counters.tx_bytes));
      kv.emplace_back("rx-packet", absl::StrCat(s.counters.rx_packets));
      kv.emplace_back("tx-packet", absl::StrCat(s.counters.tx_packets));
    }
  } else {
    // /interface sstp-client: what the client program reported.
    const std::string name = row.v.at("name");
    auto it = client_status_.find(name);
    std::string status = row.v.at("disabled") == "yes" ? "disabled" : "disconnected";
    if (it != client_status_.end() && it->second.count("status")) status = it->second.at("status");
    kv.emplace_back("status", Quote(status));
    if (it != client_status_.end() && row.v.at("disabled") != "yes") {
      for (const std::string& k : ClientStatusKeys()) {
        if (k == "status") continue;
        auto f = it->second.find(k);
        if (f == it->second.end()) continue;
        const bool quoted = k == "user" || k == "caller-id" || k == "last-error";
        kv.emplace_back(k, quoted ? Quote(f->second) : f->second);
      }
    }
  }
  r.output = KeyValues(kv);
  return r;
}

Controller::Result Controller::Report(const Command& cmd, absl::Time now) {
  // Used by the sstp-client program to publish its state: report <name> status=connected ...
  Result r;
  std::vector<Row> rows = Rows(cmd.path, now);
  size_t consumed;
  auto sel = Select(cmd.path, cmd, rows, &consumed);
  if (!sel.ok()) {
    r.status = sel.status();
    return r;
  }
  if (consumed < cmd.positional.size()) {
    r.status = EndOfCommand(cmd.positional[consumed].column);
    return r;
  }
  const std::vector<std::string>& kKeys = ClientStatusKeys();
  for (const Arg& a : cmd.args) {
    if (std::find(kKeys.begin(), kKeys.end(), a.name) == kKeys.end() || a.value.size() > 128) {
      r.status = EndOfCommand(a.column);
      return r;
    }
  }
  for (size_t i : *sel) {
    auto& m = client_status_[rows[i].v["name"]];
    for (const Arg& a : cmd.args) m[a.name] = a.value;
  }
  return r;
}

Controller::Result Controller::ImportCertificate(const Command& cmd) {
  Result r;
  std::string file, name, passphrase;
  for (const Positional& p : cmd.positional) {
    r.status = EndOfCommand(p.column);
    return r;
  }
  for (const Arg& a : cmd.args) {
    if (a.name == "file-name") {
      file = a.value;
    } else if (a.name == "name") {
      name = a.value;
    } else if (a.name == "passphrase") {
      passphrase = a.value;
    } else {
      r.status = EndOfCommand(a.column);
      return r;
    }
  }
  if (file.empty()) {
    r.status = absl::FailedPreconditionError("failure: file-name not specified");
    return r;
  }
  if (file.find("..") != std::string::npos || file.front() == '/') {
    r.status = absl::InvalidArgumentError("invalid value for argument file-name");
    return r;
  }
  std::string full = absl::StrCat(options_.files_dir, "/", file);
  FILE* f = fopen(full.c_str(), "r");
  if (f == nullptr) {
    r.status = absl::FailedPreconditionError(absl::StrCat("failure: file ", file, " not found"));
    return r;
  }
  X509* cert = PEM_read_X509(f, nullptr, nullptr, passphrase.empty() ? nullptr : passphrase.data());
  rewind(f);
  EVP_PKEY* key =
      PEM_read_PrivateKey(f, nullptr, nullptr, passphrase.empty() ? nullptr : passphrase.data());
  fclose(f);
  int certs = 0, keys = 0, orphan_keys = 0;
  if (cert != nullptr) {
    char cn[256] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    X509_digest(cert, EVP_sha256(), md, &md_len);
    std::string fp;
    for (unsigned i = 0; i < md_len; ++i) absl::StrAppend(&fp, absl::Hex(md[i], absl::kZeroPad2));
    if (name.empty()) name = absl::StrCat(file, "_0");
    bool has_key = key != nullptr && X509_check_private_key(cert, key) == 1;
    (void)config_.AddCertificate(name, file, cn, fp, has_key);
    certs = 1;
    keys = has_key ? 1 : 0;
  } else if (key != nullptr) {
    // A key file alone: attach it to the certificate whose public key it matches.
    bool matched = false;
    for (Item& it : config_.Items(kCertificate)) {
      std::string cf = absl::StrCat(options_.files_dir, "/", it.v["file"]);
      FILE* g = fopen(cf.c_str(), "r");
      if (g == nullptr) continue;
      X509* c = PEM_read_X509(g, nullptr, nullptr, nullptr);
      fclose(g);
      if (c != nullptr && X509_check_private_key(c, key) == 1) {
        it.v["private-key"] = "yes";
        it.v["key-file"] = file;
        matched = true;
      }
      X509_free(c);
    }
    keys = matched ? 1 : 0;
    orphan_keys = matched ? 0 : 1;
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  if (certs == 0 && keys == 0 && orphan_keys == 0) {
    r.status = absl::FailedPreconditionError(
        absl::StrCat("failure: no certificate or key found in ", file));
    return r;
  }
  r.output = KeyValues({{"certificates-imported", absl::StrCat(certs)},
                        {"private-keys-imported", absl::StrCat(keys)},
                        {"files-imported", "1"},
                        {"decryption-failures", "0"},
                        {"keys-with-no-certificate", absl::StrCat(orphan_keys)}});
  r.changed = true;
  return r;
}

Controller::Result Controller::Run(const Command& cmd, absl::Time now) {
  Result r;
  const MenuPath& path = cmd.path;
  const std::string& verb = cmd.verb;
  if (verb == "export") {
    for (const Positional& p : cmd.positional) {
      if (p.text != "compact" && p.text != "verbose") {
        r.status = EndOfCommand(p.column);
        return r;
      }
    }
    if (!cmd.args.empty()) {
      r.status = EndOfCommand(cmd.args[0].column);
      return r;
    }
    r.output = absl::StrCat("# sstp-controlplane configuration\n", config_.Export(path));
    return r;
  }
  if (verb == "print" && path == MenuPath{"log"}) return PrintLog(cmd, now);
  if (verb == "print") return Print(cmd, now);
  if (verb == "monitor") return Monitor(cmd, now);
  if (verb == "import") return ImportCertificate(cmd);
  if (verb == "report") return Report(cmd, now);
  const TableSpec* spec = Config::SpecFor(path);
  if (verb == "add") {
    if (!cmd.positional.empty()) {
      r.status = EndOfCommand(cmd.positional[0].column);
      return r;
    }
    auto idx = config_.Add(path, cmd.args);
    if (!idx.ok()) {
      r.status = idx.status();
      return r;
    }
    r.changed = true;
    ApplyConfigSideEffects(path);
    return r;
  }
  if (verb == "set" && spec != nullptr && spec->singleton) {
    if (!cmd.positional.empty()) {
      r.status = EndOfCommand(cmd.positional[0].column);
      return r;
    }
    r.status = config_.Set(path, 0, cmd.args);
    r.changed = r.status.ok();
    if (r.changed) ApplyConfigSideEffects(path);
    return r;
  }
  if (verb == "set" || verb == "remove") {
    std::vector<Row> rows = Rows(path, now);
    size_t consumed;
    auto sel = Select(path, cmd, rows, &consumed);
    if (!sel.ok()) {
      r.status = sel.status();
      return r;
    }
    if (consumed < cmd.positional.size()) {
      r.status = EndOfCommand(cmd.positional[consumed].column);
      return r;
    }
    if (verb == "remove" && !cmd.args.empty()) {
      r.status = EndOfCommand(cmd.args[0].column);
      return r;
    }
    if (verb == "set") {
      // Validate on a copy first so a multi-item set is all-or-nothing.
      Config trial = config_;
      for (size_t i : *sel) {
        if (rows[i].dynamic) {
          r.status = absl::FailedPreconditionError("failure: can not change dynamic item");
          return r;
        }
        absl::Status s = trial.Set(path, rows[i].index, cmd.args);
        if (!s.ok()) {
          r.status = s;
          return r;
        }
      }
      config_ = std::move(trial);
      r.changed = !sel->empty();
      ApplyConfigSideEffects(path);
      return r;
    }
    // remove: dynamic rows close their session; static ones go from the highest index down.
    std::vector<size_t> statics;
    for (size_t i : *sel) {
      if (rows[i].dynamic) {
        if (Session* s = FindSession(rows[i].session)) {
          Close(*s, ring::CloseReason::kAdminClose, "removed by administrator");
        }
      } else {
        statics.push_back(rows[i].index);
      }
    }
    std::sort(statics.rbegin(), statics.rend());
    statics.erase(std::unique(statics.begin(), statics.end()), statics.end());
    Config trial = config_;
    for (size_t i : statics) {
      absl::Status s = trial.Remove(path, i);
      if (!s.ok()) {
        r.status = s;
        return r;
      }
    }
    config_ = std::move(trial);
    r.changed = !statics.empty();
    if (r.changed) ApplyConfigSideEffects(path);
    SweepClosed(now);
    return r;
  }
  r.status = absl::InvalidArgumentError(
      absl::StrCat("bad command name ", verb, AtColumn(cmd.verb_column)));
  return r;
}

absl::Status Controller::LoadConfig(absl::string_view text, absl::Time now) {
  Config saved = config_;
  // Ports are known from the data plane, not from the file: keep them.
  std::vector<Item> ports = config_.Items(kEthernet);
  config_ = Config();
  for (Item& p : ports) {
    Item fresh;
    fresh.v["name"] = p.v["default-name"];
    fresh.v["default-name"] = p.v["default-name"];
    if (p.v.count("mac-address")) fresh.v["mac-address"] = p.v["mac-address"];
    config_.Items(kEthernet).push_back(fresh);
  }
  MenuPath cwd;
  int line_no = 0;
  std::string pending;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    std::string line(absl::StripAsciiWhitespace(raw));
    if (!pending.empty()) line = pending + line;
    if (!line.empty() && line.back() == '\\') {
      line.pop_back();
      pending = line;
      continue;
    }
    pending.clear();
    if (line.empty() || line[0] == '#') continue;
    auto cmd = ParseCommand(line, cwd);
    absl::Status s = cmd.status();
    if (s.ok() && cmd->verb.empty()) {
      cwd = cmd->path;
      continue;
    }
    if (s.ok()) {
      // Ports named in the file that the data plane has not reported (yet) still get settings.
      if (cmd->path == kEthernet && !cmd->positional.empty() && cmd->positional[0].find) {
        absl::string_view f = cmd->positional[0].text;
        if (absl::ConsumePrefix(&f, "default-name=")) AddPort(std::string(f), "", 0);
      }
      if (cmd->verb != "add" && cmd->verb != "set" && cmd->verb != "import") {
        s = absl::InvalidArgumentError(absl::StrCat("command ", cmd->verb, " not allowed here"));
      } else {
        s = Run(*cmd, now).status;
      }
    }
    if (!s.ok()) {
      config_ = std::move(saved);
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": ", s.message()));
    }
  }
  ApplyConfigSideEffects({});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Side effects of configuration changes on the data plane

void Controller::ApplyConfigSideEffects(const MenuPath& path) {
  auto under = [&](const MenuPath& p) {
    return path.empty() ||
           (path.size() <= p.size() && std::equal(path.begin(), path.end(), p.begin()));
  };
  // /interface sstp-server itself is the static interface table, not the server settings.
  if ((under(kServer) && path != kSstpServer) || under(kCertificate)) {
    SendConfig();
    if (config_.Server("enabled") != "yes") {
      for (auto& [id, s] : sessions_) {
        if (s->state != SessionState::kClosed) {
          Close(*s, ring::CloseReason::kAdminClose, "server disabled");
        }
      }
    }
  }
  if (under(kEthernet) && sink_ != nullptr) {
    const TableSpec& spec = *Config::SpecFor(kEthernet);
    for (const Item& it : config_.Items(kEthernet)) {
      ring::PortConfig pc;
      pc.name = config_.GetOf(spec, it, "default-name");
      pc.proxy_arp = config_.GetOf(spec, it, "arp") == "proxy-arp";
      sink_->Send(0, ring::MsgType::kPortConfig, 0, pc);
    }
  }
  if (under(kAddress) && sink_ != nullptr) {
    std::vector<ring::IpAddressConfig> now_addrs;
    const TableSpec& spec = *Config::SpecFor(kAddress);
    for (const Item& it : config_.Items(kAddress)) {
      if (config_.GetOf(spec, it, "disabled") == "yes") continue;
      auto p = ParsePrefix(config_.GetOf(spec, it, "address"));
      if (!p) continue;
      ring::IpAddressConfig a;
      a.interface = config_.GetOf(spec, it, "interface");
      a.address = ring::IpAddr::V4(p->addr);
      a.prefix_len = p->len;
      now_addrs.push_back(a);
    }
    auto same = [](const ring::IpAddressConfig& a, const ring::IpAddressConfig& b) {
      return a.interface == b.interface && a.address == b.address && a.prefix_len == b.prefix_len;
    };
    for (const auto& old : sent_addresses_) {
      bool kept = std::any_of(now_addrs.begin(), now_addrs.end(),
                              [&](const auto& n) { return same(n, old); });
      if (!kept) {
        ring::IpAddressConfig del = old;
        del.add = 0;
        sink_->Send(0, ring::MsgType::kIpAddress, 0, del);
      }
    }
    for (const auto& n : now_addrs) sink_->Send(0, ring::MsgType::kIpAddress, 0, n);
    sent_addresses_ = now_addrs;
  }
  if (under(kRoute)) SendStaticRoutes(true);
  if (under(kSstpServer) && path != kServer) {
    // Static interfaces added, renamed or removed: sessions take (or give back) their names.
    for (auto& [id, s] : sessions_) {
      if (!s->user.empty() && s->state != SessionState::kClosed) BindInterface(*s);
    }
  }
  if (under(kSecret)) {
    // A secret removed or disabled ends its sessions.
    for (auto& [id, s] : sessions_) {
      if (s->user.empty() || s->state == SessionState::kClosed) continue;
      int i = config_.FindByName(kSecret, s->user);
      if (i < 0 || config_.Get(kSecret, size_t(i), "disabled") == "yes") {
        Close(*s, ring::CloseReason::kAdminClose, "secret removed or disabled");
      }
    }
  }
}

void Controller::SendConfig() {
  if (sink_ == nullptr) return;
  ring::ServerConfig c;
  c.enabled = config_.Server("enabled") == "yes";
  c.port = uint16_t(*ParseInt(config_.Server("port")));
  c.max_mtu = uint16_t(*ParseInt(config_.Server("max-mtu")));
  c.max_mru = uint16_t(*ParseInt(config_.Server("max-mru")));
  std::string mrru = config_.Server("mrru");
  c.mrru = mrru == "disabled" ? 0 : uint16_t(*ParseInt(mrru));
  std::string ka = config_.Server("keepalive-timeout");
  c.keepalive_timeout_s = ka == "disabled" ? 0 : uint32_t(*ParseInt(ka));
  c.require_client_certificate = config_.Server("require-client-certificate") == "yes";
  c.auth_mask = AllowedAuth();
  std::string cert = config_.Server("certificate");
  int i = config_.FindByName(kCertificate, cert);
  if (i >= 0) {
    const Item& it = config_.Items(kCertificate)[size_t(i)];
    c.certificate_file = absl::StrCat(options_.files_dir, "/", it.v.at("file"));
    auto k = it.v.find("key-file");
    c.private_key_file =
        k == it.v.end() ? c.certificate_file : absl::StrCat(options_.files_dir, "/", k->second);
  }
  sink_->Send(0, ring::MsgType::kServerConfig, 0, c);
}

void Controller::SendRoute(const ring::RouteEntry& r, uint64_t session, bool add) {
  if (sink_ == nullptr) return;
  sink_->Send(0, add ? ring::MsgType::kRouteAdd : ring::MsgType::kRouteDel, session,
              ring::Route{r});
}

void Controller::SendStaticRoutes(bool) {
  std::vector<ring::RouteEntry> now_routes;
  const TableSpec& spec = *Config::SpecFor(kRoute);
  for (const Item& it : config_.Items(kRoute)) {
    if (config_.GetOf(spec, it, "disabled") == "yes") continue;
    auto p = ParsePrefix(config_.GetOf(spec, it, "dst-address"));
    auto g = ParseIpv4(config_.GetOf(spec, it, "gateway"));
    if (!p || !g) continue;
    ring::RouteEntry e;
    e.dst = ring::IpAddr::V4(p->addr);
    e.prefix_len = p->len;
    e.gateway = ring::IpAddr::V4(*g);
    e.metric = uint32_t(*ParseInt(config_.GetOf(spec, it, "distance")));
    now_routes.push_back(e);
  }
  auto same = [](const ring::RouteEntry& a, const ring::RouteEntry& b) {
    return a.dst == b.dst && a.prefix_len == b.prefix_len && a.gateway == b.gateway &&
           a.metric == b.metric;
  };
  for (const auto& old : sent_static_routes_) {
    if (std::none_of(now_routes.begin(), now_routes.end(),
                     [&](const auto& n) { return same(n, old); })) {
      SendRoute(old, 0, false);
    }
  }
  for (const auto& n : now_routes) {
    if (std::none_of(sent_static_routes_.begin(), sent_static_routes_.end(),
                     [&](const auto& o) { return same(n, o); })) {
      SendRoute(n, 0, true);
    }
  }
  sent_static_routes_ = now_routes;
}

// ---------------------------------------------------------------------------------------------
// Ring messages and sessions

Session* Controller::FindSession(uint64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void Controller::StartResync(uint64_t cp_epoch, absl::Time now) {
  cp_epoch_ = cp_epoch;
  uint32_t n = sink_ ? sink_->n_lcores() : 0;
  leases_.set_n_lcores(n);
  pending_dumps_ = int(n);
  for (uint32_t l = 0; l < n; ++l) {
    sink_->Send(l, ring::MsgType::kDumpRequest, 0, ring::DumpRequest{cp_epoch});
  }
  // The data plane may hold older settings: send the whole configuration again (idempotent).
  sent_static_routes_.clear();
  sent_addresses_.clear();
  ApplyConfigSideEffects({});
}

void Controller::BindInterface(Session& s) {
  s.dynamic_iface = true;
  s.iface = absl::StrCat("<sstp-", s.user, ">");
  const TableSpec& spec = *Config::SpecFor(kSstpServer);
  for (const Item& it : config_.Items(kSstpServer)) {
    if (config_.GetOf(spec, it, "user") != s.user) continue;
    if (config_.GetOf(spec, it, "disabled") == "yes") continue;
    std::string name = config_.GetOf(spec, it, "name");
    bool taken = false;
    for (const auto& [id, o] : sessions_) {
      if (o.get() != &s && !o->dynamic_iface && o->iface == name &&
          o->state != SessionState::kClosed) {
        taken = true;
      }
    }
    if (!taken) {
      s.dynamic_iface = false;
      s.iface = name;
      return;
    }
  }
}

static std::string CallerId(const ring::SessionOpened& o) {
  return absl::StrCat(o.peer.ToString(), ":", o.peer_port);
}

void Controller::OnDumpSession(uint32_t lcore, uint64_t id, const ring::DumpSession& d,
                               absl::Time now) {
  auto s = std::make_unique<Session>();
  s->id = id;
  s->lcore = lcore;
  s->opened = d.opened;
  s->caller_id = CallerId(d.opened);
  s->user = d.authorized.user;
  s->method = d.authorized.method;
  s->state = SessionState::kUp;
  s->opened_at = absl::FromUnixNanos(int64_t(d.opened.opened_unix_ns));
  s->up_at = absl::FromUnixNanos(int64_t(d.up_unix_ns));
  s->last_activity = d.counters.last_rx_unix_ns
                         ? absl::FromUnixNanos(int64_t(d.counters.last_rx_unix_ns))
                         : s->up_at;
  s->counters = d.counters;
  s->mtu = d.up.mtu ? d.up.mtu : 1500;
  s->local_addr = d.up.local_v4.family == 4 ? d.up.local_v4.v4() : 0;
  s->remote_addr = d.up.remote_v4.family == 4 ? d.up.remote_v4.v4() : 0;
  s->routes = d.up.routes;
  s->profile = ProfileOf(s->user);
  s->logged_in = d.up_unix_ns != 0;
  // The address stays leased to the session: find the pool it came from, so it is never handed
  // out twice.
  if (s->remote_addr) {
    std::string pool;
    for (const Item& it : config_.Items(kPool)) {
      auto ranges = ParseRanges(it.v.at("ranges"));
      for (const Range& r : ranges ? *ranges : std::vector<Range>{}) {
        if (s->remote_addr >= r.lo && s->remote_addr <= r.hi) pool = it.v.at("name");
      }
    }
    leases_.Claim(s->remote_addr, pool, id);
    s->remote_leased = true;
  }
  if (s->routes.empty() && s->remote_addr) {
    ring::RouteEntry host;
    host.dst = ring::IpAddr::V4(s->remote_addr);
    host.prefix_len = 32;
    s->routes.push_back(host);
  }
  Session& ref = *s;
  sessions_[id] = std::move(s);
  BindInterface(ref);
  // A session still negotiating when the old control plane died has lost its PPP state with it:
  // end it cleanly, the client reconnects.
  if (d.up_unix_ns == 0) {
    Close(ref, ring::CloseReason::kControlPlaneGone, "negotiation interrupted by a restart");
  }
  (void)now;
}

void Controller::OnMessage(uint32_t lcore, const ring::Decoded& msg, absl::Time now) {
  using ring::MsgType;
  switch (msg.type) {
    case MsgType::kHello: {
      const auto& h = std::get<ring::Hello>(msg.body);
      leases_.set_n_lcores(h.n_lcores);
      break;
    }
    case MsgType::kPortStatus: {
      const auto& p = std::get<ring::PortStatus>(msg.body);
      AddPort(p.name, MacString(p.mac), p.mtu);
      break;
    }
    case MsgType::kSessionOpened: {
      const auto& o = std::get<ring::SessionOpened>(msg.body);
      if (sessions_.count(msg.session_id)) break;  // duplicate: already known
      auto s = std::make_unique<Session>();
      s->id = msg.session_id;
      s->lcore = lcore;
      s->opened = o;
      s->caller_id = CallerId(o);
      s->opened_at = now;
      s->up_at = now;
      s->last_activity = now;
      Session& ref = *s;
      sessions_[msg.session_id] = std::move(s);
      if (!resynced() || config_.Server("enabled") != "yes") {
        Close(ref, ring::CloseReason::kAdminClose,
              resynced() ? "server disabled" : "control plane resyncing");
      } else {
        if (engine_factory_) ref.engine = engine_factory_(*this, ref);
        if (ref.engine) {
          ref.engine->Start(now);
        } else {
          Close(ref, ring::CloseReason::kNegotiationFailed, "no PPP engine in this build");
        }
      }
      break;
    }
    case MsgType::kPppFrameUp: {
      Session* s = FindSession(msg.session_id);
      if (s == nullptr || s->engine == nullptr || s->state == SessionState::kClosed) break;
      s->last_activity = now;
      s->engine->OnFrame(std::get<ring::PppFrame>(msg.body).frame, now);
      break;
    }
    case MsgType::kSessionClosed: {
      Session* s = FindSession(msg.session_id);
      if (s != nullptr) {
        const auto& c = std::get<ring::SessionClosed>(msg.body);
        // The final counters (what the last kCounters did not yet include).
        s->counters = c.counters;
        if (s->close_reason.empty()) s->close_reason = ring::CloseReasonName(c.reason);
        s->state = SessionState::kClosed;
      }
      break;
    }
    case MsgType::kCounters: {
      for (const auto& c : std::get<ring::Counters>(msg.body).sessions) {
        Session* s = FindSession(c.session_id);
        if (s == nullptr) continue;
        if (c.counters.last_rx_unix_ns != s->counters.last_rx_unix_ns &&
            c.counters.last_rx_unix_ns != 0) {
          s->last_activity = absl::FromUnixNanos(int64_t(c.counters.last_rx_unix_ns));
        }
        s->counters = c.counters;
      }
      break;
    }
    case MsgType::kDumpSession:
      OnDumpSession(lcore, msg.session_id, std::get<ring::DumpSession>(msg.body), now);
      break;
    case MsgType::kDumpEnd: {
      const auto& e = std::get<ring::DumpEnd>(msg.body);
      if (e.cp_epoch == cp_epoch_ && pending_dumps_ > 0) --pending_dumps_;
      break;
    }
    default:
      break;  // down-direction types never arrive on an up ring
  }
  SweepClosed(now);
}

void Controller::SweepClosed(absl::Time now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second->state == SessionState::kClosed) {
      RemoveSession((it++)->first, now);
    } else {
      ++it;
    }
  }
}

void Controller::RemoveSession(uint64_t id, absl::Time now) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  if (s.logged_in) {
    // RouterOS's accounting line: "<user> logged out, <seconds> <bytes in> <bytes out>
    // <packets in> <packets out>", the counters as the data plane last (or finally) reported.
    Log("sstp,ppp,info,account",
        absl::StrCat(s.user, " logged out, ", Seconds(now - s.up_at), " ", s.counters.rx_bytes, " ",
                     s.counters.tx_bytes, " ", s.counters.rx_packets, " ", s.counters.tx_packets,
                     s.close_reason.empty() ? "" : " (", s.close_reason,
                     s.close_reason.empty() ? "" : ")"),
        now);
  }
  for (const ring::RouteEntry& r : s.routes) SendRoute(r, id, false);
  if (s.remote_leased) leases_.Release(s.remote_addr, id);
  if (s.local_leased) leases_.Release(s.local_addr, id);
  sessions_.erase(it);
}

void Controller::OnTimer(absl::Time now) {
  for (auto& [id, s] : sessions_) {
    if (s->state == SessionState::kClosed) continue;
    if (s->engine && s->engine->NextDeadline() <= now) s->engine->OnTimer(now);
    if (s->state != SessionState::kUp) continue;
    auto st = ParseDuration(ProfileProp(s->profile, "session-timeout"));
    if (st && *st > 0 && now - s->up_at >= absl::Seconds(int64_t(*st))) {
      Close(*s, ring::CloseReason::kSessionTimeout, "session-timeout");
      continue;
    }
    auto it = ParseDuration(ProfileProp(s->profile, "idle-timeout"));
    if (it && *it > 0 && now - s->last_activity >= absl::Seconds(int64_t(*it))) {
      Close(*s, ring::CloseReason::kIdleTimeout, "idle-timeout");
    }
  }
  SweepClosed(now);
}

absl::Time Controller::NextDeadline() const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [id, s] : sessions_) {
    if (s->engine) next = std::min(next, s->engine->NextDeadline());
    if (s->state == SessionState::kUp) {
      auto st = ParseDuration(ProfileProp(s->profile, "session-timeout"));
      if (st && *st > 0) next = std::min(next, s->up_at + absl::Seconds(int64_t(*st)));
      auto it = ParseDuration(ProfileProp(s->profile, "idle-timeout"));
      if (it && *it > 0) next = std::min(next, s->last_activity + absl::Seconds(int64_t(*it)));
    }
  }
  return next;
}

// ---------------------------------------------------------------------------------------------
// Engine callbacks

std::optional<UserEntry> Controller::FindUser(const std::string& name) const {
  int i = config_.FindByName(kSecret, name);
  if (i < 0) return std::nullopt;
  UserEntry u;
  auto g = [&](const char* p) { return config_.Get(kSecret, size_t(i), p); };
  u.name = name;
  u.password = g("password");
  u.profile = g("profile");
  u.caller_id = g("caller-id");
  u.local_address = g("local-address");
  u.remote_address = g("remote-address");
  u.routes = g("routes");
  return u;
}

std::string Controller::ProfileOf(const std::string& user) const {
  int i = config_.FindByName(kSecret, user);
  if (i >= 0) return config_.Get(kSecret, size_t(i), "profile");
  return config_.Server("default-profile");
}

std::string Controller::BridgePortOf(const std::string& profile) const {
  // The profile's bridge= -> its first enabled /interface bridge port -> that port's data-plane
  // name (the ethernet default-name; ring::SessionUp::bridge_port).
  const std::string bridge = ProfileProp(profile, "bridge");
  if (bridge.empty()) return "";
  int b = config_.FindByName(kBridge, bridge);
  if (b < 0 || config_.Get(kBridge, size_t(b), "disabled") == "yes") return "";
  const auto& ports = config_.Items(kBridgePort);
  for (size_t i = 0; i < ports.size(); ++i) {
    if (config_.Get(kBridgePort, i, "bridge") != bridge) continue;
    if (config_.Get(kBridgePort, i, "disabled") == "yes") continue;
    int e = config_.FindByName(kEthernet, config_.Get(kBridgePort, i, "interface"));
    if (e < 0) continue;
    return config_.Get(kEthernet, size_t(e), "default-name");
  }
  return "";
}

std::string Controller::ProfileProp(const std::string& profile, const std::string& prop) const {
  int i = config_.FindByName(kProfile, profile);
  if (i < 0) return "";
  return config_.Get(kProfile, size_t(i), prop);
}

absl::Status Controller::MayConnect(const Session& s, const UserEntry& u) const {
  int i = config_.FindByName(kSecret, u.name);
  if (i < 0) return absl::PermissionDeniedError("no such user");
  if (config_.Get(kSecret, size_t(i), "disabled") == "yes") {
    return absl::PermissionDeniedError("user disabled");
  }
  std::string service = config_.Get(kSecret, size_t(i), "service");
  if (service != "any" && service != "sstp") {
    return absl::PermissionDeniedError("service mismatch");
  }
  if (!u.caller_id.empty() && u.caller_id != s.opened.peer.ToString() &&
      u.caller_id != s.caller_id) {
    return absl::PermissionDeniedError("caller-id mismatch");
  }
  if (ProfileProp(u.profile, "only-one") == "yes") {
    for (const auto& [id, o] : sessions_) {
      if (o.get() != &s && o->user == u.name && o->state != SessionState::kClosed) {
        return absl::PermissionDeniedError("only-one: user already connected");
      }
    }
  }
  return absl::OkStatus();
}

uint8_t Controller::AllowedAuth() const {
  return ParseAuthList(config_.Server("authentication")).value_or(0x0f);
}

void Controller::SendFrame(Session& s, absl::Span<const uint8_t> frame) {
  if (sink_ == nullptr || s.state == SessionState::kClosed) return;
  ring::PppFrame f;
  f.frame.assign(frame.begin(), frame.end());
  sink_->Send(s.lcore, ring::MsgType::kPppFrameDown, s.id, f);
}

void Controller::Authorized(Session& s, const std::string& user, ring::AuthMethod method,
                            const std::array<uint8_t, 32>& hlak, absl::Time now) {
  s.user = user;
  s.method = method;
  s.state = SessionState::kAuthenticated;
  s.profile = ProfileOf(user);
  BindInterface(s);
  ring::SessionAuthorized a;
  a.method = method;
  a.hlak = hlak;
  a.user = user;
  if (sink_) sink_->Send(s.lcore, ring::MsgType::kSessionAuthorized, s.id, a);
  (void)now;
}

absl::StatusOr<std::pair<uint32_t, uint32_t>> Controller::Addresses(Session& s) {
  if (s.remote_addr != 0) return std::make_pair(s.local_addr, s.remote_addr);
  auto u = FindUser(s.user);
  std::string profile = u ? u->profile : config_.Server("default-profile");
  std::string local =
      u && !u->local_address.empty() ? u->local_address : ProfileProp(profile, "local-address");
  std::string remote =
      u && !u->remote_address.empty() ? u->remote_address : ProfileProp(profile, "remote-address");
  if (remote.empty()) {
    return absl::NotFoundError("no remote-address in the secret or its profile");
  }
  auto lease = [&](const std::string& spec, uint32_t lcore,
                   bool* leased) -> absl::StatusOr<uint32_t> {
    if (auto ip = ParseIpv4(spec)) {
      *leased = false;
      return *ip;
    }
    int p = config_.FindByName(kPool, spec);
    if (p < 0) return absl::FailedPreconditionError(absl::StrCat("no pool ", spec));
    auto ranges = ParseRanges(config_.Get(kPool, size_t(p), "ranges"));
    auto a = leases_.Allocate(spec, ranges ? *ranges : std::vector<Range>{}, lcore, s.id);
    if (!a) return absl::ResourceExhaustedError(absl::StrCat("pool ", spec, " exhausted"));
    *leased = true;
    return *a;
  };
  auto r = lease(remote, s.lcore, &s.remote_leased);
  if (!r.ok()) return r.status();
  if (!s.remote_leased && !leases_.Claim(*r, "", s.id)) {
    return absl::FailedPreconditionError(
        absl::StrCat("remote address ", FormatIpv4(*r), " already in use"));
  }
  s.remote_leased = true;  // fixed addresses are claimed too, so two sessions never share one
  uint32_t l = 0;
  if (!local.empty()) {
    auto la = lease(local, s.lcore, &s.local_leased);
    if (!la.ok()) {
      leases_.Release(*r, s.id);
      s.remote_leased = false;
      return la.status();
    }
    l = *la;
  }
  s.local_addr = l;
  s.remote_addr = *r;
  return std::make_pair(l, *r);
}

std::vector<uint32_t> Controller::DnsServers(const Session& s) const {
  std::vector<uint32_t> out;
  std::string dns = ProfileProp(s.profile.empty() ? ProfileOf(s.user) : s.profile, "dns-server");
  for (absl::string_view part : absl::StrSplit(dns, ',', absl::SkipEmpty())) {
    if (auto ip = ParseIpv4(part)) out.push_back(*ip);
  }
  return out;
}

void Controller::NetworkUp(Session& s, uint16_t mtu, uint64_t local_ifid, uint64_t remote_ifid,
                           bool bridge, absl::Time now) {
  // A second NCP (IPV6CP after IPCP, or BCP) updates the session; routes are installed once.
  const bool first_up = s.state != SessionState::kUp;
  s.state = SessionState::kUp;
  s.mtu = mtu;
  if (first_up) {
    s.up_at = now;
    s.last_activity = now;
    s.logged_in = true;
    Log("sstp,ppp,info,account",
        absl::StrCat(s.user, " logged in, ", s.remote_addr ? FormatIpv4(s.remote_addr) : "",
                     " from ", s.caller_id, " (", ring::AuthMethodName(s.method), ")"),
        now);
  }
  ring::SessionUp up;
  if (s.local_addr) up.local_v4 = ring::IpAddr::V4(s.local_addr);
  if (s.remote_addr) up.remote_v4 = ring::IpAddr::V4(s.remote_addr);
  up.local_ifid = local_ifid;
  up.remote_ifid = remote_ifid;
  up.mtu = mtu;
  up.mru = mtu;
  up.bridge = bridge;
  s.bridged = bridge;
  if (bridge) up.bridge_port = BridgePortOf(s.profile);
  up.user = s.user;
  std::string profile = s.profile;
  auto rl = ParseRateLimit(ProfileProp(profile, "rate-limit"));
  if (rl) {
    up.rate_rx_bps = rl->first;
    up.rate_tx_bps = rl->second;
  }
  up.session_timeout_s =
      uint32_t(ParseDuration(ProfileProp(profile, "session-timeout")).value_or(0));
  up.idle_timeout_s = uint32_t(ParseDuration(ProfileProp(profile, "idle-timeout")).value_or(0));
  up.change_tcp_mss = ProfileProp(profile, "change-tcp-mss") != "no";
  auto dns = DnsServers(s);
  if (dns.size() > 0) up.dns1 = ring::IpAddr::V4(dns[0]);
  if (dns.size() > 1) up.dns2 = ring::IpAddr::V4(dns[1]);
  // Routes: the client's own address, then the secret's routes= (RFC 1332 gives the address;
  // RouterOS adds the routes when the link comes up and removes them when it goes down).
  if (first_up) s.routes.clear();
  if (first_up && s.remote_addr) {
    ring::RouteEntry host;
    host.dst = ring::IpAddr::V4(s.remote_addr);
    host.prefix_len = 32;
    s.routes.push_back(host);
  }
  auto u = first_up ? FindUser(s.user) : std::nullopt;
  if (u) {
    for (const RouteSpec& rs : ParseRoutes(u->routes).value_or(std::vector<RouteSpec>{})) {
      ring::RouteEntry e;
      e.dst = ring::IpAddr::V4(rs.dst.Network());
      e.prefix_len = rs.dst.len;
      // A gateway equal to the client's address (or none) means "through this session".
      if (rs.gateway && *rs.gateway != s.remote_addr) e.gateway = ring::IpAddr::V4(*rs.gateway);
      e.metric = rs.metric;
      s.routes.push_back(e);
    }
  }
  up.routes = s.routes;
  if (sink_) {
    sink_->Send(s.lcore, ring::MsgType::kSessionUp, s.id, up);
    if (first_up) {
      for (const ring::RouteEntry& r : s.routes) SendRoute(r, s.id, true);
    }
  }
}

void Controller::SetClientStatus(const std::string& name,
                                 std::map<std::string, std::string> status) {
  if (status.empty()) {
    client_status_.erase(name);
  } else {
    client_status_[name] = std::move(status);
  }
}

void Controller::Log(const std::string& topics, const std::string& message, absl::Time now) {
  LogEntry e{now, topics, message};
  if (log_hook_) log_hook_(e);
  if (log_.size() >= kMaxLogLines) log_.pop_front();
  log_.push_back(std::move(e));
}

void Controller::AuthFailed(const Session& s, const std::string& user, ring::AuthMethod method,
                            const std::string& reason, absl::Time now) {
  // RouterOS: "<user> authentication failed: <reason>"; the caller and the method say which
  // client tried and how.
  Log("sstp,ppp,error",
      absl::StrCat(user.empty() ? "(no user)" : user, " authentication failed: ", reason,
                   " (caller-id ", s.caller_id, ", ", ring::AuthMethodName(method), ")"),
      now);
}

Controller::Result Controller::PrintLog(const Command& cmd, absl::Time now) {
  Result r;
  for (const Positional& p : cmd.positional) {
    if (p.find || (p.text != "without-paging" && p.text != "brief")) {
      r.status = EndOfCommand(p.column);
      return r;
    }
  }
  for (const Arg& a : cmd.args) {
    r.status = EndOfCommand(a.column);
    return r;
  }
  // RouterOS prints today's lines with the time only, older ones with "mon/dd" first.
  const absl::TimeZone utc = absl::UTCTimeZone();
  const std::string today = absl::FormatTime("%Y-%m-%d", now, utc);
  for (const LogEntry& e : log_) {
    std::string when = absl::FormatTime("%H:%M:%S", e.time, utc);
    if (absl::FormatTime("%Y-%m-%d", e.time, utc) != today) {
      when = absl::StrCat(absl::AsciiStrToLower(absl::FormatTime("%b/%d", e.time, utc)), " ", when);
    }
    absl::StrAppend(&r.output, " ", when, " ", e.topics, " ", e.message, "\n");
  }
  return r;
}

void Controller::Close(Session& s, ring::CloseReason reason, const std::string& detail) {
  if (s.state == SessionState::kClosed) return;
  // Our own decisions (not the PPP engine's, which already terminated LCP): the engine sends an
  // LCP Terminate-Request down the ring ahead of the SSTP close, so the client learns why from
  // PPP too. The session's frames are still sent while it is not marked closed.
  const bool ours = reason == ring::CloseReason::kAdminClose ||
                    reason == ring::CloseReason::kSessionTimeout ||
                    reason == ring::CloseReason::kIdleTimeout;
  if (ours && s.engine != nullptr && !s.terminating) {
    s.terminating = true;
    s.engine->Terminate(detail);
    if (s.state == SessionState::kClosed) return;  // the engine closed it meanwhile
  }
  s.state = SessionState::kClosed;
  s.close_reason = ring::CloseReasonName(reason);
  if (sink_) {
    sink_->Send(s.lcore, ring::MsgType::kSessionClose, s.id, ring::SessionClose{reason, detail});
  }
}

}  // namespace cp
