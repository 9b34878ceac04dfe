// PPP frame header parsing (with/without FF 03, PFC), bridged-frame and MP headers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ppp/bcp.h"
#include "ppp/frame.h"
#include "ppp/multilink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::Span<const uint8_t> in(data, size);
  absl::StatusOr<ppp::FrameHeader> h = ppp::PeekHeader(in);
  absl::StatusOr<ppp::FrameView> v = ppp::ParseFrame(in);
  if (h.ok() != v.ok()) abort();
  if (!v.ok()) return 0;
  if (h->protocol != v->protocol || h->header_length + v->information.size() != size) abort();
  // Re-encoding in the form it arrived gives the same bytes back.
  std::vector<uint8_t> again =
      ppp::EncodeFrame(v->protocol, v->information,
                       {.address_control_compression = !v->had_address_control,
                        .protocol_compression = v->protocol_compressed});
  if (v->protocol != ppp::kProtocolLcp || v->had_address_control) {
    if (again != std::vector<uint8_t>(data, data + size)) abort();
  }
  if (v->protocol == ppp::kProtocolBridgedLan) {
    absl::StatusOr<ppp::BridgedFrame> b = ppp::ParseBridgedFrame(v->information);
    if (b.ok() && (b->frame.data() < data || b->frame.data() + b->frame.size() > data + size)) {
      abort();
    }
  }
  if (v->protocol == ppp::kProtocolMultilink) {
    ppp::ParseMpHeader(v->information, false).IgnoreError();
    ppp::ParseMpHeader(v->information, true).IgnoreError();
  }
  return 0;
}
