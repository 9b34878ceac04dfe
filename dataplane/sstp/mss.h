// TCP MSS clamping for tunnel sessions (RouterOS profile change-tcp-mss), DPDK-free so it can be
// unit-tested.
#ifndef DATAPLANE_SSTP_MSS_H_
#define DATAPLANE_SSTP_MSS_H_

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>

namespace dp {
namespace srv {

// RouterOS change-tcp-mss (RFC 879, RFC 6691): a TCP SYN crossing the tunnel gets its MSS option
// lowered to what fits the tunnel MTU, with an incremental checksum update (RFC 1624 3).
// `ip`: a complete IPv4 packet of `total` bytes (header validated). True when the MSS was lowered.
inline bool ClampTcpMss(uint8_t* ip, size_t total, uint16_t mtu) {
  const size_t ihl = size_t(ip[0] & 0xf) * 4;
  if (ip[9] != IPPROTO_TCP || ((ip[6] & 0x1f) | ip[7]) != 0 || total < ihl + 20 || mtu <= 40) {
    return false;
  }
  uint8_t* tcp = ip + ihl;
  if (!(tcp[13] & 0x02)) return false;  // SYN only
  const size_t doff = size_t(tcp[12] >> 4) * 4;
  if (doff < 20 || ihl + doff > total) return false;
  const uint16_t max_mss = uint16_t(mtu - 40);
  for (size_t i = 20; i < doff;) {
    const uint8_t kind = tcp[i];
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= doff) break;
    const uint8_t len = tcp[i + 1];
    if (len < 2 || i + len > doff) break;
    if (kind == 2 && len == 4 && (i % 2) == 0) {
      const uint16_t mss = uint16_t(tcp[i + 2] << 8 | tcp[i + 3]);
      if (mss > max_mss) {
        tcp[i + 2] = uint8_t(max_mss >> 8);
        tcp[i + 3] = uint8_t(max_mss);
        const uint16_t hc = uint16_t(tcp[16] << 8 | tcp[17]);
        uint32_t sum = uint32_t(uint16_t(~hc)) + uint16_t(~mss) + max_mss;
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        const uint16_t nc = uint16_t(~sum);
        tcp[16] = uint8_t(nc >> 8);
        tcp[17] = uint8_t(nc);
        return true;
      }
      return false;
    }
    i += len;
  }
  return false;
}

}  // namespace srv
}  // namespace dp

#endif  // DATAPLANE_SSTP_MSS_H_
