#include "ppp/ipcp.h"

#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "ppp/frame.h"

namespace ppp {
namespace {

void AppendRaw(const Option& o, std::vector<uint8_t>& out) {
  out.insert(out.end(), o.raw.begin(), o.raw.end());
}

}  // namespace

std::string Ipv4ToString(uint32_t a) {
  return absl::StrFormat("%d.%d.%d.%d", a >> 24, (a >> 16) & 0xFF, (a >> 8) & 0xFF, a & 0xFF);
}

Ipcp::Ipcp(IpcpConfig config)
    : Fsm(kProtocolIpcp, "IPCP", config.fsm), config_(std::move(config)) {}

void Ipcp::ResetConfigureRequest() {
  address_ = config_.local_address;
  // The server announces its address only when it has one; the client always asks.
  want_address_ = !config_.server || address_ != 0;
  want_primary_dns_ = want_secondary_dns_ = !config_.server && config_.request_dns;
  primary_dns_ = secondary_dns_ = 0;
  fail_reason_.clear();
}

void Ipcp::BuildConfigureRequest(std::vector<uint8_t>& options) {
  if (want_address_) AppendOption32(kIpcpIpAddress, address_, options);
  if (want_primary_dns_) AppendOption32(kIpcpPrimaryDns, primary_dns_, options);
  if (want_secondary_dns_) AppendOption32(kIpcpSecondaryDns, secondary_dns_, options);
}

Verdict Ipcp::ReceiveConfigureRequest(const OptionList& options, bool nak_allowed,
                                      std::vector<uint8_t>& reply) {
  std::vector<uint8_t> nak, rej, nak_as_rej;
  uint32_t remote = 0;
  bool saw_address = false;
  auto give = [&](const Option& o, uint32_t ours) {
    // Ack the value when it is ours, nak toward ours otherwise, reject when we have none.
    if (ours == 0) {
      AppendRaw(o, rej);
    } else if (Load32(o.data) != ours) {
      AppendOption32(o.type, ours, nak);
      AppendRaw(o, nak_as_rej);
    }
  };
  for (const Option& o : options) {
    bool four = o.data.size() == 4;
    switch (o.type) {
      case kIpcpIpAddress: {
        if (!four) {
          AppendRaw(o, rej);
          break;
        }
        saw_address = true;
        uint32_t v = Load32(o.data);
        if (config_.server && config_.remote_address != 0) {
          give(o, config_.remote_address);
          remote = config_.remote_address;
        } else if (v == 0) {
          AppendRaw(o, rej);  // the peer wants an address and we have none to give
        } else {
          remote = v;
        }
        break;
      }
      case kIpcpPrimaryDns:
      case kIpcpSecondaryDns:
      case kIpcpPrimaryNbns:
      case kIpcpSecondaryNbns: {
        if (!four || !config_.server) {
          AppendRaw(o, rej);
          break;
        }
        uint32_t ours = o.type == kIpcpPrimaryDns     ? config_.primary_dns
                        : o.type == kIpcpSecondaryDns ? config_.secondary_dns
                        : o.type == kIpcpPrimaryNbns  ? config_.primary_nbns
                                                      : config_.secondary_nbns;
        give(o, ours);
        break;
      }
      default:  // IP-Addresses, IP-Compression-Protocol (VJ), unknown
        AppendRaw(o, rej);
        break;
    }
  }
  // A peer that does not ask for an address still gets the assignment suggested (RFC 1332 3.3
  // allows a Nak to carry options the request lacked).
  if (!saw_address && config_.server && config_.remote_address != 0) {
    AppendOption32(kIpcpIpAddress, config_.remote_address, nak);
  }
  if (!rej.empty()) {
    reply = std::move(rej);
    return Verdict::kReject;
  }
  if (!nak.empty()) {
    if (!nak_allowed) {
      if (nak_as_rej.empty()) {
        // Only the unsolicited address hint was left: stop insisting and accept as is.
        for (const Option& o : options) AppendRaw(o, reply);
        negotiated_.remote_address = remote;
        return Verdict::kAck;
      }
      reply = std::move(nak_as_rej);
      return Verdict::kReject;
    }
    reply = std::move(nak);
    return Verdict::kNak;
  }
  for (const Option& o : options) AppendRaw(o, reply);
  negotiated_.remote_address = remote;
  if (config_.server) {
    negotiated_.primary_dns = negotiated_.secondary_dns = 0;
    for (const Option& o : options) {
      if (o.type == kIpcpPrimaryDns) negotiated_.primary_dns = Load32(o.data);
      if (o.type == kIpcpSecondaryDns) negotiated_.secondary_dns = Load32(o.data);
    }
  }
  return Verdict::kAck;
}

void Ipcp::ReceiveConfigureAck(const OptionList&) {
  negotiated_.local_address = want_address_ ? address_ : config_.local_address;
  if (!config_.server) {
    negotiated_.primary_dns = want_primary_dns_ ? primary_dns_ : 0;
    negotiated_.secondary_dns = want_secondary_dns_ ? secondary_dns_ : 0;
  }
}

NakResult Ipcp::ReceiveConfigureNak(const OptionList& options) {
  for (const Option& o : options) {
    if (o.data.size() != 4) continue;
    uint32_t v = Load32(o.data);
    switch (o.type) {
      case kIpcpIpAddress:
        // The client takes the assignment; a server keeps the address it was configured with.
        if (!config_.server && v != 0) {
          address_ = v;
          want_address_ = true;
        }
        break;
      case kIpcpPrimaryDns:
        if (want_primary_dns_) primary_dns_ = v;
        break;
      case kIpcpSecondaryDns:
        if (want_secondary_dns_) secondary_dns_ = v;
        break;
      default:
        break;
    }
  }
  return NakResult::kApplied;
}

NakResult Ipcp::ReceiveConfigureReject(const OptionList& options) {
  for (const Option& o : options) {
    switch (o.type) {
      case kIpcpIpAddress:
        if (!config_.server && address_ == 0) {
          fail_reason_ = "the server refuses to assign an IPv4 address";
          return NakResult::kFail;
        }
        want_address_ = false;
        break;
      case kIpcpPrimaryDns:
        want_primary_dns_ = false;
        break;
      case kIpcpSecondaryDns:
        want_secondary_dns_ = false;
        break;
      default:
        break;
    }
  }
  return NakResult::kApplied;
}

}  // namespace ppp
