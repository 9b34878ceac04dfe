#include "ppp/ipv6cp.h"

#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "ppp/frame.h"

namespace ppp {
namespace {

uint64_t Load64(absl::Span<const uint8_t> p) {
  return uint64_t{Load32(p)} << 32 | Load32(p.subspan(4));
}

void AppendIdentifier(uint64_t id, std::vector<uint8_t>& out) {
  uint8_t d[8];
  for (int i = 0; i < 8; ++i) d[i] = static_cast<uint8_t>(id >> (56 - 8 * i));
  AppendOption(kIpv6cpInterfaceIdentifier, d, out);
}

}  // namespace

std::array<uint8_t, 16> LinkLocalAddress(uint64_t identifier) {
  std::array<uint8_t, 16> a{};
  a[0] = 0xFE;
  a[1] = 0x80;
  for (int i = 0; i < 8; ++i) a[8 + i] = static_cast<uint8_t>(identifier >> (56 - 8 * i));
  return a;
}

std::string Ipv6InterfaceIdToString(uint64_t id) {
  return absl::StrFormat("%x:%x:%x:%x", id >> 48, (id >> 32) & 0xFFFF, (id >> 16) & 0xFFFF,
                         id & 0xFFFF);
}

Ipv6cp::Ipv6cp(Ipv6cpConfig config)
    : Fsm(kProtocolIpv6cp, "IPV6CP", config.fsm), config_(std::move(config)) {
  if (!config_.random64) {
    config_.random64 = [] {
      absl::BitGen gen;
      return absl::Uniform<uint64_t>(gen);
    };
  }
}

uint64_t Ipv6cp::Random() {
  uint64_t v = 0;
  for (int i = 0; i < 8 && (v == 0 || v == identifier_ || v == negotiated_.remote_identifier);
       ++i) {
    v = config_.random64();
  }
  return v != 0 ? v : 0x0200000000000001ull;
}

void Ipv6cp::ResetConfigureRequest() {
  want_identifier_ = true;
  identifier_ = config_.local_identifier != 0 ? config_.local_identifier : Random();
}

void Ipv6cp::BuildConfigureRequest(std::vector<uint8_t>& options) {
  if (want_identifier_) AppendIdentifier(identifier_, options);
}

Verdict Ipv6cp::ReceiveConfigureRequest(const OptionList& options, bool nak_allowed,
                                        std::vector<uint8_t>& reply) {
  std::vector<uint8_t> nak, rej, nak_as_rej;
  uint64_t remote = 0;
  for (const Option& o : options) {
    if (o.type != kIpv6cpInterfaceIdentifier || o.data.size() != 8) {
      rej.insert(rej.end(), o.raw.begin(), o.raw.end());  // compression, unknown, malformed
      continue;
    }
    uint64_t v = Load64(o.data);
    if (v == 0 || v == identifier_) {
      // The peer asks for an identifier, or chose ours: suggest a unique one (RFC 5072 4.1).
      uint64_t suggestion = config_.remote_identifier;
      if (suggestion == 0 || suggestion == identifier_) suggestion = Random();
      AppendIdentifier(suggestion, nak);
      nak_as_rej.insert(nak_as_rej.end(), o.raw.begin(), o.raw.end());
    } else {
      remote = v;
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
  for (const Option& o : options) reply.insert(reply.end(), o.raw.begin(), o.raw.end());
  negotiated_.remote_identifier = remote;
  return Verdict::kAck;
}

void Ipv6cp::ReceiveConfigureAck(const OptionList&) {
  negotiated_.local_identifier = want_identifier_ ? identifier_ : 0;
}

NakResult Ipv6cp::ReceiveConfigureNak(const OptionList& options) {
  for (const Option& o : options) {
    if (o.type != kIpv6cpInterfaceIdentifier || o.data.size() != 8) continue;
    uint64_t v = Load64(o.data);
    // Take the peer's suggestion unless it is unusable; then pick another ourselves.
    identifier_ = (v != 0 && v != negotiated_.remote_identifier) ? v : Random();
    want_identifier_ = true;
  }
  return NakResult::kApplied;
}

NakResult Ipv6cp::ReceiveConfigureReject(const OptionList& options) {
  for (const Option& o : options) {
    if (o.type == kIpv6cpInterfaceIdentifier) want_identifier_ = false;
  }
  return NakResult::kApplied;
}

}  // namespace ppp
