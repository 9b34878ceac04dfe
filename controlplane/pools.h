// Address leases from /ip pool ranges. Each pool is split across the data plane's lcores by the
// address itself: lcore = address % n_lcores, so the data plane computes the owner of a
// downstream packet from its destination without a lookup. An address is never leased twice:
// every address in use (from a pool or fixed in a secret) is tracked until released; after a
// restart the table is rebuilt from the data plane's dump of established sessions.
#ifndef CONTROLPLANE_POOLS_H_
#define CONTROLPLANE_POOLS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "controlplane/values.h"

namespace cp {

inline uint32_t OwnerLcore(uint32_t addr, uint32_t n_lcores) {
  return n_lcores == 0 ? 0 : addr % n_lcores;
}

class AddressLeases {
 public:
  struct Lease {
    std::string pool;  // "" for a fixed address
    uint64_t session = 0;
  };

  void set_n_lcores(uint32_t n) { n_lcores_ = n == 0 ? 1 : n; }
  uint32_t n_lcores() const { return n_lcores_; }

  // A free address of `ranges` owned by `lcore`, leased to `session`; nullopt when exhausted.
  std::optional<uint32_t> Allocate(const std::string& pool, const std::vector<Range>& ranges,
                                   uint32_t lcore, uint64_t session);
  // Claims a specific address (fixed address of a secret, or a lease found in the dump). False if
  // another session holds it.
  bool Claim(uint32_t addr, const std::string& pool, uint64_t session);
  void Release(uint32_t addr, uint64_t session);
  void Clear() { used_.clear(); }

  const Lease* Find(uint32_t addr) const;
  std::vector<std::pair<uint32_t, Lease>> All() const;
  size_t size() const { return used_.size(); }

 private:
  uint32_t n_lcores_ = 1;
  absl::flat_hash_map<uint32_t, Lease> used_;
  std::map<std::string, uint32_t> cursor_;  // next-fit position per pool and lcore
};

}  // namespace cp

#endif  // CONTROLPLANE_POOLS_H_
