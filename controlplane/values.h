// Value syntax of the RouterOS-style configuration: addresses, prefixes, durations, yes/no,
// authentication lists, pool ranges and the secret's routes= list. Each Parse* accepts what the
// RouterOS CLI accepts and each Format* prints the canonical form used by print and export.
#ifndef CONTROLPLANE_VALUES_H_
#define CONTROLPLANE_VALUES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace cp {

std::optional<uint32_t> ParseIpv4(absl::string_view s);  // host order
std::string FormatIpv4(uint32_t a);

struct Prefix {
  uint32_t addr = 0;  // host order
  uint8_t len = 32;
  uint32_t Network() const { return len == 0 ? 0 : addr & (~uint32_t{0} << (32 - len)); }
  bool Contains(uint32_t a) const {
    return len == 0 || ((a ^ addr) & (~uint32_t{0} << (32 - len))) == 0;
  }
};
// "a.b.c.d/len" or "a.b.c.d" (/32).
std::optional<Prefix> ParsePrefix(absl::string_view s);
std::string FormatPrefix(const Prefix& p);

// RouterOS durations: "90", "1h30m", "1d2h", "1w", "00:10:00". Seconds.
std::optional<uint64_t> ParseDuration(absl::string_view s);
std::string FormatDuration(uint64_t seconds);  // "1h47s", "0s"

std::optional<bool> ParseYesNo(absl::string_view s);

// Authentication method set; bit 0 pap, 1 chap, 2 mschap1, 3 mschap2.
std::optional<uint8_t> ParseAuthList(absl::string_view s);
std::string FormatAuthList(uint8_t mask);

struct IpPort {
  uint32_t addr = 0;
  uint16_t port = 443;
};
std::optional<IpPort> ParseIpPort(absl::string_view s, uint16_t default_port);
std::string FormatIpPort(const IpPort& p);

// Pool ranges: "198.19.101.100-198.19.101.200,198.19.101.250" (also a.b.c.d/len).
struct Range {
  uint32_t lo = 0, hi = 0;
};
std::optional<std::vector<Range>> ParseRanges(absl::string_view s);
std::string FormatRanges(const std::vector<Range>& r);

// The secret's routes=: "dst [gateway [metric]]", several separated by commas.
struct RouteSpec {
  Prefix dst;
  std::optional<uint32_t> gateway;
  uint32_t metric = 1;
};
std::optional<std::vector<RouteSpec>> ParseRoutes(absl::string_view s);

// Rate limit "rx/tx" with k/M/G suffixes (bits per second), e.g. "10M/20M".
std::optional<std::pair<uint64_t, uint64_t>> ParseRateLimit(absl::string_view s);

std::optional<int64_t> ParseInt(absl::string_view s);

}  // namespace cp

#endif  // CONTROLPLANE_VALUES_H_
