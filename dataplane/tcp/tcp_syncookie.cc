// RFC 6528 initial sequence numbers and SYN cookies.
//
// ISN = M + F(local ip, local port, remote ip, remote port, secret): M is a 4 microsecond clock,
// F is SipHash-2-4 under a per-stack random key (RFC 6528 3).
//
// SYN cookie (stateless SYN-ACK when the SYN queue is full or always):
//   ISN = [5 bits: 64-second counter][3 bits: MSS index][24 bits: SipHash(tuple, peer ISN,
//   counter)]
// An ACK is accepted when ack - 1 decodes to the current or the previous counter and the hash
// matches. Window scale and SACK-permitted cannot live in 32 bits; as Linux does, they ride in the
// low 6 bits of our TSval when the peer sent timestamps, and are not offered otherwise.
#include "dataplane/tcp/tcp_impl.h"

namespace dp::tcp {
namespace {

constexpr uint16_t kCookieMss[8] = {536, 1220, 1360, 1400, 1440, 1460, 4312, 8960};

uint32_t CookieHash(const SipKey& key, const Segment& s, uint32_t peer_isn, uint32_t count) {
  uint8_t buf[20];
  StoreBe32(buf, s.dst_ip);
  StoreBe32(buf + 4, s.src_ip);
  StoreBe16(buf + 8, s.h.dst_port);
  StoreBe16(buf + 10, s.h.src_port);
  StoreBe32(buf + 12, peer_isn);
  StoreBe32(buf + 16, count);
  return static_cast<uint32_t>(SipHash24(key, buf, sizeof(buf))) & 0xffffff;
}

}  // namespace

uint32_t StackImpl::Isn(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport) const {
  uint8_t buf[12];
  StoreBe32(buf, lip);
  StoreBe32(buf + 4, rip);
  StoreBe16(buf + 8, lport);
  StoreBe16(buf + 10, rport);
  uint32_t f = static_cast<uint32_t>(SipHash24(isn_key_, buf, sizeof(buf)));
  return static_cast<uint32_t>(now_ns_ / 4000) + f;
}

uint32_t StackImpl::CookieIsn(const Segment& s, uint16_t mss_in) const {
  uint32_t count = static_cast<uint32_t>(now_ms64_ / 64000);
  uint32_t idx = 0;
  for (uint32_t i = 0; i < 8; ++i) {
    if (kCookieMss[i] <= mss_in) idx = i;
  }
  return ((count & 0x1f) << 27) | (idx << 24) | CookieHash(cookie_key_, s, s.h.seq, count);
}

bool StackImpl::CookieCheck(const Segment& s, uint16_t* mss_out) const {
  uint32_t cookie = s.h.ack - 1;
  uint32_t peer_isn = s.h.seq - 1;
  uint32_t count = static_cast<uint32_t>(now_ms64_ / 64000);
  for (uint32_t age = 0; age < 2; ++age) {
    uint32_t c = count - age;
    if (((cookie >> 27) & 0x1f) != (c & 0x1f)) continue;
    if ((cookie & 0xffffff) != CookieHash(cookie_key_, s, peer_isn, c)) continue;
    *mss_out = kCookieMss[(cookie >> 24) & 7];
    return true;
  }
  return false;
}

}  // namespace dp::tcp
