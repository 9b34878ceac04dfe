// IP Control Protocol (RFC 1332) with the DNS and NBNS options of RFC 1877.
//
// Server role: assigns what its caller supplies (the peer's address, DNS); the peer's request for
// 0.0.0.0 or another address is naked toward the assignment, its DNS requests naked toward ours or
// rejected when we have none. Client role: requests 0.0.0.0 (or a wished address) and DNS 0.0.0.0
// and takes what the server naks. Van Jacobson compression (option 2) is always rejected: the data
// plane forwards plain IPv4.
//
// Addresses are uint32_t in host byte order (198.18.0.1 is 0xC6120001).
#ifndef PPP_IPCP_H_
#define PPP_IPCP_H_

#include <cstdint>
#include <string>

#include "ppp/fsm.h"

namespace ppp {

enum IpcpOption : uint8_t {
  kIpcpIpAddresses = 1,  // deprecated (RFC 1172): rejected
  kIpcpCompression = 2,  // VJ: rejected
  kIpcpIpAddress = 3,
  kIpcpPrimaryDns = 129,  // RFC 1877
  kIpcpPrimaryNbns = 130,
  kIpcpSecondaryDns = 131,
  kIpcpSecondaryNbns = 132,
};

struct IpcpConfig {
  FsmConfig fsm;
  bool server = false;
  // Server: our (gateway) address, announced in our request; 0 means none is announced. Client:
  // the address to ask for; 0 asks the server to assign one.
  uint32_t local_address = 0;
  // Server: the address assigned to the peer (0: accept the peer's own non-zero choice).
  uint32_t remote_address = 0;
  // Server: handed out on request (0: the option is rejected).
  uint32_t primary_dns = 0;
  uint32_t secondary_dns = 0;
  uint32_t primary_nbns = 0;
  uint32_t secondary_nbns = 0;
  // Client: ask for DNS servers (RFC 1877).
  bool request_dns = true;
};

struct IpcpNegotiated {
  uint32_t local_address = 0;
  uint32_t remote_address = 0;
  uint32_t primary_dns = 0;  // client: what the server gave; server: what it gave
  uint32_t secondary_dns = 0;
};

std::string Ipv4ToString(uint32_t address);

class Ipcp : public Fsm {
 public:
  explicit Ipcp(IpcpConfig config);
  // The server's assignment may arrive after construction (the control plane picks it from a pool
  // once the user is known): set it before Open().
  void SetConfig(const IpcpConfig& config) { config_ = config; }
  const IpcpConfig& ipcp_config() const { return config_; }
  const IpcpNegotiated& negotiated() const { return negotiated_; }

 protected:
  void ResetConfigureRequest() override;
  void BuildConfigureRequest(std::vector<uint8_t>& options) override;
  Verdict ReceiveConfigureRequest(const OptionList& options, bool nak_allowed,
                                  std::vector<uint8_t>& reply) override;
  void ReceiveConfigureAck(const OptionList& options) override;
  NakResult ReceiveConfigureNak(const OptionList& options) override;
  NakResult ReceiveConfigureReject(const OptionList& options) override;
  std::string FailReason() const override { return fail_reason_; }

 private:
  IpcpConfig config_;
  IpcpNegotiated negotiated_;
  bool want_address_ = true;
  uint32_t address_ = 0;
  bool want_primary_dns_ = false;
  bool want_secondary_dns_ = false;
  uint32_t primary_dns_ = 0;
  uint32_t secondary_dns_ = 0;
  std::string fail_reason_;
};

}  // namespace ppp

#endif  // PPP_IPCP_H_
