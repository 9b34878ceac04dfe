// dataplane/sstp/mss.h: TCP MSS clamping of SYNs crossing a tunnel (RouterOS change-tcp-mss).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "dataplane/sstp/mss.h"

namespace dp::srv {
namespace {

// RFC 1071 checksum over the TCP pseudo-header and segment, as a receiver verifies it.
uint16_t TcpChecksum(const std::vector<uint8_t>& p) {
  const size_t ihl = (p[0] & 0xf) * 4, len = p.size() - ihl;
  uint32_t sum = 0;
  for (int i = 12; i < 20; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  sum += IPPROTO_TCP + uint32_t(len);
  for (size_t i = 0; i < len; i += 2) {
    sum += uint32_t(p[ihl + i] << 8 | (i + 1 < len ? p[ihl + i + 1] : 0));
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// IPv4 + TCP SYN with options: MSS `mss`, then NOP NOP SACK-permitted... (28-byte header).
std::vector<uint8_t> Syn(uint16_t mss, uint8_t flags = 0x02) {
  std::vector<uint8_t> p = {0x45, 0, 0,   48, 0,  1,  0x40, 0,  64,  IPPROTO_TCP,
                            0,    0, 198, 18, 80, 18, 198,  19, 101, 10};
  std::vector<uint8_t> tcp = {0x9c,
                              0x40,
                              0x14,
                              0x51,
                              0,
                              0,
                              0,
                              1,
                              0,
                              0,
                              0,
                              0,
                              0x70,
                              flags,
                              0xff,
                              0xff,
                              0,
                              0,
                              0,
                              0,
                              2,
                              4,
                              uint8_t(mss >> 8),
                              uint8_t(mss),
                              1,
                              1,
                              4,
                              2};
  p.insert(p.end(), tcp.begin(), tcp.end());
  uint16_t c = TcpChecksum(p);
  p[20 + 16] = uint8_t(c >> 8);
  p[20 + 17] = uint8_t(c);
  EXPECT_EQ(TcpChecksum(p), 0);
  return p;
}

TEST(ClampTcpMss, LowersTheMssOfASynToTheTunnelMtuAndKeepsTheChecksumValid) {
  std::vector<uint8_t> p = Syn(1460);
  EXPECT_TRUE(ClampTcpMss(p.data(), p.size(), 1400));
  EXPECT_EQ(p[20 + 22] << 8 | p[20 + 23], 1360);
  EXPECT_EQ(TcpChecksum(p), 0);
}

TEST(ClampTcpMss, SynAckIsClampedToo) {
  std::vector<uint8_t> p = Syn(8960, 0x12);
  EXPECT_TRUE(ClampTcpMss(p.data(), p.size(), 1500));
  EXPECT_EQ(p[20 + 22] << 8 | p[20 + 23], 1460);
  EXPECT_EQ(TcpChecksum(p), 0);
}

TEST(ClampTcpMss, LeavesSmallerMssNonSynAndOtherProtocolsAlone) {
  std::vector<uint8_t> p = Syn(1200);
  std::vector<uint8_t> before = p;
  EXPECT_FALSE(ClampTcpMss(p.data(), p.size(), 1500));
  EXPECT_EQ(p, before);
  p = Syn(1460, 0x10);  // ACK only
  before = p;
  EXPECT_FALSE(ClampTcpMss(p.data(), p.size(), 1400));
  EXPECT_EQ(p, before);
  p = Syn(1460);
  p[9] = IPPROTO_UDP;
  before = p;
  EXPECT_FALSE(ClampTcpMss(p.data(), p.size(), 1400));
  EXPECT_EQ(p, before);
}

TEST(ClampTcpMss, MalformedOptionsAndTruncatedPacketsAreNotTouched) {
  std::vector<uint8_t> p = Syn(1460);
  p[20 + 21] = 0;  // option length 0: stop
  std::vector<uint8_t> before = p;
  EXPECT_FALSE(ClampTcpMss(p.data(), p.size(), 1400));
  EXPECT_EQ(p, before);
  p = Syn(1460);
  EXPECT_FALSE(ClampTcpMss(p.data(), 30, 1400));  // data offset beyond the packet
  p[20 + 12] = 0x40;                              // data offset 16 < 20
  EXPECT_FALSE(ClampTcpMss(p.data(), p.size(), 1400));
}

}  // namespace
}  // namespace dp::srv
