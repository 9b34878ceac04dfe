// Addresses and routes through rtnetlink (rtnetlink(7)), not by running `ip`: no fork/exec on every
// (re)connect, no dependency on PATH or the iproute2 version, and the kernel's errno comes back
// with each request, so a failure says exactly which address or route was refused and why.
#ifndef CLIENT_NETLINK_H_
#define CLIENT_NETLINK_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/options.h"

namespace client {

// An address of either family, in network byte order.
struct IpAddress {
  int family = 0;  // AF_INET, AF_INET6; 0 = none
  uint8_t bytes[16] = {};
  bool empty() const { return family == 0; }
  std::string ToString() const;
  static IpAddress V4(uint32_t network_order);
  static absl::StatusOr<IpAddress> Parse(const std::string& text);
  bool operator==(const IpAddress& o) const;
};

// What the kernel would use to reach an address right now (RTM_GETROUTE).
struct RouteInfo {
  IpAddress gateway;  // empty when directly connected
  int ifindex = 0;
  IpAddress prefsrc;
};

class Netlink {
 public:
  static absl::StatusOr<Netlink> Open();
  Netlink(Netlink&& o) noexcept : fd_(o.fd_), seq_(o.seq_) { o.fd_ = -1; }
  Netlink& operator=(Netlink&& o) noexcept;
  ~Netlink();

  // Point-to-point address: `local` peer `peer` (prefix /32 or /128), as pppd sets it.
  absl::Status AddAddress(int ifindex, const IpAddress& local, const IpAddress& peer,
                          int prefix_length);
  absl::Status DeleteAddress(int ifindex, const IpAddress& local, const IpAddress& peer,
                             int prefix_length);
  // A route to `dst` through `ifindex` (and `gateway` when given). EEXIST is success when
  // `tolerate_exists` (another instance or the user added the same route).
  absl::Status AddRoute(const Prefix& dst, int ifindex, const IpAddress& gateway,
                        bool tolerate_exists = true);
  absl::Status DeleteRoute(const Prefix& dst, int ifindex, const IpAddress& gateway);
  absl::StatusOr<RouteInfo> GetRoute(const IpAddress& dst);

 private:
  explicit Netlink(int fd) : fd_(fd) {}
  // Sends one request and waits for its ACK or error.
  absl::Status Transact(void* msg, size_t len, const std::string& what);
  int fd_ = -1;
  uint32_t seq_ = 0;
};

Prefix HostPrefix(const IpAddress& a);

}  // namespace client

#endif  // CLIENT_NETLINK_H_
