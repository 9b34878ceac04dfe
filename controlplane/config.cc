#include "controlplane/config.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "controlplane/values.h"

namespace cp {
namespace {

std::string Key(const MenuPath& p) { return PathString(p); }

absl::Status InvalidValue(const Arg& a) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value for argument ", a.name, AtColumn(a.column)));
}

std::vector<TableSpec> BuildSpecs() {
  std::vector<TableSpec> s;
  // /interface sstp-server server (manual: "Server configuration").
  s.push_back({{"interface", "sstp-server", "server"},
               true,
               {{"enabled", Kind::kBool, "no"},
                {"port", Kind::kInt, "443", 1, 65535},
                {"max-mtu", Kind::kInt, "1500", 64, 65535},
                {"max-mru", Kind::kInt, "1500", 64, 65535},
                {"mrru", Kind::kIntOrDisabled, "disabled", 1500, 65535},
                {"keepalive-timeout", Kind::kIntOrDisabled, "60", 1, 4294967},
                {"default-profile", Kind::kProfileRef, "default"},
                {"certificate", Kind::kCertRef, "none"},
                {"require-client-certificate", Kind::kBool, "no"},
                {"authentication", Kind::kAuth, "pap,chap,mschap1,mschap2"}},
               "",
               {},
               false,
               false});
  // /interface sstp-server: static interfaces bound to a user.
  s.push_back({{"interface", "sstp-server"},
               false,
               {{"name", Kind::kName, ""},
                {"user", Kind::kString, ""},
                {"comment", Kind::kString, ""},
                {"disabled", Kind::kBool, "no"}},
               "sstp-in",
               {}});
  // /interface sstp-client: configuration only (the client program reads it).
  s.push_back({{"interface", "sstp-client"},
               false,
               {{"name", Kind::kName, ""},
                {"max-mtu", Kind::kInt, "1500", 64, 65535},
                {"max-mru", Kind::kInt, "1500", 64, 65535},
                {"mrru", Kind::kIntOrDisabled, "disabled", 1500, 65535},
                {"connect-to", Kind::kIpPort, "0.0.0.0:443"},
                {"user", Kind::kString, ""},
                {"password", Kind::kString, ""},
                {"proxy", Kind::kIpPort, "0.0.0.0:443"},
                {"profile", Kind::kProfileRef, "default"},
                {"certificate", Kind::kCertRef, "none"},
                {"keepalive-timeout", Kind::kIntOrDisabled, "60", 1, 4294967},
                {"add-default-route", Kind::kBool, "no"},
                {"dial-on-demand", Kind::kBool, "no"},
                {"authentication", Kind::kAuth, "pap,chap,mschap1,mschap2"},
                // RouterOS 6: check the server's certificate against the trusted ones in
                // /certificate (default no, as there: two RouterOS ends work without one).
                {"verify-server-certificate", Kind::kBool, "no"},
                {"comment", Kind::kString, ""},
                {"disabled", Kind::kBool, "yes"}},
               "sstp-out",
               {}});
  s.push_back(
      {{"interface", "ethernet"},
       false,
       {{"name", Kind::kName, ""},
        {"default-name", Kind::kReadOnly, ""},
        {"mtu", Kind::kInt, "1500", 64, 9000},
        {"mac-address", Kind::kReadOnly, "00:00:00:00:00:00"},
        {"arp", Kind::kChoice, "enabled", 0, 0, {"enabled", "disabled", "proxy-arp", "reply-only"}},
        {"comment", Kind::kString, ""},
        {"disabled", Kind::kBool, "no"}},
       "",
       {},
       false});
  // /interface bridge and its ports (minimal: what BCP sessions need, manual "SSTP also supports
  // BCP which allows to bridge SSTP tunnel with local interface").
  s.push_back(
      {{"interface", "bridge"},
       false,
       {{"name", Kind::kName, ""}, {"comment", Kind::kString, ""}, {"disabled", Kind::kBool, "no"}},
       "bridge",
       {}});
  s.push_back({{"interface", "bridge", "port"},
               false,
               {{"interface", Kind::kIfaceRef, ""},
                {"bridge", Kind::kBridgeRef, ""},
                {"comment", Kind::kString, ""},
                {"disabled", Kind::kBool, "no"}},
               "",
               {"interface", "bridge"},
               true,
               false});
  s.push_back({{"ppp", "secret"},
               false,
               {{"name", Kind::kName, ""},
                {"service",
                 Kind::kChoice,
                 "any",
                 0,
                 0,
                 {"any", "async", "l2tp", "ovpn", "pppoe", "pptp", "sstp"}},
                {"caller-id", Kind::kString, ""},
                {"password", Kind::kString, ""},
                {"profile", Kind::kProfileRef, "default"},
                {"local-address", Kind::kAddrOrPool, ""},
                {"remote-address", Kind::kAddrOrPool, ""},
                {"routes", Kind::kRoutes, ""},
                {"comment", Kind::kString, ""},
                {"disabled", Kind::kBool, "no"}},
               "",
               {"name"}});
  s.push_back(
      {{"ppp", "profile"},
       false,
       {{"name", Kind::kName, ""},
        {"local-address", Kind::kAddrOrPool, ""},
        {"remote-address", Kind::kAddrOrPool, ""},
        {"dns-server", Kind::kIpList, ""},
        {"only-one", Kind::kChoice, "default", 0, 0, {"default", "yes", "no"}},
        {"session-timeout", Kind::kDuration, ""},
        {"idle-timeout", Kind::kDuration, ""},
        {"change-tcp-mss", Kind::kChoice, "default", 0, 0, {"default", "yes", "no"}},
        {"use-encryption", Kind::kChoice, "default", 0, 0, {"default", "yes", "no", "required"}},
        {"bridge", Kind::kBridgeRef, ""},
        {"rate-limit", Kind::kRateLimit, ""},
        {"comment", Kind::kString, ""}},
       "",
       {"name"}});
  s.push_back(
      {{"ip", "pool"},
       false,
       {{"name", Kind::kName, ""}, {"ranges", Kind::kRanges, ""}, {"comment", Kind::kString, ""}},
       "pool",
       {"ranges"}});
  s.push_back({{"ip", "address"},
               false,
               {{"address", Kind::kAddrPrefix, ""},
                {"network", Kind::kIpv4, ""},
                {"interface", Kind::kIfaceRef, ""},
                {"comment", Kind::kString, ""},
                {"disabled", Kind::kBool, "no"}},
               "",
               {"address", "interface"},
               true,
               false});
  s.push_back({{"ip", "route"},
               false,
               {{"dst-address", Kind::kPrefix, "0.0.0.0/0"},
                {"gateway", Kind::kIpv4, ""},
                {"distance", Kind::kInt, "1", 0, 255},
                {"comment", Kind::kString, ""},
                {"disabled", Kind::kBool, "no"}},
               "",
               {"gateway"},
               true,
               false});
  s.push_back({{"certificate"},
               false,
               {{"name", Kind::kName, ""},
                {"file", Kind::kReadOnly, ""},
                {"common-name", Kind::kReadOnly, ""},
                {"fingerprint", Kind::kReadOnly, ""},
                {"private-key", Kind::kReadOnly, "no"},
                {"trusted", Kind::kBool, "yes"}},
               "",
               {},
               false});
  return s;
}

}  // namespace

const PropSpec* TableSpec::Find(const std::string& name) const {
  for (const PropSpec& p : props) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const std::vector<TableSpec>& Config::Specs() {
  static const auto* specs = new std::vector<TableSpec>(BuildSpecs());
  return *specs;
}

const TableSpec* Config::SpecFor(const MenuPath& path) {
  for (const TableSpec& s : Specs()) {
    if (s.path == path) return &s;
  }
  return nullptr;
}

Config::Config() {
  for (const TableSpec& s : Specs()) tables_[Key(s.path)];
  tables_[Key({"interface", "sstp-server", "server"})].push_back(Item{});
  Item def;
  def.v["name"] = "default";
  def.builtin = true;
  Item enc;
  enc.v["name"] = "default-encryption";
  enc.v["use-encryption"] = "yes";
  enc.builtin = true;
  auto& profiles = tables_[Key({"ppp", "profile"})];
  profiles.push_back(def);
  profiles.push_back(enc);
}

std::vector<Item>& Config::Items(const MenuPath& path) { return tables_[Key(path)]; }

const std::vector<Item>& Config::Items(const MenuPath& path) const {
  static const std::vector<Item> kNone;
  auto it = tables_.find(Key(path));
  return it == tables_.end() ? kNone : it->second;
}

std::string Config::GetOf(const TableSpec& spec, const Item& item, const std::string& prop) const {
  auto it = item.v.find(prop);
  if (it != item.v.end()) return it->second;
  const PropSpec* p = spec.Find(prop);
  return p ? p->def : "";
}

std::string Config::Get(const MenuPath& path, size_t index, const std::string& prop) const {
  const TableSpec* spec = SpecFor(path);
  const auto& items = Items(path);
  if (spec == nullptr || index >= items.size()) return "";
  return GetOf(*spec, items[index], prop);
}

std::string Config::Server(const std::string& prop) const {
  return Get({"interface", "sstp-server", "server"}, 0, prop);
}

int Config::FindByName(const MenuPath& path, const std::string& name) const {
  const auto& items = Items(path);
  for (size_t i = 0; i < items.size(); ++i) {
    auto it = items[i].v.find("name");
    if (it != items[i].v.end() && it->second == name) return int(i);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    auto it = items[i].v.find("default-name");
    if (it != items[i].v.end() && it->second == name) return int(i);
  }
  return -1;
}

absl::StatusOr<std::string> Config::Canonical(const TableSpec& spec, const Arg& a) const {
  const PropSpec* p = spec.Find(a.name);
  if (p == nullptr || p->kind == Kind::kReadOnly) {
    return absl::InvalidArgumentError(absl::StrCat("expected end of command", AtColumn(a.column)));
  }
  const std::string& v = a.value;
  if (v.size() > 1024) return InvalidValue(a);
  switch (p->kind) {
    case Kind::kString:
      return v;
    case Kind::kName:
      if (v.empty() || v.size() > 64) return InvalidValue(a);
      for (char c : v) {
        if (static_cast<unsigned char>(c) < 0x20) return InvalidValue(a);
      }
      return v;
    case Kind::kBool: {
      auto b = ParseYesNo(v);
      if (!b) return InvalidValue(a);
      return std::string(*b ? "yes" : "no");
    }
    case Kind::kInt:
    case Kind::kIntOrDisabled: {
      if (p->kind == Kind::kIntOrDisabled && v == "disabled") return v;
      auto n = ParseInt(v);
      if (!n || *n < p->min || *n > p->max) {
        return absl::InvalidArgumentError(absl::StrCat("invalid value for argument ", a.name, " (",
                                                       p->min, "..", p->max, ")",
                                                       AtColumn(a.column)));
      }
      return absl::StrCat(*n);
    }
    case Kind::kIpv4: {
      if (v.empty()) return v;
      auto ip = ParseIpv4(v);
      if (!ip) return InvalidValue(a);
      return FormatIpv4(*ip);
    }
    case Kind::kAddrOrPool: {
      if (v.empty()) return v;
      if (auto ip = ParseIpv4(v)) return FormatIpv4(*ip);
      if (FindByName({"ip", "pool"}, v) >= 0) return v;
      return InvalidValue(a);
    }
    case Kind::kPrefix: {
      auto pr = ParsePrefix(v);
      if (!pr) return InvalidValue(a);
      pr->addr = pr->Network();
      return FormatPrefix(*pr);
    }
    case Kind::kAddrPrefix: {
      auto pr = ParsePrefix(v);
      if (!pr) return InvalidValue(a);
      return FormatPrefix(*pr);
    }
    case Kind::kAuth: {
      auto m = ParseAuthList(v);
      if (!m) return InvalidValue(a);
      return FormatAuthList(*m);
    }
    case Kind::kIpPort: {
      auto ipp = ParseIpPort(v, 443);
      if (!ipp) return InvalidValue(a);
      return FormatIpPort(*ipp);
    }
    case Kind::kRoutes: {
      if (!ParseRoutes(v)) return InvalidValue(a);
      return v;
    }
    case Kind::kDuration: {
      if (v.empty()) return v;
      auto d = ParseDuration(v);
      if (!d) return InvalidValue(a);
      return FormatDuration(*d);
    }
    case Kind::kChoice:
      if (std::find(p->choices.begin(), p->choices.end(), v) == p->choices.end()) {
        return InvalidValue(a);
      }
      return v;
    case Kind::kRanges: {
      auto r = ParseRanges(v);
      if (!r) return InvalidValue(a);
      return FormatRanges(*r);
    }
    case Kind::kIpList: {
      if (v.empty()) return v;
      std::vector<std::string> out;
      for (absl::string_view part : absl::StrSplit(v, ',')) {
        auto ip = ParseIpv4(part);
        if (!ip) return InvalidValue(a);
        out.push_back(FormatIpv4(*ip));
      }
      if (out.size() > 2) return InvalidValue(a);
      return absl::StrJoin(out, ",");
    }
    case Kind::kProfileRef:
      if (FindByName({"ppp", "profile"}, v) < 0) return InvalidValue(a);
      return v;
    case Kind::kCertRef:
      if (v != "none" && FindByName({"certificate"}, v) < 0) return InvalidValue(a);
      return v;
    case Kind::kIfaceRef:
      if (v.empty()) return InvalidValue(a);
      return v;
    case Kind::kBridgeRef:
      // A bridge port must name one; a profile's bridge= may be empty (not bridged).
      if (v.empty() && spec.path == MenuPath{"ppp", "profile"}) return v;
      if (FindByName({"interface", "bridge"}, v) < 0) return InvalidValue(a);
      return v;
    case Kind::kRateLimit:
      if (v.empty()) return v;
      if (!ParseRateLimit(v)) return InvalidValue(a);
      return v;
    case Kind::kReadOnly:
      break;
  }
  return InvalidValue(a);
}

absl::Status Config::Apply(const TableSpec& spec, Item& item, const std::vector<Arg>& args,
                           int self) {
  // Validate everything first: a command is applied whole or not at all.
  std::map<std::string, std::string> next = item.v;
  for (const Arg& a : args) {
    auto c = Canonical(spec, a);
    if (!c.ok()) return c.status();
    const PropSpec* p = spec.Find(a.name);
    if (item.builtin && a.name == "name") {
      return absl::FailedPreconditionError("failure: can not rename default profile");
    }
    if (c->empty() && p->def.empty()) {
      next.erase(a.name);
    } else {
      next[a.name] = *c;
    }
  }
  if (spec.has_name && !spec.singleton) {
    auto it = next.find("name");
    if (it != next.end()) {
      int other = FindByName(spec.path, it->second);
      if (other >= 0 && other != self) {
        return absl::FailedPreconditionError(
            absl::StrCat("failure: item with such name already exists"));
      }
    }
  }
  if (spec.path == MenuPath{"ip", "address"}) {
    auto pr = ParsePrefix(next["address"]);
    if (pr) next["network"] = FormatIpv4(pr->Network());
  }
  item.v = std::move(next);
  return absl::OkStatus();
}

absl::StatusOr<size_t> Config::Add(const MenuPath& path, const std::vector<Arg>& args) {
  const TableSpec* spec = SpecFor(path);
  if (spec == nullptr || spec->singleton || !spec->addable) {
    return absl::InvalidArgumentError("bad command name add");
  }
  for (const std::string& r : spec->required) {
    bool given = false;
    for (const Arg& a : args) given |= (a.name == r && !a.value.empty());
    if (!given)
      return absl::FailedPreconditionError(absl::StrCat("failure: ", r, " not specified"));
  }
  Item item;
  auto& items = Items(path);
  absl::Status s = Apply(*spec, item, args, -1);
  if (!s.ok()) return s;
  if (spec->has_name && item.v.count("name") == 0) {
    if (spec->auto_name.empty()) {
      return absl::FailedPreconditionError("failure: name not specified");
    }
    for (int n = 1;; ++n) {
      std::string candidate = absl::StrCat(spec->auto_name, n);
      if (FindByName(path, candidate) < 0) {
        item.v["name"] = candidate;
        break;
      }
    }
  }
  items.push_back(std::move(item));
  return items.size() - 1;
}

absl::Status Config::Set(const MenuPath& path, size_t index, const std::vector<Arg>& args) {
  const TableSpec* spec = SpecFor(path);
  auto& items = Items(path);
  if (spec == nullptr || index >= items.size()) return absl::NotFoundError("no such item");
  if (spec->path == MenuPath{"ppp", "profile"}) {
    // Renaming a profile that secrets or the server use would leave dangling references.
    for (const Arg& a : args) {
      if (a.name == "name" && items[index].v["name"] != a.value) {
        std::string old = items[index].v["name"];
        for (const Item& s : Items({"ppp", "secret"})) {
          auto it = s.v.find("profile");
          if (it != s.v.end() && it->second == old) {
            return absl::FailedPreconditionError("failure: profile is in use");
          }
        }
      }
    }
  }
  return Apply(*spec, items[index], args, int(index));
}

absl::Status Config::Remove(const MenuPath& path, size_t index) {
  const TableSpec* spec = SpecFor(path);
  auto& items = Items(path);
  if (spec == nullptr || index >= items.size()) return absl::NotFoundError("no such item");
  if (items[index].builtin) {
    return absl::FailedPreconditionError("failure: can not remove default profile");
  }
  if (!spec->addable) return absl::FailedPreconditionError("failure: can not remove port");
  const std::string name = GetOf(*spec, items[index], "name");
  auto used_by = [&](const MenuPath& p, const std::vector<std::string>& props) {
    for (const Item& it : Items(p)) {
      for (const auto& prop : props) {
        auto f = it.v.find(prop);
        if (f != it.v.end() && f->second == name) return true;
      }
    }
    return false;
  };
  if (path == MenuPath{"ppp", "profile"} &&
      (used_by({"ppp", "secret"}, {"profile"}) ||
       used_by({"interface", "sstp-server", "server"}, {"default-profile"}) ||
       used_by({"interface", "sstp-client"}, {"profile"}))) {
    return absl::FailedPreconditionError("failure: profile is in use");
  }
  if (path == MenuPath{"ip", "pool"} &&
      (used_by({"ppp", "profile"}, {"local-address", "remote-address"}) ||
       used_by({"ppp", "secret"}, {"local-address", "remote-address"}))) {
    return absl::FailedPreconditionError("failure: pool is in use");
  }
  if (path == MenuPath{"interface", "bridge"} &&
      (used_by({"ppp", "profile"}, {"bridge"}) ||
       used_by({"interface", "bridge", "port"}, {"bridge"}))) {
    return absl::FailedPreconditionError("failure: bridge is in use");
  }
  if (path == MenuPath{"certificate"} &&
      (used_by({"interface", "sstp-server", "server"}, {"certificate"}) ||
       used_by({"interface", "sstp-client"}, {"certificate"}))) {
    return absl::FailedPreconditionError("failure: certificate is in use");
  }
  items.erase(items.begin() + long(index));
  return absl::OkStatus();
}

void Config::EnsurePort(const std::string& name, const std::string& mac, int mtu) {
  auto& items = Items({"interface", "ethernet"});
  int i = FindByName({"interface", "ethernet"}, name);
  if (i < 0) {
    Item it;
    it.v["name"] = name;
    it.v["default-name"] = name;
    items.push_back(std::move(it));
    i = int(items.size()) - 1;
  }
  if (!mac.empty()) items[size_t(i)].v["mac-address"] = mac;
  if (mtu > 0 && items[size_t(i)].v.count("mtu") == 0 && mtu != 1500) {
    items[size_t(i)].v["mtu"] = absl::StrCat(mtu);
  }
}

absl::Status Config::AddCertificate(const std::string& name, const std::string& file,
                                    const std::string& common_name, const std::string& fingerprint,
                                    bool has_key) {
  auto& items = Items({"certificate"});
  int i = FindByName({"certificate"}, name);
  Item it;
  it.v["name"] = name;
  it.v["file"] = file;
  it.v["common-name"] = common_name;
  it.v["fingerprint"] = fingerprint;
  it.v["private-key"] = has_key ? "yes" : "no";
  if (i >= 0) {
    items[size_t(i)] = std::move(it);
  } else {
    items.push_back(std::move(it));
  }
  return absl::OkStatus();
}

std::string Config::Export(const MenuPath& under) const {
  // Order matters on load: referenced items (certificates, pools, profiles, ports) come first.
  static const std::vector<MenuPath> kOrder = {{"certificate"},
                                               {"interface", "ethernet"},
                                               {"interface", "bridge"},
                                               {"interface", "bridge", "port"},
                                               {"ip", "pool"},
                                               {"ppp", "profile"},
                                               {"interface", "sstp-server", "server"},
                                               {"interface", "sstp-server"},
                                               {"interface", "sstp-client"},
                                               {"ip", "address"},
                                               {"ip", "route"},
                                               {"ppp", "secret"}};
  std::string out;
  for (const MenuPath& path : kOrder) {
    if (under.size() > path.size() || !std::equal(under.begin(), under.end(), path.begin())) {
      continue;
    }
    const TableSpec& spec = *SpecFor(path);
    const auto& items = Items(path);
    std::vector<std::string> lines;
    for (const Item& item : items) {
      std::vector<std::string> kv;
      // Built-in items export only what differs from their built-in values.
      Item baseline;
      if (item.builtin) {
        static const Config* const kFresh = new Config();
        for (const Item& b : kFresh->Items(path)) {
          if (b.builtin && b.v.at("name") == item.v.at("name")) baseline = b;
        }
      }
      auto non_default = [&](const PropSpec& p) {
        auto it = item.v.find(p.name);
        if (it == item.v.end()) return false;
        auto b = baseline.v.find(p.name);
        if (b != baseline.v.end()) return it->second != b->second;
        return it->second != p.def;
      };
      if (path == MenuPath{"certificate"}) {
        lines.push_back(absl::StrCat("import file-name=", QuoteIfNeeded(GetOf(spec, item, "file")),
                                     " name=", QuoteIfNeeded(GetOf(spec, item, "name"))));
        continue;
      }
      std::vector<const PropSpec*> props;
      for (const PropSpec& p : spec.props) props.push_back(&p);
      std::sort(props.begin(), props.end(),
                [](const PropSpec* a, const PropSpec* b) { return a->name < b->name; });
      for (const PropSpec* p : props) {
        if (p->kind == Kind::kReadOnly) continue;
        if (p->name == "network") continue;  // derived from address
        bool emit = non_default(*p) || (p->name == "name" && !item.builtin &&
                                        path != MenuPath{"interface", "ethernet"});
        if (item.builtin && p->name == "name") emit = false;
        if (path == MenuPath{"interface", "ethernet"} && p->name == "name" &&
            GetOf(spec, item, "name") == GetOf(spec, item, "default-name")) {
          emit = false;
        }
        if (emit)
          kv.push_back(absl::StrCat(p->name, "=", QuoteIfNeeded(GetOf(spec, item, p->name))));
      }
      if (spec.singleton) {
        if (!kv.empty()) lines.push_back(absl::StrCat("set ", absl::StrJoin(kv, " ")));
      } else if (path == MenuPath{"interface", "ethernet"}) {
        if (!kv.empty()) {
          lines.push_back(absl::StrCat(
              "set [ find default-name=", QuoteIfNeeded(GetOf(spec, item, "default-name")), " ] ",
              absl::StrJoin(kv, " ")));
        }
      } else if (item.builtin) {
        if (!kv.empty()) {
          lines.push_back(absl::StrCat("set [ find name=", GetOf(spec, item, "name"), " ] ",
                                       absl::StrJoin(kv, " ")));
        }
      } else {
        lines.push_back(absl::StrCat("add ", absl::StrJoin(kv, " ")));
      }
    }
    if (lines.empty()) continue;
    absl::StrAppend(&out, PathString(path), "\n");
    for (const auto& l : lines) absl::StrAppend(&out, l, "\n");
  }
  return out;
}

}  // namespace cp
