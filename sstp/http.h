// The HTTPS handshake that opens an SSTP connection (MS-SSTP 3.2.4.1 / 3.3.4.1 and 4.1):
//   client: SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1
//           Host, Content-Length: 18446744073709551615, SSTPCORRELATIONID
//   server: HTTP/1.1 200 with Content-Length: 18446744073709551615, in one write.
// After the header block the same byte stream carries SSTP packets. No I/O here: parsers are fed
// bytes and say how many of them belonged to HTTP.
#ifndef SSTP_HTTP_H_
#define SSTP_HTTP_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sstp {

inline constexpr absl::string_view kSstpMethod = "SSTP_DUPLEX_POST";
inline constexpr absl::string_view kSstpUri = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/";
inline constexpr absl::string_view kSstpContentLength = "18446744073709551615";  // 2^64 - 1
inline constexpr size_t kDefaultMaxHeaderBytes = 8192;

// Formats 16 random bytes as a correlation id "{8-4-4-4-12}" in upper-case hex, as Windows does.
std::string FormatCorrelationId(absl::Span<const uint8_t> random16);

// Client request. `correlation_id` is sent as given (Windows sends "{GUID}").
std::string BuildClientRequest(absl::string_view host, absl::string_view correlation_id);

// HTTP proxy tunnel (RouterOS sstp-client `proxy=`): "CONNECT host:port HTTP/1.1" (RFC 9110
// 9.3.6); an IPv6 literal is bracketed. The proxy's answer is read with HttpResponseParser (200
// completes), then TLS to the SSTP server starts inside the tunnel.
std::string BuildProxyConnectRequest(absl::string_view host, uint16_t port);

// Server success reply, one buffer, at most 7 headers (the Linux sstp-client parses at most 7):
// "HTTP/1.1 200", Content-Length: 18446744073709551615, then Server and Date when non-empty.
// The library reads no clock: the caller formats `date` (RFC 7231 IMF-fixdate) if it wants one.
std::string BuildServerReply(absl::string_view server = {}, absl::string_view date = {});

// Error reply for what is not SSTP: status 400, 404, 405 (Allow: SSTP_DUPLEX_POST), 501, ...
// Closes the connection ("Connection: close", empty body).
std::string BuildErrorReply(int status);
absl::string_view ReasonPhrase(int status);

enum class HttpParse {
  kNeedMore,  // feed more bytes
  kComplete,  // header block complete; consumed() bytes of the last Feed were HTTP
  kError,     // not acceptable; see error_status()/error_reason()
};

// Server side: incremental parser of the client's request. Header names are case-insensitive;
// the correlation id is kept as sent (the Linux sstp-client's is not a well-formed GUID).
class HttpRequestParser {
 public:
  explicit HttpRequestParser(size_t max_header_bytes = kDefaultMaxHeaderBytes)
      : max_header_bytes_(max_header_bytes) {}

  HttpParse Feed(absl::Span<const uint8_t> bytes);
  HttpParse Feed(absl::string_view bytes) {
    return Feed(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }

  HttpParse state() const { return state_; }
  // Bytes of the last Feed() that belonged to the header block; the rest are SSTP packets.
  size_t consumed() const { return consumed_; }

  // Valid on kComplete.
  const std::string& method() const { return method_; }
  const std::string& uri() const { return uri_; }
  const std::string& host() const { return host_; }
  const std::string& correlation_id() const { return correlation_id_; }
  const std::string& content_length() const { return content_length_; }

  // Valid on kError: HTTP status to reply with (BuildErrorReply) and why, for the log.
  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }

 private:
  HttpParse Fail(int status, std::string reason);
  HttpParse ParseHead();

  size_t max_header_bytes_;
  std::string head_;
  HttpParse state_ = HttpParse::kNeedMore;
  size_t consumed_ = 0;
  std::string method_, uri_, host_, correlation_id_, content_length_;
  int error_status_ = 0;
  std::string error_reason_;
};

// Client side: incremental parser of the server's reply. Tolerates any extra headers and a
// missing reason phrase; only status 200 completes.
class HttpResponseParser {
 public:
  explicit HttpResponseParser(size_t max_header_bytes = kDefaultMaxHeaderBytes)
      : max_header_bytes_(max_header_bytes) {}

  HttpParse Feed(absl::Span<const uint8_t> bytes);
  HttpParse Feed(absl::string_view bytes) {
    return Feed(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }
  HttpParse state() const { return state_; }
  size_t consumed() const { return consumed_; }
  int status_code() const { return status_code_; }  // once the status line was read
  const std::string& error_reason() const { return error_reason_; }

 private:
  HttpParse Fail(std::string reason);
  HttpParse ParseHead();

  size_t max_header_bytes_;
  std::string head_;
  HttpParse state_ = HttpParse::kNeedMore;
  size_t consumed_ = 0;
  int status_code_ = 0;
  std::string error_reason_;
};

}  // namespace sstp

#endif  // SSTP_HTTP_H_
