#include "sstp/http.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace sstp {
namespace {

// RFC 9110 5.6.2 token characters.
bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// Appends bytes to `head` until the blank line that ends an HTTP header block ("\r\n\r\n", and
// for leniency "\n\n"). Returns the number of bytes taken and whether the end was found.
struct Accumulated {
  size_t taken;
  bool done;
  bool overflow;
};

Accumulated Accumulate(std::string& head, absl::Span<const uint8_t> bytes, size_t max) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    head.push_back(static_cast<char>(bytes[i]));
    const size_t n = head.size();
    if (head[n - 1] == '\n' && ((n >= 2 && head[n - 2] == '\n') ||
                                (n >= 3 && head[n - 2] == '\r' && head[n - 3] == '\n'))) {
      return {i + 1, true, false};
    }
    if (n >= max) return {i + 1, false, true};
  }
  return {bytes.size(), false, false};
}

// Splits the header block into lines without their line ends; drops the final empty line.
// Returns false when a line holds a control character (NUL, bare CR, ...).
bool SplitLines(absl::string_view head, std::vector<absl::string_view>* lines) {
  for (absl::string_view line : absl::StrSplit(head, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (char c : line) {
      const unsigned char u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7F) return false;
    }
    lines->push_back(line);
  }
  while (!lines->empty() && lines->back().empty()) lines->pop_back();
  return true;
}

struct HeaderLine {
  absl::string_view name;
  absl::string_view value;
};

// "name: value" per RFC 9110 5.1/5.5; obsolete line folding is refused (RFC 9112 5.2).
bool ParseHeaderLine(absl::string_view line, HeaderLine* out) {
  if (line.empty() || line[0] == ' ' || line[0] == '\t') return false;
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return false;
  out->name = line.substr(0, colon);
  if (!IsToken(out->name)) return false;
  out->value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  return true;
}

bool IsKnownHttpMethod(absl::string_view m) {
  for (absl::string_view k :
       {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}) {
    if (m == k) return true;
  }
  return false;
}

// The SSTP resource, compared case-insensitively (the GUID's case varies between clients), with
// or without the trailing slash.
bool IsSstpUri(absl::string_view uri) {
  absl::string_view want = kSstpUri;
  if (absl::EqualsIgnoreCase(uri, want)) return true;
  want.remove_suffix(1);
  return absl::EqualsIgnoreCase(uri, want);
}

std::string Printable(absl::string_view s, size_t max = 64) {
  std::string out;
  for (char c : s.substr(0, max)) {
    const unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7F ? c : '?');
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace

std::string FormatCorrelationId(absl::Span<const uint8_t> r) {
  uint8_t b[16] = {};
  for (size_t i = 0; i < 16 && i < r.size(); ++i) b[i] = r[i];
  return absl::StrFormat("{%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
                         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                         b[12], b[13], b[14], b[15]);
}

std::string BuildClientRequest(absl::string_view host, absl::string_view correlation_id) {
  return absl::StrCat(kSstpMethod, " ", kSstpUri, " HTTP/1.1\r\n", "Host: ", host, "\r\n",
                      "Content-Length: ", kSstpContentLength, "\r\n",
                      "SSTPCORRELATIONID: ", correlation_id, "\r\n\r\n");
}

std::string BuildProxyConnectRequest(absl::string_view host, uint16_t port) {
  const bool v6 = host.find(':') != absl::string_view::npos && host.front() != '[';
  const std::string authority =
      v6 ? absl::StrCat("[", host, "]:", port) : absl::StrCat(host, ":", port);
  return absl::StrCat("CONNECT ", authority, " HTTP/1.1\r\nHost: ", authority, "\r\n\r\n");
}

std::string BuildServerReply(absl::string_view server, absl::string_view date) {
  // Windows (Microsoft-HTTPAPI) answers "HTTP/1.1 200" without a reason phrase; clients expect
  // exactly the status code.
  std::string out = absl::StrCat("HTTP/1.1 200\r\nContent-Length: ", kSstpContentLength, "\r\n");
  if (!server.empty()) absl::StrAppend(&out, "Server: ", server, "\r\n");
  if (!date.empty()) absl::StrAppend(&out, "Date: ", date, "\r\n");
  out += "\r\n";
  return out;
}

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

std::string BuildErrorReply(int status) {
  std::string out = absl::StrFormat("HTTP/1.1 %d %s\r\n", status, ReasonPhrase(status));
  if (status == 405) absl::StrAppend(&out, "Allow: ", kSstpMethod, "\r\n");
  out += "Content-Length: 0\r\nConnection: close\r\n\r\n";
  return out;
}

// ---------------------------------------------------------------------------------------------

HttpParse HttpRequestParser::Fail(int status, std::string reason) {
  error_status_ = status;
  error_reason_ = std::move(reason);
  state_ = HttpParse::kError;
  head_.clear();
  head_.shrink_to_fit();
  return state_;
}

HttpParse HttpRequestParser::Feed(absl::Span<const uint8_t> bytes) {
  consumed_ = 0;
  if (state_ != HttpParse::kNeedMore) return state_;
  const Accumulated a = Accumulate(head_, bytes, max_header_bytes_);
  consumed_ = a.taken;
  if (a.overflow) {
    return Fail(400, absl::StrFormat("HTTP request header exceeds %d bytes", max_header_bytes_));
  }
  if (!a.done) return state_;
  return ParseHead();
}

HttpParse HttpRequestParser::ParseHead() {
  std::vector<absl::string_view> lines;
  if (!SplitLines(head_, &lines)) return Fail(400, "control character in the HTTP request header");
  if (lines.empty()) return Fail(400, "empty HTTP request");
  // Request line: method SP request-target SP HTTP-version (RFC 9112 3).
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  if (parts.size() != 3 || parts[1].empty()) {
    return Fail(400, absl::StrCat("malformed HTTP request line \"", Printable(lines[0]), "\""));
  }
  if (!IsToken(parts[0])) {
    return Fail(400, absl::StrCat("malformed HTTP method \"", Printable(parts[0]), "\""));
  }
  if (!absl::StartsWith(parts[2], "HTTP/1.")) {
    return Fail(400, absl::StrCat("unsupported HTTP version \"", Printable(parts[2]), "\""));
  }
  method_ = std::string(parts[0]);
  uri_ = std::string(parts[1]);
  for (size_t i = 1; i < lines.size(); ++i) {
    HeaderLine h;
    if (!ParseHeaderLine(lines[i], &h)) {
      return Fail(400, absl::StrCat("malformed HTTP header line \"", Printable(lines[i]), "\""));
    }
    if (absl::EqualsIgnoreCase(h.name, "Host")) {
      host_ = std::string(h.value);
    } else if (absl::EqualsIgnoreCase(h.name, "SSTPCORRELATIONID")) {
      correlation_id_ = std::string(h.value);
    } else if (absl::EqualsIgnoreCase(h.name, "Content-Length")) {
      content_length_ = std::string(h.value);
    }
  }
  if (method_ != kSstpMethod) {
    if (IsKnownHttpMethod(method_)) {
      return Fail(405, absl::StrCat("HTTP method ", Printable(method_),
                                    " on an SSTP port (only SSTP_DUPLEX_POST is served)"));
    }
    return Fail(501, absl::StrCat("unknown HTTP method \"", Printable(method_), "\""));
  }
  if (!IsSstpUri(uri_)) {
    return Fail(404, absl::StrCat("SSTP_DUPLEX_POST to \"", Printable(uri_),
                                  "\", not the SSTP resource ", kSstpUri));
  }
  head_.clear();
  head_.shrink_to_fit();
  state_ = HttpParse::kComplete;
  return state_;
}

// ---------------------------------------------------------------------------------------------

HttpParse HttpResponseParser::Fail(std::string reason) {
  error_reason_ = std::move(reason);
  state_ = HttpParse::kError;
  head_.clear();
  head_.shrink_to_fit();
  return state_;
}

HttpParse HttpResponseParser::Feed(absl::Span<const uint8_t> bytes) {
  consumed_ = 0;
  if (state_ != HttpParse::kNeedMore) return state_;
  const Accumulated a = Accumulate(head_, bytes, max_header_bytes_);
  consumed_ = a.taken;
  if (a.overflow) {
    return Fail(absl::StrFormat("HTTP response header from the server exceeds %d bytes",
                                max_header_bytes_));
  }
  if (!a.done) return state_;
  return ParseHead();
}

HttpParse HttpResponseParser::ParseHead() {
  std::vector<absl::string_view> lines;
  if (!SplitLines(head_, &lines)) return Fail("control character in the server's HTTP reply");
  if (lines.empty()) return Fail("empty HTTP reply from the server");
  // Status line: HTTP-version SP status-code [SP reason-phrase] (RFC 9112 4).
  absl::string_view sl = lines[0];
  if (!absl::StartsWith(sl, "HTTP/1.") || sl.size() < 12 || sl[8] != ' ') {
    return Fail(absl::StrCat("malformed HTTP status line \"", Printable(sl), "\""));
  }
  absl::string_view code = sl.substr(9, 3);
  if (!absl::ascii_isdigit(code[0]) || !absl::ascii_isdigit(code[1]) ||
      !absl::ascii_isdigit(code[2]) || (sl.size() > 12 && sl[12] != ' ')) {
    return Fail(absl::StrCat("malformed HTTP status line \"", Printable(sl), "\""));
  }
  status_code_ = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  for (size_t i = 1; i < lines.size(); ++i) {
    HeaderLine h;
    if (!ParseHeaderLine(lines[i], &h)) {
      return Fail(absl::StrCat("malformed HTTP header line \"", Printable(lines[i]), "\""));
    }
  }
  if (status_code_ != 200) {
    return Fail(absl::StrCat("server answered \"", Printable(sl),
                             "\" instead of 200: not an SSTP server, or SSTP is disabled there"));
  }
  head_.clear();
  head_.shrink_to_fit();
  state_ = HttpParse::kComplete;
  return state_;
}

}  // namespace sstp
