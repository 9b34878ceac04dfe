#include "controlplane/values.h"

#include <arpa/inet.h>

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cp {

std::optional<uint32_t> ParseIpv4(absl::string_view s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  std::string z(s);
  in_addr a;
  if (inet_pton(AF_INET, z.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string FormatIpv4(uint32_t a) {
  return absl::StrCat(a >> 24, ".", (a >> 16) & 255, ".", (a >> 8) & 255, ".", a & 255);
}

std::optional<Prefix> ParsePrefix(absl::string_view s) {
  Prefix p;
  size_t slash = s.find('/');
  auto a = ParseIpv4(s.substr(0, slash));
  if (!a) return std::nullopt;
  p.addr = *a;
  if (slash != absl::string_view::npos) {
    absl::string_view l = s.substr(slash + 1);
    int len;
    if (l.empty() || l.size() > 2 || !absl::SimpleAtoi(l, &len) || len < 0 || len > 32) {
      return std::nullopt;
    }
    p.len = uint8_t(len);
  }
  return p;
}

std::string FormatPrefix(const Prefix& p) { return absl::StrCat(FormatIpv4(p.addr), "/", p.len); }

std::optional<int64_t> ParseInt(absl::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  int64_t v;
  if (!absl::SimpleAtoi(s, &v)) return std::nullopt;
  return v;
}

std::optional<uint64_t> ParseDuration(absl::string_view s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  if (s.find(':') != absl::string_view::npos) {
    std::vector<absl::string_view> parts = absl::StrSplit(s, ':');
    if (parts.size() != 3) return std::nullopt;
    uint64_t total = 0;
    for (auto p : parts) {
      auto v = ParseInt(p);
      if (!v) return std::nullopt;
      total = total * 60 + uint64_t(*v);
    }
    return total;
  }
  uint64_t total = 0, cur = 0;
  bool have_digit = false;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      cur = cur * 10 + uint64_t(c - '0');
      have_digit = true;
      if (cur > 100'000'000'000ull) return std::nullopt;
      continue;
    }
    if (!have_digit) return std::nullopt;
    uint64_t mul;
    switch (c) {
      case 'w':
        mul = 7 * 86400;
        break;
      case 'd':
        mul = 86400;
        break;
      case 'h':
        mul = 3600;
        break;
      case 'm':
        mul = 60;
        break;
      case 's':
        mul = 1;
        break;
      default:
        return std::nullopt;
    }
    total += cur * mul;
    cur = 0;
    have_digit = false;
  }
  return total + cur;  // trailing bare number: seconds
}

std::string FormatDuration(uint64_t s) {
  if (s == 0) return "0s";
  std::string out;
  const uint64_t w = s / (7 * 86400), d = s / 86400 % 7, h = s / 3600 % 24, m = s / 60 % 60,
                 sec = s % 60;
  if (w) absl::StrAppend(&out, w, "w");
  if (d) absl::StrAppend(&out, d, "d");
  if (h) absl::StrAppend(&out, h, "h");
  if (m) absl::StrAppend(&out, m, "m");
  if (sec) absl::StrAppend(&out, sec, "s");
  return out;
}

std::optional<bool> ParseYesNo(absl::string_view s) {
  if (s == "yes" || s == "true") return true;
  if (s == "no" || s == "false") return false;
  return std::nullopt;
}

namespace {
constexpr const char* kAuthNames[] = {"pap", "chap", "mschap1", "mschap2"};
}

std::optional<uint8_t> ParseAuthList(absl::string_view s) {
  uint8_t mask = 0;
  if (s.empty()) return std::nullopt;
  for (absl::string_view part : absl::StrSplit(s, ',')) {
    part = absl::StripAsciiWhitespace(part);
    int bit = -1;
    for (int i = 0; i < 4; ++i) {
      if (part == kAuthNames[i]) bit = i;
    }
    if (bit < 0) return std::nullopt;
    mask |= uint8_t(1u << bit);
  }
  return mask;
}

std::string FormatAuthList(uint8_t mask) {
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) {
    if (mask & (1u << i)) names.push_back(kAuthNames[i]);
  }
  return absl::StrJoin(names, ",");
}

std::optional<IpPort> ParseIpPort(absl::string_view s, uint16_t default_port) {
  IpPort r;
  r.port = default_port;
  size_t colon = s.find(':');
  auto a = ParseIpv4(s.substr(0, colon));
  if (!a) return std::nullopt;
  r.addr = *a;
  if (colon != absl::string_view::npos) {
    auto p = ParseInt(s.substr(colon + 1));
    if (!p || *p < 1 || *p > 65535) return std::nullopt;
    r.port = uint16_t(*p);
  }
  return r;
}

std::string FormatIpPort(const IpPort& p) { return absl::StrCat(FormatIpv4(p.addr), ":", p.port); }

std::optional<std::vector<Range>> ParseRanges(absl::string_view s) {
  std::vector<Range> out;
  if (s.empty()) return std::nullopt;
  for (absl::string_view part : absl::StrSplit(s, ',')) {
    part = absl::StripAsciiWhitespace(part);
    Range r;
    size_t dash = part.find('-');
    if (dash != absl::string_view::npos) {
      auto lo = ParseIpv4(part.substr(0, dash));
      auto hi = ParseIpv4(part.substr(dash + 1));
      if (!lo || !hi || *hi < *lo) return std::nullopt;
      r = {*lo, *hi};
    } else if (part.find('/') != absl::string_view::npos) {
      auto p = ParsePrefix(part);
      if (!p) return std::nullopt;
      uint32_t net = p->Network();
      uint32_t last = p->len == 0 ? ~uint32_t{0} : net | ~(~uint32_t{0} << (32 - p->len));
      if (p->len == 32) last = net;
      r = {net, last};
    } else {
      auto a = ParseIpv4(part);
      if (!a) return std::nullopt;
      r = {*a, *a};
    }
    out.push_back(r);
  }
  return out;
}

std::string FormatRanges(const std::vector<Range>& rs) {
  std::vector<std::string> parts;
  for (const Range& r : rs) {
    parts.push_back(r.lo == r.hi ? FormatIpv4(r.lo)
                                 : absl::StrCat(FormatIpv4(r.lo), "-", FormatIpv4(r.hi)));
  }
  return absl::StrJoin(parts, ",");
}

std::optional<std::vector<RouteSpec>> ParseRoutes(absl::string_view s) {
  std::vector<RouteSpec> out;
  if (absl::StripAsciiWhitespace(s).empty()) return out;
  for (absl::string_view entry : absl::StrSplit(s, ',')) {
    std::vector<absl::string_view> f = absl::StrSplit(entry, ' ', absl::SkipEmpty());
    if (f.empty() || f.size() > 3) return std::nullopt;
    RouteSpec r;
    auto p = ParsePrefix(f[0]);
    if (!p) return std::nullopt;
    r.dst = *p;
    if (f.size() >= 2) {
      auto g = ParseIpv4(f[1]);
      if (!g) return std::nullopt;
      r.gateway = *g;
    }
    if (f.size() == 3) {
      auto m = ParseInt(f[2]);
      if (!m || *m > 255) return std::nullopt;
      r.metric = uint32_t(*m);
    }
    out.push_back(r);
  }
  return out;
}

std::optional<std::pair<uint64_t, uint64_t>> ParseRateLimit(absl::string_view s) {
  auto one = [](absl::string_view v) -> std::optional<uint64_t> {
    if (v.empty()) return std::nullopt;
    uint64_t mul = 1;
    char last = v.back();
    if (last == 'k' || last == 'K') mul = 1000;
    if (last == 'M') mul = 1000'000;
    if (last == 'G') mul = 1000'000'000;
    if (mul != 1) v.remove_suffix(1);
    auto n = ParseInt(v);
    if (!n) return std::nullopt;
    return uint64_t(*n) * mul;
  };
  size_t slash = s.find('/');
  auto rx = one(s.substr(0, slash));
  if (!rx) return std::nullopt;
  if (slash == absl::string_view::npos) return std::make_pair(*rx, *rx);
  auto tx = one(s.substr(slash + 1));
  if (!tx) return std::nullopt;
  return std::make_pair(*rx, *tx);
}

}  // namespace cp
