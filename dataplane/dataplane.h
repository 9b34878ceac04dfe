// The data plane assembled: the entry points sstp-dataplane, the unit tests and the SSTP server
// (issue 6) use.
//
//   absl::StatusOr<std::unique_ptr<Net>> net = CreateNet(cfg, lcores);   // after EAL init
//   net->hooks = {...};               // optional: per-lcore start/poll/stop of an upper layer
//   RunWorkers(net.get());            // launches WorkerMain on each lcore; returns when stopped
//   DestroyNet(std::move(net));
#ifndef DATAPLANE_DATAPLANE_H_
#define DATAPLANE_DATAPLANE_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "dataplane/config.h"
#include "dataplane/net.h"

namespace dp {

// Creates the mbuf pool, FIB (connected + static routes), ports and one Worker per lcore in
// `lcores` (worker i runs on lcores[i]). EAL must be initialised.
absl::StatusOr<std::unique_ptr<Net>> CreateNet(const Config& cfg,
                                               absl::Span<const unsigned> lcores);

// Every enabled lcore, main first: the default worker set of sstp-dataplane.
std::vector<unsigned> AllLcores();

// Runs the workers: remote lcores through rte_eal_remote_launch, the main lcore's worker inline.
// Returns once net->stop is set and every worker has finished.
void RunWorkers(Net* net);

// Stops the ports and frees everything CreateNet made.
void DestroyNet(std::unique_ptr<Net> net);

// Route changes from the control thread while the workers run (static routes, SSTP session
// routes). The port index is Config::ports order.
absl::Status AddRoute(Net* net, Ipv4Prefix prefix, uint32_t gateway, uint16_t port_index,
                      uint16_t mtu);
absl::Status DeleteRoute(Net* net, Ipv4Prefix prefix);
// A route to a tunnel session (kNextHopSession) owned by worker `owner`; `mtu` is the tunnel MTU
// (DF packets above it get ICMP fragmentation-needed).
absl::Status AddSessionRoute(Net* net, Ipv4Prefix prefix, uint32_t session, uint32_t owner,
                             uint16_t mtu);

// Counters summed over the workers, and the full JSON document of --stats-file.
Counters TotalCounters(const Net& net);
std::string StatsJson(const Net& net);
std::string StatsText(const Net& net);

}  // namespace dp

#endif  // DATAPLANE_DATAPLANE_H_
