// TCP segment and option codec on plain byte spans (RFC 9293 3.1, RFC 7323, RFC 2018).
// DPDK-free so the libFuzzer build (clang, no DPDK) compiles it; the stack calls it on the
// contiguous header bytes of the first mbuf segment.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace dp::tcp {

inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;

inline constexpr size_t kTcpHeaderLen = 20;
inline constexpr size_t kTcpMaxHeaderLen = 60;
inline constexpr size_t kIpv4HeaderLen = 20;
inline constexpr uint8_t kMaxWscale = 14;  // RFC 7323 2.3
inline constexpr int kMaxSackBlocks = 4;

// Option kinds (IANA).
inline constexpr uint8_t kOptEol = 0;
inline constexpr uint8_t kOptNop = 1;
inline constexpr uint8_t kOptMss = 2;
inline constexpr uint8_t kOptWscale = 3;
inline constexpr uint8_t kOptSackPermitted = 4;
inline constexpr uint8_t kOptSack = 5;
inline constexpr uint8_t kOptTimestamp = 8;

struct SackBlock {
  uint32_t start;  // first sequence number of the block
  uint32_t end;    // sequence number just after the block
};

struct TcpOptions {
  bool has_mss = false;
  bool has_wscale = false;
  bool sack_permitted = false;
  bool has_ts = false;
  uint8_t wscale = 0;  // clamped to 14 (RFC 7323 2.3)
  uint8_t num_sack = 0;
  uint16_t mss = 0;
  uint32_t ts_val = 0;
  uint32_t ts_ecr = 0;
  SackBlock sack[kMaxSackBlocks] = {};
};

struct TcpHeader {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;     // FIN..URG (the low 6 bits; ECE/CWR are kept in flags_hi)
  uint8_t flags_hi = 0;  // byte 13 bits 6,7 (ECE, CWR) and the reserved bits of byte 12
  uint16_t window = 0;   // unscaled
  uint16_t checksum = 0;
  uint16_t urgent = 0;
  uint8_t header_len = 0;  // data offset * 4
};

enum class ParseResult : uint8_t {
  kOk = 0,
  kTruncated,   // fewer than 20 bytes
  kBadOffset,   // data offset < 5 or header longer than the segment
  kBadOptions,  // an option with a length below 2, running past the header, or a wrong length
};

// Parses the fixed header and the options of `segment` (TCP header + payload).
ParseResult ParseTcp(absl::Span<const uint8_t> segment, TcpHeader* hdr, TcpOptions* opts);
// Parses an option list (the bytes between the fixed header and the data offset). MSS, window
// scale and SACK-permitted are taken only from SYN segments (RFC 9293 3.7.1, RFC 7323 2.2).
ParseResult ParseOptions(absl::Span<const uint8_t> options, bool syn, TcpOptions* opts);

// Writes the options in `opts` (those marked present, plus num_sack blocks) NOP-padded to a 4-byte
// multiple in the order Linux uses (MSS, SACK-permitted+TS, NOP NOP TS, NOP WS, NOP NOP SACK).
// `out` must hold 40 bytes. Returns the byte count (<= 40; SACK blocks that do not fit are left
// out).
size_t WriteOptions(const TcpOptions& opts, uint8_t* out);
// Bytes WriteOptions would write.
size_t OptionsLength(const TcpOptions& opts);

// Writes a 20-byte header (checksum 0) at `out`; header_len from hdr.header_len.
void WriteTcpHeader(const TcpHeader& hdr, uint8_t* out);

// Internet checksum pieces (RFC 1071). Sums are 32-bit accumulators folded at the end.
uint32_t ChecksumPartial(const uint8_t* data, size_t len, uint32_t sum);
uint16_t ChecksumFold(uint32_t sum);  // returns the one's complement of the folded sum
// Pseudo-header sum for TCP over IPv4 (addresses in host order, tcp_len = header + payload).
uint32_t PseudoHeaderSum(uint32_t src_ip, uint32_t dst_ip, uint16_t tcp_len);

// One's complement sum of `len` bytes in native byte order, folded to 16 bits (the convention of
// DPDK's rte_raw_cksum and rte_ipv4_phdr_cksum: the complement is stored with a native store).
// 64-bit accumulation, about 8 bytes per cycle: the data path checksums every segment with it.
uint16_t RawChecksum(const uint8_t* data, size_t len);

inline uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t LoadBe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace dp::tcp
