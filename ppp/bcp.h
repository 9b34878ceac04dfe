// Bridging Control Protocol (RFC 3518) for bridged Ethernet over PPP (RouterOS "bridge=" on a
// profile; Linux pppd with BCP patches; Windows does not speak it).
//
// Options we understand (RFC 3518 section 5): Bridge-Identification (1), Line-Identification (2),
// MAC-Support (3, Ethernet only), Tinygram-Compression (4, naked to disabled: we do not re-pad),
// MAC-Address (6, announce ours / assign the peer's on request), Spanning-Tree-Protocol (7),
// IEEE-802-Tagged-Frame (8), Management-Inline (9), Bridge-Control-Packet-Indicator (10). The
// obsolete LAN-Identification (5) and anything else are rejected.
//
// Also the framing of bridged frames (protocol 0x0031, RFC 3518 section 4.3): a 2-byte header
// (flags F/I/Z/B, pad count, MAC type) before the LAN frame.
#ifndef PPP_BCP_H_
#define PPP_BCP_H_

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ppp/fsm.h"

namespace ppp {

enum BcpOption : uint8_t {
  kBcpBridgeIdentification = 1,
  kBcpLineIdentification = 2,
  kBcpMacSupport = 3,
  kBcpTinygramCompression = 4,
  kBcpLanIdentification = 5,
  kBcpMacAddress = 6,
  kBcpSpanningTreeProtocol = 7,
  kBcpIeee802TaggedFrame = 8,
  kBcpManagementInline = 9,
  kBcpBridgeControlPacketIndicator = 10,
};

// MAC types (RFC 3518 section 4.3 / 5.3).
inline constexpr uint8_t kMacTypeEthernet = 1;  // IEEE 802.3/Ethernet, canonical addresses

using MacAddress = std::array<uint8_t, 6>;

struct BcpConfig {
  FsmConfig fsm;
  // Our MAC address, announced with the MAC-Address option when set.
  std::optional<MacAddress> local_mac;
  // Given to a peer that asks for one (MAC-Address all zeros); unset: such a request is rejected.
  std::optional<MacAddress> remote_mac;
  // Announce MAC-Support Ethernet in our request.
  bool request_mac_support = true;
  // Accept 802.1Q-tagged frames (IEEE-802-Tagged-Frame).
  bool allow_tagged_frames = true;
};

struct BcpNegotiated {
  std::optional<MacAddress> peer_mac;   // announced by the peer (or assigned by us)
  std::optional<MacAddress> local_mac;  // ours as acked (or assigned to us by the peer)
  bool peer_tagged_frames = false;      // the peer sends 802.1Q tags
  bool peer_management_inline = false;
  bool peer_bridge_control_indicator = false;
};

class Bcp : public Fsm {
 public:
  explicit Bcp(BcpConfig config);
  const BcpNegotiated& negotiated() const { return negotiated_; }

 protected:
  void ResetConfigureRequest() override;
  void BuildConfigureRequest(std::vector<uint8_t>& options) override;
  Verdict ReceiveConfigureRequest(const OptionList& options, bool nak_allowed,
                                  std::vector<uint8_t>& reply) override;
  void ReceiveConfigureAck(const OptionList& options) override;
  NakResult ReceiveConfigureNak(const OptionList& options) override;
  NakResult ReceiveConfigureReject(const OptionList& options) override;

 private:
  BcpConfig config_;
  BcpNegotiated negotiated_;
  bool want_mac_support_ = false;
  std::optional<MacAddress> mac_;
};

// The header of a bridged frame (RFC 3518 4.3):  |F|I|Z|B| Pads | MAC Type |
struct BridgedFrame {
  bool lan_fcs_present = false;  // F: the LAN FCS follows the frame
  bool zero_pad = false;         // Z: 802.3 padding was removed (tinygram) and is to be zeros
  bool bridge_control = false;   // B: a bridge control packet (BPDU)
  uint8_t pads = 0;              // octets of PPP padding at the end
  uint8_t mac_type = kMacTypeEthernet;
  absl::Span<const uint8_t> frame;  // the LAN frame (Ethernet header on), pads and FCS removed
};
absl::StatusOr<BridgedFrame> ParseBridgedFrame(absl::Span<const uint8_t> information);
// The 2-byte header for an Ethernet frame without LAN FCS (what we send).
inline constexpr std::array<uint8_t, 2> kBridgedEthernetHeader = {0x00, kMacTypeEthernet};

}  // namespace ppp

#endif  // PPP_BCP_H_
