// IPv6 Control Protocol (RFC 5072): the 64-bit Interface-Identifier that forms each end's
// link-local address fe80::<identifier>. IPv6-Compression-Protocol is rejected.
#ifndef PPP_IPV6CP_H_
#define PPP_IPV6CP_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "ppp/fsm.h"

namespace ppp {

enum Ipv6cpOption : uint8_t {
  kIpv6cpInterfaceIdentifier = 1,
  kIpv6cpCompression = 2,
};

struct Ipv6cpConfig {
  FsmConfig fsm;
  // Our identifier; 0 picks a random one (RFC 5072 4.1).
  uint64_t local_identifier = 0;
  // The identifier to give the peer when it asks (sends 0) or collides; 0: pick a random one.
  uint64_t remote_identifier = 0;
  // Random 64-bit values for identifiers; defaults to absl::BitGen.
  std::function<uint64_t()> random64;
};

struct Ipv6cpNegotiated {
  uint64_t local_identifier = 0;
  uint64_t remote_identifier = 0;
};

// fe80::<identifier> as 16 bytes, and as text.
std::array<uint8_t, 16> LinkLocalAddress(uint64_t identifier);
std::string Ipv6InterfaceIdToString(uint64_t identifier);

class Ipv6cp : public Fsm {
 public:
  explicit Ipv6cp(Ipv6cpConfig config);
  const Ipv6cpNegotiated& negotiated() const { return negotiated_; }

 protected:
  void ResetConfigureRequest() override;
  void BuildConfigureRequest(std::vector<uint8_t>& options) override;
  Verdict ReceiveConfigureRequest(const OptionList& options, bool nak_allowed,
                                  std::vector<uint8_t>& reply) override;
  void ReceiveConfigureAck(const OptionList& options) override;
  NakResult ReceiveConfigureNak(const OptionList& options) override;
  NakResult ReceiveConfigureReject(const OptionList& options) override;

 private:
  uint64_t Random();

  Ipv6cpConfig config_;
  Ipv6cpNegotiated negotiated_;
  bool want_identifier_ = true;
  uint64_t identifier_ = 0;
};

}  // namespace ppp

#endif  // PPP_IPV6CP_H_
