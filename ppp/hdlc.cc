#include "ppp/hdlc.h"

#include <array>

namespace ppp {
namespace {

// The table of RFC 1662 appendix C.2, computed at compile time from the polynomial
// x^16 + x^12 + x^5 + 1 (bit-reversed 0x8408).
constexpr std::array<uint16_t, 256> MakeFcsTable() {
  std::array<uint16_t, 256> table{};
  for (int b = 0; b < 256; ++b) {
    uint16_t v = static_cast<uint16_t>(b);
    for (int i = 0; i < 8; ++i) v = (v & 1) ? static_cast<uint16_t>((v >> 1) ^ 0x8408) : v >> 1;
    table[b] = v;
  }
  return table;
}
constexpr std::array<uint16_t, 256> kFcsTable = MakeFcsTable();

inline bool NeedsEscape(uint8_t b, uint32_t accm) {
  return b == kHdlcFlag || b == kHdlcEscape || (b < 0x20 && (accm >> b) & 1);
}

inline void PutEscaped(uint8_t b, uint32_t accm, std::vector<uint8_t>& out) {
  if (NeedsEscape(b, accm)) {
    out.push_back(kHdlcEscape);
    out.push_back(b ^ 0x20);
  } else {
    out.push_back(b);
  }
}

}  // namespace

uint16_t Fcs16(uint16_t fcs, absl::Span<const uint8_t> data) {
  for (uint8_t b : data) fcs = static_cast<uint16_t>((fcs >> 8) ^ kFcsTable[(fcs ^ b) & 0xFF]);
  return fcs;
}

void HdlcEncode(absl::Span<const uint8_t> frame, uint32_t accm, std::vector<uint8_t>& out) {
  out.reserve(out.size() + frame.size() * 2 + 6);
  out.push_back(kHdlcFlag);
  for (uint8_t b : frame) PutEscaped(b, accm, out);
  // The FCS is the complement, sent least significant byte first (RFC 1662 appendix C.2).
  uint16_t fcs = Fcs16(kFcs16Init, frame) ^ 0xFFFF;
  PutEscaped(static_cast<uint8_t>(fcs & 0xFF), accm, out);
  PutEscaped(static_cast<uint8_t>(fcs >> 8), accm, out);
  out.push_back(kHdlcFlag);
}

absl::Status HdlcDecoder::CheckFrame() {
  if (buffer_.size() < 4) {
    ++errors_;
    return absl::DataLossError("HDLC: frame shorter than 4 bytes (no room for a frame and FCS)");
  }
  if (Fcs16(kFcs16Init, buffer_) != kFcs16Good) {
    ++errors_;
    return absl::DataLossError("HDLC: bad FCS");
  }
  ++frames_;
  return absl::OkStatus();
}

}  // namespace ppp
