// Port setup: queues, RSS with the symmetric key, checksum offloads where the port has them,
// MTU, and the assignment of RX/TX queues to workers.
#ifndef DATAPLANE_PORT_H_
#define DATAPLANE_PORT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "dataplane/net.h"

namespace dp {

// Configures and starts net->ports[index] from cfg.ports[index] (DPDK port already probed).
absl::Status PortSetup(Net* net, uint16_t index);
void PortStop(Net* net, uint16_t index);

// The DPDK port id of a configured port: its id= or the vdev/PCI name probed by EAL.
absl::StatusOr<uint16_t> PortIdFor(const PortConfig& pc);

}  // namespace dp

#endif  // DATAPLANE_PORT_H_
