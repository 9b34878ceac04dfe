#include "ppp/bcp.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "ppp/frame.h"

namespace ppp {
namespace {

void AppendRaw(const Option& o, std::vector<uint8_t>& out) {
  out.insert(out.end(), o.raw.begin(), o.raw.end());
}

bool IsZero(absl::Span<const uint8_t> d) {
  return std::all_of(d.begin(), d.end(), [](uint8_t b) { return b == 0; });
}

MacAddress ToMac(absl::Span<const uint8_t> d) {
  MacAddress m;
  std::copy(d.begin(), d.begin() + 6, m.begin());
  return m;
}

}  // namespace

Bcp::Bcp(BcpConfig config) : Fsm(kProtocolBcp, "BCP", config.fsm), config_(std::move(config)) {}

void Bcp::ResetConfigureRequest() {
  want_mac_support_ = config_.request_mac_support;
  mac_ = config_.local_mac;
}

void Bcp::BuildConfigureRequest(std::vector<uint8_t>& options) {
  if (want_mac_support_) AppendOption8(kBcpMacSupport, kMacTypeEthernet, options);
  if (mac_) AppendOption(kBcpMacAddress, *mac_, options);
}

Verdict Bcp::ReceiveConfigureRequest(const OptionList& options, bool nak_allowed,
                                     std::vector<uint8_t>& reply) {
  std::vector<uint8_t> nak, rej, nak_as_rej;
  BcpNegotiated cand = negotiated_;
  cand.peer_mac.reset();
  cand.peer_tagged_frames = cand.peer_management_inline = false;
  cand.peer_bridge_control_indicator = false;
  for (const Option& o : options) {
    const size_t n = o.data.size();
    switch (o.type) {
      case kBcpBridgeIdentification:
      case kBcpLineIdentification:
        if (n != 2) AppendRaw(o, rej);  // LAN segment (12 bits) + bridge number (4): noted only
        break;
      case kBcpMacSupport:
        // May appear once per MAC type; we bridge Ethernet only.
        if (n != 1 || o.data[0] != kMacTypeEthernet) AppendRaw(o, rej);
        break;
      case kBcpTinygramCompression:
        if (n != 1 || (o.data[0] != 1 && o.data[0] != 2)) {
          AppendRaw(o, rej);
        } else if (o.data[0] == 1) {
          AppendOption8(kBcpTinygramCompression, 2, nak);  // we send full-size frames only
          AppendRaw(o, nak_as_rej);
        }
        break;
      case kBcpMacAddress:
        if (n != 6) {
          AppendRaw(o, rej);
        } else if (IsZero(o.data)) {
          // The peer asks us to assign its MAC (RFC 3518 5.7).
          if (config_.remote_mac) {
            AppendOption(kBcpMacAddress, *config_.remote_mac, nak);
            AppendRaw(o, nak_as_rej);
          } else {
            AppendRaw(o, rej);
          }
        } else if (o.data[0] & 0x01) {
          AppendRaw(o, rej);  // a multicast address cannot be a station's
        } else {
          cand.peer_mac = ToMac(o.data);
        }
        break;
      case kBcpSpanningTreeProtocol:
        if (n < 1) AppendRaw(o, rej);
        break;
      case kBcpIeee802TaggedFrame:
        if (n != 1 || (o.data[0] != 1 && o.data[0] != 2) ||
            (o.data[0] == 1 && !config_.allow_tagged_frames)) {
          AppendRaw(o, rej);
        } else {
          cand.peer_tagged_frames = o.data[0] == 1;
        }
        break;
      case kBcpManagementInline:
        if (n != 0) {
          AppendRaw(o, rej);
        } else {
          cand.peer_management_inline = true;
        }
        break;
      case kBcpBridgeControlPacketIndicator:
        if (n != 0) {
          AppendRaw(o, rej);
        } else {
          cand.peer_bridge_control_indicator = true;
        }
        break;
      default:  // LAN-Identification (obsolete), unknown
        AppendRaw(o, rej);
        break;
    }
  }
  if (!rej.empty()) {
    reply = std::move(rej);
    return Verdict::kReject;
  }
  if (!nak.empty()) {
    reply = nak_allowed ? std::move(nak) : std::move(nak_as_rej);
    return nak_allowed ? Verdict::kNak : Verdict::kReject;
  }
  for (const Option& o : options) AppendRaw(o, reply);
  negotiated_ = std::move(cand);
  return Verdict::kAck;
}

void Bcp::ReceiveConfigureAck(const OptionList&) { negotiated_.local_mac = mac_; }

NakResult Bcp::ReceiveConfigureNak(const OptionList& options) {
  for (const Option& o : options) {
    if (o.type == kBcpMacAddress && o.data.size() == 6 && !IsZero(o.data) && !(o.data[0] & 0x01)) {
      mac_ = ToMac(o.data);  // the peer assigns us a MAC
    }
  }
  return NakResult::kApplied;
}

NakResult Bcp::ReceiveConfigureReject(const OptionList& options) {
  for (const Option& o : options) {
    if (o.type == kBcpMacSupport) want_mac_support_ = false;
    if (o.type == kBcpMacAddress) mac_.reset();
  }
  return NakResult::kApplied;
}

absl::StatusOr<BridgedFrame> ParseBridgedFrame(absl::Span<const uint8_t> info) {
  if (info.size() < 2) {
    return absl::InvalidArgumentError("bridged frame: shorter than its 2-byte header");
  }
  BridgedFrame f;
  f.lan_fcs_present = info[0] & 0x80;
  f.zero_pad = info[0] & 0x20;
  f.bridge_control = info[0] & 0x10;
  f.pads = info[0] & 0x0F;
  f.mac_type = info[1];
  if (info[0] & 0x40) {
    // The I bit announced the LAN-Identification field of RFC 1638, removed by RFC 3518.
    return absl::InvalidArgumentError("bridged frame: LAN-Identification (I bit) not supported");
  }
  size_t tail = f.pads + (f.lan_fcs_present ? 4 : 0);
  if (info.size() - 2 < tail) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "bridged frame: %d bytes of pads/FCS exceed the %d-byte frame", tail, info.size() - 2));
  }
  f.frame = info.subspan(2, info.size() - 2 - tail);
  if (f.mac_type == kMacTypeEthernet && !f.bridge_control && f.frame.size() < 14) {
    return absl::InvalidArgumentError("bridged frame: Ethernet frame shorter than its header");
  }
  return f;
}

}  // namespace ppp
