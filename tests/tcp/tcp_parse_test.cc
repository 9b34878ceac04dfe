// Segment/option codec (dataplane/tcp/tcp_parse.h) and SipHash-2-4 vectors.
#include "dataplane/tcp/tcp_parse.h"

#include <cstring>
#include <vector>

#include "dataplane/tcp/siphash.h"
#include "gtest/gtest.h"

namespace dp::tcp {
namespace {

std::vector<uint8_t> Header(uint8_t flags, std::vector<uint8_t> opts) {
  while (opts.size() % 4) opts.push_back(0);
  std::vector<uint8_t> b(20 + opts.size());
  StoreBe16(&b[0], 40000);
  StoreBe16(&b[2], 443);
  StoreBe32(&b[4], 0x01020304);
  StoreBe32(&b[8], 0x0a0b0c0d);
  b[12] = static_cast<uint8_t>(((20 + opts.size()) / 4) << 4);
  b[13] = flags;
  StoreBe16(&b[14], 29200);
  if (!opts.empty()) std::memcpy(&b[20], opts.data(), opts.size());
  return b;
}

TEST(TcpParse, LinuxSynOptions) {
  // MSS 1460, SACK-permitted, TS 12345/0, NOP, WS 7: what Linux sends.
  auto b = Header(kSyn, {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7});
  TcpHeader h;
  TcpOptions o;
  ASSERT_EQ(ParseTcp(b, &h, &o), ParseResult::kOk);
  EXPECT_EQ(h.src_port, 40000);
  EXPECT_EQ(h.dst_port, 443);
  EXPECT_EQ(h.seq, 0x01020304u);
  EXPECT_EQ(h.window, 29200);
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_TRUE(o.has_ts);
  EXPECT_EQ(o.ts_val, 12345u);
  EXPECT_TRUE(o.has_wscale);
  EXPECT_EQ(o.wscale, 7);
}

TEST(TcpParse, SynOnlyOptionsIgnoredWithoutSyn) {
  auto b = Header(kAck, {2, 4, 5, 0xb4, 1, 3, 3, 7});
  TcpHeader h;
  TcpOptions o;
  ASSERT_EQ(ParseTcp(b, &h, &o), ParseResult::kOk);
  EXPECT_FALSE(o.has_mss);
  EXPECT_FALSE(o.has_wscale);
}

TEST(TcpParse, WscaleClampedTo14) {
  auto b = Header(kSyn, {1, 3, 3, 20});
  TcpHeader h;
  TcpOptions o;
  ASSERT_EQ(ParseTcp(b, &h, &o), ParseResult::kOk);
  EXPECT_EQ(o.wscale, 14);
}

TEST(TcpParse, Malformed) {
  TcpHeader h;
  TcpOptions o;
  std::vector<uint8_t> short_seg(19, 0);
  EXPECT_EQ(ParseTcp(short_seg, &h, &o), ParseResult::kTruncated);
  auto b = Header(kAck, {});
  b[12] = 4 << 4;  // offset below 5 words
  EXPECT_EQ(ParseTcp(b, &h, &o), ParseResult::kBadOffset);
  b[12] = 6 << 4;  // beyond the segment
  EXPECT_EQ(ParseTcp(b, &h, &o), ParseResult::kBadOffset);
  EXPECT_EQ(ParseTcp(Header(kSyn, {2, 0, 0, 0}), &h, &o), ParseResult::kBadOptions);  // len 0
  EXPECT_EQ(ParseTcp(Header(kSyn, {2, 9, 0, 0}), &h, &o), ParseResult::kBadOptions);  // overrun
  EXPECT_EQ(ParseTcp(Header(kSyn, {2, 3, 5, 0}), &h, &o), ParseResult::kBadOptions);  // MSS len 3
  EXPECT_EQ(ParseTcp(Header(kAck, {5, 6, 0, 0, 0, 0, 0, 0}), &h, &o),
            ParseResult::kBadOptions);  // SACK of 6 bytes
  EXPECT_EQ(ParseTcp(Header(kAck, {1, 1, 1, 9}), &h, &o), ParseResult::kBadOptions);  // no length
  // Unknown options are skipped; EOL ends the list.
  EXPECT_EQ(ParseTcp(Header(kSyn, {30, 4, 1, 2, 0, 99, 99, 99}), &h, &o), ParseResult::kOk);
}

TEST(TcpParse, WriteParseRoundTrip) {
  TcpOptions o;
  o.has_ts = true;
  o.ts_val = 7;
  o.ts_ecr = 9;
  o.num_sack = 4;  // only 3 fit next to the timestamp
  for (int i = 0; i < 4; ++i) o.sack[i] = SackBlock{100u * i, 100u * i + 50};
  uint8_t buf[40];
  size_t n = WriteOptions(o, buf);
  EXPECT_EQ(n, OptionsLength(o));
  EXPECT_EQ(n, 12u + 4 + 24);
  TcpOptions p;
  ASSERT_EQ(ParseOptions(absl::MakeConstSpan(buf, n), false, &p), ParseResult::kOk);
  EXPECT_EQ(p.ts_val, 7u);
  EXPECT_EQ(p.ts_ecr, 9u);
  ASSERT_EQ(p.num_sack, 3);
  EXPECT_EQ(p.sack[2].start, 200u);
  EXPECT_EQ(p.sack[2].end, 250u);
}

TEST(TcpParse, ChecksumRfc1071Example) {
  // RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ChecksumFold(ChecksumPartial(d, sizeof(d), 0)), static_cast<uint16_t>(~0xddf2));
}

TEST(SipHash, ReferenceVector) {
  // Reference vector from the SipHash paper (appendix A): key 00..0f, message 00..0e.
  SipKey key{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  uint8_t msg[15];
  for (int i = 0; i < 15; ++i) msg[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(SipHash24(key, msg, sizeof(msg)), 0xa129ca6149be45e5ull);
}

}  // namespace
}  // namespace dp::tcp

namespace dp::tcp {
namespace {

TEST(TcpParse, RawChecksumMatchesBigEndianSum) {
  std::vector<uint8_t> d(1403);
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(i * 7 + 3);
  for (size_t len : {0ul, 1ul, 2ul, 3ul, 31ul, 32ul, 33ul, 1400ul, 1403ul}) {
    uint16_t be = static_cast<uint16_t>(~ChecksumFold(ChecksumPartial(d.data(), len, 0)));
    uint16_t native = RawChecksum(d.data(), len);
    uint8_t b[2];
    std::memcpy(b, &native, 2);  // native store of the native sum gives the big-endian bytes
    EXPECT_EQ(LoadBe16(b), be) << len;
  }
}

}  // namespace
}  // namespace dp::tcp
