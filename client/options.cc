#include "client/options.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace client {
namespace {

constexpr struct {
  uint8_t bit;
  const char* name;
} kAuthNames[] = {
    {kAuthPap, "pap"}, {kAuthChap, "chap"}, {kAuthMschap1, "mschap1"}, {kAuthMschap2, "mschap2"}};

absl::StatusOr<bool> ParseBool(absl::string_view key, absl::string_view v) {
  std::string l = absl::AsciiStrToLower(v);
  if (l == "yes" || l == "true" || l == "1" || l == "on") return true;
  if (l == "no" || l == "false" || l == "0" || l == "off") return false;
  return absl::InvalidArgumentError(absl::StrCat(key, ": expected yes or no, got \"", v, "\""));
}

absl::StatusOr<int> ParseIntIn(absl::string_view key, absl::string_view v, int lo, int hi) {
  int n;
  if (!absl::SimpleAtoi(v, &n) || n < lo || n > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": expected a number from ", lo, " to ", hi, ", got \"", v, "\""));
  }
  return n;
}

bool IsDisabled(absl::string_view v) {
  std::string l = absl::AsciiStrToLower(v);
  return l == "disabled" || l == "none" || l == "no";
}

// One settable key: the config-file name doubles as the long option name.
struct Key {
  const char* name;
  bool is_bool;  // a bare --name means yes
  std::function<absl::Status(Options&, absl::string_view)> set;
};

absl::Status SetString(std::string& field, absl::string_view v) {
  field = std::string(v);
  return absl::OkStatus();
}

// Testing only (see Fault in options.h); ParseOptions also wants the environment's consent.
absl::Status SetFault(Options& o, absl::string_view v) {
  if (v == "none") {
    o.fault = Fault::kNone;
  } else if (v == "tamper-compound-mac") {
    o.fault = Fault::kTamperCompoundMac;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("fault: unknown fault \"", v, "\" (known: tamper-compound-mac)"));
  }
  return absl::OkStatus();
}

const std::vector<Key>& Keys() {
  static const auto* keys = new std::vector<Key>{
      {"name", false,
       [](Options& o, absl::string_view v) -> absl::Status {
         // IFNAMSIZ is 16 including the terminator.
         if (v.empty() || v.size() > 15 || v.find_first_of("/ \t:") != absl::string_view::npos) {
           return absl::InvalidArgumentError(
               absl::StrCat("name: \"", v, "\" is not a valid interface name (1-15 characters)"));
         }
         return SetString(o.name, v);
       }},
      {"connect-to", false,
       [](Options& o, absl::string_view v) -> absl::Status {
         auto hp = ParseHostPort(v, 443);
         if (!hp.ok())
           return absl::InvalidArgumentError(absl::StrCat("connect-to: ", hp.status().message()));
         o.connect_to = *hp;
         return absl::OkStatus();
       }},
      {"user", false, [](Options& o, absl::string_view v) { return SetString(o.user, v); }},
      {"password", false, [](Options& o, absl::string_view v) { return SetString(o.password, v); }},
      {"authentication", false,
       [](Options& o, absl::string_view v) -> absl::Status {
         auto m = ParseAuthMethods(v);
         if (!m.ok()) return m.status();
         o.authentication = *m;
         return absl::OkStatus();
       }},
      {"certificate", false,
       [](Options& o, absl::string_view v) {
         return SetString(o.certificate, IsDisabled(v) ? "" : v);
       }},
      {"certificate-key", false,
       [](Options& o, absl::string_view v) { return SetString(o.certificate_key, v); }},
      {"ca-file", false, [](Options& o, absl::string_view v) { return SetString(o.ca_file, v); }},
      {"verify-server", true,
       [](Options& o, absl::string_view v) -> absl::Status {
         auto b = ParseBool("verify-server", v);
         if (!b.ok()) return b.status();
         o.verify_server = *b;
         return absl::OkStatus();
       }},
      {"anonymous-tls", true,
       [](Options& o, absl::string_view v) -> absl::Status {
         auto b = ParseBool("anonymous-tls", v);
         if (!b.ok()) return b.status();
         o.anonymous_tls = *b;
         return absl::OkStatus();
       }},
      {"proxy", false,
       [](Options& o, absl::string_view v) -> absl::Status {
         auto hp = ParseHostPort(v, 443);
         if (!hp.ok())
           return absl::InvalidArgumentError(absl::StrCat("proxy: ", hp.status().message()));
         // The manual's default 0.0.0.0:443 means "no proxy".
         if (hp->host == "0.0.0.0" || hp->host == "::") hp->host.clear();
         o.proxy = *hp;
         return absl::OkStatus();
       }},
      {"proxy-user", false,
       [](Options& o, absl::string_view v) { return SetString(o.proxy_user, v); }},
      {"proxy-password", false,
       [](Options& o, absl::string_view v) { return SetString(o.proxy_password, v); }},
      {"add-default-route", true,
       [](Options& o, absl::string_view v) -> absl::Status {
         auto b = ParseBool("add-default-route", v);
         if (!b.ok()) return b.status();
         o.add_default_route = *b;
         return absl::OkStatus();
       }},
      {"dial-on-demand", true,
       [](Options& o, absl::string_view v) -> absl::Status {
         auto b = ParseBool("dial-on-demand", v);
         if (!b.ok()) return b.status();
         o.dial_on_demand = *b;
         return absl::OkStatus();
       }},
      {"keepalive-timeout", false,
       [](Options& o, absl::string_view v) -> absl::Status {
         if (IsDisabled(v)) {
           o.keepalive_timeout.reset();
           return absl::OkStatus();
         }
         auto d = ParseRouterOsDuration(v);
         if (!d.ok() || *d < absl::Seconds(1) || *d > absl::Hours(24)) {
           return absl::InvalidArgumentError(absl::StrCat(
               "keepalive-timeout: expected seconds (1 to 86400) or \"disabled\", got \"", v,
               "\""));
         }
         o.keepalive_timeout = *d;
         return absl::OkStatus();
       }},
      // 4091 is what a PPP frame can carry inside a 12-bit SSTP length (MS-SSTP 2.2.3).
      {"max-mtu", false,
       [](Options& o, absl::string_view v) -> absl::Status {
         auto n = ParseIntIn("max-mtu", v, 576, 4091);
         if (!n.ok()) return n.status();
         o.max_mtu = *n;
         return absl::OkStatus();
       }},
      {"max-mru", false,
       [](Options& o, absl::string_view v) -> absl::Status {
         auto n = ParseIntIn("max-mru", v, 576, 4091);
         if (!n.ok()) return n.status();
         o.max_mru = *n;
         return absl::OkStatus();
       }},
      {"mrru", false,
       [](Options& o, absl::string_view v) -> absl::Status {
         if (IsDisabled(v)) {
           o.mrru.reset();
           return absl::OkStatus();
         }
         auto n = ParseIntIn("mrru", v, 1500, 65535);  // RFC 1990 5.1.1: 16-bit MRRU
         if (!n.ok()) return n.status();
         o.mrru = *n;
         return absl::OkStatus();
       }},
      {"profile", false, [](Options& o, absl::string_view v) { return SetString(o.profile, v); }},
      {"route", false,
       [](Options& o, absl::string_view v) -> absl::Status {
         // Repeatable; a config line may also list several separated by commas.
         for (absl::string_view r : absl::StrSplit(v, ',', absl::SkipWhitespace())) {
           auto p = ParsePrefix(absl::StripAsciiWhitespace(r));
           if (!p.ok())
             return absl::InvalidArgumentError(absl::StrCat("route: ", p.status().message()));
           o.routes.push_back(*p);
         }
         return absl::OkStatus();
       }},
      {"use-peer-dns", true,
       [](Options& o, absl::string_view v) -> absl::Status {
         auto b = ParseBool("use-peer-dns", v);
         if (!b.ok()) return b.status();
         o.use_peer_dns = *b;
         return absl::OkStatus();
       }},
      {"comment", false, [](Options&, absl::string_view) { return absl::OkStatus(); }},
      {"status-socket", false,
       [](Options& o, absl::string_view v) { return SetString(o.status_socket, v); }},
      {"dns-file", false, [](Options& o, absl::string_view v) { return SetString(o.dns_file, v); }},
      {"reconnect-interval", false,
       [](Options& o, absl::string_view v)
           -> absl::
               Status {
                 auto d = ParseRouterOsDuration(v);
                 if (!d.ok() || *d < absl::Milliseconds(10)) {
                   return absl::InvalidArgumentError(
                       absl::StrCat("reconnect-interval: expected a duration, got \"", v, "\""));
                 }
                 o.reconnect_min = *d;
                 return absl::OkStatus();
               }},
      {"reconnect-max-interval", false,
       [](Options& o, absl::string_view v)
           -> absl::
               Status {
                 auto d = ParseRouterOsDuration(v);
                 if (!d.ok() || *d < absl::Milliseconds(10)) {
                   return absl::InvalidArgumentError(absl::StrCat(
                       "reconnect-max-interval: expected a duration, got \"", v, "\""));
                 }
                 o.reconnect_max = *d;
                 return absl::OkStatus();
               }},
      {"fault", false, SetFault},
      {"bridge", true,
       [](Options& o, absl::string_view v) -> absl::
                                               Status {
                                                 auto b = ParseBool("bridge", v);
                                                 if (!b.ok()) return b.status();
                                                 o.bridge = *b;
                                                 return absl::OkStatus();
                                               }},
      {"once", true,
       [](Options& o, absl::string_view v) -> absl::
                                               Status {
                                                 auto b = ParseBool("once", v);
                                                 if (!b.ok()) return b.status();
                                                 o.once = *b;
                                                 return absl::OkStatus();
                                               }},
  };
  return *keys;
}

const Key* FindKey(absl::string_view name) {
  for (const Key& k : Keys()) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

std::string Unquote(absl::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      if (v[i] == '\\' && i + 2 < v.size()) ++i;
      out.push_back(v[i]);
    }
    return out;
  }
  return std::string(v);
}

// A key/value from any source, applied in order: profile, config file, environment, command line.
struct Setting {
  std::string key;
  std::string value;
  std::string origin;  // "config line 3", "command line"
};

}  // namespace

std::string AuthMethodsToString(uint8_t methods) {
  std::vector<absl::string_view> names;
  for (const auto& a : kAuthNames) {
    if (methods & a.bit) names.push_back(a.name);
  }
  return absl::StrJoin(names, ",");
}

absl::StatusOr<uint8_t> ParseAuthMethods(absl::string_view text) {
  uint8_t m = 0;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    bool found = false;
    for (const auto& a : kAuthNames) {
      if (absl::EqualsIgnoreCase(part, a.name)) {
        m |= a.bit;
        found = true;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(absl::StrCat("authentication: unknown method \"", part,
                                                     "\" (allowed: mschap2,mschap1,chap,pap)"));
    }
  }
  if (m == 0) return absl::InvalidArgumentError("authentication: no method given");
  return m;
}

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, uint16_t default_port) {
  HostPort hp;
  hp.port = default_port;
  absl::string_view host = text;
  absl::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": missing ']'"));
    }
    host = text.substr(1, close - 1);
    absl::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": expected :PORT after ']'"));
      }
      port = rest.substr(1);
    }
  } else {
    size_t colon = text.rfind(':');
    // More than one colon without brackets: a bare IPv6 address.
    if (colon != absl::string_view::npos && text.find(':') == colon) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
  }
  if (host.empty()) return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": no host"));
  if (port.data() != nullptr) {
    int p;
    if (!absl::SimpleAtoi(port, &p) || p < 1 || p > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": bad port \"", port, "\""));
    }
    hp.port = static_cast<uint16_t>(p);
  }
  hp.host = std::string(host);
  return hp;
}

std::string Prefix::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family, addr, buf, sizeof(buf));
  return absl::StrCat(buf, "/", length);
}

absl::StatusOr<Prefix> ParsePrefix(absl::string_view text) {
  Prefix p;
  std::pair<std::string, std::string> parts = absl::StrSplit(text, absl::MaxSplits('/', 1));
  if (inet_pton(AF_INET, parts.first.c_str(), p.addr) == 1) {
    p.family = AF_INET;
    p.length = 32;
  } else if (inet_pton(AF_INET6, parts.first.c_str(), p.addr) == 1) {
    p.family = AF_INET6;
    p.length = 128;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an address or prefix"));
  }
  if (text.find('/') != absl::string_view::npos) {
    int len;
    if (!absl::SimpleAtoi(parts.second, &len) || len < 0 || len > p.length) {
      return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": bad prefix length"));
    }
    p.length = len;
  }
  // Clear host bits so "198.18.1.7/24" means the network, as `ip route` would insist.
  int bytes = p.family == AF_INET ? 4 : 16;
  for (int i = 0; i < bytes; ++i) {
    int keep = p.length - i * 8;
    if (keep <= 0) {
      p.addr[i] = 0;
    } else if (keep < 8) {
      p.addr[i] &= static_cast<uint8_t>(0xff << (8 - keep));
    }
  }
  return p;
}

absl::StatusOr<absl::Duration> ParseRouterOsDuration(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  int64_t plain;
  if (absl::SimpleAtoi(text, &plain)) {
    if (plain < 0) return absl::InvalidArgumentError("negative duration");
    return absl::Seconds(plain);
  }
  // RouterOS writes 1d2h3m4s; absl::ParseDuration knows h, m, s, ms but not d.
  absl::Duration total = absl::ZeroDuration();
  absl::string_view rest = text;
  size_t d = rest.find('d');
  if (d != absl::string_view::npos) {
    int64_t days;
    if (!absl::SimpleAtoi(rest.substr(0, d), &days) || days < 0) {
      return absl::InvalidArgumentError(absl::StrCat("bad duration \"", text, "\""));
    }
    total += absl::Hours(24 * days);
    rest = rest.substr(d + 1);
    if (rest.empty()) return total;
  }
  absl::Duration part;
  if (rest.empty() || !absl::ParseDuration(rest, &part) || part < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("bad duration \"", text, "\""));
  }
  return total + part;
}

std::string FormatRouterOsDuration(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(d);
  if (s <= 0) return "0s";
  std::string out;
  int64_t w = s / (7 * 86400);
  s %= 7 * 86400;
  int64_t dd = s / 86400;
  s %= 86400;
  int64_t h = s / 3600;
  s %= 3600;
  int64_t m = s / 60;
  s %= 60;
  if (w) absl::StrAppend(&out, w, "w");
  if (dd) absl::StrAppend(&out, dd, "d");
  if (h) absl::StrAppend(&out, h, "h");
  if (m) absl::StrAppend(&out, m, "m");
  if (s) absl::StrAppend(&out, s, "s");
  return out;
}

std::string Options::StatusSocketPath() const {
  if (!status_socket.empty()) return status_socket;
  return absl::StrCat("/run/sstp-client/", name, ".sock");
}

std::string Options::DnsFilePath() const {
  if (!dns_file.empty()) return dns_file;
  return absl::StrCat("/run/sstp-client/", name, ".resolv.conf");
}

absl::Status Options::Validate() const {
  if (help || version || status_query) return absl::OkStatus();
  if (connect_to.empty()) {
    return absl::InvalidArgumentError("connect-to: no server given (--connect-to HOST[:PORT])");
  }
  if (user.empty()) return absl::InvalidArgumentError("user: no user name given (--user NAME)");
  if (!certificate_key.empty() && certificate.empty()) {
    return absl::InvalidArgumentError("certificate-key given without certificate");
  }
  if (!proxy_user.empty() && proxy.empty()) {
    return absl::InvalidArgumentError("proxy-user given without proxy");
  }
  if (reconnect_max < reconnect_min) {
    return absl::InvalidArgumentError("reconnect-max-interval is shorter than reconnect-interval");
  }
  if (bridge) {
    // A bridged tunnel carries Ethernet frames: no IP of its own to route or resolve with, and
    // no IP packet to dial on.
    const char* conflict = !routes.empty()     ? "route"
                           : add_default_route ? "add-default-route"
                           : use_peer_dns      ? "use-peer-dns"
                           : dial_on_demand    ? "dial-on-demand"
                                               : nullptr;
    if (conflict != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bridge: ", conflict, " needs an IP tunnel; a bridged one carries Ethernet frames"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ConfigFile> ParseConfigText(absl::string_view text) {
  ConfigFile cf;
  std::vector<ConfigFile::Entry>* section = &cf.main;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": missing ']'"));
      }
      absl::string_view inner = absl::StripAsciiWhitespace(line.substr(1, line.size() - 2));
      if (!absl::ConsumePrefix(&inner, "profile")) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line_no, ": only [profile NAME] sections are known"));
      }
      inner = absl::StripAsciiWhitespace(inner);
      if (inner.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": profile without name"));
      }
      cf.profiles.emplace_back(std::string(inner), std::vector<ConfigFile::Entry>{});
      section = &cf.profiles.back().second;
      continue;
    }
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": expected key=value, got \"", line, "\""));
    }
    std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value = Unquote(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (FindKey(key) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": unknown key \"", key, "\""));
    }
    if (key == "profile" && section != &cf.main) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": a profile cannot select a profile"));
    }
    section->push_back({key, value, line_no});
  }
  return cf;
}

absl::StatusOr<Options> ParseOptions(const OptionSources& src) {
  Options o;
  std::vector<Setting> cli;
  std::string config_path;
  std::string password_file;
  std::string proxy_password_file;
  const std::vector<std::string>& a = src.args;
  for (size_t i = 0; i < a.size(); ++i) {
    absl::string_view arg = a[i];
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      continue;
    }
    if (arg == "--version") {
      o.version = true;
      continue;
    }
    if (arg == "--status") {
      o.status_query = true;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    std::string name(arg);
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    }
    const Key* key = FindKey(name);
    bool file_opt = name == "config" || name == "password-file" || name == "proxy-password-file";
    if (key == nullptr && !file_opt) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name, " (see --help)"));
    }
    if (!value.has_value()) {
      if (key != nullptr && key->is_bool) {
        value = "yes";
      } else if (i + 1 < a.size()) {
        value = a[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
    }
    if (name == "config") {
      config_path = *value;
    } else if (name == "password-file") {
      password_file = *value;
    } else if (name == "proxy-password-file") {
      proxy_password_file = *value;
    } else {
      if (name == "password") o.password_on_command_line = true;
      cli.push_back({name, *value, "command line"});
    }
  }

  std::vector<Setting> settings;
  if (!config_path.empty()) {
    if (src.read_file == nullptr) return absl::InternalError("no file reader");
    bool world_readable = false;
    auto text = src.read_file(config_path, &world_readable);
    if (!text.ok()) {
      return absl::NotFoundError(
          absl::StrCat("config ", config_path, ": ", text.status().message()));
    }
    auto cf = ParseConfigText(*text);
    if (!cf.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(config_path, ": ", cf.status().message()));
    }
    // The profile is chosen by the command line, else the file, else "default".
    std::string profile = "default";
    for (const auto& e : cf->main) {
      if (e.key == "profile") profile = e.value;
    }
    for (const auto& s : cli) {
      if (s.key == "profile") profile = s.value;
    }
    bool found = profile == "default" || profile == "default-encryption";
    for (const auto& [pname, entries] : cf->profiles) {
      if (pname != profile) continue;
      found = true;
      for (const auto& e : entries) {
        settings.push_back(
            {e.key, e.value, absl::StrCat(config_path, ":", e.line, " (profile ", pname, ")")});
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(
          absl::StrCat("profile \"", profile, "\" is not defined in ", config_path));
    }
    for (const auto& e : cf->main) {
      if (e.key == "password") o.config_file_world_readable = world_readable;
      settings.push_back({e.key, e.value, absl::StrCat(config_path, ":", e.line)});
    }
    o.config_file = config_path;
  } else {
    for (const auto& s : cli) {
      if (s.key == "profile" && s.value != "default" && s.value != "default-encryption") {
        return absl::InvalidArgumentError(absl::StrCat(
            "profile \"", s.value, "\" needs a [profile ", s.value, "] section in --config"));
      }
    }
  }
  // The environment sits between the file and the command line.
  if (src.getenv != nullptr) {
    if (auto pw = src.getenv("SSTP_PASSWORD"); pw.has_value()) {
      settings.push_back({"password", *pw, "SSTP_PASSWORD"});
    }
    if (auto pw = src.getenv("SSTP_PROXY_PASSWORD"); pw.has_value()) {
      settings.push_back({"proxy-password", *pw, "SSTP_PROXY_PASSWORD"});
    }
  }
  for (auto [path, key] :
       {std::pair{password_file, "password"}, std::pair{proxy_password_file, "proxy-password"}}) {
    if (path.empty()) continue;
    if (src.read_file == nullptr) return absl::InternalError("no file reader");
    bool world_readable = false;
    auto text = src.read_file(path, &world_readable);
    if (!text.ok()) {
      return absl::NotFoundError(absl::StrCat(key, "-file ", path, ": ", text.status().message()));
    }
    // The first line, without its newline: `echo secret > file` is how people write these.
    absl::string_view first = *text;
    first = first.substr(0, first.find('\n'));
    absl::ConsumeSuffix(&first, "\r");
    settings.push_back({key, std::string(first), absl::StrCat(key, "-file")});
  }
  settings.insert(settings.end(), cli.begin(), cli.end());
  for (const Setting& s : settings) {
    const Key* key = FindKey(s.key);
    absl::Status st = key->set(o, s.value);
    if (!st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(s.origin, ": ", st.message()));
    }
  }
  // A fault is for tests of a server's checks; it makes every connection fail, so a stray
  // `fault=` in a config file or a shell history must not take effect by itself.
  if (o.fault != Fault::kNone) {
    std::optional<std::string> allow;
    if (src.getenv != nullptr) allow = src.getenv(kAllowFaultsEnv);
    if (!allow.has_value() || *allow != "1") {
      return absl::FailedPreconditionError(
          absl::StrCat("fault: --fault is a testing-only option that breaks every call on purpose; "
                       "it is refused unless ",
                       kAllowFaultsEnv, "=1 is set in the environment"));
    }
  }
  // Only a password that survived the merge from the command line is worth the warning.
  bool cli_password = false;
  for (const auto& s : cli) cli_password |= s.key == "password";
  o.password_on_command_line = cli_password;
  absl::Status v = o.Validate();
  if (!v.ok()) return v;
  return o;
}

void ScrubSecretArgs(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    for (const char* opt : {"--password", "--proxy-password"}) {
      size_t n = strlen(opt);
      if (strncmp(argv[i], opt, n) != 0) continue;
      if (argv[i][n] == '=') {
        memset(argv[i] + n + 1, 'x', strlen(argv[i] + n + 1));
      } else if (argv[i][n] == '\0' && i + 1 < argc) {
        memset(argv[i + 1], 'x', strlen(argv[i + 1]));
        ++i;
      }
    }
  }
}

std::string UsageText() {
  return R"(Usage: sstp-client --connect-to HOST[:PORT] --user NAME [options]
       sstp-client --config FILE [options]
       sstp-client --status [--name NAME | --status-socket PATH]

Connects to an SSTP (MS-SSTP) server over HTTPS and brings up a TUN interface carrying the PPP
tunnel. Options are the RouterOS /interface sstp-client properties; a config file (--config) holds
the same keys as key=value lines. The command line overrides the file.

  --connect-to HOST[:PORT]   server (name or address; default port 443)
  --user NAME                user name
  --password-file FILE       password from the first line of FILE (or env SSTP_PASSWORD);
                             --password TEXT also works but is visible until the program starts
  --authentication LIST      allowed methods: mschap2,mschap1,chap,pap (default all)
  --certificate FILE         client certificate chain (PEM; key too unless --certificate-key)
  --certificate-key FILE     client private key (PEM)
  --ca-file FILE             trusted CAs (PEM); default: the system's store
  --verify-server=no         do NOT check the server's certificate and name (insecure)
  --anonymous-tls            TLS without certificates on either side, for a server of ours in
                             anonymous mode (RouterOS certificate=none; insecure)
  --proxy HOST:PORT          HTTP proxy (CONNECT); --proxy-user, --proxy-password-file or env
                             SSTP_PROXY_PASSWORD for Basic authentication
  --add-default-route        route everything through the tunnel (keeps a host route to the
                             server and the proxy through the previous gateway)
  --route DST                extra route through the tunnel (repeatable; IPv4 or IPv6 prefix)
  --dial-on-demand           bring the interface up and connect on the first packet
  --keepalive-timeout SECS   SSTP echo interval, or "disabled" (default 60)
  --max-mtu N, --max-mru N   default 1500 (at most 4091)
  --mrru N|disabled          multilink MRRU (RFC 1990; default disabled)
  --profile NAME             apply the [profile NAME] section of the config file
  --use-peer-dns             write the server's DNS servers to --dns-file
                             (default /run/sstp-client/NAME.resolv.conf)
  --bridge                   bridged Ethernet (BCP, RFC 3518) on a TAP interface instead of IP
                             on a TUN: add NAME to a Linux bridge with the LAN to bridge it
  --name NAME                TUN interface name (default sstp-out1)
  --status-socket PATH       default /run/sstp-client/NAME.sock
  --reconnect-interval D     first reconnect delay (default 1s), doubling with jitter up to
  --reconnect-max-interval D (default 60s)
  --once                     exit when the session ends instead of reconnecting
  --status                   print the state of the running client of --name and exit

Testing only (refused unless SSTP_CLIENT_ALLOW_FAULTS=1 is in the environment):
  --fault tamper-compound-mac  send CALL_CONNECTED with one bit of the Compound MAC flipped, so
                             a server that checks the crypto binding aborts every call
)";
}

}  // namespace client
