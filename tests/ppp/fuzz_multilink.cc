// MP reassembly from arbitrary fragments on up to 4 links: bounded memory, no out-of-bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ppp/multilink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ppp::MultilinkReassemblerConfig c;
  c.short_sequence = data[0] & 1;
  c.links = (data[0] >> 1) % 4 + 1;
  c.mrru = 512;
  c.max_buffered_fragments = 32;
  c.max_buffered_bytes = 4096;
  ppp::MultilinkReassembler r(c);
  size_t pos = 1;
  while (pos + 2 <= size) {
    size_t link = data[pos] % 4;
    size_t len = std::min<size_t>(data[pos + 1], size - pos - 2);
    r.Receive(absl::MakeConstSpan(data + pos + 2, len), link).IgnoreError();
    pos += 2 + len;
    for (const auto& p : r.TakePackets()) {
      if (p.size() > c.mrru) abort();
    }
    if (r.buffered_fragments() > c.max_buffered_fragments ||
        r.buffered_bytes() > c.max_buffered_bytes) {
      abort();
    }
  }
  return 0;
}
