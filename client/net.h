// Kernel TCP: name resolution and non-blocking connect.
#ifndef CLIENT_NET_H_
#define CLIENT_NET_H_

#include <sys/socket.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/netlink.h"

namespace client {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  IpAddress ip() const;
  std::string ToString() const;  // "198.18.80.1:443", "[2001:db8::1]:443"
};

// getaddrinfo(host, port) for TCP, both families, in the resolver's preferred order. Blocking:
// the client has nothing else to do while it looks up the server (or the proxy).
absl::StatusOr<std::vector<SocketAddress>> Resolve(const std::string& host, uint16_t port);

// Starts a non-blocking connect; the socket becomes writable when it finishes.
absl::StatusOr<int> StartConnect(const SocketAddress& to);
// After writability: the connect's outcome (SO_ERROR).
absl::Status FinishConnect(int fd, const SocketAddress& to);

absl::StatusOr<SocketAddress> LocalAddress(int fd);

}  // namespace client

#endif  // CLIENT_NET_H_
