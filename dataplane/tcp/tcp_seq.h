// Sequence-number arithmetic modulo 2^32 (RFC 9293 3.4) and the 32-bit timestamp clock comparison
// (RFC 7323 5.2).
#pragma once

#include <cstdint>

namespace dp::tcp {

inline bool SeqLt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
inline bool SeqLeq(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) <= 0; }
inline bool SeqGt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }
inline bool SeqGeq(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }
inline uint32_t SeqMax(uint32_t a, uint32_t b) { return SeqGt(a, b) ? a : b; }
inline uint32_t SeqMin(uint32_t a, uint32_t b) { return SeqLt(a, b) ? a : b; }
// a <= x < b, modulo 2^32.
inline bool SeqInRange(uint32_t x, uint32_t a, uint32_t b) { return x - a < b - a; }

}  // namespace dp::tcp
