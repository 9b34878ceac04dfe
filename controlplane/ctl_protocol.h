// The CLI protocol on the control socket (<run-dir>/ctl.sock, mode 0600): length-prefixed frames
// on a SOCK_STREAM Unix socket.
//   request:  u32 length (big-endian) + kind ('C' command | 'T' completion) + cwd + '\n' + line
//   response: u32 length (big-endian) + status ('0' ok | '1' error) + cwd + '\n' + text
// A request longer than kMaxRequest is answered with an error and the connection is closed.
#ifndef CONTROLPLANE_CTL_PROTOCOL_H_
#define CONTROLPLANE_CTL_PROTOCOL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace cp {

inline constexpr uint32_t kMaxRequest = 64 * 1024;
inline constexpr uint32_t kMaxResponse = 64 * 1024 * 1024;

inline std::string Frame(absl::string_view payload) {
  std::string out(4, '\0');
  uint32_t n = uint32_t(payload.size());
  out[0] = char(n >> 24);
  out[1] = char(n >> 16);
  out[2] = char(n >> 8);
  out[3] = char(n);
  out.append(payload.data(), payload.size());
  return out;
}

inline uint32_t FrameLength(const char* p) {
  return uint32_t(uint8_t(p[0])) << 24 | uint32_t(uint8_t(p[1])) << 16 |
         uint32_t(uint8_t(p[2])) << 8 | uint32_t(uint8_t(p[3]));
}

}  // namespace cp

#endif  // CONTROLPLANE_CTL_PROTOCOL_H_
