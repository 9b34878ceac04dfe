#include "client/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace client {

IpAddress SocketAddress::ip() const {
  IpAddress a;
  if (family() == AF_INET) {
    a.family = AF_INET;
    memcpy(a.bytes, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, 4);
  } else if (family() == AF_INET6) {
    a.family = AF_INET6;
    memcpy(a.bytes, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, 16);
  }
  return a;
}

std::string SocketAddress::ToString() const {
  if (family() == AF_INET) {
    return absl::StrCat(ip().ToString(), ":",
                        ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port));
  }
  if (family() == AF_INET6) {
    return absl::StrCat("[", ip().ToString(),
                        "]:", ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port));
  }
  return "?";
}

absl::StatusOr<std::vector<SocketAddress>> Resolve(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  std::string service = absl::StrCat(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY || rc == EAI_NODATA) {
    // AI_ADDRCONFIG hides everything when the host has no configured address of either family
    // (a namespace with only loopback and a veth without global addresses): ask again without it.
    hints.ai_flags = 0;
    rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  }
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc)));
  }
  std::vector<SocketAddress> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    SocketAddress a;
    memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = ai->ai_addrlen;
    out.push_back(a);
  }
  freeaddrinfo(res);
  if (out.empty()) return absl::UnavailableError(absl::StrCat("no address for ", host));
  return out;
}

absl::StatusOr<int> StartConnect(const SocketAddress& to) {
  int fd = socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  int one = 1;
  // SSTP carries interactive traffic in small records: do not let Nagle hold them back.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, to.get(), to.length) < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return absl::ErrnoToStatus(e, absl::StrCat("connect to ", to.ToString()));
  }
  return fd;
}

absl::Status FinishConnect(int fd, const SocketAddress& to) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err != 0) return absl::ErrnoToStatus(err, absl::StrCat("connect to ", to.ToString()));
  return absl::OkStatus();
}

absl::StatusOr<SocketAddress> LocalAddress(int fd) {
  SocketAddress a;
  a.length = sizeof(a.storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) < 0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  return a;
}

}  // namespace client
