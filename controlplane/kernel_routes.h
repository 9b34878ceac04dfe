// /ip route on a box without a data plane (the manual's home router: sstp-controlplane running
// only /interface sstp-client): the static routes go into the kernel's main table through
// rtnetlink. Reconciled periodically, because a route via a tunnel's peer can only be installed
// while that tunnel is up and the kernel drops it when the tunnel goes down.
#ifndef CONTROLPLANE_KERNEL_ROUTES_H_
#define CONTROLPLANE_KERNEL_ROUTES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "controlplane/config.h"

namespace cp {

struct KernelRoute {
  uint32_t dst = 0;  // host order, the network
  uint8_t prefix_len = 0;
  uint32_t gateway = 0;
  uint32_t metric = 1;  // RouterOS distance
  friend bool operator==(const KernelRoute&, const KernelRoute&) = default;
};

// The enabled /ip route entries.
std::vector<KernelRoute> StaticRoutes(const Config& config);

class KernelRoutes {
 public:
  explicit KernelRoutes(std::function<void(const std::string&)> log) : log_(std::move(log)) {}
  ~KernelRoutes();
  // Installs (replaces) every wanted route the kernel accepts now and deletes the ones we
  // installed that are no longer wanted. Logs only changes (installed / not installable / gone).
  void Reconcile(const std::vector<KernelRoute>& want);

 private:
  absl::Status Request(uint16_t type, uint16_t flags, const KernelRoute& r);
  int fd_ = -1;
  uint32_t seq_ = 0;
  std::vector<KernelRoute> installed_;
  std::vector<KernelRoute> failing_;  // wanted, refused last time (logged once)
  std::function<void(const std::string&)> log_;
};

}  // namespace cp

#endif  // CONTROLPLANE_KERNEL_ROUTES_H_
