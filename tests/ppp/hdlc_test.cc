#include "ppp/hdlc.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ppp/frame.h"

namespace ppp {
namespace {

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

struct Collected {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<absl::Status> errors;
};

void FeedAll(HdlcDecoder& d, absl::Span<const uint8_t> bytes, Collected& c) {
  d.Feed(
      bytes, [&](absl::Span<const uint8_t> f) { c.frames.emplace_back(f.begin(), f.end()); },
      [&](absl::Status s) { c.errors.push_back(s); });
}

TEST(HdlcTest, Fcs16CheckValue) {
  // CRC-16/X-25 (the PPP FCS of RFC 1662 C.2): check value of "123456789" is 0x906E after the
  // final complement; the residue over data plus its FCS is the "good FCS" 0xF0B8.
  const std::string check = "123456789";
  uint16_t fcs = Fcs16(kFcs16Init, Bytes(check));
  EXPECT_EQ(fcs ^ 0xFFFF, 0x906E);
  std::vector<uint8_t> with_fcs(check.begin(), check.end());
  uint16_t c = fcs ^ 0xFFFF;
  with_fcs.push_back(c & 0xFF);
  with_fcs.push_back(c >> 8);
  EXPECT_EQ(Fcs16(kFcs16Init, with_fcs), kFcs16Good);
}

TEST(HdlcTest, EncodesLcpConfigureRequestWithDefaultAccm) {
  // FF 03 C0 21 01 01 00 04: every byte below 0x20 is escaped under the default ACCM, 7E/7D
  // always (RFC 1662 4.2).
  const std::vector<uint8_t> frame = {0xFF, 0x03, 0xC0, 0x21, 0x01, 0x01, 0x00, 0x04};
  std::vector<uint8_t> out;
  HdlcEncode(frame, kDefaultAccm, out);
  uint16_t fcs = Fcs16(kFcs16Init, frame) ^ 0xFFFF;
  std::vector<uint8_t> expect = {0x7E, 0xFF, 0x7D, 0x23, 0xC0, 0x21, 0x7D,
                                 0x21, 0x7D, 0x21, 0x7D, 0x20, 0x7D, 0x24};
  for (uint8_t b : {static_cast<uint8_t>(fcs & 0xFF), static_cast<uint8_t>(fcs >> 8)}) {
    if (b < 0x20 || b == 0x7E || b == 0x7D) {
      expect.push_back(0x7D);
      expect.push_back(b ^ 0x20);
    } else {
      expect.push_back(b);
    }
  }
  expect.push_back(0x7E);
  EXPECT_EQ(out, expect);
}

TEST(HdlcTest, ZeroAccmEscapesOnlyFlagAndEscape) {
  const std::vector<uint8_t> frame = {0x00, 0x21, 0x7E, 0x7D, 0x11, 0x13};
  std::vector<uint8_t> out;
  HdlcEncode(frame, 0, out);
  ASSERT_GE(out.size(), 10u);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 9),
            (std::vector<uint8_t>{0x7E, 0x00, 0x21, 0x7D, 0x5E, 0x7D, 0x5D, 0x11, 0x13}));
}

TEST(HdlcTest, RoundTripsAcrossArbitraryReadBoundaries) {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<uint8_t> stream;
  for (int n = 0; n < 40; ++n) {
    std::vector<uint8_t> f = {0xFF, 0x03, 0x00, 0x21};
    for (int i = 0; i < n * 7; ++i) f.push_back(static_cast<uint8_t>(i * 37 + n));
    f.push_back(0x7E);
    f.push_back(0x7D);
    frames.push_back(f);
    HdlcEncode(f, n % 2 ? kDefaultAccm : 0, stream);
  }
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}, stream.size()}) {
    HdlcDecoder d;
    Collected c;
    for (size_t i = 0; i < stream.size(); i += chunk) {
      FeedAll(d, absl::MakeConstSpan(stream).subspan(i, chunk), c);
    }
    EXPECT_TRUE(c.errors.empty()) << chunk;
    EXPECT_EQ(c.frames, frames) << chunk;
    EXPECT_EQ(d.frames(), frames.size());
  }
}

TEST(HdlcTest, BadFcsIsReportedAndNextFrameStillDecodes) {
  const std::vector<uint8_t> a = {0xFF, 0x03, 0xC0, 0x21, 0x09, 0x01, 0x00, 0x08, 1, 2, 3, 4};
  std::vector<uint8_t> stream;
  HdlcEncode(a, kDefaultAccm, stream);
  stream[5] ^= 0x01;  // flip a bit inside the frame
  HdlcEncode(a, kDefaultAccm, stream);
  HdlcDecoder d;
  Collected c;
  FeedAll(d, stream, c);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_NE(c.errors[0].message().find("FCS"), std::string::npos);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0], a);
}

TEST(HdlcTest, TooLongFrameIsDroppedWithAnError) {
  std::vector<uint8_t> big(100, 0x41);
  std::vector<uint8_t> small = {0xFF, 0x03, 0x00, 0x21, 0x45};
  std::vector<uint8_t> stream;
  HdlcEncode(big, 0, stream);
  HdlcEncode(small, 0, stream);
  HdlcDecoder d(/*max_frame=*/50);
  Collected c;
  FeedAll(d, stream, c);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].code(), absl::StatusCode::kResourceExhausted);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0], small);
}

TEST(HdlcTest, AbortShortFramesAndEmptyFlags) {
  HdlcDecoder d;
  Collected c;
  const uint8_t stream[] = {0x7E, 0x7E, 0x7E, 0x01, 0x02, 0x7D, 0x7E, 0x01, 0x02, 0x7E};
  FeedAll(d, stream, c);
  ASSERT_EQ(c.errors.size(), 2u);  // the abort, then the 2-byte frame without room for an FCS
  EXPECT_TRUE(c.frames.empty());
  EXPECT_EQ(d.errors(), 2u);
}

}  // namespace
}  // namespace ppp
