#include "client/netlink.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace client {
namespace {

// A request buffer: header, family-specific struct, attributes.
struct Request {
  alignas(NLMSG_ALIGNTO) uint8_t buf[512];
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf); }
  void Init(uint16_t type, uint16_t flags, size_t body_len) {
    memset(buf, 0, sizeof(buf));
    hdr()->nlmsg_len = NLMSG_LENGTH(body_len);
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  }
  void* body() { return NLMSG_DATA(hdr()); }
  void AddAttr(uint16_t type, const void* data, size_t len) {
    size_t off = NLMSG_ALIGN(hdr()->nlmsg_len);
    rtattr* rta = reinterpret_cast<rtattr*>(buf + off);
    rta->rta_type = type;
    rta->rta_len = RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    hdr()->nlmsg_len = off + RTA_ALIGN(rta->rta_len);
  }
};

size_t AddrLen(int family) { return family == AF_INET ? 4 : 16; }

}  // namespace

std::string IpAddress::ToString() const {
  if (family == 0) return "none";
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family, bytes, buf, sizeof(buf));
  return buf;
}

IpAddress IpAddress::V4(uint32_t network_order) {
  IpAddress a;
  a.family = AF_INET;
  memcpy(a.bytes, &network_order, 4);
  return a;
}

absl::StatusOr<IpAddress> IpAddress::Parse(const std::string& text) {
  IpAddress a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes) == 1) {
    a.family = AF_INET;
  } else if (inet_pton(AF_INET6, text.c_str(), a.bytes) == 1) {
    a.family = AF_INET6;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IP address"));
  }
  return a;
}

bool IpAddress::operator==(const IpAddress& o) const {
  return family == o.family && memcmp(bytes, o.bytes, family ? AddrLen(family) : 0) == 0;
}

Prefix HostPrefix(const IpAddress& a) {
  Prefix p;
  p.family = a.family;
  memcpy(p.addr, a.bytes, AddrLen(a.family));
  p.length = a.family == AF_INET ? 32 : 128;
  return p;
}

absl::StatusOr<Netlink> Netlink::Open() {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return absl::ErrnoToStatus(errno, "netlink socket");
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
    int e = errno;
    close(fd);
    return absl::ErrnoToStatus(e, "netlink bind");
  }
  // Extended ACKs give the kernel's own message text on errors where it has one.
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  return Netlink(fd);
}

Netlink& Netlink::operator=(Netlink&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    seq_ = o.seq_;
    o.fd_ = -1;
  }
  return *this;
}

Netlink::~Netlink() {
  if (fd_ >= 0) close(fd_);
}

absl::Status Netlink::Transact(void* msg, size_t len, const std::string& what) {
  nlmsghdr* h = static_cast<nlmsghdr*>(msg);
  h->nlmsg_seq = ++seq_;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_, msg, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    return absl::ErrnoToStatus(errno, what);
  }
  alignas(NLMSG_ALIGNTO) uint8_t buf[8192];
  for (;;) {
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, what);
    }
    for (nlmsghdr* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, static_cast<size_t>(n));
         r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq != seq_) continue;
      if (r->nlmsg_type == NLMSG_ERROR) {
        auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(r));
        if (err->error == 0) return absl::OkStatus();
        return absl::ErrnoToStatus(-err->error, what);
      }
    }
  }
}

absl::Status Netlink::AddAddress(int ifindex, const IpAddress& local, const IpAddress& peer,
                                 int prefix_length) {
  Request r;
  r.Init(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, sizeof(ifaddrmsg));
  auto* ifa = static_cast<ifaddrmsg*>(r.body());
  ifa->ifa_family = local.family;
  ifa->ifa_prefixlen = prefix_length;
  ifa->ifa_index = ifindex;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  r.AddAttr(IFA_LOCAL, local.bytes, AddrLen(local.family));
  // IFA_ADDRESS is the peer on a point-to-point link.
  const IpAddress& addr = peer.empty() ? local : peer;
  r.AddAttr(IFA_ADDRESS, addr.bytes, AddrLen(addr.family));
  return Transact(r.buf, r.hdr()->nlmsg_len,
                  absl::StrCat("add address ", local.ToString(), " peer ", peer.ToString()));
}

absl::Status Netlink::DeleteAddress(int ifindex, const IpAddress& local, const IpAddress& peer,
                                    int prefix_length) {
  Request r;
  r.Init(RTM_DELADDR, 0, sizeof(ifaddrmsg));
  auto* ifa = static_cast<ifaddrmsg*>(r.body());
  ifa->ifa_family = local.family;
  ifa->ifa_prefixlen = prefix_length;
  ifa->ifa_index = ifindex;
  r.AddAttr(IFA_LOCAL, local.bytes, AddrLen(local.family));
  const IpAddress& addr = peer.empty() ? local : peer;
  r.AddAttr(IFA_ADDRESS, addr.bytes, AddrLen(addr.family));
  return Transact(r.buf, r.hdr()->nlmsg_len, absl::StrCat("delete address ", local.ToString()));
}

absl::Status Netlink::AddRoute(const Prefix& dst, int ifindex, const IpAddress& gateway,
                               bool tolerate_exists) {
  Request r;
  r.Init(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(rtmsg));
  auto* rt = static_cast<rtmsg*>(r.body());
  rt->rtm_family = dst.family;
  rt->rtm_dst_len = dst.length;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_STATIC;
  rt->rtm_scope = gateway.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  if (dst.length > 0) r.AddAttr(RTA_DST, dst.addr, AddrLen(dst.family));
  if (!gateway.empty()) r.AddAttr(RTA_GATEWAY, gateway.bytes, AddrLen(gateway.family));
  uint32_t oif = ifindex;
  r.AddAttr(RTA_OIF, &oif, sizeof(oif));
  absl::Status s =
      Transact(r.buf, r.hdr()->nlmsg_len,
               absl::StrCat("add route ", dst.ToString(), gateway.empty() ? "" : " via ",
                            gateway.empty() ? "" : gateway.ToString()));
  if (tolerate_exists && absl::IsAlreadyExists(s)) return absl::OkStatus();
  return s;
}

absl::Status Netlink::DeleteRoute(const Prefix& dst, int ifindex, const IpAddress& gateway) {
  Request r;
  r.Init(RTM_DELROUTE, 0, sizeof(rtmsg));
  auto* rt = static_cast<rtmsg*>(r.body());
  rt->rtm_family = dst.family;
  rt->rtm_dst_len = dst.length;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_scope = RT_SCOPE_NOWHERE;
  if (dst.length > 0) r.AddAttr(RTA_DST, dst.addr, AddrLen(dst.family));
  if (!gateway.empty()) r.AddAttr(RTA_GATEWAY, gateway.bytes, AddrLen(gateway.family));
  uint32_t oif = ifindex;
  r.AddAttr(RTA_OIF, &oif, sizeof(oif));
  return Transact(r.buf, r.hdr()->nlmsg_len, absl::StrCat("delete route ", dst.ToString()));
}

absl::StatusOr<RouteInfo> Netlink::GetRoute(const IpAddress& dst) {
  Request r;
  r.Init(RTM_GETROUTE, 0, sizeof(rtmsg));
  r.hdr()->nlmsg_flags = NLM_F_REQUEST;  // the answer is an RTM_NEWROUTE, not an ACK
  auto* rt = static_cast<rtmsg*>(r.body());
  rt->rtm_family = dst.family;
  rt->rtm_dst_len = dst.family == AF_INET ? 32 : 128;
  r.AddAttr(RTA_DST, dst.bytes, AddrLen(dst.family));
  r.hdr()->nlmsg_seq = ++seq_;
  std::string what = absl::StrCat("route lookup for ", dst.ToString());
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_, r.buf, r.hdr()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
             sizeof(kernel)) < 0) {
    return absl::ErrnoToStatus(errno, what);
  }
  alignas(NLMSG_ALIGNTO) uint8_t buf[8192];
  for (;;) {
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, what);
    }
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<size_t>(n));
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq_) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        return absl::ErrnoToStatus(-err->error, what);
      }
      if (h->nlmsg_type != RTM_NEWROUTE) continue;
      RouteInfo info;
      auto* m = static_cast<rtmsg*>(NLMSG_DATA(h));
      int len = RTM_PAYLOAD(h);
      for (rtattr* a = RTM_RTA(m); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        size_t alen = RTA_PAYLOAD(a);
        if (a->rta_type == RTA_GATEWAY && alen == AddrLen(m->rtm_family)) {
          info.gateway.family = m->rtm_family;
          memcpy(info.gateway.bytes, RTA_DATA(a), alen);
        } else if (a->rta_type == RTA_PREFSRC && alen == AddrLen(m->rtm_family)) {
          info.prefsrc.family = m->rtm_family;
          memcpy(info.prefsrc.bytes, RTA_DATA(a), alen);
        } else if (a->rta_type == RTA_OIF && alen == 4) {
          memcpy(&info.ifindex, RTA_DATA(a), 4);
        }
      }
      return info;
    }
  }
}

}  // namespace client
