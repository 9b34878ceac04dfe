// SipHash-2-4 (Aumasson & Bernstein) with a 128-bit key: the keyed PRF behind RFC 6528 initial
// sequence numbers and SYN cookies. DPDK-free.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dp::tcp {

struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

uint64_t SipHash24(const SipKey& key, const uint8_t* data, size_t len);

}  // namespace dp::tcp
