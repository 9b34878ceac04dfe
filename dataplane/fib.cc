#include "dataplane/fib.h"

#include <rte_errno.h>
#include <rte_malloc.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace dp {

absl::StatusOr<Fib*> Fib::Create(const char* name, int socket, uint32_t max_rules,
                                 rte_rcu_qsbr* qsbr) {
  rte_lpm_config cfg{};
  cfg.max_rules = max_rules;
  cfg.number_tbl8s = 1024;
  Fib* fib = new Fib();
  fib->lpm_ = rte_lpm_create(name, socket, &cfg);
  if (fib->lpm_ == nullptr) {
    delete fib;
    return absl::ResourceExhaustedError(
        absl::StrCat("rte_lpm_create: ", rte_strerror(rte_errno),
                     " (the FIB needs about 70 MB; raise --memory)"));
  }
  if (qsbr != nullptr) {
    rte_lpm_rcu_config rcu{};
    rcu.v = qsbr;
    rcu.mode = RTE_LPM_QSBR_MODE_DQ;
    if (rte_lpm_rcu_qsbr_add(fib->lpm_, &rcu) != 0) {
      delete fib;
      return absl::InternalError(absl::StrCat("rte_lpm_rcu_qsbr_add: ", rte_strerror(rte_errno)));
    }
  }
  fib->next_hops_ = static_cast<NextHop*>(
      rte_zmalloc_socket("fib_nh", sizeof(NextHop) * kMaxNextHops, RTE_CACHE_LINE_SIZE, socket));
  if (fib->next_hops_ == nullptr) {
    delete fib;
    return absl::ResourceExhaustedError("FIB next-hop table: out of memory");
  }
  return fib;
}

Fib::~Fib() {
  if (lpm_ != nullptr) rte_lpm_free(lpm_);
  rte_free(next_hops_);
}

absl::Status Fib::Add(Ipv4Prefix prefix, const NextHop& nh) {
  uint32_t idx = 0;
  for (; idx < n_next_hops_; ++idx) {
    const NextHop& e = next_hops_[idx];
    if (e.gateway == nh.gateway && e.port == nh.port && e.mtu == nh.mtu && e.kind == nh.kind) break;
  }
  if (idx == n_next_hops_) {
    if (n_next_hops_ == kMaxNextHops) return absl::ResourceExhaustedError("next-hop table full");
    next_hops_[idx].gateway = nh.gateway;
    next_hops_[idx].port = nh.port;
    next_hops_[idx].mtu = nh.mtu;
    next_hops_[idx].kind = nh.kind;
    // Publish the entry before any LPM entry can point at it.
    __atomic_thread_fence(__ATOMIC_RELEASE);
    ++n_next_hops_;
  }
  if (rte_lpm_add(lpm_, prefix.Network(), prefix.len, idx) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("rte_lpm_add ", FormatIpv4(prefix.addr), "/", prefix.len, " failed"));
  }
  return absl::OkStatus();
}

absl::Status Fib::Delete(Ipv4Prefix prefix) {
  if (rte_lpm_delete(lpm_, prefix.Network(), prefix.len) != 0) {
    return absl::NotFoundError(absl::StrCat("no route ", FormatIpv4(prefix.addr), "/", prefix.len));
  }
  return absl::OkStatus();
}

}  // namespace dp
