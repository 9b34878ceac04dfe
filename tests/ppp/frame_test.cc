#include "ppp/frame.h"

#include <vector>

#include "gtest/gtest.h"

namespace ppp {
namespace {

TEST(FrameTest, ParsesUncompressedLcp) {
  const std::vector<uint8_t> f = {0xFF, 0x03, 0xC0, 0x21, 0x01, 0x01, 0x00, 0x04};
  absl::StatusOr<FrameView> v = ParseFrame(f);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->protocol, kProtocolLcp);
  EXPECT_TRUE(v->had_address_control);
  EXPECT_FALSE(v->protocol_compressed);
  EXPECT_EQ(v->information.size(), 4u);
  EXPECT_EQ(v->information.data(), f.data() + 4);  // a view, not a copy
}

TEST(FrameTest, AcceptsEveryCompressionCombinationForIpv4) {
  const std::vector<std::vector<uint8_t>> forms = {
      {0xFF, 0x03, 0x00, 0x21, 0x45},  // none
      {0xFF, 0x03, 0x21, 0x45},        // PFC
      {0x00, 0x21, 0x45},              // ACFC
      {0x21, 0x45},                    // both
  };
  const uint8_t lengths[] = {4, 3, 2, 1};
  for (size_t i = 0; i < forms.size(); ++i) {
    absl::StatusOr<FrameHeader> h = PeekHeader(forms[i]);
    ASSERT_TRUE(h.ok()) << i << h.status();
    EXPECT_EQ(h->protocol, kProtocolIpv4) << i;
    EXPECT_EQ(h->header_length, lengths[i]) << i;
    absl::StatusOr<FrameView> v = ParseFrame(forms[i]);
    ASSERT_TRUE(v.ok());
    ASSERT_EQ(v->information.size(), 1u);
    EXPECT_EQ(v->information[0], 0x45);
  }
}

TEST(FrameTest, RejectsMalformedHeaders) {
  EXPECT_FALSE(PeekHeader({}).ok());
  const uint8_t ff_only[] = {0xFF};
  EXPECT_FALSE(PeekHeader(ff_only).ok());
  const uint8_t bad_control[] = {0xFF, 0x13, 0xC0, 0x21};
  EXPECT_FALSE(PeekHeader(bad_control).ok());
  const uint8_t no_protocol[] = {0xFF, 0x03};
  EXPECT_FALSE(PeekHeader(no_protocol).ok());
  const uint8_t truncated[] = {0xFF, 0x03, 0xC0};
  EXPECT_FALSE(PeekHeader(truncated).ok());
  const uint8_t even_low_byte[] = {0xC0, 0x20};  // low byte must be odd
  EXPECT_FALSE(PeekHeader(even_low_byte).ok());
  const uint8_t even_after_address[] = {0xFF, 0x03, 0x02, 0x20};
  EXPECT_FALSE(PeekHeader(even_after_address).ok());
}

TEST(FrameTest, EncodesWithAndWithoutCompression) {
  const uint8_t ip[] = {0x45, 0x00};
  EXPECT_EQ(EncodeFrame(kProtocolIpv4, ip),
            (std::vector<uint8_t>{0xFF, 0x03, 0x00, 0x21, 0x45, 0x00}));
  EXPECT_EQ(EncodeFrame(kProtocolIpv4, ip,
                        {.address_control_compression = true, .protocol_compression = true}),
            (std::vector<uint8_t>{0x21, 0x45, 0x00}));
  // PFC applies only below 0x100; ACFC never to LCP (RFC 1661 6.5, 6.6).
  EXPECT_EQ(EncodeFrame(kProtocolIpcp, ip, {.protocol_compression = true}),
            (std::vector<uint8_t>{0xFF, 0x03, 0x80, 0x21, 0x45, 0x00}));
  EXPECT_EQ(EncodeFrame(kProtocolLcp, ip,
                        {.address_control_compression = true, .protocol_compression = true}),
            (std::vector<uint8_t>{0xFF, 0x03, 0xC0, 0x21, 0x45, 0x00}));
  EXPECT_EQ(HeaderLength(kProtocolIpv6, {.address_control_compression = true}), 2u);
  EXPECT_EQ(HeaderLength(kProtocolLcp, {.address_control_compression = true}), 4u);
}

TEST(FrameTest, RoundTripsEveryProtocolAndOption) {
  const uint16_t protocols[] = {kProtocolIpv4,
                                kProtocolIpv6,
                                kProtocolBridgedLan,
                                kProtocolMultilink,
                                kProtocolIpcp,
                                kProtocolLcp,
                                0xC023,
                                0xC223,
                                kProtocolCbcp,
                                kProtocolBcp,
                                kProtocolIpv6cp};
  const uint8_t info[] = {1, 2, 3};
  for (uint16_t p : protocols) {
    for (int bits = 0; bits < 4; ++bits) {
      EncodeOptions o{.address_control_compression = (bits & 1) != 0,
                      .protocol_compression = (bits & 2) != 0};
      std::vector<uint8_t> f = EncodeFrame(p, info, o);
      EXPECT_EQ(f.size(), HeaderLength(p, o) + 3);
      absl::StatusOr<FrameView> v = ParseFrame(f);
      ASSERT_TRUE(v.ok()) << ProtocolName(p);
      EXPECT_EQ(v->protocol, p);
      EXPECT_EQ(std::vector<uint8_t>(v->information.begin(), v->information.end()),
                std::vector<uint8_t>(info, info + 3));
    }
  }
}

TEST(FrameTest, Names) {
  EXPECT_EQ(ProtocolName(kProtocolLcp), "LCP");
  EXPECT_EQ(ProtocolName(0xC223), "CHAP");
  EXPECT_EQ(ProtocolName(0x8281), "0x8281");
}

}  // namespace
}  // namespace ppp
