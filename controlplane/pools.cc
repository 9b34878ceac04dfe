#include "controlplane/pools.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace cp {

std::optional<uint32_t> AddressLeases::Allocate(const std::string& pool,
                                                const std::vector<Range>& ranges, uint32_t lcore,
                                                uint64_t session) {
  if (ranges.empty()) return std::nullopt;
  lcore %= n_lcores_;
  const std::string key = absl::StrCat(pool, "/", lcore);
  const uint32_t start = cursor_[key];
  // Walk every range once, beginning after the last address handed out (next fit), looking only
  // at addresses this lcore owns.
  uint64_t total = 0;
  for (const Range& r : ranges) total += uint64_t(r.hi) - r.lo + 1;
  for (uint64_t step = 0; step < total; ++step) {
    uint64_t k = (uint64_t(start) + step) % total;
    uint32_t addr = 0;
    for (const Range& r : ranges) {
      uint64_t n = uint64_t(r.hi) - r.lo + 1;
      if (k < n) {
        addr = r.lo + uint32_t(k);
        break;
      }
      k -= n;
    }
    if (OwnerLcore(addr, n_lcores_) != lcore) continue;
    if (used_.contains(addr)) continue;
    used_[addr] = Lease{pool, session};
    cursor_[key] = uint32_t((uint64_t(start) + step + 1) % total);
    return addr;
  }
  return std::nullopt;
}

bool AddressLeases::Claim(uint32_t addr, const std::string& pool, uint64_t session) {
  auto it = used_.find(addr);
  if (it != used_.end()) return it->second.session == session;
  used_[addr] = Lease{pool, session};
  return true;
}

void AddressLeases::Release(uint32_t addr, uint64_t session) {
  auto it = used_.find(addr);
  if (it != used_.end() && it->second.session == session) used_.erase(it);
}

const AddressLeases::Lease* AddressLeases::Find(uint32_t addr) const {
  auto it = used_.find(addr);
  return it == used_.end() ? nullptr : &it->second;
}

std::vector<std::pair<uint32_t, AddressLeases::Lease>> AddressLeases::All() const {
  std::vector<std::pair<uint32_t, Lease>> out(used_.begin(), used_.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace cp
