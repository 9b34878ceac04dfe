#include "ppp/frame.h"

#include "absl/strings/str_format.h"

namespace ppp {

std::string ProtocolName(uint16_t protocol) {
  switch (protocol) {
    case kProtocolIpv4:
      return "IPv4";
    case kProtocolBridgedLan:
      return "BridgedLAN";
    case kProtocolMultilink:
      return "MP";
    case kProtocolIpv6:
      return "IPv6";
    case kProtocolCompressedDatagram:
      return "CompressedDatagram";
    case kProtocolIpcp:
      return "IPCP";
    case kProtocolBcp:
      return "BCP";
    case kProtocolIpv6cp:
      return "IPV6CP";
    case kProtocolCcp:
      return "CCP";
    case kProtocolLcp:
      return "LCP";
    case 0xC023:
      return "PAP";
    case kProtocolLqr:
      return "LQR";
    case kProtocolCbcp:
      return "CBCP";
    case 0xC223:
      return "CHAP";
    case kProtocolEap:
      return "EAP";
    default:
      return absl::StrFormat("0x%04X", protocol);
  }
}

absl::StatusOr<FrameHeader> PeekHeader(absl::Span<const uint8_t> frame) {
  size_t pos = 0;
  if (!frame.empty() && frame[0] == kAllStationsAddress) {
    // FF always means Address: protocol 0x00FF is reserved precisely so that a compressed
    // protocol field cannot be mistaken for it (RFC 1661 section 6.5, RFC 1700).
    if (frame.size() < 2 || frame[1] != kUiControl) {
      return absl::InvalidArgumentError("PPP frame: address FF not followed by control 03");
    }
    pos = 2;
  }
  if (pos >= frame.size()) return absl::InvalidArgumentError("PPP frame: no protocol field");
  uint16_t protocol;
  if (frame[pos] & 0x01) {
    protocol = frame[pos];  // compressed (RFC 1661 6.5)
    pos += 1;
  } else {
    if (pos + 2 > frame.size()) {
      return absl::InvalidArgumentError("PPP frame: truncated protocol field");
    }
    protocol = static_cast<uint16_t>(frame[pos] << 8 | frame[pos + 1]);
    pos += 2;
    if (!IsValidProtocol(protocol)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("PPP frame: invalid protocol number 0x%04X", protocol));
    }
  }
  return FrameHeader{protocol, static_cast<uint8_t>(pos)};
}

absl::StatusOr<FrameView> ParseFrame(absl::Span<const uint8_t> frame) {
  absl::StatusOr<FrameHeader> header = PeekHeader(frame);
  if (!header.ok()) return header.status();
  FrameView view;
  view.protocol = header->protocol;
  view.had_address_control = frame[0] == kAllStationsAddress;
  view.protocol_compressed = header->header_length == (view.had_address_control ? 3 : 1);
  view.information = frame.subspan(header->header_length);
  return view;
}

size_t HeaderLength(uint16_t protocol, EncodeOptions options) {
  bool acfc = options.address_control_compression && protocol != kProtocolLcp;
  bool pfc = options.protocol_compression && protocol < 0x100;
  return (acfc ? 0 : 2) + (pfc ? 1 : 2);
}

size_t EncodeHeader(uint16_t protocol, EncodeOptions options, absl::Span<uint8_t> out) {
  size_t pos = 0;
  if (!options.address_control_compression || protocol == kProtocolLcp) {
    out[pos++] = kAllStationsAddress;
    out[pos++] = kUiControl;
  }
  if (options.protocol_compression && protocol < 0x100) {
    out[pos++] = static_cast<uint8_t>(protocol);
  } else {
    out[pos++] = static_cast<uint8_t>(protocol >> 8);
    out[pos++] = static_cast<uint8_t>(protocol);
  }
  return pos;
}

void AppendFrame(uint16_t protocol, absl::Span<const uint8_t> information, EncodeOptions options,
                 std::vector<uint8_t>& out) {
  uint8_t header[4];
  size_t n = EncodeHeader(protocol, options, absl::MakeSpan(header));
  out.insert(out.end(), header, header + n);
  out.insert(out.end(), information.begin(), information.end());
}

std::vector<uint8_t> EncodeFrame(uint16_t protocol, absl::Span<const uint8_t> information,
                                 EncodeOptions options) {
  std::vector<uint8_t> out;
  out.reserve(4 + information.size());
  AppendFrame(protocol, information, options, out);
  return out;
}

}  // namespace ppp
