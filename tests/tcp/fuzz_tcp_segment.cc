// libFuzzer target: the TCP segment and option parser (dataplane/tcp/tcp_parse.h) on arbitrary
// bytes. Whatever parses must survive a write/re-parse round trip with the same meaning.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "dataplane/tcp/siphash.h"
#include "dataplane/tcp/tcp_parse.h"

using namespace dp::tcp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TcpHeader h;
  TcpOptions o;
  ParseResult r = ParseTcp(absl::MakeConstSpan(data, size), &h, &o);
  // The checksum and the keyed hash run over any bytes.
  (void)ChecksumFold(
      ChecksumPartial(data, size, PseudoHeaderSum(1, 2, static_cast<uint16_t>(size))));
  (void)SipHash24(SipKey{1, 2}, data, size);
  // The fast native-order checksum must agree with the reference big-endian one.
  uint16_t be = static_cast<uint16_t>(~ChecksumFold(ChecksumPartial(data, size, 0)));
  uint16_t native = RawChecksum(data, size);
  uint8_t nb[2];
  std::memcpy(nb, &native, 2);
  if (LoadBe16(nb) != be) abort();
  if (r != ParseResult::kOk) return 0;
  if (h.header_len < kTcpHeaderLen || h.header_len > size) abort();
  if (o.wscale > kMaxWscale || o.num_sack > kMaxSackBlocks) abort();
  uint8_t buf[kTcpMaxHeaderLen];
  h.header_len = static_cast<uint8_t>(kTcpHeaderLen + OptionsLength(o));
  WriteTcpHeader(h, buf);
  size_t n = WriteOptions(o, buf + kTcpHeaderLen);
  if (n != OptionsLength(o) || n > 40 || n % 4 != 0) abort();
  TcpHeader h2;
  TcpOptions o2;
  if (ParseTcp(absl::MakeConstSpan(buf, kTcpHeaderLen + n), &h2, &o2) != ParseResult::kOk) abort();
  bool syn = (h.flags & kSyn) != 0;
  if (h2.seq != h.seq || h2.ack != h.ack || h2.flags != h.flags || h2.window != h.window) abort();
  if (o2.has_ts != o.has_ts || (o.has_ts && (o2.ts_val != o.ts_val || o2.ts_ecr != o.ts_ecr))) {
    abort();
  }
  if (syn && (o2.has_mss != o.has_mss || o2.mss != o.mss || o2.has_wscale != o.has_wscale ||
              o2.wscale != o.wscale || o2.sack_permitted != o.sack_permitted)) {
    abort();
  }
  if (o2.num_sack > o.num_sack) abort();
  for (int i = 0; i < o2.num_sack; ++i) {
    if (o2.sack[i].start != o.sack[i].start || o2.sack[i].end != o.sack[i].end) abort();
  }
  return 0;
}
