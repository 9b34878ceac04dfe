// What `sstp-client --status` shows: the RouterOS `monitor` fields (status, uptime, idle-time,
// user, caller-id, mtu) plus counters, served by the running client on a Unix socket.
#ifndef CLIENT_STATUS_H_
#define CLIENT_STATUS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace client {

struct StatusSnapshot {
  std::string status = "disconnected";  // "connecting", "authenticating", "connected", ...
  std::string name;                     // interface
  std::string server;                   // connect-to as given
  std::string proxy;                    // empty: none
  std::string user;
  std::string caller_id;  // our TCP endpoint as the server sees it (without a proxy)
  absl::Time connected_since = absl::InfinitePast();  // InfinitePast: not connected
  absl::Time last_activity = absl::InfinitePast();    // last data packet either way
  int mtu = 0;
  int mru = 0;
  std::string authentication;  // the method that succeeded
  std::string local_address;
  std::string remote_address;
  std::string local_address6;  // IPV6CP link-local
  std::string remote_address6;
  std::string dns;     // comma-separated
  std::string bridge;  // --bridge with BCP open: "BCP" and the peer's MAC when it announced one
  uint64_t tx_bytes = 0, rx_bytes = 0, tx_packets = 0, rx_packets = 0;
  uint64_t tx_dropped = 0, rx_dropped = 0;
  uint32_t reconnects = 0;
  std::string last_error;
  std::string next_attempt;  // "in 4s" while waiting to reconnect
};

// RouterOS layout: right-aligned names, strings quoted, durations as 1h45s.
std::string FormatMonitor(const StatusSnapshot& s, absl::Time now);

// The listening side in the client. Bind() refuses when another live client answers on the path
// and removes a stale socket left by one that died.
class StatusServer {
 public:
  static absl::StatusOr<std::unique_ptr<StatusServer>> Bind(const std::string& path);
  ~StatusServer();
  int fd() const { return fd_; }
  // Accepts every waiting query and answers each with `text` (queries are one-shot: connect,
  // read to EOF).
  void AnswerAll(const std::string& text);

 private:
  StatusServer() = default;
  int fd_ = -1;
  std::string path_;
};

// `sstp-client --status`: connects to `path` and returns what the client wrote.
absl::StatusOr<std::string> QueryStatus(const std::string& path);

}  // namespace client

#endif  // CLIENT_STATUS_H_
