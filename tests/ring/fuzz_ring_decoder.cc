// Fuzz target: the ring's record decoder and the consumer's framing checks. Input: a record
// header (16 bytes) followed by its payload; also used as the raw contents of a ring.
#include <cstring>
#include <vector>

#include "ring/messages.h"
#include "ring/ring.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < sizeof(ring::RecordHeader)) return 0;
  ring::RecordHeader h;
  std::memcpy(&h, data, sizeof h);
  absl::Span<const uint8_t> payload(data + sizeof h, size - sizeof h);
  // As a message: valid or rejected, never a crash; a valid one re-encodes to the same bytes.
  ring::RecordHeader exact = h;
  exact.length = uint32_t(payload.size());
  auto d = ring::Decode(exact, payload);
  if (d.ok()) {
    std::vector<uint8_t> again = ring::Encode(d->body);
    if (again.size() != payload.size() || std::memcmp(again.data(), payload.data(), again.size())) {
      __builtin_trap();
    }
  }
  (void)ring::Decode(h, payload);  // with the header's own (maybe lying) length

  // As the contents of a ring whose control words are garbage: the consumer must detect damage
  // instead of reading outside the buffer.
  constexpr uint32_t kSize = 4096;
  alignas(64) static uint8_t buf[kSize];
  std::memset(buf, 0, kSize);
  std::memcpy(buf, data, std::min<size_t>(size, kSize));
  alignas(64) static ring::RingControl ctl;
  uint64_t head = 0, tail = 0;
  std::memcpy(&head, data, 8);
  std::memcpy(&tail, data + 8, 8);
  ctl.head.store(tail + (head % (2 * kSize)));
  ctl.tail.store(tail);
  ring::Consumer c(&ctl, buf, kSize);
  ring::RecordHeader rh;
  absl::Span<const uint8_t> p;
  for (int i = 0; i < 64 && c.Peek(&rh, &p); ++i) {
    if (p.data() < buf || p.data() + p.size() > buf + kSize) __builtin_trap();
    c.Release();
  }
  return 0;
}
