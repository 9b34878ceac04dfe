#include "dataplane/tcp/tcp_parse.h"

#include <cstring>

namespace dp::tcp {

ParseResult ParseTcp(absl::Span<const uint8_t> segment, TcpHeader* hdr, TcpOptions* opts) {
  if (segment.size() < kTcpHeaderLen) return ParseResult::kTruncated;
  const uint8_t* p = segment.data();
  hdr->src_port = LoadBe16(p);
  hdr->dst_port = LoadBe16(p + 2);
  hdr->seq = LoadBe32(p + 4);
  hdr->ack = LoadBe32(p + 8);
  hdr->header_len = static_cast<uint8_t>((p[12] >> 4) * 4);
  hdr->flags = p[13] & 0x3f;
  hdr->flags_hi = static_cast<uint8_t>((p[13] & 0xc0) | (p[12] & 0x0f));
  hdr->window = LoadBe16(p + 14);
  hdr->checksum = LoadBe16(p + 16);
  hdr->urgent = LoadBe16(p + 18);
  if (hdr->header_len < kTcpHeaderLen || hdr->header_len > segment.size()) {
    return ParseResult::kBadOffset;
  }
  *opts = TcpOptions();
  return ParseOptions(segment.subspan(kTcpHeaderLen, hdr->header_len - kTcpHeaderLen),
                      (hdr->flags & kSyn) != 0, opts);
}

ParseResult ParseOptions(absl::Span<const uint8_t> options, bool syn, TcpOptions* opts) {
  const uint8_t* p = options.data();
  size_t n = options.size();
  size_t i = 0;
  while (i < n) {
    uint8_t kind = p[i];
    if (kind == kOptEol) break;  // RFC 9293 3.1: end of option list
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    // RFC 9293 3.1 / MUST-7: every other option has a length octet covering kind and length.
    if (i + 1 >= n) return ParseResult::kBadOptions;
    uint8_t len = p[i + 1];
    if (len < 2 || i + len > n) return ParseResult::kBadOptions;
    const uint8_t* v = p + i + 2;
    switch (kind) {
      case kOptMss:
        if (len != 4) return ParseResult::kBadOptions;
        if (syn) {
          opts->has_mss = true;
          opts->mss = LoadBe16(v);
        }
        break;
      case kOptWscale:
        if (len != 3) return ParseResult::kBadOptions;
        if (syn) {
          opts->has_wscale = true;
          // RFC 7323 2.3: a shift above 14 is treated as 14.
          opts->wscale = v[0] > kMaxWscale ? kMaxWscale : v[0];
        }
        break;
      case kOptSackPermitted:
        if (len != 2) return ParseResult::kBadOptions;
        if (syn) opts->sack_permitted = true;
        break;
      case kOptSack: {
        // RFC 2018 3: 2 + 8n bytes, n >= 1 (at most 4 fit in 40 bytes).
        if (len < 10 || (len - 2) % 8 != 0) return ParseResult::kBadOptions;
        int blocks = (len - 2) / 8;
        opts->num_sack = 0;
        for (int b = 0; b < blocks && b < kMaxSackBlocks; ++b) {
          opts->sack[b].start = LoadBe32(v + 8 * b);
          opts->sack[b].end = LoadBe32(v + 8 * b + 4);
          opts->num_sack = static_cast<uint8_t>(b + 1);
        }
        break;
      }
      case kOptTimestamp:
        if (len != 10) return ParseResult::kBadOptions;
        opts->has_ts = true;
        opts->ts_val = LoadBe32(v);
        opts->ts_ecr = LoadBe32(v + 4);
        break;
      default:
        break;  // RFC 9293 MUST-6: ignore unknown options
    }
    i += len;
  }
  return ParseResult::kOk;
}

size_t OptionsLength(const TcpOptions& opts) {
  size_t len = 0;
  if (opts.has_mss) len += 4;
  if (opts.has_ts)
    len += 12;  // (SACK-permitted or NOP NOP) + TS
  else if (opts.sack_permitted)
    len += 4;
  if (opts.has_wscale) len += 4;
  if (opts.num_sack > 0) {
    size_t room = (40 - len - 4) / 8;
    size_t blocks = opts.num_sack < room ? opts.num_sack : room;
    if (blocks > 0) len += 4 + 8 * blocks;
  }
  return len;
}

size_t WriteOptions(const TcpOptions& opts, uint8_t* out) {
  uint8_t* p = out;
  if (opts.has_mss) {
    p[0] = kOptMss;
    p[1] = 4;
    StoreBe16(p + 2, opts.mss);
    p += 4;
  }
  if (opts.has_ts) {
    if (opts.sack_permitted) {
      p[0] = kOptSackPermitted;
      p[1] = 2;
    } else {
      p[0] = kOptNop;
      p[1] = kOptNop;
    }
    p[2] = kOptTimestamp;
    p[3] = 10;
    StoreBe32(p + 4, opts.ts_val);
    StoreBe32(p + 8, opts.ts_ecr);
    p += 12;
  } else if (opts.sack_permitted) {
    p[0] = kOptNop;
    p[1] = kOptNop;
    p[2] = kOptSackPermitted;
    p[3] = 2;
    p += 4;
  }
  if (opts.has_wscale) {
    p[0] = kOptNop;
    p[1] = kOptWscale;
    p[2] = 3;
    p[3] = opts.wscale;
    p += 4;
  }
  if (opts.num_sack > 0) {
    size_t used = static_cast<size_t>(p - out);
    size_t room = (40 - used - 4) / 8;
    size_t blocks = opts.num_sack < room ? opts.num_sack : room;
    if (blocks > 0) {
      p[0] = kOptNop;
      p[1] = kOptNop;
      p[2] = kOptSack;
      p[3] = static_cast<uint8_t>(2 + 8 * blocks);
      p += 4;
      for (size_t b = 0; b < blocks; ++b) {
        StoreBe32(p, opts.sack[b].start);
        StoreBe32(p + 4, opts.sack[b].end);
        p += 8;
      }
    }
  }
  return static_cast<size_t>(p - out);
}

void WriteTcpHeader(const TcpHeader& hdr, uint8_t* out) {
  StoreBe16(out, hdr.src_port);
  StoreBe16(out + 2, hdr.dst_port);
  StoreBe32(out + 4, hdr.seq);
  StoreBe32(out + 8, hdr.ack);
  out[12] = static_cast<uint8_t>((hdr.header_len / 4) << 4);
  out[13] = hdr.flags;
  StoreBe16(out + 14, hdr.window);
  StoreBe16(out + 16, 0);
  StoreBe16(out + 18, hdr.urgent);
}

uint32_t ChecksumPartial(const uint8_t* data, size_t len, uint32_t sum) {
  uint64_t acc = sum;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    acc += LoadBe32(data + i);
    acc += LoadBe32(data + i + 4);
  }
  for (; i + 2 <= len; i += 2) acc += LoadBe16(data + i);
  if (i < len) acc += static_cast<uint32_t>(data[i]) << 8;
  while (acc >> 32) acc = (acc & 0xffffffffu) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

uint16_t RawChecksum(const uint8_t* data, size_t len) {
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  const uint8_t* p = data;
  while (len >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, sizeof(w));
    a0 += (w[0] & 0xffffffffu) + (w[0] >> 32);
    a1 += (w[1] & 0xffffffffu) + (w[1] >> 32);
    a2 += (w[2] & 0xffffffffu) + (w[2] >> 32);
    a3 += (w[3] & 0xffffffffu) + (w[3] >> 32);
    p += 32;
    len -= 32;
  }
  uint64_t acc = a0 + a1 + a2 + a3;  // each below 2^43: no overflow for any IPv4 length
  while (len >= 4) {
    uint32_t w;
    std::memcpy(&w, p, sizeof(w));
    acc += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, sizeof(w));
    acc += w;
    p += 2;
    len -= 2;
  }
  if (len > 0) {
    uint16_t w = 0;
    std::memcpy(&w, p, 1);  // the odd byte sits in the first byte of a zero-padded word
    acc += w;
  }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

uint16_t ChecksumFold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

uint32_t PseudoHeaderSum(uint32_t src_ip, uint32_t dst_ip, uint16_t tcp_len) {
  uint64_t acc =
      (src_ip >> 16) + (src_ip & 0xffff) + (dst_ip >> 16) + (dst_ip & 0xffff) + 6u + tcp_len;
  while (acc >> 32) acc = (acc & 0xffffffffu) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

}  // namespace dp::tcp
