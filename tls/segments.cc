#include "tls/segments.h"

#include <cstring>

namespace tls {

size_t TotalLength(Segments segs) {
  size_t n = 0;
  for (const auto& s : segs) n += s.size();
  return n;
}

namespace {

// Calls fn(piece) for each contiguous piece of stream bytes [offset, offset + len).
template <typename Fn>
bool ForEachPiece(Segments segs, size_t offset, size_t len, Fn fn) {
  for (const auto& s : segs) {
    if (len == 0) break;
    if (offset >= s.size()) {
      offset -= s.size();
      continue;
    }
    size_t take = s.size() - offset;
    if (take > len) take = len;
    fn(s.subspan(offset, take));
    len -= take;
    offset = 0;
  }
  return len == 0;
}

}  // namespace

bool CopyOut(Segments segs, size_t offset, absl::Span<uint8_t> out) {
  size_t pos = 0;
  return ForEachPiece(segs, offset, out.size(), [&](absl::Span<uint8_t> p) {
    std::memcpy(out.data() + pos, p.data(), p.size());
    pos += p.size();
  });
}

bool CopyIn(Segments segs, size_t offset, absl::Span<const uint8_t> in) {
  size_t pos = 0;
  return ForEachPiece(segs, offset, in.size(), [&](absl::Span<uint8_t> p) {
    std::memcpy(p.data(), in.data() + pos, p.size());
    pos += p.size();
  });
}

bool Slice(Segments segs, size_t offset, size_t len, SegmentList& out) {
  return ForEachPiece(segs, offset, len, [&](absl::Span<uint8_t> p) { out.push_back(p); });
}

uint8_t ByteAt(Segments segs, size_t offset) {
  for (const auto& s : segs) {
    if (offset < s.size()) return s[offset];
    offset -= s.size();
  }
  return 0;
}

}  // namespace tls
