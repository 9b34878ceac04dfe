// libFuzzer target: the record parser and decryptor with fixed keys.
//
// Byte 0 picks the version and suite (bits 0-2) and the mode (bit 3):
//   raw mode:    the rest is a byte stream from the network, cut into segments at the points
//                given by byte 1, opened record by record as the data plane would;
//   sealed mode: the rest is a list of (content type, length, payload) the peer seals with the
//                same fixed keys, so the fuzzer reaches what follows a valid tag (inner content
//                type and padding, alerts, KeyUpdate, tickets, renegotiation attempts).
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "tls/record.h"

namespace {

tls::LcoreCrypto* Lc() {
  static tls::LcoreCrypto* lc = tls::LcoreCrypto::Create()->release();
  return lc;
}

tls::SessionKeys Keys(uint8_t pick, bool server) {
  tls::SessionKeys k;
  k.version = (pick & 4) ? tls::Version::kTls12 : tls::Version::kTls13;
  k.cipher = static_cast<tls::Cipher>((pick & 3) % 3);
  k.server = server;
  for (int i = 0; i < 32; ++i) {
    k.read.key[i] = static_cast<uint8_t>(i);
    k.write.key[i] = static_cast<uint8_t>(0x80 + i);
  }
  for (int i = 0; i < 12; ++i) {
    k.read.iv[i] = static_cast<uint8_t>(0x40 + i);
    k.write.iv[i] = static_cast<uint8_t>(0xc0 + i);
  }
  for (int i = 0; i < 48; ++i) {
    k.read.secret[i] = static_cast<uint8_t>(0x20 + i);
    k.write.secret[i] = static_cast<uint8_t>(0xa0 + i);
  }
  if (!server) std::swap(k.read, k.write);
  return k;
}

// Opens everything in `stream` and drains what the session wants to send.
void Drain(tls::LcoreCrypto& lc, tls::RecordSession& rs, std::vector<uint8_t>& stream,
           uint8_t cut_seed) {
  size_t off = 0;
  for (int guard = 0; guard < 10000 && off <= stream.size(); ++guard) {
    absl::Span<uint8_t> rest = absl::MakeSpan(stream).subspan(off);
    tls::SegmentList segs;
    // Cut the remaining stream into up to 4 segments.
    size_t a = rest.empty() ? 0 : (cut_seed * 7u) % (rest.size() + 1);
    size_t b = rest.empty() ? 0 : (cut_seed * 13u) % (rest.size() + 1);
    if (a > b) std::swap(a, b);
    segs.push_back(rest.subspan(0, a));
    segs.push_back(rest.subspan(a, b - a));
    segs.push_back(rest.subspan(b));
    tls::OpenResult r = rs.Open(lc, segs);
    if (r.status == tls::OpenStatus::kData) {
      // The plaintext must lie inside the record; touch it so a wrong offset shows up under ASan.
      if (r.data_offset + r.data_len > r.record_len) __builtin_trap();
      tls::SegmentList plain;
      if (!tls::Slice(segs, r.data_offset, r.data_len, plain)) __builtin_trap();
      uint8_t acc = 0;
      for (const auto& p : plain) {
        for (uint8_t b : p) acc ^= b;
      }
      asm volatile("" : : "r"(acc));
    }
    if (rs.HasPendingOutput()) {
      uint8_t out[tls::RecordSession::kMaxPendingOutput];
      (void)rs.SealPendingOutput(lc, absl::MakeSpan(out));
    }
    if (r.status == tls::OpenStatus::kNeedMore || r.status == tls::OpenStatus::kError ||
        r.status == tls::OpenStatus::kPeerAlert || r.record_len == 0) {
      break;
    }
    if (r.status == tls::OpenStatus::kCloseNotify) break;
    off += r.record_len;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  tls::LcoreCrypto& lc = *Lc();
  const uint8_t pick = data[0];
  const uint8_t cut = data[1];
  const bool sealed = (pick & 8) != 0;
  const bool server = (pick & 16) != 0;
  auto rs = std::make_unique<tls::RecordSession>();
  (void)rs->Init(lc, Keys(pick, server));
  std::vector<uint8_t> stream;
  if (!sealed) {
    stream.assign(data + 2, data + size);
  } else {
    auto peer = std::make_unique<tls::RecordSession>();
    (void)peer->Init(lc, Keys(pick, !server));
    size_t i = 2;
    while (i + 3 <= size) {
      const uint8_t type = data[i];
      size_t len = (size_t{data[i + 1]} << 8 | data[i + 2]) % (tls::kMaxPlaintext + 1);
      i += 3;
      if (len > size - i) len = size - i;
      std::vector<uint8_t> rec(peer->overhead() + len);
      auto n = peer->SealCopy(lc, static_cast<tls::ContentType>(type),
                              absl::Span<const uint8_t>(data + i, len), absl::MakeSpan(rec));
      if (!n.ok()) break;
      stream.insert(stream.end(), rec.begin(), rec.end());
      i += len;
    }
  }
  Drain(lc, *rs, stream, cut);
  return 0;
}
