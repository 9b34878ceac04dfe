// Async HDLC decoder over arbitrary byte streams split at arbitrary points; every frame it returns
// must survive an encode/decode round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ppp/hdlc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = data[0] % 17 + 1;
  absl::Span<const uint8_t> in(data + 1, size - 1);
  ppp::HdlcDecoder d(/*max_frame=*/512);
  std::vector<std::vector<uint8_t>> frames;
  for (size_t i = 0; i < in.size(); i += chunk) {
    d.Feed(
        in.subspan(i, chunk),
        [&](absl::Span<const uint8_t> f) { frames.emplace_back(f.begin(), f.end()); },
        [](absl::Status) {});
  }
  std::vector<uint8_t> stream;
  for (const auto& f : frames) ppp::HdlcEncode(f, ppp::kDefaultAccm, stream);
  ppp::HdlcDecoder d2(/*max_frame=*/512);
  std::vector<std::vector<uint8_t>> again;
  d2.Feed(
      stream, [&](absl::Span<const uint8_t> f) { again.emplace_back(f.begin(), f.end()); },
      [](absl::Status) { abort(); });
  if (again != frames) abort();
  return 0;
}
