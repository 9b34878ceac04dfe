#include "sstp/http.h"

#include <string>

#include "gtest/gtest.h"

namespace sstp {
namespace {

// As a Windows client sends it (header order and GUID form of Windows 10/11 captures).
constexpr char kWindowsRequest[] =
    "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n"
    "Content-Length: 18446744073709551615\r\n"
    "Host: vpn.example.test\r\n"
    "SSTPCORRELATIONID: {5B3F4F2A-7A40-4B11-9E55-0C8D1F1E2A33}\r\n"
    "\r\n";

// As the Linux sstp-client (sstpc) sends it: its correlation id comes from
// "{%.4X-%.2X-%.2X-%.4X}" over rand(), which is not a GUID.
constexpr char kSstpcRequest[] =
    "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n"
    "Host: 198.18.0.1\r\n"
    "Content-Length: 18446744073709551615\r\n"
    "SSTPCORRELATIONID: {6B8B4568-327B23C7-643C986A-66334874}\r\n"
    "\r\n";

TEST(HttpRequest, WindowsRequestParses) {
  HttpRequestParser p;
  ASSERT_EQ(p.Feed(kWindowsRequest), HttpParse::kComplete) << p.error_reason();
  EXPECT_EQ(p.consumed(), sizeof(kWindowsRequest) - 1);
  EXPECT_EQ(p.method(), "SSTP_DUPLEX_POST");
  EXPECT_EQ(p.host(), "vpn.example.test");
  EXPECT_EQ(p.correlation_id(), "{5B3F4F2A-7A40-4B11-9E55-0C8D1F1E2A33}");
  EXPECT_EQ(p.content_length(), "18446744073709551615");
}

TEST(HttpRequest, LinuxSstpcCorrelationIdIsNotAGuidAndIsAccepted) {
  HttpRequestParser p;
  ASSERT_EQ(p.Feed(kSstpcRequest), HttpParse::kComplete) << p.error_reason();
  EXPECT_EQ(p.correlation_id(), "{6B8B4568-327B23C7-643C986A-66334874}");
  EXPECT_EQ(p.host(), "198.18.0.1");
}

TEST(HttpRequest, HeaderNamesAreCaseInsensitive) {
  HttpRequestParser p;
  ASSERT_EQ(p.Feed("SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n"
                   "HOST:h\r\ncontent-length:  18446744073709551615 \r\n"
                   "SstpCorrelationId: abc\r\n\r\n"),
            HttpParse::kComplete);
  EXPECT_EQ(p.host(), "h");
  EXPECT_EQ(p.correlation_id(), "abc");
  EXPECT_EQ(p.content_length(), "18446744073709551615");
}

TEST(HttpRequest, SplitAcrossManyReadsOneByteAtATime) {
  const std::string req = std::string(kWindowsRequest) + "\x10\x01\x00\x0e";  // SSTP follows
  HttpRequestParser p;
  size_t i = 0;
  for (; i < req.size(); ++i) {
    const HttpParse r = p.Feed(absl::string_view(&req[i], 1));
    if (r == HttpParse::kComplete) {
      EXPECT_EQ(p.consumed(), 1u);
      break;
    }
    ASSERT_EQ(r, HttpParse::kNeedMore) << "at byte " << i;
  }
  EXPECT_EQ(i + 1, sizeof(kWindowsRequest) - 1);
  EXPECT_EQ(p.correlation_id(), "{5B3F4F2A-7A40-4B11-9E55-0C8D1F1E2A33}");
}

TEST(HttpRequest, SstpBytesInTheSameReadAreLeftToTheCaller) {
  const std::string sstp("\x10\x01\x00\x0e\x00\x01\x00\x01\x00\x01\x00\x06\x00\x01", 14);
  const std::string all = std::string(kSstpcRequest) + sstp;
  HttpRequestParser p;
  ASSERT_EQ(p.Feed(all), HttpParse::kComplete);
  EXPECT_EQ(all.size() - p.consumed(), sstp.size());
}

TEST(HttpRequest, WrongUriIs404) {
  HttpRequestParser p;
  ASSERT_EQ(p.Feed("SSTP_DUPLEX_POST /other/ HTTP/1.1\r\nHost: x\r\n\r\n"), HttpParse::kError);
  EXPECT_EQ(p.error_status(), 404);
  EXPECT_NE(p.error_reason().find("/other/"), std::string::npos);
}

TEST(HttpRequest, UriWithoutTrailingSlashAndLowerCaseGuidAccepted) {
  HttpRequestParser p;
  EXPECT_EQ(p.Feed("SSTP_DUPLEX_POST /sra_{ba195980-cd49-458b-9e23-c84ee0adcd75} HTTP/1.1\r\n\r\n"),
            HttpParse::kComplete);
}

TEST(HttpRequest, GetIs405AndUnknownMethodIs501) {
  HttpRequestParser get;
  ASSERT_EQ(get.Feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), HttpParse::kError);
  EXPECT_EQ(get.error_status(), 405);
  HttpRequestParser post;
  ASSERT_EQ(post.Feed("POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n\r\n"),
            HttpParse::kError);
  EXPECT_EQ(post.error_status(), 405);
  HttpRequestParser brew;
  ASSERT_EQ(brew.Feed("BREW /pot HTTP/1.1\r\n\r\n"), HttpParse::kError);
  EXPECT_EQ(brew.error_status(), 501);
}

TEST(HttpRequest, OversizedHeaderIs400) {
  HttpRequestParser p(1024);
  std::string req = "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n";
  req += "X-Padding: " + std::string(2000, 'a') + "\r\n\r\n";
  HttpParse r = HttpParse::kNeedMore;
  for (size_t i = 0; i < req.size() && r == HttpParse::kNeedMore; i += 100) {
    r = p.Feed(absl::string_view(req).substr(i, 100));
  }
  ASSERT_EQ(r, HttpParse::kError);
  EXPECT_EQ(p.error_status(), 400);
  // Once failed, stays failed.
  EXPECT_EQ(p.Feed("\r\n\r\n"), HttpParse::kError);
}

TEST(HttpRequest, MalformedInputIs400) {
  for (const char* bad : {
           "SSTP_DUPLEX_POST\r\n\r\n",
           "SSTP_DUPLEX_POST  /sra_x HTTP/1.1\r\n\r\n",
           "SSTP_DUPLEX_POST /sra HTTP/2\r\n\r\n",
           "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ "
           "HTTP/1.1\r\nNoColon\r\n\r\n",
           "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nA: b\r\n "
           "c\r\n\r\n",
           "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nBad Name: "
           "x\r\n\r\n",
           "\r\n\r\n",
       }) {
    HttpRequestParser p;
    EXPECT_EQ(p.Feed(bad), HttpParse::kError) << bad;
    EXPECT_EQ(p.error_status(), 400) << bad;
  }
  static constexpr char kNul[] = "SSTP_DUPLEX_POST /\0 HTTP/1.1\r\n\r\n";
  HttpRequestParser nul;
  EXPECT_EQ(nul.Feed(absl::string_view(kNul, sizeof(kNul) - 1)), HttpParse::kError);
  EXPECT_EQ(nul.error_status(), 400);
}

TEST(HttpRequest, BuiltClientRequestParsesBack) {
  const std::string req = BuildClientRequest("vpn.example.test", "{ABC}");
  EXPECT_EQ(req,
            "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n"
            "Host: vpn.example.test\r\n"
            "Content-Length: 18446744073709551615\r\n"
            "SSTPCORRELATIONID: {ABC}\r\n\r\n");
  HttpRequestParser p;
  ASSERT_EQ(p.Feed(req), HttpParse::kComplete);
  EXPECT_EQ(p.correlation_id(), "{ABC}");
}

TEST(HttpRequest, ProxyConnect) {
  EXPECT_EQ(BuildProxyConnectRequest("vpn.example.test", 443),
            "CONNECT vpn.example.test:443 HTTP/1.1\r\nHost: vpn.example.test:443\r\n\r\n");
  EXPECT_EQ(BuildProxyConnectRequest("2001:db8::1", 443),
            "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n");
  HttpResponseParser p;
  EXPECT_EQ(p.Feed("HTTP/1.1 200 Connection established\r\nProxy-Agent: squid\r\n\r\n"),
            HttpParse::kComplete);
  HttpResponseParser denied;
  EXPECT_EQ(denied.Feed("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"), HttpParse::kError);
  EXPECT_EQ(denied.status_code(), 407);
}

TEST(HttpRequest, CorrelationIdFormat) {
  const uint8_t r[16] = {0x5b, 0x3f, 0x4f, 0x2a, 0x7a, 0x40, 0x4b, 0x11,
                         0x9e, 0x55, 0x0c, 0x8d, 0x1f, 0x1e, 0x2a, 0x33};
  EXPECT_EQ(FormatCorrelationId(r), "{5B3F4F2A-7A40-4B11-9E55-0C8D1F1E2A33}");
}

int CountHeaders(const std::string& reply) {
  int lines = 0;
  for (size_t pos = 0; (pos = reply.find("\r\n", pos)) != std::string::npos; pos += 2) ++lines;
  return lines - 2;  // minus the status line and the blank line
}

TEST(HttpReply, ServerReplyIsOneBufferWithAtMostSevenHeaders) {
  const std::string r = BuildServerReply("sstp-concentrator", "Tue, 24 Nov 2026 17:00:00 GMT");
  EXPECT_EQ(r,
            "HTTP/1.1 200\r\n"
            "Content-Length: 18446744073709551615\r\n"
            "Server: sstp-concentrator\r\n"
            "Date: Tue, 24 Nov 2026 17:00:00 GMT\r\n\r\n");
  EXPECT_LE(CountHeaders(r), 7);
  EXPECT_EQ(CountHeaders(BuildServerReply()), 1);
}

TEST(HttpReply, ErrorReplies) {
  EXPECT_EQ(BuildErrorReply(404),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_NE(BuildErrorReply(405).find("Allow: SSTP_DUPLEX_POST\r\n"), std::string::npos);
  EXPECT_EQ(BuildErrorReply(501).rfind("HTTP/1.1 501 Not Implemented\r\n", 0), 0u);
  EXPECT_EQ(BuildErrorReply(400).rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
}

TEST(HttpResponse, ParsesOurReplyAndWindowsReplyWithExtraHeaders) {
  HttpResponseParser ours;
  EXPECT_EQ(ours.Feed(BuildServerReply("x")), HttpParse::kComplete);
  EXPECT_EQ(ours.status_code(), 200);
  HttpResponseParser windows;
  const std::string reply =
      "HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n"
      "Server: Microsoft-HTTPAPI/2.0\r\nDate: Sat, 19 Feb 2011 02:13:44 GMT\r\n"
      "X-One: 1\r\nX-Two: 2\r\nX-Three: 3\r\nX-Four: 4\r\nX-Five: 5\r\n\r\n";
  const std::string sstp("\x10\x01\x00\x30", 4);
  ASSERT_EQ(windows.Feed(reply + sstp), HttpParse::kComplete) << windows.error_reason();
  EXPECT_EQ(windows.consumed(), reply.size());
  HttpResponseParser with_reason;
  EXPECT_EQ(with_reason.Feed("HTTP/1.1 200 OK\r\n\r\n"), HttpParse::kComplete);
}

TEST(HttpResponse, SplitAcrossReads) {
  const std::string reply = BuildServerReply("MikroTik-SSTP");
  HttpResponseParser p;
  for (size_t i = 0; i + 1 < reply.size(); ++i) {
    ASSERT_EQ(p.Feed(absl::string_view(&reply[i], 1)), HttpParse::kNeedMore);
  }
  EXPECT_EQ(p.Feed(absl::string_view(&reply.back(), 1)), HttpParse::kComplete);
}

TEST(HttpResponse, NonSuccessAndGarbageAreErrors) {
  HttpResponseParser p404;
  EXPECT_EQ(p404.Feed(BuildErrorReply(404)), HttpParse::kError);
  EXPECT_EQ(p404.status_code(), 404);
  EXPECT_NE(p404.error_reason().find("404"), std::string::npos);
  for (const char* bad : {"SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 2x0\r\n\r\n",
                          "HTTP/1.1 2000\r\n\r\n", "HTTP/1.1 200\r\nno colon\r\n\r\n"}) {
    HttpResponseParser p;
    EXPECT_EQ(p.Feed(bad), HttpParse::kError) << bad;
  }
  HttpResponseParser big(256);
  EXPECT_EQ(big.Feed("HTTP/1.1 200\r\nX: " + std::string(400, 'y')), HttpParse::kError);
}

}  // namespace
}  // namespace sstp
