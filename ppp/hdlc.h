// Asynchronous HDLC-like framing (RFC 1662 section 4): flag sequences, control escape with a 32-bit
// Async-Control-Character-Map, and the 16-bit FCS. The Linux SSTP client (sstpc) and pppd in pty
// mode hand us this byte stream instead of bare PPP frames.
#ifndef PPP_HDLC_H_
#define PPP_HDLC_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace ppp {

inline constexpr uint8_t kHdlcFlag = 0x7E;
inline constexpr uint8_t kHdlcEscape = 0x7D;
inline constexpr uint16_t kFcs16Init = 0xFFFF;  // RFC 1662 appendix C.2 PPPINITFCS16
inline constexpr uint16_t kFcs16Good = 0xF0B8;  // PPPGOODFCS16: FCS over data plus its FCS
// The ACCM both ends use until LCP negotiates another (RFC 1662 section 7.1): escape all C0
// controls.
inline constexpr uint32_t kDefaultAccm = 0xFFFFFFFF;

// FCS-16 over `data` starting from `fcs` (RFC 1662 appendix C.2; CRC-16/X.25 before the final
// complement).
uint16_t Fcs16(uint16_t fcs, absl::Span<const uint8_t> data);

// Appends one HDLC frame: flag, escaped frame and FCS, flag. `frame` is the PPP frame
// (address/control, protocol, information) and `accm` says which bytes 0x00-0x1F to escape; 0x7D
// and 0x7E are always escaped.
void HdlcEncode(absl::Span<const uint8_t> frame, uint32_t accm, std::vector<uint8_t>& out);

// Incremental decoder: feed it whatever the byte stream delivers, in pieces of any size; it calls
// back with each complete frame (FCS checked and removed) or an error for each bad one, and resyncs
// on the next flag. Empty frames between back-to-back flags are skipped silently (RFC 1662 4.3).
class HdlcDecoder {
 public:
  // `max_frame` bounds a frame before FCS; longer ones are dropped with an error.
  explicit HdlcDecoder(size_t max_frame = 4096 + 2) : max_frame_(max_frame) {}

  // Consumes all of `bytes`. For each frame: on_frame(span) with the unescaped frame (valid until
  // the callback returns), or on_error(status) for a bad FCS, a frame too long, a frame too short
  // to hold an FCS, or an abort sequence (7D 7E, RFC 1662 4.3).
  template <typename OnFrame, typename OnError>
  void Feed(absl::Span<const uint8_t> bytes, OnFrame&& on_frame, OnError&& on_error) {
    for (uint8_t b : bytes) {
      if (b == kHdlcFlag) {
        if (escaped_) {
          Reset();
          ++errors_;
          on_error(absl::DataLossError("HDLC: frame aborted (7D 7E)"));
          continue;
        }
        if (discarding_) {
          Reset();
          continue;
        }
        if (buffer_.empty()) continue;
        absl::Status status = CheckFrame();
        if (status.ok()) {
          on_frame(absl::MakeConstSpan(buffer_.data(), buffer_.size() - 2));
        } else {
          on_error(status);
        }
        Reset();
        continue;
      }
      if (discarding_) continue;
      if (b == kHdlcEscape) {
        escaped_ = true;
        continue;
      }
      // Characters 0x00-0x1F that arrive unescaped are ones the sender's ACCM let through or that
      // a modem inserted; RFC 1662 7.1 says to discard those our receive ACCM flags. We receive
      // with the default ACCM of 0 in practice (sstpc), so keep them.
      if (escaped_) {
        b ^= 0x20;
        escaped_ = false;
      }
      if (buffer_.size() >= max_frame_ + 2) {
        discarding_ = true;
        escaped_ = false;
        buffer_.clear();
        ++errors_;
        on_error(absl::ResourceExhaustedError("HDLC: frame longer than the maximum, dropped"));
        continue;
      }
      buffer_.push_back(b);
    }
  }

  // Frames decoded and errors since construction.
  uint64_t frames() const { return frames_; }
  uint64_t errors() const { return errors_; }

 private:
  absl::Status CheckFrame();
  void Reset() {
    buffer_.clear();
    escaped_ = false;
    discarding_ = false;
  }

  size_t max_frame_;
  std::vector<uint8_t> buffer_;
  bool escaped_ = false;
  bool discarding_ = false;
  uint64_t frames_ = 0;
  uint64_t errors_ = 0;
};

}  // namespace ppp

#endif  // PPP_HDLC_H_
