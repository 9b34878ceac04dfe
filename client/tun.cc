#include "client/tun.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace client {
namespace {

// Interface ioctls go through any socket.
absl::Status IfIoctl(unsigned long req, ifreq* ifr, const std::string& what) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return absl::ErrnoToStatus(errno, what);
  int rc = ioctl(s, req, ifr);
  int e = errno;
  close(s);
  if (rc < 0) return absl::ErrnoToStatus(e, what);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Tun> Tun::Open(const std::string& name, bool tap) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno,
                               "open /dev/net/tun (is the tun module loaded? are you root?)");
  }
  ifreq ifr{};
  ifr.ifr_flags = (tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return absl::ErrnoToStatus(
        e, absl::StrCat(
               "create ", tap ? "TAP" : "TUN", " interface ", name,
               e == EBUSY ? " (another program holds it: is a client already running?)" : ""));
  }
  ifreq idx{};
  memcpy(idx.ifr_name, ifr.ifr_name, IFNAMSIZ);
  absl::Status s = IfIoctl(SIOCGIFINDEX, &idx, absl::StrCat("index of ", name));
  if (!s.ok()) {
    close(fd);
    return s;
  }
  return Tun(fd, idx.ifr_ifindex, ifr.ifr_name);
}

Tun::~Tun() {
  if (fd_ >= 0) close(fd_);
}

absl::Status Tun::SetMtu(int mtu) {
  ifreq ifr{};
  strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
  ifr.ifr_mtu = mtu;
  return IfIoctl(SIOCSIFMTU, &ifr, absl::StrCat("set MTU ", mtu, " on ", name_));
}

absl::Status Tun::SetUp(bool up) {
  ifreq ifr{};
  strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
  absl::Status s = IfIoctl(SIOCGIFFLAGS, &ifr, absl::StrCat("flags of ", name_));
  if (!s.ok()) return s;
  if (up) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  } else {
    ifr.ifr_flags &= ~IFF_UP;
  }
  return IfIoctl(SIOCSIFFLAGS, &ifr, absl::StrCat("set ", name_, up ? " up" : " down"));
}

absl::StatusOr<size_t> Tun::Read(absl::Span<uint8_t> buf) {
  for (;;) {
    ssize_t n = read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return 0;
    return absl::ErrnoToStatus(errno, absl::StrCat("read from ", name_));
  }
}

absl::Status Tun::Write(absl::Span<const uint8_t> packet) {
  for (;;) {
    ssize_t n = write(fd_, packet.data(), packet.size());
    if (n >= 0) return absl::OkStatus();
    if (errno == EINTR) continue;
    // A full queue drops the packet, as a router would.
    if (errno == EAGAIN) return absl::OkStatus();
    return absl::ErrnoToStatus(errno, absl::StrCat("write to ", name_));
  }
}

}  // namespace client
