#include "client/proxy.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace client {
namespace {

using ::testing::HasSubstr;

absl::Span<const uint8_t> Bytes(absl::string_view s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(ProxyTest, ConnectRequestWithoutCredentials) {
  EXPECT_EQ(BuildConnectRequest("198.18.80.1:443", "", ""),
            "CONNECT 198.18.80.1:443 HTTP/1.1\r\nHost: 198.18.80.1:443\r\n"
            "User-Agent: sstp-client\r\n\r\n");
}

TEST(ProxyTest, ConnectRequestWithBasicAuth) {
  // RFC 7617 section 2's example: Aladdin / open sesame.
  std::string req = BuildConnectRequest("[2001:db8::1]:443", "Aladdin", "open sesame");
  EXPECT_THAT(req, HasSubstr("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n"));
  EXPECT_THAT(req, HasSubstr("Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"));
  EXPECT_TRUE(absl::EndsWith(req, "\r\n\r\n"));
}

TEST(ProxyTest, ParsesEstablishedReplyAndLeavesTunnelBytes) {
  std::string reply =
      "HTTP/1.1 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n";
  std::string data = reply + "\x16\x03\x03";
  auto r = ParseConnectReply(Bytes(data));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->status_code, 200);
  EXPECT_EQ((*r)->reason, "Connection established");
  EXPECT_EQ((*r)->header_length, reply.size());
  EXPECT_TRUE(ProxyReplyStatus(**r).ok());
}

TEST(ProxyTest, IncompleteThenComplete) {
  std::string reply = "HTTP/1.0 200 OK\r\n\r\n";
  for (size_t n = 0; n < reply.size(); ++n) {
    auto r = ParseConnectReply(Bytes(absl::string_view(reply).substr(0, n)));
    ASSERT_TRUE(r.ok()) << n;
    EXPECT_FALSE(r->has_value()) << n;
  }
  auto r = ParseConnectReply(Bytes(reply));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->status_code, 200);
}

TEST(ProxyTest, BareLineFeeds) {
  auto r = ParseConnectReply(Bytes("HTTP/1.1 403 Forbidden\n\n<html>"));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->status_code, 403);
  EXPECT_EQ((*r)->header_length, 24u);
  EXPECT_THAT(ProxyReplyStatus(**r).message(), HasSubstr("refused the CONNECT"));
}

TEST(ProxyTest, ErrorRepliesAreActionable) {
  auto r = ParseConnectReply(
      Bytes("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n"));
  ASSERT_TRUE(r.ok() && r->has_value());
  absl::Status s = ProxyReplyStatus(**r);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("--proxy-user"));
  r = ParseConnectReply(Bytes("HTTP/1.1 502 Bad Gateway\r\n\r\n"));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_THAT(ProxyReplyStatus(**r).message(), HasSubstr("502 Bad Gateway"));
}

TEST(ProxyTest, MalformedReplies) {
  for (absl::string_view bad :
       {"SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/2 200\r\n\r\n"}) {
    auto r = ParseConnectReply(Bytes(bad));
    EXPECT_FALSE(r.ok()) << bad;
  }
  // Not HTTP at all: refused without waiting for a blank line.
  EXPECT_FALSE(ParseConnectReply(Bytes("\x16\x03\x01\x02\x00")).ok());
  // A header that never ends.
  std::string endless = "HTTP/1.1 200 OK\r\n" + std::string(kMaxProxyReplyHeader, 'a');
  auto r = ParseConnectReply(Bytes(endless));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("longer than"));
}

}  // namespace
}  // namespace client
