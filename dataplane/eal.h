// EAL initialisation from the configuration. Whether to use hugepages must be decided before
// rte_eal_init (a failed init cannot be retried in-process), so kAuto looks at the kernel's
// hugepage pool first and falls back to --no-huge when it cannot hold --memory.
#ifndef DATAPLANE_EAL_H_
#define DATAPLANE_EAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/config.h"

namespace dp {

struct HugepageInfo {
  uint64_t free_bytes = 0;    // HugePages_Free * Hugepagesize from /proc/meminfo
  uint64_t nr_hugepages = 0;  // /proc/sys/vm/nr_hugepages
};
HugepageInfo ReadHugepageInfo();

// Number of lcores in an EAL lcore list like "0-2,4" (0 when the syntax is not understood).
int CountLcores(const std::string& list);

// The EAL argv (argv[0] included) for `cfg`. Decides hugepages from `huge`; `pid` names the
// default file prefix. Pure: unit-tested.
std::vector<std::string> BuildEalArgs(const Config& cfg, const HugepageInfo& huge, int pid,
                                      bool* use_huge);

// rte_eal_init with BuildEalArgs; logs the choice of memory.
absl::Status EalInit(const Config& cfg);

}  // namespace dp

#endif  // DATAPLANE_EAL_H_
