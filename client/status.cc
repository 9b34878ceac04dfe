#include "client/status.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/options.h"

namespace client {
namespace {

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("status socket path too long: ", path));
  }
  memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return sa;
}

absl::Status MakeParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return absl::OkStatus();
  std::string dir = path.substr(0, slash);
  if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("create ", dir));
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatMonitor(const StatusSnapshot& s, absl::Time now) {
  std::vector<std::pair<std::string, std::string>> rows;
  auto quoted = [](const std::string& v) { return absl::StrCat("\"", v, "\""); };
  rows.push_back({"status", quoted(s.status)});
  bool up = s.connected_since != absl::InfinitePast();
  if (up) {
    rows.push_back({"uptime", FormatRouterOsDuration(now - s.connected_since)});
    absl::Time last = std::max(s.last_activity, s.connected_since);
    rows.push_back({"idle-time", FormatRouterOsDuration(now - last)});
  }
  rows.push_back({"user", quoted(s.user)});
  if (!s.caller_id.empty()) rows.push_back({"caller-id", quoted(s.caller_id)});
  if (up) {
    rows.push_back({"mtu", absl::StrCat(s.mtu)});
    rows.push_back({"mru", absl::StrCat(s.mru)});
    if (!s.authentication.empty()) rows.push_back({"authentication", s.authentication});
    if (!s.local_address.empty()) rows.push_back({"local-address", s.local_address});
    if (!s.remote_address.empty()) rows.push_back({"remote-address", s.remote_address});
    if (!s.local_address6.empty()) rows.push_back({"local-ipv6", s.local_address6});
    if (!s.remote_address6.empty()) rows.push_back({"remote-ipv6", s.remote_address6});
    if (!s.dns.empty()) rows.push_back({"dns", s.dns});
    if (!s.bridge.empty()) rows.push_back({"bridge", s.bridge});
  }
  rows.push_back({"interface", s.name});
  rows.push_back({"connect-to", s.server});
  if (!s.proxy.empty()) rows.push_back({"proxy", s.proxy});
  rows.push_back({"tx-byte", absl::StrCat(s.tx_bytes)});
  rows.push_back({"rx-byte", absl::StrCat(s.rx_bytes)});
  rows.push_back({"tx-packet", absl::StrCat(s.tx_packets)});
  rows.push_back({"rx-packet", absl::StrCat(s.rx_packets)});
  rows.push_back({"tx-drop", absl::StrCat(s.tx_dropped)});
  rows.push_back({"rx-drop", absl::StrCat(s.rx_dropped)});
  rows.push_back({"reconnects", absl::StrCat(s.reconnects)});
  if (!s.last_error.empty()) rows.push_back({"last-error", quoted(s.last_error)});
  if (!s.next_attempt.empty()) rows.push_back({"next-attempt", s.next_attempt});
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  std::string out;
  for (const auto& r : rows) {
    absl::StrAppend(&out, std::string(width + 2 - r.first.size(), ' '), r.first, ": ", r.second,
                    "\n");
  }
  return out;
}

absl::StatusOr<std::unique_ptr<StatusServer>> StatusServer::Bind(const std::string& path) {
  auto sa = UnixAddress(path);
  if (!sa.ok()) return sa.status();
  absl::Status s = MakeParentDir(path);
  if (!s.ok()) return s;
  // Someone there already?
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    int rc = connect(probe, reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa));
    int e = errno;
    close(probe);
    if (rc == 0) {
      return absl::AlreadyExistsError(absl::StrCat("another sstp-client answers on ", path,
                                                   ": use another --name or --status-socket"));
    }
    if (e == ECONNREFUSED) unlink(path.c_str());  // left by a client that died
  }
  std::unique_ptr<StatusServer> srv(new StatusServer());
  srv->fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (srv->fd_ < 0) return absl::ErrnoToStatus(errno, "status socket");
  if (bind(srv->fd_, reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("bind status socket ", path));
  }
  srv->path_ = path;
  // The status includes the user name and addresses: owner and group only.
  chmod(path.c_str(), 0660);
  if (listen(srv->fd_, 8) < 0) return absl::ErrnoToStatus(errno, "listen on status socket");
  return srv;
}

StatusServer::~StatusServer() {
  if (fd_ >= 0) close(fd_);
  if (!path_.empty()) unlink(path_.c_str());
}

void StatusServer::AnswerAll(const std::string& text) {
  for (;;) {
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) return;
    // A few hundred bytes always fit the socket buffer; a reader that does not read loses out.
    (void)!send(c, text.data(), text.size(), MSG_NOSIGNAL);
    close(c);
  }
}

absl::StatusOr<std::string> QueryStatus(const std::string& path) {
  auto sa = UnixAddress(path);
  if (!sa.ok()) return sa.status();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  if (connect(fd, reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) < 0) {
    int e = errno;
    close(fd);
    return absl::ErrnoToStatus(
        e, absl::StrCat("no sstp-client answers on ", path,
                        " (is it running? is --name/--status-socket the same?)"));
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, n);
  }
  close(fd);
  return out;
}

}  // namespace client
