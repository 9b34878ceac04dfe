// Scatter lists of byte spans: a TLS record may start in one buffer (an mbuf segment, a TCP receive
// queue chunk) and end in another. The record layer reads and writes through these helpers so it
// never needs the bytes to be contiguous and never copies the payload.
#ifndef TLS_SEGMENTS_H_
#define TLS_SEGMENTS_H_

#include <cstddef>
#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"

namespace tls {

// An ordered list of writable byte spans that together form one byte stream.
using Segments = absl::Span<const absl::Span<uint8_t>>;

// Owned list of sub-spans, small enough to live on the stack for the common case (a record spread
// over a handful of mbuf segments).
using SegmentList = absl::InlinedVector<absl::Span<uint8_t>, 8>;

// Total number of bytes in `segs`.
size_t TotalLength(Segments segs);

// Copies `out.size()` bytes starting at stream offset `offset` into `out`. Returns false when the
// stream is shorter than offset + out.size().
bool CopyOut(Segments segs, size_t offset, absl::Span<uint8_t> out);

// Writes `in` at stream offset `offset`. Returns false when the stream is too short.
bool CopyIn(Segments segs, size_t offset, absl::Span<const uint8_t> in);

// Appends to `out` the sub-spans covering stream bytes [offset, offset + len). Returns false when
// the stream is too short.
bool Slice(Segments segs, size_t offset, size_t len, SegmentList& out);

// Byte at stream offset `offset` (caller guarantees offset < TotalLength).
uint8_t ByteAt(Segments segs, size_t offset);

}  // namespace tls

#endif  // TLS_SEGMENTS_H_
