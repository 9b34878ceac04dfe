// The TUN interface the tunnel's IP packets enter and leave by (Documentation/networking/tuntap).
// IFF_NO_PI: every read is one IPv4 or IPv6 packet, every write one packet whose version nibble
// tells the kernel the protocol; nothing to strip or prepend between TUN and PPP but the protocol
// field.
#ifndef CLIENT_TUN_H_
#define CLIENT_TUN_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace client {

class Tun {
 public:
  // Creates (or attaches to) the TUN device `name`, non-blocking. `tap`: a TAP device instead
  // (IFF_TAP: every read and write is one Ethernet frame), for --bridge.
  static absl::StatusOr<Tun> Open(const std::string& name, bool tap = false);
  Tun(Tun&& o) noexcept : fd_(o.fd_), ifindex_(o.ifindex_), name_(std::move(o.name_)) {
    o.fd_ = -1;
  }
  Tun& operator=(Tun&&) = delete;
  ~Tun();

  int fd() const { return fd_; }
  int ifindex() const { return ifindex_; }
  const std::string& name() const { return name_; }

  absl::Status SetMtu(int mtu);
  absl::Status SetUp(bool up);

  // One packet or 0 when none is waiting (EAGAIN); error otherwise.
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> buf);
  absl::Status Write(absl::Span<const uint8_t> packet);

 private:
  Tun(int fd, int ifindex, std::string name) : fd_(fd), ifindex_(ifindex), name_(std::move(name)) {}
  int fd_ = -1;
  int ifindex_ = 0;
  std::string name_;
};

}  // namespace client

#endif  // CLIENT_TUN_H_
