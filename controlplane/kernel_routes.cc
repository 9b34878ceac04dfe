#include "controlplane/kernel_routes.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "controlplane/values.h"

namespace cp {
namespace {

std::string Describe(const KernelRoute& r) {
  return absl::StrCat(FormatIpv4(r.dst), "/", int(r.prefix_len), " via ", FormatIpv4(r.gateway),
                      " metric ", r.metric);
}

bool Contains(const std::vector<KernelRoute>& v, const KernelRoute& r) {
  return std::find(v.begin(), v.end(), r) != v.end();
}

}  // namespace

std::vector<KernelRoute> StaticRoutes(const Config& config) {
  std::vector<KernelRoute> out;
  const MenuPath path = {"ip", "route"};
  const TableSpec& spec = *Config::SpecFor(path);
  for (const Item& it : config.Items(path)) {
    if (config.GetOf(spec, it, "disabled") == "yes") continue;
    auto p = ParsePrefix(config.GetOf(spec, it, "dst-address"));
    auto g = ParseIpv4(config.GetOf(spec, it, "gateway"));
    if (!p || !g) continue;
    KernelRoute r;
    r.dst = p->Network();
    r.prefix_len = uint8_t(p->len);
    r.gateway = *g;
    r.metric = uint32_t(ParseInt(config.GetOf(spec, it, "distance")).value_or(1));
    out.push_back(r);
  }
  return out;
}

KernelRoutes::~KernelRoutes() {
  if (fd_ >= 0) close(fd_);
}

// One RTM_NEWROUTE / RTM_DELROUTE in the main table (rtnetlink(7)), answered by an ACK.
absl::Status KernelRoutes::Request(uint16_t type, uint16_t flags, const KernelRoute& r) {
  if (fd_ < 0) {
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) return absl::ErrnoToStatus(errno, "netlink socket");
    timeval tv{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  struct {
    nlmsghdr n;
    rtmsg r;
    char attrs[64];
  } req{};
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.n.nlmsg_type = type;
  req.n.nlmsg_flags = uint16_t(NLM_F_REQUEST | NLM_F_ACK | flags);
  req.n.nlmsg_seq = ++seq_;
  req.r.rtm_family = AF_INET;
  req.r.rtm_dst_len = r.prefix_len;
  req.r.rtm_table = RT_TABLE_MAIN;
  req.r.rtm_protocol = RTPROT_STATIC;
  req.r.rtm_scope = RT_SCOPE_UNIVERSE;
  req.r.rtm_type = RTN_UNICAST;
  auto add = [&](uint16_t attr, uint32_t value) {
    auto* a =
        reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(req.n.nlmsg_len));
    a->rta_type = attr;
    a->rta_len = RTA_LENGTH(sizeof value);
    memcpy(RTA_DATA(a), &value, sizeof value);
    req.n.nlmsg_len = NLMSG_ALIGN(req.n.nlmsg_len) + RTA_ALIGN(a->rta_len);
  };
  add(RTA_DST, htonl(r.dst));
  add(RTA_GATEWAY, htonl(r.gateway));
  add(RTA_PRIORITY, r.metric);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_, &req, req.n.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) <
      0) {
    return absl::ErrnoToStatus(errno, "netlink send");
  }
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return absl::ErrnoToStatus(errno, "netlink receive");
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, size_t(n)); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq_ || h->nlmsg_type != NLMSG_ERROR) continue;
      const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
      if (e->error == 0) return absl::OkStatus();
      return absl::ErrnoToStatus(-e->error, "rtnetlink");
    }
  }
}

void KernelRoutes::Reconcile(const std::vector<KernelRoute>& want) {
  for (auto it = installed_.begin(); it != installed_.end();) {
    if (Contains(want, *it)) {
      ++it;
      continue;
    }
    absl::Status s = Request(RTM_DELROUTE, 0, *it);
    log_(absl::StrCat("kernel route ", Describe(*it), " removed",
                      s.ok() || absl::IsNotFound(s) ? "" : absl::StrCat(": ", s.message())));
    it = installed_.erase(it);
  }
  for (const KernelRoute& r : want) {
    absl::Status s = Request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r);
    if (s.ok()) {
      if (!Contains(installed_, r)) {
        installed_.push_back(r);
        log_(absl::StrCat("kernel route ", Describe(r), " installed"));
      }
      failing_.erase(std::remove(failing_.begin(), failing_.end(), r), failing_.end());
    } else {
      // Typically ENETUNREACH: the gateway is the peer of a tunnel that is not up (yet).
      if (Contains(installed_, r)) {
        installed_.erase(std::remove(installed_.begin(), installed_.end(), r), installed_.end());
      }
      if (!Contains(failing_, r)) {
        failing_.push_back(r);
        log_(absl::StrCat("kernel route ", Describe(r), " not installed (yet): ", s.message()));
      }
    }
  }
}

}  // namespace cp
