// PPP frames as carried by SSTP data packets and by async HDLC (RFC 1661 section 2, RFC 1662).
//
// A PPP frame is [FF 03] protocol information. The Address/Control pair FF 03 may be absent when
// Address-and-Control-Field-Compression is in use (RFC 1661 section 6.6), and protocols below
// 0x0100 may be sent as one byte with Protocol-Field-Compression (section 6.5). We accept every
// form on receive (a peer may compress before LCP has finished, and being liberal costs nothing),
// and the encoder compresses only when asked to.
#ifndef PPP_FRAME_H_
#define PPP_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ppp {

// PPP DLL protocol numbers (IANA "PPP DLL Protocol Numbers"). PAP (0xC023) and CHAP (0xC223) are
// kProtocolPap and kProtocolChap in ppp/auth.h.
inline constexpr uint16_t kProtocolIpv4 = 0x0021;
inline constexpr uint16_t kProtocolBridgedLan = 0x0031;  // RFC 3518 section 4 (bridged Ethernet)
inline constexpr uint16_t kProtocolMultilink = 0x003D;   // RFC 1990 section 3
inline constexpr uint16_t kProtocolIpv6 = 0x0057;
inline constexpr uint16_t kProtocolCompressedDatagram = 0x00FD;  // CCP-compressed (MPPC)
inline constexpr uint16_t kProtocolIpcp = 0x8021;                // RFC 1332
inline constexpr uint16_t kProtocolBcp = 0x8031;                 // RFC 3518
inline constexpr uint16_t kProtocolIpv6cp = 0x8057;              // RFC 5072
inline constexpr uint16_t kProtocolCcp = 0x80FD;                 // RFC 1962
inline constexpr uint16_t kProtocolLcp = 0xC021;
inline constexpr uint16_t kProtocolLqr = 0xC025;
inline constexpr uint16_t kProtocolCbcp = 0xC029;  // Microsoft Callback Control Protocol
inline constexpr uint16_t kProtocolEap = 0xC227;

inline constexpr uint8_t kAllStationsAddress = 0xFF;  // RFC 1662 section 3.1
inline constexpr uint8_t kUiControl = 0x03;

// The largest MRU that fits SSTP: the 12-bit SSTP length (4095) minus the 4-byte SSTP header
// (MS-SSTP 2.2.2). Windows asks for exactly this MRU. The whole PPP frame (FF 03, protocol,
// information) must fit those 4091 bytes, so what we send carries at most kSstpMaxInformation
// bytes of information whatever MRU the peer announced.
inline constexpr size_t kSstpMaxMru = 4091;
inline constexpr size_t kSstpMaxFrame = 4091;
inline constexpr size_t kSstpMaxInformation = kSstpMaxFrame - 4;

// "LCP", "IPv4", "0x8281"... for logs.
std::string ProtocolName(uint16_t protocol);

// A valid protocol number has an odd low byte and an even high byte (RFC 1661 section 2).
inline bool IsValidProtocol(uint16_t protocol) {
  return (protocol & 0x0001) != 0 && (protocol & 0x0100) == 0;
}
// Network-layer protocols (0x0xxx-0x3xxx) and low-volume traffic without an NCP (0x4xxx-0x7xxx)
// versus NCPs (0x8xxx-0xBxxx) and link-layer control (0xCxxx-0xFxxx).
inline bool IsControlProtocol(uint16_t protocol) { return protocol >= 0x8000; }

// The PPP header of a frame: what the data plane strips to reach the network packet.
struct FrameHeader {
  uint16_t protocol = 0;
  uint8_t header_length = 0;  // 1..4: [FF 03] and 1 or 2 protocol bytes
};

// Reads the header of a PPP frame (with or without FF 03, compressed protocol or not). Reads at
// most 4 bytes; no copies, so it is the data plane's per-packet call. Errors: too short, invalid
// protocol number, FF not followed by 03.
absl::StatusOr<FrameHeader> PeekHeader(absl::Span<const uint8_t> frame);

// A parsed frame viewing the caller's buffer.
struct FrameView {
  uint16_t protocol = 0;
  absl::Span<const uint8_t> information;  // the payload after the protocol field
  bool had_address_control = false;       // FF 03 was present
  bool protocol_compressed = false;       // protocol was one byte
};
absl::StatusOr<FrameView> ParseFrame(absl::Span<const uint8_t> frame);

struct EncodeOptions {
  bool address_control_compression = false;  // omit FF 03 (never for LCP, RFC 1661 6.6)
  bool protocol_compression = false;         // 1-byte protocol when < 0x100 (RFC 1661 6.5)
};

// Bytes of header EncodeHeader writes for this protocol and these options.
size_t HeaderLength(uint16_t protocol, EncodeOptions options);
// Writes the header into `out` (at least HeaderLength() bytes); returns the bytes written. For the
// data plane, which prepends into mbuf headroom.
size_t EncodeHeader(uint16_t protocol, EncodeOptions options, absl::Span<uint8_t> out);
// Appends a whole frame to `out`. LCP frames always keep FF 03 (RFC 1661 section 6.6).
void AppendFrame(uint16_t protocol, absl::Span<const uint8_t> information, EncodeOptions options,
                 std::vector<uint8_t>& out);
std::vector<uint8_t> EncodeFrame(uint16_t protocol, absl::Span<const uint8_t> information,
                                 EncodeOptions options = {});

}  // namespace ppp

#endif  // PPP_FRAME_H_
